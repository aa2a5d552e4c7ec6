"""VariationalCategoricalHMM: discrete symbols, Dirichlet posteriors on every row."""

from __future__ import annotations

import numpy as np

from hmm_core.emissions.categorical import CategoricalEmission
from hmm_core.estimator.constraints import Check
from hmm_core.hmm.base import EmissionSetting, emission_attribute
from hmm_core.variational._base import POSITIVE_PRIOR, VB_RULES, VariationalHMM, check_hyper
from hmm_core.variational._divergence import expected_log_dirichlet, kl_dirichlet

__all__ = ["VariationalCategoricalHMM"]


def _n_features_rule(value, name, owner):
    if value is not None and (isinstance(value, bool) or not isinstance(
            value, (int, np.integer)) or value < 1):
        raise ValueError(f"{name} must be None or a positive integer, got {value!r}")
    return value


class VariationalCategoricalHMM(VariationalHMM):
    """Hidden Markov model with categorical emissions, trained by variational Bayes.

    hmmlearn's ``VariationalCategoricalHMM`` (same settings, same fitted
    attributes and the same lower bound), trained on the compiled kernels.
    Start probabilities, each row of the transition matrix and each row of
    the emission probabilities have a Dirichlet prior and posterior.

    Parameters
    ----------
    n_components : int
        Number of states.
    startprob_prior : float or array-like of shape (n_components,), optional
        Dirichlet concentration of the start probabilities; None is
        ``1 / n_components``.
    transmat_prior : float or array-like of shape (n_components, n_components), optional
        Dirichlet concentration of each transition row; None is
        ``1 / n_components``.
    emissionprob_prior : float or array-like of shape (n_components, n_features), optional
        Dirichlet concentration of each emission row; None is
        ``1 / n_features``.
    n_features : int, optional
        Number of symbols; inferred from the training data when None.
    algorithm : {"viterbi", "map"}
        Decoder of :meth:`decode` and :meth:`predict`.
    random_state : int, RandomState or None
        Seed of the initial posteriors and of :meth:`sample`.
    n_iter : int
        Maximum number of VB iterations.
    tol : float
        Stop when the lower bound gains less than this.
    verbose : bool
        Print one line per iteration to standard error.
    params, init_params : str
        Letters among ``s`` (start), ``t`` (transitions), ``e`` (emissions):
        the posteriors updated by training, and those drawn afresh before
        it (the others keep their current ``*_prior_`` and ``*_posterior_``).
    implementation : {"log", "scaling"}
        Accepted for hmmlearn compatibility; both run the same exact
        log-space kernels.
    n_init : int
        Number of random initialisations; the run with the highest final
        lower bound is kept.
    n_threads : int, optional
        Threads of the compiled kernels (None: the package default).
    callback : callable, optional
        Called with the monitor after every iteration.

    Attributes
    ----------
    startprob_prior_, startprob_posterior_ : ndarray of shape (n_components,)
    transmat_prior_, transmat_posterior_ : ndarray of shape (n_components, n_components)
    emissionprob_prior_, emissionprob_posterior_ : ndarray of shape (n_components, n_features)
        Dirichlet concentrations of the prior and of the approximate posterior.
    startprob_, transmat_, emissionprob_ : ndarray
        Posterior means (each posterior row normalised), used by scoring,
        decoding and sampling.
    monitor_ : ConvergenceMonitor
        ``history`` holds the evidence lower bound of every iteration.

    See Also
    --------
    hmm_core.CategoricalHMM : The same model trained by maximum likelihood (EM).

    Notes
    -----
    Symbol ``-1`` marks a missing frame, as in
    :class:`~hmm_core.CategoricalHMM`: it scores 0 in every state and adds no
    emission count.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core.variational import VariationalCategoricalHMM
    >>> rng = np.random.RandomState(0)
    >>> X = np.concatenate([rng.choice(3, 200, p=[.8, .1, .1]),
    ...                     rng.choice(3, 200, p=[.1, .1, .8])])[:, None]
    >>> model = VariationalCategoricalHMM(n_components=4, random_state=0).fit(X)
    >>> bool(np.all(np.diff(model.monitor_.history) >= -1e-9))
    True
    >>> model.emissionprob_posterior_.shape
    (4, 3)
    """

    _emission_class = CategoricalEmission
    _emission_letters = "e"
    _parameter_constraints = {**VB_RULES, "emissionprob_prior": POSITIVE_PRIOR,
                              "n_features": Check(_n_features_rule)}
    _vb_emission_names = ("emissionprob_prior_", "emissionprob_posterior_")

    n_features = EmissionSetting(inferred=True)
    emissionprob_ = emission_attribute(
        "emissionprob_", "Posterior mean emission probabilities, (n_components, n_features).")

    def __init__(self, n_components=1, startprob_prior=None, transmat_prior=None,
                 emissionprob_prior=None, n_features=None, algorithm="viterbi",
                 random_state=None, n_iter=100, tol=1e-6, verbose=False, params="ste",
                 init_params="ste", implementation="log", n_init=1, n_threads=None,
                 callback=None):
        self._set_params_from(locals())

    def _vb_emission_init(self, X, n_frames, random_state):
        emission = self._get_emission()
        if self._needs("e", *self._vb_emission_names):
            if emission.n_features is None:
                emission.n_features = int(X.max()) + 1
            n, f = self.n_components, emission.n_features
            init = 1.0 / f if self.emissionprob_prior is None else self.emissionprob_prior
            self.emissionprob_prior_ = self._prior_value(init, None, (n, f))
            # hmmlearn draws each row from a Dirichlet with the prior's concentrations.
            rows = [random_state.dirichlet(alpha) for alpha in self.emissionprob_prior_]
            self.emissionprob_posterior_ = np.array(rows) * n_frames / n

    def _vb_emission_check(self):
        emission = self._get_emission()
        posterior = self.__dict__.get("emissionprob_posterior_")
        if posterior is None or self.__dict__.get("emissionprob_prior_") is None:
            raise ValueError("emissionprob_posterior_ is not set: fit the model or assign it")
        if emission.n_features is None:
            emission.n_features = int(np.shape(posterior)[-1])
        shape = (self.n_components, emission.n_features)
        for name in self._vb_emission_names:
            setattr(self, name, check_hyper(self.__dict__[name], name, shape))

    def _expected_log_frameprob(self, X):
        table = expected_log_dirichlet(self.emissionprob_posterior_)
        # One extra row of zeros: symbol -1 (missing) indexes it.
        table = np.vstack([table.T, np.zeros((1, self.n_components))])
        return np.ascontiguousarray(np.take(table, X, axis=0))

    def _vb_emission_stats(self, X, posteriors):
        emission = self._get_emission()
        counts = emission.empty_stats(self.n_components)
        emission.accumulate(counts, X, posteriors)
        return counts

    def _vb_emission_update(self, stats):
        if "e" in self.params:
            self.emissionprob_posterior_ = self.emissionprob_prior_ + stats["obs"]

    def _vb_emission_kl(self):
        return kl_dirichlet(self.emissionprob_posterior_, self.emissionprob_prior_)

    def _set_emission_estimates(self):
        posterior = self.emissionprob_posterior_
        self.emissionprob_ = posterior / posterior.sum(axis=1, keepdims=True)
