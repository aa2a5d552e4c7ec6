"""Rules of the emission settings, one table per emission class.

A model class adds its emission's table to the chain rules
(:data:`hmm_core.hmm._settings.CHAIN_RULES`); :class:`IndependentHMM
<hmm_core.models.independent.IndependentHMM>` checks every block's emission
with the table of its class (:func:`check_emission_settings`). A prior's
shape follows the number of emission rows (states, or classes with
``emission_ties``) and, once known, the number of features.
"""

from __future__ import annotations

import numpy as np

from hmm_core.emissions._covariance import COVARIANCE_TYPES
from hmm_core.emissions.categorical import CategoricalEmission
from hmm_core.emissions.gaussian import GaussianEmission
from hmm_core.emissions.gmm import GMMEmission
from hmm_core.emissions.multinomial import MultinomialEmission, _check_n_trials
from hmm_core.emissions.poisson import PoissonEmission
from hmm_core.estimator.constraints import (
    Check,
    Integer,
    InvalidParameterError,
    OneOf,
    Prior,
    Real,
)
from hmm_core.hmm._settings import CHAIN_RULES

__all__ = ["EMISSION_RULES", "check_emission_settings", "model_rules"]


class _Block:
    """What a rule needs to know of one block of an IndependentHMM."""

    def __init__(self, emission, n_rows):
        self.emission = emission
        self.n_rows = n_rows

    def _get_emission(self):
        return self.emission

    def _n_emission_components(self):
        return self.n_rows


def _rows(owner):
    return owner._n_emission_components()


def _features(owner):
    """Number of features when known (from a setting or a parameter), else None."""
    emission = owner._get_emission()
    known = getattr(emission, "_known_n_features", None)
    value = known() if known is not None else getattr(emission, "n_features", None)
    if value is None and getattr(emission, "emissionprob_", None) is not None:
        value = np.shape(emission.emissionprob_)[-1]
    return int(value) if isinstance(value, (int, np.integer)) else None


def _n_mix(owner):
    return owner._get_emission().n_mix


def _kind(owner):
    return owner._get_emission().covariance_type


def _by_kind(shapes, minima, allow_none=False, per_state=()):
    """A prior whose shape and sign depend on ``covariance_type``.

    ``shapes[kind](owner)`` is the shape; ``minima[kind]`` the lower bound
    (a pair: for a scalar, for an array).
    """
    def rule(value, name, owner):
        kind = _kind(owner)
        scalar = np.ndim(value) == 0
        minimum = minima[kind][0 if scalar else 1]
        return Prior(shapes[kind], minimum, per_state=kind in per_state,
                     allow_none=allow_none)(value, name, owner)
    return Check(rule)


def _n_trials(value, name, owner):
    try:
        _check_n_trials(value)
    except ValueError as exc:
        raise InvalidParameterError(str(exc)) from None
    return value


_PER_ROW = Prior(lambda o: (_rows(o), _features(o)))
_RATES = Prior(lambda o: (_rows(o), _features(o)), per_state=True)
# A fraction of each feature's variance: far above 1 it only overflows the floored covariances.
_MIN_COVAR = Real(0, strict=True, finite=True, maximum=1e6)

_GAUSSIAN_COVARS = {
    "spherical": lambda o: (_rows(o),),
    "diag": lambda o: (_rows(o), _features(o)),
    "full": lambda o: (_rows(o), _features(o), _features(o)),
    "tied": lambda o: (_features(o), _features(o)),
}
_GAUSSIAN_WEIGHTS = {
    "spherical": lambda o: (_rows(o),),
    "diag": lambda o: (_rows(o),),
    "full": lambda o: (_rows(o),),
    "tied": lambda o: (),
}
_GMM_COVARS = {
    "spherical": lambda o: (_rows(o), _n_mix(o)),
    "diag": lambda o: (_rows(o), _n_mix(o), _features(o)),
    "full": lambda o: (_rows(o), _n_mix(o), _features(o), _features(o)),
    "tied": lambda o: (_rows(o), _features(o), _features(o)),
}
_GMM_WEIGHTS = {
    "spherical": lambda o: (_rows(o), _n_mix(o)),
    "diag": lambda o: (_rows(o), _n_mix(o), _features(o)),
    "full": lambda o: (_rows(o), _n_mix(o)),
    "tied": lambda o: (_rows(o),),
}
_ANY_SIGN = dict.fromkeys(COVARIANCE_TYPES, (None, None))

#: The rules of each emission class's settings, in checking order.
EMISSION_RULES = {
    CategoricalEmission: {
        "n_features": Integer(1, allow_bool=False, allow_none=True),
        "emissionprob_prior": _PER_ROW,
    },
    MultinomialEmission: {
        "n_trials": Check(_n_trials),
        "emissionprob_prior": _PER_ROW,
    },
    PoissonEmission: {
        "lambdas_prior": _RATES,
        "lambdas_weight": _RATES,
    },
    GaussianEmission: {
        "covariance_type": OneOf(*COVARIANCE_TYPES),
        "min_covar": _MIN_COVAR,
        "means_prior": Prior(lambda o: (_rows(o), _features(o)), None, per_state=True),
        "means_weight": Prior(lambda o: (_rows(o),)),
        # Variances and a scalar matrix scale are non-negative; a matrix may
        # have negative off-diagonal entries.
        "covars_prior": _by_kind(_GAUSSIAN_COVARS,
                                 {"spherical": (0, 0), "diag": (0, 0), "full": (0, None),
                                  "tied": (0, None)}, per_state=("diag",),
                                 allow_none=True),  # None: relative to the data's scale
        "covars_weight": _by_kind(_GAUSSIAN_WEIGHTS, _ANY_SIGN),
    },
    GMMEmission: {
        "n_mix": Integer(1, allow_bool=False),
        "covariance_type": OneOf(*COVARIANCE_TYPES),
        "min_covar": _MIN_COVAR,
        "weights_prior": Prior(lambda o: (_rows(o), _n_mix(o))),
        "means_prior": Prior(lambda o: (_rows(o), _n_mix(o), _features(o)), None),
        "means_weight": Prior(lambda o: (_rows(o), _n_mix(o))),
        # hmmlearn's defaults (None) are negative: any sign.
        "covars_prior": _by_kind(_GMM_COVARS, _ANY_SIGN, allow_none=True),
        "covars_weight": _by_kind(_GMM_WEIGHTS, _ANY_SIGN, allow_none=True),
    },
}


def _rules_of(emission):
    for klass in type(emission).__mro__:
        if klass in EMISSION_RULES:
            return EMISSION_RULES[klass]
    return {}  # an emission class of the user's: it checks its own settings


def check_emission_settings(emission, n_rows, prefix=""):
    """Check an emission's settings with the rules of its class.

    Parameters
    ----------
    emission : EmissionModel
    n_rows : int
        Rows of its parameters (states, or emission classes).
    prefix : str
        Prepended to error messages (``"block 0: "``).
    """
    owner = _Block(emission, n_rows)
    for name, rule in _rules_of(emission).items():
        try:
            rule(getattr(emission, name), name, owner)
        except (ValueError, TypeError) as exc:
            raise InvalidParameterError(f"{prefix}{exc}") from None


def model_rules(emission_class):
    """The ``_parameter_constraints`` of a model: chain rules, then its emission's.

    Parameters
    ----------
    emission_class : type
        A key of :data:`EMISSION_RULES`.

    Returns
    -------
    dict
    """
    return {**CHAIN_RULES, **EMISSION_RULES[emission_class]}
