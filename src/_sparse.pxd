# Recursions that visit only the allowed transitions (sparse transition matrix),
# shared by _forward, _viterbi and _baumwelch.
#
# Left-to-right models with hundreds of states allow a handful of transitions per
# state: a step then costs O(nnz) instead of O(N^2). The matrix comes in two
# compressed layouts (hmm_core.kernels.sparse.SparseTransitions): by columns
# (CSC: the forward and Viterbi steps gather the predecessors of each state) and
# by rows (CSR: the backward step and the expected transition counts gather the
# successors). Results equal the dense kernels' up to rounding; the same
# underflow guard and exact fallback apply.

from libc.math cimport INFINITY, exp, log
from libc.stdint cimport int64_t
from libc.string cimport memcpy, memset

from _logspace cimport (
    MIN_XI_TOTAL,
    UNDERFLOW_GUARD,
    hmm_exp_sub,
    hmm_log,
    max_of,
    normalize_exp,
    shift_to_max,
)


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


cdef inline double score_one(const Sparse* a, const double* log_frameprob,
                             Py_ssize_t n_frames, const double* log_startprob,
                             const double* log_endprob, double* work) noexcept nogil:
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


cdef inline double forward_backward_one(
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
            if total >= MIN_XI_TOTAL():
                for i in range(n):
                    coef = p[i] / total
                    if coef == 0.0:
                        continue
                    for k in range(a.row_ptr[i], a.row_ptr[i + 1]):
                        trans_counts[k] += coef * a.row_prob[k] * q[a.row_cols[k]]
            else:
                exact_xi(a, rel_alpha, v, trans_counts)
        normalize_exp(rel_alpha, rel_beta_prev, rel_alpha, n)
        tmp = rel_beta
        rel_beta = rel_beta_prev
        rel_beta_prev = tmp
    if accumulate:
        for i in range(n):
            start_counts[i] += posteriors[i]
    return loglik


cdef inline void exact_xi(const Sparse* a, const double* rel_alpha, const double* v,
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


cdef inline tuple bind_sparse(Sparse* s, transitions):
    """Point ``s`` at the arrays of ``transitions`` (a SparseTransitions),
    after checking that every index stays in bounds; returns the arrays (keep
    them alive while ``s`` is used)."""
    import numpy as np
    cdef Py_ssize_t n = transitions.n_components, nnz = transitions.nnz
    cdef const int64_t[::1] row_ptr = transitions.row_ptr
    cdef const int64_t[::1] col_ptr = transitions.col_ptr
    cdef const int64_t[::1] row_cols = transitions.row_cols
    cdef const int64_t[::1] col_rows = transitions.col_rows
    cdef const double[::1] row_prob = transitions.row_prob
    cdef const double[::1] row_logprob = transitions.row_logprob
    cdef const double[::1] col_prob = transitions.col_prob
    cdef const double[::1] col_logprob = transitions.col_logprob
    if nnz < 1 or row_ptr.shape[0] != n + 1 or col_ptr.shape[0] != n + 1:
        raise ValueError("transitions must have n_components + 1 row and column pointers")
    for ptr in (transitions.row_ptr, transitions.col_ptr):
        if ptr[0] != 0 or ptr[n] != nnz or np.any(np.diff(ptr) < 0):
            raise ValueError("transition pointers must run from 0 to nnz")
    for idx in (transitions.row_cols, transitions.col_rows):
        if idx.shape[0] != nnz or np.any(idx < 0) or np.any(idx >= n):
            raise ValueError("transition indices must lie in [0, n_components)")
    for values in (transitions.row_prob, transitions.row_logprob, transitions.col_prob,
                   transitions.col_logprob):
        if values.shape[0] != nnz:
            raise ValueError("transitions must have nnz values in each layout")
    s.n = n
    s.row_ptr, s.col_ptr = &row_ptr[0], &col_ptr[0]
    s.row_cols, s.col_rows = &row_cols[0], &col_rows[0]
    s.row_prob, s.row_logprob = &row_prob[0], &row_logprob[0]
    s.col_prob, s.col_logprob = &col_prob[0], &col_logprob[0]
    return (<object> row_ptr, <object> col_ptr, <object> row_cols, <object> col_rows,
            <object> row_prob, <object> row_logprob, <object> col_prob, <object> col_logprob)
