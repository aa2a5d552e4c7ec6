"""Forward and backward recursions over a batch of sequences, in log space.

Sequences are concatenated along the first axis of ``log_frameprob``;
``offsets[s]:offsets[s + 1]`` are the frames of sequence ``s``. Work is
parallel over sequences; each sequence is independent, so results do not
depend on the thread count.
"""

import numpy as np

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY
from libc.stdint cimport int64_t
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dgemv

from _checks cimport check_length, check_offsets, check_square
from _steps cimport (
    backward_step,
    forward_init,
    forward_step,
    logsumexp_strided,
    zeros_are_exact,
    shift_to_max,
)


cdef double _score_one(
    const double* log_frameprob,    # IN (T, N) this sequence's frames
    Py_ssize_t n_frames,
    const double* log_startprob,    # IN (N,)
    const double* transmat,         # IN (N, N)
    const double* log_transmat,     # IN (N, N)
    const double* log_endprob,      # IN (N,)
    double* work,                   # (4 N,) scratch
    bint zeros_exact,
    Py_ssize_t n,
) noexcept nogil:
    """Log-likelihood of one sequence with two rolling vectors: O(N) memory."""
    cdef double* cur = work
    cdef double* nxt = work + n
    cdef double* sums = work + 2 * n
    cdef double* tmp
    cdef Py_ssize_t t
    cdef double scale = forward_init(log_startprob, log_frameprob, cur, n)
    for t in range(1, n_frames):
        if scale == -INFINITY:
            return scale
        scale += forward_step(cur, transmat, log_transmat, log_frameprob + t * n, nxt,
                              sums, zeros_exact, n)
        tmp = cur
        cur = nxt
        nxt = tmp
    if scale == -INFINITY:
        return scale
    return scale + logsumexp_strided(cur, log_endprob, n, 1)


cdef double _lattice_one(
    const double* log_frameprob,    # IN (T, N)
    Py_ssize_t n_frames,
    const double* log_startprob,    # IN (N,)
    const double* transmat,         # IN (N, N)
    const double* log_transmat,     # IN (N, N)
    const double* log_endprob,      # IN (N,)
    double* log_alpha,              # OUT (T, N) absolute log alpha
    double* work,                   # (4 N,) scratch
    bint zeros_exact,
    Py_ssize_t n,
) noexcept nogil:
    cdef double* cur = work
    cdef double* nxt = work + n
    cdef double* sums = work + 2 * n
    cdef double* tmp
    cdef Py_ssize_t t, j
    cdef double scale = forward_init(log_startprob, log_frameprob, cur, n)
    for t in range(n_frames):
        if t > 0 and scale != -INFINITY:
            scale += forward_step(cur, transmat, log_transmat, log_frameprob + t * n, nxt,
                                  sums, zeros_exact, n)
            tmp = cur
            cur = nxt
            nxt = tmp
        for j in range(n):
            log_alpha[t * n + j] = cur[j] + scale if scale != -INFINITY else -INFINITY
    if scale == -INFINITY:
        return scale
    return scale + logsumexp_strided(cur, log_endprob, n, 1)


def forward_loglik(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N)
    const double[:, ::1] log_transmat,    # IN (N, N)
    const double[::1] log_endprob,        # IN (N,) zeros when there is no end state
    double[::1] loglik,                   # OUT (n_seq,)
    int n_threads,
):
    """Per-sequence log-likelihoods; O(N) memory per sequence."""
    cdef Py_ssize_t n = log_frameprob.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s
    cdef double[:, ::1] work
    cdef bint zeros_exact
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_length(loglik.shape[0], n_seq, "loglik")
    check_square(transmat.shape[0], transmat.shape[1], n, "transmat")
    check_square(log_transmat.shape[0], log_transmat.shape[1], n, "log_transmat")
    n_threads = max(1, n_threads)
    zeros_exact = zeros_are_exact(&transmat[0, 0], n * n)
    work = np.empty((n_threads, 4 * n))
    with nogil:
        for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
            loglik[s] = _score_one(
                &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                &log_startprob[0], &transmat[0, 0], &log_transmat[0, 0],
                &log_endprob[0], &work[threadid(), 0], zeros_exact, n)


def forward_lattice(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N)
    const double[:, ::1] log_transmat,    # IN (N, N)
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] log_alpha,             # OUT (T_total, N)
    double[::1] loglik,                   # OUT (n_seq,)
    int n_threads,
):
    """Forward lattice log alpha for every frame, and per-sequence log-likelihoods."""
    cdef Py_ssize_t n = log_frameprob.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s
    cdef double[:, ::1] work
    cdef bint zeros_exact
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_length(loglik.shape[0], n_seq, "loglik")
    check_square(transmat.shape[0], transmat.shape[1], n, "transmat")
    check_square(log_transmat.shape[0], log_transmat.shape[1], n, "log_transmat")
    if log_alpha.shape[0] != log_frameprob.shape[0] or log_alpha.shape[1] != n:
        raise ValueError("log_alpha must have the shape of log_frameprob")
    n_threads = max(1, n_threads)
    zeros_exact = zeros_are_exact(&transmat[0, 0], n * n)
    work = np.empty((n_threads, 4 * n))
    with nogil:
        for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
            loglik[s] = _lattice_one(
                &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                &log_startprob[0], &transmat[0, 0], &log_transmat[0, 0],
                &log_endprob[0], &log_alpha[offsets[s], 0], &work[threadid(), 0], zeros_exact, n)


cdef void backward_one(
    const double* log_frameprob,    # IN (T, N)
    Py_ssize_t n_frames,
    const double* transmat_t,       # IN (N, N) transposed
    const double* log_transmat,     # IN (N, N)
    const double* log_endprob,      # IN (N,)
    double* log_beta,               # OUT (T, N) absolute log beta
    double* work,                   # (5 N,) scratch
    bint zeros_exact,
    Py_ssize_t n,
) noexcept nogil:
    cdef double* cur = work
    cdef double* nxt = work + n
    cdef double* v = work + 2 * n
    cdef double* q = work + 3 * n
    cdef double* sums = work + 4 * n
    cdef double* tmp
    cdef Py_ssize_t t, i
    cdef double scale
    memcpy(cur, log_endprob, n * sizeof(double))
    scale = shift_to_max(cur, n)
    for t in range(n_frames - 1, -1, -1):
        if t < n_frames - 1 and scale != -INFINITY:
            scale += backward_step(cur, log_frameprob + (t + 1) * n, transmat_t,
                                   log_transmat, nxt, v, q, sums, zeros_exact, n)
            tmp = cur
            cur = nxt
            nxt = tmp
        for i in range(n):
            log_beta[t * n + i] = cur[i] + scale if scale != -INFINITY else -INFINITY


def backward_lattice(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[:, ::1] transmat_t,      # IN (N, N) transposed transition matrix
    const double[:, ::1] log_transmat,    # IN (N, N)
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] log_beta,              # OUT (T_total, N)
    int n_threads,
):
    """Backward lattice log beta for every frame."""
    cdef Py_ssize_t n = log_frameprob.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s
    cdef double[:, ::1] work
    cdef bint zeros_exact
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_square(transmat_t.shape[0], transmat_t.shape[1], n, "transmat_t")
    check_square(log_transmat.shape[0], log_transmat.shape[1], n, "log_transmat")
    if log_beta.shape[0] != log_frameprob.shape[0] or log_beta.shape[1] != n:
        raise ValueError("log_beta must have the shape of log_frameprob")
    n_threads = max(1, n_threads)
    zeros_exact = zeros_are_exact(&transmat_t[0, 0], n * n)
    work = np.empty((n_threads, 5 * n))
    with nogil:
        for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
            backward_one(&log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                         &transmat_t[0, 0], &log_transmat[0, 0], &log_endprob[0],
                         &log_beta[offsets[s], 0], &work[threadid(), 0], zeros_exact, n)


def _dgemv_loop(const double[:, ::1] a, double[::1] x, Py_ssize_t n_steps):
    """Repeat ``x <- x @ a`` with BLAS ``dgemv``: the benchmarks' machine limit.

    Not part of the API: it measures what one matrix-vector product per time
    step costs on this machine, the yardstick of the forward pass.
    """
    cdef int n = a.shape[0], one = 1
    cdef double alpha = 1.0, beta = 0.0
    cdef double[::1] other = np.empty(n)
    cdef double* cur = &x[0]
    cdef double* nxt = &other[0]
    cdef double* tmp
    cdef char no = b'N'
    cdef Py_ssize_t t
    check_square(a.shape[0], a.shape[1], n, "a")
    check_length(x.shape[0], n, "x")
    with nogil:
        for t in range(n_steps):
            # a is row-major, i.e. a^T in BLAS's column-major view: y = a^T x = x @ a
            dgemv(&no, &n, &n, &alpha, <double*> &a[0, 0], &n, cur, &one, &beta, nxt, &one)
            tmp = cur
            cur = nxt
            nxt = tmp
    if cur != &x[0]:
        memcpy(&x[0], cur, n * sizeof(double))
