"""Summed E-step statistics of a chunk of data, for ``accumulate`` / ``m_step``.

A model's ``accumulate(X, lengths)`` runs one E-step with its current
parameters and returns a :class:`SufficientStatistics`; statistics of
several chunks add up (``s1 + s2``, ``sum([...])``), and ``m_step(stats)``
performs the M-step of one ``fit`` iteration from the total. Nothing in it
has one entry per frame, so it stays small whatever the data.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SufficientStatistics"]


class SufficientStatistics:
    """Summed E-step statistics: chain counts plus the emission's sums.

    Parameters
    ----------
    loglik : float
        Summed log-likelihood (for variational models: summed log normaliser
        of the VB-E step) of the chunk under the parameters it was computed with.
    n_sequences, n_frames : int
    start_counts : ndarray of shape (n_components,)
    trans_counts : ndarray of shape (n_components, n_components)
    end_counts : ndarray of shape (n_components,) or None
    emission : dict of ndarray
        The emission's summed statistics.
    """

    def __init__(self, loglik, n_sequences, n_frames, start_counts, trans_counts,
                 end_counts=None, emission=None):
        self.loglik = float(loglik)
        self.n_sequences = int(n_sequences)
        self.n_frames = int(n_frames)
        self.start_counts = np.asarray(start_counts, dtype=float)
        self.trans_counts = np.asarray(trans_counts, dtype=float)
        self.end_counts = None if end_counts is None else np.asarray(end_counts, dtype=float)
        self.emission = dict(emission or {})

    def __add__(self, other):
        """Statistics of both chunks together."""
        if isinstance(other, (int, float)) and other == 0:
            return self
        if not isinstance(other, SufficientStatistics):
            return NotImplemented
        if set(self.emission) != set(other.emission):
            raise ValueError("cannot add statistics of different emission models")
        end = (None if self.end_counts is None or other.end_counts is None
               else self.end_counts + other.end_counts)
        return SufficientStatistics(
            self.loglik + other.loglik, self.n_sequences + other.n_sequences,
            self.n_frames + other.n_frames, self.start_counts + other.start_counts,
            self.trans_counts + other.trans_counts, end,
            {k: self.emission[k] + other.emission[k] for k in self.emission})

    __radd__ = __add__

    def __repr__(self):
        return (f"SufficientStatistics(n_sequences={self.n_sequences}, "
                f"n_frames={self.n_frames}, loglik={self.loglik:.6g})")
