"""Kernels against the pure-NumPy reference on random models, and exactness
where probabilities approach the bottom of the double range."""

import numpy as np
import pytest
from _models import log, random_chain, random_lengths, random_stochastic
from numpy.testing import assert_allclose, assert_array_equal

import hmm_core
from hmm_core.kernels.chain import ChainParams
from hmm_core.testing import reference

RTOL = 1e-10


def _problem(seed, n, n_seq=12, end=False, zeros=0.0, scale=1.0):
    rng = np.random.RandomState(seed)
    startprob, transmat, endprob = random_chain(rng, n, zeros, end)
    lengths = random_lengths(rng, n_seq)
    frames = scale * rng.normal(size=(lengths.sum(), n)) - 1.0
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    log_end = None if endprob is None else log(endprob)
    return log(startprob), transmat, frames, lengths, offsets, log_end


@pytest.mark.parametrize("n", [1, 2, 5, 16, 64])
@pytest.mark.parametrize("end", [False, True])
def test_forward_backward_posteriors(n, end):
    ls, A, frames, lengths, offsets, le = _problem(n, n, end=end, zeros=0.2)
    ref_ll, ref_alpha = reference.forward(ls, A, frames, offsets, le)
    ll, alpha = hmm_core.forward(ls, A, frames, lengths, le, return_lattice=True)
    assert_allclose(ll, ref_ll, rtol=RTOL)
    assert_allclose(hmm_core.forward(ls, A, frames, lengths, le), ref_ll, rtol=RTOL)
    finite = np.isfinite(ref_alpha)
    assert_array_equal(np.isfinite(alpha), finite)
    assert_allclose(alpha[finite], ref_alpha[finite], rtol=RTOL)

    ref_beta = reference.backward(ls, A, frames, offsets, le)
    beta = hmm_core.backward(ls, A, frames, lengths, le)
    finite = np.isfinite(ref_beta)
    assert_array_equal(np.isfinite(beta), finite)
    assert_allclose(beta[finite], ref_beta[finite], rtol=RTOL, atol=1e-12)

    ref_ll, ref_post = reference.posteriors(ls, A, frames, offsets, le)
    ll, post = hmm_core.posteriors(ls, A, frames, lengths, le)
    assert_allclose(ll, ref_ll, rtol=RTOL)
    assert_allclose(post, ref_post, rtol=RTOL, atol=1e-13)
    assert_allclose(post.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("n", [1, 3, 16, 64])
@pytest.mark.parametrize("end", [False, True])
def test_viterbi(n, end):
    ls, A, frames, lengths, offsets, le = _problem(100 + n, n, end=end, zeros=0.2)
    ref_lp, ref_path = reference.viterbi(ls, A, frames, offsets, le)
    lp, path = hmm_core.viterbi(ls, A, frames, lengths, le)
    assert_allclose(lp, ref_lp, rtol=RTOL)
    assert_array_equal(path, ref_path)


@pytest.mark.parametrize("n", [1, 4, 16, 64])
@pytest.mark.parametrize("end", [False, True])
def test_estep_counts(n, end):
    ls, A, frames, lengths, offsets, le = _problem(200 + n, n, n_seq=30, end=end, zeros=0.2)
    ref = reference.estep(ls, A, frames, offsets, le)
    chain = ChainParams(np.exp(ls), A, None if le is None else np.exp(le))
    got = chain.estep(frames, offsets)
    for key in ("loglik", "start_counts", "trans_counts", "end_counts"):
        assert_allclose(got[key], ref[key], rtol=RTOL, atol=1e-12, err_msg=key)
    assert_allclose(got["posteriors"], ref["posteriors"], rtol=RTOL, atol=1e-13)


def test_long_sequence_does_not_underflow():
    # 10^6 steps: the likelihood itself is about exp(-10^6), far below 1e-308.
    rng = np.random.RandomState(7)
    n, t = 4, 1_000_000
    startprob, transmat, _ = random_chain(rng, n)
    emissionprob = random_stochastic(rng, (n, 6))
    X = rng.randint(0, 6, size=t)
    frames = log(emissionprob[:, X].T)
    offsets = np.array([0, t])
    ll = hmm_core.forward(log(startprob), transmat, frames)
    assert np.isfinite(ll[0]) and ll[0] < -1e5
    assert_allclose(ll, reference.forward_loglik(log(startprob), transmat, frames, offsets),
                    rtol=RTOL)
    _, post = hmm_core.posteriors(log(startprob), transmat, frames)
    assert np.all(np.isfinite(post))
    assert_allclose(post.sum(axis=1), 1.0, rtol=1e-12)
    lp, path = hmm_core.viterbi(log(startprob), transmat, frames)
    assert np.isfinite(lp[0]) and path.min() >= 0


@pytest.mark.parametrize("seed", range(4))
def test_far_off_model_and_outlier_frames_are_exact(seed):
    # A model that fits the data badly: frame log-likelihoods spread over
    # hundreds of nats, an outlier frame near the bottom of the double range,
    # and states the best state cannot reach. Compared with exact log-space
    # arithmetic (full log-sum-exp at every step).
    rng = np.random.RandomState(seed)
    n, t = 6, 300
    startprob, transmat, _ = random_chain(rng, n, zeros=0.5)
    frames = -rng.uniform(0, 700, size=(t, n))
    frames[t // 2] = -745.0
    frames[t // 2, rng.randint(n)] = -0.5
    frames[t // 3, :] = -1e4
    frames[t // 3, 0] = -20.0
    offsets = np.array([0, t])
    exact_ll, exact_post = reference.posteriors(log(startprob), transmat, frames, offsets,
                                                exact=True)
    ll, post = hmm_core.posteriors(log(startprob), transmat, frames)
    assert_allclose(ll, exact_ll, rtol=RTOL)
    assert_allclose(post, exact_post, rtol=1e-9, atol=1e-300)
    assert_allclose(hmm_core.forward(log(startprob), transmat, frames), exact_ll, rtol=RTOL)
    exact = reference.estep(log(startprob), transmat, frames, offsets, exact=True)
    got = ChainParams(startprob, transmat).estep(frames, offsets)
    assert_allclose(got["trans_counts"], exact["trans_counts"], rtol=1e-9, atol=1e-200)


def test_shifted_sum_underflow_falls_back_to_exact():
    # State 1 is reachable only through a transition of probability 1e-300 from
    # state 0, whose own mass then collapses: the shifted sum for state 1
    # underflows and only the exact fallback keeps the sequence possible.
    transmat = np.array([[1 - 1e-300, 1e-300], [0.0, 1.0]])
    startprob = np.array([1.0, 0.0])
    frames = log(np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [0.0, 1.0]]))
    offsets = np.array([0, 4])
    exact = reference.forward_loglik(log(startprob), transmat, frames, offsets, exact=True)
    got = hmm_core.forward(log(startprob), transmat, frames)
    assert np.isfinite(exact[0])
    assert_allclose(got, exact, rtol=RTOL)
    lp, path = hmm_core.viterbi(log(startprob), transmat, frames)
    assert path.tolist() == [0, 1, 1, 1] or path.tolist() == [0, 0, 1, 1]
    _, post = hmm_core.posteriors(log(startprob), transmat, frames)
    assert_allclose(post.sum(axis=1), 1.0)


@pytest.mark.parametrize("operation", ["forward", "posteriors", "viterbi", "estep"])
def test_results_identical_for_one_and_two_threads(operation):
    ls, A, frames, lengths, offsets, le = _problem(5, 16, n_seq=400, end=True)
    chain = ChainParams(np.exp(ls), A, np.exp(le))
    if operation == "forward":
        one, two = (chain.loglik(frames, offsets, k) for k in (1, 2))
    elif operation == "posteriors":
        one, two = (chain.posteriors(frames, offsets, k) for k in (1, 2))
    elif operation == "viterbi":
        one, two = (chain.viterbi(frames, offsets, k) for k in (1, 2))
    else:
        one, two = (chain.estep(frames, offsets, k) for k in (1, 2))
        one, two = list(one.values()), list(two.values())
    for a, b in zip(one, two, strict=True):
        assert_array_equal(a, b)


def test_vectorised_exp_and_log_are_within_one_ulp():
    # The kernels' own exp/log (src/_simd.h) against NumPy, through a forward
    # pass whose every step exercises both: a one-state chain is a plain sum.
    rng = np.random.RandomState(3)
    frames = -rng.exponential(30.0, size=(5000, 1))
    ll = hmm_core.forward([0.0], [[1.0]], frames)
    assert_allclose(ll, frames.sum(), rtol=1e-14)
    # Posteriors normalise exp(a + b - max): equal states stay exactly uniform.
    _, post = hmm_core.posteriors(np.log([0.5, 0.5]), [[0.5, 0.5], [0.5, 0.5]],
                                  np.zeros((7, 2)))
    assert_array_equal(post, 0.5)


def test_tiny_transition_probabilities_stay_exact():
    # A transition of 1e-200 times an alpha near e^-700 underflows to 0 in the
    # shifted sum although the state is reachable: zeros are only trusted when
    # no allowed transition is below 1e-15, so the exact fallback must run.
    transmat = np.array([[1 - 1e-200, 1e-200, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    startprob = np.array([0.5, 0.0, 0.5])
    frames = np.array([[0.0, 0.0, 0.0], [-700.0, -700.0, 0.0], [0.0, 0.0, -np.inf],
                       [0.0, 0.0, -np.inf]])
    frames[2, 0] = -np.inf
    frames[3, 0] = -np.inf
    offsets = np.array([0, 4])
    exact = reference.forward_loglik(log(startprob), transmat, frames, offsets, exact=True)
    assert np.isfinite(exact[0])
    assert_allclose(hmm_core.forward(log(startprob), transmat, frames), exact, rtol=RTOL)
    _, post = hmm_core.posteriors(log(startprob), transmat, frames)
    assert_allclose(post.sum(axis=1), 1.0)
