"""Explicit-duration hidden semi-Markov recursions over a batch of sequences.

A sequence is cut into segments; a segment of state j lasts d frames (1 <= d
<= D) with probability ``duration[j, d - 1]``, and the next segment's state
follows ``transmat`` (zero diagonal). The last segment of a sequence scores
``last[j, d - 1]`` instead: the duration table itself, or the survival
P(duration >= d) when the last segment is right-censored.

Everything is in log space. With the cumulative emission sums C[t, j] (sum of
the frame log-likelihoods of state j before frame t) a segment [u, t) of state
j scores C[t, j] - C[u, j], so the forward message is

    F[t, j] = C[t, j] + logsumexp_d (S[t - d, j] - C[t - d, j] + log p_j(d))
    S[t, j] = logsumexp_i (F[t, i] + log A[i, j])          (S[0] = log pi)

which costs O(N D) per frame for the durations and O(N^2) for the switches.
The last D values of S - C sit in a ring of 2 D entries per state, written
twice, so the window of any frame is contiguous (one vectorised exp). A frame
that state j cannot emit (-inf) is left out of C and wipes state j's ring:
no segment may cross it. Scoring keeps O(N D) memory per sequence; the E-step
and Viterbi keep O(T N). Statistics are summed per chunk of sequences fixed
by the caller, so they do not depend on the number of threads.
"""

import numpy as np

from cython.parallel cimport parallel, prange
from libc.math cimport INFINITY, exp, log
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from _checks cimport check_chunks, check_length, check_offsets, check_shape, check_square
from _logspace cimport logsumexp_strided, max_of

cdef extern from "_simd.h" nogil:
    void hmm_exp_sub(const double* x, double shift, double* out, Py_ssize_t n)


cdef int _check_model(const double[:, ::1] log_frameprob, const int64_t[::1] offsets,
                      const double[::1] log_startprob, const double[:, ::1] log_transmat,
                      const double[:, ::1] log_duration,
                      const double[:, ::1] log_last) except -1:
    cdef Py_ssize_t n = log_frameprob.shape[1]
    check_offsets(offsets, log_frameprob.shape[0])
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_square(log_transmat.shape[0], log_transmat.shape[1], n, "log_transmat")
    if log_duration.shape[0] != n or log_duration.shape[1] < 1:
        raise ValueError(f"log_duration must have shape ({n}, max_duration)")
    check_shape((log_last.shape[0], log_last.shape[1]),
                (n, log_duration.shape[1]), "log_last")
    return 0


cdef inline double _window(const double* ring, const double* table, double* v,
                           double* top, Py_ssize_t dmax) noexcept nogil:
    """log sum_k exp(ring[k] + table[k]); leaves exp(v - top) in v and the max in top."""
    cdef Py_ssize_t k
    cdef double m, s = 0.0
    for k in range(dmax):
        v[k] = ring[k] + table[k]
    m = max_of(v, dmax)
    top[0] = m
    if m == -INFINITY:
        return m
    hmm_exp_sub(v, m, v, dmax)
    for k in range(dmax):
        s += v[k]
    return m + log(s)


cdef inline void _switch(const double* f, const double* transmat, const double* log_transmat,
                         double* out, double* p, Py_ssize_t n, bint backward) noexcept nogil:
    """out[j] = logsumexp_i f[i] + log A[i, j] (or, backward, out[i] over j).

    One exp per state and a matrix-vector product; a sum below 1e-280 may have
    lost terms to underflow and is redone exactly.
    """
    cdef Py_ssize_t i, j
    cdef double m = max_of(f, n), s
    if m == -INFINITY:
        for j in range(n):
            out[j] = -INFINITY
        return
    hmm_exp_sub(f, m, p, n)
    for j in range(n):
        s = 0.0
        for i in range(n):
            if backward:
                s += transmat[j * n + i] * p[i]
            else:
                s += p[i] * transmat[i * n + j]
        if s >= 1e-280:
            out[j] = m + log(s)
        elif backward:
            out[j] = logsumexp_strided(f, log_transmat + j * n, n, 1)
        else:
            out[j] = logsumexp_strided(f, log_transmat + j, n, n)


cdef inline double _lse(const double* x, Py_ssize_t n) noexcept nogil:
    cdef double m = max_of(x, n), s = 0.0
    cdef Py_ssize_t i
    if m == -INFINITY:
        return m
    for i in range(n):
        s += exp(x[i] - m)
    return m + log(s)


cdef inline double _logaddexp(double a, double b) noexcept nogil:
    if a == -INFINITY:
        return b
    if b == -INFINITY:
        return a
    if a > b:
        return a + log(1.0 + exp(b - a))
    return b + log(1.0 + exp(a - b))


cdef inline void _ring_put(double* ring, Py_ssize_t slot, double value,
                           Py_ssize_t d) noexcept nogil:
    ring[slot] = value
    ring[slot + d] = value


cdef inline void _ring_wipe(double* ring, Py_ssize_t d) noexcept nogil:
    cdef Py_ssize_t k
    for k in range(2 * d):
        ring[k] = -INFINITY


cdef double _forward_one(
    const double* lf, Py_ssize_t n_frames, const double* log_startprob,
    const double* transmat, const double* log_transmat,
    const double* dur_rev, const double* last_rev,   # (N, D) tables, d = D - k at index k
    double* work, Py_ssize_t n, Py_ssize_t d,
    double* s_all, double* f_all, double* c_all,     # (T, N), (T + 1, N), (T + 1, N) or NULL
) noexcept nogil:
    """Log-likelihood of one sequence; optionally keeps S, F and C of every frame."""
    cdef double* ring = work                  # (N, 2 D)
    cdef double* c = work + 2 * n * d         # (N,)
    cdef double* s = c + n                    # (N,)
    cdef double* f = s + n                    # (N,)
    cdef double* p = f + n                    # (N,)
    cdef double* v = p + n                    # (D,)
    cdef double top, b
    cdef Py_ssize_t t, j, start
    cdef const double* table
    for j in range(n):
        _ring_wipe(ring + j * 2 * d, d)
        c[j] = 0.0
        s[j] = log_startprob[j]
    if c_all != NULL:
        memset(c_all, 0, n * sizeof(double))
        for j in range(n):
            f_all[j] = -INFINITY
    for t in range(n_frames + 1):
        if t > 0:
            # Segments ending before frame t; the window covers starts t - D .. t - 1.
            start = t % d
            table = last_rev if t == n_frames else dur_rev
            for j in range(n):
                f[j] = c[j] + _window(ring + j * 2 * d + start, table + j * d, v, &top, d)
            if f_all != NULL:
                for j in range(n):
                    f_all[t * n + j] = f[j]
            if t == n_frames:
                break
            _switch(f, transmat, log_transmat, s, p, n, False)
        if s_all != NULL:
            for j in range(n):
                s_all[t * n + j] = s[j]
        for j in range(n):
            _ring_put(ring + j * 2 * d, t % d, s[j] - c[j], d)
            b = lf[t * n + j]
            if b == -INFINITY:
                _ring_wipe(ring + j * 2 * d, d)
            else:
                c[j] += b
        if c_all != NULL:
            for j in range(n):
                c_all[(t + 1) * n + j] = c[j]
    return _lse(f, n)


cdef Py_ssize_t _work_size(Py_ssize_t n, Py_ssize_t d) noexcept nogil:
    return 2 * n * d + 4 * n + 2 * d + n * n


def _reversed_tables(log_duration, log_last):
    """The duration tables with the durations reversed (the forward window's order)."""
    return (np.ascontiguousarray(np.asarray(log_duration)[:, ::-1]),
            np.ascontiguousarray(np.asarray(log_last)[:, ::-1]))


def forward(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] log_transmat,    # IN (N, N), -inf diagonal
    const double[:, ::1] log_duration,    # IN (N, D) log P(duration = d), d = 1..D
    const double[:, ::1] log_last,        # IN (N, D) the same for the last segment
    double[::1] loglik,                   # OUT (n_seq,)
    int n_threads,
):
    """Log-likelihood of every sequence, O(N D) memory per sequence."""
    cdef Py_ssize_t n = log_frameprob.shape[1], d = log_duration.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1, s_i, failed = 0
    cdef double[:, ::1] dur_rev, last_rev, transmat
    cdef double* work = NULL
    _check_model(log_frameprob, offsets, log_startprob, log_transmat, log_duration, log_last)
    check_length(loglik.shape[0], n_seq, "loglik")
    dur_rev, last_rev = _reversed_tables(log_duration, log_last)
    transmat = np.exp(np.asarray(log_transmat))
    with nogil, parallel(num_threads=max(1, n_threads)):
        work = <double*> malloc(_work_size(n, d) * sizeof(double))
        for s_i in prange(n_seq, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            loglik[s_i] = _forward_one(
                &log_frameprob[offsets[s_i], 0], offsets[s_i + 1] - offsets[s_i],
                &log_startprob[0], &transmat[0, 0], &log_transmat[0, 0], &dur_rev[0, 0],
                &last_rev[0, 0], work, n, d, NULL, NULL, NULL)
        free(work)
    if failed:
        raise MemoryError()


cdef void _estep_one(
    const double* lf, Py_ssize_t n_frames, const double* log_startprob,
    const double* transmat, const double* log_transmat,
    const double* log_duration, const double* log_last,
    const double* dur_rev, const double* last_rev,
    double* work, double* f_all, double* c_all, Py_ssize_t n, Py_ssize_t d,
    double* posteriors, double* loglik, double* start_counts, double* trans_counts,
    double* duration_counts, double* last_counts,
) noexcept nogil:
    """Forward, then one backward pass that sums the expected counts of one sequence.

    ``posteriors`` holds S during the backward pass, then the probability that
    a segment starts at each frame, and finally the state posteriors: a running
    sum of segment starts minus segment ends.
    """
    cdef Py_ssize_t t, j, i, k, dmax, dl
    cdef double ll, top, term, factor, total, value
    cdef double* ring = work                  # (N, 2 D) C + B_end of the next D frames
    cdef double* bs = work + 2 * n * d        # (N,) B_start at t
    cdef double* be = bs + n                  # (N,) B_end at t
    cdef double* p = be + n                   # (N,)
    cdef int64_t* end_ok = <int64_t*> (p + n) # (N,) no impossible frame before the end
    cdef double* v = p + 2 * n                # (D,)
    cdef double* row = v + d                  # (N,)
    ll = _forward_one(lf, n_frames, log_startprob, transmat, log_transmat, dur_rev,
                      last_rev, work, n, d, posteriors, f_all, c_all)
    loglik[0] = ll
    if ll == -INFINITY:
        memset(posteriors, 0, n_frames * n * sizeof(double))
        return
    for j in range(n):
        _ring_wipe(ring + j * 2 * d, d)
        end_ok[j] = 1
    for t in range(n_frames - 1, -1, -1):
        dl = n_frames - t                     # length of a segment from t to the end
        for j in range(n):
            if lf[t * n + j] == -INFINITY:
                _ring_wipe(ring + j * 2 * d, d)
                end_ok[j] = 0
            # Segments [t, t + d) ending before the last frame: ring slots t + 1 .. t + D.
            value = _window(ring + j * 2 * d + (t + 1) % d, log_duration + j * d, v, &top, d)
            term = -INFINITY
            if end_ok[j] and dl <= d:
                term = c_all[n_frames * n + j] + log_last[j * d + dl - 1]
            bs[j] = _logaddexp(value, term) - c_all[t * n + j]
            # Expected segments starting at t, by duration.
            factor = posteriors[t * n + j] - c_all[t * n + j] - ll
            if value != -INFINITY:
                factor = exp(factor + top)
                dmax = d if d < dl - 1 else dl - 1
                for k in range(dmax):
                    duration_counts[j * d + k] += factor * v[k]
            if term != -INFINITY:
                last_counts[j * d + dl - 1] += exp(posteriors[t * n + j] - c_all[t * n + j]
                                                   + term - ll)
        for j in range(n):
            posteriors[t * n + j] = exp(posteriors[t * n + j] + bs[j] - ll)
        if t == 0:
            break
        # Switches at the boundary before frame t.
        _switch(bs, transmat, log_transmat, be, p, n, True)
        for i in range(n):
            if f_all[t * n + i] == -INFINITY:
                f_all[t * n + i] = 0.0
                continue
            for j in range(n):
                row[j] = f_all[t * n + i] + log_transmat[i * n + j] + bs[j]
            hmm_exp_sub(row, ll, row, n)
            for j in range(n):
                trans_counts[i * n + j] += row[j]
            # f_all now holds the probability that a segment ends before frame t.
            f_all[t * n + i] = exp(f_all[t * n + i] + be[i] - ll)
        for i in range(n):
            _ring_put(ring + i * 2 * d, t % d, c_all[t * n + i] + be[i], d)
    for j in range(n):
        start_counts[j] += posteriors[j]
    # State posteriors: segments started at or before t minus those ended.
    for j in range(n):
        p[j] = 0.0
    for t in range(n_frames):
        total = 0.0
        for j in range(n):
            p[j] += posteriors[t * n + j]
            if t > 0:
                p[j] -= f_all[t * n + j]
            value = p[j] if p[j] > 0.0 else 0.0
            posteriors[t * n + j] = value
            total += value
        if total > 0.0:
            total = 1.0 / total
            for j in range(n):
                posteriors[t * n + j] *= total


def estep(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const int64_t[::1] chunks,            # IN (n_chunks + 1,) sequence index bounds
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] log_transmat,    # IN (N, N), -inf diagonal
    const double[:, ::1] log_duration,    # IN (N, D)
    const double[:, ::1] log_last,        # IN (N, D)
    double[:, ::1] out_posteriors,        # OUT (T_total, N)
    double[::1] loglik,                   # OUT (n_seq,)
    double[:, ::1] start_counts,          # OUT (n_chunks, N) first segments
    double[:, :, ::1] trans_counts,       # OUT (n_chunks, N, N) switches
    double[:, :, ::1] duration_counts,    # OUT (n_chunks, N, D) segments before the last
    double[:, :, ::1] last_counts,        # OUT (n_chunks, N, D) last segments, observed length
    int n_threads,
):
    """Posteriors and expected counts of every sequence, one set of sums per chunk."""
    cdef Py_ssize_t n = log_frameprob.shape[1], d = log_duration.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1, n_chunks = chunks.shape[0] - 1
    cdef Py_ssize_t c, s_i, failed = 0, longest = 0, size
    cdef double[:, ::1] dur_rev, last_rev, transmat
    cdef double* work = NULL
    _check_model(log_frameprob, offsets, log_startprob, log_transmat, log_duration, log_last)
    check_chunks(chunks, n_seq)
    check_length(loglik.shape[0], n_seq, "loglik")
    check_shape((out_posteriors.shape[0], out_posteriors.shape[1]),
                (log_frameprob.shape[0], n), "out_posteriors")
    check_shape((start_counts.shape[0], start_counts.shape[1]), (n_chunks, n), "start_counts")
    check_shape((trans_counts.shape[0], trans_counts.shape[1], trans_counts.shape[2]),
                (n_chunks, n, n), "trans_counts")
    check_shape((duration_counts.shape[0], duration_counts.shape[1],
                 duration_counts.shape[2]), (n_chunks, n, d), "duration_counts")
    check_shape((last_counts.shape[0], last_counts.shape[1], last_counts.shape[2]),
                (n_chunks, n, d), "last_counts")
    for s_i in range(n_seq):
        longest = max(longest, offsets[s_i + 1] - offsets[s_i])
    dur_rev, last_rev = _reversed_tables(log_duration, log_last)
    transmat = np.exp(np.asarray(log_transmat))
    start_counts[:, :] = 0.0
    trans_counts[:, :, :] = 0.0
    duration_counts[:, :, :] = 0.0
    last_counts[:, :, :] = 0.0
    size = _work_size(n, d) + 2 * (longest + 1) * n
    with nogil, parallel(num_threads=max(1, n_threads)):
        work = <double*> malloc(size * sizeof(double))
        for c in prange(n_chunks, schedule="dynamic"):
            if work == NULL:
                failed += 1
                continue
            for s_i in range(chunks[c], chunks[c + 1]):
                _estep_one(&log_frameprob[offsets[s_i], 0], offsets[s_i + 1] - offsets[s_i],
                           &log_startprob[0], &transmat[0, 0], &log_transmat[0, 0],
                           &log_duration[0, 0], &log_last[0, 0], &dur_rev[0, 0],
                           &last_rev[0, 0], work + 2 * (longest + 1) * n,
                           work, work + (longest + 1) * n, n, d,
                           &out_posteriors[offsets[s_i], 0], &loglik[s_i],
                           &start_counts[c, 0], &trans_counts[c, 0, 0],
                           &duration_counts[c, 0, 0], &last_counts[c, 0, 0])
        free(work)
    if failed:
        raise MemoryError()


cdef double _viterbi_one(
    const double* lf, Py_ssize_t n_frames, const double* log_startprob,
    const double* log_transmat, const double* dur_rev, const double* last_rev,
    double* work, int32_t* best_d, int32_t* best_prev, int64_t* path,
    Py_ssize_t n, Py_ssize_t d,
) noexcept nogil:
    """Most probable segmentation of one sequence; writes the state of every frame.

    Ties go to the shortest duration and the lowest state index.
    """
    cdef double* ring = work                  # (N, 2 D) max over S - C
    cdef double* c = work + 2 * n * d
    cdef double* s = c + n
    cdef double* f = s + n
    cdef double top, value, b
    cdef Py_ssize_t t, i, j, k, start, arg, seg
    cdef const double* table
    cdef const double* w
    for j in range(n):
        _ring_wipe(ring + j * 2 * d, d)
        c[j] = 0.0
        s[j] = log_startprob[j]
    for t in range(n_frames + 1):
        if t > 0:
            start = t % d
            table = last_rev if t == n_frames else dur_rev
            for j in range(n):
                w = ring + j * 2 * d + start
                top = -INFINITY
                arg = 0
                for k in range(d - 1, -1, -1):    # durations 1, 2, ..., D
                    value = w[k] + table[j * d + k]
                    if value > top:
                        top = value
                        arg = d - k
                f[j] = c[j] + top
                best_d[t * n + j] = <int32_t> arg
            if t == n_frames:
                break
            for j in range(n):
                top = -INFINITY
                arg = -1
                for i in range(n):
                    value = f[i] + log_transmat[i * n + j]
                    if value > top:
                        top = value
                        arg = i
                s[j] = top
                best_prev[t * n + j] = <int32_t> arg
        for j in range(n):
            _ring_put(ring + j * 2 * d, t % d, s[j] - c[j], d)
            b = lf[t * n + j]
            if b == -INFINITY:
                _ring_wipe(ring + j * 2 * d, d)
            else:
                c[j] += b
    top = -INFINITY
    arg = -1
    for j in range(n):
        if f[j] > top:
            top = f[j]
            arg = j
    if top == -INFINITY:
        for t in range(n_frames):
            path[t] = -1
        return top
    t = n_frames
    j = arg
    while t > 0:
        seg = best_d[t * n + j]
        for k in range(t - seg, t):
            path[k] = j
        t -= seg
        if t > 0:
            j = best_prev[t * n + j]
    return top


def viterbi(
    const double[:, ::1] log_frameprob,   # IN (T_total, N)
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] log_transmat,    # IN (N, N), -inf diagonal
    const double[:, ::1] log_duration,    # IN (N, D)
    const double[:, ::1] log_last,        # IN (N, D)
    double[::1] logprob,                  # OUT (n_seq,) -inf when impossible
    int64_t[::1] path,                    # OUT (T_total,) -1 when impossible
    int n_threads,
):
    """The most probable segmentation of every sequence, as a state per frame."""
    cdef Py_ssize_t n = log_frameprob.shape[1], d = log_duration.shape[1]
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1, s_i, failed = 0, longest = 0
    cdef double[:, ::1] dur_rev, last_rev
    cdef double* work = NULL
    cdef int32_t* pointers = NULL
    _check_model(log_frameprob, offsets, log_startprob, log_transmat, log_duration, log_last)
    check_length(logprob.shape[0], n_seq, "logprob")
    check_length(path.shape[0], log_frameprob.shape[0], "path")
    for s_i in range(n_seq):
        longest = max(longest, offsets[s_i + 1] - offsets[s_i])
    dur_rev, last_rev = _reversed_tables(log_duration, log_last)
    with nogil, parallel(num_threads=max(1, n_threads)):
        work = <double*> malloc(_work_size(n, d) * sizeof(double))
        pointers = <int32_t*> malloc(2 * (longest + 1) * n * sizeof(int32_t))
        for s_i in prange(n_seq, schedule="dynamic"):
            if work == NULL or pointers == NULL:
                failed += 1
                continue
            logprob[s_i] = _viterbi_one(
                &log_frameprob[offsets[s_i], 0], offsets[s_i + 1] - offsets[s_i],
                &log_startprob[0], &log_transmat[0, 0], &dur_rev[0, 0], &last_rev[0, 0],
                work, pointers, pointers + (longest + 1) * n, &path[offsets[s_i]], n, d)
        free(work)
        free(pointers)
    if failed:
        raise MemoryError()
