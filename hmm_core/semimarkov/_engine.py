"""Calls of the compiled semi-Markov kernels on validated parameters."""

from __future__ import annotations

import numpy as np

from hmm_core.kernels import _semimarkov
from hmm_core.kernels.config import effective_n_threads
from hmm_core.semimarkov.durations import log_survival

__all__ = ["LogParams", "chunk_bounds"]

#: Sequences per chunk of E-step sums: fixed, so sums do not depend on threads.
CHUNK = 8


def chunk_bounds(n_seq):
    """Sequence index bounds of the E-step chunks (int64)."""
    return np.unique(np.r_[np.arange(0, n_seq, CHUNK), n_seq]).astype(np.int64)


class LogParams:
    """The kernels' view of a model: log start, switch and duration tables.

    Parameters
    ----------
    startprob, transmat, durationprob : ndarray
        Validated probabilities.
    censor_last : bool
        The last segment of a sequence scores ``P(duration >= d)``.
    n_threads : int or None
    """

    def __init__(self, startprob, transmat, durationprob, censor_last, n_threads):
        with np.errstate(divide="ignore"):
            self.log_startprob = np.log(startprob)
            self.log_transmat = np.log(transmat)
            self.log_duration = np.ascontiguousarray(np.log(durationprob))
        self.log_last = (np.ascontiguousarray(log_survival(self.log_duration)) if censor_last
                         else self.log_duration)
        self.n_threads = effective_n_threads(n_threads)

    def _args(self):
        return (self.log_startprob, self.log_transmat, self.log_duration, self.log_last)

    def loglik(self, frames, offsets):
        """Log-likelihood of every sequence."""
        out = np.empty(len(offsets) - 1)
        _semimarkov.forward(frames, offsets, *self._args(), out, self.n_threads)
        return out

    def estep(self, frames, offsets):
        """Posteriors, per-sequence log-likelihoods and summed expected counts."""
        n, d = frames.shape[1], self.log_duration.shape[1]
        chunks = chunk_bounds(len(offsets) - 1)
        c = len(chunks) - 1
        posteriors = np.empty_like(frames)
        loglik = np.empty(len(offsets) - 1)
        start, trans = np.empty((c, n)), np.empty((c, n, n))
        durations, last = np.empty((c, n, d)), np.empty((c, n, d))
        _semimarkov.estep(frames, offsets, chunks, *self._args(), posteriors, loglik, start,
                          trans, durations, last, self.n_threads)
        return {"posteriors": posteriors, "loglik": loglik, "start": start.sum(axis=0),
                "trans": trans.sum(axis=0), "durations": durations.sum(axis=0),
                "last": last.sum(axis=0)}

    def viterbi(self, frames, offsets):
        """Best segmentation log-probability per sequence and the state of every frame."""
        logprob = np.empty(len(offsets) - 1)
        path = np.empty(frames.shape[0], dtype=np.int64)
        _semimarkov.viterbi(frames, offsets, *self._args(), logprob, path, self.n_threads)
        return logprob, path
