"""MultinomialHMM: vectors of outcome counts over a number of trials."""

from __future__ import annotations

from hmm_core.emissions.multinomial import MultinomialEmission
from hmm_core.hmm.base import BaseHMM, emission_attribute

__all__ = ["MultinomialHMM"]


class MultinomialHMM(BaseHMM):
    """Hidden Markov model with multinomial emissions (hmmlearn >= 0.3 semantics).

    Each frame is a vector of counts of ``n_features`` outcomes; each state
    has its own outcome probabilities. For one trial per frame prefer
    :class:`~hmm_core.CategoricalHMM` (symbols rather than one-hot counts).

    Parameters
    ----------
    n_components : int
        Number of hidden states.
    n_trials : int or array-like of shape (n_samples,), optional
        Number of trials of every row (or of each row). When set, rows of
        ``X`` must sum to it; None accepts any row totals. :meth:`sample`
        needs a single value (or training rows that all had the same total).
    startprob_prior, transmat_prior : float or array-like
        Dirichlet concentrations of the start and transition probabilities.
    emissionprob_prior : float or array-like of shape (n_components, n_features)
        Dirichlet concentration of the outcome probabilities; 1 (the default)
        means no prior, which is hmmlearn's update.
    algorithm : {"viterbi", "map"}
        Decoder of :meth:`decode` and :meth:`predict`.
    random_state : int, RandomState or None
    n_iter : int
    tol : float
    verbose : bool
    params, init_params : str
        Letters among ``s`` (start), ``t`` (transitions and end), ``e``
        (outcome probabilities).
    end_state : bool
        Learn an explicit end state (``endprob_``).
    endprob_prior : float or array-like
        Dirichlet concentration of the end probabilities.
    n_init : int
        EM runs from different random initialisations; the best is kept.
    n_threads : int or None
        Kernel threads; default from ``omp_get_max_threads()``.
    training : {"baum-welch", "viterbi"}
        Soft EM, or hard EM on the best path (Viterbi training).
    emission_ties : array-like of int of shape (n_components,), optional
        Emission class of each state; tied states share one emission
        distribution, whose parameters then have one row per class.
    transmat_ties : array-like of int of shape (n_components, n_components), optional
        -1 for an untied transition, else the id of a group of transitions
        that share one expected count (see ``hmm_core.topology.tied_map_rows``).

    callback : callable or None
        Called as ``callback(monitor)`` after every EM iteration (see
        :class:`~hmm_core.base.BaseHMM`).
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

    _emission_letters = "e"

    def __init__(self, n_components=1, n_trials=None, startprob_prior=1.0,
                 transmat_prior=1.0, emissionprob_prior=1.0, algorithm="viterbi",
                 random_state=None, n_iter=10, tol=1e-2, verbose=False, params="ste",
                 init_params="ste", end_state=False, endprob_prior=1.0, n_init=1,
                 n_threads=None, training="baum-welch", emission_ties=None,
                 transmat_ties=None, callback=None):
        super().__init__(
            n_components=n_components, startprob_prior=startprob_prior,
            transmat_prior=transmat_prior, algorithm=algorithm, random_state=random_state,
            n_iter=n_iter, tol=tol, verbose=verbose, params=params, init_params=init_params,
            end_state=end_state, endprob_prior=endprob_prior, n_init=n_init,
            n_threads=n_threads, training=training, emission_ties=emission_ties,
            transmat_ties=transmat_ties,
            callback=callback,
        )
        self.n_trials = n_trials
        self.emissionprob_prior = emissionprob_prior

    emissionprob_ = emission_attribute(
        "emissionprob_", "Outcome probabilities, shape (n_components, n_features).")

    @property
    def n_features(self):
        """Number of outcomes (from ``emissionprob_``)."""
        return self._get_emission()._known_n_features()

    def _make_emission(self):
        return MultinomialEmission(self.n_trials, self.emissionprob_prior)

    def _sync_emission(self):
        emission = self._get_emission()
        emission.n_trials = self.n_trials
        emission.emissionprob_prior = self.emissionprob_prior
