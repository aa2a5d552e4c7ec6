"""Poisson emissions: independent counts per feature."""

from __future__ import annotations

import weakref

import numpy as np
from scipy.special import gammaln

from hmm_core.emissions.base import EmissionModel, NotFittedError
from hmm_core.kernels.validation import as_float_array, log

__all__ = ["MAX_COUNT", "PoissonEmission", "check_counts"]

#: Largest count accepted: every integer up to 2**53 is exact in float64,
#: and sums and log-factorials of such counts stay finite.
MAX_COUNT = 2**53


def check_counts(X, n_features: int | None = None, name: str = "X",
                 allow_missing: bool = False) -> np.ndarray:
    """Validate a matrix of non-negative integer counts.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Counts; integer dtype, or floats holding whole numbers, at most
        :data:`MAX_COUNT`.
    n_features : int, optional
        Expected number of columns.
    name : str
        Argument name for error messages.
    allow_missing : bool
        Accept NaN as a missing entry.

    Returns
    -------
    ndarray of float64, shape (n_samples, n_features)
        C-contiguous; float so that the log-likelihood is a matrix product.
        Never a view of the caller's memory, so per-array caches stay valid.
    """
    raw = X if isinstance(X, np.ndarray) else None
    if raw is not None and raw.size and np.issubdtype(raw.dtype, np.integer) and (
            raw.max() > MAX_COUNT):
        # Checked before the float conversion, which would round it.
        raise ValueError(_too_large(name, raw.max()))
    arr = as_float_array(X, name, 2)
    if arr is X or not arr.flags.owndata:
        arr = arr.copy()
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: expected at least one frame")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no feature column")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features but the model has "
                         f"{n_features}")
    missing = np.isnan(arr)
    if missing.any() and not allow_missing:
        raise ValueError(f"{name} must not contain NaN")
    if np.isinf(arr).any():
        raise ValueError(f"{name} must not contain inf")
    observed = arr[~missing] if missing.any() else arr
    if observed.size == 0:
        raise ValueError(f"{name} has no observed value: every entry is missing (NaN)")
    if np.any(observed < 0):
        raise ValueError(f"{name} must hold non-negative counts, found {observed.min():g}")
    if np.any(observed != np.floor(observed)):
        raise ValueError(f"{name} must hold integer counts; found non-integer values")
    if observed.max() > MAX_COUNT:
        raise ValueError(_too_large(name, observed.max()))
    return arr


def _too_large(name, value):
    return (f"{name} must hold counts of at most 2**53 = {MAX_COUNT} (the integers float64 "
            f"holds exactly), found {float(value):.4g}")


def safe_log_rates(rates: np.ndarray):
    """``log(rates)`` with 0 for zero rates, and the mask of those zeros.

    A zero rate (probability) must give ``log p(0) = 0`` and ``log p(x>0) = -inf``;
    ``0 * log 0`` inside a matrix product would give NaN instead.
    """
    zero = rates <= 0
    return np.where(zero, 0.0, log(np.where(zero, 1.0, rates))), zero


def apply_zero_rates(loglik: np.ndarray, X: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """Set ``loglik[t, i] = -inf`` where frame t has a positive count on a zero-rate feature."""
    if zero.any():
        hits = (X > 0).astype(np.float64) @ zero.T.astype(np.float64)
        loglik[hits > 0] = -np.inf
    return loglik


#: Largest rate sampled: NumPy's Poisson draws stop near the int64 limit (~9.2e18).
_MAX_SAMPLED_RATE = 1e18

class DataCache:
    """Parameter-free terms of one validated array, reused across EM iterations.

    Keyed by a weak reference to the array: validated arrays are private
    copies (see :func:`check_counts`), so they cannot change while alive.
    """

    def __init__(self):
        self._ref = None
        self._value = None

    def get(self, X, compute):
        """``compute(X)``, or its stored result when ``X`` is the same array."""
        if self._ref is None or self._ref() is not X:
            self._value = compute(X)
            self._ref = weakref.ref(X)
        return self._value

    def __deepcopy__(self, memo):
        # Model snapshots should not copy data-sized arrays.
        return DataCache()


class PoissonEmission(EmissionModel):
    """Each state emits independent Poisson counts, one rate per feature.

    NaN marks a missing entry: only the observed features of a frame enter its
    likelihood (the missing feature is marginalised out), and the rate update
    of a feature uses only the frames where it was observed.

    Parameters
    ----------
    lambdas_prior : float or array-like
        Shape ``alpha`` of a Gamma prior on each rate; a scalar, an array of
        shape (n_components,) (one per state) or (n_components, n_features).
    lambdas_weight : float or array-like
        Rate ``beta`` of that Gamma prior (pseudo-observations), same shapes.
        With ``alpha = beta = 0`` (the default) the update is maximum likelihood.

    Attributes
    ----------
    lambdas_ : ndarray of shape (n_components, n_features)
        Expected count of every feature in every state.
    n_features : int or None
        Number of count columns, known once ``lambdas_`` is set or fitted.
    """

    letters = "l"

    def __init__(self, lambdas_prior=0.0, lambdas_weight=0.0):
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight
        self.n_features = None
        self._cache = DataCache()

    def __repr__(self):
        return (f"PoissonEmission(lambdas_prior={self.lambdas_prior!r}, "
                f"lambdas_weight={self.lambdas_weight!r})")

    def _known_n_features(self):
        lambdas = getattr(self, "lambdas_", None)
        try:
            shape = np.shape(lambdas)
        except ValueError:  # ragged: check_params names lambdas_
            shape = ()
        # A malformed lambdas_ (a scalar, a string) is reported by check_params.
        return shape[-1] if len(shape) == 2 else self.n_features

    def check_X(self, X):
        """Non-negative integer counts, NaN allowed (missing); float64 (T, D)."""
        return check_counts(X, self._known_n_features(), allow_missing=True)

    def initialize(self, X, n_components, random_state, init_params):
        """Gamma draws around the data mean (hmmlearn's method of moments)."""
        self.n_features = X.shape[1]
        if "l" not in init_params and getattr(self, "lambdas_", None) is not None:
            return
        mean, var = np.nanmean(X), np.nanvar(X)
        shape = (n_components, self.n_features)
        if mean > 0 and var > 0:
            self.lambdas_ = random_state.gamma(shape=mean**2 / var, scale=var / mean,
                                               size=shape)
        else:
            # Constant data: no spread to draw from; every rate is the mean.
            self.lambdas_ = np.full(shape, float(mean))

    def _prior(self, value, name, n_components):
        arr = np.asarray(value, dtype=float)
        if arr.ndim == 1 and arr.shape[0] == n_components:
            arr = arr[:, None]  # one value per state, as hmmlearn documents
        try:
            arr = np.broadcast_to(arr, (n_components, self.n_features))
        except ValueError:
            raise ValueError(f"{name} must be a scalar or have shape ({n_components},) or "
                             f"({n_components}, {self.n_features}), got {np.shape(value)}"
                             ) from None
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"{name} must be finite and non-negative")
        return arr

    def check_params(self, n_components):
        """``lambdas_`` is (n_components, n_features), finite and non-negative."""
        if getattr(self, "lambdas_", None) is None:
            raise NotFittedError("lambdas_ is not set: fit the model or assign it")
        lambdas = as_float_array(self.lambdas_, "lambdas_", 2)
        if lambdas.shape[0] != n_components or lambdas.shape[1] == 0:
            raise ValueError(f"lambdas_ must have shape ({n_components}, n_features), "
                             f"got {lambdas.shape}")
        # The rates define the number of features.
        self.n_features = lambdas.shape[1]
        if not np.all(np.isfinite(lambdas)) or np.any(lambdas < 0):
            raise ValueError("lambdas_ must be finite and non-negative")
        self._alpha = self._prior(self.lambdas_prior, "lambdas_prior", n_components)
        self._beta = self._prior(self.lambdas_weight, "lambdas_weight", n_components)
        self.lambdas_ = lambdas
        self._log_lambdas, self._zero = safe_log_rates(lambdas)

    @staticmethod
    def _data_terms(X):
        missing = np.isnan(X)
        if missing.any():
            observed = (~missing).astype(np.float64)
            X = np.where(missing, 0.0, X)
        else:
            observed = None
        # A missing entry is 0 in ``X`` now, and log(0!) = 0, so it drops out.
        return X, observed, gammaln(X + 1.0).sum(axis=1)

    def log_frameprob(self, X):
        """``X log(lambda) - lambda - log(X!)`` summed over the observed features."""
        filled, observed, log_fact = self._cache.get(X, self._data_terms)
        if observed is None:
            rate_term = self.lambdas_.sum(axis=1)[None, :]
        else:
            rate_term = observed @ self.lambdas_.T
        loglik = filled @ self._log_lambdas.T
        loglik -= rate_term  # in place: no (T, N) temporaries
        loglik -= log_fact[:, None]
        return np.ascontiguousarray(apply_zero_rates(loglik, filled, self._zero))

    def empty_stats(self, n_components):
        """Posterior mass and weighted counts per state and feature."""
        return {"post": np.zeros((n_components, self.n_features)),
                "obs": np.zeros((n_components, self.n_features))}

    def accumulate(self, stats, X, posteriors):
        """Per-feature sums over the frames where that feature was observed."""
        filled, observed, _ = self._cache.get(X, self._data_terms)
        if observed is None:
            stats["post"] += posteriors.sum(axis=0)[:, None]
        else:
            stats["post"] += posteriors.T @ observed
        stats["obs"] += posteriors.T @ filled

    def m_step(self, stats, params):
        """Gamma posterior mean ``(alpha + sum x) / (beta + n)`` per state and feature.

        ``n`` is the posterior mass of the state (hmmlearn 0.3.3 uses the mass
        summed over all states, which only agrees for one state). An entry with
        nothing to learn from (``beta + n = 0``) keeps its current value.
        """
        if "l" not in params:
            return
        denom = self._beta + stats["post"]
        empty = denom <= 0
        with np.errstate(invalid="ignore", divide="ignore"):
            updated = (self._alpha + stats["obs"]) / np.where(empty, 1.0, denom)
        self.lambdas_ = np.where(empty, self.lambdas_, updated)

    def sample(self, states, random_state):
        """One Poisson draw per feature, as int64 counts."""
        top = float(self.lambdas_.max()) if self.lambdas_.size else 0.0
        if top > _MAX_SAMPLED_RATE:
            raise ValueError(f"lambdas_ holds a rate of {top:g}: counts drawn from rates above "
                             f"{_MAX_SAMPLED_RATE:g} do not fit in int64")
        return random_state.poisson(self.lambdas_[states]).astype(np.int64)

    def n_free_parameters(self, params):
        """One rate per state and feature."""
        return int(self.lambdas_.size) if "l" in params else 0
