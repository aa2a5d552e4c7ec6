"""Likelihood, forward and backward lattices and posteriors over a batch.

Sequences are concatenated along the first axis of the frames;
``offsets[s]:offsets[s + 1]`` are the frames of sequence ``s``. Work is
parallel over sequences; each sequence is independent, so results do not
depend on the thread count. Three families of kernels, one per kind of chain
(``hmm_core.kernels.backend`` chooses):

- log space (``forward_loglik``, ``forward_lattice``, ``backward_lattice``,
  ``posteriors``): any transition matrix (``_logspace.pxd``);
- the scaled linear domain (``scaled_loglik``, ``scaled_posteriors``): dense
  matrices whose every transition is at least ``SCALED_MIN_TRANSITION``,
  exact there and several times faster (``_scaled.pxd``, ``_scaled.h``),
  with a two-thread path for a lone long sequence and a lockstep path for
  batches of larger models;
- sparse (``sparse_loglik``, ``sparse_posteriors``): only the allowed
  transitions are visited (``_sparse.pxd``).
"""

import threading

import numpy as np

from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from _checks cimport check_length, check_offsets, check_square
from _logspace cimport (
    backward_step,
    forward_backward_one,
    forward_init,
    forward_step,
    logsumexp_strided,
    shift_to_max,
    zeros_are_exact,
)
from _scaled cimport (
    HMM_SCALED_MIN_TRANSITION,
    ScaledCall,
    forward_one,
    hmm_scaled_work_size,
    hmm_stride,
    lockstep_call,
    loglik_split,
    posteriors_one,
    scaled_setup,
    split_call,
)
from _sparse cimport Sparse, bind_sparse, score_one
from _sparse cimport forward_backward_one as sparse_forward_backward_one

SCALED_MIN_TRANSITION = HMM_SCALED_MIN_TRANSITION

# Backward rows of the two-thread path, kept per thread from call to call.
_local = threading.local()


cdef int _check_model(const double[:, ::1] log_frameprob, const int64_t[::1] offsets,
                      const double[::1] log_startprob, const double[:, ::1] transmat,
                      const double[:, ::1] log_transmat,
                      const double[::1] log_endprob) except -1:
    cdef Py_ssize_t n = log_frameprob.shape[1]
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_square(transmat.shape[0], transmat.shape[1], n, "transmat")
    check_square(log_transmat.shape[0], log_transmat.shape[1], n, "log_transmat")
    return 0


cdef int _check_posteriors(double[:, ::1] out, const double[:, ::1] log_frameprob) except -1:
    if out.shape[0] != log_frameprob.shape[0] or out.shape[1] != log_frameprob.shape[1]:
        raise ValueError("out_posteriors must have the shape of log_frameprob")
    return 0


# ---------------------------------------------------------------- log space

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
    cdef double* work = NULL
    cdef Py_ssize_t failed = 0
    cdef bint zeros_exact
    _check_model(log_frameprob, offsets, log_startprob, transmat, log_transmat, log_endprob)
    check_length(loglik.shape[0], n_seq, "loglik")
    n_threads = max(1, n_threads)
    zeros_exact = zeros_are_exact(&transmat[0, 0], n * n)
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(4 * n * sizeof(double))
        for s in prange(n_seq, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            loglik[s] = _score_one(
                &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                &log_startprob[0], &transmat[0, 0], &log_transmat[0, 0],
                &log_endprob[0], work, zeros_exact, n)
        free(work)
    if failed:
        raise MemoryError()


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
    cdef double* work = NULL
    cdef Py_ssize_t failed = 0
    cdef bint zeros_exact
    _check_model(log_frameprob, offsets, log_startprob, transmat, log_transmat, log_endprob)
    check_length(loglik.shape[0], n_seq, "loglik")
    if log_alpha.shape[0] != log_frameprob.shape[0] or log_alpha.shape[1] != n:
        raise ValueError("log_alpha must have the shape of log_frameprob")
    n_threads = max(1, n_threads)
    zeros_exact = zeros_are_exact(&transmat[0, 0], n * n)
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(4 * n * sizeof(double))
        for s in prange(n_seq, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            loglik[s] = _lattice_one(
                &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                &log_startprob[0], &transmat[0, 0], &log_transmat[0, 0],
                &log_endprob[0], &log_alpha[offsets[s], 0], work, zeros_exact, n)
        free(work)
    if failed:
        raise MemoryError()


cdef void _backward_one(
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
    cdef double* work = NULL
    cdef Py_ssize_t failed = 0
    cdef bint zeros_exact
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_square(transmat_t.shape[0], transmat_t.shape[1], n, "transmat_t")
    check_square(log_transmat.shape[0], log_transmat.shape[1], n, "log_transmat")
    if log_beta.shape[0] != log_frameprob.shape[0] or log_beta.shape[1] != n:
        raise ValueError("log_beta must have the shape of log_frameprob")
    n_threads = max(1, n_threads)
    zeros_exact = zeros_are_exact(&transmat_t[0, 0], n * n)
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(5 * n * sizeof(double))
        for s in prange(n_seq, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            _backward_one(&log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                         &transmat_t[0, 0], &log_transmat[0, 0], &log_endprob[0],
                         &log_beta[offsets[s], 0], work, zeros_exact, n)
        free(work)
    if failed:
        raise MemoryError()


def posteriors(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N)
    const double[:, ::1] log_transmat,    # IN (N, N)
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] out_posteriors,        # OUT (T_total, N)
    double[::1] loglik,                   # OUT (n_seq,)
    int n_threads,
):
    """State posteriors P(z_t = i | x) for every frame, and per-sequence log-likelihoods."""
    cdef Py_ssize_t n = log_frameprob.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s
    cdef double* work = NULL
    cdef Py_ssize_t failed = 0
    cdef double[:, ::1] transmat_t
    cdef bint zeros_exact
    _check_model(log_frameprob, offsets, log_startprob, transmat, log_transmat, log_endprob)
    _check_posteriors(out_posteriors, log_frameprob)
    check_length(loglik.shape[0], n_seq, "loglik")
    n_threads = max(1, n_threads)
    zeros_exact = zeros_are_exact(&transmat[0, 0], n * n)
    transmat_t = np.ascontiguousarray(np.asarray(transmat).T)
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(6 * n * sizeof(double))
        for s in prange(n_seq, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            loglik[s] = forward_backward_one(
                &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                &log_startprob[0], &transmat[0, 0], &transmat_t[0, 0],
                &log_transmat[0, 0], &log_endprob[0], &out_posteriors[offsets[s], 0],
                work, NULL, NULL, NULL, zeros_exact, n)
        free(work)
    if failed:
        raise MemoryError()


# ---------------------------------------------------------------- scaled domain

def split_scratch_bytes(Py_ssize_t n_frames, Py_ssize_t n_components):
    """Bytes of backward rows the two-thread path keeps for one sequence."""
    cdef Py_ssize_t w = hmm_stride(n_components)
    return 8 * n_frames * w * (1 + (w <= 16))


def scaled_loglik(
    const double[:, ::1] log_frameprob,   # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N) every entry >= SCALED_MIN_TRANSITION
    const double[::1] log_endprob,        # IN (N,) zeros when there is no end state
    double[::1] out,                      # OUT (n_seq,)
    int n_threads,
    const int64_t[::1] index=None,        # IN (T_total,) table rows, or None
    str path="sequences",                 # IN "sequences", "split" or "lockstep"
    groups=None,                          # IN lockstep groups (backend.lockstep_groups)
):
    """Per-sequence log-likelihoods in the scaled domain; O(N) memory per
    sequence (per group of sequences on the lockstep path)."""
    cdef ScaledCall call
    cdef Py_ssize_t s, n_seq = offsets.shape[0] - 1
    cdef double[:, ::1] pair, vectors
    cdef double* work = NULL
    cdef Py_ssize_t failed = 0
    n_threads = max(1, n_threads)
    keep = scaled_setup(&call, log_frameprob, index, offsets, log_startprob, transmat,
                        log_endprob, path, groups)
    check_length(out.shape[0], n_seq, "out")
    if path == "lockstep":
        lockstep_call(&call, transmat, groups, out, None, None, None, None, n_threads, False)
        return
    if path == "split":
        pair = np.empty((2, hmm_scaled_work_size(call.n)))
        vectors = np.empty((2, hmm_stride(call.n)))
        with nogil:
            out[0] = loglik_split(&call, &vectors[0, 0], &vectors[1, 0], &pair[0, 0],
                                  &pair[1, 0], min(n_threads, 2))
        return
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(hmm_scaled_work_size(call.n) * sizeof(double))
        for s in prange(n_seq, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            out[s] = forward_one(&call, offsets[s], offsets[s + 1] - offsets[s], work)
        free(work)
    if failed:
        raise MemoryError()


def scaled_posteriors(
    const double[:, ::1] log_frameprob,   # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N) every entry >= SCALED_MIN_TRANSITION
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] out_posteriors,        # OUT (T_total, N)
    double[::1] out_loglik,               # OUT (n_seq,)
    int n_threads,
    const int64_t[::1] index=None,        # IN (T_total,) table rows, or None
    str path="sequences",                 # IN "sequences", "split" or "lockstep"
    groups=None,                          # IN lockstep groups (backend.lockstep_groups)
    bint gemm=False,                      # IN the split path recomputes beta with dgemm
):
    """State posteriors for every frame, and per-sequence log-likelihoods, in
    the scaled domain."""
    cdef ScaledCall call
    cdef Py_ssize_t s, n_seq = offsets.shape[0] - 1
    cdef double* work = NULL
    cdef Py_ssize_t failed = 0
    n_threads = max(1, n_threads)
    keep = scaled_setup(&call, log_frameprob, index, offsets, log_startprob, transmat,
                        log_endprob, path, groups)
    check_length(out_loglik.shape[0], n_seq, "out_loglik")
    if out_posteriors.shape[0] != call.n_frames or out_posteriors.shape[1] != call.n:
        raise ValueError(f"out_posteriors must have shape {(call.n_frames, call.n)}")
    if path == "split":
        out_loglik[0] = split_call(&call, out_posteriors, None, None, None, n_threads, gemm,
                                   _local)
        return
    if path == "lockstep":
        lockstep_call(&call, transmat, groups, out_loglik, out_posteriors, None, None, None,
                      n_threads, gemm)
        return
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(hmm_scaled_work_size(call.n) * sizeof(double))
        for s in prange(n_seq, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            out_loglik[s] = posteriors_one(&call, offsets[s], offsets[s + 1] - offsets[s],
                                           &out_posteriors[offsets[s], 0], NULL, NULL, NULL,
                                           work, NULL)
        free(work)
    if failed:
        raise MemoryError()


# ---------------------------------------------------------------- sparse

def sparse_loglik(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    transitions,                          # IN SparseTransitions of the (N, N) matrix
    const double[::1] log_endprob,        # IN (N,)
    double[::1] out,                      # OUT (n_seq,)
    int n_threads,
):
    """Per-sequence log-likelihoods visiting only the allowed transitions."""
    cdef Sparse a
    cdef Py_ssize_t s, n_seq = offsets.shape[0] - 1
    cdef double* work = NULL
    cdef Py_ssize_t failed = 0
    keep = bind_sparse(&a, transitions)
    _check_sparse(&a, log_frameprob, offsets, log_startprob, log_endprob)
    check_length(out.shape[0], n_seq, "out")
    n_threads = max(1, n_threads)
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(4 * a.n * sizeof(double))
        for s in prange(n_seq, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            out[s] = score_one(&a, &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                               &log_startprob[0], &log_endprob[0], work)
        free(work)
    if failed:
        raise MemoryError()


def sparse_posteriors(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    transitions,                          # IN SparseTransitions of the (N, N) matrix
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] out_posteriors,        # OUT (T_total, N)
    double[::1] loglik,                   # OUT (n_seq,)
    int n_threads,
):
    """State posteriors and per-sequence log-likelihoods visiting only the
    allowed transitions."""
    cdef Sparse a
    cdef Py_ssize_t s, n_seq = offsets.shape[0] - 1
    cdef double* work = NULL
    cdef Py_ssize_t failed = 0
    keep = bind_sparse(&a, transitions)
    _check_sparse(&a, log_frameprob, offsets, log_startprob, log_endprob)
    check_length(loglik.shape[0], n_seq, "loglik")
    _check_posteriors(out_posteriors, log_frameprob)
    n_threads = max(1, n_threads)
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(6 * a.n * sizeof(double))
        for s in prange(n_seq, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            loglik[s] = sparse_forward_backward_one(
                &a, &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                &log_startprob[0], &log_endprob[0], &out_posteriors[offsets[s], 0],
                work, NULL, NULL, NULL)
        free(work)
    if failed:
        raise MemoryError()


cdef int _check_sparse(const Sparse* a, const double[:, ::1] log_frameprob,
                       const int64_t[::1] offsets, const double[::1] log_startprob,
                       const double[::1] log_endprob) except -1:
    if log_frameprob.shape[1] != a.n:
        raise ValueError(f"log_frameprob must have {a.n} columns")
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_startprob.shape[0], a.n, "log_startprob")
    check_length(log_endprob.shape[0], a.n, "log_endprob")
    return 0
