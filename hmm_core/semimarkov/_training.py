"""EM for semi-Markov models: initialisation, E-step statistics, M-step, restarts."""

from __future__ import annotations

import copy

import numpy as np

from hmm_core.emissions.base import dirichlet_map_rows
from hmm_core.hmm.monitor import ConvergenceMonitor
from hmm_core.semimarkov._stats import SemiMarkovStatistics
from hmm_core.semimarkov.durations import expand_censored, fit_durations, initial_durations

__all__: list[str] = []

_FITTED = ("startprob_", "transmat_", "durationprob_", "duration_params_", "emission_",
           "monitor_")


class SemiMarkovTraining:
    """``fit``, ``initialize``, ``accumulate`` and ``m_step`` (mixed into the model)."""

    # ------------------------------------------------------------ initialise
    def initialize(self, X, lengths=None):
        """Data-dependent initialisation from a sample, without EM.

        Sets the parameters named by ``init_params`` and any that are not set
        yet: random start and switch probabilities (Dirichlet draws), uniform
        nonparametric durations or parametric means spread over
        1..``max_duration``, and the emission's own initialisation (k-means for
        Gaussian emissions).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        self
        """
        self._check_settings()
        X, _ = self._validate(X, lengths)
        self._init(X, self._random_source())
        self._check()
        return self

    def _init(self, X, random_state):
        n, init = self.n_components, self._letters(self.init_params)
        if "s" in init or getattr(self, "startprob_", None) is None:
            self.startprob_ = random_state.dirichlet(np.ones(n))
        if "t" in init or getattr(self, "transmat_", None) is None:
            trans = np.zeros((n, n))
            for i in range(n):
                if n > 1:
                    trans[i, np.arange(n) != i] = random_state.dirichlet(np.ones(n - 1))
            self.transmat_ = trans
        if "d" in init or getattr(self, "durationprob_", None) is None:
            self.durationprob_, params = initial_durations(
                self.duration, n, self.max_duration, random_state)
            self.duration_params_ = params
        emission = self._emission()
        emission.initialize(X, n, random_state, init)

    # ----------------------------------------------------------------- E-step
    def accumulate(self, X, lengths=None):
        """E-step statistics of a chunk of data under the current parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        SemiMarkovStatistics
            Summable over chunks; ``m_step`` of the sum is one EM iteration.
        """
        engine = self._check()
        X, offsets = self._validate(X, lengths)
        return self._statistics(engine, X, offsets)

    def _statistics(self, engine, X, offsets):
        frames = self._frames(X)
        out = engine.estep(frames, offsets)
        durations = out["durations"] + (
            expand_censored(out["last"], self.durationprob_) if self.censor_last
            else out["last"])
        emission = self._emission()
        emission_stats = emission.empty_stats(self.n_components)
        emission.accumulate(emission_stats, X, out["posteriors"])
        stats = SemiMarkovStatistics(
            loglik=float(out["loglik"].sum()), n_sequences=len(offsets) - 1,
            n_frames=int(offsets[-1]), start_counts=out["start"], trans_counts=out["trans"],
            duration_counts=durations, emission=emission_stats)
        stats._per_sequence = out["loglik"]   # kept for fit's checks; not summed
        return stats

    # ----------------------------------------------------------------- M-step
    def m_step(self, stats):
        """One M-step from (summed) statistics, as one ``fit`` iteration does.

        Parameters
        ----------
        stats : SemiMarkovStatistics

        Returns
        -------
        self
        """
        if not isinstance(stats, SemiMarkovStatistics):
            raise ValueError(f"stats must be SemiMarkovStatistics, got {type(stats).__name__}")
        self._check()
        n, d = self.n_components, self.max_duration
        if stats.start_counts.shape != (n,) or stats.duration_counts.shape != (n, d):
            raise ValueError(f"stats must describe {n} states and durations 1..{d}")
        params = self._letters(self.params)
        if "s" in params:
            self.startprob_ = dirichlet_map_rows(stats.start_counts, self.startprob_prior,
                                                 self.startprob_)
        if "t" in params:
            self.transmat_ = dirichlet_map_rows(stats.trans_counts, self.transmat_prior,
                                                self.transmat_)
        if "d" in params:
            self.durationprob_, self.duration_params_ = fit_durations(
                self.duration, stats.duration_counts, self.durationprob_,
                getattr(self, "duration_params_", None), self.duration_prior)
        emission = self._emission()
        if set(params) & set(emission.letters):
            emission.m_step(stats.emission, params)
        self._check()
        return self

    # -------------------------------------------------------------------- fit
    def fit(self, X, lengths=None):
        """Estimate every parameter by EM (Baum-Welch over segmentations).

        With ``n_init > 1``, EM runs from that many initialisations (drawn in
        turn from ``random_state``) and the run with the highest final
        log-likelihood is kept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Concatenated observation sequences.
        lengths : array-like of int, optional
            Lengths of the sequences in ``X``; None means one sequence.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For bad settings or data, or a sequence that no segmentation can
            explain under the initial parameters (durations that cannot fit
            it, say).
        """
        self._check_settings()
        X, offsets = self._validate(X, lengths)
        random_state = self._random_source()
        if self.n_init == 1:
            self._fit_once(X, offsets, random_state)
            return self
        initial = self._snapshot()
        best_score, best = -np.inf, None
        for _ in range(self.n_init):
            self._restore(initial)
            self._fit_once(X, offsets, random_state)
            score = float(self._check().loglik(self._frames(X), offsets).sum())
            if best is None or score > best_score:
                best_score, best = score, self._snapshot()
        self._restore(best)
        self._check()
        return self

    def _fit_once(self, X, offsets, random_state):
        self._init(X, random_state)
        engine = self._check()
        X = self._emission().recheck_X(X)
        self.monitor_ = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)
        for _ in range(self.n_iter):
            stats = self._statistics(engine, X, offsets)
            impossible = np.flatnonzero(~np.isfinite(stats._per_sequence))
            if impossible.size:
                length = int(offsets[impossible[0] + 1] - offsets[impossible[0]])
                raise ValueError(
                    f"sequence {impossible[0]} ({length} frames) has zero probability under "
                    f"the current parameters: no segmentation into durations of at most "
                    f"max_duration={self.max_duration} frames can explain it (try a larger "
                    "max_duration or censor_last=True); EM cannot proceed")
            self.m_step(stats)
            engine = self._check()
            self.monitor_.report(stats.loglik)
            if self.callback is not None:
                self.callback(self.monitor_)
            if self.monitor_.converged:
                break

    def _snapshot(self):
        return {name: copy.deepcopy(self.__dict__.get(name)) for name in _FITTED}

    def _restore(self, state):
        for name, value in state.items():
            if value is None:
                self.__dict__.pop(name, None)
            else:
                self.__dict__[name] = copy.deepcopy(value)
        self.__dict__.pop("_engine_key", None)
