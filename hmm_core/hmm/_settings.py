"""The rules of the settings every HMM shares, declared once.

:class:`~hmm_core.hmm.core.HMMCore` uses :data:`CHAIN_RULES` as its
``_parameter_constraints``; the model classes add the rules of their emission
settings (:mod:`hmm_core.models._rules`). A wrong setting raises
:class:`~hmm_core.estimator.InvalidParameterError` (a ``ValueError`` and a
``TypeError``) naming it, when the model is first used (``fit``, ``score``,
``sample``, ...) or used again after a setting changed.
"""

from __future__ import annotations

from hmm_core.estimator.constraints import (
    Boolean,
    CallableOrNone,
    Check,
    Integer,
    Letters,
    OneOf,
    Prior,
    RandomStateRule,
    Real,
    Threads,
)
from hmm_core.structure import topology as _topology

__all__: list[str] = []

DECODERS = ("viterbi", "map")
TRAININGS = ("baum-welch", "viterbi")


def _ties_rule(check):
    def rule(value, name, owner):
        if value is not None:
            check(value, owner.n_components)
        return value
    return Check(rule)


def _online_decay(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.5 < value <= 1:
        raise ValueError(f"{name} must be a number in (0.5, 1], got {value!r}")
    return value


def _online_step(value, name, owner):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not 0 < value <= 1):
        raise ValueError(f"{name} must be None or a number in (0, 1], got {value!r}")
    return value


def _states(owner):
    return (owner.n_components,)


def _pairs(owner):
    return (owner.n_components, owner.n_components)


#: Chain and training settings; the priors last, as their shapes need n_components.
CHAIN_RULES = {
    "n_components": Integer(1, allow_bool=False),
    "algorithm": OneOf(*DECODERS),
    "random_state": RandomStateRule(),
    "n_iter": Integer(0, allow_bool=False),
    "tol": Real(),
    "verbose": Boolean(counts=True),
    "params": Letters(),
    "init_params": Letters(),
    "end_state": Boolean(),
    "n_init": Integer(1, allow_bool=False),
    "n_threads": Threads(),
    "training": OneOf(*TRAININGS),
    "emission_ties": _ties_rule(_topology.check_emission_ties),
    "transmat_ties": _ties_rule(_topology.check_transmat_ties),
    "callback": CallableOrNone(),
    "online_decay": Check(_online_decay),
    "online_step": Check(_online_step),
    "startprob_prior": Prior(_states),
    "transmat_prior": Prior(_pairs),
    "endprob_prior": Prior(_states),
}
