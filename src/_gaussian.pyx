"""Diagonal-covariance Gaussian log-densities, one frame per loop iteration.

``(X @ ...)`` matrix products lose to this direct loop for the usual shapes
(many frames, few features, few states): they make several (T, d) and (T, N)
temporaries and hand BLAS a skinny product it splits poorly. Here each frame
reads its d features once and writes its N log-densities once, in parallel
over frames. The form (x - mu)^2 / var is also exact where the expanded
quadratic cancels.
"""

import numpy as np

from cython.parallel cimport prange
from libc.math cimport isnan, log, M_PI

from _checks cimport check_length


def diag_log_density(
    const double[:, ::1] X,          # IN (T, d); NaN marks a missing feature
    const double[:, ::1] means,      # IN (N, d)
    const double[:, ::1] variances,  # IN (N, d) positive
    double[:, ::1] out,              # OUT (T, N)
    int n_threads,
):
    """``out[t, i] = log N(x_t | means[i], diag(variances[i]))`` over observed features.

    A missing (NaN) feature is marginalised out; a fully missing frame scores 0.
    """
    cdef Py_ssize_t n_frames = X.shape[0], d = X.shape[1], n = means.shape[0]
    cdef Py_ssize_t t
    cdef double[:, ::1] prec, log_norm
    check_length(means.shape[1], d, "means columns")
    if variances.shape[0] != n or variances.shape[1] != d:
        raise ValueError(f"variances must have shape {(n, d)}")
    if out.shape[0] != n_frames or out.shape[1] != n:
        raise ValueError(f"out must have shape {(n_frames, n)}")
    prec = 1.0 / np.asarray(variances)
    log_norm = np.log(np.asarray(variances)) + log(2.0 * M_PI)
    with nogil:
        for t in prange(n_frames, schedule="static", num_threads=max(1, n_threads)):
            _frame(&X[t, 0], &means[0, 0], &prec[0, 0], &log_norm[0, 0], &out[t, 0], n, d)


cdef inline void _frame(const double* x, const double* means, const double* prec,
                        const double* log_norm, double* out, Py_ssize_t n,
                        Py_ssize_t d) noexcept nogil:
    """One frame: a scalar accumulator per state, so nothing is re-read or aliased."""
    cdef Py_ssize_t i, k
    cdef double acc, diff
    for i in range(n):
        acc = 0.0
        for k in range(d):
            if not isnan(x[k]):
                diff = x[k] - means[i * d + k]
                acc += diff * diff * prec[i * d + k] + log_norm[i * d + k]
        out[i] = -0.5 * acc


def diag_moments(
    const double[:, ::1] X,      # IN (T, d); NaN marks a missing feature
    const double[:, ::1] W,      # IN (T, K) posterior weights
    double[:, ::1] count,        # OUT (K, d) weight of the observed values
    double[:, ::1] mean,         # OUT (K, d) weighted means (0 where count is 0)
    double[:, ::1] scatter,      # OUT (K, d) weighted squared deviations from mean
):
    """Per-feature weighted moments of each component, over observed values.

    Two passes (means, then deviations from them), so data far from 0 loses
    nothing to cancellation; one thread, so the sums do not depend on the
    thread count.
    """
    cdef Py_ssize_t n_frames = X.shape[0], d = X.shape[1], n = W.shape[1]
    cdef Py_ssize_t t, k, f
    cdef double x, diff
    cdef double[:, ::1] cnt_t = np.zeros((d, n)), sum_t = np.zeros((d, n))
    cdef double[:, ::1] mean_t = np.zeros((d, n)), sc_t = np.zeros((d, n))
    if W.shape[0] != n_frames:
        raise ValueError(f"W must have {n_frames} rows, got {W.shape[0]}")
    for name, arr in (("count", count), ("mean", mean), ("scatter", scatter)):
        if arr.shape[0] != n or arr.shape[1] != d:
            raise ValueError(f"{name} must have shape {(n, d)}")
    with nogil:
        for t in range(n_frames):
            for f in range(d):
                x = X[t, f]
                if isnan(x):
                    continue
                for k in range(n):
                    cnt_t[f, k] += W[t, k]
                    sum_t[f, k] += W[t, k] * x
        for f in range(d):
            for k in range(n):
                if cnt_t[f, k] > 0:
                    mean_t[f, k] = sum_t[f, k] / cnt_t[f, k]
        for t in range(n_frames):
            for f in range(d):
                x = X[t, f]
                if isnan(x):
                    continue
                for k in range(n):
                    diff = x - mean_t[f, k]
                    sc_t[f, k] += W[t, k] * diff * diff
        for k in range(n):
            for f in range(d):
                count[k, f] = cnt_t[f, k]
                mean[k, f] = mean_t[f, k]
                scatter[k, f] = sc_t[f, k]
