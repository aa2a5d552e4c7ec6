"""Shared Gaussian machinery: covariance storage, floors, log-densities, moments.

The Gaussian and Gaussian-mixture emissions both reduce their parameters to
``K`` Gaussian *components* (one per state, or one per state and mixture
component) held by :class:`GaussianComponents`, which computes log-densities
and posterior-weighted moments with missing values (NaN) marginalised.

Covariance storage follows hmmlearn, per ``covariance_type``: ``spherical``
one variance per component, ``diag`` one variance per feature, ``full`` one
matrix per component, ``tied`` one matrix shared by several components.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve, lapack

from hmm_core.kernels._emissions import diag_log_density, diag_moments
from hmm_core.kernels.config import effective_n_threads
from hmm_core.kernels.validation import as_float_array

__all__ = [
    "COVARIANCE_TYPES",
    "GaussianComponents",
    "broadcast_prior",
    "check_covariance_type",
    "check_covars",
    "check_n_features",
    "check_observations",
    "floor_covars",
    "merge_moments",
    "scatter_about",
    "to_full",
]

COVARIANCE_TYPES = ("spherical", "diag", "full", "tied")
_LOG_2PI = np.log(2.0 * np.pi)
# Relative asymmetry tolerated in a covariance matrix (rounding of X.T @ X).
_SYMMETRY_RTOL = 1e-8


# ----------------------------------------------------------------- validation
def check_covariance_type(value) -> str:
    """Return ``value`` if it names a covariance type, else raise ``ValueError``."""
    if value not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {value!r}")
    return value


def check_n_features(X: np.ndarray, n_features: int | None, name: str = "X") -> np.ndarray:
    """Return ``X`` (2-D) if it has ``n_features`` columns (or that is not known yet).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_features : int or None
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray
        ``X`` itself.
    """
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features but the model has "
                         f"n_features={n_features}")
    return X


def check_observations(X, n_features: int | None = None, name: str = "X") -> np.ndarray:
    """Validate real-valued observations; NaN marks a missing value.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_features : int, optional
        Required number of columns.
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        C-contiguous float64.
    """
    arr = as_float_array(X, name, None)
    if arr.ndim != 2:
        hint = " (use X.reshape(-1, 1) for one feature)" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D, shape (n_samples, n_features), got shape "
                         f"{arr.shape}{hint}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty: got shape {arr.shape}")
    if has_inf(arr):
        raise ValueError(f"{name} contains +/-inf; use NaN to mark a missing value")
    check_n_features(arr, n_features, name)
    return arr


def has_inf(arr: np.ndarray) -> bool:
    """Whether a float array holds +/-inf.

    A finite sum rules it out in one pass with no temporary array (a third of
    the time of ``np.isinf(arr).any()`` here); a sum that is not finite (NaN,
    inf or overflow) gets the exact test.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(arr, axis=None)
    return not np.isfinite(total) and bool(np.isinf(arr).any())


def has_observation(X: np.ndarray) -> bool:
    """Whether X (NaN = missing) holds a finite value; O(1) when the first one is."""
    return bool(np.isfinite(X.flat[0])) or bool(np.isfinite(X).any())


def _check_positive(arr: np.ndarray, name: str) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    bad = np.argwhere(arr <= 0)
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        raise ValueError(f"{name} must be positive; {name}{list(idx)} = {arr[idx]!r}")
    return arr


def _check_spd(arr: np.ndarray, name: str) -> np.ndarray:
    """Check a stack of matrices (last two axes) is symmetric positive definite."""
    if arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name} must hold square matrices, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    lead = arr.shape[:-2]
    flat = arr.reshape(-1, *arr.shape[-2:])
    scale = np.abs(flat).max(axis=(1, 2))
    asym = np.abs(flat - flat.transpose(0, 2, 1)).max(axis=(1, 2))
    bad = np.flatnonzero(asym > _SYMMETRY_RTOL * scale)
    if bad.size:
        where = list(np.unravel_index(bad[0], lead)) if lead else []
        raise ValueError(f"{name}{[int(i) for i in where]} is not symmetric "
                         f"(max |A - A.T| = {asym[bad[0]]:.3g})")
    flat = 0.5 * (flat + flat.transpose(0, 2, 1))
    eig = np.linalg.eigvalsh(flat).min(axis=1)
    bad = np.flatnonzero(eig <= 0)
    if bad.size:
        where = list(np.unravel_index(bad[0], lead)) if lead else []
        raise ValueError(f"{name}{[int(i) for i in where]} is not positive definite "
                         f"(smallest eigenvalue {eig[bad[0]]:.3g})")
    return flat.reshape(arr.shape)


def check_covars(value, covariance_type: str, shape: tuple, name: str = "covars_"):
    """Validate covariance storage of the given ``covariance_type``.

    Parameters
    ----------
    value : array-like
        Variances (``spherical``, ``diag``) or matrices (``full``, ``tied``).
    covariance_type : {"spherical", "diag", "full", "tied"}
    shape : tuple of int or None
        Expected shape; ``None`` entries are not checked (unknown yet).
    name : str

    Returns
    -------
    ndarray
        float64; matrices are symmetrised.
    """
    arr = as_float_array(value, name, None)
    if (covariance_type == "spherical" and arr.ndim > len(shape)
            and all(extra == 1 for extra in arr.shape[len(shape):])):
        arr = arr.reshape(arr.shape[:len(shape)])  # (n, 1) and the like, as hmmlearn accepts
    if arr.ndim != len(shape) or any(s is not None and s != a
                                     for s, a in zip(shape, arr.shape, strict=True)):
        expected = tuple("?" if s is None else s for s in shape)
        raise ValueError(f"{covariance_type!r} {name} must have shape {expected}, got "
                         f"{arr.shape}".replace("'?'", "?"))
    if covariance_type in ("spherical", "diag"):
        return _check_positive(arr, name)
    return _check_spd(arr, name)


def broadcast_prior(value, shape: tuple, name: str, per_state: bool = False) -> np.ndarray:
    """Broadcast a prior hyper-parameter to ``shape``.

    With ``per_state``, a 1-D array of length ``shape[0]`` is one value per
    state (hmmlearn's documented shape) rather than per trailing axis.
    """
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if per_state and arr.ndim == 1 and len(shape) > 1 and arr.shape[0] == shape[0]:
        arr = arr.reshape((-1,) + (1,) * (len(shape) - 1))
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(f"{name} of shape {arr.shape} cannot be broadcast to {shape}") from None


# ------------------------------------------------------------- conversions
def to_full(covars: np.ndarray, covariance_type: str, n_features: int) -> np.ndarray:
    """Expand ``spherical``/``diag`` storage to matrices; ``full``/``tied`` pass through.

    A leading shape is kept: ``diag`` (n, d) -> (n, d, d), spherical (n, m) ->
    (n, m, d, d).
    """
    covars = np.asarray(covars, dtype=float)
    eye = np.eye(n_features)
    if covariance_type == "spherical":
        return covars[..., None, None] * eye
    if covariance_type == "diag":
        return covars[..., :, None] * eye
    return covars


def floor_covars(covars: np.ndarray, covariance_type: str, min_covar: float,
                 variance=None) -> np.ndarray:
    """Apply the ``min_covar`` floor, relative to reference variances.

    Variances are clipped at ``min_covar * variance``; matrices are
    standardised by the reference standard deviations, their eigenvalues
    clipped at ``min_covar`` (the nearest matrix, in Frobenius norm, whose
    smallest eigenvalue is ``min_covar``), and mapped back. Without
    ``variance`` the floor is ``min_covar`` itself. A matrix already above
    the floor is returned unchanged, bit for bit.

    Parameters
    ----------
    covars : ndarray
        Variances (``spherical``, ``diag``) or matrices in the last two axes.
    covariance_type : {"spherical", "diag", "full", "tied"}
    min_covar : float
    variance : float or ndarray, optional
        Reference variance: broadcast against ``covars`` for ``spherical``
        and ``diag``, one per feature (n_features,) for ``full`` and ``tied``.

    Returns
    -------
    ndarray
        Same shape as ``covars``.
    """
    if covariance_type in ("spherical", "diag"):
        return np.maximum(covars, min_covar if variance is None else min_covar * variance)
    mats = 0.5 * (covars + np.swapaxes(covars, -1, -2))
    flat = mats.reshape(-1, *mats.shape[-2:])
    if variance is None:
        sd = np.ones(flat.shape[-1])
        std = flat
    else:
        sd = np.sqrt(np.asarray(variance, dtype=float))
        std = flat / np.multiply.outer(sd, sd)
    low = np.linalg.eigvalsh(std)[:, 0] < min_covar
    if low.any():
        w, v = np.linalg.eigh(std[low])
        flat = flat.copy()
        fixed = (v * np.maximum(w, min_covar)[:, None, :]) @ np.swapaxes(v, -1, -2)
        flat[low] = fixed * np.multiply.outer(sd, sd)
    return flat.reshape(covars.shape)


# ------------------------------------------------------------------ moments
def merge_moments(acc: dict | None, new: dict) -> dict:
    """Combine two sets of weighted moments (Chan et al.'s parallel update).

    Each holds ``count`` (K,) or (K, d), ``mean`` (K, d) and ``scatter``
    about that mean, (K, d) for diagonal or (K, d, d) for full components.
    """
    if acc is None:
        return new
    n1, n2 = acc["count"], new["count"]
    total = n1 + n2
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(total > 0, n2 / np.where(total > 0, total, 1.0), 0.0)
    delta = new["mean"] - acc["mean"]
    full = new["scatter"].ndim == 3
    f = frac[:, None] if full else frac
    extra = (n1 * frac)[:, None, None] * delta[:, :, None] * delta[:, None, :] if full else (
        n1 * frac * delta**2)
    return {"count": total, "mean": acc["mean"] + delta * f,
            "scatter": acc["scatter"] + new["scatter"] + extra}


def scatter_about(moments: dict, centre: np.ndarray) -> np.ndarray:
    """Weighted scatter about ``centre`` (K, d): ``S + n (mean - c)(mean - c)^T``."""
    delta = moments["mean"] - centre
    if moments["scatter"].ndim == 3:
        return moments["scatter"] + moments["count"][:, None, None] * (
            delta[:, :, None] * delta[:, None, :])
    return moments["scatter"] + moments["count"] * delta**2


# --------------------------------------------------------------- components
class GaussianComponents:
    """``K`` Gaussian components with diagonal or (possibly shared) full covariances.

    Parameters
    ----------
    means : ndarray of shape (K, d)
    variances : ndarray of shape (K, d), optional
        Diagonal covariances.
    covariances : ndarray of shape (G, d, d), optional
        Full covariances, used when ``variances`` is None.
    groups : ndarray of int of shape (K,), optional
        Index into ``covariances`` of each component (default ``arange(K)``);
        components of one group share a covariance and its Cholesky factor.
    """

    def __init__(self, means, variances=None, covariances=None, groups=None):
        self.means = np.ascontiguousarray(means, dtype=float)
        self.diagonal = variances is not None
        if self.diagonal:
            self.var = np.broadcast_to(variances, self.means.shape).astype(float)
            return
        self.covs = np.asarray(covariances, dtype=float)
        self.groups = np.arange(len(self.means)) if groups is None else np.asarray(groups)
        self.chol, self.logdet, self.whiten = _cholesky(self.covs)

    # ---------------------------------------------------------- densities
    def log_density(self, X: np.ndarray) -> np.ndarray:
        """(T, K) log-densities of the observed part of each frame.

        A frame with missing features is scored under the marginal of its
        observed features; a fully missing frame scores 0.
        """
        if self.diagonal:
            return self._log_density_diag(X)
        return self._log_density_full(X)

    def _log_density_diag(self, X):
        # A compiled loop over frames: (x - mu)^2 / var needs no cancellation
        # guard and no (T, d) temporaries; NaN features are marginalised out.
        out = np.empty((X.shape[0], len(self.means)))
        work = X.shape[0] * out.shape[1] * X.shape[1]
        diag_log_density(np.ascontiguousarray(X, dtype=float), self.means,
                         np.ascontiguousarray(self.var), out,
                         effective_n_threads(None) if work >= 1_000_000 else 1)
        return out

    def _log_density_full(self, X):
        out = np.zeros((X.shape[0], len(self.means)))
        if not np.isnan(X).any():
            self._quad_full(X, self.means, self.whiten, self.logdet, out)
            return out
        observed = ~np.isnan(X)
        complete = observed.all(axis=1)
        if complete.any():
            out[complete] = self._quad_full(X[complete], self.means, self.whiten, self.logdet)
        for rows, obs_idx, _ in _partial_patterns(observed):
            # The marginal of the observed features: factorise its sub-covariance.
            _, logdet, whiten = _cholesky(self.covs[:, obs_idx][:, :, obs_idx])
            out[rows] = self._quad_full(X[np.ix_(rows, obs_idx)], self.means[:, obs_idx],
                                        whiten, logdet)
        return out

    def _quad_full(self, X, means, whiten, logdet, out=None):
        """Log-densities of complete rows ``X``; ``whiten[g]`` is ``L_g^-1``."""
        if out is None:
            out = np.empty((X.shape[0], len(means)))
        d = X.shape[1]
        for g in range(len(whiten)):
            ks = np.flatnonzero(self.groups == g)
            if ks.size == 0:
                continue
            # Whiten the centred batch with one GEMM per covariance: rows of Y
            # are L^-1 (x - c). (A batched triangular solve gives the same
            # numbers but is far slower through threaded BLAS on small d.)
            centre = means[ks].mean(axis=0)
            Y = (X - centre) @ whiten[g].T
            Z = (means[ks] - centre) @ whiten[g].T
            # |y - z|^2 expanded into one more GEMM. For a component alone in
            # its group z = 0 exactly; otherwise y and z are measured from the
            # group's centre, so the cancellation is on the states' spread.
            with np.errstate(over="ignore", invalid="ignore"):
                quad = (np.einsum("ij,ij->i", Y, Y)[:, None] - 2.0 * (Y @ Z.T)
                        + np.einsum("ij,ij->i", Z, Z))
            # NaN (inf - inf) and overflow are both a distance beyond doubles: +inf.
            quad = np.nan_to_num(np.maximum(quad, 0.0), nan=np.inf, posinf=np.inf)
            out[:, ks] = -0.5 * (d * _LOG_2PI + logdet[g] + quad)
        return out

    # ------------------------------------------------------------ moments
    def moments(self, X: np.ndarray, weights: np.ndarray) -> dict:
        """Weighted moments of each component.

        Parameters
        ----------
        X : ndarray of shape (T, d)
        weights : ndarray of shape (T, K)
            Posterior weight of each frame for each component.

        Returns
        -------
        dict
            ``count``, ``mean`` and ``scatter`` about ``mean`` (see
            :func:`merge_moments`). Diagonal components: per-feature counts
            over observed values only. Full components: missing values are
            replaced by their conditional expectation given the observed ones
            under the current component, and the conditional covariance is
            added to the scatter (the exact EM step for Gaussian data with
            values missing at random); fully missing frames are left out.
        """
        if self.diagonal:
            return self._moments_diag(X, weights)
        return self._moments_full(X, weights)

    def _moments_diag(self, X, W):
        K, d = self.means.shape
        count, mean, scatter = np.empty((K, d)), np.empty((K, d)), np.empty((K, d))
        work = X.shape[0] * K * d
        diag_moments(np.ascontiguousarray(X, dtype=float),
                     np.ascontiguousarray(W, dtype=float), count, mean, scatter,
                     effective_n_threads(None) if work >= 1_000_000 else 1,
                     center=self.means)
        return {"count": count, "mean": mean, "scatter": scatter}

    def _moments_full(self, X, W):
        K, d = self.means.shape
        observed = ~np.isnan(X)
        patterns = []
        if np.isnan(X).any():
            patterns = _partial_patterns(observed)
            W = W * observed.any(axis=1)[:, None]
        count = W.sum(axis=0)
        mean = np.zeros((K, d))
        scatter = np.zeros((K, d, d))
        X0 = np.where(observed, X, 0.0)
        for k in range(K):
            w = W[:, k]
            if count[k] <= 0:
                continue
            Xk, extra = X0, np.zeros((d, d))
            if patterns:
                Xk = X0.copy()
                cov, mu = self.covs[self.groups[k]], self.means[k]
                for rows, o, m in patterns:
                    factor = np.linalg.cholesky(cov[np.ix_(o, o)])
                    gain = cho_solve((factor, True), cov[np.ix_(o, m)])  # S_oo^-1 S_om
                    Xk[np.ix_(rows, m)] = mu[m] + (X[np.ix_(rows, o)] - mu[o]) @ gain
                    extra[np.ix_(m, m)] += w[rows].sum() * (cov[np.ix_(m, m)]
                                                            - cov[np.ix_(m, o)] @ gain)
            mean[k] = (w @ Xk) / count[k]
            D = Xk - mean[k]
            scatter[k] = (D.T * w) @ D + extra
        return {"count": count, "mean": mean, "scatter": scatter}

    # ------------------------------------------------------------ sampling
    def sample(self, components: np.ndarray, random_state) -> np.ndarray:
        """One draw per entry of ``components`` (indices into the K components)."""
        T, d = components.shape[0], self.means.shape[1]
        Z = random_state.standard_normal((T, d))
        out = np.empty((T, d))
        for k in np.unique(components):
            rows = components == k
            if self.diagonal:
                out[rows] = self.means[k] + Z[rows] * np.sqrt(self.var[k])
            else:
                out[rows] = self.means[k] + Z[rows] @ self.chol[self.groups[k]].T
        return out


def _cholesky(covs: np.ndarray):
    """Lower Cholesky factors, log-determinants and inverse factors of a stack."""
    try:
        chol = np.linalg.cholesky(covs)
    except np.linalg.LinAlgError:
        raise ValueError("covariance matrix is not numerically positive definite "
                         "(raise min_covar or check covars_)") from None
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)
    # Triangular inverse (LAPACK trtri), once per factor.
    whiten = np.stack([lapack.dtrtri(c, lower=1)[0] for c in chol])
    return chol, logdet, whiten


def _partial_patterns(observed: np.ndarray):
    """Group partially observed rows by missing pattern.

    Returns a list of ``(rows, observed_idx, missing_idx)``; complete and
    fully missing rows are left out.
    """
    n_obs = observed.sum(axis=1)
    partial = np.flatnonzero((n_obs > 0) & (n_obs < observed.shape[1]))
    if partial.size == 0:
        return []
    patterns, inverse = np.unique(observed[partial], axis=0, return_inverse=True)
    inverse = inverse.ravel()
    return [(partial[inverse == p], np.flatnonzero(pat), np.flatnonzero(~pat))
            for p, pat in enumerate(patterns)]
