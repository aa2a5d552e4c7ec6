"""GMMHMM: Gaussian-mixture emissions."""

from __future__ import annotations

import numpy as np

from hmm_core.emissions.gmm import GMMEmission
from hmm_core.hmm.base import BaseHMM, EmissionSetting, emission_attribute
from hmm_core.models._rules import model_rules

__all__ = ["GMMHMM"]


class GMMHMM(BaseHMM):
    """Hidden Markov model whose states emit from Gaussian mixtures.

    Parameters
    ----------
    n_mix : int
        Gaussian components in each state's mixture.
    min_covar : float
        Floor on the covariances relative to the data's scale, applied at
        initialisation and after every M-step: each variance is at least
        ``min_covar`` times its feature's variance over the training data
        (spherical: times the mean of those); a full or tied matrix,
        standardised by the features' standard deviations, has eigenvalues
        at least ``min_covar`` (see
        :class:`~hmm_core.models.gaussian.GaussianHMM`).
    weights_prior : float or array-like, broadcast to (n_components, n_mix)
        Dirichlet concentration of the mixture weights.
    means_prior, means_weight : float or array-like
        Normal prior on the component means.
    covars_prior, covars_weight : float, array-like or None
        The covariance priors of hmmlearn's GMMHMM: inverse-Wishart scale and
        degrees of freedom (full, tied) or inverse-gamma ``alpha`` and
        ``beta`` (diag, spherical), in the units of the data. None selects
        the values for which the update is maximum likelihood (so the
        default fit does not depend on the units of the data). A scalar
        ``covars_prior`` is ``covars_prior * I`` for full and tied.
    covariance_type : {"spherical", "diag", "full", "tied"}
        ``tied``: the components of a state share one full matrix.
    params, init_params : str
        Letters among ``s``, ``t``, ``m`` (means), ``c`` (covariances) and
        ``w`` (mixture weights).

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    endprob_ : ndarray of shape (n_components,) or None
    weights_ : ndarray of shape (n_components, n_mix)
    means_ : ndarray of shape (n_components, n_mix, n_features)
    covars_ : ndarray
        hmmlearn's GMMHMM storage: (n_components, n_mix) spherical,
        (n_components, n_mix, n_features) diag, (n_components, n_mix,
        n_features, n_features) full, (n_components, n_features, n_features)
        tied.
    n_features : int
    monitor_ : ConvergenceMonitor

    Notes
    -----
    The per-frame likelihood of a state is the log-sum-exp over its
    components. NaN marks a missing value, marginalised as in
    :class:`~hmm_core.models.gaussian.GaussianHMM`.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core.models.gmm import GMMHMM
    >>> rng = np.random.RandomState(0)
    >>> X = np.concatenate([rng.normal(0, 1, (60, 1)), rng.normal(6, 1, (60, 1))])
    >>> model = GMMHMM(n_components=2, n_mix=2, random_state=0).fit(X)
    >>> model.means_.shape
    (2, 2, 1)
    """

    _emission_class = GMMEmission
    _parameter_constraints = model_rules(GMMEmission)
    _emission_letters = "mcw"

    n_mix = EmissionSetting()
    min_covar = EmissionSetting()
    covariance_type = EmissionSetting()
    weights_prior = EmissionSetting()
    means_prior = EmissionSetting()
    means_weight = EmissionSetting()
    covars_prior = EmissionSetting()
    covars_weight = EmissionSetting()
    weights_ = emission_attribute("weights_", "Mixture weights, shape (n_components, n_mix).")
    means_ = emission_attribute(
        "means_", "Component means, shape (n_components, n_mix, n_features).")

    def __init__(self, n_components=1, n_mix=1, min_covar=1e-3, startprob_prior=1.0,
                 transmat_prior=1.0, weights_prior=1.0, means_prior=0.0, means_weight=0.0,
                 covars_prior=None, covars_weight=None, algorithm="viterbi",
                 covariance_type="diag", random_state=None, n_iter=10, tol=1e-2,
                 verbose=False, params="stmcw", init_params="stmcw", end_state=False,
                 endprob_prior=1.0, n_init=1, n_threads=None, callback=None,
                 online_decay=0.6, online_step=None):
        self._set_params_from(locals())

    @property
    def covars_(self):
        """Component covariances in hmmlearn's GMMHMM storage shape."""
        value = self._get_emission().covars_
        if value is None:
            raise AttributeError("covars_")
        return value

    @covars_.setter
    def covars_(self, value):
        self._get_emission().set_covars(np.asarray(value), self._n_emission_components())

    @covars_.deleter
    def covars_(self):
        self._get_emission().covars_ = None

    def _emission_cells_per_row(self, n_features):
        d = n_features
        return int(self.n_mix) * (1 + d + {"spherical": 1, "diag": d}.get(self.covariance_type,
                                                                          d * d))

    @property
    def n_features(self):
        """Dimension of the observations (None before fitting)."""
        return self._get_emission()._known_n_features()

    @n_features.setter
    def n_features(self, value):
        self._get_emission().n_features = value
