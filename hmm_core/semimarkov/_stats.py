"""Summable E-step statistics of a semi-Markov model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hmm_core.emissions._covariance import merge_moments

__all__ = ["SemiMarkovStatistics"]


def _merge(key, a, b):
    """Sum of one emission statistic of two chunks (weighted moments merge)."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and {"count", "mean", "scatter"} <= set(a):
        return merge_moments(a, b)
    if isinstance(a, dict):
        return {k: _merge(k, a[k], b[k]) for k in a}
    return a + b


def _add(a, b):
    if a is None or b is None:
        if a is None and b is None:
            return None
        raise ValueError("cannot add statistics with and without end counts")
    return a + b


@dataclass
class SemiMarkovStatistics:
    """Expected counts of one or more chunks of data under fixed parameters.

    The fields of the model-wide sufficient statistics (``loglik``,
    ``n_sequences``, ``n_frames``, ``start_counts``, ``trans_counts``,
    ``end_counts``, ``emission``) plus the expected number of segments of each
    state and duration. Statistics of chunks add up (``s1 + s2``,
    ``sum([...])``), and ``model.m_step(total)`` is one EM iteration over all
    of them. They hold no frame-sized array and pickle small.

    Parameters
    ----------
    loglik : float
        Summed log-likelihood of the sequences.
    n_sequences, n_frames : int
    start_counts : ndarray of shape (n_components,)
        Expected first segments of each state.
    trans_counts : ndarray of shape (n_components, n_components)
        Expected switches between states (zero diagonal).
    duration_counts : ndarray of shape (n_components, max_duration)
        Expected segments of each state by duration (a right-censored last
        segment is spread over the durations it may have had).
    emission : dict
        The emission model's summed statistics.
    end_counts : None
        Semi-Markov models have no end state.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core import SemiMarkovHMM
    >>> X = np.array([[0], [0], [1], [1], [1], [0], [0], [1]])
    >>> model = SemiMarkovHMM(2, emission="categorical", max_duration=4, random_state=0)
    >>> model = model.initialize(X)
    >>> stats = model.accumulate(X[:4]) + model.accumulate(X[4:])
    >>> stats.n_sequences, stats.n_frames
    (2, 8)
    >>> model = model.m_step(stats)
    """

    loglik: float
    n_sequences: int
    n_frames: int
    start_counts: np.ndarray
    trans_counts: np.ndarray
    duration_counts: np.ndarray
    emission: dict = field(default_factory=dict)
    end_counts: np.ndarray | None = None

    def __add__(self, other):
        """Statistics of both chunks.

        Parameters
        ----------
        other : SemiMarkovStatistics or 0

        Returns
        -------
        SemiMarkovStatistics
        """
        if isinstance(other, int) and other == 0:
            return self
        if not isinstance(other, SemiMarkovStatistics):
            return NotImplemented
        if set(self.emission) != set(other.emission):
            raise ValueError("cannot add statistics of different emission models")
        return SemiMarkovStatistics(
            loglik=self.loglik + other.loglik,
            n_sequences=self.n_sequences + other.n_sequences,
            n_frames=self.n_frames + other.n_frames,
            start_counts=self.start_counts + other.start_counts,
            trans_counts=self.trans_counts + other.trans_counts,
            duration_counts=self.duration_counts + other.duration_counts,
            emission={k: _merge(k, self.emission[k], other.emission[k])
                      for k in self.emission},
            end_counts=_add(self.end_counts, other.end_counts))

    def __radd__(self, other):
        """``0 + stats`` (what ``sum`` starts with) and ``other + stats``.

        Parameters
        ----------
        other : SemiMarkovStatistics or 0

        Returns
        -------
        SemiMarkovStatistics
        """
        return self.__add__(other)
