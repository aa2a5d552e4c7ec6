"""CategoricalHMM: discrete symbol emissions."""

from __future__ import annotations

from hmm_core.emissions.categorical import CategoricalEmission
from hmm_core.hmm.base import BaseHMM, EmissionSetting, emission_attribute
from hmm_core.models._rules import model_rules

__all__ = ["CategoricalHMM"]


class CategoricalHMM(BaseHMM):
    """Hidden Markov model with categorical (discrete symbol) emissions.

    Parameters
    ----------
    emissionprob_prior : float or array-like of shape (n_components, n_features)
        Dirichlet concentration of the emission probabilities.
    n_features : int, optional
        Number of symbols; inferred from the training data when None.
    params, init_params : str
        Letters among ``s`` (start), ``t`` (transitions and end), ``e``
        (emissions).
    emission_ties : array-like of int of shape (n_components,), optional
        Emission class of each state; tied states share one row of
        ``emissionprob_``, which then has one row per class.

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    endprob_ : ndarray of shape (n_components,) or None
        Probability of stopping after each state; with it, rows of
        ``transmat_`` plus ``endprob_`` sum to one.
    emissionprob_ : ndarray of shape (n_components, n_features)
        (n_classes, n_features) with ``emission_ties``.
    monitor_ : ConvergenceMonitor

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core import CategoricalHMM
    >>> X = np.array([[0], [1], [1], [2], [0], [2]])
    >>> model = CategoricalHMM(n_components=2, random_state=0).fit(X, lengths=[4, 2])
    >>> model.emissionprob_.shape
    (2, 3)
    """

    _emission_class = CategoricalEmission
    _parameter_constraints = model_rules(CategoricalEmission)
    _emission_letters = "e"

    emissionprob_prior = EmissionSetting()
    n_features = EmissionSetting(inferred=True)
    emissionprob_ = emission_attribute(
        "emissionprob_", "Emission probabilities, shape (n_components, n_features).")

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0,
                 emissionprob_prior=1.0, n_features=None, algorithm="viterbi",
                 random_state=None, n_iter=10, tol=1e-2, verbose=False, params="ste",
                 init_params="ste", end_state=False, endprob_prior=1.0, n_init=1,
                 n_threads=None, training="baum-welch", emission_ties=None,
                 transmat_ties=None, callback=None,
                 online_decay=0.6, online_step=None):
        self._set_params_from(locals())
