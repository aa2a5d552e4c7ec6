"""Scoring, decoding and sampling of an HMM, and the information criteria.

:class:`Queries` holds the hmmlearn methods that are derived from three
primitives (``score_sequences``, ``score_samples``, ``decode_sequences``), so
that every model offering the primitives (:class:`Inference`,
:class:`~hmm_core.HigherOrderHMM`) answers them the same way.
"""

from __future__ import annotations

import numpy as np

from hmm_core.estimator.constraints import OneOf, RandomStateRule
from hmm_core.functional.kbest import kbest_paths
from hmm_core.hmm import _longseq
from hmm_core.hmm._memory import check_sample, n_features_of
from hmm_core.hmm._sampling import dead_ends, draw_path
from hmm_core.hmm._settings import DECODERS
from hmm_core.hmm.core import HMMCore
from hmm_core.hmm.online import OnlineFilter, OnlineViterbi
from hmm_core.kernels import backend
from hmm_core.kernels.validation import as_concatenated
from hmm_core.structure import topology as _topology

__all__: list[str] = []  # building blocks of BaseHMM and HigherOrderHMM

_ALGORITHM = OneOf(*DECODERS)


def _is_count(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


class Queries:
    """``score``, ``predict_proba``, ``decode`` and ``predict`` from the per-sequence primitives.

    A class mixing this in defines ``score_sequences``, ``score_samples``
    and ``decode_sequences``.
    """

    def score(self, X, lengths=None):
        """Total log-likelihood of all sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        float
        """
        return float(self.score_sequences(X, lengths).sum())

    def predict_proba(self, X, lengths=None):
        """State posteriors ``P(z_t = i | x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        return self.score_samples(X, lengths)[1]

    def decode(self, X, lengths=None, algorithm=None):
        """Most likely state path (hmmlearn's ``decode``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional
        algorithm : {"viterbi", "map"}, optional

        Returns
        -------
        log_prob : float
            Sum over sequences of ``log P(x, path)``.
        state_sequence : ndarray of int64, shape (n_samples,)
        """
        logprob, path = self.decode_sequences(X, lengths, algorithm)
        return float(logprob.sum()), path

    def predict(self, X, lengths=None):
        """Most likely state of every frame, by the model's ``algorithm``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        ndarray of int64, shape (n_samples,)
        """
        return self.decode(X, lengths)[1]


class Inference(Queries, HMMCore, abstract=True):
    """Likelihoods, posteriors, best paths and samples of a model with set parameters."""

    def score_sequences(self, X, lengths=None):
        """Log-likelihood of each sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        ndarray of shape (n_sequences,)
            ``log P(x)`` per sequence; ``-inf`` for an impossible one.

        Notes
        -----
        When the frame scores of ``X`` would take more than
        ``hmm_core.kernels.backend.CHECKPOINT_MIN_BYTES``, sequences longer
        than a block are scored block by block in bounded memory (the same
        values to rounding).
        """
        if self._long(X):
            return _longseq.score_sequences(self, X, lengths)
        return self._score_in_memory(X, lengths)

    def _long(self, X):
        try:
            return backend.uses_checkpoints(_longseq._n_samples(X), self.n_components)
        except (TypeError, ValueError, OverflowError, IndexError):
            return False  # the in-memory path names what is wrong

    def _score_in_memory(self, X, lengths):
        chain, X, offsets, frames = self._prepare(X, lengths)
        return chain.loglik(frames, offsets, self.n_threads)

    def _posteriors_in_memory(self, X, lengths):
        chain, X, offsets, frames = self._prepare(X, lengths, "posteriors")
        return chain.posteriors(frames, offsets, self.n_threads)

    def _viterbi_in_memory(self, X, lengths):
        chain, X, offsets, frames = self._prepare(X, lengths, "viterbi")
        return chain.viterbi(frames, offsets, self.n_threads)

    def filter(self, lag=0):
        """An online filter over frames that arrive over time.

        Parameters
        ----------
        lag : int, default=0
            Delay, in frames, of the fixed-lag smoothed posteriors.

        Returns
        -------
        OnlineFilter
            ``update(frames)`` returns the filtered state probabilities of
            the new frames; ``smoothed()`` the posteriors ``lag`` frames back.

        See Also
        --------
        hmm_core.hmm.online.OnlineFilter : Its methods and an example.
        """
        return OnlineFilter(self, lag)

    def online_viterbi(self, lag=None):
        """Viterbi decoding of frames that arrive over time.

        Parameters
        ----------
        lag : int, optional
            Decide every frame at most this many frames old; None decides a
            frame once every surviving path agrees on it.

        Returns
        -------
        OnlineViterbi
            ``update(frames)`` returns the states decided so far.

        See Also
        --------
        hmm_core.hmm.online.OnlineViterbi : Its methods and an example.
        """
        return OnlineViterbi(self, lag)

    def posteriors_to_file(self, X, path, lengths=None, block_size=None):
        """Write the state posteriors to a ``.npy`` file, block by block.

        Memory stays bounded whatever the length of the sequences (their
        forward vectors are kept every ``block_size`` frames and each block
        is recomputed); the (n_samples, n_components) float64 posteriors go
        to a file written under a temporary name in the same folder and
        renamed to ``path`` once complete, so an interrupted run never leaves
        a file that looks complete.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            May be a ``numpy.memmap``: it is read a block at a time.
        path : str or path-like
            The ``.npy`` file to write (replaced if it exists).
        lengths : array-like of int, optional
        block_size : int, optional
            Frames per block; about ``sqrt(n_samples)``, at least 16384, by default.

        Returns
        -------
        float
            Total log-likelihood.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from hmm_core import CategoricalHMM
        >>> model = CategoricalHMM(n_components=2, n_features=2)
        >>> model.startprob_ = np.array([0.5, 0.5])
        >>> model.transmat_ = np.array([[0.9, 0.1], [0.1, 0.9]])
        >>> model.emissionprob_ = np.array([[0.8, 0.2], [0.3, 0.7]])
        >>> X = np.array([[0], [1], [1], [0]], dtype=np.uint8)
        >>> target = os.path.join(tempfile.mkdtemp(), "post.npy")
        >>> logprob = model.posteriors_to_file(X, target)
        >>> np.load(target).shape
        (4, 2)
        """
        self._check()
        return float(_longseq.posteriors_to_file(self, X, path, lengths, block_size).sum())

    def score_samples(self, X, lengths=None):
        """Total log-likelihood and state posteriors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        log_prob : float
        posteriors : ndarray of shape (n_samples, n_components)
        """
        if self._long(X):
            loglik, post = _longseq.posteriors(self, X, lengths)
        else:
            loglik, post = self._posteriors_in_memory(X, lengths)
        return float(loglik.sum()), post

    def decode_sequences(self, X, lengths=None, algorithm=None):
        """Best state path of every sequence and its per-sequence log-probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional
        algorithm : {"viterbi", "map"}, optional
            Defaults to the model's ``algorithm``.

        Returns
        -------
        logprob : ndarray of shape (n_sequences,)
            ``log P(x, path)`` of each decoded path: a true joint log-probability
            for both decoders (``-inf`` when the MAP path is not a possible path).
        path : ndarray of int64, shape (n_samples,)
            -1 for frames of an impossible sequence.
        """
        algorithm = self.algorithm if algorithm is None else _ALGORITHM(algorithm, "algorithm",
                                                                        self)
        if algorithm == "viterbi":
            if self._long(X) and self.n_components <= 256:
                return _longseq.viterbi(self, X, lengths)
            return self._viterbi_in_memory(X, lengths)
        chain, X, offsets, frames = self._prepare(X, lengths, "posteriors")
        loglik, post = chain.posteriors(frames, offsets, self.n_threads)
        path = np.argmax(post, axis=1)
        logprob = chain.path_logprob(frames, offsets, path)
        impossible = ~np.isfinite(loglik)
        if impossible.any():
            logprob[impossible] = -np.inf
            path[np.repeat(impossible, np.diff(offsets))] = -1
        return logprob, path

    def decode_kbest(self, X, lengths=None, k=1):
        """The ``k`` most probable state paths of every sequence, best first.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional
        k : int
            Number of paths per sequence.

        Returns
        -------
        logprob : ndarray of shape (k, n_sequences)
            ``logprob[r, s]`` is ``log P(x_s, r-th best path)``, non-increasing
            in ``r``; ``-inf`` where a sequence has fewer than ``r + 1``
            possible paths.
        paths : ndarray of int64, shape (k, n_samples)
            ``paths[r]`` holds the concatenated ``r``-th best paths (-1 where
            there is none); ``paths[0]`` is a Viterbi path.

        See Also
        --------
        hmm_core.kbest_viterbi : The same over user-supplied frame scores.
        """
        chain, X, offsets, frames = self._prepare(X, lengths)
        return kbest_paths(chain.log_startprob, chain.log_transmat, np.asarray(frames), offsets, k,
                           chain.log_endprob)

    # -------------------------------------------------------------- sampling
    def sample(self, n_samples=1, random_state=None, currstate=None):
        """Draw one sequence from the model.

        With an end state, the sequence runs for ``n_samples`` frames: the end
        is left out of every transition row, which is renormalised (each step
        is conditioned on not ending there). A state whose ``endprob_`` is 1
        cannot be continued, so a request in which the chain could reach it
        before the last frame raises ``ValueError``.

        Draws are vectorised (tens of millions of frames per second for a
        16-state categorical model) and are exactly those of hmm_core's
        earlier frame-by-frame loop: a seeded sample is the same as before.

        Parameters
        ----------
        n_samples : int
        random_state : int, RandomState or None
            Defaults to the model's ``random_state``.
        currstate : int, optional
            State of the first frame; drawn from ``startprob_`` when None.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        state_sequence : ndarray of int64, shape (n_samples,)
        """
        chain = self._check()
        if not _is_count(n_samples) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        n = self.n_components
        if currstate is not None and not (_is_count(currstate) and 0 <= currstate < n):
            raise ValueError(f"currstate must be in 0..{n - 1}, got {currstate!r}")
        if random_state is not None:
            RandomStateRule()(random_state, "random_state", self)
        emission = self._get_emission()
        columns = 1 if hasattr(emission, "frame_table") else n_features_of(self, None)
        check_sample(self, int(n_samples), columns)
        dead = dead_ends(chain.transmat, chain.startprob, int(n_samples), currstate)
        if dead is not None:
            state, frame = dead
            raise ValueError(
                f"state {state} always ends (endprob_[{state}] = 1), so a sequence cannot "
                f"continue from it, and it can be reached at frame {frame} of the "
                f"{n_samples} requested; sample at most {frame + 1} frame(s) or give state "
                f"{state} a transition")
        rng = self._random_source(random_state)
        states = draw_path(chain.startprob, chain.transmat, int(n_samples), rng, currstate)
        ties = self._emission_map()
        classes = states if ties is None else ties[states]
        return emission.sample(classes, rng), states

    # --------------------------------------------------------- model choice
    def _n_parameters(self):
        """Free scalar parameters (structural zeros are not free)."""
        self._check()
        count = 0
        if "s" in self.params:
            count += np.count_nonzero(self.startprob_) - 1
        ties = self._transmat_ties()
        if "t" in self.params and ties is not None:
            count += _topology.n_free_transitions(self.transmat_, self.endprob_, ties)
        elif "t" in self.params:
            rows = np.count_nonzero(self.transmat_, axis=1)
            if self.endprob_ is not None:
                rows = rows + (self.endprob_ > 0)
            count += int(np.sum(rows - 1))
        return int(count + self._get_emission().n_free_parameters(self.params))

    def aic(self, X, lengths=None):
        """Akaike information criterion: ``-2 log L + 2 p``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        float
        """
        return -2 * self.score(X, lengths) + 2 * self._n_parameters()

    def bic(self, X, lengths=None):
        """Bayesian information criterion: ``-2 log L + p log(n_samples)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        float
        """
        X, lengths = as_concatenated(X, lengths)  # X is read twice: a generator once
        n_samples = self._get_emission().check_X(X).shape[0]
        return -2 * self.score(X, lengths) + self._n_parameters() * np.log(n_samples)
