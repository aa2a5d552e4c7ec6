"""Recursions that visit only the allowed transitions (sparse transition matrix).

Left-to-right models with hundreds of states allow a handful of transitions per
state: a step then costs O(nnz) instead of O(N^2). The matrix comes in two
compressed layouts: by columns (CSC: the forward and Viterbi steps gather the
predecessors of each state) and by rows (CSR: the backward step and the
expected transition counts gather the successors). Results equal the dense
kernels' up to rounding; the same underflow guard and exact fallback apply.
"""

import numpy as np

from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, exp, log
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t
from libc.string cimport memcpy, memset

from _checks cimport check_length, check_offsets
from _steps cimport (
    UNDERFLOW_GUARD,
    hmm_exp_sub,
    hmm_log,
    max_of,
    normalize_exp,
    shift_to_max,
)

cdef double _MIN_XI_TOTAL = 1e-250

ctypedef fused backpointer_t:
    uint8_t
    uint16_t
    int32_t


cdef struct Sparse:
    Py_ssize_t n
    const int64_t* col_ptr      # CSC: predecessors of state j are rows[col_ptr[j]:col_ptr[j+1]]
    const int64_t* col_rows
    const double* col_prob
    const double* col_logprob
    const int64_t* row_ptr      # CSR: successors of state i are cols[row_ptr[i]:row_ptr[i+1]]
    const int64_t* row_cols
    const double* row_prob
    const double* row_logprob


cdef inline double _lse_gather(const double* x, const int64_t* idx, const double* w,
                               Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """Exact log(sum_k exp(x[idx[k]] + w[k])) over k in [lo, hi)."""
    cdef double m = -INFINITY, s = 0.0, v
    cdef Py_ssize_t k
    for k in range(lo, hi):
        v = x[idx[k]] + w[k]
        if v > m:
            m = v
    if m == -INFINITY:
        return m
    for k in range(lo, hi):
        s += exp(x[idx[k]] + w[k] - m)
    return m + log(s)


cdef inline double _init(const double* log_startprob, const double* log_frameprob,
                         double* rel, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        rel[j] = -INFINITY if log_frameprob[j] == -INFINITY else log_startprob[j] + log_frameprob[j]
    return shift_to_max(rel, n)


cdef inline double _forward_step(const Sparse* a, const double* rel_prev,
                                 const double* log_frameprob, double* rel,
                                 double* scratch) noexcept nogil:
    cdef Py_ssize_t n = a.n, j, k
    cdef double* sums = scratch
    cdef double* p = scratch + n
    cdef double s
    hmm_exp_sub(rel_prev, 0.0, p, n)
    for j in range(n):
        s = 0.0
        for k in range(a.col_ptr[j], a.col_ptr[j + 1]):
            s += p[a.col_rows[k]] * a.col_prob[k]
        sums[j] = s
    hmm_log(sums, rel, n)
    for j in range(n):
        if log_frameprob[j] == -INFINITY:
            rel[j] = -INFINITY
        elif sums[j] >= UNDERFLOW_GUARD():
            rel[j] += log_frameprob[j]
        else:
            rel[j] = log_frameprob[j] + _lse_gather(rel_prev, a.col_rows, a.col_logprob,
                                                    a.col_ptr[j], a.col_ptr[j + 1])
    return shift_to_max(rel, n)


cdef inline double _backward_step(const Sparse* a, const double* rel_next,
                                  const double* log_frameprob_next, double* rel,
                                  double* v, double* q, double* sums) noexcept nogil:
    cdef Py_ssize_t n = a.n, i, k
    cdef double m, s
    for i in range(n):
        v[i] = log_frameprob_next[i] + rel_next[i]
    m = max_of(v, n)
    if m == -INFINITY:
        for i in range(n):
            rel[i] = -INFINITY
            q[i] = 0.0
            sums[i] = 0.0
        return m
    hmm_exp_sub(v, m, q, n)
    for i in range(n):
        s = 0.0
        for k in range(a.row_ptr[i], a.row_ptr[i + 1]):
            s += a.row_prob[k] * q[a.row_cols[k]]
        sums[i] = s
    hmm_log(sums, rel, n)
    for i in range(n):
        if sums[i] < UNDERFLOW_GUARD():
            rel[i] = _lse_gather(v, a.row_cols, a.row_logprob, a.row_ptr[i],
                                 a.row_ptr[i + 1]) - m
    return m + shift_to_max(rel, n)


cdef double _score_one(const Sparse* a, const double* log_frameprob, Py_ssize_t n_frames,
                       const double* log_startprob, const double* log_endprob,
                       double* work) noexcept nogil:
    cdef Py_ssize_t n = a.n, t
    cdef double* cur = work
    cdef double* nxt = work + n
    cdef double* tmp
    cdef double scale = _init(log_startprob, log_frameprob, cur, n)
    for t in range(1, n_frames):
        if scale == -INFINITY:
            return scale
        scale += _forward_step(a, cur, log_frameprob + t * n, nxt, work + 2 * n)
        tmp = cur
        cur = nxt
        nxt = tmp
    if scale == -INFINITY:
        return scale
    return scale + _lse_dense(cur, log_endprob, n)


cdef inline double _lse_dense(const double* x, const double* y, Py_ssize_t n) noexcept nogil:
    cdef double m = -INFINITY, s = 0.0
    cdef Py_ssize_t i
    for i in range(n):
        if x[i] + y[i] > m:
            m = x[i] + y[i]
    if m == -INFINITY:
        return m
    for i in range(n):
        s += exp(x[i] + y[i] - m)
    return m + log(s)


cdef double _forward_backward_one(
    const Sparse* a, const double* log_frameprob, Py_ssize_t n_frames,
    const double* log_startprob, const double* log_endprob,
    double* posteriors,             # OUT (T, N); relative log alpha during the pass
    double* work,                   # (6 N,) scratch
    double* start_counts,           # OUT (N,) or NULL
    double* trans_counts,           # OUT (nnz,) in CSR order, or NULL
    double* end_counts,             # OUT (N,) or NULL
) noexcept nogil:
    cdef Py_ssize_t n = a.n, t, i, k
    cdef double* rel_beta = work
    cdef double* rel_beta_prev = work + n
    cdef double* v = work + 2 * n
    cdef double* q = work + 3 * n
    cdef double* sums = work + 4 * n
    cdef double* p = work + 5 * n
    cdef double* tmp
    cdef double* row
    cdef double* rel_alpha
    cdef double scale, loglik, total, coef
    cdef bint accumulate = trans_counts != NULL

    scale = _init(log_startprob, log_frameprob, posteriors, n)
    for t in range(1, n_frames):
        if scale == -INFINITY:
            break
        scale += _forward_step(a, posteriors + (t - 1) * n, log_frameprob + t * n,
                               posteriors + t * n, sums)
    if scale != -INFINITY:
        loglik = scale + _lse_dense(posteriors + (n_frames - 1) * n, log_endprob, n)
    if scale == -INFINITY or loglik == -INFINITY:
        # Impossible under the model: no posterior mass, nothing to count.
        memset(posteriors, 0, n_frames * n * sizeof(double))
        return -INFINITY

    memcpy(rel_beta, log_endprob, n * sizeof(double))
    shift_to_max(rel_beta, n)
    row = posteriors + (n_frames - 1) * n
    normalize_exp(row, rel_beta, row, n)
    if accumulate:
        for i in range(n):
            end_counts[i] += row[i]
    for t in range(n_frames - 2, -1, -1):
        _backward_step(a, rel_beta, log_frameprob + (t + 1) * n, rel_beta_prev, v, q, sums)
        rel_alpha = posteriors + t * n
        if accumulate:
            hmm_exp_sub(rel_alpha, 0.0, p, n)
            total = 0.0
            for i in range(n):
                total += p[i] * sums[i]
            if total >= _MIN_XI_TOTAL:
                for i in range(n):
                    coef = p[i] / total
                    if coef == 0.0:
                        continue
                    for k in range(a.row_ptr[i], a.row_ptr[i + 1]):
                        trans_counts[k] += coef * a.row_prob[k] * q[a.row_cols[k]]
            else:
                _exact_xi(a, rel_alpha, v, trans_counts)
        normalize_exp(rel_alpha, rel_beta_prev, rel_alpha, n)
        tmp = rel_beta
        rel_beta = rel_beta_prev
        rel_beta_prev = tmp
    if accumulate:
        for i in range(n):
            start_counts[i] += posteriors[i]
    return loglik


cdef void _exact_xi(const Sparse* a, const double* rel_alpha, const double* v,
                    double* trans_counts) noexcept nogil:
    cdef Py_ssize_t i, k
    cdef double top = -INFINITY, total = 0.0, x
    for i in range(a.n):
        for k in range(a.row_ptr[i], a.row_ptr[i + 1]):
            x = rel_alpha[i] + a.row_logprob[k] + v[a.row_cols[k]]
            if x > top:
                top = x
    if top == -INFINITY:
        return
    for i in range(a.n):
        for k in range(a.row_ptr[i], a.row_ptr[i + 1]):
            total += exp(rel_alpha[i] + a.row_logprob[k] + v[a.row_cols[k]] - top)
    for i in range(a.n):
        for k in range(a.row_ptr[i], a.row_ptr[i + 1]):
            trans_counts[k] += exp(rel_alpha[i] + a.row_logprob[k] + v[a.row_cols[k]]
                                   - top) / total


cdef double _viterbi_one(const Sparse* a, const double* log_frameprob, Py_ssize_t n_frames,
                         const double* log_startprob, const double* log_endprob,
                         backpointer_t* backpointers, double* work,
                         int64_t* path) noexcept nogil:
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


cdef class SparseTransitions:
    """A transition matrix in CSC and CSR layouts, for the sparse kernels.

    Parameters
    ----------
    transmat : ndarray of shape (N, N)
        Validated, row-stochastic (or with end probabilities) matrix.
    """

    cdef Sparse s
    cdef readonly object arrays
    cdef readonly Py_ssize_t nnz

    def __init__(self, transmat):
        transmat = np.ascontiguousarray(transmat, dtype=np.float64)
        n = transmat.shape[0]
        rows, cols = np.nonzero(transmat)           # row-major order: CSR
        order = np.lexsort((rows, cols))            # by column, then row: CSC
        prob = transmat[rows, cols]
        with np.errstate(divide="ignore"):
            logprob = np.log(prob)
        row_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=row_ptr[1:])
        col_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=n), out=col_ptr[1:])
        self.arrays = {
            "row_ptr": row_ptr, "row_cols": np.ascontiguousarray(cols, dtype=np.int64),
            "row_prob": np.ascontiguousarray(prob), "row_logprob": np.ascontiguousarray(logprob),
            "col_ptr": col_ptr, "col_rows": np.ascontiguousarray(rows[order], dtype=np.int64),
            "col_prob": np.ascontiguousarray(prob[order]),
            "col_logprob": np.ascontiguousarray(logprob[order]),
        }
        self.nnz = prob.shape[0]
        self.s.n = n
        self._bind()

    cdef void _bind(self):
        cdef const int64_t[::1] ip
        cdef const double[::1] dp
        ip = self.arrays["row_ptr"]
        self.s.row_ptr = &ip[0]
        ip = self.arrays["col_ptr"]
        self.s.col_ptr = &ip[0]
        if self.nnz == 0:
            raise ValueError("transmat has no allowed transition")
        ip = self.arrays["row_cols"]
        self.s.row_cols = &ip[0]
        ip = self.arrays["col_rows"]
        self.s.col_rows = &ip[0]
        dp = self.arrays["row_prob"]
        self.s.row_prob = &dp[0]
        dp = self.arrays["row_logprob"]
        self.s.row_logprob = &dp[0]
        dp = self.arrays["col_prob"]
        self.s.col_prob = &dp[0]
        dp = self.arrays["col_logprob"]
        self.s.col_logprob = &dp[0]

    @property
    def n_components(self):
        """Number of states."""
        return self.s.n

    def to_dense(self, const double[::1] values):
        """Scatter per-transition values (CSR order) into an (N, N) array."""
        dense = np.zeros((self.s.n, self.s.n))
        rows = np.repeat(np.arange(self.s.n), np.diff(self.arrays["row_ptr"]))
        dense[rows, self.arrays["row_cols"]] = np.asarray(values)
        return dense

    def _check(self, log_frameprob, offsets, log_startprob, log_endprob):
        n = self.s.n
        if log_frameprob.shape[1] != n:
            raise ValueError(f"log_frameprob must have {n} columns")
        check_offsets(offsets, log_frameprob.shape[0])
        check_length(log_startprob.shape[0], n, "log_startprob")
        check_length(log_endprob.shape[0], n, "log_endprob")

    def loglik(self, const double[:, ::1] log_frameprob, const int64_t[::1] offsets,
               const double[::1] log_startprob, const double[::1] log_endprob,
               double[::1] out, int n_threads):
        """Per-sequence log-likelihoods (O(N) memory per sequence)."""
        cdef Py_ssize_t s, n = self.s.n, n_seq = offsets.shape[0] - 1
        cdef double[:, ::1] work
        self._check(log_frameprob, offsets, log_startprob, log_endprob)
        check_length(out.shape[0], n_seq, "out")
        n_threads = max(1, n_threads)
        work = np.empty((n_threads, 4 * n))
        with nogil:
            for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
                out[s] = _score_one(&self.s, &log_frameprob[offsets[s], 0],
                                    offsets[s + 1] - offsets[s], &log_startprob[0],
                                    &log_endprob[0], &work[threadid(), 0])

    def viterbi(self, const double[:, ::1] log_frameprob, const int64_t[::1] offsets,
                const double[::1] log_startprob, const double[::1] log_endprob,
                double[::1] logprob, int64_t[::1] path, int n_threads):
        """Best path per sequence and its joint log-probability."""
        n, n_seq = self.s.n, offsets.shape[0] - 1
        self._check(log_frameprob, offsets, log_startprob, log_endprob)
        check_length(logprob.shape[0], n_seq, "logprob")
        check_length(path.shape[0], log_frameprob.shape[0], "path")
        n_threads = max(1, n_threads)
        longest = int(np.max(np.diff(np.asarray(offsets))))
        dtype = np.uint8 if n <= 256 else (np.uint16 if n <= 65536 else np.int32)
        _viterbi_batch(self, log_frameprob, offsets, log_startprob, log_endprob,
                       np.empty((n_threads, longest * n), dtype=dtype), logprob, path,
                       n_threads)

    def posteriors(self, const double[:, ::1] log_frameprob, const int64_t[::1] offsets,
                   const double[::1] log_startprob, const double[::1] log_endprob,
                   double[:, ::1] out_posteriors, double[::1] loglik, int n_threads):
        """State posteriors and per-sequence log-likelihoods."""
        cdef Py_ssize_t s, n = self.s.n, n_seq = offsets.shape[0] - 1
        cdef double[:, ::1] work
        self._check(log_frameprob, offsets, log_startprob, log_endprob)
        check_length(loglik.shape[0], n_seq, "loglik")
        if out_posteriors.shape[0] != log_frameprob.shape[0] or out_posteriors.shape[1] != n:
            raise ValueError("out_posteriors must have the shape of log_frameprob")
        n_threads = max(1, n_threads)
        work = np.empty((n_threads, 6 * n))
        with nogil:
            for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
                loglik[s] = _forward_backward_one(
                    &self.s, &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                    &log_startprob[0], &log_endprob[0], &out_posteriors[offsets[s], 0],
                    &work[threadid(), 0], NULL, NULL, NULL)

    def estep(self, const double[:, ::1] log_frameprob, const int64_t[::1] offsets,
              const int64_t[::1] chunks, const double[::1] log_startprob,
              const double[::1] log_endprob, double[:, ::1] out_posteriors,
              double[::1] loglik, double[:, ::1] start_counts, double[:, ::1] trans_counts,
              double[:, ::1] end_counts, int n_threads):
        """Posteriors and expected counts per chunk (transitions in CSR order)."""
        cdef Py_ssize_t c, s, n = self.s.n, n_seq = offsets.shape[0] - 1
        cdef Py_ssize_t n_chunks = chunks.shape[0] - 1
        cdef double[:, ::1] work
        self._check(log_frameprob, offsets, log_startprob, log_endprob)
        check_length(loglik.shape[0], n_seq, "loglik")
        if out_posteriors.shape[0] != log_frameprob.shape[0] or out_posteriors.shape[1] != n:
            raise ValueError("out_posteriors must have the shape of log_frameprob")
        if n_chunks < 1 or chunks[0] != 0 or chunks[n_chunks] != n_seq or np.any(
                np.diff(np.asarray(chunks)) <= 0):
            raise ValueError("chunks must increase strictly from 0 to the number of sequences")
        if (start_counts.shape[0] != n_chunks or start_counts.shape[1] != n
                or end_counts.shape[0] != n_chunks or end_counts.shape[1] != n
                or trans_counts.shape[0] != n_chunks or trans_counts.shape[1] != self.nnz):
            raise ValueError("count buffers must be (n_chunks, N) and (n_chunks, nnz)")
        n_threads = max(1, n_threads)
        work = np.empty((n_threads, 6 * n))
        start_counts[:, :] = 0.0
        trans_counts[:, :] = 0.0
        end_counts[:, :] = 0.0
        with nogil:
            for c in prange(n_chunks, schedule="dynamic", num_threads=n_threads):
                for s in range(chunks[c], chunks[c + 1]):
                    loglik[s] = _forward_backward_one(
                        &self.s, &log_frameprob[offsets[s], 0], offsets[s + 1] - offsets[s],
                        &log_startprob[0], &log_endprob[0], &out_posteriors[offsets[s], 0],
                        &work[threadid(), 0], &start_counts[c, 0], &trans_counts[c, 0],
                        &end_counts[c, 0])


def _viterbi_batch(SparseTransitions a, const double[:, ::1] log_frameprob,
                   const int64_t[::1] offsets, const double[::1] log_startprob,
                   const double[::1] log_endprob, backpointer_t[:, ::1] backpointers,
                   double[::1] logprob, int64_t[::1] path, int n_threads):
    cdef Py_ssize_t s, n = a.s.n, n_seq = offsets.shape[0] - 1
    cdef double[:, ::1] work = np.empty((n_threads, 2 * n))
    with nogil:
        for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
            logprob[s] = _viterbi_one(&a.s, &log_frameprob[offsets[s], 0],
                                      offsets[s + 1] - offsets[s], &log_startprob[0],
                                      &log_endprob[0], &backpointers[threadid(), 0],
                                      &work[threadid(), 0], &path[offsets[s]])
