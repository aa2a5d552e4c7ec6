# The scaled linear-domain kernels (src/_scaled.h, _split.h, _lockstep.h) and
# the setup of a call, shared by _forward (likelihood, posteriors) and
# _baumwelch (E-step). They run for transition matrices whose every entry is at
# least HMM_SCALED_MIN_TRANSITION (1e-100), where a step needs no exp or log and
# the result still equals exact log-space arithmetic (see _scaled.h).
#
# Frames come as (T, N) log-likelihoods, or as a (K, N) table and a (T,) index
# of table rows (categorical emissions), exponentiated once per call.
# The caller picks the path (hmm_core.kernels.backend): one sequence per thread
# at a time, a lone long sequence on two threads (_split.h), or groups of
# sequences in lockstep, one dgemm per step (_lockstep.h).

from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, log
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dgemm

from _checks cimport check_index, check_length, check_offsets, check_square

cdef extern from "_scaled.h" nogil:
    ctypedef void (*hmm_dgemm_t)(char*, char*, int*, int*, int*, double*, double*, int*,
                                 double*, int*, double*, double*, int*)
    ctypedef struct hmm_frames:
        const double* log_frameprob
        const int64_t* index
        const double* table_b
        const double* table_shift
    double HMM_SCALED_MIN_TRANSITION
    Py_ssize_t hmm_scaled_work_size(Py_ssize_t n)
    Py_ssize_t hmm_stride(Py_ssize_t n)
    hmm_frames hmm_frames_from(const hmm_frames* base, Py_ssize_t start, Py_ssize_t n)
    void hmm_table_exp(const double* table, Py_ssize_t n_rows, Py_ssize_t n, double* table_b,
                       double* table_shift)
    double hmm_scaled_forward(const hmm_frames* frames, Py_ssize_t n_frames, Py_ssize_t n,
                              const double* log_startprob, const double* transmat,
                              const double* log_endprob, double* alpha, double* work)
    double hmm_scaled_posteriors(const hmm_frames* frames, Py_ssize_t n_frames,
                                 Py_ssize_t n, const double* log_startprob,
                                 const double* transmat, const double* transmat_t,
                                 const double* log_endprob, double* post,
                                 double* start_counts, double* xi_sums, double* end_counts,
                                 double* work, hmm_dgemm_t dgemm)

cdef extern from "_split.h" nogil:
    int hmm_backward_rows(const hmm_frames* frames, Py_ssize_t n_frames, Py_ssize_t n,
                          const double* transmat_t, const double* log_endprob,
                          double* v_rows, double* beta_rows, double* work)
    double hmm_forward_to(const hmm_frames* frames, Py_ssize_t m, Py_ssize_t n,
                          const double* log_startprob, const double* transmat, double* out,
                          double* work)
    double hmm_backward_to(const hmm_frames* frames, Py_ssize_t n_frames, Py_ssize_t m,
                           Py_ssize_t n, const double* transmat_t, const double* log_endprob,
                           double* out, double* work)
    void hmm_combine(Py_ssize_t n_frames, Py_ssize_t n, Py_ssize_t t0, Py_ssize_t t1,
                     const double* transmat, const double* transmat_t,
                     const double* v_rows, const double* beta_rows, double* post,
                     double* start_counts, double* xi_sums, double* work, hmm_dgemm_t dgemm)

cdef extern from "_lockstep.h" nogil:
    Py_ssize_t hmm_lockstep_work_size(Py_ssize_t g, Py_ssize_t n)
    void hmm_lockstep_forward(const hmm_frames* base, const int64_t* starts,
                              const int64_t* lengths, Py_ssize_t g, Py_ssize_t n,
                              const double* log_startprob, const double* transmat,
                              const double* log_endprob, double* loglik, double* alpha,
                              double* work, hmm_dgemm_t dgemm)
    void hmm_lockstep_backward(const hmm_frames* base, const int64_t* starts,
                               const int64_t* lengths, Py_ssize_t g, Py_ssize_t n,
                               const double* transmat, const double* transmat_t,
                               const double* log_endprob, const double* loglik,
                               double* post, double* start_counts, double* xi_sums,
                               double* end_counts, double* work, hmm_dgemm_t dgemm,
                               int xi_gemm)


cdef struct ScaledCall:
    hmm_frames base                 # the batch's frames; hmm_frames_from picks a sequence
    Py_ssize_t n                    # states
    Py_ssize_t n_frames             # frames of the batch
    const double* log_startprob     # (N,)
    const double* transmat          # (N, N)
    const double* transmat_p        # (w, w) padded (see hmm_stride)
    const double* transmat_pt       # its transpose, padded alike
    const double* log_endprob       # (N,)


cdef inline tuple scaled_setup(
    ScaledCall* call,                       # OUT
    const double[:, ::1] log_frameprob,     # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] index,               # IN (T_total,) table rows, or None
    const int64_t[::1] offsets,             # IN (n_seq + 1,)
    const double[::1] log_startprob,        # IN (N,)
    const double[:, ::1] transmat,          # IN (N, N) every entry >= the minimum
    const double[::1] log_endprob,          # IN (N,)
    str path,                               # IN "sequences", "split" or "lockstep"
    groups,                                 # IN lockstep groups, or None
):
    """Check a scaled call and fill ``call``; returns the arrays its pointers
    point into (keep them alive) and one row of scratch per thread last."""
    import numpy as np
    cdef Py_ssize_t t, i, j, n = log_frameprob.shape[1], n_rows = log_frameprob.shape[0]
    cdef Py_ssize_t w = hmm_stride(n)
    cdef double[:, ::1] table_b
    cdef double[::1] table_shift
    cdef double[:, ::1] padded
    cdef double[:, ::1] padded_t
    call.n = n
    call.n_frames = n_rows if index is None else index.shape[0]
    check_offsets(offsets, call.n_frames)
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_square(transmat.shape[0], transmat.shape[1], n, "transmat")
    for i in range(n):
        for j in range(n):
            # written so that NaN fails too
            if not transmat[i, j] >= HMM_SCALED_MIN_TRANSITION:
                raise ValueError("the scaled kernels need every transition >= 1e-100")
    check_path(path, offsets, groups)
    call.base.log_frameprob = &log_frameprob[0, 0]
    call.base.index = NULL
    call.base.table_b = NULL
    call.base.table_shift = NULL
    table = None
    if index is not None:
        check_index(index, n_rows)
        table_b = np.empty((n_rows, w))
        table_shift = np.empty(n_rows)
        hmm_table_exp(&log_frameprob[0, 0], n_rows, n, &table_b[0, 0], &table_shift[0])
        call.base.index = &index[0]
        call.base.table_b = &table_b[0, 0]
        call.base.table_shift = &table_shift[0]
        table = (<object> table_b, <object> table_shift)
    a = np.asarray(transmat)
    padded = np.zeros((w, w))
    padded_t = np.zeros((w, w))
    np.asarray(padded)[:n, :n] = a
    np.asarray(padded_t)[:n, :n] = a.T
    call.log_startprob = &log_startprob[0]
    call.transmat = &transmat[0, 0]
    call.transmat_p = &padded[0, 0]
    call.transmat_pt = &padded_t[0, 0]
    call.log_endprob = &log_endprob[0]
    return table, <object> padded, <object> padded_t


cdef inline int check_path(str path, const int64_t[::1] offsets, groups) except -1:
    """The path the caller chose must fit the batch; lockstep groups must be
    what ``backend.lockstep_groups`` makes (the kernels index through them)."""
    import numpy as np
    paths = ("sequences", "split", "lockstep")
    if path not in paths:
        raise ValueError(f"path must be one of {paths}, got {path!r}")
    if path == "split" and offsets.shape[0] != 2:
        raise ValueError("the split path takes one sequence")
    if path != "lockstep":
        return 0
    if groups is None or len(groups) != 4:
        raise ValueError("the lockstep path needs groups (order, starts, lengths, bounds)")
    bounds_all = np.asarray(offsets)
    order, starts, lengths, bounds = [np.asarray(g) for g in groups]
    n_seq = bounds_all.shape[0] - 1
    if (order.shape != (n_seq,) or not np.array_equal(np.sort(order), np.arange(n_seq))
            or not np.array_equal(starts, bounds_all[:n_seq][order])
            or not np.array_equal(lengths, np.diff(bounds_all)[order])
            or np.any(np.diff(lengths) > 0)):
        raise ValueError("groups must order the sequences by decreasing length")
    if (bounds.ndim != 1 or bounds.shape[0] < 2 or bounds[0] != 0
            or bounds[bounds.shape[0] - 1] != n_seq
            or np.any(np.diff(bounds) <= 0)):
        raise ValueError("group bounds must increase strictly from 0 to the number of sequences")
    return 0


cdef inline double forward_one(const ScaledCall* c, Py_ssize_t start, Py_ssize_t n_frames,
                               double* work) noexcept nogil:
    """Log-likelihood of the sequence at frames start .. start + n_frames - 1."""
    cdef hmm_frames f = hmm_frames_from(&c.base, start, c.n)
    return hmm_scaled_forward(&f, n_frames, c.n, c.log_startprob, c.transmat_p,
                              c.log_endprob, NULL, work)


cdef inline double posteriors_one(const ScaledCall* c, Py_ssize_t start, Py_ssize_t n_frames,
                                  double* post, double* start_counts, double* xi_sums,
                                  double* end_counts, double* work,
                                  hmm_dgemm_t gemm) noexcept nogil:
    """Posteriors of one sequence into post (its rows), and its counts when
    xi_sums is not NULL; returns its log-likelihood."""
    cdef hmm_frames f = hmm_frames_from(&c.base, start, c.n)
    return hmm_scaled_posteriors(&f, n_frames, c.n, c.log_startprob, c.transmat_p,
                                 c.transmat_pt, c.log_endprob, post, start_counts, xi_sums,
                                 end_counts, work, gemm)


cdef inline double loglik_split(const ScaledCall* c, double* alpha_m, double* beta_m,
                                double* work0, double* work1, int n_threads) noexcept nogil:
    """log P(x) of the one sequence as log(alpha_m . beta_m), the two vectors
    computed at once from either end (m the middle frame)."""
    cdef Py_ssize_t n = c.n, n_frames = c.n_frames, job, j, m = (n_frames - 1) // 2
    cdef double scale[2]
    cdef double dot = 0.0
    for job in prange(2, schedule="static", chunksize=1, num_threads=n_threads):
        if job == 0:
            scale[0] = hmm_forward_to(&c.base, m, n, c.log_startprob, c.transmat_p, alpha_m,
                                      work0)
        else:
            scale[1] = hmm_backward_to(&c.base, n_frames, m, n, c.transmat_pt,
                                       c.log_endprob, beta_m, work1)
    if scale[0] == -INFINITY or scale[1] == -INFINITY:
        return -INFINITY
    for j in range(n):
        dot += alpha_m[j] * beta_m[j]
    if dot <= 0.0:
        return -INFINITY
    return scale[0] + scale[1] + log(dot)


cdef inline double posteriors_split(const ScaledCall* c, double* post, double* start_parts,
                                    double* xi_parts, double* v_rows, double* beta_rows,
                                    double* work0, double* work1, int n_threads,
                                    hmm_dgemm_t gemm) noexcept nogil:
    """The one sequence: the forward and the backward pass at once, then each
    thread combines half of the frames into its own partial sums (start_parts
    and xi_parts: 2 x N and 2 x N x N)."""
    cdef Py_ssize_t n = c.n, n_frames = c.n_frames
    cdef Py_ssize_t job, mid = (n_frames - 1) // 2
    cdef double result[2]
    for job in prange(2, schedule="static", chunksize=1, num_threads=n_threads):
        if job == 0:
            result[0] = hmm_scaled_forward(&c.base, n_frames, n, c.log_startprob,
                                           c.transmat_p, c.log_endprob, post, work0)
        else:
            result[1] = hmm_backward_rows(&c.base, n_frames, n, c.transmat_pt, c.log_endprob,
                                          v_rows, beta_rows, work1)
    if result[0] == -INFINITY:
        return result[0]
    if result[1] == 0:   # a frame impossible in every state: the forward pass sees it too
        return -INFINITY
    for job in prange(2, schedule="static", chunksize=1, num_threads=n_threads):
        hmm_combine(n_frames, n, 0 if job == 0 else mid, mid if job == 0 else n_frames - 1,
                    c.transmat_p, c.transmat_pt, v_rows, beta_rows, post,
                    start_parts + job * n,
                    xi_parts + job * n * n if xi_parts != NULL else NULL,
                    work0 if job == 0 else work1, gemm)
    return result[0]


cdef inline object kept_scratch(local, str name, tuple shape):
    """An uninitialised float64 array of ``shape``, kept in ``local`` (a
    threading.local) for the next call of this thread up to 32 MiB: fresh pages
    cost a fault and a clear each (half of the backward pass at N = 4)."""
    import numpy as np
    size = shape[0] * shape[1]
    if 8 * size > (1 << 25):
        return np.empty(shape)
    buf = getattr(local, name, None)
    if buf is None or buf.size < size:
        buf = np.empty(size)
        setattr(local, name, buf)
    return buf[:size].reshape(shape)


cdef inline double split_call(const ScaledCall* c, double[:, ::1] post, start_counts,
                              xi_sums, end_counts, int n_threads, bint gemm,
                              local) except? -1:
    """The two-thread path of posteriors and the E-step (sums given: added to
    chunk 0); returns the log-likelihood. Its backward rows are kept in
    ``local`` (see kept_scratch)."""
    import numpy as np
    cdef Py_ssize_t n = c.n, n_frames = c.n_frames
    cdef Py_ssize_t w = hmm_stride(n)
    cdef double[:, ::1] v_rows = kept_scratch(local, "v_rows", (n_frames, w))
    # above 16 states the combining step recomputes beta (see _split.h)
    cdef double[:, ::1] beta_rows = kept_scratch(local, "beta_rows",
                                                 (n_frames if w <= 16 else 1, w))
    cdef double[:, ::1] work = np.empty((2, hmm_scaled_work_size(n)))
    cdef double[:, ::1] start_parts = np.zeros((2, n))
    cdef double[:, :, ::1] xi_parts = np.zeros((2, n, n))
    cdef int accumulate = xi_sums is not None
    cdef double loglik
    with nogil:
        loglik = posteriors_split(c, &post[0, 0], &start_parts[0, 0],
                                  &xi_parts[0, 0, 0] if accumulate else NULL,
                                  &v_rows[0, 0], &beta_rows[0, 0] if w <= 16 else NULL,
                                  &work[0, 0], &work[1, 0], min(max(n_threads, 1), 2),
                                  <hmm_dgemm_t> dgemm if gemm else NULL)
    if loglik == -np.inf:
        np.asarray(post)[...] = 0.0
        return loglik
    if accumulate:
        np.asarray(start_counts)[0] += np.asarray(start_parts)[0]
        np.asarray(xi_sums)[0] += np.asarray(xi_parts)[0] + np.asarray(xi_parts)[1]
        np.asarray(end_counts)[0] += np.asarray(post)[n_frames - 1]
    return loglik


cdef inline int lockstep_call(const ScaledCall* c, const double[:, ::1] transmat, groups,
                              double[::1] out_loglik, post, start_counts, xi_sums,
                              end_counts, int n_threads, bint gemm) except -1:
    """The lockstep path of the likelihood, the posteriors (post given) and the
    E-step (the sums given too: group part p adds to row p of the chunk sums)."""
    import numpy as np
    cdef Py_ssize_t n = c.n
    order, starts_a, lengths_a, bounds_a = groups
    cdef const int64_t[::1] starts = starts_a
    cdef const int64_t[::1] lengths = lengths_a
    cdef const int64_t[::1] bounds = bounds_a
    cdef Py_ssize_t n_groups = bounds.shape[0] - 1
    cdef Py_ssize_t group_max = int(np.diff(bounds_a).max())
    cdef Py_ssize_t work_size = hmm_lockstep_work_size(group_max, n), failed = 0
    cdef double* work = NULL
    cdef double[:, ::1] transmat_t = np.ascontiguousarray(np.asarray(transmat).T)
    cdef double[::1] loglik = np.empty(starts.shape[0])
    cdef double[:, ::1] post_v
    cdef double[:, ::1] start_v
    cdef double[:, ::1] end_v
    cdef double[:, :, ::1] xi_v
    cdef double* post_p = NULL
    cdef double* start_p = NULL
    cdef double* xi_p = NULL
    cdef double* end_p = NULL
    cdef Py_ssize_t n_parts = n_groups
    cdef Py_ssize_t part, grp, lo
    if post is not None:
        post_v = post
        post_p = &post_v[0, 0]
    if xi_sums is not None:
        start_v, xi_v, end_v = start_counts, xi_sums, end_counts
        start_p, xi_p, end_p = &start_v[0, 0], &xi_v[0, 0, 0], &end_v[0, 0]
        n_parts = min(xi_v.shape[0], n_groups)
    with nogil, parallel(num_threads=n_threads):
        work = <double*> malloc(work_size * sizeof(double))
        for part in prange(n_parts, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            for grp in range(part * n_groups // n_parts, (part + 1) * n_groups // n_parts):
                lo = bounds[grp]
                hmm_lockstep_forward(&c.base, &starts[lo], &lengths[lo], bounds[grp + 1] - lo,
                                     n, c.log_startprob, c.transmat, c.log_endprob,
                                     &loglik[lo], post_p, work, <hmm_dgemm_t> dgemm)
                if post_p != NULL:
                    hmm_lockstep_backward(
                        &c.base, &starts[lo], &lengths[lo], bounds[grp + 1] - lo, n,
                        c.transmat, &transmat_t[0, 0], c.log_endprob, &loglik[lo], post_p,
                        start_p + part * n if start_p != NULL else NULL,
                        xi_p + part * n * n if xi_p != NULL else NULL,
                        end_p + part * n if end_p != NULL else NULL,
                        work, <hmm_dgemm_t> dgemm, gemm)
        free(work)
    if failed:
        raise MemoryError()
    np.asarray(out_loglik)[order] = loglik
    return 0
