"""GaussianHMM: multivariate normal emissions."""

from __future__ import annotations

from hmm_core.emissions.gaussian import GaussianEmission
from hmm_core.hmm.base import BaseHMM, EmissionSetting, emission_attribute
from hmm_core.models._rules import model_rules

__all__ = ["GaussianHMM"]


class GaussianHMM(BaseHMM):
    """Hidden Markov model with Gaussian emissions.

    Parameters
    ----------
    covariance_type : {"spherical", "diag", "full", "tied"}
        One variance per state, one per state and feature, one full matrix
        per state, or one full matrix shared by all states.
    min_covar : float
        Floor on the covariances relative to the data's scale, applied at
        initialisation and after every M-step, so a state that captures a
        single point or a constant feature keeps a non-singular covariance:
        each variance is at least ``min_covar`` times its feature's variance
        over the training data (spherical: times the mean of those); a full
        or tied matrix, standardised by the features' standard deviations,
        has eigenvalues at least ``min_covar``. A constant feature counts
        its squared value as its variance (1 if the value is 0). Being
        relative, the floor gives the same fit in any units; hmmlearn
        applies ``min_covar`` in absolute units, at initialisation only.
    means_prior, means_weight : float or array-like of shape (n_components,)
        Mean and precision weight of the normal prior on ``means_``
        (``means_prior`` may also be (n_components, n_features)).
    covars_prior, covars_weight : float, array-like or None
        Prior on the covariances, with hmmlearn's formulas: inverse gamma for
        spherical and diag, inverse Wishart for full and tied. A scalar
        ``covars_prior`` is ``covars_prior * I`` for full and tied (hmmlearn
        adds it to every entry); arrays are per state, (n_features,
        n_features) for tied. ``covars_weight`` is a float for tied. A given
        ``covars_prior`` is in the units of the data, as in hmmlearn; None
        (the default) is hmmlearn's default 1e-2 times each feature's
        variance over the training data (times their mean for spherical, on
        the diagonal for full and tied), so that the default fit does not
        depend on the units of the data.
    random_state : int, RandomState or None
        Seed of the initialisation (k-means) and of :meth:`sample` (see
        :mod:`hmm_core.estimator.base`).
    params, init_params : str
        Letters among ``s`` (start), ``t`` (transitions and end), ``m``
        (means), ``c`` (covariances).

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    endprob_ : ndarray of shape (n_components,) or None
    means_ : ndarray of shape (n_components, n_features)
    covars_ : ndarray of shape (n_components, n_features, n_features)
        Full covariance matrices (as hmmlearn's property). Assigning accepts
        the storage shape of ``covariance_type``: (n_components,) spherical,
        (n_components, n_features) diag, (n_components, n_features,
        n_features) full, (n_features, n_features) tied.
    n_features : int
        Dimension of the observations.
    monitor_ : ConvergenceMonitor

    Notes
    -----
    NaN in ``X`` marks a missing value. A partially observed frame is scored
    under the marginal of its observed features; a fully missing frame
    contributes nothing to the emission likelihood. The M-step uses observed
    values only: per feature for spherical and diag; for full and tied, each
    missing value is replaced by its conditional expectation given the
    observed ones under the current state parameters, with the conditional
    covariance added to the scatter (the exact EM step for Gaussian data
    with values missing at random).

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core.models.gaussian import GaussianHMM
    >>> rng = np.random.RandomState(0)
    >>> X = np.concatenate([rng.normal(0, 1, (50, 2)), rng.normal(5, 1, (50, 2))])
    >>> model = GaussianHMM(n_components=2, random_state=0).fit(X)
    >>> model.means_.shape, model.covars_.shape
    ((2, 2), (2, 2, 2))
    """

    _emission_class = GaussianEmission
    _parameter_constraints = model_rules(GaussianEmission)
    _emission_letters = "mc"

    covariance_type = EmissionSetting()
    min_covar = EmissionSetting()
    means_prior = EmissionSetting()
    means_weight = EmissionSetting()
    covars_prior = EmissionSetting()
    covars_weight = EmissionSetting()
    means_ = emission_attribute("means_", "State means, shape (n_components, n_features).")

    def __init__(self, n_components=1, covariance_type="diag", min_covar=1e-3,
                 startprob_prior=1.0, transmat_prior=1.0, means_prior=0, means_weight=0,
                 covars_prior=None, covars_weight=1, algorithm="viterbi", random_state=None,
                 n_iter=10, tol=1e-2, verbose=False, params="stmc", init_params="stmc",
                 end_state=False, endprob_prior=1.0, n_init=1, n_threads=None, callback=None,
                 online_decay=0.6, online_step=None):
        self._set_params_from(locals())

    @property
    def covars_(self):
        """Covariance matrices, shape (n_components, n_features, n_features)."""
        return self._get_emission().full_covars(self._n_rows())

    @covars_.setter
    def covars_(self, value):
        self._get_emission().set_covars(value, self._n_rows())

    @covars_.deleter
    def covars_(self):
        self._get_emission().covars_ = None

    @property
    def _covars_(self):
        """Covariances in the storage shape of ``covariance_type`` (hmmlearn's ``_covars_``)."""
        value = self._get_emission().covars_
        if value is None:
            raise AttributeError("_covars_")
        return value

    @_covars_.setter
    def _covars_(self, value):
        self.covars_ = value

    @property
    def n_features(self):
        """Dimension of the observations (None before fitting)."""
        return self._get_emission()._known_n_features()

    @n_features.setter
    def n_features(self, value):
        self._get_emission().n_features = value

    def _emission_cells_per_row(self, n_features):
        d = n_features
        return d + {"spherical": 1, "diag": d}.get(self.covariance_type, d * d)

    def _n_rows(self):
        # Rows of the emission parameters (fewer than n_components when
        # states share emissions).
        return self._n_emission_components()
