"""AutoregressiveHMM: each state is a vector autoregression of order ``n_lags``."""

from __future__ import annotations

import numpy as np

from hmm_core.emissions._covariance import check_observations
from hmm_core.emissions.autoregressive import AutoregressiveEmission, lagged_design
from hmm_core.emissions.base import dirichlet_map_rows
from hmm_core.estimator.constraints import Integer, OneOf, Real
from hmm_core.hmm.base import BaseHMM, EmissionSetting, emission_attribute
from hmm_core.hmm.core import HMMCore
from hmm_core.hmm.statistics import SufficientStatistics
from hmm_core.kernels.validation import check_lengths

__all__ = ["AutoregressiveHMM"]


class AutoregressiveHMM(BaseHMM):
    """Hidden Markov model whose states are linear-Gaussian autoregressions.

    In state ``k``, ``x_t ~ N(A_k [x_{t-1}, ..., x_{t-L}] + b_k, Sigma_k)``
    (dynamax's ``LinearAutoregressiveHMM``, the ``ssm`` package's "ar"
    observations). The first ``n_lags`` frames of each sequence are
    conditioned on: they are regressors only and carry no emission term,
    while the chain still runs over them (their states are inferred from
    the transitions alone). Training is exact EM: the M-step is weighted
    least squares from accumulated moments.

    Parameters
    ----------
    n_components : int
        Number of states.
    n_lags : int
        Order L >= 1 of the autoregression.
    covariance_type : {"full", "diag"}
        Form of the noise covariances.
    alpha : float
        Ridge precision of the matrix-normal prior on the lag weights
        (intercepts are not penalised); 0 is maximum likelihood.
    covars_prior, covars_weight : float
        Inverse-Wishart part of the prior: ``covars_prior * I`` is added to
        each state's residual scatter and ``covars_weight`` to its count
        (see :class:`~hmm_core.emissions.autoregressive.AutoregressiveEmission`).
    params, init_params : str
        Letters among ``s`` (start), ``t`` (transitions), ``m`` (weights and
        intercepts), ``c`` (covariances).

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    coefs_ : ndarray of shape (n_components, n_features, n_features * n_lags)
        ``A_k``; column block ``j`` multiplies ``x_{t-1-j}``.
    intercepts_ : ndarray of shape (n_components, n_features)
    covars_ : ndarray
        (n_components, n_features, n_features) full, (n_components,
        n_features) diag.
    monitor_ : ConvergenceMonitor

    Notes
    -----
    Every sequence must be longer than ``n_lags``. :meth:`sample` starts
    the recursion from zero lags. Missing values (NaN) are not supported.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core.models.autoregressive import AutoregressiveHMM
    >>> rng = np.random.RandomState(0)
    >>> x = np.zeros((1000, 1))
    >>> for t in range(1, 1000):
    ...     phi = 0.9 if (t // 200) % 2 else -0.5
    ...     x[t] = phi * x[t - 1] + rng.normal()
    >>> model = AutoregressiveHMM(n_components=2, random_state=0, n_iter=100).fit(x)
    >>> np.round(np.sort(model.coefs_[:, 0, 0]), 1)
    array([-0.5,  0.9])
    """

    _emission_class = AutoregressiveEmission
    _emission_letters = "mc"
    _parameter_constraints = {
        **HMMCore._parameter_constraints,
        "n_lags": Integer(1, allow_bool=False),
        "covariance_type": OneOf("full", "diag"),
        "alpha": Real(0.0, finite=True),
        "covars_prior": Real(0.0, finite=True),
        "covars_weight": Real(0.0, finite=True),
    }

    n_lags = EmissionSetting()
    covariance_type = EmissionSetting()
    alpha = EmissionSetting()
    covars_prior = EmissionSetting()
    covars_weight = EmissionSetting()
    coefs_ = emission_attribute("coefs_", "Lag weights A_k, (n_components, d, d * n_lags).")
    intercepts_ = emission_attribute("intercepts_", "Intercepts b_k, (n_components, d).")
    covars_ = emission_attribute("covars_", "Noise covariances of the states.")

    def __init__(self, n_components=1, n_lags=1, covariance_type="full", alpha=0.0,
                 covars_prior=0.0, covars_weight=0.0, startprob_prior=1.0,
                 transmat_prior=1.0, algorithm="viterbi", random_state=None, n_iter=10,
                 tol=1e-2, verbose=False, params="stmc", init_params="stmc", end_state=False,
                 endprob_prior=1.0, n_init=1, n_threads=None, callback=None):
        self._set_params_from(locals())

    @property
    def n_features(self):
        """Dimension of the observations (None before fitting)."""
        return self._get_emission()._known_n_features()

    def _emission_cells_per_row(self, n_features):
        d = n_features
        return d * (d * self.n_lags + 1) + d * d + 2 * d * (self.n_lags + 1)

    def _validate(self, X, lengths):
        """The lagged design of ``X`` (see :func:`lagged_design`) and the offsets."""
        X = check_observations(X, self._get_emission()._known_n_features())
        if np.isnan(X).any():
            raise ValueError("X must not hold NaN: the autoregressive model does not handle "
                             "missing values")
        offsets = check_lengths(lengths, X.shape[0])
        short = np.flatnonzero(np.diff(offsets) <= self.n_lags)
        if short.size:
            raise ValueError(f"n_lags={self.n_lags} is not shorter than sequence {short[0]} "
                             f"(length {int(np.diff(offsets)[short[0]])}): every sequence "
                             "needs a frame after its lags (check lengths and n_lags)")
        return lagged_design(X, offsets, self.n_lags), offsets

    # ------------------------------------------------ sufficient statistics
    def accumulate(self, X, lengths=None):
        """E-step over one chunk with the current parameters; summed statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        SufficientStatistics
            The emission part holds each state's regression moments ``n``,
            ``zz``, ``zy`` and ``yy``.
        """
        chain = self._check()
        design, offsets = self._validate(X, lengths)
        stats = chain.estep(self._log_frameprob(design), offsets, self.n_threads)
        emission = self._get_emission()
        moments = emission.empty_stats(self.n_components)
        emission.accumulate(moments, design, stats["posteriors"])
        end = stats["end_counts"] if self.endprob_ is not None else None
        return SufficientStatistics(self.n_components, stats["loglik"].sum(),
                                    offsets.shape[0] - 1, offsets[-1], stats["start_counts"],
                                    stats["trans_counts"], end, moments)

    def m_step(self, stats):
        """One M-step from (summed) statistics, as one ``fit`` iteration does.

        Parameters
        ----------
        stats : SufficientStatistics

        Returns
        -------
        self
        """
        self._check()
        if "s" in self.params:
            self.startprob_ = dirichlet_map_rows(stats.start_counts, self.startprob_prior,
                                                 self.startprob_)
        if "t" in self.params:
            self._m_step_transitions(stats.trans_counts, stats.end_counts)
        if set(self.params) & set(self._emission_letters):
            self._get_emission().m_step(stats.emission, self.params)
        self._check()
        return self

    def initialize(self, X, lengths=None):
        """Data-dependent initialisation (k-means, one least-squares step) without EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        self
        """
        self._check_settings()
        design, _ = self._validate(X, lengths)
        self._init(design, self._random_source())
        self._check()
        return self
