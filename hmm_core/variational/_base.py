"""Variational Bayes training of an HMM: the chain's part, shared by every emission.

The posterior over the parameters is approximated by a product of conjugate
distributions (Dirichlet rows for the start and transition probabilities, the
emission's conjugate family for the rest) and is improved by coordinate
ascent on the evidence lower bound (ELBO):

- VB-E step: forward-backward with the "expected log" parameters
  ``exp(E[log pi])``, ``exp(E[log A])`` and ``exp(E[log p(x | state)])``.
  Rows of ``exp(E[log A])`` sum to less than one, so the step runs on the
  compiled log-space kernels, which are exact for any non-negative matrix
  (the scaled linear-domain kernels assume stochastic rows);
- VB-M step: each posterior is its prior plus the expected counts.

The ELBO of an iteration is the log normaliser of the VB-E step minus the
divergence of the parameter posterior from the prior, both at the posterior
the iteration starts from (as hmmlearn reports it); it never decreases.
Scoring, decoding and sampling use the point estimates (posterior means of
the probabilities; see each model), as in hmmlearn.
"""

from __future__ import annotations

import numpy as np

from hmm_core.estimator.constraints import (
    Boolean,
    CallableOrNone,
    Check,
    Integer,
    Letters,
    OneOf,
    RandomStateRule,
    Real,
    Threads,
)
from hmm_core.hmm._memory import check_request
from hmm_core.hmm.base import BaseHMM
from hmm_core.hmm.monitor import ConvergenceMonitor
from hmm_core.hmm.statistics import SufficientStatistics
from hmm_core.kernels.chain import ChainParams
from hmm_core.variational._divergence import expected_log_dirichlet, kl_dirichlet

__all__ = ["VariationalHMM", "check_hyper", "positive_prior"]


def check_hyper(value, name, shape, minimum=0.0, strict=True):
    """A finite float array of ``shape`` above ``minimum``, or ``ValueError`` naming it.

    Parameters
    ----------
    value : array-like
    name : str
    shape : tuple of int
    minimum : float or None
        Lower bound (None: any finite value).
    strict : bool
        Whether the bound is strict.

    Returns
    -------
    ndarray of float
    """
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers, got {value!r}") from None
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if minimum is not None:
        bad = arr <= minimum if strict else arr < minimum
        if np.any(bad):
            sign = ">" if strict else ">="
            raise ValueError(f"{name} must be {sign} {minimum}, found {arr[bad].flat[0]!r}")
    return arr


def positive_prior(value, name, owner):
    """Rule of a VB prior setting: None (hmmlearn's default) or positive finite numbers."""
    if value is None:
        return value
    arr = np.asarray(value) if not isinstance(value, (str, bytes)) else np.asarray(None)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{name} must be None, a positive number or an array of them, "
                         f"got {value!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and positive, got {value!r}")
    return value


def _real_or_none(value, name, owner):
    if value is None:
        return value
    arr = np.asarray(value) if not isinstance(value, (str, bytes)) else np.asarray(None)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number) or not np.all(
            np.isfinite(arr)):
        raise ValueError(f"{name} must be None or finite real numbers, got {value!r}")
    return value


POSITIVE_PRIOR = Check(positive_prior)
REAL_PRIOR = Check(_real_or_none)

#: Settings shared by the variational models (hmmlearn's, plus restarts and threads).
VB_RULES = {
    "n_components": Integer(1, allow_bool=False),
    "algorithm": OneOf("viterbi", "map"),
    "random_state": RandomStateRule(),
    "n_iter": Integer(0, allow_bool=False),
    "tol": Real(),
    "verbose": Boolean(counts=True),
    "params": Letters(),
    "init_params": Letters(),
    "implementation": OneOf("log", "scaling"),
    "n_init": Integer(1, allow_bool=False),
    "n_threads": Threads(),
    "callback": CallableOrNone(),
    "startprob_prior": POSITIVE_PRIOR,
    "transmat_prior": POSITIVE_PRIOR,
}


class VariationalHMM(BaseHMM, abstract=True):
    """An HMM trained by variational Bayes; a subclass supplies the emission's part.

    A subclass implements ``_vb_emission_init``, ``_vb_emission_check``,
    ``_expected_log_frameprob``, ``_vb_emission_stats``, ``_vb_emission_update``,
    ``_vb_emission_kl`` and ``_set_emission_estimates`` and lists its fitted hyper-parameters in
    ``_vb_emission_names``.
    """

    # Settings of HMMCore that the variational models do not take.
    end_state = False
    endprob_prior = 1.0
    training = "baum-welch"
    emission_ties = None
    transmat_ties = None

    _vb_chain_names = ("startprob_prior_", "startprob_posterior_", "transmat_prior_",
                       "transmat_posterior_")
    _vb_emission_names: tuple = ()

    @classmethod
    def _vb_names(cls):
        return cls._vb_chain_names + cls._vb_emission_names

    @property
    def _FITTED(self):  # noqa: N802 - the name Training's snapshots read
        return ("startprob_", "transmat_", "endprob_", "monitor_", *self._vb_names())

    # ----------------------------------------------------------------- fit
    def fit(self, X, lengths=None):
        """Variational Bayes: coordinate ascent on the evidence lower bound.

        Initialises the posteriors named by ``init_params`` (see the class
        notes), then alternates VB-E and VB-M steps until the lower bound
        gains less than ``tol`` or ``n_iter`` iterations have run. With
        ``n_init > 1`` the run with the highest final lower bound is kept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Concatenated observation sequences.
        lengths : array-like of int, optional
            Lengths of the sequences in ``X``; None means one sequence.

        Returns
        -------
        self
        """
        self._check_settings()
        X, offsets = self._validate(X, lengths)
        self._vb_check_X(X)
        check_request(self, "fit", X, X.shape[0], uses_table=False)
        return self._fit_em(X, offsets)

    def _vb_check_X(self, X):
        """Reject observations the variational update cannot use (a subclass hook)."""

    def _objective(self, chain, frames, offsets):
        # Restarts compare the lower bound reached, not a likelihood.
        history = self.monitor_.history
        return history[-1] if history else -np.inf

    def _fit_once(self, X, offsets, random_state, clamp=None):
        self._vb_init(X, offsets, random_state)
        self._vb_check()
        self._set_estimates()
        self._check()
        X = self._get_emission().recheck_X(X)
        self.monitor_ = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)
        for _ in range(self.n_iter):
            stats = self._vb_estep(X, offsets)
            lower_bound = float(stats["loglik"].sum()) - self._divergence()
            self._vb_m_step(stats, X)
            self._set_estimates()
            self.monitor_.report(lower_bound)
            self._check()
            callback = getattr(self, "callback", None)
            if callback is not None:
                callback(self.monitor_)
            if self.monitor_.converged:
                break

    # ------------------------------------------------------------ the steps
    def _subnormalised_chain(self):
        """Chain of ``exp(E[log pi])`` and ``exp(E[log A])`` for the log-space kernels."""
        log_start = expected_log_dirichlet(self.startprob_posterior_)
        log_trans = expected_log_dirichlet(self.transmat_posterior_)
        chain = ChainParams.from_logs(np.ascontiguousarray(log_start),
                                      np.ascontiguousarray(np.exp(log_trans)), sparse=False)
        chain.log_transmat = np.ascontiguousarray(log_trans)
        # The scaled kernels assume rows that sum to one; the log-space ones
        # are exact for any non-negative matrix.
        chain.scaled = False
        return chain

    def _vb_estep(self, X, offsets):
        """Posteriors, expected counts and log normalisers under the expected logs."""
        chain = self._subnormalised_chain()
        stats = chain.estep(self._expected_log_frameprob(X), offsets, self.n_threads)
        impossible = np.flatnonzero(~np.isfinite(stats["loglik"]))
        if impossible.size:
            raise ValueError(f"sequence {impossible[0]} has zero probability under the "
                             "current posterior (check n_features); VB cannot proceed")
        return stats

    def _vb_m_step(self, stats, X):
        self._vb_update(stats["start_counts"], stats["trans_counts"],
                        self._vb_emission_stats(X, stats["posteriors"]))

    def _vb_update(self, start_counts, trans_counts, emission_stats):
        """Each posterior is its prior plus the expected counts."""
        if "s" in self.params:
            self.startprob_posterior_ = self.startprob_prior_ + start_counts
        if "t" in self.params:
            self.transmat_posterior_ = self.transmat_prior_ + trans_counts
        if set(self.params) & set(self._emission_letters):
            self._vb_emission_update(emission_stats)

    # ------------------------------------------------ sufficient statistics
    def accumulate(self, X, lengths=None):
        """VB-E step over one chunk with the current posterior; summed statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        SufficientStatistics
            ``loglik`` is the summed log normaliser of the VB-E step.
        """
        self._check_settings()
        self._vb_check()
        X, offsets = self._validate(X, lengths)
        self._vb_check_X(X)
        stats = self._vb_estep(X, offsets)
        return SufficientStatistics(
            self.n_components, stats["loglik"].sum(), offsets.shape[0] - 1, offsets[-1],
            stats["start_counts"], stats["trans_counts"], None,
            self._vb_emission_stats(X, stats["posteriors"]))

    def m_step(self, stats):
        """One VB-M step from (summed) statistics, as one ``fit`` iteration does.

        Parameters
        ----------
        stats : SufficientStatistics

        Returns
        -------
        self
        """
        self._vb_check()
        self._vb_update(stats.start_counts, stats.trans_counts, stats.emission)
        self._set_estimates()
        self._check()
        return self

    def initialize(self, X, lengths=None):
        """Draw the initial posteriors as hmmlearn does, honouring ``init_params``; no VB.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        self
        """
        self._check_settings()
        X, offsets = self._validate(X, lengths)
        self._vb_check_X(X)
        self._vb_init(X, offsets, self._random_source())
        self._vb_check()
        self._set_estimates()
        self._check()
        return self

    def _divergence(self):
        """KL divergence of the parameter posterior from the prior."""
        return (kl_dirichlet(self.startprob_posterior_, self.startprob_prior_)
                + kl_dirichlet(self.transmat_posterior_, self.transmat_prior_)
                + self._vb_emission_kl())

    def _set_estimates(self):
        """Point estimates (posterior means) for scoring, decoding and sampling."""
        start = self.startprob_posterior_
        self.startprob_ = start / start.sum()
        trans = self.transmat_posterior_
        self.transmat_ = trans / trans.sum(axis=1, keepdims=True)
        self._set_emission_estimates()

    # ------------------------------------------------------ initialisation
    def _needs(self, letter, *names):
        return letter in self.init_params or any(
            self.__dict__.get(name) is None for name in names)

    def _prior_value(self, setting, default, shape):
        value = default if setting is None else setting
        return np.array(np.broadcast_to(np.asarray(value, dtype=float), shape))

    def _vb_init(self, X, offsets, random_state):
        """hmmlearn's initial posteriors: random Dirichlet draws scaled by the data size."""
        n = self.n_components
        n_seq, n_frames = offsets.shape[0] - 1, int(offsets[-1])
        if self._needs("s", "startprob_prior_", "startprob_posterior_"):
            self.startprob_prior_ = self._prior_value(self.startprob_prior, 1.0 / n, (n,))
            self.startprob_posterior_ = random_state.dirichlet(np.full(n, 1.0 / n)) * n_seq
        if self._needs("t", "transmat_prior_", "transmat_posterior_"):
            self.transmat_prior_ = self._prior_value(self.transmat_prior, 1.0 / n, (n, n))
            self.transmat_posterior_ = (random_state.dirichlet(np.full(n, 1.0 / n), size=n)
                                        * n_frames / n)
        self._vb_emission_init(X, n_frames, random_state)

    def _vb_check(self):
        """Validate every prior and posterior (shapes, finite, positive)."""
        n = self.n_components
        for name, shape in (("startprob_prior_", (n,)), ("startprob_posterior_", (n,)),
                            ("transmat_prior_", (n, n)), ("transmat_posterior_", (n, n))):
            value = self.__dict__.get(name)
            if value is None:
                raise ValueError(f"{name} is not set: fit the model or assign it")
            setattr(self, name, check_hyper(value, name, shape))
        self._vb_emission_check()

    # ------------------------------------------------------------ model files
    def _file_state(self, writer, prefix):
        out = super()._file_state(writer, prefix)
        out["variational"] = {
            name: writer.value(self.__dict__.get(name), f"{prefix}variational.{name}")
            for name in self._vb_names()}
        return out

    def _restore_file_state(self, reader, body):
        stored = {k: reader.value(v) for k, v in (body.get("variational") or {}).items()}
        unknown = set(stored) - set(self._vb_names())
        if unknown:
            raise ValueError(f"unexpected variational parameters {sorted(unknown)}")
        for name, value in stored.items():
            if value is not None:
                setattr(self, name, value)
        if all(stored.get(name) is not None for name in self._vb_names()):
            self._vb_check()
        super()._restore_file_state(reader, body)
