"""PoissonHMM: hmmlearn parity, recovery, missing features, degenerate and bad input."""

import numpy as np
import pytest
from _models import random_chain, random_lengths
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import linear_sum_assignment
from scipy.stats import poisson

from hmm_core.emissions.poisson import PoissonEmission
from hmm_core.models.poisson import PoissonHMM


def _model(rng, n=3, d=2, end=False, **kwargs):
    startprob, transmat, endprob = random_chain(rng, n, 0.0, end)
    model = PoissonHMM(n_components=n, **kwargs)
    model.startprob_, model.transmat_, model.endprob_ = startprob, transmat, endprob
    model.lambdas_ = rng.uniform(0.5, 12.0, size=(n, d))
    return model


def _data(model, rng, n_seq=15):
    lengths = random_lengths(rng, n_seq, 1, 60)
    parts = [model.sample(int(t), random_state=rng)[0] for t in lengths]
    return np.concatenate(parts), lengths


def _hmmlearn(model, **kwargs):
    hmm = pytest.importorskip("hmmlearn.hmm")
    other = hmm.PoissonHMM(n_components=model.n_components, init_params="", n_iter=3,
                           tol=-np.inf, **kwargs)
    other.startprob_ = model.startprob_.copy()
    other.transmat_ = model.transmat_.copy()
    other.lambdas_ = model.lambdas_.copy()
    return other


@pytest.mark.parametrize("implementation", ["log", "scaling"])
def test_agrees_with_hmmlearn(implementation):
    rng = np.random.RandomState(12)
    model = _model(rng, 4, 3, n_iter=3, tol=-np.inf, init_params="")
    X, lengths = _data(model, rng)
    other = _hmmlearn(model, implementation=implementation)
    assert_allclose(model.score(X, lengths), other.score(X, lengths), rtol=1e-10)
    _, post = model.score_samples(X, lengths)
    _, other_post = other.score_samples(X, lengths)
    assert_allclose(post, other_post, rtol=1e-8, atol=1e-12)
    logprob, path = model.decode(X, lengths)
    other_logprob, other_path = other.decode(X, lengths)
    assert_allclose(logprob, other_logprob, rtol=1e-10)
    assert_array_equal(path, other_path)
    model.fit(X, lengths)
    other.fit(X, lengths)
    assert_allclose(model.startprob_, other.startprob_, rtol=1e-8, atol=1e-12)
    assert_allclose(model.transmat_, other.transmat_, rtol=1e-8, atol=1e-12)
    assert_allclose(model.lambdas_, other.lambdas_, rtol=1e-8)


def test_gamma_prior_agrees_with_hmmlearn_for_one_state():
    # hmmlearn divides by beta + (mass of all states); with one state that is
    # the state's own mass, so both updates coincide.
    rng = np.random.RandomState(2)
    model = _model(rng, 1, 3, n_iter=3, tol=-np.inf, init_params="", lambdas_prior=2.5,
                   lambdas_weight=4.0)
    X, lengths = _data(model, rng, 4)
    other = _hmmlearn(model, lambdas_prior=2.5, lambdas_weight=4.0)
    model.fit(X, lengths)
    other.fit(X, lengths)
    assert_allclose(model.lambdas_, other.lambdas_, rtol=1e-10)
    assert_allclose(model.lambdas_[0], (2.5 + X.sum(axis=0)) / (4.0 + len(X)), rtol=1e-12)


def test_gamma_prior_uses_each_state_own_mass():
    rng = np.random.RandomState(3)
    alpha = np.array([1.0, 3.0, 0.5])  # one value per state, as hmmlearn documents
    model = _model(rng, 3, 2, n_iter=1, tol=-np.inf, init_params="", lambdas_prior=alpha,
                   lambdas_weight=2.0)
    X, lengths = _data(model, rng, 5)
    _, post = model.score_samples(X, lengths)
    expected = (alpha[:, None] + post.T @ X) / (2.0 + post.sum(axis=0))[:, None]
    model.fit(X, lengths)
    assert_allclose(model.lambdas_, expected, rtol=1e-10)


def _match(estimated, truth):
    """Permutation of estimated states closest to the true ones."""
    cost = np.abs(truth[:, None, :] - estimated[None, :, :]).sum(axis=-1)
    return linear_sum_assignment(cost)[1]


def test_recovers_a_known_model():
    truth = PoissonHMM(3)
    truth.startprob_ = np.array([0.5, 0.3, 0.2])
    truth.transmat_ = np.array([[0.9, 0.05, 0.05], [0.1, 0.85, 0.05], [0.05, 0.1, 0.85]])
    truth.lambdas_ = np.array([[1.0, 10.0], [6.0, 1.0], [15.0, 15.0]])
    X, states = truth.sample(50_000, random_state=1)
    assert X.dtype == np.int64 and X.shape == (50_000, 2)
    model = PoissonHMM(3, n_init=3, n_iter=200, tol=1e-3, random_state=0).fit(X)
    order = _match(model.lambdas_, truth.lambdas_)
    # A rate estimated from n_i frames has standard error sqrt(lambda / n_i);
    # n_i >= ~10,000 here and the states barely overlap, so 5 standard
    # errors bounds the error with a wide margin (and beats mislabelling).
    occupancy = np.bincount(states, minlength=3)[:, None]
    err = np.abs(model.lambdas_[order] - truth.lambdas_)
    assert np.all(err < 5 * np.sqrt(truth.lambdas_ / occupancy)), err
    # Each row has ~10,000 transitions: standard error <= 0.004.
    assert_allclose(model.transmat_[np.ix_(order, order)], truth.transmat_, atol=0.02)
    assert model.score(X) >= truth.score(X)


def test_missing_feature_equals_model_without_it():
    rng = np.random.RandomState(5)
    model = _model(rng, 3, 3)
    X, lengths = _data(model, rng, 6)
    X = X.astype(float)
    reduced = PoissonHMM(3)
    reduced.startprob_, reduced.transmat_ = model.startprob_, model.transmat_
    reduced.lambdas_ = model.lambdas_[:, [0, 2]]
    gone = X.copy()
    gone[:, 1] = np.nan
    assert_allclose(model.score(gone, lengths), reduced.score(X[:, [0, 2]], lengths),
                    rtol=1e-12)
    assert_allclose(model.predict_proba(gone, lengths),
                    reduced.predict_proba(X[:, [0, 2]], lengths), rtol=1e-9, atol=1e-14)
    # Scattered gaps: each frame's term is that of its observed features only.
    holes = X.copy()
    holes[rng.random_sample(X.shape) < 0.3] = np.nan
    emission = model._get_emission()
    frames = emission.log_frameprob(emission.check_X(holes))
    observed = ~np.isnan(holes)
    expected = np.array([[poisson.logpmf(row[ok], lam[ok]).sum() for lam in model.lambdas_]
                         for row, ok in zip(holes, observed, strict=True)])
    assert_allclose(frames, expected, rtol=1e-12, atol=1e-12)


def test_missing_entry_is_marginalised():
    model = _model(np.random.RandomState(6), 2, 2)
    X = np.array([[1.0, 4.0], [np.nan, 2.0], [7.0, 0.0]])
    # Summing the likelihood over the missing count (truncated far in the tail).
    total = 0.0
    for k in range(120):
        filled = X.copy()
        filled[1, 0] = k
        total += np.exp(model.score(filled))
    assert_allclose(model.score(X), np.log(total), rtol=1e-12)


def test_em_ignores_missing_entries():
    rng = np.random.RandomState(7)
    model = _model(rng, 3, 2, n_iter=1, tol=-np.inf, init_params="")
    X, lengths = _data(model, rng, 5)
    X = X.astype(float)
    X[rng.random_sample(X.shape) < 0.2] = np.nan
    _, post = model.score_samples(X, lengths)
    observed = ~np.isnan(X)
    expected = (post.T @ np.where(observed, X, 0.0)) / (post.T @ observed)
    model.fit(X, lengths)
    assert_allclose(model.lambdas_, expected, rtol=1e-10)
    # And fitting with gaps from scratch stays finite.
    fitted = PoissonHMM(3, n_iter=20, random_state=0).fit(X, lengths)
    assert np.all(np.isfinite(fitted.lambdas_)) and np.isfinite(fitted.score(X, lengths))


def test_all_zero_counts():
    X = np.zeros((30, 2))
    with np.errstate(all="raise"):
        model = PoissonHMM(2, n_iter=5, random_state=0).fit(X)
        assert_array_equal(model.lambdas_, 0.0)
        assert abs(model.score(X)) < 1e-12
        assert np.isfinite(model.decode(X)[0])
    # A zero rate makes a positive count impossible, not NaN.
    scores = model.score_sequences(np.array([[0, 0], [1, 0]]), [1, 1])
    assert abs(scores[0]) < 1e-12 and scores[1] == -np.inf


def test_single_point_per_state_and_huge_counts():
    X = np.array([[0, 3], [50, 1], [7, 7]])
    model = PoissonHMM(3, n_iter=20, random_state=0).fit(X)
    assert np.all(np.isfinite(model.lambdas_)) and np.isfinite(model.score(X))
    huge = np.array([[10**9, 3], [2 * 10**9, 0], [10**9 + 5, 1]] * 10)
    model = PoissonHMM(2, n_iter=10, random_state=0).fit(huge)
    assert np.all(np.isfinite(model.lambdas_))
    assert np.isfinite(model.score(huge)) and not np.isnan(model.predict_proba(huge)).any()


def test_bad_input():
    model = _model(np.random.RandomState(8), 2, 3)
    good = np.array([[1, 2, 3], [0, 0, 4]])
    for bad, match in [
        (good[:, :2], "has 2 features but the model has 3"),
        (good - 2, "non-negative counts"),
        (good + 0.5, "integer counts"),
        (np.array([[1.0, np.inf, 0.0]]), "inf"),
        (np.full((2, 3), np.nan), "no observed value"),
        (np.array([1, 2, 3]), "must be 2-D"),
        (np.array([["a", "b", "c"]]), "numeric"),
    ]:
        with pytest.raises(ValueError, match=match):
            model.score(bad)
        if bad.shape[-1] == 3:
            with pytest.raises(ValueError, match=match):
                PoissonHMM(2).fit(bad)
    for lambdas, match in [
        (np.ones((3, 3)), r"lambdas_ must have shape \(2, n_features\)"),
        (-np.ones((2, 3)), "finite and non-negative"),
        (np.full((2, 3), np.nan), "finite and non-negative"),
        (np.ones(3), "2-D"),
    ]:
        model.lambdas_ = lambdas
        with pytest.raises(ValueError, match=match):
            model.score(good)
    model.lambdas_ = np.ones((2, 3))
    model.lambdas_prior = np.ones((2, 2))
    with pytest.raises(ValueError, match="lambdas_prior must be a scalar or have shape"):
        model.score(good)
    model.lambdas_prior, model.lambdas_weight = 0.0, -1.0
    with pytest.raises(ValueError, match="lambdas_weight must be finite and non-negative"):
        model.score(good)
    with pytest.raises(ValueError, match="unknown letters"):
        PoissonHMM(2, params="ste").fit(good)


def test_aic_bic_count_free_parameters():
    rng = np.random.RandomState(9)
    model = _model(rng, 3, 4)
    X, lengths = _data(model, rng, 5)
    n_params = (3 - 1) + 3 * (3 - 1) + 3 * 4
    ll = model.score(X, lengths)
    assert_allclose(model.aic(X, lengths), -2 * ll + 2 * n_params)
    assert_allclose(model.bic(X, lengths), -2 * ll + n_params * np.log(len(X)))
    model.params = "st"  # frozen rates are not free
    assert_allclose(model.aic(X, lengths), -2 * ll + 2 * (n_params - 12))


def test_fit_with_end_state_n_init_and_clone():
    rng = np.random.RandomState(10)
    truth = _model(rng, 2, 2)
    X, lengths = _data(truth, rng, 20)
    model = PoissonHMM(2, end_state=True, n_init=2, n_iter=15, random_state=0)
    model.fit(X, lengths)
    assert model.endprob_ is not None and model.n_features == 2
    assert_allclose(model.transmat_.sum(axis=1) + model.endprob_, 1.0, rtol=1e-12)
    history = np.array(model.monitor_.history)
    assert np.all(np.diff(history) >= -1e-8 * np.abs(history[1:]))
    clone = PoissonHMM(**model.get_params())
    assert clone.get_params() == model.get_params()
    assert isinstance(model._get_emission(), PoissonEmission)
