"""A readable NumPy implementation of EM for the autoregressive HMM (the tests' oracle).

Independent of :mod:`hmm_core.emissions.autoregressive`: it loops over
sequences and frames, runs forward-backward in log space with
``scipy.special.logsumexp`` and solves the weighted normal equations of each
state from sums written out frame by frame.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

__all__ = ["ar_em_iteration", "ar_log_frameprob"]


def _regressors(x, t, n_lags):
    """``[x_{t-1}, ..., x_{t-L}, 1]``."""
    return np.concatenate([x[t - lag] for lag in range(1, n_lags + 1)] + [[1.0]])


def ar_log_frameprob(x, n_lags, coefs, intercepts, covars):
    """(T, N) log-densities of one sequence; the first ``n_lags`` rows are 0.

    Parameters
    ----------
    x : ndarray of shape (T, d)
    n_lags : int
    coefs : ndarray of shape (N, d, d * n_lags)
    intercepts : ndarray of shape (N, d)
    covars : ndarray of shape (N, d, d)
        Full covariance matrices.

    Returns
    -------
    ndarray of shape (T, N)
    """
    out = np.zeros((x.shape[0], coefs.shape[0]))
    for t in range(n_lags, x.shape[0]):
        z = _regressors(x, t, n_lags)[:-1]
        for k in range(coefs.shape[0]):
            mean = coefs[k] @ z + intercepts[k]
            out[t, k] = multivariate_normal(mean, covars[k]).logpdf(x[t])
    return out


def ar_em_iteration(sequences, n_lags, startprob, transmat, coefs, intercepts, covars,
                    diag=False, alpha=0.0, covars_prior=0.0, covars_weight=0.0):
    """One EM iteration; returns the log-likelihood before it and the new parameters.

    Parameters
    ----------
    sequences : list of ndarray of shape (T_i, d)
    n_lags : int
    startprob, transmat : ndarray
    coefs, intercepts, covars : ndarray
        As :func:`ar_log_frameprob` (``covars`` full even when ``diag``).
    diag : bool
        Keep only the diagonal of the new covariances.
    alpha, covars_prior, covars_weight : float
        Prior of :class:`~hmm_core.models.autoregressive.AutoregressiveHMM`.

    Returns
    -------
    loglik : float
    params : tuple
        ``(startprob, transmat, coefs, intercepts, covars)``.
    """
    n = startprob.shape[0]
    d = intercepts.shape[1]
    p = d * n_lags + 1
    start = np.zeros(n)
    trans = np.zeros((n, n))
    occupancy, zz, zy, yy = np.zeros(n), np.zeros((n, p, p)), np.zeros((n, p, d)), np.zeros(
        (n, d, d))
    total = 0.0
    log_a = np.log(transmat)
    for x in sequences:
        frames = ar_log_frameprob(x, n_lags, coefs, intercepts, covars)
        T = x.shape[0]
        fwd = np.empty((T, n))
        bwd = np.zeros((T, n))
        fwd[0] = np.log(startprob) + frames[0]
        for t in range(1, T):
            fwd[t] = logsumexp(fwd[t - 1][:, None] + log_a, axis=0) + frames[t]
        for t in range(T - 2, -1, -1):
            bwd[t] = logsumexp(log_a + frames[t + 1] + bwd[t + 1], axis=1)
        loglik = logsumexp(fwd[-1])
        total += loglik
        gamma = np.exp(fwd + bwd - loglik)
        start += gamma[0]
        for t in range(T - 1):
            trans += np.exp(fwd[t][:, None] + log_a + frames[t + 1] + bwd[t + 1] - loglik)
        for t in range(n_lags, T):
            z = _regressors(x, t, n_lags)
            for k in range(n):
                occupancy[k] += gamma[t, k]
                zz[k] += gamma[t, k] * np.outer(z, z)
                zy[k] += gamma[t, k] * np.outer(z, x[t])
                yy[k] += gamma[t, k] * np.outer(x[t], x[t])
    new_coefs, new_intercepts, new_covars = [], [], []
    penalty = np.diag(np.r_[np.full(p - 1, alpha), 0.0])
    for k in range(n):
        w = np.linalg.solve(zz[k] + penalty, zy[k]).T  # (d, p)
        resid = yy[k] - w @ zy[k] - zy[k].T @ w.T + w @ zz[k] @ w.T
        resid = resid + alpha * w[:, :-1] @ w[:, :-1].T + covars_prior * np.eye(d)
        cov = resid / (occupancy[k] + (p - 1 if alpha > 0 else 0) + covars_weight)
        cov = 0.5 * (cov + cov.T)
        new_coefs.append(w[:, :-1])
        new_intercepts.append(w[:, -1])
        new_covars.append(np.diag(np.diag(cov)) if diag else cov)
    return total, (start / start.sum(), trans / trans.sum(axis=1, keepdims=True),
                   np.array(new_coefs), np.array(new_intercepts), np.array(new_covars))
