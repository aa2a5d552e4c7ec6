"""Likelihood, posteriors and the E-step in the scaled linear domain.

For transition matrices whose every entry is at least ``MIN_TRANSITION``
(1e-100): then a step is a vector-matrix multiply-add with no transcendental
function, and the result still equals exact log-space arithmetic (see the
bound in ``_scaled.h``). ``ChainParams`` routes other matrices to the
log-domain kernels of ``_forward`` and ``_baumwelch``.

Sequences are concatenated along the first axis; ``offsets[s]:offsets[s + 1]``
are the frames of sequence ``s``; work is parallel over sequences. Batches of
larger models advance groups of sequences in lockstep instead, one matrix
product per step (``_lockstep.h``); a lone long sequence runs its forward and
backward passes on two threads at once (``_split.h``). The caller chooses the
path (``hmm_core.kernels.backend``) and passes it in.
"""

import threading

import numpy as np

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, log
from libc.stdint cimport int64_t
from scipy.linalg.cython_blas cimport dgemm

from _checks cimport check_length, check_offsets, check_square

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

MIN_TRANSITION = HMM_SCALED_MIN_TRANSITION
_PATHS = ("sequences", "split", "lockstep")


def split_scratch_bytes(Py_ssize_t n_frames, Py_ssize_t n_components):
    """Bytes of backward rows the two-thread path keeps for one sequence."""
    cdef Py_ssize_t w = hmm_stride(n_components)
    return 8 * n_frames * w * (1 + (w <= 16))


def _padded(matrix):
    """(w, w) copy of an (N, N) matrix, zero past row and column N (w = hmm_stride(N))."""
    n = matrix.shape[0]
    w = hmm_stride(n)
    out = np.zeros((w, w))
    out[:n, :n] = matrix
    return out


cdef class _Source:
    """The frames of a call: (T, N) log-likelihoods, or a (K, N) table and a (T,) index."""
    cdef const double[:, ::1] log_frameprob
    cdef const int64_t[::1] index
    cdef double[:, ::1] table_b
    cdef double[::1] table_shift
    cdef Py_ssize_t n_frames, n

    def __init__(self, const double[:, ::1] log_frameprob, const int64_t[::1] index):
        cdef Py_ssize_t t, n_rows = log_frameprob.shape[0]
        self.log_frameprob = log_frameprob
        self.index = index
        self.n = log_frameprob.shape[1]
        self.n_frames = n_rows
        if index is None:
            return
        self.n_frames = index.shape[0]
        for t in range(self.n_frames):
            if index[t] < 0 or index[t] >= n_rows:
                raise ValueError(f"index must lie in [0, {n_rows}), got {index[t]} at {t}")
        self.table_b = np.empty((n_rows, hmm_stride(self.n)))
        self.table_shift = np.empty(n_rows)
        hmm_table_exp(&log_frameprob[0, 0], n_rows, self.n, &self.table_b[0, 0],
                      &self.table_shift[0])

    cdef inline hmm_frames at(self, Py_ssize_t start) noexcept nogil:
        cdef hmm_frames f
        if self.index is None:
            f.log_frameprob = &self.log_frameprob[start, 0]
            f.index = NULL
            f.table_b = NULL
            f.table_shift = NULL
        else:
            f.log_frameprob = &self.log_frameprob[0, 0]
            f.index = &self.index[start]
            f.table_b = &self.table_b[0, 0]
            f.table_shift = &self.table_shift[0]
        return f


cdef double _forward_one(_Source src, Py_ssize_t start, Py_ssize_t n_frames,
                         const double* log_startprob, const double* transmat,
                         const double* log_endprob, double* work) noexcept nogil:
    cdef hmm_frames f = src.at(start)
    return hmm_scaled_forward(&f, n_frames, src.n, log_startprob, transmat, log_endprob,
                              NULL, work)


cdef double _posteriors_one(_Source src, Py_ssize_t start, Py_ssize_t n_frames,
                            const double* log_startprob, const double* transmat,
                            const double* transmat_t, const double* log_endprob,
                            double* post, double* start_counts, double* xi_sums,
                            double* end_counts, double* work,
                            hmm_dgemm_t gemm) noexcept nogil:
    cdef hmm_frames f = src.at(start)
    return hmm_scaled_posteriors(&f, n_frames, src.n, log_startprob, transmat, transmat_t,
                                 log_endprob, post, start_counts, xi_sums, end_counts,
                                 work, gemm)


cdef double _loglik_split(_Source src, Py_ssize_t n_frames, const double* log_startprob,
                          const double* transmat, const double* transmat_t,
                          const double* log_endprob, double* alpha_m, double* beta_m,
                          double* work0, double* work1, int n_threads) noexcept nogil:
    """log P(x) of one sequence as log(alpha_m . beta_m), the two vectors
    computed at once from either end (m the middle frame)."""
    cdef hmm_frames f = src.at(0)
    cdef Py_ssize_t n = src.n, job, j, m = (n_frames - 1) // 2
    cdef double scale[2]
    cdef double dot = 0.0
    for job in prange(2, schedule="static", chunksize=1, num_threads=n_threads):
        if job == 0:
            scale[0] = hmm_forward_to(&f, m, n, log_startprob, transmat, alpha_m, work0)
        else:
            scale[1] = hmm_backward_to(&f, n_frames, m, n, transmat_t, log_endprob, beta_m,
                                       work1)
    if scale[0] == -INFINITY or scale[1] == -INFINITY:
        return -INFINITY
    for j in range(n):
        dot += alpha_m[j] * beta_m[j]
    if dot <= 0.0:
        return -INFINITY
    return scale[0] + scale[1] + log(dot)


cdef double _posteriors_split(_Source src, Py_ssize_t n_frames,
                              const double* log_startprob, const double* transmat,
                              const double* transmat_t, const double* log_endprob,
                              double* post, double* start_parts, double* xi_parts,
                              double* v_rows, double* beta_rows, double* work0,
                              double* work1, int n_threads, hmm_dgemm_t gemm) noexcept nogil:
    """One sequence (frames 0 .. n_frames - 1 of src): the forward and the
    backward pass at once, then each thread combines half of the frames into
    its own partial sums (start_parts and xi_parts: 2 x N and 2 x N x N)."""
    cdef hmm_frames f = src.at(0)
    cdef Py_ssize_t n = src.n
    cdef Py_ssize_t job, mid = (n_frames - 1) // 2
    cdef double result[2]
    for job in prange(2, schedule="static", chunksize=1, num_threads=n_threads):
        if job == 0:
            result[0] = hmm_scaled_forward(&f, n_frames, n, log_startprob, transmat,
                                           log_endprob, post, work0)
        else:
            result[1] = hmm_backward_rows(&f, n_frames, n, transmat_t, log_endprob, v_rows,
                                          beta_rows, work1)
    if result[0] == -INFINITY:
        return result[0]
    if result[1] == 0:   # a frame impossible in every state: the forward pass sees it too
        return -INFINITY
    for job in prange(2, schedule="static", chunksize=1, num_threads=n_threads):
        hmm_combine(n_frames, n, 0 if job == 0 else mid, mid if job == 0 else n_frames - 1,
                    transmat, transmat_t, v_rows, beta_rows, post, start_parts + job * n,
                    xi_parts + job * n * n if xi_parts != NULL else NULL,
                    work0 if job == 0 else work1, gemm)
    return result[0]


cdef int _check_model(_Source src, const int64_t[::1] offsets,
                      const double[::1] log_startprob, const double[:, ::1] transmat,
                      const double[::1] log_endprob) except -1:
    cdef Py_ssize_t n = src.n
    cdef Py_ssize_t i, j
    check_offsets(offsets, src.n_frames)
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_square(transmat.shape[0], transmat.shape[1], n, "transmat")
    for i in range(n):
        for j in range(n):
            # written so that NaN fails too
            if not transmat[i, j] >= HMM_SCALED_MIN_TRANSITION:
                raise ValueError("the scaled kernels need every transition >= 1e-100")
    return 0


def _setup(log_frameprob, index, offsets, log_startprob, transmat, log_endprob, n_threads):
    """Checks shared by the wrappers; returns the frame source, the padded
    matrix and its transpose, and one row of scratch per thread."""
    cdef _Source src = _Source(log_frameprob, index)
    _check_model(src, offsets, log_startprob, transmat, log_endprob)
    a = np.asarray(transmat)
    work = np.empty((n_threads, hmm_scaled_work_size(src.n)))
    return src, _padded(a), _padded(a.T), work


_local = threading.local()
# Scratch up to this size is kept for the next call in the same thread: fresh
# pages cost a fault and a clear each (half of the backward pass at N = 4).
_SCRATCH_KEEP_BYTES = 1 << 25


def _scratch(name, shape):
    """An uninitialised float64 array of ``shape``, reused across calls of this thread."""
    size = shape[0] * shape[1]
    if 8 * size > _SCRATCH_KEEP_BYTES:
        return np.empty(shape)
    buf = getattr(_local, name, None)
    if buf is None or buf.size < size:
        buf = np.empty(size)
        setattr(_local, name, buf)
    return buf[:size].reshape(shape)


def _split_call(_Source src, const int64_t[::1] offsets, const double[::1] log_startprob,
                double[:, ::1] transmat_p, double[:, ::1] transmat_t,
                const double[::1] log_endprob, double[:, ::1] post, start_counts, xi_sums,
                end_counts, int n_threads, bint gemm):
    """The one-sequence, two-thread path of posteriors and estep; returns the
    log-likelihood and adds the statistics (when given) to chunk 0."""
    cdef Py_ssize_t n = src.n, n_frames = offsets[1] - offsets[0]
    cdef Py_ssize_t w = hmm_stride(n)
    cdef double[:, ::1] v_rows = _scratch("v_rows", (n_frames, w))
    # above 16 states the combining step recomputes beta (see _split.h)
    cdef double[:, ::1] beta_rows = _scratch("beta_rows", (n_frames if w <= 16 else 1, w))
    cdef double[:, ::1] work = np.empty((2, hmm_scaled_work_size(n)))
    cdef double[:, ::1] start_parts = np.zeros((2, n))
    cdef double[:, :, ::1] xi_parts = np.zeros((2, n, n))
    cdef int accumulate = xi_sums is not None
    cdef double loglik
    with nogil:
        loglik = _posteriors_split(src, n_frames, &log_startprob[0], &transmat_p[0, 0],
                                   &transmat_t[0, 0], &log_endprob[0], &post[0, 0],
                                   &start_parts[0, 0],
                                   &xi_parts[0, 0, 0] if accumulate else NULL,
                                   &v_rows[0, 0], &beta_rows[0, 0] if w <= 16 else NULL,
                                   &work[0, 0], &work[1, 0],
                                   min(max(n_threads, 1), 2),
                                   <hmm_dgemm_t> dgemm if gemm else NULL)
    if loglik == -np.inf:
        np.asarray(post)[...] = 0.0
        return loglik
    if accumulate:
        np.asarray(start_counts)[0] += np.asarray(start_parts)[0]
        np.asarray(xi_sums)[0] += np.asarray(xi_parts)[0] + np.asarray(xi_parts)[1]
        np.asarray(end_counts)[0] += np.asarray(post)[n_frames - 1]
    return loglik


def _lockstep_call(_Source src, groups, const double[::1] log_startprob,
                   const double[:, ::1] transmat, const double[::1] log_endprob,
                   double[::1] out_loglik, post, start_counts, xi_sums, end_counts,
                   int n_threads, bint gemm):
    """The lockstep path of loglik, posteriors (post given) and estep (the
    sums given too: group part p adds to row p of the caller's chunk sums)."""
    cdef Py_ssize_t n = src.n
    cdef double[:, ::1] transmat_t = np.ascontiguousarray(np.asarray(transmat).T)
    order, starts_a, lengths_a, bounds_a = groups
    cdef const int64_t[::1] starts = starts_a
    cdef const int64_t[::1] lengths = lengths_a
    cdef const int64_t[::1] bounds = bounds_a
    cdef Py_ssize_t n_groups = bounds.shape[0] - 1
    cdef Py_ssize_t group_max = int(np.diff(bounds_a).max())
    cdef double[:, ::1] work = np.empty((n_threads, hmm_lockstep_work_size(group_max, n)))
    cdef double[::1] loglik = np.empty(starts.shape[0])
    cdef double[:, ::1] post_v
    cdef double[:, ::1] start_v
    cdef double[:, ::1] end_v
    cdef double[:, :, ::1] xi_v
    cdef double* post_p = NULL
    cdef double* start_p = NULL
    cdef double* xi_p = NULL
    cdef double* end_p = NULL
    cdef hmm_frames base = src.at(0)
    cdef Py_ssize_t n_parts = n_groups
    cdef Py_ssize_t part, grp, lo, tid
    if post is not None:
        post_v = post
        post_p = &post_v[0, 0]
    if xi_sums is not None:
        start_v, xi_v, end_v = start_counts, xi_sums, end_counts
        start_p, xi_p, end_p = &start_v[0, 0], &xi_v[0, 0, 0], &end_v[0, 0]
        n_parts = min(xi_v.shape[0], n_groups)
    with nogil:
        for part in prange(n_parts, schedule="dynamic", num_threads=n_threads):
            tid = threadid()
            for grp in range(part * n_groups // n_parts, (part + 1) * n_groups // n_parts):
                lo = bounds[grp]
                hmm_lockstep_forward(&base, &starts[lo], &lengths[lo], bounds[grp + 1] - lo, n,
                                     &log_startprob[0], &transmat[0, 0], &log_endprob[0],
                                     &loglik[lo], post_p, &work[tid, 0], <hmm_dgemm_t> dgemm)
                if post_p != NULL:
                    hmm_lockstep_backward(
                        &base, &starts[lo], &lengths[lo], bounds[grp + 1] - lo, n,
                        &transmat[0, 0], &transmat_t[0, 0], &log_endprob[0], &loglik[lo],
                        post_p,
                        start_p + part * n if start_p != NULL else NULL,
                        xi_p + part * n * n if xi_p != NULL else NULL,
                        end_p + part * n if end_p != NULL else NULL,
                        &work[tid, 0], <hmm_dgemm_t> dgemm, gemm)
    np.asarray(out_loglik)[order] = loglik


def _check_path(path, offsets, groups):
    """The path the caller chose must fit the batch; lockstep groups must be
    what ``backend.lockstep_groups`` makes (the kernels index through them)."""
    if path not in _PATHS:
        raise ValueError(f"path must be one of {_PATHS}, got {path!r}")
    offsets = np.asarray(offsets)
    if path == "split" and offsets.shape[0] != 2:
        raise ValueError("the split path takes one sequence")
    if path != "lockstep":
        return
    if groups is None or len(groups) != 4:
        raise ValueError("the lockstep path needs groups (order, starts, lengths, bounds)")
    order, starts, lengths, bounds = (np.asarray(g) for g in groups)
    n_seq = offsets.shape[0] - 1
    lengths_all = np.diff(offsets)
    if (order.shape != (n_seq,) or not np.array_equal(np.sort(order), np.arange(n_seq))
            or not np.array_equal(starts, offsets[:-1][order])
            or not np.array_equal(lengths, lengths_all[order])
            or np.any(np.diff(lengths) > 0)):
        raise ValueError("groups must order the sequences by decreasing length")
    if (bounds.ndim != 1 or bounds.shape[0] < 2 or bounds[0] != 0 or bounds[-1] != n_seq
            or np.any(np.diff(bounds) <= 0)):
        raise ValueError("group bounds must increase strictly from 0 to the number of sequences")


def loglik(
    const double[:, ::1] log_frameprob,   # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N) every entry >= MIN_TRANSITION
    const double[::1] log_endprob,        # IN (N,) zeros when there is no end state
    double[::1] out,                      # OUT (n_seq,)
    int n_threads,
    const int64_t[::1] index=None,        # IN (T_total,) table rows, or None
    str path="sequences",                 # IN "sequences", "split" or "lockstep"
    groups=None,                          # IN lockstep groups (backend.lockstep_groups)
):
    """Per-sequence log-likelihoods; O(N) memory per sequence (per group of
    sequences on the lockstep path)."""
    cdef _Source src
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s
    cdef double[:, ::1] work, transmat_p, transmat_t
    n_threads = max(1, n_threads)
    src, transmat_p, transmat_t, work = _setup(log_frameprob, index, offsets, log_startprob,
                                               transmat, log_endprob, n_threads)
    check_length(out.shape[0], n_seq, "out")
    _check_path(path, offsets, groups)
    cdef double[:, ::1] vectors
    if path == "split":
        vectors = np.empty((2, hmm_stride(src.n)))
        if n_threads < 2:
            work = np.empty((2, work.shape[1]))
        with nogil:
            out[0] = _loglik_split(src, offsets[1], &log_startprob[0], &transmat_p[0, 0],
                                   &transmat_t[0, 0], &log_endprob[0], &vectors[0, 0],
                                   &vectors[1, 0], &work[0, 0], &work[1, 0],
                                   min(n_threads, 2))
        return
    if path == "lockstep":
        _lockstep_call(src, groups, log_startprob, transmat, log_endprob, out, None, None,
                       None, None, n_threads, False)
        return
    with nogil:
        for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
            out[s] = _forward_one(src, offsets[s], offsets[s + 1] - offsets[s],
                                  &log_startprob[0], &transmat_p[0, 0], &log_endprob[0],
                                  &work[threadid(), 0])


def posteriors(
    const double[:, ::1] log_frameprob,   # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N) every entry >= MIN_TRANSITION
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] out_posteriors,        # OUT (T_total, N)
    double[::1] out_loglik,               # OUT (n_seq,)
    int n_threads,
    const int64_t[::1] index=None,        # IN (T_total,) table rows, or None
    str path="sequences",                 # IN "sequences", "split" or "lockstep"
    groups=None,                          # IN lockstep groups (backend.lockstep_groups)
    bint gemm=False,                      # IN the split path recomputes beta with dgemm
):
    """State posteriors for every frame, and per-sequence log-likelihoods."""
    cdef _Source src
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s
    cdef double[:, ::1] work, transmat_p, transmat_t
    n_threads = max(1, n_threads)
    src, transmat_p, transmat_t, work = _setup(log_frameprob, index, offsets, log_startprob,
                                               transmat, log_endprob, n_threads)
    check_length(out_loglik.shape[0], n_seq, "out_loglik")
    if out_posteriors.shape[0] != src.n_frames or out_posteriors.shape[1] != src.n:
        raise ValueError(f"out_posteriors must have shape {(src.n_frames, src.n)}")
    _check_path(path, offsets, groups)
    if path == "split":
        out_loglik[0] = _split_call(src, offsets, log_startprob, transmat_p, transmat_t,
                                    log_endprob, out_posteriors, None, None, None, n_threads,
                                    gemm)
        return
    if path == "lockstep":
        _lockstep_call(src, groups, log_startprob, transmat, log_endprob, out_loglik,
                       out_posteriors, None, None, None, n_threads, gemm)
        return
    with nogil:
        for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
            out_loglik[s] = _posteriors_one(
                src, offsets[s], offsets[s + 1] - offsets[s],
                &log_startprob[0], &transmat_p[0, 0], &transmat_t[0, 0], &log_endprob[0],
                &out_posteriors[offsets[s], 0], NULL, NULL, NULL, &work[threadid(), 0], NULL)


def estep(
    const double[:, ::1] log_frameprob,   # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const int64_t[::1] chunks,            # IN (n_chunks + 1,) sequence index bounds
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N) every entry >= MIN_TRANSITION
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] out_posteriors,        # OUT (T_total, N)
    double[::1] out_loglik,               # OUT (n_seq,)
    double[:, ::1] start_counts,          # OUT (n_chunks, N)
    double[:, :, ::1] xi_sums,            # OUT (n_chunks, N, N) times transmat = counts
    double[:, ::1] end_counts,            # OUT (n_chunks, N)
    int n_threads,
    const int64_t[::1] index=None,        # IN (T_total,) table rows, or None
    str path="sequences",                 # IN "sequences", "split" or "lockstep"
    groups=None,                          # IN lockstep groups (backend.lockstep_groups)
    bint gemm=False,                      # IN sum xi (and recompute beta) with dgemm
):
    """Posteriors plus expected counts, one set of sums per chunk of sequences.

    The expected transition counts of a chunk are ``transmat * xi_sums[c]``.
    Chunks are fixed by the caller from the lengths alone, so the summed
    statistics do not depend on the thread count.
    """
    cdef _Source src
    cdef Py_ssize_t n, n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t n_chunks = chunks.shape[0] - 1
    cdef Py_ssize_t c, s, tid
    cdef double[:, ::1] work, transmat_p, transmat_t
    cdef hmm_dgemm_t xi_gemm = <hmm_dgemm_t> dgemm if gemm else NULL
    n_threads = max(1, n_threads)
    src, transmat_p, transmat_t, work = _setup(log_frameprob, index, offsets, log_startprob,
                                               transmat, log_endprob, n_threads)
    n = src.n
    check_length(out_loglik.shape[0], n_seq, "out_loglik")
    if out_posteriors.shape[0] != src.n_frames or out_posteriors.shape[1] != n:
        raise ValueError(f"out_posteriors must have shape {(src.n_frames, n)}")
    if n_chunks < 1 or chunks[0] != 0 or chunks[n_chunks] != n_seq:
        raise ValueError("chunks must run from 0 to the number of sequences")
    for c in range(n_chunks):
        if chunks[c + 1] <= chunks[c]:
            raise ValueError("chunks must be strictly increasing")
    if (start_counts.shape[0], start_counts.shape[1]) != (n_chunks, n):
        raise ValueError(f"start_counts must have shape {(n_chunks, n)}")
    if (end_counts.shape[0], end_counts.shape[1]) != (n_chunks, n):
        raise ValueError(f"end_counts must have shape {(n_chunks, n)}")
    if (xi_sums.shape[0], xi_sums.shape[1], xi_sums.shape[2]) != (n_chunks, n, n):
        raise ValueError(f"xi_sums must have shape {(n_chunks, n, n)}")
    _check_path(path, offsets, groups)
    start_counts[:, :] = 0.0
    xi_sums[:, :, :] = 0.0
    end_counts[:, :] = 0.0
    if path == "split":
        out_loglik[0] = _split_call(src, offsets, log_startprob, transmat_p, transmat_t,
                                    log_endprob, out_posteriors, start_counts, xi_sums,
                                    end_counts, n_threads, gemm)
        return
    if path == "lockstep":
        # sums per group part, not per chunk (same count or fewer; rows beyond stay zero)
        _lockstep_call(src, groups, log_startprob, transmat, log_endprob, out_loglik,
                       out_posteriors, start_counts, xi_sums, end_counts, n_threads, gemm)
        return
    with nogil:
        for c in prange(n_chunks, schedule="dynamic", num_threads=n_threads):
            tid = threadid()
            for s in range(chunks[c], chunks[c + 1]):
                out_loglik[s] = _posteriors_one(
                    src, offsets[s], offsets[s + 1] - offsets[s],
                    &log_startprob[0], &transmat_p[0, 0], &transmat_t[0, 0],
                    &log_endprob[0], &out_posteriors[offsets[s], 0],
                    &start_counts[c, 0], &xi_sums[c, 0, 0], &end_counts[c, 0],
                    &work[tid, 0], xi_gemm)


def group_sum(
    const double[:, ::1] posteriors,      # IN (T, N)
    const int64_t[::1] index,             # IN (T,) table row of each frame
    double[:, ::1] out,                   # OUT (K, N) accumulated: out[index[t]] += posteriors[t]
):
    """Sum posterior rows by table row (the emission counts of a FrameTable)."""
    cdef Py_ssize_t n_frames = index.shape[0], n = posteriors.shape[1]
    cdef Py_ssize_t n_rows = out.shape[0]
    cdef Py_ssize_t t, j, row
    if posteriors.shape[0] != n_frames:
        raise ValueError(f"posteriors must have {n_frames} rows, got {posteriors.shape[0]}")
    check_length(out.shape[1], n, "out columns")
    for t in range(n_frames):
        if index[t] < 0 or index[t] >= n_rows:
            raise ValueError(f"index must lie in [0, {n_rows}), got {index[t]} at {t}")
    with nogil:
        for t in range(n_frames):
            row = index[t]
            for j in range(n):
                out[row, j] += posteriors[t, j]
