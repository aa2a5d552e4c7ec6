"""IndependentHMM: a product of independent emission blocks over column groups."""

from __future__ import annotations

import copy

from hmm_core.emissions.independent import IndependentEmission, check_blocks, combined_letters
from hmm_core.estimator.constraints import Check
from hmm_core.hmm._settings import CHAIN_RULES
from hmm_core.hmm.base import BaseHMM
from hmm_core.models._rules import check_emission_settings

__all__ = ["IndependentHMM"]


def _blocks_rule(value, name, owner):
    """The blocks' layout, then each block's emission settings (as its own model's)."""
    check_blocks(value)
    rows = owner._n_emission_components()
    for k, emission in enumerate(owner._get_emission().emissions):
        check_emission_settings(emission, rows, prefix=f"{name}[{k}]: ")
    return value


class IndependentHMM(BaseHMM):
    """Hidden Markov model whose emission is a product of independent blocks.

    Given the state, each group of columns follows its own emission model,
    e.g. a categorical column next to Poisson count columns: the frame
    log-likelihood is the sum of the blocks' log-likelihoods.

    Parameters
    ----------
    blocks : list of (columns, EmissionModel)
        ``columns`` is an int, a slice with a stop, or a sequence of ints;
        together the blocks' columns must be ``0..n_features-1``, each once.
        The model works on deep copies of the emission objects (made when it
        first needs them, and again whenever ``blocks`` is replaced), so the
        objects passed in are never modified; fitted block parameters are in
        :attr:`emissions_`. Per-block priors are set on the emission objects.
    params, init_params : str or None
        Letters among ``s`` (start), ``t`` (transitions and end) and the
        blocks' letters (``e`` categorical/multinomial, ``l`` Poisson, ...).
        A letter applies to every block that owns it. None (the default)
        means all letters.

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
    endprob_ : ndarray of shape (n_components,) or None
    emissions_ : list of EmissionModel
        The model's emission of every block, in block order (their
        parameters, e.g. ``emissions_[0].emissionprob_``, can be read and set).
    n_features : int
        Number of columns of ``X``.
    monitor_ : ConvergenceMonitor

    Notes
    -----
    ``X`` is one float matrix. A categorical block reads its column as
    integer symbols, with NaN (or -1) for a missing frame; other blocks get
    their columns as floats, NaN included (missing Poisson counts are
    marginalised feature by feature). :meth:`sample` returns floats.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core.emissions import CategoricalEmission
    >>> from hmm_core.emissions.poisson import PoissonEmission
    >>> from hmm_core.models.independent import IndependentHMM
    >>> X = np.array([[0, 3.0], [1, 4.0], [np.nan, 9.0], [2, np.nan], [1, 8.0]])
    >>> model = IndependentHMM([(0, CategoricalEmission()), ([1], PoissonEmission())],
    ...                        n_components=2, random_state=0).fit(X)
    >>> model.emissions_[1].lambdas_.shape
    (2, 1)
    """

    # The blocks first: the valid params letters are theirs.
    _parameter_constraints = {"blocks": Check(_blocks_rule), **CHAIN_RULES}

    def __init__(self, blocks, n_components=1, startprob_prior=1.0, transmat_prior=1.0,
                 algorithm="viterbi", random_state=None, n_iter=10, tol=1e-2,
                 verbose=False, params=None, init_params=None, end_state=False,
                 endprob_prior=1.0, n_init=1, n_threads=None,
                 training="baum-welch", emission_ties=None, transmat_ties=None, callback=None,
                 online_decay=0.6, online_step=None):
        self._set_params_from(locals())

    # ``params``/``init_params`` default to every letter, which depends on the blocks.
    @property
    def params(self):
        """Letters updated by EM (all letters when set to None)."""
        return "st" + self._emission_letters if self._params is None else self._params

    @params.setter
    def params(self, value):
        self._params = value

    @property
    def init_params(self):
        """Letters initialised before EM (all letters when set to None)."""
        return "st" + self._emission_letters if self._init_params is None else self._init_params

    @init_params.setter
    def init_params(self, value):
        self._init_params = value

    @property
    def _emission_letters(self):
        return combined_letters(check_blocks(self.blocks)[1])

    def get_params(self, deep=True):
        """Constructor parameters, as scikit-learn's ``get_params``.

        Parameters
        ----------
        deep : bool
            As :meth:`hmm_core.estimator.Estimator.get_params`.

        Returns
        -------
        dict
            ``params`` and ``init_params`` as given (None means all letters).
        """
        params = super().get_params(deep)
        params.update(params=self._params, init_params=self._init_params)
        return params

    @property
    def emissions_(self):
        """The model's emission object of every block, in block order."""
        return list(self._get_emission().emissions)

    @property
    def n_features(self):
        """Number of columns of ``X`` (covered by the blocks)."""
        return self._get_emission().n_features

    def _get_emission(self):
        # New blocks mean a new emission: rebuild rather than keep stale copies.
        emission = self.__dict__.get("_emission")
        if emission is None or self.__dict__.get("_built_from") is not self.blocks:
            self._built_from = self.blocks
            self._emission = emission = IndependentEmission(copy.deepcopy(list(self.blocks)))
        return emission
