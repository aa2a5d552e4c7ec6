"""Every algorithm against enumeration of all N^T state paths on tiny models."""

import numpy as np
import pytest
from _models import log, random_chain, random_stochastic
from brute_force import brute_force
from numpy.testing import assert_allclose

import hmm_core
from hmm_core import CategoricalHMM
from hmm_core.kernels.chain import ChainParams

CASES = [(n, t, end, zeros, seed)
         for n in (1, 2, 3)
         for t in (1, 2, 4, 7)
         for end in (False, True)
         for zeros, seed in ((0.0, 0), (0.3, 1))]


def _case(n, t, end, zeros, seed):
    rng = np.random.RandomState(1000 * n + 10 * t + seed)
    startprob, transmat, endprob = random_chain(rng, n, zeros, end)
    frameprob = random_stochastic(rng, (t, n))
    return startprob, transmat, endprob, frameprob


def _args(startprob, transmat, endprob, frameprob):
    return (log(startprob), transmat, log(frameprob), None,
            None if endprob is None else log(endprob))


@pytest.mark.parametrize("n,t,end,zeros,seed", CASES)
def test_likelihood_posteriors_viterbi(n, t, end, zeros, seed):
    startprob, transmat, endprob, frameprob = _case(n, t, end, zeros, seed)
    truth = brute_force(startprob, transmat, frameprob, endprob)
    args = _args(startprob, transmat, endprob, frameprob)

    loglik = hmm_core.forward(*args)
    assert_allclose(loglik, [truth["loglik"]], rtol=1e-12)

    loglik2, post = hmm_core.posteriors(*args)
    assert_allclose(loglik2, loglik, rtol=1e-13)
    if np.isfinite(truth["loglik"]):
        assert_allclose(post, truth["posteriors"], rtol=1e-10, atol=1e-14)

    logprob, path = hmm_core.viterbi(*args)
    assert_allclose(logprob, [truth["viterbi_logprob"]], rtol=1e-12)
    if np.isfinite(truth["viterbi_logprob"]):
        # The path must reach the optimum (ties can pick another optimal path).
        assert_allclose(truth["path_logprobs"][tuple(path)], truth["viterbi_logprob"],
                        rtol=1e-12)


@pytest.mark.parametrize("n,t,end,zeros,seed", CASES)
def test_lattices_and_expected_counts(n, t, end, zeros, seed):
    startprob, transmat, endprob, frameprob = _case(n, t, end, zeros, seed)
    truth = brute_force(startprob, transmat, frameprob, endprob)
    args = _args(startprob, transmat, endprob, frameprob)
    loglik, log_alpha = hmm_core.forward(*args, return_lattice=True)
    log_beta = hmm_core.backward(*args)
    if not np.isfinite(truth["loglik"]):
        return
    # alpha_t(i) beta_t(i) / P(x) is the posterior at every t.
    with np.errstate(invalid="ignore"):
        gamma = np.exp(log_alpha + log_beta - loglik[0])
    assert_allclose(np.nan_to_num(gamma), truth["posteriors"], rtol=1e-10, atol=1e-14)

    chain = ChainParams(startprob, transmat, endprob)
    stats = chain.estep(log(frameprob), np.array([0, t]), n_threads=1)
    assert_allclose(stats["trans_counts"], truth["xi_sum"], rtol=1e-10, atol=1e-14)
    assert_allclose(stats["start_counts"], truth["posteriors"][0], rtol=1e-10, atol=1e-14)
    assert_allclose(stats["end_counts"], truth["posteriors"][-1], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("end", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_model_decoders_against_enumeration(end, seed):
    rng = np.random.RandomState(seed)
    n, n_symbols, t = 3, 4, 6
    startprob, transmat, endprob = random_chain(rng, n, 0.2, end)
    emissionprob = random_stochastic(rng, (n, n_symbols))
    X = rng.randint(0, n_symbols, size=(t, 1))
    model = CategoricalHMM(n_components=n)
    model.startprob_, model.transmat_, model.emissionprob_ = startprob, transmat, emissionprob
    model.endprob_ = endprob
    truth = brute_force(startprob, transmat, emissionprob[:, X[:, 0]].T, endprob)

    assert_allclose(model.score(X), truth["loglik"], rtol=1e-12)
    logprob, path = model.decode(X, algorithm="viterbi")
    assert_allclose(logprob, truth["viterbi_logprob"], rtol=1e-12)
    assert_allclose(truth["path_logprobs"][tuple(path)], truth["viterbi_logprob"], rtol=1e-12)
    # MAP decoding reports the true joint log-probability of its path.
    logprob, path = model.decode(X, algorithm="map")
    assert path.tolist() == list(truth["map_path"])
    assert_allclose(logprob, truth["map_logprob"], rtol=1e-12)
