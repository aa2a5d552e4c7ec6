"""The semi-Markov kernels against brute force, the NumPy reference and the HMM."""

import numpy as np
import pytest
from brute_force_semimarkov import enumerate_all

from hmm_core.kernels import _semimarkov as kernels
from hmm_core.testing import reference
from hmm_core.testing.semimarkov import (
    semimarkov_estep,
    semimarkov_loglik,
    semimarkov_viterbi,
)


def random_model(rng, n, max_d, censored, sparse_durations=False):
    pi = np.log(rng.dirichlet(np.ones(n)))
    a = rng.random((n, n)) + 0.1
    np.fill_diagonal(a, 0.0)
    if n > 1:
        a /= a.sum(axis=1, keepdims=True)
    p = rng.dirichlet(np.ones(max_d), size=n)
    if sparse_durations:
        p[:, ::2] = 0.0
        p /= p.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_a, log_p = np.log(a), np.log(p)
        survival = np.log(np.cumsum(p[:, ::-1], axis=1)[:, ::-1])
    return pi, log_a, log_p, survival if censored else log_p


def kernel_estep(lf, offsets, model, n_threads=1, chunk=1):
    n_seq = len(offsets) - 1
    chunks = np.unique(np.r_[np.arange(0, n_seq, chunk), n_seq]).astype(np.int64)
    n, max_d = lf.shape[1], model[2].shape[1]
    c = len(chunks) - 1
    out = {"posteriors": np.empty_like(lf), "loglik": np.empty(n_seq),
           "start": np.empty((c, n)), "trans": np.empty((c, n, n)),
           "durations": np.empty((c, n, max_d)), "last": np.empty((c, n, max_d))}
    kernels.estep(lf, offsets, chunks, *model, out["posteriors"], out["loglik"], out["start"],
                  out["trans"], out["durations"], out["last"], n_threads)
    for key in ("start", "trans", "durations", "last"):
        out[key] = out[key].sum(axis=0)
    return out


def kernel_loglik(lf, offsets, model, n_threads=1):
    out = np.empty(len(offsets) - 1)
    kernels.forward(lf, offsets, *model, out, n_threads)
    return out


def kernel_viterbi(lf, offsets, model, n_threads=1):
    logprob, path = np.empty(len(offsets) - 1), np.empty(lf.shape[0], dtype=np.int64)
    kernels.viterbi(lf, offsets, *model, logprob, path, n_threads)
    return logprob, path


CASES = [(n, max_d, t, censored) for n in (1, 2, 3) for max_d, t in ((1, 4), (3, 6), (8, 8),
                                                                      (4, 7))
         for censored in (False, True)]


@pytest.mark.parametrize(("n", "max_d", "n_frames", "censored"), CASES)
def test_against_brute_force(n, max_d, n_frames, censored):
    rng = np.random.default_rng(n * 100 + max_d * 10 + n_frames + censored)
    model = random_model(rng, n, max_d, censored, sparse_durations=max_d == 4)
    lf = rng.normal(size=(n_frames, n)) * 2
    if n > 1:
        lf[rng.random(lf.shape) < 0.1] = -np.inf     # frames some states cannot emit
    offsets = np.array([0, n_frames])
    truth = enumerate_all(lf, *model)
    ll = kernel_loglik(lf, offsets, model)[0]
    if truth["loglik"] == -np.inf:
        assert ll == -np.inf
    else:
        np.testing.assert_allclose(ll, truth["loglik"], rtol=1e-12, atol=1e-12)
    got = kernel_estep(lf, offsets, model)
    ref = semimarkov_estep(lf, offsets, *model)
    for key in ("posteriors", "start", "trans", "durations", "last"):
        np.testing.assert_allclose(got[key], truth[key], atol=1e-12, err_msg=key)
        np.testing.assert_allclose(ref[key], truth[key], atol=1e-12, err_msg=key)
    logprob, path = kernel_viterbi(lf, offsets, model)
    ref_logprob, ref_path = semimarkov_viterbi(lf, offsets, *model)
    best, best_path = truth["viterbi"]
    if best == -np.inf:
        assert logprob[0] == -np.inf and (path == -1).all()
    else:
        np.testing.assert_allclose(logprob[0], best, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(path, best_path)
        np.testing.assert_array_equal(ref_path, best_path)
        np.testing.assert_allclose(ref_logprob[0], best, rtol=1e-12, atol=1e-12)


def test_impossible_sequences_score_minus_inf_never_nan():
    rng = np.random.default_rng(1)
    model = random_model(rng, 2, 3, censored=False)
    lf = rng.normal(size=(10, 2))
    lf[4] = -np.inf                                  # no state can emit frame 4
    offsets = np.array([0, 3, 10])
    ll = kernel_loglik(lf, offsets, model)
    assert np.isfinite(ll[0]) and ll[1] == -np.inf
    out = kernel_estep(lf, offsets, model)
    assert not np.isnan(out["posteriors"]).any()
    assert (out["posteriors"][3:] == 0).all()
    np.testing.assert_allclose(out["posteriors"][:3].sum(axis=1), 1.0)
    logprob, path = kernel_viterbi(lf, offsets, model)
    assert logprob[1] == -np.inf and (path[3:] == -1).all()
    # Durations too long for the sequence: one state, durations of 3 only.
    # One state (a single segment) lasting exactly 3 frames.
    with np.errstate(divide="ignore"):
        three = np.log([[0.0, 0.0, 1.0]])
    one = (np.zeros(1), np.full((1, 1), -np.inf), three, three)
    lengths = np.array([0, 2, 5, 11])
    assert list(kernel_loglik(np.zeros((11, 1)), lengths, one)) == [-np.inf, 0.0, -np.inf]


@pytest.mark.parametrize("censored", [False, True])
def test_kernels_match_reference_on_batches(censored):
    rng = np.random.default_rng(7)
    n, max_d = 4, 12
    model = random_model(rng, n, max_d, censored)
    lengths = rng.integers(1, 80, size=9)
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    lf = rng.normal(size=(offsets[-1], n)) * 3
    ref = semimarkov_estep(lf, offsets, *model)
    for n_threads, chunk in ((1, 1), (2, 3), (3, 9)):
        np.testing.assert_allclose(kernel_loglik(lf, offsets, model, n_threads), ref["loglik"],
                                   rtol=1e-10)
        got = kernel_estep(lf, offsets, model, n_threads, chunk)
        np.testing.assert_allclose(got["loglik"], ref["loglik"], rtol=1e-10)
        for key in ("posteriors", "start", "trans", "durations", "last"):
            np.testing.assert_allclose(got[key], ref[key], rtol=1e-10, atol=1e-10, err_msg=key)
        logprob, path = kernel_viterbi(lf, offsets, model, n_threads)
        ref_logprob, ref_path = semimarkov_viterbi(lf, offsets, *model)
        np.testing.assert_allclose(logprob, ref_logprob, rtol=1e-10)
        np.testing.assert_array_equal(path, ref_path)
    # Statistics do not depend on the thread count, bit for bit.
    a = kernel_estep(lf, offsets, model, 1, 2)
    b = kernel_estep(lf, offsets, model, 3, 2)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def _geometric(transmat, max_d):
    """The semi-Markov form of an HMM: switches, durations and survival (untruncated)."""
    stay = np.diag(transmat)
    switch = transmat / (1.0 - stay)[:, None]
    np.fill_diagonal(switch, 0.0)
    d = np.arange(1, max_d + 1)
    log_p = np.log1p(-stay)[:, None] + (d - 1) * np.log(stay)[:, None]
    log_survival = (d - 1) * np.log(stay)[:, None]
    with np.errstate(divide="ignore"):
        return np.log(switch), log_p, log_survival


def test_geometric_durations_reproduce_the_hmm():
    """Exact when no segment can outlast D; otherwise equal to the HMM without longer runs."""
    rng = np.random.default_rng(3)
    n, n_frames = 3, 40
    transmat = rng.dirichlet(np.ones(n), size=n) + np.eye(n) * 2
    transmat /= transmat.sum(axis=1, keepdims=True)
    pi = rng.dirichlet(np.ones(n))
    lf = rng.normal(size=(n_frames, n))
    offsets = np.array([0, n_frames])
    hmm = reference.forward_loglik(np.log(pi), transmat, lf, offsets)[0]
    # D >= T: every segment fits, and the last one is censored (the HMM has no end).
    log_switch, log_p, log_survival = _geometric(transmat, n_frames)
    model = (np.log(pi), log_switch, log_p, log_survival)
    np.testing.assert_allclose(kernel_loglik(lf, offsets, model)[0], hmm, rtol=1e-12)
    # D < T: the truncation at D drops the paths with a run longer than D. The HMM
    # over (state, run length) pairs that forbids them gives the same likelihood.
    max_d = 5
    log_switch, log_p, log_survival = _geometric(transmat, max_d)
    model = (np.log(pi), log_switch, log_p, log_survival)
    expanded = np.zeros((n * max_d, n * max_d))
    for j in range(n):
        for r in range(max_d):
            if r + 1 < max_d:
                expanded[j * max_d + r, j * max_d + r + 1] = transmat[j, j]
            for k in range(n):
                if k != j:
                    expanded[j * max_d + r, k * max_d] = transmat[j, k]
    start = np.zeros(n * max_d)
    start[::max_d] = pi
    with np.errstate(divide="ignore"):
        bounded = reference.forward_loglik(np.log(start), expanded,
                                           np.repeat(lf, max_d, axis=1), offsets)[0]
    np.testing.assert_allclose(kernel_loglik(lf, offsets, model)[0], bounded, rtol=1e-12)
    np.testing.assert_allclose(semimarkov_loglik(lf, offsets, *model)[0], bounded, rtol=1e-12)
    assert bounded < hmm


def test_kernel_argument_checks():
    rng = np.random.default_rng(0)
    model = random_model(rng, 2, 3, False)
    lf = np.zeros((4, 2))
    with pytest.raises(ValueError, match="log_startprob"):
        kernel_loglik(lf, np.array([0, 4]), (np.zeros(3),) + model[1:])
    with pytest.raises(ValueError, match="log_last"):
        kernel_loglik(lf, np.array([0, 4]), model[:3] + (np.zeros((2, 4)),))
    with pytest.raises(ValueError, match="offsets"):
        kernel_loglik(lf, np.array([0, 5]), model)


def test_long_sequence_matches_reference():
    """Messages are absolute logs: agreement degrades like |loglik| * 1e-14 (see the notes)."""
    rng = np.random.default_rng(11)
    model = random_model(rng, 3, 16, censored=True)
    lf = rng.normal(size=(2000, 3)) * 2
    offsets = np.array([0, 2000])
    ref = semimarkov_estep(lf, offsets, *model)
    got = kernel_estep(lf, offsets, model)
    np.testing.assert_allclose(got["loglik"], ref["loglik"], rtol=1e-12)
    for key in ("posteriors", "start", "trans", "durations", "last"):
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-10, atol=1e-10, err_msg=key)
