"""The HMM estimator, independent of the emission type.

:class:`BaseHMM` assembles three layers, each in its own module and each
importing only the ones below it:

- :mod:`~hmm_core.hmm.core`: settings, the emission model, validated chain
  parameters, model files;
- :mod:`~hmm_core.hmm.inference`: scoring, decoding, sampling, AIC and BIC;
- :mod:`~hmm_core.hmm._training`: ``fit`` (Baum-Welch, Viterbi training,
  counting fits, restarts).

A model class (:mod:`hmm_core.models`) names its emission model and
exposes that model's settings and parameters under hmmlearn's names.
"""

from __future__ import annotations

import numpy as np

from hmm_core.emissions.base import NotFittedError
from hmm_core.hmm._custom import MethodHooks
from hmm_core.hmm._training import Training, check_states
from hmm_core.hmm.core import EmissionSetting, emission_attribute
from hmm_core.hmm.inference import Inference
from hmm_core.hmm.monitor import ConvergenceMonitor
from hmm_core.kernels.chain import ChainParams

__all__ = ["BaseHMM", "ConvergenceMonitor", "EmissionSetting",
           "check_states", "emission_attribute"]

# The ``algorithm`` values of ``decode``, under hmmlearn's name (importable, not in __all__).
DECODER_ALGORITHMS = frozenset(("viterbi", "map"))


class BaseHMM(Training, Inference, MethodHooks, abstract=True):
    """Hidden Markov model with an emission model supplied by a subclass.

    A subclass sets ``_emission_class`` and ``_emission_letters``, takes the
    parameters below (in hmmlearn's order for its model) plus its emission
    settings, and stores them with ``self._set_params_from(locals())``.

    Notes
    -----
    A topology set by :mod:`hmm_core.topology` (the private ``_topology``
    attribute) restricts random initialisation to the allowed entries.

    Examples
    --------
    A model is a BaseHMM with one emission family:

    >>> import numpy as np
    >>> from hmm_core import CategoricalHMM
    >>> from hmm_core.hmm.base import BaseHMM
    >>> X = np.array([[0], [1], [1], [2], [0], [2]])
    >>> model = CategoricalHMM(2, random_state=0).fit(X)
    >>> isinstance(model, BaseHMM), model.transmat_.shape
    (True, (2, 2))
    """

    def get_stationary_distribution(self):
        """Stationary distribution of the hidden chain: ``pi @ transmat_ == pi``.

        Returns
        -------
        ndarray of float64, shape (n_components,)
            The solution of ``pi (transmat_ - I) = 0`` with ``sum(pi) = 1``
            (least squares: for a chain with several closed classes, one of
            the stationary distributions).

        Raises
        ------
        ValueError
            With an end state: the chain is absorbed, it has no stationary
            distribution.
        """
        if getattr(self, "endprob_", None) is not None:
            raise ValueError("a model with an end state has no stationary distribution")
        if getattr(self, "transmat_", None) is None:
            raise NotFittedError("transmat_ is not set: fit the model or assign it")
        n = self.n_components
        transmat = ChainParams(np.full(n, 1.0 / n), self.transmat_, None, n_components=n,
                               suffix="_").transmat  # only transmat_ is needed
        system = np.vstack([transmat.T - np.eye(n), np.ones((1, n))])
        target = np.zeros(n + 1)
        target[-1] = 1.0
        pi = np.linalg.lstsq(system, target, rcond=None)[0]
        pi = np.clip(pi, 0.0, None)
        return pi / pi.sum()
