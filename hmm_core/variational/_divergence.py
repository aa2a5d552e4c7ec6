"""Expectations and Kullback-Leibler divergences of the conjugate families used by VB.

Conventions follow hmmlearn's variational models: a Wishart is given by its
degrees of freedom ``dof`` and its *inverse* scale matrix ``scale`` (so that
``E[precision] = dof * inv(scale)``); a gamma distribution on a precision by
``dof`` and ``scale`` too, as the one-dimensional Wishart (shape ``dof / 2``,
rate ``scale / 2``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, multigammaln

__all__ = [
    "expected_log_dirichlet",
    "expected_logdet_wishart",
    "kl_dirichlet",
    "kl_gamma",
    "kl_normal_given_precision",
    "kl_wishart",
]


def expected_log_dirichlet(alpha):
    """``E[log p]`` under Dirichlet rows with concentrations ``alpha`` (last axis).

    Parameters
    ----------
    alpha : ndarray
        Positive concentrations; each row (last axis) is one Dirichlet.

    Returns
    -------
    ndarray of the shape of ``alpha``
    """
    alpha = np.asarray(alpha, dtype=float)
    return digamma(alpha) - digamma(alpha.sum(axis=-1, keepdims=True))


def kl_dirichlet(q, p):
    """``KL(Dir(q) || Dir(p))`` summed over the rows (last axis) of ``q`` and ``p``.

    Parameters
    ----------
    q, p : ndarray
        Concentrations of the same shape.

    Returns
    -------
    float
    """
    q = np.asarray(q, dtype=float)
    p = np.asarray(p, dtype=float)
    q0 = q.sum(axis=-1)
    out = (gammaln(q0) - gammaln(p.sum(axis=-1)) - gammaln(q).sum(axis=-1)
           + gammaln(p).sum(axis=-1)
           + ((q - p) * (digamma(q) - digamma(q0)[..., None])).sum(axis=-1))
    return float(np.sum(out))


def expected_logdet_wishart(dof, scale):
    """``E[log det precision]`` under Wishart(dof, inv(scale)).

    Parameters
    ----------
    dof : float
    scale : ndarray of shape (d, d)
        Inverse scale matrix (symmetric positive definite).

    Returns
    -------
    float
    """
    d = scale.shape[0]
    logdet = np.linalg.slogdet(scale)[1]
    return float(digamma(0.5 * (dof - np.arange(d))).sum() + d * np.log(2.0) - logdet)


def kl_wishart(dof_q, scale_q, dof_p, scale_p):
    """``KL(Wishart(dof_q, inv(scale_q)) || Wishart(dof_p, inv(scale_p)))``.

    Parameters
    ----------
    dof_q, dof_p : float
    scale_q, scale_p : ndarray of shape (d, d)
        Inverse scale matrices.

    Returns
    -------
    float
    """
    d = scale_q.shape[0]
    logdet_q = np.linalg.slogdet(scale_q)[1]
    logdet_p = np.linalg.slogdet(scale_p)[1]
    trace = np.trace(np.linalg.solve(scale_q, scale_p))
    # log normaliser of Wishart(dof, inv(scale)): log Gamma_d(dof / 2) - dof / 2 log|scale / 2|
    log_norm_q = multigammaln(0.5 * dof_q, d) - 0.5 * dof_q * (logdet_q - d * np.log(2.0))
    log_norm_p = multigammaln(0.5 * dof_p, d) - 0.5 * dof_p * (logdet_p - d * np.log(2.0))
    return float(0.5 * (dof_q - dof_p) * expected_logdet_wishart(dof_q, scale_q)
                 - 0.5 * dof_q * d + 0.5 * dof_q * trace + log_norm_p - log_norm_q)


def kl_gamma(dof_q, scale_q, dof_p, scale_p):
    """Summed ``KL(Gamma(dof_q/2, scale_q/2) || Gamma(dof_p/2, scale_p/2))`` (shape, rate).

    Parameters
    ----------
    dof_q, scale_q, dof_p, scale_p : array-like, broadcast together

    Returns
    -------
    float
    """
    a_q, b_q = 0.5 * np.asarray(dof_q, float), 0.5 * np.asarray(scale_q, float)
    a_p, b_p = 0.5 * np.asarray(dof_p, float), 0.5 * np.asarray(scale_p, float)
    out = ((a_q - a_p) * digamma(a_q) - gammaln(a_q) + gammaln(a_p)
           + a_p * (np.log(b_q) - np.log(b_p)) + a_q * (b_p - b_q) / b_q)
    return float(np.sum(np.broadcast_to(out, np.broadcast_shapes(
        np.shape(out), np.shape(dof_q), np.shape(scale_q)))))


def kl_normal_given_precision(beta_q, mean_q, beta_p, mean_p, quad_form, d):
    """``E_q[KL(N(mean_q, (beta_q L)^-1) || N(mean_p, (beta_p L)^-1))]`` over the precision L.

    Parameters
    ----------
    beta_q, beta_p : float
    mean_q, mean_p : ndarray of shape (d,)
    quad_form : callable
        ``quad_form(v)`` = ``v @ E[L] @ v``.
    d : int
        Dimension.

    Returns
    -------
    float
    """
    ratio = beta_p / beta_q
    diff = np.asarray(mean_q) - np.asarray(mean_p)
    return float(0.5 * (d * ratio - d - d * np.log(ratio) + beta_p * quad_form(diff)))
