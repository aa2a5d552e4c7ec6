"""Rules that constructor settings must satisfy.

A class lists its rules once, as ``_parameter_constraints = {name: rule}``;
:meth:`~hmm_core.estimator.Estimator._validate_params` applies them in order.
A rule is called as ``rule(value, name, owner)`` and returns the value
(possibly normalised).

Every rejected setting raises :class:`InvalidParameterError`, which is both a
``ValueError`` and a ``TypeError`` (scikit-learn's convention: code catching
either keeps working), with a message that names the setting, says what it
must be and shows the value given.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["Boolean", "CallableOrNone", "Check", "Constraint", "Integer",
           "InvalidParameterError", "Letters", "OneOf", "Prior", "RandomStateRule", "Real",
           "Threads"]


class InvalidParameterError(ValueError, TypeError):
    """A constructor setting that breaks its rule (both a ValueError and a TypeError)."""


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_))


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
    allow_none : bool
        Whether None passes.
    maximum : int, optional
        Largest value allowed.
    """

    def __init__(self, minimum, allow_bool=True, allow_none=False, maximum=None):
        self.minimum = minimum
        self.allow_bool = allow_bool
        self.allow_none = allow_none
        self.maximum = maximum

    def __call__(self, value, name, owner):
        if value is None and self.allow_none:
            return value
        if (self.maximum is not None and isinstance(value, (int, np.integer))
                and value > self.maximum):
            raise InvalidParameterError(f"{name} must be at most {self.maximum:,}, got "
                                        f"{value!r}")
        if (isinstance(value, (int, np.integer)) and value >= self.minimum
                and (self.allow_bool or not isinstance(value, (bool, np.bool_)))):
            return value
        what = "positive" if self.minimum == 1 else "non-negative"
        none = " or None" if self.allow_none else ""
        raise InvalidParameterError(f"{name} must be a {what} integer{none}, got {value!r}")


class Real(Constraint):
    """A real number (not bool, not NaN) within optional bounds.

    Parameters
    ----------
    minimum : float, optional
        Lower bound.
    strict : bool
        The bound itself is excluded (a positive number for ``minimum=0``).
    finite : bool
        Reject infinities.
    maximum : float, optional
        Upper bound (included).
    """

    def __init__(self, minimum=None, strict=False, finite=False, maximum=None):
        self.minimum = minimum
        self.strict = strict
        self.finite = finite
        self.maximum = maximum

    def _what(self):
        if self.minimum == 0 and self.strict:
            return "a positive float"
        if self.minimum == 0:
            return "a non-negative float"
        if self.minimum is not None:
            return f"a float {'>' if self.strict else '>='} {self.minimum}"
        return "a real number" + (" (finite)" if self.finite else " (not NaN)")

    def __call__(self, value, name, owner):
        ok = _is_real(value)
        if ok:
            try:  # Python ints of any size: NumPy's isnan cannot take them
                number = float(value)
            except OverflowError:
                number = math.inf
            ok = not math.isnan(number) and (not self.finite or math.isfinite(number))
        if ok and self.minimum is not None:
            ok = value > self.minimum if self.strict else value >= self.minimum
        if not ok:
            raise InvalidParameterError(f"{name} must be {self._what()}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise InvalidParameterError(f"{name} must be at most {self.maximum:g}, got {value!r}")
        return value


class Boolean(Constraint):
    """``True`` or ``False`` (a NumPy bool or the integers 0 and 1 also pass).

    Parameters
    ----------
    counts : bool
        Any non-negative integer passes too (a verbosity level).
    """

    def __init__(self, counts=False):
        self.counts = counts

    def __call__(self, value, name, owner):
        if isinstance(value, (bool, np.bool_)):
            return value
        if _is_int(value) and (value in (0, 1) or (self.counts and value >= 0)):
            return value
        what = "a bool or a non-negative integer" if self.counts else "a bool"
        raise InvalidParameterError(f"{name} must be {what}, got {value!r}")


class CallableOrNone(Constraint):
    """A callable, or None."""

    def __call__(self, value, name, owner):
        if value is None or callable(value):
            return value
        raise InvalidParameterError(f"{name} must be a callable or None, got {value!r}")


class OneOf(Constraint):
    """One of a few values (strings compare as strings, never element-wise).

    Parameters
    ----------
    *options : object
        The allowed values.
    """

    def __init__(self, *options):
        self.options = options

    def __call__(self, value, name, owner):
        for option in self.options:
            if value is option or (option is not None and isinstance(value, type(option))
                                   and not isinstance(value, np.ndarray)
                                   and bool(value == option)):
                return value
        raise InvalidParameterError(f"{name} must be one of {self.options}, got {value!r}")


class Letters(Constraint):
    """The hmmlearn parameter letters (a string), each among the owner's ``_valid_letters()``."""

    def __call__(self, value, name, owner):
        letters = owner._valid_letters()
        if not isinstance(value, str):
            raise InvalidParameterError(f"{name} must be a string of letters among "
                                        f"{letters!r}, got {value!r}")
        unknown = set(value) - set(letters)
        if unknown:
            raise InvalidParameterError(f"{name} has unknown letters {sorted(unknown)}; "
                                        f"valid letters are {letters!r}")
        return value


class RandomStateRule(Constraint):
    """None, a seed in ``0..2**32 - 1``, a ``RandomState`` (or a ``Generator``).

    Parameters
    ----------
    generators : bool
        Whether a ``numpy.random.Generator`` passes.
    """

    def __init__(self, generators=False):
        self.generators = generators

    def __call__(self, value, name, owner):
        if value is None or value is np.random or isinstance(value, np.random.RandomState):
            return value
        if self.generators and isinstance(value, np.random.Generator):
            return value
        if _is_int(value) and 0 <= value < 2**32:
            return value
        kinds = "a numpy RandomState or Generator" if self.generators else "a numpy RandomState"
        raise InvalidParameterError(f"{name} must be None, an int in 0..2**32 - 1 or {kinds}, "
                                    f"got {value!r}")


class Threads(Constraint):
    """None or a non-zero integer (negative counts back from the maximum)."""

    def __call__(self, value, name, owner):
        if value is None:
            return value
        if not _is_int(value):
            raise InvalidParameterError(f"{name} must be an integer or None, got {value!r}")
        if value == 0:
            raise InvalidParameterError(f"{name} must not be 0")
        return value


#: Largest magnitude of a prior hyper-parameter: the M-step adds it to counts and
#: sums it over states and features, which must stay finite.
MAX_PRIOR = 1e300


class Prior(Constraint):
    """A prior hyper-parameter: a real scalar or array, finite, broadcast to a shape.

    Parameters
    ----------
    shape : callable
        ``shape(owner)`` -> the full shape, a tuple whose unknown entries are
        None (the number of features before fitting, say); None skips the
        shape check.
    minimum : float or None
        Lower bound of every entry (None: any sign).
    per_state : bool
        A 1-D array of length ``shape[0]`` holds one value per state (rather
        than one per entry of the last axis).
    allow_none : bool
        Whether None passes (a default chosen by the emission).
    """

    def __init__(self, shape, minimum=0.0, per_state=False, allow_none=False):
        self.shape = shape
        self.minimum = minimum
        self.per_state = per_state
        self.allow_none = allow_none

    def __call__(self, value, name, owner):
        if value is None and self.allow_none:
            return value
        if type(value) in (int, float) and abs(value) <= MAX_PRIOR and (
                self.minimum is None or value >= self.minimum):
            return value  # the common case, without NumPy's overhead
        arr = np.asarray(value) if not isinstance(value, (str, bytes)) else np.asarray(None)
        if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(
                arr):
            none = ", None" if self.allow_none else ""
            raise InvalidParameterError(f"{name} must be a real number or an array of real "
                                        f"numbers{none}, got {value!r}")
        sign = "" if self.minimum is None else (
            " and non-negative" if self.minimum == 0 else f" and >= {self.minimum}")
        if not np.all(np.isfinite(arr)) or (self.minimum is not None
                                            and np.any(arr < self.minimum)):
            raise InvalidParameterError(f"{name} must be finite{sign}, got {value!r}")
        if np.any(np.abs(arr) > MAX_PRIOR):
            raise InvalidParameterError(f"{name} must be at most {MAX_PRIOR:g} in size (the "
                                        f"M-step sums it over states), got {value!r}")
        shape = None if self.shape is None else self.shape(owner)
        if shape is not None and arr.ndim and not self._fits(arr.shape, shape):
            full = tuple("n_features" if s is None else s for s in shape)
            forms = (f"({shape[0]},) or {full}" if self.per_state and len(shape) > 1
                     else f"broadcastable to {full}")
            raise InvalidParameterError(f"{name} must be a scalar or have shape {forms}, got "
                                        f"shape {arr.shape}".replace("'", ""))
        return value

    def _fits(self, given, shape):
        if self.per_state and len(given) == 1 and len(shape) > 1 and given[0] == shape[0]:
            return True
        if len(given) > len(shape):
            return False
        return all(g == 1 or s is None or g == s
                   for g, s in zip(given[::-1], shape[::-1], strict=False))


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
