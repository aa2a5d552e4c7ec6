"""Viterbi decoding over a batch of sequences, in log space.

The most probable state path of each sequence (the joint MAP path) and its
log-probability. Each step is N^2 additions and comparisons with no
transcendental function (``viterbi``, loops in ``_viterbi_kernels.h``), or
nnz of them when only the allowed transitions are visited
(``sparse_viterbi``). Back-pointers use the smallest integer type that holds
the state index (1 byte per cell for N <= 256). Work is parallel over
sequences.
"""

import numpy as np

from cython.parallel cimport parallel, prange, threadid
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t
from libc.stdlib cimport free, malloc

from _checks cimport check_index, check_length, check_offsets, check_square
from _sparse cimport Sparse, bind_sparse

cdef extern from "_viterbi_kernels.h" nogil:
    Py_ssize_t hmm_vit_padded(Py_ssize_t n)
    Py_ssize_t hmm_viterbi_work_size(Py_ssize_t n)
    void hmm_viterbi_pack(const double* log_a, Py_ssize_t n, double* out)
    double hmm_viterbi_sequence(
        const double* log_frameprob, const int64_t* index, Py_ssize_t n_frames,
        const double* log_startprob, const double* log_a, const double* log_endprob,
        void* bp, int bp_size, double* work, int64_t* path, Py_ssize_t n, int simd)

ctypedef fused backpointer_t:
    uint8_t
    uint16_t
    int32_t


def _viterbi_batch(
    const double[:, ::1] log_frameprob,   # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] index,             # IN (T_total,) table rows (checked), or None
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] log_a_packed,    # IN (N, n_pad) from hmm_viterbi_pack
    const double[::1] log_endprob,        # IN (N,)
    backpointer_t[:, ::1] backpointers,   # (n_threads, >= longest * n_pad) scratch
    double[::1] logprob,                  # OUT (n_seq,)
    int64_t[::1] path,                    # OUT (T_total,)
    int n_threads,
    bint simd,                            # IN False: the portable kernel
):
    cdef Py_ssize_t n = log_frameprob.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s, failed = 0, work_size = hmm_viterbi_work_size(n)
    cdef int bp_size = sizeof(backpointer_t)
    cdef double* work = NULL
    cdef const int64_t* rows = NULL
    if index is not None and index.shape[0] > 0:
        rows = &index[0]
    # The back-pointer rows (O(T N) bytes a thread) come from NumPy, which backs
    # large arrays with huge pages; the O(N) scratch is each thread's own.
    with nogil:
        if n_seq == 1:
            work = <double*> malloc(work_size * sizeof(double))
            if work == NULL:
                failed = 1
            else:
                logprob[0] = hmm_viterbi_sequence(
                    &log_frameprob[0, 0], rows, offsets[1], &log_startprob[0],
                    &log_a_packed[0, 0], &log_endprob[0], &backpointers[0, 0], bp_size, work,
                    &path[0], n, simd)
                free(work)
        else:
            with parallel(num_threads=n_threads):
                work = <double*> malloc(work_size * sizeof(double))
                for s in prange(n_seq, schedule="dynamic"):
                    if work == NULL:
                        failed += 1
                        continue
                    logprob[s] = hmm_viterbi_sequence(
                        &log_frameprob[0, 0] if rows != NULL
                        else &log_frameprob[offsets[s], 0],
                        rows + offsets[s] if rows != NULL else NULL,
                        offsets[s + 1] - offsets[s], &log_startprob[0], &log_a_packed[0, 0],
                        &log_endprob[0],
                        &backpointers[threadid(), 0], bp_size, work, &path[offsets[s]], n,
                        simd)
                free(work)
    if failed:
        raise MemoryError()


def viterbi(
    const double[:, ::1] log_frameprob,   # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] log_transmat,    # IN (N, N)
    const double[::1] log_endprob,        # IN (N,)
    double[::1] logprob,                  # OUT (n_seq,) log P(x, best path)
    int64_t[::1] path,                    # OUT (T_total,) best state path
    int n_threads,
    bint simd=True,
    const int64_t[::1] index=None,        # IN (T_total,) table rows, or None
):
    """Most probable state path of every sequence and its joint log-probability.

    ``simd=False`` forces the portable kernel (the tests check both agree
    exactly). With ``index``, frame ``t``'s log-likelihoods are row
    ``index[t]`` of ``log_frameprob`` (a categorical model's table), and no
    (T, N) matrix is read.
    """
    cdef Py_ssize_t n = log_frameprob.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s, longest = 0, n_rows = log_frameprob.shape[0]
    cdef Py_ssize_t n_frames = n_rows if index is None else index.shape[0]
    cdef Py_ssize_t n_pad = hmm_vit_padded(n)
    if index is not None:
        check_index(index, n_rows)
    check_offsets(offsets, n_frames)
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_length(logprob.shape[0], n_seq, "logprob")
    check_length(path.shape[0], n_frames, "path")
    check_square(log_transmat.shape[0], log_transmat.shape[1], n, "log_transmat")
    n_threads = max(1, min(n_threads, n_seq))
    for s in range(n_seq):
        longest = max(longest, offsets[s + 1] - offsets[s])
    if n <= 256:
        dtype = np.uint8
    elif n <= 65536:
        dtype = np.uint16
    else:
        dtype = np.int32
    # Columns padded to a multiple of 4 with -inf (never chosen), cut into strips.
    log_a_packed = np.empty((n, n_pad))
    cdef double[:, ::1] packed = log_a_packed
    hmm_viterbi_pack(&log_transmat[0, 0], n, &packed[0, 0])
    row = longest * n_pad * np.dtype(dtype).itemsize
    backpointers = np.empty((n_threads, (row + 127) // 64 * 64 // np.dtype(dtype).itemsize),
                            dtype=dtype)
    _viterbi_batch(log_frameprob, index, offsets, log_startprob, log_a_packed, log_endprob,
                   backpointers, logprob, path, n_threads, simd)


def sparse_viterbi(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    transitions,                          # IN SparseTransitions of the (N, N) matrix
    const double[::1] log_endprob,        # IN (N,)
    double[::1] logprob,                  # OUT (n_seq,) log P(x, best path)
    int64_t[::1] path,                    # OUT (T_total,) best state path
    int n_threads,
):
    """Best path per sequence and its joint log-probability, visiting only the
    allowed transitions."""
    n, n_seq = transitions.n_components, offsets.shape[0] - 1
    if log_frameprob.shape[1] != n:
        raise ValueError(f"log_frameprob must have {n} columns")
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_length(logprob.shape[0], n_seq, "logprob")
    check_length(path.shape[0], log_frameprob.shape[0], "path")
    n_threads = max(1, n_threads)
    longest = int(np.max(np.diff(np.asarray(offsets))))
    dtype = np.uint8 if n <= 256 else (np.uint16 if n <= 65536 else np.int32)
    _sparse_viterbi_batch(transitions, log_frameprob, offsets, log_startprob, log_endprob,
                          np.empty((n_threads, longest * n), dtype=dtype), logprob, path,
                          n_threads)


cdef double _sparse_viterbi_one(const Sparse* a, const double* log_frameprob,
                                Py_ssize_t n_frames, const double* log_startprob,
                                const double* log_endprob, backpointer_t* backpointers,
                                double* work, int64_t* path) noexcept nogil:
    cdef Py_ssize_t n = a.n, t, j, k, arg
    cdef double* delta = work
    cdef double* best = work + n
    cdef double* tmp
    cdef double c, top
    cdef backpointer_t* bp
    for j in range(n):
        delta[j] = log_startprob[j] + log_frameprob[j]
    for t in range(1, n_frames):
        bp = backpointers + t * n
        for j in range(n):
            top = -INFINITY
            arg = 0
            # Rows within a column are sorted: ">" keeps the lowest index on ties.
            for k in range(a.col_ptr[j], a.col_ptr[j + 1]):
                c = delta[a.col_rows[k]] + a.col_logprob[k]
                if c > top:
                    top = c
                    arg = a.col_rows[k]
            best[j] = top + log_frameprob[t * n + j]
            bp[j] = <backpointer_t> arg
        tmp = delta
        delta = best
        best = tmp
    top = -INFINITY
    arg = -1
    for j in range(n):
        c = delta[j] + log_endprob[j]
        if c > top:
            top = c
            arg = j
    if arg < 0:
        for t in range(n_frames):
            path[t] = -1
        return -INFINITY
    path[n_frames - 1] = arg
    for t in range(n_frames - 1, 0, -1):
        path[t - 1] = backpointers[t * n + path[t]]
    return top


def _sparse_viterbi_batch(
    transitions,                          # IN SparseTransitions
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[::1] log_endprob,        # IN (N,)
    backpointer_t[:, ::1] backpointers,   # (n_threads, >= longest * N) scratch
    double[::1] logprob,                  # OUT (n_seq,)
    int64_t[::1] path,                    # OUT (T_total,)
    int n_threads,
):
    cdef Sparse a
    keep = bind_sparse(&a, transitions)
    cdef Py_ssize_t s, failed = 0, n_seq = offsets.shape[0] - 1
    cdef double* work = NULL
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(2 * a.n * sizeof(double))
        for s in prange(n_seq, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            logprob[s] = _sparse_viterbi_one(&a, &log_frameprob[offsets[s], 0],
                                             offsets[s + 1] - offsets[s], &log_startprob[0],
                                             &log_endprob[0], &backpointers[threadid(), 0],
                                             work, &path[offsets[s]])
        free(work)
    if failed:
        raise MemoryError()
