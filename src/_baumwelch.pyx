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
from _steps cimport (
    backward_step,
    forward_sequence,
    hmm_exp_sub,
    hmm_outer_acc,
    normalize_exp,
    shift_to_max,
    zeros_are_exact,
)

# A step whose expected transitions sum, in the shifted domain, to less than
# this may have lost terms to underflow: it is summed exactly instead.
cdef double _MIN_XI_TOTAL = 1e-250


cdef double forward_backward_one(
    const double* log_frameprob,    # IN (T, N)
    Py_ssize_t n_frames,
    const double* log_startprob,    # IN (N,)
    const double* transmat,         # IN (N, N)
    const double* transmat_t,       # IN (N, N) transposed
    const double* log_transmat,     # IN (N, N)
    const double* log_endprob,      # IN (N,)
    double* posteriors,             # OUT (T, N); holds relative log alpha during the pass
    double* work,                   # (6 N,) scratch
    double* start_counts,           # OUT (N,) accumulated, or NULL
    double* trans_counts,           # OUT (N, N) accumulated, or NULL
    double* end_counts,             # OUT (N,) accumulated, or NULL
    bint zeros_exact,               # IN zeros_are_exact(transmat)
    Py_ssize_t n,
) noexcept nogil:
    """Posteriors of one sequence (and, optionally, its expected counts).

    Each frame's posteriors and each step's expected transitions are
    normalised to sum to one, which in exact arithmetic they do; the shared
    scale factors then never enter, so precision does not decay with length.
    """
    cdef double* rel_beta = work
    cdef double* rel_beta_prev = work + n
    cdef double* v = work + 2 * n
    cdef double* q = work + 3 * n
    cdef double* sums = work + 4 * n
    cdef double* p = work + 5 * n
    cdef double* tmp
    cdef double* row
    cdef const double* rel_alpha
    cdef double loglik, total
    cdef Py_ssize_t t, i
    cdef bint accumulate = trans_counts != NULL

    loglik = forward_sequence(log_frameprob, n_frames, log_startprob, transmat,
                              log_transmat, log_endprob, posteriors, sums, zeros_exact, n)
    if loglik == -INFINITY:
        # Impossible under the model: no posterior mass, nothing to count.
        memset(posteriors, 0, n_frames * n * sizeof(double))
        return loglik

    memcpy(rel_beta, log_endprob, n * sizeof(double))
    shift_to_max(rel_beta, n)
    row = posteriors + (n_frames - 1) * n
    normalize_exp(row, rel_beta, row, n)
    if accumulate:
        for i in range(n):
            end_counts[i] += row[i]

    for t in range(n_frames - 2, -1, -1):
        # rel_beta holds beta_{t+1}; compute beta_t into rel_beta_prev.
        backward_step(rel_beta, log_frameprob + (t + 1) * n, transmat_t, log_transmat,
                      rel_beta_prev, v, q, sums, zeros_exact, n)
        rel_alpha = posteriors + t * n
        if accumulate:
            # xi_t(i, j) = p_i A_ij q_j / sum_i p_i (A q)_i with p = exp(rel_alpha).
            hmm_exp_sub(rel_alpha, 0.0, p, n)
            total = 0.0
            for i in range(n):
                total += p[i] * sums[i]
            if total >= _MIN_XI_TOTAL:
                hmm_outer_acc(p, transmat, q, 1.0 / total, trans_counts, n)
            else:
                _exact_xi_step(rel_alpha, log_transmat, v, trans_counts, n)
        row = posteriors + t * n
        normalize_exp(row, rel_beta_prev, row, n)
        tmp = rel_beta
        rel_beta = rel_beta_prev
        rel_beta_prev = tmp

    if accumulate:
        for i in range(n):
            start_counts[i] += posteriors[i]
    return loglik


cdef void _exact_xi_step(
    const double* rel_alpha,        # IN (N,)
    const double* log_transmat,     # IN (N, N)
    const double* v,                # IN (N,) log_frameprob_{t+1} + rel_beta_{t+1}
    double* trans_counts,           # OUT (N, N) accumulated
    Py_ssize_t n,
) noexcept nogil:
    """One step's expected transitions with N^2 exp (rare underflow fallback)."""
    cdef Py_ssize_t i, j
    cdef double top = -INFINITY, total = 0.0, x
    for i in range(n):
        for j in range(n):
            x = rel_alpha[i] + log_transmat[i * n + j] + v[j]
            if x > top:
                top = x
    if top == -INFINITY:
        return
    for i in range(n):
        for j in range(n):
            total += exp(rel_alpha[i] + log_transmat[i * n + j] + v[j] - top)
    for i in range(n):
        for j in range(n):
            trans_counts[i * n + j] += exp(
                rel_alpha[i] + log_transmat[i * n + j] + v[j] - top) / total


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
    cdef bint zeros_exact
    _check_common(log_frameprob, offsets, log_startprob, transmat, log_transmat,
                  log_endprob, out_posteriors)
    check_length(loglik.shape[0], n_seq, "loglik")
    n_threads = max(1, n_threads)
    zeros_exact = zeros_are_exact(&transmat[0, 0], n * n)
    transmat_t = np.ascontiguousarray(np.asarray(transmat).T)
    work = np.empty((n_threads, 6 * n))
    with nogil:
        for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
            loglik[s] = forward_backward_one(
                &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                &log_startprob[0], &transmat[0, 0], &transmat_t[0, 0],
                &log_transmat[0, 0], &log_endprob[0], &out_posteriors[offsets[s], 0],
                &work[threadid(), 0], NULL, NULL, NULL, zeros_exact, n)


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
    cdef bint zeros_exact
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
    zeros_exact = zeros_are_exact(&transmat[0, 0], n * n)
    transmat_t = np.ascontiguousarray(np.asarray(transmat).T)
    work = np.empty((n_threads, 6 * n))
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
                         &trans_counts[c, 0, 0], &end_counts[c, 0], zeros_exact, n)


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
