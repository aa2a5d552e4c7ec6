"""Additive sufficient statistics of an HMM: the result of one E-step.

:class:`SufficientStatistics` holds everything an M-step needs from the data:
the log-likelihood, the expected start, transition and end counts and the
emission model's statistics. They are sums over sequences, so the statistics
of a corpus are the sum of the statistics of any split of it into chunks of
whole sequences; that is what out-of-core, online and distributed EM build on::

    stats = sum(model.accumulate(X, lengths) for X, lengths in chunks)
    model.m_step(stats)

No array in them grows with the number of frames, so they pickle small.
"""

from __future__ import annotations

import numbers

import numpy as np

from hmm_core.emissions._covariance import merge_moments

__all__ = ["SufficientStatistics"]

_MOMENTS = frozenset(("count", "mean", "scatter"))


def _is_moments(value) -> bool:
    # Weighted moments (count, mean, scatter about mean) do not add entry-wise.
    return isinstance(value, dict) and set(value) == _MOMENTS


def _add_tree(a, b, where="emission"):
    """Sum of two emission statistics of the same structure (None is zero)."""
    if a is None:
        return _copy_tree(b)
    if b is None:
        return _copy_tree(a)
    if _is_moments(a) and _is_moments(b):
        return merge_moments(_copy_tree(a), b)
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            raise ValueError(f"cannot add statistics with different {where} entries: "
                             f"{sorted(a)} and {sorted(b)}")
        return {key: _add_tree(a[key], b[key], f"{where}[{key!r}]") for key in a}
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            raise ValueError(f"cannot add statistics with {len(a)} and {len(b)} {where} blocks")
        return [_add_tree(x, y, f"{where}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=True))]
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"cannot add statistics of shapes {a_arr.shape} and {b_arr.shape} "
                         f"({where})")
    return a_arr + b_arr


def _scale_tree(a, factor):
    """Statistics weighted by ``factor``: what the same data counted ``factor`` times gives."""
    if a is None:
        return None
    if _is_moments(a):  # the mean of weighted data does not change with the weight
        return {"count": a["count"] * factor, "mean": np.array(a["mean"], copy=True),
                "scatter": a["scatter"] * factor}
    if isinstance(a, dict):
        return {key: _scale_tree(value, factor) for key, value in a.items()}
    if isinstance(a, (list, tuple)):
        return [_scale_tree(value, factor) for value in a]
    return np.asarray(a) * factor


def _copy_tree(a):
    if isinstance(a, dict):
        return {key: _copy_tree(value) for key, value in a.items()}
    if isinstance(a, (list, tuple)):
        return [_copy_tree(value) for value in a]
    return None if a is None else np.array(a, copy=True)


def _flatten(a, prefix, out):
    if isinstance(a, dict):
        for key, value in a.items():
            _flatten(value, f"{prefix}.{key}", out)
    elif isinstance(a, (list, tuple)):
        for i, value in enumerate(a):
            _flatten(value, f"{prefix}[{i}]", out)
    elif a is not None:
        out[prefix] = np.asarray(a)


class SufficientStatistics:
    """Expected sufficient statistics of a set of sequences under an HMM.

    Made by ``model.accumulate(X, lengths)`` and applied by
    ``model.m_step(stats)``. Statistics of disjoint sets of whole sequences
    add (``s1 + s2``, ``sum([s1, s2, ...])``); the sum is the statistics of
    the union.

    Parameters
    ----------
    n_components : int
        Number of hidden states (of the expanded model, for a
        :class:`~hmm_core.HigherOrderHMM`).
    loglik : float
        Summed log-likelihood (best-path log-probability under Viterbi
        training).
    n_sequences : int
        Number of sequences.
    n_frames : int
        Number of frames.
    start_counts : array-like of shape (n_components,), optional
        Expected number of sequences starting in each state; zeros by default.
    trans_counts : array-like of shape (n_components, n_components), optional
        Expected number of transitions between each pair of states.
    end_counts : array-like of shape (n_components,), optional
        Expected number of sequences ending in each state; None for a model
        without an end state.
    emission : dict, optional
        The emission model's statistics (see
        :meth:`hmm_core.emissions.EmissionModel.accumulate`); None before any
        frame was accumulated.

    Attributes
    ----------
    occupancy : ndarray of shape (n_components,)
        Expected number of frames in each state.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core import CategoricalHMM
    >>> X = np.array([[0], [1], [1], [2], [0], [2], [1], [0]])
    >>> model = CategoricalHMM(2, random_state=0).fit(X, [4, 4])
    >>> total = model.accumulate(X[:4]) + model.accumulate(X[4:])
    >>> total.n_sequences, total.n_frames
    (2, 8)
    >>> bool(np.isclose(total.loglik, model.score(X, [4, 4])))
    True
    """

    __slots__ = ("loglik", "n_sequences", "n_frames", "start_counts", "trans_counts",
                 "end_counts", "emission")

    def __init__(self, n_components, loglik=0.0, n_sequences=0, n_frames=0,
                 start_counts=None, trans_counts=None, end_counts=None, emission=None):
        n = int(n_components)
        self.loglik = float(loglik)
        self.n_sequences = int(n_sequences)
        self.n_frames = int(n_frames)
        self.start_counts = (np.zeros(n) if start_counts is None
                             else np.asarray(start_counts, dtype=float))
        self.trans_counts = (np.zeros((n, n)) if trans_counts is None
                             else np.asarray(trans_counts, dtype=float))
        self.end_counts = None if end_counts is None else np.asarray(end_counts, dtype=float)
        self.emission = emission
        if self.start_counts.shape != (n,) or self.trans_counts.shape != (n, n):
            raise ValueError(f"start_counts and trans_counts must have shapes ({n},) and "
                             f"({n}, {n}), got {self.start_counts.shape} and "
                             f"{self.trans_counts.shape}")
        if self.end_counts is not None and self.end_counts.shape != (n,):
            raise ValueError(f"end_counts must have shape ({n},), got {self.end_counts.shape}")

    @property
    def n_components(self):
        """Number of hidden states."""
        return self.start_counts.shape[0]

    @property
    def occupancy(self):
        """Expected number of frames in each state, shape (n_components,).

        Every frame is either the first of its sequence or the target of a
        transition, so this is the start counts plus the transition counts'
        column sums.
        """
        return self.start_counts + self.trans_counts.sum(axis=0)

    # ------------------------------------------------------------ algebra
    def __add__(self, other):
        if isinstance(other, numbers.Number) and other == 0:
            return self.copy()
        if not isinstance(other, SufficientStatistics):
            return NotImplemented
        if other.n_components != self.n_components:
            raise ValueError(f"cannot add statistics of {self.n_components} and "
                             f"{other.n_components} states")
        if (self.end_counts is None) != (other.end_counts is None):
            raise ValueError("cannot add statistics with and without end counts")
        return SufficientStatistics(
            self.n_components, self.loglik + other.loglik,
            self.n_sequences + other.n_sequences, self.n_frames + other.n_frames,
            self.start_counts + other.start_counts, self.trans_counts + other.trans_counts,
            None if self.end_counts is None else self.end_counts + other.end_counts,
            _add_tree(self.emission, other.emission))

    __radd__ = __add__

    def scale(self, factor):
        """Weight the statistics by ``factor``, as if the data counted ``factor`` times.

        Counts, the log-likelihood and the emission's sums are multiplied;
        weighted means are unchanged. Online EM mixes statistics with it:
        ``s.scale(1 - rho) + chunk.scale(rho)``.

        Parameters
        ----------
        factor : float
            Non-negative weight.

        Returns
        -------
        SufficientStatistics
            New statistics; ``n_sequences`` and ``n_frames`` are kept.
        """
        factor = float(factor)
        if not (np.isfinite(factor) and factor >= 0):
            raise ValueError(f"factor must be a finite non-negative number, got {factor}")
        return SufficientStatistics(
            self.n_components, self.loglik * factor, self.n_sequences, self.n_frames,
            self.start_counts * factor, self.trans_counts * factor,
            None if self.end_counts is None else self.end_counts * factor,
            _scale_tree(self.emission, factor))

    def copy(self):
        """Return a deep copy.

        Returns
        -------
        SufficientStatistics
        """
        return SufficientStatistics(
            self.n_components, self.loglik, self.n_sequences, self.n_frames,
            self.start_counts.copy(), self.trans_counts.copy(),
            None if self.end_counts is None else self.end_counts.copy(),
            _copy_tree(self.emission))

    def arrays(self):
        """Return every statistic as a flat dict of arrays (for comparisons and storage).

        Returns
        -------
        dict of str to ndarray
            ``loglik``, ``n_sequences``, ``n_frames``, ``start_counts``,
            ``trans_counts``, ``end_counts`` (when present) and one entry per
            emission array, named by its path (``emission.obs``,
            ``emission.moments.mean``, ``emission.blocks[0].obs``, ...).
        """
        out = {"loglik": np.asarray(self.loglik), "n_sequences": np.asarray(self.n_sequences),
               "n_frames": np.asarray(self.n_frames), "start_counts": self.start_counts,
               "trans_counts": self.trans_counts}
        if self.end_counts is not None:
            out["end_counts"] = self.end_counts
        _flatten(self.emission, "emission", out)
        return out

    # ----------------------------------------------------------- pickling
    def __getstate__(self):
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state):
        for name in self.__slots__:
            setattr(self, name, state[name])

    def __repr__(self):
        return (f"SufficientStatistics(n_components={self.n_components}, "
                f"n_sequences={self.n_sequences}, n_frames={self.n_frames}, "
                f"loglik={self.loglik:.6g})")
