"""Emission kernels: frame log-likelihoods and the statistics of the M-step.

Diagonal-covariance Gaussian log-densities and moments, looping over frames
(``diag_log_density``, ``diag_moments``; loops in ``_gaussian.h``), and the
emission counts of categorical frames given as rows of a table
(``group_sum``).

``(X @ ...)`` matrix products lose to these loops for the usual shapes (many
frames, few features, few states): they make several (T, d) and (T, N)
temporaries and hand BLAS skinny products it splits poorly. Here each frame
reads its d features once. The form (x - mu)^2 / var is also exact where the
expanded quadratic cancels, and a missing (NaN) feature is simply skipped,
which marginalises it out.
"""

import numpy as np

from cython.parallel cimport prange
from libc.math cimport M_PI, log
from libc.stdint cimport int64_t

from _checks cimport check_index, check_length

cdef extern from "_gaussian.h" nogil:
    void hmm_diag_log_density(const double* x, Py_ssize_t n_frames, Py_ssize_t d,
                              const double* mean_t, const double* prec_t,
                              const double* norm_t, const double* norm_sum, double* out,
                              Py_ssize_t n)
    void hmm_diag_moment_pass(const double* x, const double* w, Py_ssize_t n_frames,
                              Py_ssize_t d, Py_ssize_t n4, int pass_, const double* mean_t,
                              double* acc0, double* acc1)
    void hmm_diag_shifted_moments(const double* x, const double* w, Py_ssize_t n_frames,
                                  Py_ssize_t d, Py_ssize_t n4, const double* c, double* s0,
                                  double* s1, double* s2)

# frames per parallel task
cdef Py_ssize_t _BLOCK = 4096
# One-pass moments are kept while the scatter is at least this fraction of the
# sum of squares about the centre, i.e. while at most 3 of 16 digits cancel.
cdef double _MIN_KEPT = 1e-3


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
    cdef Py_ssize_t b, n_blocks, first, count
    cdef double[:, ::1] mean_t, prec_t, norm_t
    check_length(means.shape[1], d, "means columns")
    if variances.shape[0] != n or variances.shape[1] != d:
        raise ValueError(f"variances must have shape {(n, d)}")
    if out.shape[0] != n_frames or out.shape[1] != n:
        raise ValueError(f"out must have shape {(n_frames, n)}")
    var = np.asarray(variances)
    # feature-major, padded with zero columns to a multiple of 4 states
    n4 = (n + 3) // 4 * 4
    mean_t, prec_t, norm_t = (np.zeros((d, n4)) for _ in range(3))
    np.asarray(mean_t)[:, :n] = np.asarray(means).T
    np.asarray(prec_t)[:, :n] = 1.0 / var.T
    np.asarray(norm_t)[:, :n] = np.log(var.T) + log(2.0 * M_PI)
    cdef double[::1] norm_sum = np.asarray(norm_t).sum(axis=0)
    n_blocks = (n_frames + _BLOCK - 1) // _BLOCK
    with nogil:
        for b in prange(n_blocks, schedule="static", num_threads=max(1, n_threads)):
            first = b * _BLOCK
            count = min(_BLOCK, n_frames - first)
            hmm_diag_log_density(&X[first, 0], count, d, &mean_t[0, 0], &prec_t[0, 0],
                                 &norm_t[0, 0], &norm_sum[0], &out[first, 0], n)


def diag_moments(
    const double[:, ::1] X,      # IN (T, d); NaN marks a missing feature
    const double[:, ::1] W,      # IN (T, K) posterior weights
    double[:, ::1] count,        # OUT (K, d) weight of the observed values
    double[:, ::1] mean,         # OUT (K, d) weighted means (0 where count is 0)
    double[:, ::1] scatter,      # OUT (K, d) weighted squared deviations from mean
    int n_threads=1,
    center=None,                 # IN (K, d) near the means (the current ones), or None
):
    """Per-feature weighted moments of each component, over observed values.

    With ``center`` (the components' current means, say) one pass sums the
    weights and the first and second moments about it; that is kept where at
    most 3 digits cancel in the scatter, else (and without ``center``) two
    passes compute the means and then the deviations from them, which loses
    nothing to cancellation. Each pass sums fixed blocks of frames in
    parallel and then adds the block sums in order, so the result does not
    depend on the thread count.
    """
    cdef Py_ssize_t n_frames = X.shape[0], d = X.shape[1], n = W.shape[1]
    cdef Py_ssize_t n4 = (n + 3) // 4 * 4
    cdef Py_ssize_t b, first, cnt, n_blocks = (n_frames + _BLOCK - 1) // _BLOCK
    cdef const double[:, ::1] W_use = W
    cdef double[:, :, :, ::1] part
    cdef double[:, ::1] mean_t
    cdef int threads = max(1, n_threads) if n_blocks > 1 else 1
    if W.shape[0] != n_frames:
        raise ValueError(f"W must have {n_frames} rows, got {W.shape[0]}")
    for name, arr in (("count", count), ("mean", mean), ("scatter", scatter)):
        if arr.shape[0] != n or arr.shape[1] != d:
            raise ValueError(f"{name} must have shape {(n, d)}")
    if n != n4:   # whole vectors per frame: pad the weights with zero columns
        padded = np.zeros((n_frames, n4))
        padded[:, :n] = W
        W_use = padded
    cdef double[:, ::1] center_t
    if center is not None:
        center = np.asarray(center, dtype=float)
        if center.shape != (n, d):
            raise ValueError(f"center must have shape {(n, d)}, got {center.shape}")
        if not np.all(np.isfinite(center)):
            raise ValueError("center must be finite")
        center_t = np.zeros((d, n4))
        np.asarray(center_t)[:, :n] = center.T
        part = np.zeros((max(n_blocks, 1), 3, d, n4))
        with nogil:
            for b in prange(n_blocks, schedule="static", num_threads=threads):
                first = b * _BLOCK
                cnt = min(_BLOCK, n_frames - first)
                hmm_diag_shifted_moments(&X[first, 0], &W_use[first, 0], cnt, d, n4,
                                         &center_t[0, 0], &part[b, 0, 0, 0],
                                         &part[b, 1, 0, 0], &part[b, 2, 0, 0])
        sums = np.asarray(part).sum(axis=0)[:, :, :n]
        s0, s1, s2 = sums[0], sums[1], sums[2]
        seen = s0 > 0
        safe = np.where(seen, s0, 1.0)
        shifted_scatter = np.where(seen, s2 - s1 * s1 / safe, 0.0)
        if np.all(shifted_scatter >= _MIN_KEPT * s2):
            np.asarray(count)[...] = s0.T
            np.asarray(mean)[...] = np.where(seen, np.asarray(center_t)[:, :n] + s1 / safe,
                                             0.0).T
            np.asarray(scatter)[...] = shifted_scatter.T
            return
    part = np.zeros((max(n_blocks, 1), 2, d, n4))
    with nogil:
        for b in prange(n_blocks, schedule="static", num_threads=threads):
            first = b * _BLOCK
            cnt = min(_BLOCK, n_frames - first)
            hmm_diag_moment_pass(&X[first, 0], &W_use[first, 0], cnt, d, n4, 0, NULL,
                                 &part[b, 0, 0, 0], &part[b, 1, 0, 0])
    sums = np.asarray(part).sum(axis=0)
    counts, totals = sums[0], sums[1]
    mean_t = np.where(counts > 0, totals / np.where(counts > 0, counts, 1.0), 0.0)
    part = np.zeros((max(n_blocks, 1), 1, d, n4))
    with nogil:
        for b in prange(n_blocks, schedule="static", num_threads=threads):
            first = b * _BLOCK
            cnt = min(_BLOCK, n_frames - first)
            hmm_diag_moment_pass(&X[first, 0], &W_use[first, 0], cnt, d, n4, 1,
                                 &mean_t[0, 0], &part[b, 0, 0, 0], NULL)
    np.asarray(count)[...] = counts[:, :n].T
    np.asarray(mean)[...] = np.asarray(mean_t)[:, :n].T
    np.asarray(scatter)[...] = np.asarray(part).sum(axis=0)[0, :, :n].T


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
    check_index(index, n_rows)
    with nogil:
        for t in range(n_frames):
            row = index[t]
            for j in range(n):
                out[row, j] += posteriors[t, j]
