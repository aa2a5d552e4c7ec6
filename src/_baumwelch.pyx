"""Forward-backward posteriors and the Baum-Welch E-step over a batch.

The E-step never builds a T x N x N array: each time step adds its expected
transitions straight into an N x N accumulator. Sequences are grouped into
chunks fixed by the caller (independent of the thread count); each chunk has
its own accumulator and the caller sums them in order, so statistics are
bit-identical whatever the number of threads.
"""

import numpy as np

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, exp
from libc.stdint cimport int64_t
from libc.string cimport memcpy, memset

from _checks cimport check_length, check_offsets, check_square
from _steps cimport backward_step, forward_sequence, max_of

# A step whose rank-one scale factor exceeds this is summed exactly instead:
# below it, terms lost to underflow are under 1e-200 in absolute value.
cdef double _MAX_XI_SCALE = 1e100


cdef double forward_backward_one(
    const double* log_frameprob,    # IN (T, N)
    Py_ssize_t n_frames,
    const double* log_startprob,    # IN (N,)
    const double* transmat,         # IN (N, N)
    const double* transmat_t,       # IN (N, N) transposed
    const double* log_transmat,     # IN (N, N)
    const double* log_endprob,      # IN (N,)
    double* posteriors,             # OUT (T, N); holds log alpha during the pass
    double* work,                   # (4 N,) scratch
    double* start_counts,           # OUT (N,) accumulated, or NULL
    double* trans_counts,           # OUT (N, N) accumulated, or NULL
    double* end_counts,             # OUT (N,) accumulated, or NULL
    Py_ssize_t n,
) noexcept nogil:
    """Posteriors of one sequence (and, optionally, its expected counts)."""
    cdef double* log_beta = work
    cdef double* log_beta_prev = work + n
    cdef double* v = work + 2 * n
    cdef double* q = work + 3 * n
    cdef double* tmp
    cdef double* row
    cdef const double* log_alpha
    cdef const double* trans_row
    cdef double loglik, c, d, w, coef
    cdef Py_ssize_t t, i, j
    cdef bint accumulate = trans_counts != NULL

    loglik = forward_sequence(log_frameprob, n_frames, log_startprob, transmat,
                              log_transmat, log_endprob, posteriors, v, n)
    if loglik == -INFINITY:
        # Impossible under the model: no posterior mass, nothing to count.
        memset(posteriors, 0, n_frames * n * sizeof(double))
        return loglik

    memcpy(log_beta, log_endprob, n * sizeof(double))
    row = posteriors + (n_frames - 1) * n
    for i in range(n):
        row[i] = exp(row[i] + log_beta[i] - loglik)
        if accumulate:
            end_counts[i] += row[i]

    for t in range(n_frames - 2, -1, -1):
        # log_beta holds beta_{t+1}; compute beta_t into log_beta_prev.
        d = backward_step(log_beta, log_frameprob + (t + 1) * n, transmat_t,
                          log_transmat, log_beta_prev, v, q, n)
        log_alpha = posteriors + t * n
        if accumulate:
            c = max_of(log_alpha, n)
            w = exp(c + d - loglik)
            if w <= _MAX_XI_SCALE:
                for i in range(n):
                    coef = w * exp(log_alpha[i] - c)
                    if coef == 0.0:
                        continue
                    row = trans_counts + i * n
                    trans_row = transmat + i * n
                    for j in range(n):
                        row[j] += coef * q[j] * trans_row[j]
            else:
                for i in range(n):
                    row = trans_counts + i * n
                    trans_row = log_transmat + i * n
                    for j in range(n):
                        row[j] += exp(log_alpha[i] + trans_row[j] + v[j] - loglik)
        row = posteriors + t * n
        for i in range(n):
            row[i] = exp(row[i] + log_beta_prev[i] - loglik)
        tmp = log_beta
        log_beta = log_beta_prev
        log_beta_prev = tmp

    if accumulate:
        for i in range(n):
            start_counts[i] += posteriors[i]
    return loglik


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
    cdef double[:, ::1] work
    cdef double[:, ::1] transmat_t
    _check_common(log_frameprob, offsets, log_startprob, transmat, log_transmat,
                  log_endprob, out_posteriors)
    check_length(loglik.shape[0], n_seq, "loglik")
    n_threads = max(1, n_threads)
    transmat_t = np.ascontiguousarray(np.asarray(transmat).T)
    work = np.empty((n_threads, 4 * n))
    with nogil:
        for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
            loglik[s] = forward_backward_one(
                &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                &log_startprob[0], &transmat[0, 0], &transmat_t[0, 0],
                &log_transmat[0, 0], &log_endprob[0], &out_posteriors[offsets[s], 0],
                &work[threadid(), 0], NULL, NULL, NULL, n)


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
    cdef Py_ssize_t c, s
    cdef double[:, ::1] work
    cdef double[:, ::1] transmat_t
    _check_common(log_frameprob, offsets, log_startprob, transmat, log_transmat,
                  log_endprob, out_posteriors)
    check_length(loglik.shape[0], n_seq, "loglik")
    if n_chunks < 1 or chunks[0] != 0 or chunks[n_chunks] != n_seq:
        raise ValueError("chunks must run from 0 to the number of sequences")
    for c in range(n_chunks):
        if chunks[c + 1] <= chunks[c]:
            raise ValueError("chunks must be strictly increasing")
    for name, arr, shape in (("start_counts", start_counts, (n_chunks, n)),
                             ("end_counts", end_counts, (n_chunks, n))):
        if (arr.shape[0], arr.shape[1]) != shape:
            raise ValueError(f"{name} must have shape {shape}")
    if (trans_counts.shape[0], trans_counts.shape[1], trans_counts.shape[2]) != (n_chunks, n, n):
        raise ValueError(f"trans_counts must have shape {(n_chunks, n, n)}")
    n_threads = max(1, n_threads)
    transmat_t = np.ascontiguousarray(np.asarray(transmat).T)
    work = np.empty((n_threads, 4 * n))
    start_counts[:, :] = 0.0
    trans_counts[:, :, :] = 0.0
    end_counts[:, :] = 0.0
    with nogil:
        for c in prange(n_chunks, schedule="dynamic", num_threads=n_threads):
            _estep_chunk(&log_frameprob[0, 0], &offsets[0], chunks[c], chunks[c + 1],
                         &log_startprob[0], &transmat[0, 0], &transmat_t[0, 0],
                         &log_transmat[0, 0], &log_endprob[0], &out_posteriors[0, 0],
                         &loglik[0],
                         &work[threadid(), 0], &start_counts[c, 0],
                         &trans_counts[c, 0, 0], &end_counts[c, 0], n)


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
    Py_ssize_t n,
) noexcept nogil:
    cdef Py_ssize_t s
    for s in range(first, last):
        loglik[s] = forward_backward_one(
            log_frameprob + offsets[s] * n, offsets[s + 1] - offsets[s],
            log_startprob, transmat, transmat_t, log_transmat, log_endprob,
            out_posteriors + offsets[s] * n, work, start_counts, trans_counts,
            end_counts, n)


cdef int _check_common(
    const double[:, ::1] log_frameprob,
    const int64_t[::1] offsets,
    const double[::1] log_startprob,
    const double[:, ::1] transmat,
    const double[:, ::1] log_transmat,
    const double[::1] log_endprob,
    double[:, ::1] out_posteriors,
) except -1:
    cdef Py_ssize_t n = log_frameprob.shape[1]
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_square(transmat.shape[0], transmat.shape[1], n, "transmat")
    check_square(log_transmat.shape[0], log_transmat.shape[1], n, "log_transmat")
    if out_posteriors.shape[0] != log_frameprob.shape[0] or out_posteriors.shape[1] != n:
        raise ValueError("out_posteriors must have the shape of log_frameprob")
    return 0
