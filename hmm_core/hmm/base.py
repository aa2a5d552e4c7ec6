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

from hmm_core.hmm._training import Training, check_states
from hmm_core.hmm.core import EmissionSetting, emission_attribute
from hmm_core.hmm.inference import Inference
from hmm_core.hmm.monitor import ConvergenceMonitor

__all__ = ["DECODER_ALGORITHMS", "BaseHMM", "ConvergenceMonitor", "EmissionSetting",
           "check_states", "emission_attribute"]

#: The ``algorithm`` values of ``decode`` (hmmlearn's name for the set).
DECODER_ALGORITHMS = frozenset(("viterbi", "map"))


class BaseHMM(Training, Inference, abstract=True):
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
