"""PoissonHMM: independent Poisson counts per feature."""

from __future__ import annotations

from hmm_core.emissions.poisson import PoissonEmission
from hmm_core.hmm.base import BaseHMM, EmissionSetting, emission_attribute
from hmm_core.models._rules import model_rules

__all__ = ["PoissonHMM"]


class PoissonHMM(BaseHMM):
    """Hidden Markov model with Poisson emissions.

    Every state emits a vector of independent Poisson counts. ``NaN`` in
    ``X`` marks a missing entry: that feature is marginalised out of the
    frame's likelihood and ignored by the rate update.

    Parameters
    ----------
    lambdas_prior, lambdas_weight : float or array-like
        Gamma prior on the rates in hmmlearn's alpha-beta notation: shape
        ``alpha`` and rate ``beta``, a scalar, one value per state (shape
        ``(n_components,)``) or ``(n_components, n_features)``. The update is
        the posterior mean ``(alpha + sum_t gamma_t x_t) / (beta + sum_t
        gamma_t)``; the default ``0, 0`` is maximum likelihood.
    params, init_params : str
        Letters among ``s`` (start), ``t`` (transitions and end), ``l``
        (rates).

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    endprob_ : ndarray of shape (n_components,) or None
    lambdas_ : ndarray of shape (n_components, n_features)
        Expected count of every feature in every state ((n_classes,
        n_features) with ``emission_ties``).
    n_features : int
        Number of count columns (read-only, from ``lambdas_``).
    monitor_ : ConvergenceMonitor

    Notes
    -----
    Differs from hmmlearn 0.3.3 in the prior update only: hmmlearn divides by
    ``beta`` plus the posterior mass of *all* states; here it is the mass of
    the state being updated (the two agree for one state or no prior).

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core.models.poisson import PoissonHMM
    >>> X = np.array([[0, 2], [1, 3], [7, 0], [9, 1], [0, 4]])
    >>> model = PoissonHMM(n_components=2, random_state=0).fit(X)
    >>> model.lambdas_.shape
    (2, 2)
    """

    _emission_class = PoissonEmission
    _parameter_constraints = model_rules(PoissonEmission)
    _emission_letters = "l"

    lambdas_prior = EmissionSetting()
    lambdas_weight = EmissionSetting()
    lambdas_ = emission_attribute(
        "lambdas_", "Poisson rates, shape (n_components, n_features).")

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0,
                 lambdas_prior=0.0, lambdas_weight=0.0, algorithm="viterbi",
                 random_state=None, n_iter=10, tol=1e-2, verbose=False, params="stl",
                 init_params="stl", end_state=False, endprob_prior=1.0, n_init=1,
                 n_threads=None, training="baum-welch", emission_ties=None,
                 transmat_ties=None, callback=None,
                 online_decay=0.6, online_step=None):
        self._set_params_from(locals())

    @property
    def n_features(self):
        """Number of count columns (from ``lambdas_``)."""
        return self._get_emission()._known_n_features()
