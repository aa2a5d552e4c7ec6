"""Values of model files: tagged JSON with arrays beside it, and the class registry.

The codec turns Python values into JSON and back (the tags are listed in
:mod:`hmm_core.io.modelfile`). It knows no model: a class that can be
stored subclasses :class:`Stored`, which registers it by name, and encodes
and decodes its own state with :meth:`Stored._to_file` and
:meth:`Stored._from_file`. Only classes defined inside hmm_core are
registered, so a file can only name hmm_core's own classes, and loading
never runs code that the file chose. A class of your own (an
:class:`~hmm_core.emissions.EmissionModel` subclass, or a model class built
on one) is stored once you register it with :func:`register`; files name it
by module and qualified name, and loading it requires the class to be
imported and registered first: a file never makes hmm_core import a module.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

__all__ = ["Reader", "Stored", "Writer", "init_names", "register"]

_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")
#: Registered classes by kind ("model", "emission") and class name.
_REGISTRY: dict[str, dict[str, type]] = {"model": {}, "emission": {}}


def init_names(klass):
    """Constructor parameter names of a class, in signature order.

    Parameters
    ----------
    klass : type
        The class.

    Returns
    -------
    list of str
    """
    sig = inspect.signature(klass.__init__)
    return [p.name for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


class Stored:
    """A class whose instances can be written to model files.

    A base class names its kind (``class EmissionModel(Stored,
    file_kind="emission", abstract=True)``); every class of that kind defined
    in hmm_core and not declared ``abstract=True`` is registered under its
    class name, which is how a file refers to it.

    The default encoding is the constructor arguments (``params``) plus
    whatever :meth:`_file_state` adds; decoding calls the constructor and
    hands the rest of the encoding to :meth:`_restore_file_state`.
    """

    _file_kind: str | None = None

    def __init_subclass__(cls, file_kind=None, abstract=False, **kwargs):
        super().__init_subclass__(**kwargs)
        if file_kind is not None:
            if file_kind not in _REGISTRY:
                raise TypeError(f"unknown file kind {file_kind!r}")
            cls._file_kind = file_kind
        inside = cls.__module__ == "hmm_core" or cls.__module__.startswith("hmm_core.")
        if abstract or not inside or cls._file_kind is None:
            return
        table = _REGISTRY[cls._file_kind]
        known = table.get(cls.__name__)
        if known is not None and known.__module__ != cls.__module__:
            raise TypeError(f"two {cls._file_kind} classes are named {cls.__name__}: "
                            f"{known.__module__} and {cls.__module__}")
        table[cls.__name__] = cls

    # -------------------------------------------------------------- encoding
    def _file_params(self):
        """Constructor arguments to store (default: every one, by attribute)."""
        return {name: getattr(self, name) for name in init_names(type(self))}

    def _file_state(self, writer, prefix):
        """Encoded state beyond the constructor arguments (a dict of JSON values).

        Parameters
        ----------
        writer : Writer
        prefix : str
            Prefix of the array keys of this object (``""`` or ending in ``.``).
        """
        return {}

    def _to_file(self, writer, key):
        """The encoding of this object: ``class``, ``params`` and its state."""
        prefix = f"{key}." if key else ""
        params = {name: writer.value(value, f"{prefix}params.{name}")
                  for name, value in self._file_params().items()}
        return {"class": file_name(type(self)), "params": params,
                **self._file_state(writer, prefix)}

    # -------------------------------------------------------------- decoding
    def _restore_file_state(self, reader, body):
        """Set the state that :meth:`_file_state` encoded (``body`` is the whole encoding)."""

    @classmethod
    def _from_file(cls, reader, body):
        """A new instance from its encoding."""
        params = reader.settings(cls, body.get("params"))
        obj = cls(**params)
        reader.check_settings(obj)  # before any state is restored from the file
        obj._restore_file_state(reader, body)
        return obj


def _inside(cls):
    return cls.__module__ == "hmm_core" or cls.__module__.startswith("hmm_core.")


def file_name(cls):
    """The name a model file gives ``cls``: hmm_core's class name, else ``module:qualname``."""
    return cls.__name__ if _inside(cls) else f"{cls.__module__}:{cls.__qualname__}"


def register(klass):
    """Allow model files to store and load instances of a class of your own.

    Register each :class:`~hmm_core.emissions.EmissionModel` subclass you
    write, and a model class built on it, once, where they are defined (it
    also works as a class decorator). A file names the class by module and
    qualified name; :func:`hmm_core.load` finds it only when the class has
    been imported and registered in the loading process, and otherwise says
    so (hmm_core never imports a module a file names, and never unpickles).

    Parameters
    ----------
    klass : type
        A concrete subclass of :class:`~hmm_core.emissions.EmissionModel` or
        of an hmm_core model class.

    Returns
    -------
    type
        ``klass``, unchanged.

    Raises
    ------
    TypeError
        When ``klass`` is not such a class, or another class is registered
        under the same module and name.
    """
    kind = getattr(klass, "_file_kind", None) if isinstance(klass, type) else None
    if kind is None or not issubclass(klass, Stored):
        raise TypeError(f"register takes an EmissionModel subclass or a model class, "
                        f"got {klass!r}")
    if _inside(klass):
        return klass  # hmm_core's own classes are registered when defined
    name = file_name(klass)
    known = _REGISTRY[kind].get(name)
    if known is not None and known is not klass:
        raise TypeError(f"another {kind} class is registered as {name!r}")
    _REGISTRY[kind][name] = klass
    return klass


def registered(kind, name):
    """The registered class of ``kind`` named ``name``, or None."""
    return _REGISTRY[kind].get(name)


def check_registered(obj, kind, key):
    """Raise ``ValueError`` unless ``obj`` is an instance of a registered class of ``kind``."""
    cls = type(obj)
    if isinstance(obj, Stored) and cls._file_kind == kind and registered(
            kind, file_name(cls)) is cls:
        return
    hint = ""
    if isinstance(obj, Stored) and cls._file_kind == kind and not _inside(cls):
        hint = (f" and is not registered; call hmm_core.register({cls.__name__}) once where "
                "it is defined")
    if kind == "emission":
        raise ValueError(f"cannot save {key}: {cls.__name__} is not one of hmm_core's "
                         f"emission classes{hint}")
    raise ValueError(f"cannot save a {cls.__name__}: not one of hmm_core's model "
                     f"classes{hint}")


# ------------------------------------------------------------------ encoding
class Writer:
    """Turns Python values into JSON, collecting arrays under dotted keys.

    Attributes
    ----------
    arrays : dict of str to ndarray
        Every array met so far, by key (the ``.npy`` members of the file).
    """

    def __init__(self):
        self.arrays = {}

    def encode(self, obj, kind="model", key=""):
        """The encoding of a registered object (a model file's ``model``).

        Parameters
        ----------
        obj : Stored
        kind : {"model", "emission"}
        key : str
            Key prefix of its arrays.

        Returns
        -------
        dict
        """
        check_registered(obj, kind, key)
        return obj._to_file(self, key)

    def value(self, value, key):
        """JSON for ``value``; arrays are stored under ``key``.

        Parameters
        ----------
        value : object
        key : str

        Returns
        -------
        JSON value
        """
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and type(value) is int:
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {"$float": repr(value)}
        if isinstance(value, (np.ndarray, np.generic)):
            arr = np.asarray(value)
            if arr.dtype.hasobject:
                raise ValueError(f"cannot save {key}: object arrays need pickle")
            if arr.dtype.kind not in "biufSU" or arr.dtype.fields is not None \
                    or arr.dtype.itemsize == 0:
                raise ValueError(f"cannot save {key}: arrays of dtype {arr.dtype} are not "
                                 "supported in model files")
            self.arrays[key] = arr
            return {"$scalar" if isinstance(value, np.generic) else "$array": key}
        if isinstance(value, (list, tuple)):
            items = [self.value(v, f"{key}.{i}") for i, v in enumerate(value)]
            return items if type(value) is list else {"$tuple": items}
        if isinstance(value, slice):
            return {"$slice": [self.value(getattr(value, a), f"{key}.{a}")
                               for a in ("start", "stop", "step")]}
        if isinstance(value, np.random.RandomState):
            return {"$random_state": self.value(value.get_state(), key)}
        if isinstance(value, np.random.Generator):
            bitgen = value.bit_generator
            name = type(bitgen).__name__
            if name not in _BIT_GENERATORS:
                raise ValueError(f"cannot save {key}: unknown bit generator {name}")
            return {"$generator": {"bit_generator": name,
                                   "state": self.dict(bitgen.state, f"{key}.state")}}
        if isinstance(value, Stored) and value._file_kind is not None:
            kind = value._file_kind
            return {f"${kind}": self.encode(value, kind, key)}
        raise ValueError(f"cannot save {key}: values of type {type(value).__name__} are "
                         "not supported in model files")

    def dict(self, mapping, key):
        """A ``$dict`` of string keys (bit-generator states).

        Parameters
        ----------
        mapping : dict
        key : str

        Returns
        -------
        dict
        """
        out = {}
        for name, item in mapping.items():
            if not isinstance(name, str) or name.startswith("$"):
                raise ValueError(f"cannot save {key}: dictionary key {name!r}")
            out[name] = self.dict(item, f"{key}.{name}") if isinstance(
                item, dict) else self.value(item, f"{key}.{name}")
        return {"$dict": out}


# ------------------------------------------------------------------ decoding
class Reader:
    """Turns the JSON of a model file back into values, reading arrays on demand.

    Parameters
    ----------
    array : callable
        ``array(key)`` returns the array stored under ``key`` (never unpickling).
    """

    def __init__(self, array):
        self._array = array

    def array(self, key):
        """The array stored under ``key``.

        Parameters
        ----------
        key : str

        Returns
        -------
        ndarray
        """
        if not isinstance(key, str):
            raise ValueError(f"bad array reference {key!r}")
        return self._array(key)

    def decode(self, body, kind="model"):
        """A new object of a registered class from its encoding.

        Its settings are then checked against the class's rules (its
        ``_parameter_constraints``, when it has them), as its constructor
        arguments would be.

        Parameters
        ----------
        body : dict
            The encoding written by :meth:`Writer.encode`.
        kind : {"model", "emission"}

        Returns
        -------
        Stored
        """
        name = body.get("class") if isinstance(body, dict) else None
        if not isinstance(name, str):
            raise ValueError(f"a {kind} encoding must be an object naming its class")
        cls = registered(kind, name)
        if cls is None and ":" in name:
            raise ValueError(
                f"the file stores a {kind} of class {name!r}, which is not registered: import "
                f"it and call hmm_core.register on it before loading (hmm_core never "
                f"imports a module that a file names)")
        if cls is None:
            raise ValueError(f"unknown {kind} class {name!r}")
        obj = cls._from_file(self, body)
        self.check_settings(obj)
        return obj

    def check_settings(self, obj):
        """Check the settings of a decoded object by its class's rules.

        The rules are the class's ``_parameter_constraints`` (those its
        ``_validate_params`` applies), checked as constructor arguments are.

        Parameters
        ----------
        obj : Stored
            The object, built from its stored settings.

        Raises
        ------
        ValueError
            Naming the setting and the class.
        """
        rules = getattr(type(obj), "_parameter_constraints", None) or {}
        for name, rule in rules.items():
            try:
                rule(getattr(obj, name), name, obj)
            except (TypeError, ValueError, AttributeError, LookupError, OverflowError) as exc:
                where = "" if str(exc).startswith(name) else f" {name}"
                raise ValueError(f"invalid setting{where} of {type(obj).__name__}: {exc}") \
                    from None

    def settings(self, cls, params):
        """Decoded constructor arguments of ``cls``; unknown names are refused.

        Parameters
        ----------
        cls : type
            The class the arguments are for.
        params : dict
            Encoded arguments by name.

        Returns
        -------
        dict
        """
        if not isinstance(params, dict):
            raise ValueError(f"the settings of {cls.__name__} must be an object")
        unknown = set(params) - set(init_names(cls))
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)} for {cls.__name__}")
        return {name: self.value(value) for name, value in params.items()}

    def value(self, value):
        """Inverse of :meth:`Writer.value`.

        Parameters
        ----------
        value : JSON value

        Returns
        -------
        object
        """
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if not isinstance(value, dict) or len(value) != 1:
            raise ValueError(f"unexpected value {value!r}")
        (tag, body), = value.items()
        if tag == "$float":
            if body not in ("nan", "inf", "-inf"):
                raise ValueError(f"bad float {body!r}")
            return float(body)
        if tag == "$array":
            return self.array(body)
        if tag == "$scalar":
            arr = self.array(body)
            if arr.ndim != 0:
                raise ValueError(f"scalar {body!r} has shape {arr.shape}")
            return arr[()]
        if tag == "$tuple":
            return tuple(self.value(v) for v in _expect(body, list, tag))
        if tag == "$slice":
            bounds = self.value(_expect(body, list, tag))
            if len(bounds) != 3 or not all(b is None or isinstance(b, int) for b in bounds):
                raise ValueError(f"bad slice {body!r}")
            return slice(*bounds)
        if tag == "$dict":
            return {k: self.value(v) for k, v in _expect(body, dict, tag).items()}
        if tag == "$random_state":
            state = np.random.RandomState()
            try:
                state.set_state(self.value(body))
            except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
                raise ValueError(f"bad random state ({exc})") from None
            return state
        if tag == "$generator":
            name = _expect(body, dict, tag).get("bit_generator")
            if not isinstance(name, str) or name not in _BIT_GENERATORS:
                raise ValueError(f"unknown bit generator {name!r}")
            bitgen = getattr(np.random, name)()
            try:
                bitgen.state = self.value(body.get("state"))
            except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
                raise ValueError(f"bad {name} state ({exc})") from None
            return np.random.Generator(bitgen)
        if tag[1:] in _REGISTRY:
            return self.decode(body, tag[1:])
        raise ValueError(f"unknown tag {tag!r}")


def _expect(body, kind, tag):
    """``body`` of a ``tag``ged value, which must be a ``kind`` (list or dict)."""
    if not isinstance(body, kind):
        raise ValueError(f"{tag} holds {type(body).__name__}, expected {kind.__name__}")
    return body
