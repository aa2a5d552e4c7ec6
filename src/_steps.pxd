# One time step of each recursion, shared by the kernels.
#
# State vectors are kept in log space. A step costs N^2 multiply-adds plus O(N)
# exp/log: the previous vector is shifted by its maximum and exponentiated once,
# multiplied through the transition matrix, and logged once per state. A shifted
# sum below UNDERFLOW_GUARD may have lost terms to underflow, so that state is
# recomputed with the exact log-sum-exp; above the guard any lost term is
# smaller than 1e-28 of the sum, far below double rounding.
#
# Matrices are row-major, N x N, passed as raw pointers so that the inner loops
# are contiguous and vectorise.

from libc.math cimport exp, log, INFINITY

cdef inline double UNDERFLOW_GUARD() noexcept nogil:
    return 1e-280


cdef inline double max_of(const double* x, Py_ssize_t n) noexcept nogil:
    cdef double m = -INFINITY
    cdef Py_ssize_t i
    for i in range(n):
        if x[i] > m:
            m = x[i]
    return m


cdef inline double logsumexp_strided(const double* a, const double* b,
                                     Py_ssize_t n, Py_ssize_t b_stride) noexcept nogil:
    """Exact log(sum_i exp(a[i] + b[i * b_stride]))."""
    cdef double m = -INFINITY, s = 0.0, v
    cdef Py_ssize_t i
    for i in range(n):
        v = a[i] + b[i * b_stride]
        if v > m:
            m = v
    if m == -INFINITY:
        return -INFINITY
    for i in range(n):
        s += exp(a[i] + b[i * b_stride] - m)
    return m + log(s)


cdef inline void forward_step(
    const double* log_alpha_prev,   # IN (N,)
    const double* transmat,         # IN (N, N)
    const double* log_transmat,     # IN (N, N)
    const double* log_frameprob,    # IN (N,) emission log-likelihoods of this frame
    double* log_alpha,              # OUT (N,)
    double* scratch,                # (N,) work space
    Py_ssize_t n,
) noexcept nogil:
    """log_alpha[j] = log_frameprob[j] + log sum_i exp(log_alpha_prev[i]) transmat[i, j]."""
    cdef Py_ssize_t i, j
    cdef double m = max_of(log_alpha_prev, n)
    cdef double p
    cdef const double* row
    if m == -INFINITY:
        for j in range(n):
            log_alpha[j] = -INFINITY
        return
    for j in range(n):
        scratch[j] = 0.0
    for i in range(n):
        p = exp(log_alpha_prev[i] - m)
        if p == 0.0:
            continue
        row = transmat + i * n
        for j in range(n):
            scratch[j] += p * row[j]
    for j in range(n):
        if log_frameprob[j] == -INFINITY:
            log_alpha[j] = -INFINITY
        elif scratch[j] >= UNDERFLOW_GUARD():
            log_alpha[j] = log_frameprob[j] + m + log(scratch[j])
        else:
            log_alpha[j] = log_frameprob[j] + logsumexp_strided(
                log_alpha_prev, log_transmat + j, n, n)


cdef inline double backward_step(
    const double* log_beta_next,        # IN (N,) log beta at t + 1
    const double* log_frameprob_next,   # IN (N,) emission log-likelihoods at t + 1
    const double* transmat_t,           # IN (N, N) transposed transition matrix
    const double* log_transmat,         # IN (N, N)
    double* log_beta,                   # OUT (N,) log beta at t
    double* v,                          # OUT (N,) log_frameprob_next + log_beta_next
    double* q,                          # OUT (N,) exp(v - max v)
    Py_ssize_t n,
) noexcept nogil:
    """log_beta[i] = log sum_j transmat[i, j] exp(v[j]); q = exp(v - m); returns m = max v."""
    cdef Py_ssize_t i, j
    cdef double m, qj
    cdef const double* col
    for j in range(n):
        v[j] = log_frameprob_next[j] + log_beta_next[j]
    m = max_of(v, n)
    if m == -INFINITY:
        for i in range(n):
            log_beta[i] = -INFINITY
            q[i] = 0.0
        return m
    for i in range(n):
        log_beta[i] = 0.0
    # log_beta is the accumulator of the shifted sums until the last loop.
    for j in range(n):
        qj = exp(v[j] - m)
        q[j] = qj
        if qj == 0.0:
            continue
        col = transmat_t + j * n
        for i in range(n):
            log_beta[i] += qj * col[i]
    for i in range(n):
        if log_beta[i] >= UNDERFLOW_GUARD():
            log_beta[i] = m + log(log_beta[i])
        else:
            log_beta[i] = logsumexp_strided(v, log_transmat + i * n, n, 1)
    return m


cdef inline void init_alpha(const double* log_startprob, const double* log_frameprob,
                             double* log_alpha, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        if log_frameprob[j] == -INFINITY:
            log_alpha[j] = -INFINITY
        else:
            log_alpha[j] = log_startprob[j] + log_frameprob[j]


cdef inline double forward_sequence(
    const double* log_frameprob,    # IN (T, N)
    Py_ssize_t n_frames,
    const double* log_startprob,    # IN (N,)
    const double* transmat,         # IN (N, N)
    const double* log_transmat,     # IN (N, N)
    const double* log_endprob,      # IN (N,)
    double* log_alpha,              # OUT (T, N)
    double* scratch,                # (N,) scratch
    Py_ssize_t n,
) noexcept nogil:
    """Fill the forward lattice of one sequence; return its log-likelihood."""
    cdef Py_ssize_t t
    init_alpha(log_startprob, log_frameprob, log_alpha, n)
    for t in range(1, n_frames):
        forward_step(log_alpha + (t - 1) * n, transmat, log_transmat,
                     log_frameprob + t * n, log_alpha + t * n, scratch, n)
    return logsumexp_strided(log_alpha + (n_frames - 1) * n, log_endprob, n, 1)
