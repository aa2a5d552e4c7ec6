"""MultinomialHMM: vectors of outcome counts over a number of trials."""

from __future__ import annotations

from hmm_core.emissions.multinomial import MultinomialEmission
from hmm_core.hmm.base import BaseHMM, EmissionSetting, emission_attribute
from hmm_core.models._rules import model_rules

__all__ = ["MultinomialHMM"]


class MultinomialHMM(BaseHMM):
    """Hidden Markov model with multinomial emissions (hmmlearn >= 0.3 semantics).

    Each frame is a vector of counts of ``n_features`` outcomes; each state
    has its own outcome probabilities. For one trial per frame prefer
    :class:`~hmm_core.CategoricalHMM` (symbols rather than one-hot counts).

    Parameters
    ----------
    n_trials : int or array-like of shape (n_samples,), optional
        Number of trials of every row (or of each row). When set, rows of
        ``X`` must sum to it; None accepts any row totals. :meth:`sample`
        needs a single value (or training rows that all had the same total).
    emissionprob_prior : float or array-like of shape (n_components, n_features)
        Dirichlet concentration of the outcome probabilities; 1 (the default)
        means no prior, which is hmmlearn's update.
    params, init_params : str
        Letters among ``s`` (start), ``t`` (transitions and end), ``e``
        (outcome probabilities).

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    endprob_ : ndarray of shape (n_components,) or None
    emissionprob_ : ndarray of shape (n_components, n_features)
        (n_classes, n_features) with ``emission_ties``.
    n_features : int
        Number of outcomes (read-only, from ``emissionprob_``).
    monitor_ : ConvergenceMonitor

    Notes
    -----
    Unlike hmmlearn 0.3.3, fitting does not overwrite ``n_trials`` with the
    training row totals, and ``n_trials`` is checked whenever data are
    validated (fit, score, decode), not only in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core.models.multinomial import MultinomialHMM
    >>> X = np.array([[3, 1, 0], [2, 2, 0], [0, 1, 3], [0, 0, 4]])
    >>> model = MultinomialHMM(n_components=2, n_trials=4, random_state=0).fit(X)
    >>> model.emissionprob_.shape
    (2, 3)
    """

    _emission_class = MultinomialEmission
    _parameter_constraints = model_rules(MultinomialEmission)
    _emission_letters = "e"

    n_trials = EmissionSetting()
    emissionprob_prior = EmissionSetting()
    emissionprob_ = emission_attribute(
        "emissionprob_", "Outcome probabilities, shape (n_components, n_features).")

    def __init__(self, n_components=1, n_trials=None, startprob_prior=1.0,
                 transmat_prior=1.0, emissionprob_prior=1.0, algorithm="viterbi",
                 random_state=None, n_iter=10, tol=1e-2, verbose=False, params="ste",
                 init_params="ste", end_state=False, endprob_prior=1.0, n_init=1,
                 n_threads=None, training="baum-welch", emission_ties=None,
                 transmat_ties=None, callback=None,
                 online_decay=0.6, online_step=None):
        self._set_params_from(locals())

    @property
    def n_features(self):
        """Number of outcomes (from ``emissionprob_``)."""
        return self._get_emission()._known_n_features()
