"""Viterbi decoding over a batch of sequences, in log space.

Each step is N^2 additions and comparisons, with no transcendental function.
Back-pointers use the smallest integer type that holds the state index
(1 byte per cell for N <= 256).
"""

import numpy as np

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t

from _checks cimport check_length, check_offsets, check_square
from _steps cimport hmm_maxplus

ctypedef fused backpointer_t:
    uint8_t
    uint16_t
    int32_t


cdef double viterbi_one(
    const double* log_frameprob,    # IN (T, N)
    Py_ssize_t n_frames,
    const double* log_startprob,    # IN (N,)
    const double* log_transmat,     # IN (N, N)
    const double* log_endprob,      # IN (N,)
    backpointer_t* backpointers,    # (T, N) scratch
    double* work,                   # (3 N,) scratch
    int64_t* path,                  # OUT (T,); -1 everywhere when impossible
    Py_ssize_t n,
) noexcept nogil:
    cdef double* delta = work
    cdef double* best = work + n
    cdef double* argbuf = work + 2 * n
    cdef double* tmp
    cdef const double* frame
    cdef backpointer_t* bp
    cdef double cand, top
    cdef Py_ssize_t t, j, arg

    for j in range(n):
        delta[j] = log_startprob[j] + log_frameprob[j]
    for t in range(1, n_frames):
        bp = backpointers + t * n
        # Ties go to the lowest index, as numpy.argmax does.
        hmm_maxplus(delta, log_transmat, best, argbuf, n)
        frame = log_frameprob + t * n
        for j in range(n):
            best[j] += frame[j]
            bp[j] = <backpointer_t> argbuf[j]
        tmp = delta
        delta = best
        best = tmp

    top = -INFINITY
    arg = -1
    for j in range(n):
        cand = delta[j] + log_endprob[j]
        if cand > top:
            top = cand
            arg = j
    if arg < 0:
        for t in range(n_frames):
            path[t] = -1
        return -INFINITY
    path[n_frames - 1] = arg
    for t in range(n_frames - 1, 0, -1):
        path[t - 1] = backpointers[t * n + path[t]]
    return top


def _viterbi_batch(
    const double[:, ::1] log_frameprob,
    const int64_t[::1] offsets,
    const double[::1] log_startprob,
    const double[:, ::1] log_transmat,
    const double[::1] log_endprob,
    backpointer_t[:, ::1] backpointers,
    double[::1] logprob,
    int64_t[::1] path,
    int n_threads,
):
    cdef Py_ssize_t n = log_frameprob.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s
    cdef double[:, ::1] work = np.empty((n_threads, 3 * n))
    with nogil:
        for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
            logprob[s] = viterbi_one(
                &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                &log_startprob[0], &log_transmat[0, 0], &log_endprob[0],
                &backpointers[threadid(), 0], &work[threadid(), 0],
                &path[offsets[s]], n)


def viterbi(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] log_transmat,    # IN (N, N)
    const double[::1] log_endprob,        # IN (N,)
    double[::1] logprob,                  # OUT (n_seq,) log P(x, best path)
    int64_t[::1] path,                    # OUT (T_total,) best state path
    int n_threads,
):
    """Most probable state path of every sequence and its joint log-probability."""
    cdef Py_ssize_t n = log_frameprob.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s, longest = 0
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_length(logprob.shape[0], n_seq, "logprob")
    check_length(path.shape[0], log_frameprob.shape[0], "path")
    check_square(log_transmat.shape[0], log_transmat.shape[1], n, "log_transmat")
    n_threads = max(1, n_threads)
    for s in range(n_seq):
        longest = max(longest, offsets[s + 1] - offsets[s])
    if n <= 256:
        dtype = np.uint8
    elif n <= 65536:
        dtype = np.uint16
    else:
        dtype = np.int32
    backpointers = np.empty((n_threads, longest * n), dtype=dtype)
    _viterbi_batch(log_frameprob, offsets, log_startprob, log_transmat, log_endprob,
                   backpointers, logprob, path, n_threads)
