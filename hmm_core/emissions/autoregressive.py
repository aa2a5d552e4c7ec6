"""Vector autoregressive emissions: x_t ~ N(A_k [x_{t-1}, ..., x_{t-L}] + b_k, Sigma_k).

The emission works on a *design* array built once per call by
:func:`lagged_design` from the observations and the sequence bounds, so
that every frame carries what its density needs: ``[x_t | x_{t-1} ... x_{t-L}
| 1 | observed]``. The first ``L`` frames of each sequence are conditioned on:
they serve as regressors only and score 0 in every state (``observed`` is 0).
"""

from __future__ import annotations

import numpy as np

from hmm_core.emissions._scale import kmeans_centres
from hmm_core.emissions.base import EmissionModel

__all__ = ["AutoregressiveEmission", "lagged_design"]

_LOG_2PI = np.log(2 * np.pi)


def lagged_design(X, offsets, n_lags):
    """``[x_t | x_{t-1} ... x_{t-L} | 1 | observed]`` for every frame.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    offsets : ndarray of int64 of shape (n_sequences + 1,)
    n_lags : int

    Returns
    -------
    ndarray of shape (n_samples, n_features * (n_lags + 1) + 2)
        Lags that reach before a sequence's start are 0, and those frames
        have ``observed = 0``.
    """
    n, d = X.shape
    out = np.zeros((n, d * (n_lags + 1) + 2))
    out[:, :d] = X
    out[:, -2] = 1.0
    position = np.arange(n) - np.repeat(offsets[:-1], np.diff(offsets))
    for lag in range(1, n_lags + 1):
        rows = np.flatnonzero(position >= lag)
        out[rows, d * lag:d * (lag + 1)] = X[rows - lag]
    out[:, -1] = position >= n_lags
    return out


class AutoregressiveEmission(EmissionModel):
    """Each state emits a linear-Gaussian function of the previous ``n_lags`` frames.

    Parameters
    ----------
    n_lags : int
        Number of previous frames regressed on (L >= 1).
    covariance_type : {"full", "diag"}
    alpha : float
        Ridge precision on the lag weights (not the intercepts): the
        matrix-normal prior ``A_k | Sigma_k ~ MN(0, Sigma_k, I / alpha)``.
        0 is maximum likelihood.
    covars_prior, covars_weight : float
        ``Sigma_k = (S_k + alpha A_k A_k^T + covars_prior I) / (N_k + p + covars_weight)``
        with S_k the weighted residual scatter, N_k the state's occupancy
        and p the number of lag weights per output when ``alpha > 0`` (0
        otherwise): the MAP update under the matrix-normal-inverse-Wishart
        prior. All zero is maximum likelihood.
    n_features : int, optional
        Dimension; inferred from the data when None.

    Attributes
    ----------
    coefs_ : ndarray of shape (n_components, n_features, n_features * n_lags)
        ``A_k``; column block ``j`` multiplies ``x_{t-1-j}``.
    intercepts_ : ndarray of shape (n_components, n_features)
    covars_ : ndarray
        (n_components, n_features, n_features) full, (n_components,
        n_features) diag.
    """

    letters = "mc"

    def __init__(self, n_lags=1, covariance_type="full", alpha=0.0, covars_prior=0.0,
                 covars_weight=0.0, n_features=None):
        self.n_lags = n_lags
        self.covariance_type = covariance_type
        self.alpha = alpha
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.n_features = n_features
        self.coefs_ = None
        self.intercepts_ = None
        self.covars_ = None

    def _known_n_features(self):
        if self.intercepts_ is not None and np.ndim(self.intercepts_) == 2:
            return np.shape(self.intercepts_)[1]
        return self.n_features

    def _split(self, D):
        d = (D.shape[1] - 2) // (self.n_lags + 1)
        return D[:, :d], D[:, d:-1], D[:, -1] > 0

    # ------------------------------------------------------------ interface
    def check_X(self, X):
        """Designs are built and checked by the model (see :func:`lagged_design`)."""
        return X

    def recheck_X(self, X):
        """The design needs no further check."""
        return X

    def initialize(self, X, n_components, random_state, init_params):
        """k-means on the predicted frames, then one weighted least-squares step."""
        Y, _, observed = self._split(X)
        self.n_features = Y.shape[1]
        if ("m" in init_params or self.coefs_ is None or "c" in init_params
                or self.covars_ is None):
            rows = np.flatnonzero(observed)
            labels = kmeans_centres(Y[rows], n_components, random_state)[1]
            posteriors = np.zeros((X.shape[0], n_components))
            posteriors[rows, labels] = 1.0
            stats = self.empty_stats(n_components)
            self.accumulate(stats, X, posteriors)
            # A small ridge keeps a state with few frames well posed at the start.
            scale = max(float(np.trace(stats["zz"].sum(axis=0))), 1.0) * 1e-6
            self._update(stats, "mc", extra_ridge=scale, floor=1e-6 * np.var(Y[rows], axis=0))

    def check_params(self, n_components):
        """Shapes, finite values, positive definite covariances; cache their factors."""
        for name in ("coefs_", "intercepts_", "covars_"):
            if getattr(self, name) is None:
                raise ValueError(f"{name} is not set: fit the model or assign it")
        intercepts = np.asarray(self.intercepts_, dtype=float)
        if intercepts.ndim != 2 or intercepts.shape[0] != n_components:
            raise ValueError(f"intercepts_ must have shape (n_components={n_components}, "
                             f"n_features), got {intercepts.shape}")
        d = intercepts.shape[1]
        coefs = np.asarray(self.coefs_, dtype=float)
        if coefs.shape != (n_components, d, d * self.n_lags):
            raise ValueError(f"coefs_ must have shape ({n_components}, {d}, "
                             f"{d * self.n_lags}), got {coefs.shape}")
        shape = (n_components, d, d) if self.covariance_type == "full" else (n_components, d)
        covars = np.asarray(self.covars_, dtype=float)
        if covars.shape != shape:
            raise ValueError(f"covars_ must have shape {shape}, got {covars.shape}")
        for name, value in (("coefs_", coefs), ("intercepts_", intercepts),
                            ("covars_", covars)):
            if not np.all(np.isfinite(value)):
                raise ValueError(f"{name} must be finite (no NaN or inf)")
        if self.covariance_type == "full":
            if not np.allclose(covars, covars.transpose(0, 2, 1)):
                raise ValueError("covars_ must be symmetric")
            try:
                chol = np.linalg.cholesky(covars)
            except np.linalg.LinAlgError:
                raise ValueError("covars_ must be positive definite") from None
        else:
            if np.any(covars <= 0):
                raise ValueError("covars_ must be positive")
            chol = np.sqrt(covars)
        self.coefs_, self.intercepts_, self.covars_ = coefs, intercepts, covars
        self.n_features = d
        self._chol = chol

    def _weights(self):
        """(n, d, p + 1) regression weights: lag weights then the intercept."""
        return np.concatenate([self.coefs_, self.intercepts_[:, :, None]], axis=2)

    def log_frameprob(self, X):
        """(T, N) log-densities; one GEMM per state predicts every frame at once."""
        Y, Z, observed = self._split(X)
        n, d = self.intercepts_.shape
        out = np.empty((X.shape[0], n))
        weights = self._weights()
        for k in range(n):
            resid = Y - Z @ weights[k].T
            if self.covariance_type == "full":
                chol = self._chol[k]
                z = np.linalg.solve(chol, resid.T)
                quad = np.einsum("ij,ij->j", z, z)
                logdet = 2.0 * np.log(np.diag(chol)).sum()
            else:
                quad = (resid * resid) @ (1.0 / self.covars_[k])
                logdet = np.log(self.covars_[k]).sum()
            out[:, k] = -0.5 * (d * _LOG_2PI + logdet + quad)
        out[~observed] = 0.0
        return out

    def empty_stats(self, n_components):
        """Weighted regression moments per state."""
        d = self._known_n_features()
        p = d * self.n_lags + 1
        return {"n": np.zeros(n_components), "zz": np.zeros((n_components, p, p)),
                "zy": np.zeros((n_components, p, d)), "yy": np.zeros((n_components, d, d))}

    def accumulate(self, stats, X, posteriors):
        """Add ``sum_t g_tk z z^T``, ``z y^T``, ``y y^T`` over the predicted frames."""
        Y, Z, observed = self._split(X)
        post = posteriors * observed[:, None]
        stats["n"] += post.sum(axis=0)
        for k in range(post.shape[1]):
            wz = Z * post[:, k:k + 1]
            stats["zz"][k] += wz.T @ Z
            stats["zy"][k] += wz.T @ Y
            stats["yy"][k] += (Y * post[:, k:k + 1]).T @ Y

    def m_step(self, stats, params):
        """Weighted least squares (ridge with ``alpha``), then the residual covariances."""
        self._update(stats, params)

    def _update(self, stats, params, extra_ridge=0.0, floor=None):
        n, p, d = stats["zy"].shape
        ridge = np.full(p, float(self.alpha) + extra_ridge)
        ridge[-1] = extra_ridge  # no prior on the intercept
        weights = self._weights() if self.coefs_ is not None else np.zeros((n, d, p))
        empty = stats["n"] <= 0
        for k in np.flatnonzero(~empty):
            if "m" in params:
                gram = stats["zz"][k] + np.diag(ridge)
                weights[k] = np.linalg.lstsq(gram, stats["zy"][k], rcond=None)[0].T
        covars = [None] * n
        for k in range(n):
            if empty[k] and self.covars_ is not None:
                covars[k] = self.covars_[k]
                continue
            w = weights[k]
            cross = w @ stats["zy"][k]
            scatter = stats["yy"][k] - cross - cross.T + w @ stats["zz"][k] @ w.T
            lags = w[:, :-1]
            scatter = scatter + self.alpha * lags @ lags.T + self.covars_prior * np.eye(d)
            count = stats["n"][k] + (p - 1 if self.alpha > 0 else 0) + self.covars_weight
            full = 0.5 * (scatter + scatter.T) / max(count, 1e-300)
            if floor is not None:
                full = full + np.diag(floor)
            covars[k] = full if self.covariance_type == "full" else np.diag(full).copy()
        self.coefs_ = np.ascontiguousarray(weights[:, :, :-1])
        self.intercepts_ = np.ascontiguousarray(weights[:, :, -1])
        if "c" in params or self.covars_ is None:
            self.covars_ = np.array(covars)

    def sample(self, states, random_state):
        """Run the recursion along ``states``; lags before the first frame are 0."""
        n_frames = states.shape[0]
        d = self.intercepts_.shape[1]
        noise = random_state.standard_normal((n_frames, d))
        if self.covariance_type == "full":
            noise = np.einsum("tij,tj->ti", self._chol[states], noise)
        else:
            noise = noise * np.sqrt(self.covars_[states])
        history = np.zeros(d * self.n_lags)
        out = np.empty((n_frames, d))
        for t in range(n_frames):  # the recursion needs each frame before the next
            k = states[t]
            out[t] = self.coefs_[k] @ history + self.intercepts_[k] + noise[t]
            history = np.concatenate([out[t], history[:-d]]) if self.n_lags > 1 else out[t]
        return out

    def n_free_parameters(self, params):
        """Weights, intercepts and covariances per state."""
        n, d = self.intercepts_.shape
        count = 0
        if "m" in params:
            count += n * d * (d * self.n_lags + 1)
        if "c" in params:
            count += n * (d * (d + 1) // 2 if self.covariance_type == "full" else d)
        return count
