"""The Baum-Welch E-step over a batch: posteriors and expected counts.

The E-step never builds a T x N x N array: each time step adds its expected
transitions straight into an N x N accumulator (or, in the scaled domain, a
block of frames at a time with one matrix product). Sequences are grouped into
chunks fixed by the caller (independent of the thread count); each chunk has
its own accumulators and the caller sums them in order, so statistics are
bit-identical whatever the number of threads. One kernel per kind of chain,
as in ``_forward``: ``estep`` (log space), ``scaled_estep`` and
``sparse_estep``.
"""

import threading

import numpy as np

from cython.parallel cimport parallel, prange
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dgemm

from _checks cimport check_chunks, check_length, check_offsets, check_shape, check_square
from _logspace cimport forward_backward_one, zeros_are_exact
from _scaled cimport (
    ScaledCall,
    hmm_dgemm_t,
    hmm_scaled_work_size,
    lockstep_call,
    posteriors_one,
    scaled_setup,
    split_call,
)
from _sparse cimport Sparse, bind_sparse
from _sparse cimport forward_backward_one as sparse_forward_backward_one

# Backward rows of the two-thread path, kept per thread from call to call.
_local = threading.local()


cdef int _check_outputs(double[:, ::1] out_posteriors, Py_ssize_t n_frames, Py_ssize_t n,
                        double[::1] loglik, Py_ssize_t n_seq, const int64_t[::1] chunks,
                        double[:, ::1] start_counts, tuple trans_shape, tuple trans_want,
                        double[:, ::1] end_counts) except -1:
    """Shapes of an E-step's outputs, one set of sums per chunk."""
    cdef Py_ssize_t n_chunks = chunks.shape[0] - 1
    if out_posteriors.shape[0] != n_frames or out_posteriors.shape[1] != n:
        raise ValueError(f"out_posteriors must have shape {(n_frames, n)}")
    check_length(loglik.shape[0], n_seq, "loglik")
    check_chunks(chunks, n_seq)
    check_shape((start_counts.shape[0], start_counts.shape[1]), (n_chunks, n), "start_counts")
    check_shape((end_counts.shape[0], end_counts.shape[1]), (n_chunks, n), "end_counts")
    check_shape(trans_shape, trans_want, "trans_counts")
    return 0


# ---------------------------------------------------------------- log space

def estep(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const int64_t[::1] chunks,            # IN (n_chunks + 1,) sequence index bounds
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N)
    const double[:, ::1] log_transmat,    # IN (N, N)
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] out_posteriors,        # OUT (T_total, N)
    double[::1] loglik,                   # OUT (n_seq,)
    double[:, ::1] start_counts,          # OUT (n_chunks, N)
    double[:, :, ::1] trans_counts,       # OUT (n_chunks, N, N)
    double[:, ::1] end_counts,            # OUT (n_chunks, N)
    int n_threads,
):
    """Posteriors plus expected start, transition and end counts, one set per chunk."""
    cdef Py_ssize_t n = log_frameprob.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t n_chunks = chunks.shape[0] - 1
    cdef Py_ssize_t c
    cdef double* work = NULL
    cdef Py_ssize_t failed = 0
    cdef double[:, ::1] transmat_t
    cdef bint zeros_exact
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_square(transmat.shape[0], transmat.shape[1], n, "transmat")
    check_square(log_transmat.shape[0], log_transmat.shape[1], n, "log_transmat")
    _check_outputs(out_posteriors, log_frameprob.shape[0], n, loglik, n_seq, chunks,
                   start_counts, (trans_counts.shape[0], trans_counts.shape[1],
                                  trans_counts.shape[2]), (n_chunks, n, n), end_counts)
    n_threads = max(1, n_threads)
    zeros_exact = zeros_are_exact(&transmat[0, 0], n * n)
    transmat_t = np.ascontiguousarray(np.asarray(transmat).T)
    start_counts[:, :] = 0.0
    trans_counts[:, :, :] = 0.0
    end_counts[:, :] = 0.0
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(6 * n * sizeof(double))
        for c in prange(n_chunks, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            _estep_chunk(&log_frameprob[0, 0], &offsets[0], chunks[c], chunks[c + 1],
                         &log_startprob[0], &transmat[0, 0], &transmat_t[0, 0],
                         &log_transmat[0, 0], &log_endprob[0], &out_posteriors[0, 0],
                         &loglik[0], work, &start_counts[c, 0], &trans_counts[c, 0, 0],
                         &end_counts[c, 0], zeros_exact, n)
        free(work)
    if failed:
        raise MemoryError()


cdef void _estep_chunk(
    const double* log_frameprob,
    const int64_t* offsets,
    Py_ssize_t first,
    Py_ssize_t last,
    const double* log_startprob,
    const double* transmat,
    const double* transmat_t,
    const double* log_transmat,
    const double* log_endprob,
    double* out_posteriors,
    double* loglik,
    double* work,
    double* start_counts,
    double* trans_counts,
    double* end_counts,
    bint zeros_exact,
    Py_ssize_t n,
) noexcept nogil:
    cdef Py_ssize_t s
    for s in range(first, last):
        loglik[s] = forward_backward_one(
            log_frameprob + offsets[s] * n, offsets[s + 1] - offsets[s],
            log_startprob, transmat, transmat_t, log_transmat, log_endprob,
            out_posteriors + offsets[s] * n, work, start_counts, trans_counts,
            end_counts, zeros_exact, n)


# ---------------------------------------------------------------- scaled domain

def scaled_estep(
    const double[:, ::1] log_frameprob,   # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const int64_t[::1] chunks,            # IN (n_chunks + 1,) sequence index bounds
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N) every entry >= SCALED_MIN_TRANSITION
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] out_posteriors,        # OUT (T_total, N)
    double[::1] loglik,                   # OUT (n_seq,)
    double[:, ::1] start_counts,          # OUT (n_chunks, N)
    double[:, :, ::1] xi_sums,            # OUT (n_chunks, N, N) times transmat = counts
    double[:, ::1] end_counts,            # OUT (n_chunks, N)
    int n_threads,
    const int64_t[::1] index=None,        # IN (T_total,) table rows, or None
    str path="sequences",                 # IN "sequences", "split" or "lockstep"
    groups=None,                          # IN lockstep groups (backend.lockstep_groups)
    bint gemm=False,                      # IN sum xi (and recompute beta) with dgemm
):
    """Posteriors plus expected counts in the scaled domain, one set of sums
    per chunk of sequences.

    The expected transition counts of a chunk are ``transmat * xi_sums[c]``.
    On the lockstep path the sums are per part of the groups instead (as many
    as the chunks or fewer; rows beyond stay zero); on the two-thread path
    they all go to chunk 0.
    """
    cdef ScaledCall call
    cdef Py_ssize_t n, c, s, n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t n_chunks = chunks.shape[0] - 1
    cdef double* work = NULL
    cdef Py_ssize_t failed = 0
    cdef hmm_dgemm_t xi_gemm = <hmm_dgemm_t> dgemm if gemm else NULL
    n_threads = max(1, n_threads)
    keep = scaled_setup(&call, log_frameprob, index, offsets, log_startprob, transmat,
                        log_endprob, path, groups)
    n = call.n
    _check_outputs(out_posteriors, call.n_frames, n, loglik, n_seq, chunks, start_counts,
                   (xi_sums.shape[0], xi_sums.shape[1], xi_sums.shape[2]), (n_chunks, n, n),
                   end_counts)
    start_counts[:, :] = 0.0
    xi_sums[:, :, :] = 0.0
    end_counts[:, :] = 0.0
    if path == "split":
        loglik[0] = split_call(&call, out_posteriors, start_counts, xi_sums, end_counts,
                               n_threads, gemm, _local)
        return
    if path == "lockstep":
        lockstep_call(&call, transmat, groups, loglik, out_posteriors, start_counts, xi_sums,
                      end_counts, n_threads, gemm)
        return
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(hmm_scaled_work_size(n) * sizeof(double))
        for c in prange(n_chunks, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            for s in range(chunks[c], chunks[c + 1]):
                loglik[s] = posteriors_one(&call, offsets[s], offsets[s + 1] - offsets[s],
                                           &out_posteriors[offsets[s], 0], &start_counts[c, 0],
                                           &xi_sums[c, 0, 0], &end_counts[c, 0],
                                           work, xi_gemm)
        free(work)
    if failed:
        raise MemoryError()


# ---------------------------------------------------------------- sparse

def sparse_estep(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const int64_t[::1] chunks,            # IN (n_chunks + 1,) sequence index bounds
    const double[::1] log_startprob,      # IN (N,)
    transitions,                          # IN SparseTransitions of the (N, N) matrix
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] out_posteriors,        # OUT (T_total, N)
    double[::1] loglik,                   # OUT (n_seq,)
    double[:, ::1] start_counts,          # OUT (n_chunks, N)
    double[:, ::1] trans_counts,          # OUT (n_chunks, nnz) in CSR order
    double[:, ::1] end_counts,            # OUT (n_chunks, N)
    int n_threads,
):
    """Posteriors and expected counts per chunk, visiting only the allowed
    transitions (transition counts in the CSR order of ``transitions``)."""
    cdef Sparse a
    cdef Py_ssize_t c, s, n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t n_chunks = chunks.shape[0] - 1
    cdef double* work = NULL
    cdef Py_ssize_t failed = 0
    keep = bind_sparse(&a, transitions)
    if log_frameprob.shape[1] != a.n:
        raise ValueError(f"log_frameprob must have {a.n} columns")
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_startprob.shape[0], a.n, "log_startprob")
    check_length(log_endprob.shape[0], a.n, "log_endprob")
    _check_outputs(out_posteriors, log_frameprob.shape[0], a.n, loglik, n_seq, chunks,
                   start_counts, (trans_counts.shape[0], trans_counts.shape[1]),
                   (n_chunks, transitions.nnz), end_counts)
    n_threads = max(1, n_threads)
    start_counts[:, :] = 0.0
    trans_counts[:, :] = 0.0
    end_counts[:, :] = 0.0
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(6 * a.n * sizeof(double))
        for c in prange(n_chunks, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            for s in range(chunks[c], chunks[c + 1]):
                loglik[s] = sparse_forward_backward_one(
                    &a, &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                    &log_startprob[0], &log_endprob[0], &out_posteriors[offsets[s], 0],
                    work, &start_counts[c, 0], &trans_counts[c, 0], &end_counts[c, 0])
        free(work)
    if failed:
        raise MemoryError()
