# The log-space recursions of one sequence, shared by the kernels of _forward
# and _baumwelch: one time step of each, and the forward-backward pass.
#
# State vectors are kept in log space *relative to their maximum* (the largest
# entry is 0) and the shifts are returned to the caller, who sums them. Relative
# vectors keep full precision however long the sequence: an absolute log alpha
# near -1e6 carries only ~1e-10 absolute precision, which would show in the
# posteriors of a 10^6-step sequence.
#
# A step costs N^2 multiply-adds plus O(N) exp/log: the previous vector is
# exponentiated once, multiplied through the transition matrix, and logged once
# per state. A shifted sum below UNDERFLOW_GUARD may have lost terms to
# underflow, so that state is recomputed with the exact log-sum-exp; above the
# guard any lost term is smaller than 1e-28 of the sum, far below rounding.
#
# Matrices are row-major, N x N, passed as raw pointers so that the inner loops
# are contiguous and vectorise.

from libc.math cimport INFINITY, exp, log
from libc.string cimport memcpy, memset

cdef extern from "_simd.h" nogil:
    void hmm_vecmat(const double* x, const double* a, double* out, Py_ssize_t n)
    void hmm_outer_acc(const double* x, const double* a, const double* y, double scale,
                       double* acc, Py_ssize_t n)
    void hmm_exp_sub(const double* x, double shift, double* out, Py_ssize_t n)
    void hmm_log(const double* x, double* out, Py_ssize_t n)

cdef inline double UNDERFLOW_GUARD() noexcept nogil:
    return 1e-280


cdef inline bint zeros_are_exact(const double* transmat, Py_ssize_t size) noexcept nogil:
    """True when no allowed transition is below 1e-15.

    Then a product p * a of a non-flushed p (>= 3e-308) never underflows to 0,
    so a shifted sum of exactly 0 with no flushed p means an impossible state
    and needs no exact recomputation: the common case of unreachable states in
    left-to-right models costs nothing extra.
    """
    cdef Py_ssize_t k
    for k in range(size):
        if transmat[k] != 0.0 and transmat[k] < 1e-15:
            return False
    return True


cdef inline bint any_flushed(const double* x, double shift, Py_ssize_t n) noexcept nogil:
    """Whether exp(x - shift) flushed a finite entry to 0 (below e^-708)."""
    cdef Py_ssize_t i
    cdef bint flushed = False
    for i in range(n):
        flushed |= (x[i] - shift < -708.0) & (x[i] != -INFINITY)
    return flushed


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


cdef inline double shift_to_max(double* x, Py_ssize_t n) noexcept nogil:
    """Subtract max(x) from x (unless every entry is -inf); return the max."""
    cdef double m = max_of(x, n)
    cdef Py_ssize_t i
    if m == -INFINITY:
        return m
    for i in range(n):
        x[i] -= m
    return m


cdef inline double forward_init(
    const double* log_startprob,    # IN (N,)
    const double* log_frameprob,    # IN (N,)
    double* rel_alpha,              # OUT (N,) log alpha_0 minus its max
    Py_ssize_t n,
) noexcept nogil:
    """First frame; returns the shift (log alpha_0 = rel_alpha + shift)."""
    cdef Py_ssize_t j
    for j in range(n):
        if log_frameprob[j] == -INFINITY:
            rel_alpha[j] = -INFINITY
        else:
            rel_alpha[j] = log_startprob[j] + log_frameprob[j]
    return shift_to_max(rel_alpha, n)


cdef inline double forward_step(
    const double* rel_alpha_prev,   # IN (N,) relative log alpha at t - 1 (max 0)
    const double* transmat,         # IN (N, N)
    const double* log_transmat,     # IN (N, N)
    const double* log_frameprob,    # IN (N,) emission log-likelihoods at t
    double* rel_alpha,              # OUT (N,) relative log alpha at t
    double* scratch,                # (2 N,) scratch
    bint zeros_exact,               # IN zeros_are_exact(transmat)
    Py_ssize_t n,
) noexcept nogil:
    """One forward step; returns the shift added to the running log scale."""
    cdef Py_ssize_t i, j
    cdef double* sums = scratch
    cdef double* p = scratch + n
    cdef bint zero_is_impossible
    hmm_exp_sub(rel_alpha_prev, 0.0, p, n)
    hmm_vecmat(p, transmat, sums, n)
    hmm_log(sums, rel_alpha, n)
    zero_is_impossible = zeros_exact and not any_flushed(rel_alpha_prev, 0.0, n)
    for j in range(n):
        if log_frameprob[j] == -INFINITY or (sums[j] == 0.0 and zero_is_impossible):
            rel_alpha[j] = -INFINITY
        elif sums[j] >= UNDERFLOW_GUARD():
            rel_alpha[j] += log_frameprob[j]
        else:
            rel_alpha[j] = log_frameprob[j] + logsumexp_strided(
                rel_alpha_prev, log_transmat + j, n, n)
    return shift_to_max(rel_alpha, n)


cdef inline double backward_step(
    const double* rel_beta_next,        # IN (N,) relative log beta at t + 1
    const double* log_frameprob_next,   # IN (N,) emission log-likelihoods at t + 1
    const double* transmat_t,           # IN (N, N) transposed transition matrix
    const double* log_transmat,         # IN (N, N)
    double* rel_beta,                   # OUT (N,) relative log beta at t
    double* v,                          # OUT (N,) log_frameprob_next + rel_beta_next
    double* q,                          # OUT (N,) exp(v - max v)
    double* sums,                       # OUT (N,) transmat @ q
    bint zeros_exact,                   # IN zeros_are_exact(transmat)
    Py_ssize_t n,
) noexcept nogil:
    """One backward step; returns the shift added to the running log scale.

    ``v``, ``q`` and ``sums`` are left for the caller's expected-count step.
    """
    cdef Py_ssize_t i, j
    cdef double m
    cdef bint zero_is_impossible
    for j in range(n):
        v[j] = log_frameprob_next[j] + rel_beta_next[j]
    m = max_of(v, n)
    if m == -INFINITY:
        for i in range(n):
            rel_beta[i] = -INFINITY
            q[i] = 0.0
            sums[i] = 0.0
        return m
    hmm_exp_sub(v, m, q, n)
    hmm_vecmat(q, transmat_t, sums, n)
    hmm_log(sums, rel_beta, n)
    zero_is_impossible = zeros_exact and not any_flushed(v, m, n)
    for i in range(n):
        if sums[i] == 0.0 and zero_is_impossible:
            rel_beta[i] = -INFINITY
        elif sums[i] < UNDERFLOW_GUARD():
            rel_beta[i] = logsumexp_strided(v, log_transmat + i * n, n, 1) - m
    return m + shift_to_max(rel_beta, n)


cdef inline void normalize_exp(const double* a, const double* b, double* out,
                               Py_ssize_t n) noexcept nogil:
    """out = exp(a + b) / sum(exp(a + b)), computed without overflow or underflow."""
    cdef Py_ssize_t i
    cdef double m = -INFINITY, total = 0.0
    for i in range(n):
        out[i] = a[i] + b[i]
        if out[i] > m:
            m = out[i]
    hmm_exp_sub(out, m, out, n)
    for i in range(n):
        total += out[i]
    total = 1.0 / total
    for i in range(n):
        out[i] *= total


cdef inline double forward_sequence(
    const double* log_frameprob,    # IN (T, N)
    Py_ssize_t n_frames,
    const double* log_startprob,    # IN (N,)
    const double* transmat,         # IN (N, N)
    const double* log_transmat,     # IN (N, N)
    const double* log_endprob,      # IN (N,)
    double* rel_alpha,              # OUT (T, N) log alpha_t minus its max over states
    double* scratch,                # (2 N,) scratch
    bint zeros_exact,               # IN zeros_are_exact(transmat)
    Py_ssize_t n,
) noexcept nogil:
    """Relative forward lattice of one sequence; returns its log-likelihood."""
    cdef Py_ssize_t t
    cdef double scale = forward_init(log_startprob, log_frameprob, rel_alpha, n)
    if scale == -INFINITY:
        return -INFINITY
    for t in range(1, n_frames):
        scale += forward_step(rel_alpha + (t - 1) * n, transmat, log_transmat,
                              log_frameprob + t * n, rel_alpha + t * n, scratch,
                              zeros_exact, n)
        if scale == -INFINITY:
            return -INFINITY
    return scale + logsumexp_strided(rel_alpha + (n_frames - 1) * n, log_endprob, n, 1)


# A step whose expected transitions sum, in the shifted domain, to less than
# this may have lost terms to underflow: it is summed exactly instead.
cdef inline double MIN_XI_TOTAL() noexcept nogil:
    return 1e-250


cdef inline double forward_backward_one(
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
            if total >= MIN_XI_TOTAL():
                hmm_outer_acc(p, transmat, q, 1.0 / total, trans_counts, n)
            else:
                exact_xi_step(rel_alpha, log_transmat, v, trans_counts, n)
        row = posteriors + t * n
        normalize_exp(row, rel_beta_prev, row, n)
        tmp = rel_beta
        rel_beta = rel_beta_prev
        rel_beta_prev = tmp

    if accumulate:
        for i in range(n):
            start_counts[i] += posteriors[i]
    return loglik


cdef inline void exact_xi_step(
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
