"""CategoricalHMM: discrete symbol emissions."""

from __future__ import annotations

from hmm_core.emissions.categorical import CategoricalEmission
from hmm_core.hmm.base import BaseHMM, emission_attribute

__all__ = ["CategoricalHMM"]


class CategoricalHMM(BaseHMM):
    """Hidden Markov model with categorical (discrete symbol) emissions.

    Parameters
    ----------
    n_components : int
        Number of hidden states.
    startprob_prior, transmat_prior : float or array-like
        Dirichlet concentrations of the start and transition probabilities.
    emissionprob_prior : float or array-like of shape (n_components, n_features)
        Dirichlet concentration of the emission probabilities.
    n_features : int, optional
        Number of symbols; inferred from the training data when None.
    algorithm : {"viterbi", "map"}
        Decoder of :meth:`decode` and :meth:`predict`.
    random_state : int, RandomState or None
    n_iter : int
    tol : float
    verbose : bool
    params, init_params : str
        Letters among ``s`` (start), ``t`` (transitions and end), ``e``
        (emissions).
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
        Emission class of each state; tied states share one row of
        ``emissionprob_``, which then has one row per class.
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

    _emission_letters = "e"

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0,
                 emissionprob_prior=1.0, n_features=None, algorithm="viterbi",
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
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features

    emissionprob_ = emission_attribute(
        "emissionprob_", "Emission probabilities, shape (n_components, n_features).")

    def _make_emission(self):
        return CategoricalEmission(self.n_features, self.emissionprob_prior)

    def _sync_emission(self):
        emission = self._get_emission()
        emission.emissionprob_prior = self.emissionprob_prior
        if self.n_features is not None:
            emission.n_features = self.n_features
        elif emission.n_features is not None:
            self.n_features = emission.n_features
