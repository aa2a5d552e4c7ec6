"""AutoregressiveHMM against dynamax's LinearAutoregressiveHMM (optional cross-check).

Runs where dynamax is installed (``pip install dynamax jax``); the project's
own NumPy reference (tests/test_autoregressive.py) is the oracle everywhere.

hmm_core conditions on the first L frames of a sequence while its chain runs
over them; dynamax scores frames from its initial distribution on. So
hmm_core on ``X`` is dynamax on ``X[L:]``, with ``X[:L]`` as the previous
emissions and ``startprob_ @ transmat_**L`` as the initial distribution. With
Dirichlet concentrations of 1 dynamax's M-step is maximum likelihood, and
the emission updates of one EM iteration use the same posteriors.
"""

import numpy as np
import pytest

from hmm_core import AutoregressiveHMM

dynamax = pytest.importorskip("dynamax.hidden_markov_model")
jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy


def _pair(n_lags, n_states=3, dim=2, seed=0):
    rng = np.random.RandomState(seed)
    ours = AutoregressiveHMM(n_states, n_lags=n_lags, init_params="", n_iter=1, tol=-np.inf)
    ours.startprob_ = rng.dirichlet(np.ones(n_states))
    ours.transmat_ = rng.dirichlet(np.ones(n_states) * 3, size=n_states)
    ours.coefs_ = rng.normal(scale=0.3, size=(n_states, dim, dim * n_lags))
    ours.intercepts_ = rng.normal(size=(n_states, dim))
    ours.covars_ = np.array([np.eye(dim) * (1 + 0.3 * k) + 0.2 for k in range(n_states)])
    theirs = dynamax.LinearAutoregressiveHMM(n_states, dim, num_lags=n_lags,
                                             initial_probs_concentration=1.0,
                                             transition_matrix_concentration=1.0)
    params, props = theirs.initialize(emission_weights=jnp.array(ours.coefs_),
                                      emission_biases=jnp.array(ours.intercepts_),
                                      emission_covariances=jnp.array(ours.covars_))
    initial = ours.startprob_ @ np.linalg.matrix_power(ours.transmat_, n_lags)
    params = params._replace(
        initial=params.initial._replace(probs=jnp.array(initial)),
        transitions=params.transitions._replace(transition_matrix=jnp.array(ours.transmat_)))
    return ours, theirs, params, props


@pytest.mark.parametrize("n_lags", [1, 2])
def test_inference_and_one_em_iteration_equal_dynamax(n_lags):
    ours, theirs, params, props = _pair(n_lags)
    X, _ = ours.sample(300, random_state=3)
    tail = jnp.array(X[n_lags:])
    inputs = theirs.compute_inputs(tail, prev_emissions=jnp.array(X[:n_lags]))

    loglik = float(theirs.marginal_log_prob(params, tail, inputs=inputs))
    assert ours.score(X) == pytest.approx(loglik, rel=1e-12)
    smoothed = np.asarray(theirs.smoother(params, tail, inputs=inputs).smoothed_probs)
    np.testing.assert_allclose(ours.predict_proba(X)[n_lags:], smoothed, rtol=0, atol=1e-12)
    path = np.asarray(theirs.most_likely_states(params, tail, inputs=inputs))
    np.testing.assert_array_equal(ours.predict(X)[n_lags:], path)

    updated, _ = theirs.fit_em(params, props, tail, inputs=inputs, num_iters=1, verbose=False)
    with pytest.warns(UserWarning, match="n_iter"):
        ours.fit(X)
    np.testing.assert_allclose(ours.coefs_, np.asarray(updated.emissions.weights), atol=1e-12)
    np.testing.assert_allclose(ours.intercepts_, np.asarray(updated.emissions.biases), atol=1e-12)
    np.testing.assert_allclose(ours.covars_, np.asarray(updated.emissions.covs), atol=1e-12)
