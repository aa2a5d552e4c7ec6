"""What every hmm_core model shares, whatever it models.

- :mod:`~hmm_core.estimator.base`: :class:`Estimator`: constructor settings
  (``get_params``/``set_params``, scikit-learn's protocol), ``repr``,
  ``save``, and the one convention for ``random_state``;
- :mod:`~hmm_core.estimator.constraints`: the rules a setting must satisfy,
  declared once per class in ``_parameter_constraints``; a setting that
  breaks its rule raises :class:`InvalidParameterError` (a ``ValueError``
  and a ``TypeError``) naming the setting and what it must be;
- :mod:`~hmm_core.estimator.docs`: class docstrings assembled from the
  documentation of shared parameters.

HMMs (:mod:`hmm_core.hmm`, :mod:`hmm_core.models`), Markov chains
(:mod:`hmm_core.chains`) and :class:`~hmm_core.HigherOrderHMM` derive from
:class:`Estimator`.
"""

from hmm_core.estimator.base import Estimator, format_array, random_source
from hmm_core.estimator.constraints import InvalidParameterError

__all__ = ["Estimator", "InvalidParameterError", "format_array", "random_source"]
