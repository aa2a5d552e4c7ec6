"""The estimator base: settings, scikit-learn's protocol, repr, model files, randomness.

Settings
--------
A model's settings are its constructor arguments, stored unchanged under
their own names (as scikit-learn requires for ``clone``). A class declares
the rules they must satisfy once, in ``_parameter_constraints`` (a mapping
from parameter name to a :class:`~hmm_core.estimator.constraints.Constraint`),
and :meth:`Estimator._validate_params` checks them in that order. HMMs check
when they are used (``fit``, ``score``, ...), Markov chains as soon as they
are set.

Randomness
----------
``random_state`` follows scikit-learn: ``None`` draws from NumPy's global
``RandomState`` (so ``numpy.random.seed`` makes runs repeatable), an int
seeds a new generator each time one is needed (so a seeded ``fit`` or
``sample`` repeats), and a ``RandomState`` (or, for Markov chains, a
``numpy.random.Generator``) is used as it is and advances. An int seeds the
generator each family has always drawn from, so seeded results do not
change: a ``RandomState`` for HMMs (the draws of hmmlearn), NumPy's
``default_rng`` for Markov chains. :func:`random_source` implements this.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from hmm_core.estimator.constraints import InvalidParameterError
from hmm_core.io.codec import Stored
from hmm_core.io.modelfile import save_model
from hmm_core.kernels.validation import check_random_state, check_seed

__all__ = ["Estimator", "format_array", "random_source"]


def random_source(seed, generators=False):
    """The source of random draws for a ``random_state`` value (see the module docs).

    Parameters
    ----------
    seed : None, int, numpy.random.RandomState or numpy.random.Generator
        A Generator only when ``generators`` is true.
    generators : bool
        The family draws with NumPy's Generator API: an int seeds
        ``numpy.random.default_rng`` and a Generator is accepted. Otherwise an
        int seeds a ``RandomState``.

    Returns
    -------
    numpy.random.RandomState or numpy.random.Generator
    """
    if generators:
        if isinstance(seed, np.random.Generator):
            return seed
        if isinstance(seed, (int, np.integer)):
            return np.random.default_rng(check_seed(seed))
        if seed is not None and seed is not np.random and not isinstance(
                seed, np.random.RandomState):
            raise ValueError("random_state must be None, an int, a numpy RandomState or a "
                             f"numpy Generator, got {seed!r}")
    return check_random_state(seed)


def format_array(arr, indent="    ") -> str:
    """An array as indented text for ``str(model)`` summaries.

    Parameters
    ----------
    arr : array-like
    indent : str
        Prefix of every line.

    Returns
    -------
    str
    """
    text = np.array2string(np.asarray(arr), precision=4, suppress_small=True,
                           max_line_width=88 - len(indent))
    return "\n".join(indent + line for line in text.splitlines())


@functools.cache
def _init_signature(init):
    """Constructor parameters (inspect.signature is slow: cached)."""
    return tuple(p for p in inspect.signature(init).parameters.values()
                 if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))


@functools.cache
def _sorted_names(init):
    return tuple(sorted(p.name for p in _init_signature(init)))


def _same_value(value, default) -> bool:
    """Whether a parameter still has its default value (for ``repr``)."""
    if value is default:
        return True
    # Arrays and objects never count as default; True must not pass for 1.
    if not (np.isscalar(value) and np.isscalar(default)):
        return False
    if isinstance(value, (bool, np.bool_)) != isinstance(default, (bool, np.bool_)):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


class Estimator(Stored, file_kind="model", abstract=True):
    """Base of every hmm_core model: settings, repr, model files, randomness.

    Subclasses take their settings as explicit constructor arguments and
    store each under its own name. Class attributes tune the shared
    behaviour: ``_parameter_constraints`` (rules of the settings, checked by
    :meth:`_validate_params`), ``_repr_always`` (settings ``repr`` shows even
    at their default), ``_input_tags`` (scikit-learn's input tags) and
    ``_generators`` (how ``random_state`` is read, see :func:`random_source`).
    """

    #: Rules of the constructor settings, checked in this order.
    _parameter_constraints: dict = {}
    #: Settings that ``repr`` shows even when they have their default value.
    _repr_always: tuple = ()
    #: scikit-learn input tags (``sklearn.utils.InputTags`` arguments).
    _input_tags: dict = {}
    #: Whether ``random_state`` follows NumPy's Generator API (see random_source).
    _generators = False
    # scikit-learn's estimator type for versions that read the attribute (< 1.6).
    _estimator_type = "density_estimator"

    # ------------------------------------------------------------- settings
    @classmethod
    def _get_param_names(cls):
        return _sorted_names(cls.__init__)

    def _set_params_from(self, arguments):
        """Store every constructor argument found in ``arguments`` (a ``locals()``)."""
        for param in _init_signature(type(self).__init__):
            setattr(self, param.name, arguments[param.name])

    def get_params(self, deep=True):
        """Constructor settings, as scikit-learn's ``get_params``.

        Parameters
        ----------
        deep : bool
            Also return the settings of settings that are estimators, as
            ``<name>__<setting>`` (a grid search can vary
            ``model__n_components`` of a :class:`~hmm_core.HigherOrderHMM`).

        Returns
        -------
        dict
        """
        out = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{key}", item)
                           for key, item in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params):
        """Set constructor settings, as scikit-learn's ``set_params``.

        Parameters
        ----------
        **params
            Settings by name; ``<name>__<setting>`` sets a setting of the
            estimator held in ``<name>``.

        Returns
        -------
        self
        """
        valid = set(self._get_param_names())
        nested = {}
        for key, value in params.items():
            name, _, inner = key.partition("__")
            if name not in valid:
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}")
            if inner:
                nested.setdefault(name, {})[inner] = value
            else:
                setattr(self, name, value)
        for name, inner in nested.items():
            getattr(self, name).set_params(**inner)
        self._params_changed()
        return self

    def _params_changed(self):
        """Called by :meth:`set_params` once the new settings are in place."""

    def _validate_params(self, store=False):
        """Check every setting against ``_parameter_constraints``, in order.

        A constraint may return a normalised value (an int for an integral
        numpy scalar, say); with ``store`` that value replaces the setting.
        Whatever a rule raises reaches the caller as
        :class:`~hmm_core.estimator.constraints.InvalidParameterError` (both a
        ``ValueError`` and a ``TypeError``).
        """
        for name, constraint in self._parameter_constraints.items():
            value = getattr(self, name)
            try:
                checked = constraint(value, name, self)
            except InvalidParameterError:
                raise
            except (ValueError, TypeError) as exc:
                raise InvalidParameterError(str(exc)) from None
            if store and checked is not value:
                setattr(self, name, checked)

    # ----------------------------------------------------- scikit-learn tags
    def __sklearn_tags__(self):
        """Estimator tags for scikit-learn >= 1.6 (``clone``, ``GridSearchCV``).

        Only scikit-learn calls this, so importing it here adds no dependency.

        Returns
        -------
        sklearn.utils.Tags
        """
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type="density_estimator",
                    target_tags=TargetTags(required=False),
                    input_tags=InputTags(**self._input_tags))

    # ------------------------------------------------------------------ repr
    def _repr_params(self):
        """Settings shown by ``repr``: those that differ from their defaults."""
        params = self.get_params(deep=False)
        shown = {}
        for param in _init_signature(type(self).__init__):
            value = params[param.name]
            if (param.name in self._repr_always or param.default is inspect.Parameter.empty
                    or not _same_value(value, param.default)):
                shown[param.name] = value
        return shown

    def __repr__(self):
        # Like scikit-learn: the settings that differ from the defaults.
        args = ", ".join(f"{k}={v!r}" for k, v in self._repr_params().items())
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------- model files
    def save(self, path, metadata=None):
        """Write the model to a model file (no pickle; see :mod:`hmm_core.io`).

        Parameters
        ----------
        path : str or path-like
            Destination, conventionally ending in ``.npz``; written atomically.
        metadata : dict, optional
            JSON-serialisable user data stored alongside (read it back with
            :func:`hmm_core.io.read_metadata`).

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import hmm_core
        >>> X = np.array([[0], [1], [1], [2], [0], [2]])
        >>> model = hmm_core.CategoricalHMM(2, random_state=0).fit(X)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> model.save(path)
        >>> np.array_equal(hmm_core.load(path).emissionprob_, model.emissionprob_)
        True
        """
        save_model(self, path, metadata=metadata)

    # ------------------------------------------------------------ randomness
    def _random_source(self, random_state=None):
        """Where draws come from: ``random_state`` if given, else the model's own."""
        seed = self.random_state if random_state is None else random_state
        return random_source(seed, self._generators)
