"""Frame scores at the edge of double precision give -inf or +inf, never NaN.

``np.finfo(float).min`` is a common way to write log 0; the sum of a few such
frames leaves the range of doubles, and so does a sum of frames of 1e308. Every
kernel path (scaled, log-space, sparse, lockstep batches, the two-thread split
of one long sequence) must then report the infinite log-likelihood, and
posteriors of an impossible sequence are zero, as everywhere else.
"""

import numpy as np
import pytest

import hmm_core
from hmm_core.kernels.chain import ChainParams

HUGE = np.finfo(float).max


def _chain(n, kind, rng):
    transmat = rng.dirichlet(np.ones(n), n)
    if kind == "logspace":  # an entry below 1e-100 sends the chain to the log-space kernels
        transmat[0, -1] = 1e-200
        transmat[0] /= transmat[0].sum()
    if kind == "sparse":
        transmat = np.where(rng.random((n, n)) < 0.1, transmat, 0.0)
        np.fill_diagonal(transmat, 1.0)
        transmat /= transmat.sum(axis=1, keepdims=True)
    return np.log(rng.dirichlet(np.ones(n))), transmat


CASES = [  # (states, lengths, kind)
    (2, [1], "scaled"), (2, [2], "scaled"), (2, [3], "scaled"), (3, [5, 1, 7], "scaled"),
    (16, [100], "scaled"), (2, [3], "logspace"), (5, [4, 9], "logspace"),
    (40, [6, 3], "sparse"), (32, [10] * 9, "scaled"),  # the lockstep batch path
    (4, [3000], "scaled"),  # one long sequence: split over two threads
]


@pytest.mark.parametrize("value,expected", [(-HUGE, -np.inf), (-1e308, -np.inf),
                                            (1e308, np.inf), (HUGE, np.inf)])
@pytest.mark.parametrize("n,lengths,kind", CASES)
def test_infinite_log_likelihood_not_nan(value, expected, n, lengths, kind):
    rng = np.random.default_rng(n * 31 + len(lengths))
    log_start, transmat = _chain(n, kind, rng)
    frames = np.full((sum(lengths), n), value)
    sparse = True if kind == "sparse" else None
    loglik = hmm_core.forward(log_start, transmat, frames, lengths, sparse=sparse, n_threads=2)
    ll_post, post = hmm_core.posteriors(log_start, transmat, frames, lengths, sparse=sparse,
                                        n_threads=2)
    logprob, _ = hmm_core.viterbi(log_start, transmat, frames, lengths, n_threads=2)
    long_enough = np.asarray(lengths) > HUGE / abs(value)  # the sum leaves the doubles
    for result in (loglik, ll_post, logprob):
        assert not np.isnan(result).any()
        assert np.all(result[long_enough] == expected)
    assert not np.isnan(post).any()
    if expected > 0:  # a possible sequence: each frame's posteriors sum to one
        sums = post.sum(axis=1)
        assert np.allclose(sums[sums > 0], 1.0)
    chain = ChainParams.from_logs(log_start, transmat)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    stats = chain.estep(np.ascontiguousarray(frames), offsets, 2)
    for key in ("start_counts", "trans_counts", "end_counts", "posteriors"):
        if stats.get(key) is not None:
            assert not np.isnan(stats[key]).any(), key


def test_mixed_huge_frames_sum_exactly():
    frames = np.zeros((4, 2))
    frames[:2], frames[2:] = 1e308, -1.7e308
    loglik = hmm_core.forward(np.log([0.5, 0.5]), [[0.9, 0.1], [0.2, 0.8]], frames)
    # 1e308 + 1e308 - 1.7e308 - 1.7e308, summed in a range where no partial sum overflows
    assert loglik[0] == pytest.approx(-1.4e308, rel=1e-12)
