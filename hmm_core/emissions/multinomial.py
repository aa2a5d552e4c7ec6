"""Multinomial emissions: counts of ``n_features`` outcomes over a number of trials."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from hmm_core.emissions.base import EmissionModel, NotFittedError, dirichlet_map_rows
from hmm_core.emissions.poisson import (
    DataCache,
    apply_zero_rates,
    check_counts,
    safe_log_rates,
)
from hmm_core.kernels.validation import SUM_TOL, as_float_array

__all__ = ["MultinomialEmission"]


def _check_n_trials(n_trials):
    """``None``, a non-negative integer, or a 1-D array of them (one per row)."""
    if n_trials is None:
        return None
    arr = np.asarray(n_trials)
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"n_trials must be an integer or a 1-D array of integers, "
                         f"got shape {arr.shape}")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"n_trials must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError("n_trials must hold non-negative integers")
    return arr


class MultinomialEmission(EmissionModel):
    """Each state emits a vector of counts from a multinomial distribution.

    Row ``x_t`` holds the counts of ``n_features`` outcomes in ``n = sum(x_t)``
    trials; its likelihood ``n! / prod(x_tk!) * prod(p_k ** x_tk)`` includes
    the multinomial coefficient, as hmmlearn's does.

    Parameters
    ----------
    n_trials : int or array-like of shape (n_samples,), optional
        Trials per row. When given, every row of ``X`` must sum to it; an
        array gives one value per row (it then fixes the number of rows).
        None accepts any row totals.
    emissionprob_prior : float or array-like of shape (n_components, n_features)
        Dirichlet concentration of the outcome probabilities; 1 means no prior.

    Attributes
    ----------
    emissionprob_ : ndarray of shape (n_components, n_features)
        Outcome probabilities of every state.
    n_features : int or None
        Number of outcomes, known once ``emissionprob_`` is set or fitted.
    """

    letters = "e"
    _file_extra = ("n_features", "_fit_trials")

    def __init__(self, n_trials=None, emissionprob_prior=1.0):
        self.n_trials = n_trials
        self.emissionprob_prior = emissionprob_prior
        self.n_features = None
        # Single row total seen in fit, used by sample() when n_trials is None.
        self._fit_trials = None
        self._cache = DataCache()

    def __repr__(self):
        return (f"MultinomialEmission(n_trials={self.n_trials!r}, "
                f"emissionprob_prior={self.emissionprob_prior!r})")

    def _known_n_features(self):
        probs = getattr(self, "emissionprob_", None)
        return np.shape(probs)[-1] if probs is not None else self.n_features

    def check_X(self, X):
        """Non-negative integer counts whose rows sum to ``n_trials`` (when set)."""
        X = check_counts(X, self._known_n_features())
        trials = _check_n_trials(self.n_trials)
        if trials is None:
            return X
        if trials.ndim == 1 and trials.shape[0] != X.shape[0]:
            raise ValueError(f"n_trials has {trials.shape[0]} entries but X has "
                             f"{X.shape[0]} rows (one n_trials per row)")
        bad = np.flatnonzero(X.sum(axis=1) != trials)
        if bad.size:
            expected = trials if trials.ndim == 0 else trials[bad[0]]
            raise ValueError(f"every row of X must sum to n_trials; row {bad[0]} sums to "
                             f"{X[bad[0]].sum():g}, expected {expected:g}")
        return X

    def initialize(self, X, n_components, random_state, init_params):
        """Uniform draws normalised per state, as hmmlearn does."""
        self.n_features = X.shape[1]
        totals = np.unique(X.sum(axis=1))
        self._fit_trials = int(totals[0]) if totals.size == 1 else None
        if "e" in init_params or getattr(self, "emissionprob_", None) is None:
            probs = random_state.rand(n_components, self.n_features)
            self.emissionprob_ = probs / probs.sum(axis=1, keepdims=True)

    def check_params(self, n_components):
        """``emissionprob_`` is (n_components, n_features), rows are distributions."""
        _check_n_trials(self.n_trials)
        if getattr(self, "emissionprob_", None) is None:
            raise NotFittedError("emissionprob_ is not set: fit the model or assign it")
        probs = as_float_array(self.emissionprob_, "emissionprob_", 2)
        if probs.shape[0] != n_components or probs.shape[1] == 0:
            raise ValueError(f"emissionprob_ must have shape ({n_components}, n_features), "
                             f"got {probs.shape}")
        if not np.all(np.isfinite(probs)) or np.any(probs < 0):
            raise ValueError("emissionprob_ must be finite and non-negative")
        sums = probs.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1) > SUM_TOL)
        if bad.size:
            raise ValueError(f"rows of emissionprob_ must sum to 1; row {bad[0]} sums to "
                             f"{sums[bad[0]]:.10g}")
        self.n_features = probs.shape[1]
        self.emissionprob_ = probs
        self._log_probs, self._zero = safe_log_rates(probs)

    def log_frameprob(self, X):
        """``log n! - sum log x_k! + X @ log(p).T`` (``-inf`` for an outcome of probability 0)."""
        coef = self._cache.get(
            X, lambda X: gammaln(X.sum(axis=1) + 1.0) - gammaln(X + 1.0).sum(axis=1))
        loglik = X @ self._log_probs.T
        loglik += coef[:, None]
        return np.ascontiguousarray(apply_zero_rates(loglik, X, self._zero))

    def empty_stats(self, n_components):
        """Expected outcome counts per state."""
        return {"obs": np.zeros((n_components, self.n_features))}

    def accumulate(self, stats, X, posteriors):
        """Posterior-weighted outcome counts."""
        stats["obs"] += posteriors.T @ X

    def m_step(self, stats, params):
        """Dirichlet MAP update of ``emissionprob_``; structural zeros stay zero."""
        if "e" in params:
            self.emissionprob_ = dirichlet_map_rows(stats["obs"], self.emissionprob_prior,
                                                    self.emissionprob_)

    def sample(self, states, random_state):
        """One multinomial draw per frame; needs a single number of trials."""
        trials = _check_n_trials(self.n_trials)
        if trials is None:
            if self._fit_trials is None:
                raise ValueError("sampling needs n_trials (one number of trials for "
                                 "every row); set n_trials")
            n = self._fit_trials
        else:
            values = np.unique(trials)
            if values.size != 1:
                raise ValueError("sampling needs a single n_trials; got several values")
            n = int(values[0])
        out = np.zeros((states.shape[0], self.n_features), dtype=np.int64)
        for i in np.unique(states):
            rows = np.flatnonzero(states == i)
            out[rows] = random_state.multinomial(n, self.emissionprob_[i], size=rows.size)
        return out

    def n_free_parameters(self, params):
        """Non-zero probabilities minus one per state (structural zeros are not free)."""
        if "e" not in params:
            return 0
        return int(np.sum(np.count_nonzero(self.emissionprob_, axis=1) - 1))
