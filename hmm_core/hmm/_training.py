"""Training of an HMM: Baum-Welch, Viterbi training, counting fits from
labelled states, and random restarts.

:class:`Training` builds on :class:`~hmm_core.hmm.core.HMMCore` (validated
parameters, frame scores) and adds ``fit`` with everything it needs:
initialisation, E-step, M-step, restarts.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

from hmm_core.emissions.base import dirichlet_map_rows
from hmm_core.hmm._memory import check_request
from hmm_core.hmm._streaming import fit_source, is_chunk_source
from hmm_core.hmm.core import HMMCore
from hmm_core.hmm.monitor import ConvergenceMonitor
from hmm_core.hmm.statistics import SufficientStatistics
from hmm_core.kernels.frames import dense
from hmm_core.structure import topology as _topology

__all__ = ["check_states", "path_stats"]


def check_states(states, n_samples, n_components, name="states"):
    """Validate frame labels: one per frame, each in ``0..n_components - 1`` or -1.

    Parameters
    ----------
    states : array-like of int, shape (n_samples,)
        Hidden state of each frame; -1 for an unlabelled frame.
    n_samples : int
    n_components : int
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray of int64, shape (n_samples,)
    """
    arr = np.asarray(states)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(f"{name} must hold one state label per frame (shape ({n_samples},)), "
                         f"got shape {arr.shape}")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr))
                and np.all(arr == np.round(arr))):
            raise ValueError(f"{name} must hold integer state labels, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = arr[(arr < -1) | (arr >= n_components)]
    if bad.size:
        raise ValueError(f"{name} must hold states in 0..{n_components - 1} or -1 for an "
                         f"unlabelled frame, found {bad[0]}")
    return arr


def path_stats(path, offsets, n_components):
    """E-step statistics of known state paths (hard counts, one-hot posteriors)."""
    n = n_components
    first, last = offsets[:-1], offsets[1:] - 1
    inner = np.ones(path.shape[0], dtype=bool)
    inner[last] = False  # a sequence's last frame has no successor
    src = np.flatnonzero(inner)
    posteriors = np.zeros((path.shape[0], n))
    posteriors[np.arange(path.shape[0]), path] = 1.0
    pairs = np.bincount(path[src] * n + path[src + 1], minlength=n * n)
    return {
        "posteriors": posteriors,
        "start_counts": np.bincount(path[first], minlength=n).astype(float),
        "trans_counts": pairs.reshape(n, n).astype(float),
        "end_counts": np.bincount(path[last], minlength=n).astype(float),
    }


class Training(HMMCore, abstract=True):
    """``fit``: initialisation, EM (or Viterbi training), counting fits and restarts."""

    def fit(self, X, lengths=None, states=None):
        """Estimate the parameters: EM, Viterbi training, or counting.

        Without ``states``, Baum-Welch (or, with ``training="viterbi"``, hard
        EM). With ``states`` labelling every frame, the parameters are the
        counting (maximum a posteriori, with the priors) estimates from the
        labelled paths, with no iteration. With some frames labelled and
        others -1, EM clamps each labelled frame to its state (the E-step
        sees ``log_frameprob = -inf`` for every other state there), so it
        maximises ``log P(x, labels)``. With ``n_init > 1``, EM runs from that
        many random initialisations (drawn in turn from ``random_state``) and
        the run with the highest final objective is kept.

        ``X`` may also be a source of chunks too large to hold at once: a
        list of ``(X, lengths)`` pairs, or a callable returning a new
        iterator of such pairs on every call (e.g. reading files). EM then
        streams the source once per iteration, holding one chunk at a time,
        and the result equals ``fit`` on the concatenated chunks.
        Initialisation draws on a bounded sample of the source (at most
        100,000 frames, uniform, fixed seed; the whole source when it is
        smaller; see :mod:`hmm_core.hmm._streaming`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a chunk source
            Concatenated observation sequences, or ``(X, lengths)`` chunks.
        lengths : array-like of int, optional
            Lengths of the sequences in ``X``; None means one sequence.
        states : array-like of int of shape (n_samples,), optional
            State of each frame, -1 where unknown.

        Returns
        -------
        self
        """
        self._check_settings()
        self.__dict__.pop("_online", None)
        if is_chunk_source(X):
            if lengths is not None or states is not None:
                raise ValueError("with a source of (X, lengths) chunks, lengths and states "
                                 "must be None (each chunk carries its lengths)")
            return fit_source(self, X)
        X, offsets = self._validate(X, lengths)
        check_request(self, "fit", X, X.shape[0],
                      uses_table=hasattr(self._get_emission(), "frame_table"))
        labels = None if states is None else check_states(states, X.shape[0],
                                                          self.n_components)
        if labels is not None and labels.min() >= 0:
            return self._fit_counts(X, offsets, labels, self._random_source())
        clamp = None
        if labels is not None and labels.max() >= 0:
            clamp = np.zeros((X.shape[0], self.n_components))
            labelled = labels >= 0
            clamp[labelled] = -np.inf
            clamp[np.flatnonzero(labelled), labels[labelled]] = 0.0
        return self._fit_em(X, offsets, clamp)

    def _fit_em(self, X, offsets, clamp=None):
        """EM with ``n_init`` restarts; ``clamp`` (T, N) is added to the frame scores."""
        random_state = self._random_source()
        if self.n_init == 1:
            self._fit_once(X, offsets, random_state, clamp)
            return self
        initial = self._snapshot()
        best_score, best = -np.inf, None
        for _ in range(self.n_init):
            self._restore(initial)
            self._fit_once(X, offsets, random_state, clamp)
            score = self._objective(self._check(), self._frames(X, clamp), offsets)
            if best is None or score > best_score:
                best_score, best = score, self._snapshot()
        self._restore(best)
        self._check()
        return self

    def _init(self, X, random_state):
        n = self.n_components
        init = self.init_params
        missing_s = "s" in init or getattr(self, "startprob_", None) is None
        missing_t = "t" in init or getattr(self, "transmat_", None) is None
        topology = self.__dict__.get("_topology")
        if topology is not None and (missing_s or missing_t):
            # Draw only over the entries the topology allows.
            start, trans, end = _topology.random_chain(topology, self.end_state, random_state)
            if missing_s:
                self.startprob_ = start
            if missing_t:
                self.transmat_, self.endprob_ = trans, end
        elif topology is None:
            if missing_s:
                self.startprob_ = random_state.dirichlet(np.full(n, 1.0 / n))
            if missing_t:
                self.transmat_ = random_state.dirichlet(np.full(n, 1.0 / n), size=n)
                # 't' covers the end probabilities: ``end_state`` says whether
                # there are any (an earlier fit's must not outlive the setting).
                self.endprob_ = None
                if self.end_state:
                    self.endprob_ = np.full(n, 1.0 / (n + 1))
                    self.transmat_ = self.transmat_ * (n / (n + 1.0))
        if self.end_state and getattr(self, "endprob_", None) is None:
            raise ValueError("end_state=True needs endprob_ when 't' is not in init_params")
        ties = self._transmat_ties()
        if ties is not None:
            _topology.check_ties_against_zeros(self.transmat_, ties)
            if "t" in init:  # start EM from a chain that honours the ties
                self._m_step_transitions(self.transmat_, getattr(self, "endprob_", None),
                                         prior=1.0, end_prior=1.0)
        self._get_emission().initialize(X, self._n_emission_components(), random_state, init)

    _FITTED = ("startprob_", "transmat_", "endprob_", "monitor_")

    def _snapshot(self):
        state = {name: copy.deepcopy(self.__dict__.get(name)) for name in self._FITTED}
        state["_emission"] = copy.deepcopy(self._get_emission())
        return state

    def _restore(self, state):
        for name, value in state.items():
            if value is None:
                self.__dict__.pop(name, None)
            else:
                self.__dict__[name] = copy.deepcopy(value)

    def _frames(self, X, clamp):
        frames = self._log_frameprob(X)
        return frames if clamp is None else dense(frames) + clamp

    def _objective(self, chain, frames, offsets):
        """What training maximises: log-likelihood, or best-path log-probability."""
        if self.training == "viterbi":
            return float(chain.viterbi(frames, offsets, self.n_threads)[0].sum())
        return float(chain.loglik(frames, offsets, self.n_threads).sum())

    def _fit_counts(self, X, offsets, path, random_state):
        """Supervised fit: statistics of the known paths, one M-step, no iteration."""
        self._init(X, random_state)
        chain = self._check()
        counts = path_stats(path, offsets, self.n_components)
        for name, count, probs in (("startprob_", counts["start_counts"], chain.startprob),
                                   ("transmat_", counts["trans_counts"], chain.transmat),
                                   ("endprob_", counts["end_counts"], chain.endprob)):
            if probs is None:
                continue
            bad = np.argwhere((count > 0) & (probs == 0))
            if bad.size:
                where = ", ".join(str(i) for i in bad[0])
                raise ValueError(f"states use {name}[{where}], which the model forbids "
                                 "(probability 0)")
        stats = self._statistics(chain, X, offsets, 0.0, counts)
        self._warn_empty(stats.occupancy, "has no labelled frame", stacklevel=4)
        self._m_step(stats)
        chain = self._check()
        self.monitor_ = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)
        self.monitor_.report(float(chain.path_logprob(self._log_frameprob(X), offsets,
                                                      path).sum()))
        return self

    def _warn_empty(self, occupancy, what="received no posterior mass", stacklevel=5):
        empty = np.flatnonzero(occupancy <= 0)
        if empty.size:
            warnings.warn(f"state(s) {empty.tolist()} {what}; their parameters are kept "
                          "unchanged", RuntimeWarning, stacklevel=stacklevel)
        return bool(empty.size)

    def _accumulate(self, chain, X, offsets, clamp=None, first=0):
        """E-step over one chunk, its posteriors folded into the emission's statistics.

        ``first`` is the index of the chunk's first sequence in the whole
        data, for the error on a sequence of zero probability.
        """
        frames = self._frames(X, clamp)
        if self.training == "viterbi":
            logprob, path = chain.viterbi(frames, offsets, self.n_threads)
            counts = None
            if np.isfinite(logprob).all():
                counts = path_stats(path, offsets, self.n_components)
        else:
            counts = chain.estep(frames, offsets, self.n_threads)
            logprob = counts["loglik"]
        impossible = np.flatnonzero(~np.isfinite(logprob))
        if impossible.size:
            given = "" if clamp is None else " and state labels"
            raise ValueError(
                f"sequence {first + impossible[0]} has zero probability under the current "
                f"parameters{given} (check structural zeros and n_features); "
                "EM cannot proceed")
        return self._statistics(chain, X, offsets, float(logprob.sum()), counts)

    def _statistics(self, chain, X, offsets, loglik, counts):
        """:class:`SufficientStatistics` of a chunk from its chain counts and posteriors."""
        emission_stats = None
        if set(self.params) & set(self._emission_letters):
            emission = self._get_emission()
            posteriors = counts["posteriors"]
            ties = self._emission_map()
            n_classes = self._n_emission_components()
            if ties is not None:  # a class's statistics pool its states' posteriors
                posteriors = _topology.pool_columns(posteriors, ties, n_classes)
            emission_stats = emission.empty_stats(n_classes)
            emission.accumulate(emission_stats, X, posteriors)
        return SufficientStatistics(
            self.n_components, loglik, offsets.shape[0] - 1, X.shape[0],
            counts["start_counts"], counts["trans_counts"],
            None if chain.endprob is None else counts["end_counts"], emission_stats)

    def _fit_once(self, X, offsets, random_state, clamp=None):
        self._init(X, random_state)
        X = self._get_emission().recheck_X(X)
        self._em_loop(lambda: [(X, offsets, clamp)])

    def _em_loop(self, chunks, stacklevel=6):
        """EM iterations; ``chunks()`` yields the data's ``(X, offsets, clamp)`` chunks."""
        chain = self._check()
        self.monitor_ = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)
        warned = False
        for _ in range(self.n_iter):
            stats = self._accumulate_all(chain, chunks())
            if not warned:
                warned = self._warn_empty(stats.occupancy, stacklevel=stacklevel)
            self._m_step(stats)
            self.monitor_.report(stats.loglik)
            chain = self._check()
            callback = getattr(self, "callback", None)
            if callback is not None:  # after _check: the model is consistent here
                callback(self.monitor_)
            if self.monitor_.converged:
                break

    def _accumulate_all(self, chain, chunks):
        """Statistics summed over chunks, each folded in as soon as it is read."""
        total, first = None, 0
        for X, offsets, clamp in chunks:
            stats = self._accumulate(chain, X, offsets, clamp, first)
            first += stats.n_sequences
            total = stats if total is None else total + stats
        return total

    def _m_step(self, stats):
        params = self.params
        if "s" in params:
            self.startprob_ = dirichlet_map_rows(stats.start_counts, self.startprob_prior,
                                                 self.startprob_)
        if "t" in params:
            self._m_step_transitions(stats.trans_counts, stats.end_counts)
        if set(params) & set(self._emission_letters) and stats.emission is not None:
            self._get_emission().m_step(stats.emission, params)

    def _m_step_transitions(self, counts, end_counts, prior=None, end_prior=None):
        current = self.transmat_
        prior = self.transmat_prior if prior is None else prior
        prior = np.broadcast_to(np.asarray(prior, dtype=float), current.shape)
        ties = self._transmat_ties()
        if ties is None:
            update = dirichlet_map_rows
        else:
            def update(c, p, cur):
                return _topology.tied_map_rows(c, p, cur, ties)
        if getattr(self, "endprob_", None) is None:
            self.transmat_ = update(counts, prior, current)
            return
        # The end state is one more column of each row.
        end_prior = self.endprob_prior if end_prior is None else end_prior
        end_prior = np.broadcast_to(np.asarray(end_prior, dtype=float), (self.n_components,))
        joint = update(
            np.column_stack([counts, end_counts]),
            np.column_stack([prior, end_prior]),
            np.column_stack([current, self.endprob_]),
        )
        self.transmat_ = np.ascontiguousarray(joint[:, :-1])
        self.endprob_ = np.ascontiguousarray(joint[:, -1])

    # --------------------------------------------------- public statistics
    def initialize(self, X, lengths=None):
        """Initialise the parameters from data, without EM.

        Sets the parameters named by ``init_params`` (and any that are not
        set yet) as ``fit`` does before its first iteration: random chain
        rows, k-means means and the like.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations, or a sample of them.
        lengths : array-like of int, optional
            Lengths of the sequences in ``X``; None means one sequence.

        Returns
        -------
        self
        """
        self._check_settings()
        X, _ = self._validate(X, lengths)
        self._init(X, self._random_source())
        self._check()
        return self

    def accumulate(self, X, lengths=None):
        """E-step statistics of a chunk of sequences under the current parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Concatenated observation sequences.
        lengths : array-like of int, optional
            Lengths of the sequences in ``X``; None means one sequence.

        Returns
        -------
        SufficientStatistics
            Additive: the statistics of a corpus are the sum of those of its
            chunks. With ``training="viterbi"`` they are the hard counts of
            the best paths.

        Raises
        ------
        ValueError
            If a sequence has zero probability under the current parameters.
        """
        chain = self._check()
        X, offsets = self._validate(X, lengths)
        check_request(self, "fit", X, X.shape[0],
                      uses_table=hasattr(self._get_emission(), "frame_table"))
        return self._accumulate(chain, X, offsets)

    def m_step(self, stats):
        """Update the parameters named by ``params`` from statistics: one EM M-step.

        Parameters
        ----------
        stats : SufficientStatistics
            Statistics from :meth:`accumulate`, summed over any chunks.

        Returns
        -------
        self
        """
        if not isinstance(stats, SufficientStatistics):
            raise ValueError(f"stats must be SufficientStatistics, got {type(stats).__name__}")
        self._check()
        if stats.n_components != self.n_components:
            raise ValueError(f"stats describe {stats.n_components} states, the model has "
                             f"{self.n_components}")
        if ("t" in self.params and getattr(self, "endprob_", None) is not None
                and stats.end_counts is None):
            raise ValueError("stats have no end_counts, which the model's endprob_ needs")
        self._warn_empty(stats.occupancy, stacklevel=3)
        self._m_step(stats)
        self._check()
        return self

    def partial_fit(self, X, lengths=None):
        """Online EM: one stepwise-EM update from a chunk of sequences.

        Runs the E-step on the chunk under the current parameters, mixes its
        statistics (normalised per frame) into running statistics with
        weight ``rho_t``, and runs the M-step on them (Cappé & Moulines 2009;
        Liang & Klein 2009; see :mod:`hmm_core.hmm._online`). The ``t``-th
        update (``t >= 1``) has weight ``(t + 2) ** -online_decay``, or
        ``online_step`` when that is set; the first has weight 1. The first
        call on a model without parameters initialises them from its chunk,
        as :meth:`initialize`; on a model fitted otherwise (or loaded from a
        file, which does not keep the running statistics) the first call
        starts them from its chunk. :meth:`fit` forgets them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Concatenated observation sequences of the chunk.
        lengths : array-like of int, optional
            Lengths of the sequences in ``X``; None means one sequence.

        Returns
        -------
        self
        """
        from hmm_core.hmm._online import partial_fit

        return partial_fit(self, X, lengths)
