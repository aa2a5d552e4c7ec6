"""The Viterbi kernels (AVX2 and portable) against the NumPy reference, bit for bit.

Sizes cover the N <= 4 register path, the blocked path with every tail width
(n mod 16 in 4-column vectors) and unpadded widths (n not a multiple of 4), and
uint16 back-pointers (n > 256). Models include ties (uniform transitions,
rounded frame scores), forbidden transitions, impossible frames and impossible
sequences.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from hmm_core.kernels import _viterbi
from hmm_core.testing import reference


def _kernel(ls, log_a, frames, offsets, le, n_threads, simd):
    logprob = np.empty(offsets.shape[0] - 1)
    path = np.empty(frames.shape[0], dtype=np.int64)
    _viterbi.viterbi(frames, offsets, ls, log_a, le, logprob, path, n_threads, simd)
    return logprob, path


def _problem(rng, n, kind):
    lengths = rng.integers(1, 30, size=rng.integers(1, 7))
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    t = int(offsets[-1])
    transmat = rng.dirichlet(np.ones(n), size=n)
    ls = np.log(rng.dirichlet(np.ones(n)))
    frames = np.log(rng.random((t, n)))
    le = np.zeros(n)
    if kind == "sparse":
        transmat[rng.random((n, n)) < 0.6] = 0.0
        transmat[np.arange(n), np.arange(n)] += 1e-3
        transmat /= transmat.sum(axis=1, keepdims=True)
        frames[rng.random((t, n)) < 0.3] = -np.inf
        le = np.log(rng.random(n))
    elif kind == "ties":
        transmat = np.full((n, n), 1.0 / n)
        ls = np.full(n, -np.log(n))
        frames = np.round(frames)
    elif kind == "impossible":
        frames[rng.random((t, n)) < 0.7] = -np.inf
        transmat[rng.random((n, n)) < 0.7] = 0.0
        transmat[:, 0] += 1e-9
        transmat /= transmat.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_a = np.log(transmat)
    return ls, transmat, log_a, frames, offsets, le


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 21, 30, 33, 64, 70, 257])
@pytest.mark.parametrize("kind", ["dense", "sparse", "ties", "impossible"])
def test_kernels_equal_reference(n, kind):
    rng = np.random.default_rng([n, len(kind)])
    ls, transmat, log_a, frames, offsets, le = _problem(rng, n, kind)
    ref_lp, ref_path = reference.viterbi(ls, transmat, frames, offsets, le)
    for simd in (True, False):
        for n_threads in (1, 2):
            lp, path = _kernel(ls, log_a, frames, offsets, le, n_threads, simd)
            assert_array_equal(lp, ref_lp)  # the same additions in the same order
            assert_array_equal(path, ref_path)
            assert not np.isnan(lp).any()
    if kind == "impossible":
        impossible = np.repeat(ref_lp == -np.inf, np.diff(offsets))
        assert_array_equal(ref_path[impossible], -1)


@pytest.mark.parametrize("n", [4, 16])
def test_long_sequence_exact(n):
    # Absolute log-probabilities reach ~-1e5: still the reference's numbers exactly.
    rng = np.random.default_rng(n)
    t = 20_000
    transmat = 0.5 * rng.dirichlet(np.ones(n), size=n) + 0.5 * np.eye(n)
    transmat /= transmat.sum(axis=1, keepdims=True)
    ls = np.log(np.full(n, 1.0 / n))
    frames = np.log(rng.random((t, n)))
    offsets = np.array([0, t], dtype=np.int64)
    ref_lp, ref_path = reference.viterbi(ls, transmat, frames, offsets)
    for simd in (True, False):
        lp, path = _kernel(ls, np.log(transmat), frames, offsets, np.zeros(n), 1, simd)
        assert_array_equal(lp, ref_lp)
        assert_array_equal(path, ref_path)


@pytest.mark.parametrize("n", [1, 3, 4, 5, 16, 17, 70, 257])
@pytest.mark.parametrize("kind", ["dense", "ties", "impossible"])
def test_indexed_frames_equal_dense(n, kind):
    # A categorical model hands the kernel its (K, N) table and a frame index.
    rng = np.random.default_rng([n, len(kind), 7])
    ls, transmat, log_a, frames, offsets, le = _problem(rng, n, kind)
    table = frames[:5].copy()
    index = rng.integers(0, table.shape[0], size=frames.shape[0]).astype(np.int64)
    dense = np.ascontiguousarray(table[index])
    for simd in (True, False):
        for n_threads in (1, 2):
            want = _kernel(ls, log_a, dense, offsets, le, n_threads, simd)
            logprob = np.empty(offsets.shape[0] - 1)
            path = np.empty(index.shape[0], dtype=np.int64)
            _viterbi.viterbi(table, offsets, ls, log_a, le, logprob, path, n_threads, simd,
                             index=index)
            assert_array_equal(logprob, want[0])
            assert_array_equal(path, want[1])


@pytest.mark.parametrize("bad", [-1, 5])
def test_index_out_of_range_is_refused(bad):
    table = np.zeros((5, 3))
    index = np.zeros(10, dtype=np.int64)
    index[4] = bad
    offsets = np.array([0, 10], dtype=np.int64)
    with pytest.raises(ValueError, match=r"index must lie in \[0, 5\)"):
        _viterbi.viterbi(table, offsets, np.zeros(3), np.zeros((3, 3)), np.zeros(3),
                         np.empty(1), np.empty(10, dtype=np.int64), 1, index=index)
