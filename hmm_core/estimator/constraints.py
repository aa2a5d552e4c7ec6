"""Rules that constructor settings must satisfy.

A class lists its rules once, as ``_parameter_constraints = {name: rule}``;
:meth:`~hmm_core.estimator.Estimator._validate_params` applies them in order.
A rule is called as ``rule(value, name, owner)``, raises ``ValueError``
naming the setting when the value is wrong, and returns the value (possibly
normalised).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Check", "Constraint", "Integer", "Letters", "OneOf"]


class Constraint:
    """A rule for one constructor setting."""

    def __call__(self, value, name, owner):
        """Check ``value``; return it (possibly normalised).

        Parameters
        ----------
        value : object
            The setting's value.
        name : str
            The setting's name, for error messages.
        owner : Estimator
            The model the setting belongs to.

        Returns
        -------
        object
        """
        raise NotImplementedError


class Integer(Constraint):
    """An integer (Python or NumPy) of at least ``minimum``.

    Parameters
    ----------
    minimum : {0, 1}
        0: a non-negative integer; 1: a positive integer.
    allow_bool : bool
        Whether ``True`` and ``False`` pass as 1 and 0.
    """

    def __init__(self, minimum, allow_bool=True):
        self.minimum = minimum
        self.allow_bool = allow_bool

    def __call__(self, value, name, owner):
        if (isinstance(value, (int, np.integer)) and value >= self.minimum
                and (self.allow_bool or not isinstance(value, bool))):
            return value
        what = "positive" if self.minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be a {what} integer, got {value!r}")


class OneOf(Constraint):
    """One of a few values.

    Parameters
    ----------
    *options : object
        The allowed values.
    """

    def __init__(self, *options):
        self.options = options

    def __call__(self, value, name, owner):
        if value not in self.options:
            raise ValueError(f"{name} must be one of {self.options}, got {value!r}")
        return value


class Letters(Constraint):
    """The hmmlearn parameter letters, each among the owner's ``_valid_letters()``."""

    def __call__(self, value, name, owner):
        letters = owner._valid_letters()
        unknown = set(value) - set(letters)
        if unknown:
            raise ValueError(f"{name} has unknown letters {sorted(unknown)}; "
                             f"valid letters are {letters!r}")
        return value


class Check(Constraint):
    """A rule given as a function ``check(value, name, owner) -> value``.

    Parameters
    ----------
    check : callable
    """

    def __init__(self, check):
        self.check = check

    def __call__(self, value, name, owner):
        return self.check(value, name, owner)
