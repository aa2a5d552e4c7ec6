"""Categorical (discrete symbol) emissions."""

from __future__ import annotations

import numpy as np

from hmm_core.emissions._inverse_cdf import RowSampler
from hmm_core.emissions.base import EmissionModel, NotFittedError, dirichlet_map_rows
from hmm_core.kernels._emissions import group_sum
from hmm_core.kernels.frames import FrameTable
from hmm_core.kernels.validation import as_float_array, log

__all__ = ["CategoricalEmission", "check_symbols"]


MISSING = -1


def _shown(value: int) -> str:
    return str(value) if abs(value) < 2**64 else f"{float(value):.6g}"


def check_symbols(X, n_features: int | None = None, name: str = "X") -> np.ndarray:
    """Validate a column of integer symbols; return them as a 1-D int64 array.

    ``-1`` marks a frame that was not observed.

    Parameters
    ----------
    X : array-like of shape (n_samples, 1) or (n_samples,)
        Integer symbols ``0..n_features - 1``, or -1.
    n_features : int, optional
        Number of symbols, when known.
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray of int64, shape (n_samples,)
    """
    try:
        arr = np.asarray(X)
    except ValueError as exc:  # ragged nesting
        raise ValueError(f"{name} must be a column of symbols: {exc}") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a column of symbols, shape (n_samples, 1) or "
                         f"(n_samples,), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: expected at least one symbol")
    # Every check runs in the given dtype: a cast first would wrap uint64
    # 2**64 - 1 to -1 (a missing frame) and large floats to int64's minimum.
    if arr.dtype == np.bool_:
        raise ValueError(f"{name} must hold integer symbols, got dtype bool "
                         f"(X.astype(int) gives symbols 0 and 1)")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"{name} must hold integer symbols, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must hold integer symbols; found non-integer values")
    low, high = int(arr.min()), int(arr.max())  # exact, whatever the dtype
    if low < MISSING:
        raise ValueError(f"{name} must hold symbols >= 0 (or -1 for a missing frame), "
                         f"found {_shown(low)}")
    if high < 0:
        raise ValueError(f"{name} has no observed symbol: every frame is missing (-1)")
    if n_features is not None and high >= n_features:
        raise ValueError(f"{name} holds symbol {_shown(high)} but n_features is {n_features} "
                         f"(symbols must be in 0..{n_features - 1})")
    if high >= 2**62:  # no table has that many rows
        raise ValueError(f"{name} holds symbol {_shown(high)}, beyond any number of symbols")
    arr = arr.astype(np.int64, copy=False)
    return np.ascontiguousarray(arr)


class CategoricalEmission(EmissionModel):
    """Each state emits one of ``n_features`` symbols.

    A symbol of ``-1`` is a missing frame: its emission term is marginalised
    out (log-likelihood 0 for every state), it still counts for transitions,
    and the emission update ignores it.

    Parameters
    ----------
    n_features : int, optional
        Number of symbols; inferred from the data (``max + 1``) when None.
    emissionprob_prior : float or array-like of shape (n_components, n_features)
        Dirichlet concentration; 1 means no prior.

    Attributes
    ----------
    emissionprob_ : ndarray of shape (n_components, n_features)
        ``emissionprob_[i, k]`` = P(symbol k | state i).
    """

    letters = "e"

    def __init__(self, n_features=None, emissionprob_prior=1.0):
        self.n_features = n_features
        self.emissionprob_prior = emissionprob_prior

    def check_X(self, X):
        """Validate symbols against ``n_features`` (when known)."""
        n_features = self.n_features
        if n_features is None and getattr(self, "emissionprob_", None) is not None:
            n_features = np.shape(self.emissionprob_)[-1]
        return check_symbols(X, n_features)

    def initialize(self, X, n_components, random_state, init_params):
        """Random rows (uniform draws, normalised), as hmmlearn does."""
        if self.n_features is None:
            current = getattr(self, "emissionprob_", None)
            self.n_features = (int(X.max()) + 1 if current is None or "e" in init_params
                               else np.shape(current)[1])
        if "e" in init_params or getattr(self, "emissionprob_", None) is None:
            probs = random_state.rand(n_components, self.n_features)
            self.emissionprob_ = probs / probs.sum(axis=1, keepdims=True)

    def check_params(self, n_components):
        """``emissionprob_`` is (n_components, n_features), finite, rows sum to one."""
        if getattr(self, "emissionprob_", None) is None:
            raise NotFittedError("emissionprob_ is not set: fit the model or assign it")
        probs = as_float_array(self.emissionprob_, "emissionprob_", 2)
        if self.n_features is None:
            self.n_features = probs.shape[1]
        if probs.shape != (n_components, self.n_features):
            raise ValueError(f"emissionprob_ must have shape ({n_components}, "
                             f"{self.n_features}), got {probs.shape} (n_components, "
                             "n_features)")
        if not np.all(np.isfinite(probs)) or np.any(probs < 0):
            raise ValueError("emissionprob_ must be finite and non-negative")
        sums = probs.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1) > 1e-6)
        if bad.size:
            raise ValueError(f"rows of emissionprob_ must sum to 1; row {bad[0]} sums to "
                             f"{sums[bad[0]]:.10g}")
        self.emissionprob_ = probs
        # One extra row of zeros: symbol -1 (missing) indexes it.
        self._log_table = np.vstack([log(probs).T, np.zeros((1, n_components))])

    def log_frameprob(self, X):
        """Gather ``log emissionprob_[:, x_t]`` for every frame (0 where missing)."""
        return np.take(self._log_table, X, axis=0)  # much faster than fancy indexing

    def frame_table(self, X):
        """:meth:`log_frameprob` as a FrameTable: one table row per symbol.

        Parameters
        ----------
        X : ndarray of int64 of shape (n_samples,)
            Validated symbols; -1 marks a missing frame.

        Returns
        -------
        FrameTable
            The (n_features + 1, n_components) log table (last row: zeros, for
            missing frames) and each frame's row in it.
        """
        return FrameTable(self._log_table, self._table_rows(X))

    def _table_rows(self, X):
        """Row of the log table for each symbol: missing (-1) goes to the last row."""
        return X if X.min() >= 0 else np.where(X < 0, self.n_features, X)

    def empty_stats(self, n_components):
        """Expected symbol counts per state."""
        return {"obs": np.zeros((n_components, self.n_features))}

    def accumulate(self, stats, X, posteriors):
        """Posterior-weighted symbol counts (missing frames count for no symbol)."""
        obs = stats["obs"]
        by_symbol = np.zeros((self.n_features + 1, obs.shape[0]))
        group_sum(np.ascontiguousarray(posteriors, dtype=np.float64), self._table_rows(X),
                  by_symbol)
        obs += by_symbol[:-1].T

    def m_step(self, stats, params):
        """Dirichlet MAP update of ``emissionprob_``; structural zeros stay zero."""
        if "e" in params:
            self.emissionprob_ = dirichlet_map_rows(stats["obs"], self.emissionprob_prior,
                                                    self.emissionprob_)

    def sample(self, states, random_state):
        """Inverse-CDF draw of one symbol per state, vectorised by a lookup table.

        The symbols are those of the scalar rule ``searchsorted(cumsum(row),
        u * sum(row), "right")`` for the same uniforms (see
        :mod:`hmm_core.emissions._inverse_cdf`); the uniforms are drawn in
        chunks of one stream, so memory stays bounded.
        """
        sampler = RowSampler(self.emissionprob_)
        out = np.empty((states.shape[0], 1), dtype=np.int64)
        chunk = 2**20
        for a in range(0, states.shape[0], chunk):
            rows = states[a:a + chunk]
            out[a:a + rows.shape[0], 0] = sampler.draw(rows, random_state.random_sample(
                rows.shape[0]))
        return out

    def n_free_parameters(self, params):
        """Non-zero probabilities minus one per state (structural zeros are not free)."""
        if "e" not in params:
            return 0
        return int(np.sum(np.count_nonzero(self.emissionprob_, axis=1) - 1))
