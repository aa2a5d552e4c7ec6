"""Feature scales of Gaussian training data.

The Gaussian and Gaussian-mixture emissions measure their variance floor
(``min_covar``) and default covariance prior in units of each feature's
spread over the training data, so that a fit does not depend on the units of
the data. This module computes that spread without overflow, refuses data
whose variance double precision cannot hold, and runs k-means and the initial
covariance on standardised features, so that SciPy never sees values whose
squares overflow.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np

__all__ = [
    "VARIANCE_RANGE",
    "FeatureScale",
    "data_covariance",
    "feature_scale",
    "kmeans_centres",
]

#: Smallest and largest per-feature variance the Gaussian code accepts. The
#: floors and priors are small multiples of it, scatter sums are up to
#: n_samples times it, and densities use its inverse: all stay finite and
#: normal inside this range.
VARIANCE_RANGE = (1e-290, 1e290)


class FeatureScale(NamedTuple):
    """Per-feature location and spread of training data (missing values ignored).

    Parameters
    ----------
    centre : ndarray of shape (n_features,)
        Mean of the observed values (the value itself for a constant
        feature, 0 for a feature with no observed value).
    sd : ndarray of shape (n_features,)
        Standard deviation of the observed values; exactly 0 for a constant
        feature.
    variance : ndarray of shape (n_features,)
        The reference variance relative settings are measured in: ``sd**2``,
        or ``centre**2`` for a constant feature, or 1 for a feature that is
        constant at 0 (or never observed).
    """

    centre: np.ndarray
    sd: np.ndarray
    variance: np.ndarray

    def standardise(self, X: np.ndarray) -> np.ndarray:
        """``(X - centre) / sd`` per feature; 0 for constant features, NaN kept.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        spread = self.sd > 0
        sd = np.where(spread, self.sd, 1.0)
        with np.errstate(over="ignore", invalid="ignore"):
            # Halve both sides first: X - centre cannot overflow then.
            Z = (0.5 * X - 0.5 * self.centre) / (0.5 * sd)
        if not spread.all():
            Z[:, ~spread] = np.where(np.isnan(X[:, ~spread]), np.nan, 0.0)
        return Z

    def restore(self, Z: np.ndarray) -> np.ndarray:
        """Map standardised rows back to the units of the data.

        Parameters
        ----------
        Z : ndarray of shape (n, n_features)

        Returns
        -------
        ndarray of shape (n, n_features)
        """
        return Z * self.sd + self.centre


def _power_of_two_above(values: np.ndarray) -> np.ndarray:
    """Per entry, a power of two >= |value| (1 for 0 or NaN): division by it is exact."""
    values = np.where(np.isfinite(values) & (values != 0), np.abs(values), 1.0)
    return np.ldexp(1.0, np.frexp(values)[1])


def _exact_moments(X: np.ndarray):
    """Per-column mean and standard deviation, two passes on exactly rescaled data.

    Constant columns get their value and ``sd = 0`` exactly; columns with no
    observed value get 0 and 0.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        lo, hi = np.fmin.reduce(X, axis=0), np.fmax.reduce(X, axis=0)
    seen = ~np.isnan(lo)
    constant = seen & (lo == hi)
    p = _power_of_two_above(np.fmax(np.abs(lo), np.abs(hi)))
    Y = X / p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, var = np.nanmean(Y, axis=0), np.nanvar(Y, axis=0)
    centre = np.where(constant, lo, np.where(seen, mean * p, 0.0))
    sd = np.where(constant | ~seen, 0.0, np.sqrt(np.where(seen, var, 0.0)) * p)
    return centre, sd


def _moments(X: np.ndarray):
    """Per-column mean and standard deviation of the observed values.

    One pass for the sums and one for the sums of squares; a column
    whose variance that way is unreliable (missing values, overflow or
    underflow of the squares, or a spread below a thousandth of the mean,
    where the subtraction cancels) is redone by :func:`_exact_moments`.
    """
    n = X.shape[0]
    with np.errstate(all="ignore"):
        total = np.einsum("ij->j", X)
        squares = np.einsum("ij,ij->j", X, X)
        mean = total / n
        var = squares / n - mean * mean
        fast = (np.isfinite(total) & np.isfinite(squares) & (squares >= 1e-250 * n)
                & (var > 1e-6 * mean * mean))
    centre, sd = mean, np.sqrt(np.where(fast, var, 0.0))
    if not fast.all():
        slow = np.flatnonzero(~fast)
        centre[slow], sd[slow] = _exact_moments(X[:, slow])
    return centre, sd


def feature_scale(X: np.ndarray, name: str = "X", check: bool = True) -> FeatureScale:
    """Mean, standard deviation and reference variance of every feature.

    Sums in one pass each; a feature whose values are huge, tiny or
    missing is redone on data divided by a power of two (exact), so no
    intermediate overflows whatever the magnitude of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite values or NaN (missing).
    name : str
        Argument name for error messages.
    check : bool
        Refuse a reference variance outside :data:`VARIANCE_RANGE`.

    Returns
    -------
    FeatureScale

    Raises
    ------
    ValueError
        When the reference variance of a feature is outside
        :data:`VARIANCE_RANGE` (its square or its inverse would overflow
        somewhere in the fit); the message names the feature and suggests
        rescaling it.
    """
    centre, sd = _moments(X)
    ref_sd = np.where(sd > 0, sd, np.where(centre != 0, np.abs(centre), 1.0))
    with np.errstate(over="ignore", under="ignore"):
        variance = ref_sd**2
    low, high = VARIANCE_RANGE
    bad = np.flatnonzero(~((variance >= low) & (variance <= high)))
    if check and bad.size:
        j = int(bad[0])
        what = (f"has standard deviation {ref_sd[j]:.3g}" if sd[j] > 0
                else f"is constant at {centre[j]:.3g}")
        raise ValueError(
            f"{name}[:, {j}] {what}: its variance is outside [{low:g}, {high:g}], beyond what "
            f"double precision holds through a Gaussian fit; rescale that feature (e.g. divide "
            f"it by {ref_sd[j]:.3g})")
    return FeatureScale(centre, sd, variance)


def kmeans_centres(X: np.ndarray, k: int, random_state, scale: FeatureScale | None = None):
    """k-means on standardised features (``kmeans2``, k-means++ seeding).

    Each feature is centred and divided by its standard deviation first, so
    squared distances stay small whatever the units (and k-means does not
    depend on them); missing values are imputed with the feature mean.
    Degenerate data (fewer rows than ``k``, constant rows) yields repeated
    centres, never NaN.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    k : int
        Number of centres.
    random_state : numpy.random.RandomState
    scale : FeatureScale, optional
        Scale of ``X``, computed when None.

    Returns
    -------
    centres : ndarray of shape (k, n_features)
    labels : ndarray of int of shape (n_samples,)
    """
    scale = feature_scale(X, check=False) if scale is None else scale
    Z = scale.standardise(X)
    Z[np.isnan(Z)] = 0.0
    if Z.shape[0] >= k:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # empty clusters, kmeans++ on constant data
            from scipy.cluster.vq import kmeans2  # lazily: it costs ~1 s to import

            centres, labels = kmeans2(Z, k, minit="++", seed=random_state)
        if np.all(np.isfinite(centres)):
            return scale.restore(centres), labels
    rows = random_state.randint(Z.shape[0], size=k)
    dist = ((Z[:, None, :] - Z[rows][None]) ** 2).sum(axis=-1)
    return scale.restore(Z[rows]), dist.argmin(axis=1)


def data_covariance(X: np.ndarray, min_covar: float, scale: FeatureScale) -> np.ndarray:
    """Sample covariance of the data plus ``min_covar`` times the reference variances.

    hmmlearn adds ``min_covar * I``; here the added diagonal is relative to
    each feature's reference variance (:class:`FeatureScale`), so the result
    scales with the data. The covariance is computed on standardised
    features, then mapped back. With missing values it uses the fully
    observed rows, or per-feature variances when fewer than two rows are
    complete.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    min_covar : float
    scale : FeatureScale
        Scale of ``X``.

    Returns
    -------
    ndarray of shape (n_features, n_features)
    """
    Z = scale.standardise(X)
    complete = ~np.isnan(Z).any(axis=1)
    if complete.sum() >= 2:
        cz = np.atleast_2d(np.cov(Z[complete].T))
    else:
        counts = (~np.isnan(Z)).sum(axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            var = np.where(counts >= 2, np.nanvar(Z, axis=0, ddof=1), 0.0)
        cz = np.diag(np.nan_to_num(var))
    sd = np.where(scale.sd > 0, scale.sd, 0.0)
    return cz * np.outer(sd, sd) + min_covar * np.diag(scale.variance)
