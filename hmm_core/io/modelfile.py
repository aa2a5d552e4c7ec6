"""Model files: save and load every hmm_core model without pickle.

:meth:`model.save(path) <hmm_core.base.BaseHMM.save>` writes a model file and
:func:`hmm_core.load` reads it back with every parameter bit-identical and
every constructor setting equal (the ``callback`` hook, code, is not stored).
Loading never unpickles, so it never executes code from the file.

File format, version 1
----------------------
A model file is a ZIP archive, the container of NumPy's ``.npz`` (so
``numpy.load(path, allow_pickle=False)`` lists its arrays). It holds:

``metadata.json``
    UTF-8 JSON object with the keys

    - ``format``: the string ``"hmm_core-model"``;
    - ``format_version``: an integer, currently 1. A reader refuses a file
      with a higher version;
    - ``hmm_core_version``: version of the writer (informative);
    - ``class``: the model class, e.g. ``"GaussianHMM"``;
    - ``model``: the encoded model (below);
    - ``user``: JSON data given as ``save(path, metadata=...)``, or null.

``<key>.npy``
    Every array, in NumPy's ``.npy`` format with its exact dtype, shape and
    memory order; read with ``allow_pickle=False``. Keys are dotted paths,
    e.g. ``fitted.transmat_`` or ``emission.blocks.1.lambdas_``.

Values inside ``model`` are JSON values, except that non-finite floats,
numpy arrays and scalars, tuples, slices, random states, emission objects and
nested models are tagged objects with a single ``$``-key: ``{"$float":
"nan"}``, ``{"$array": key}``, ``{"$scalar": key}`` (a 0-d array read back as
a numpy scalar), ``{"$tuple": [...]}``, ``{"$slice": [start, stop, step]}``,
``{"$random_state": state}`` (a ``RandomState``), ``{"$generator": {"bit_generator":
name, "state": ...}}``, ``{"$emission": {"class", "settings", "state"}}``,
``{"$model": ...}``. An encoded model has ``class``, ``params`` (constructor
arguments) and, depending on the class, ``fitted`` (chain parameters),
``emission`` (emission parameters), ``topology``, ``monitor``, ``expanded``
(the state-expanded model of a HigherOrderHMM) and ``complete`` (every
parameter was set and valid when saved). Classes are looked up in a fixed
table of hmm_core's own classes.

Loading rebuilds the model from its constructor arguments, sets the stored
parameters and runs the model's own validation (shapes, probabilities
summing to one, positive definite covariances, ...). A model saved before it
was fully specified (say, a topology without emission parameters) has its
settings and chain validated on load and the rest when it is used. A file that is not a
ZIP archive, is truncated or corrupt, lacks ``metadata.json``, has a newer
``format_version`` or fails validation raises ``ValueError``.
"""

from __future__ import annotations

import inspect
import io as _stdio
import json
import math
import os
import tempfile
import zipfile
import zlib

import numpy as np

__all__ = ["FORMAT_VERSION", "load", "load_model", "read_metadata", "save_model"]

#: Version written by this hmm_core; files with a higher version are refused.
FORMAT_VERSION = 1
_FORMAT = "hmm_core-model"
_META = "metadata.json"
# Private emission attributes that are fitted state rather than caches.
_EMISSION_EXTRA = ("n_features", "_fit_trials")
_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")


def _classes():
    from hmm_core import emissions
    from hmm_core.chains.markov_chain import HigherOrderMarkovChain, MarkovChain
    from hmm_core.hmm.higher_order import HigherOrderHMM
    from hmm_core.models import (
        GMMHMM,
        CategoricalHMM,
        GaussianHMM,
        IndependentHMM,
        MultinomialHMM,
        PoissonHMM,
    )

    models = (CategoricalHMM, GaussianHMM, GMMHMM, PoissonHMM, MultinomialHMM,
              IndependentHMM, HigherOrderHMM, MarkovChain, HigherOrderMarkovChain)
    emission_classes = tuple(getattr(emissions, name) for name in emissions.__all__
                             if name != "EmissionModel")
    return ({cls.__name__: cls for cls in models},
            {cls.__name__: cls for cls in emission_classes})


# ------------------------------------------------------------------ encoding
class _Writer:
    """Turns Python values into JSON, collecting arrays under dotted keys."""

    def __init__(self):
        self.arrays = {}

    def value(self, value, key):
        """JSON for ``value``; arrays are stored under ``key``."""
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
        from hmm_core.emissions.base import EmissionModel

        if isinstance(value, EmissionModel):
            return {"$emission": self.emission(value, key)}
        from hmm_core.hmm.base import BaseHMM

        if isinstance(value, BaseHMM):
            return {"$model": self.model(value, key)}
        raise ValueError(f"cannot save {key}: values of type {type(value).__name__} are "
                         "not supported in model files")

    def dict(self, mapping, key):
        """A ``$dict`` of string keys (bit-generator states)."""
        out = {}
        for name, item in mapping.items():
            if not isinstance(name, str) or name.startswith("$"):
                raise ValueError(f"cannot save {key}: dictionary key {name!r}")
            out[name] = self.dict(item, f"{key}.{name}") if isinstance(
                item, dict) else self.value(item, f"{key}.{name}")
        return {"$dict": out}

    def emission(self, emission, key):
        """Class, constructor settings and fitted state of an emission object."""
        cls = type(emission)
        if _classes()[1].get(cls.__name__) is not cls:
            raise ValueError(f"cannot save {key}: {cls.__name__} is not one of hmm_core's "
                             "emission classes")
        if cls.__name__ == "IndependentEmission":
            blocks = list(zip(emission.columns, emission.emissions, strict=True))
            return {"class": cls.__name__, "settings": {"blocks": self.value(
                blocks, f"{key}.blocks")}, "state": {}}
        names = _init_names(cls)
        settings = {n: self.value(getattr(emission, n), f"{key}.{n}") for n in names}
        return {"class": cls.__name__, "settings": settings,
                "state": self.emission_state(emission, key, skip=names)}

    def emission_state(self, emission, key, skip=()):
        """Fitted attributes of an emission (recursing into independent blocks)."""
        if hasattr(emission, "emissions") and hasattr(emission, "columns"):
            return {"blocks": [self.emission_state(e, f"{key}.blocks.{k}")
                               for k, e in enumerate(emission.emissions)]}
        state = {}
        for name, value in vars(emission).items():
            fitted = name.endswith("_") and not name.startswith("_")
            if (fitted or name in _EMISSION_EXTRA) and name not in skip:
                state[name] = self.value(value, f"{key}.{name}")
        return state

    def monitor(self, monitor, key):
        """The convergence monitor's settings and history."""
        if monitor is None:
            return None
        return {"tol": self.value(monitor.tol, f"{key}.tol"),
                "n_iter": self.value(monitor.n_iter, f"{key}.n_iter"),
                "verbose": self.value(monitor.verbose, f"{key}.verbose"),
                "iter": int(monitor.iter),
                "history": self.value(np.asarray(monitor.history, dtype=float),
                                      f"{key}.history")}

    def hmm_state(self, model, key):
        """Fitted chain, emission, topology and monitor of a BaseHMM."""
        out = {"complete": _complete(model)}
        out["fitted"] = {name: self.value(model.__dict__.get(name), f"{key}fitted.{name}")
                         for name in ("startprob_", "transmat_", "endprob_")}
        out["emission"] = self.emission_state(model._get_emission(), f"{key}emission")
        topology = model.__dict__.get("_topology")
        out["topology"] = None if topology is None else self.value(
            tuple(topology), f"{key}topology")
        out["monitor"] = self.monitor(model.__dict__.get("monitor_"), f"{key}monitor")
        return out

    def model(self, model, key=""):
        """The encoded model (see the module docstring)."""
        from hmm_core.hmm.base import BaseHMM

        cls = type(model)
        if _classes()[0].get(cls.__name__) is not cls:
            raise ValueError(f"cannot save a {cls.__name__}: not one of hmm_core's model "
                             "classes")
        prefix = f"{key}." if key else ""
        name = cls.__name__
        if isinstance(model, BaseHMM):
            params = model.get_params(deep=False)
            params["callback"] = None  # code is not data
            out = {"class": name, "params": {p: self.value(v, f"{prefix}params.{p}")
                                             for p, v in params.items()}}
            out.update(self.hmm_state(model, prefix))
            return out
        if name == "HigherOrderHMM":
            out = {"class": name, "params": {
                "model": {"$model": self.model(model.model, f"{prefix}params.model")},
                "order": self.value(model.order, f"{prefix}params.order")}}
            expanded = model.__dict__.get("model_")
            out["expanded"] = None if expanded is None else self.hmm_state(
                expanded, f"{prefix}expanded.")
            return out
        params = {p: self.value(getattr(model, p), f"{prefix}params.{p}")
                  for p in _init_names(cls)}
        fitted = None
        if hasattr(model, "n_states_"):
            names = (("startprob_", "transmat_", "start_counts_", "transition_counts_")
                     if name == "MarkovChain" else ("_tables",))
            fitted = {n: self.value(getattr(model, n, None), f"{prefix}fitted.{n}")
                      for n in ("n_states_", "state_names_") + names}
        return {"class": name, "params": params, "fitted": fitted}


def _complete(model):
    """Whether every parameter is set and valid; an invalid chain is refused.

    A configured but unfitted model (say a topology without emission
    parameters) is saved as it is and validated when it is used.
    """
    from hmm_core.kernels.chain import ChainParams

    model._check_settings()
    start, trans = model.__dict__.get("startprob_"), model.__dict__.get("transmat_")
    if start is None or trans is None:
        return False
    ChainParams(start, trans, model.__dict__.get("endprob_"), n_components=model.n_components,
                suffix="_")
    try:
        model._check()
    except ValueError as exc:
        if "is not set" not in str(exc):  # the models' message for a missing parameter
            raise
        return False
    return True


def _init_names(cls):
    sig = inspect.signature(cls.__init__)
    return [p.name for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def save_model(model, path, metadata=None):
    """Write ``model`` to the model file ``path`` (format in the module docstring).

    Parameters
    ----------
    model : BaseHMM, HigherOrderHMM, MarkovChain or HigherOrderMarkovChain
    path : str or path-like
        Destination; replaced atomically (a partly written file is never
        left under this name). No extension is added.
    metadata : dict, optional
        JSON-serialisable user data, read back by :func:`read_metadata`.

    Raises
    ------
    ValueError
        For an invalid model, or a setting that cannot be stored without
        pickle (e.g. an emission class defined outside hmm_core).
    """
    writer = _Writer()
    encoded = writer.model(model)
    from hmm_core._version import __version__

    meta = {"format": _FORMAT, "format_version": FORMAT_VERSION,
            "hmm_core_version": __version__, "class": encoded["class"],
            "model": encoded, "user": metadata}
    try:
        text = json.dumps(meta, allow_nan=False, indent=1)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata must be JSON-serialisable: {exc}") from None
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(2, "No such directory", path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "Is a directory", path)
    fd, tmp = tempfile.mkstemp(prefix=".hmm_core-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(
                handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_META, text.encode("utf-8"))
            for key, arr in writer.arrays.items():
                buffer = _stdio.BytesIO()
                np.lib.format.write_array(buffer, arr, allow_pickle=False)
                archive.writestr(f"{key}.npy", buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# ------------------------------------------------------------------ decoding
class _Reader:
    """Turns the JSON of a model file back into values, reading arrays lazily."""

    def __init__(self, archive):
        self.archive = archive

    def array(self, key):
        """Read the array member ``key`` without pickle."""
        if not isinstance(key, str):
            raise ValueError(f"bad array reference {key!r}")
        with self.archive.open(f"{key}.npy") as handle:
            data = handle.read()
        return np.lib.format.read_array(_stdio.BytesIO(data), allow_pickle=False)

    def value(self, value):
        """Inverse of :meth:`_Writer.value`."""
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
            return tuple(self.value(v) for v in body)
        if tag == "$slice":
            return slice(*self.value(body))
        if tag == "$dict":
            return {k: self.value(v) for k, v in body.items()}
        if tag == "$random_state":
            state = np.random.RandomState()
            state.set_state(self.value(body))
            return state
        if tag == "$generator":
            name = body["bit_generator"]
            if name not in _BIT_GENERATORS:
                raise ValueError(f"unknown bit generator {name!r}")
            bitgen = getattr(np.random, name)()
            bitgen.state = self.value(body["state"])
            return np.random.Generator(bitgen)
        if tag == "$emission":
            return self.emission(body)
        if tag == "$model":
            return self.model(body)
        raise ValueError(f"unknown tag {tag!r}")

    def emission(self, body):
        """A new emission object from its encoding."""
        cls = _classes()[1].get(body["class"])
        if cls is None:
            raise ValueError(f"unknown emission class {body['class']!r}")
        settings = {k: self.value(v) for k, v in body["settings"].items()}
        emission = cls(**settings)
        self.emission_state(emission, body["state"])
        return emission

    def emission_state(self, emission, state):
        """Set the stored fitted attributes on ``emission`` (recursing into blocks)."""
        if hasattr(emission, "emissions") and hasattr(emission, "columns"):
            blocks = state.get("blocks", [])
            if len(blocks) != len(emission.emissions):
                raise ValueError(f"{len(blocks)} emission blocks stored, the model has "
                                 f"{len(emission.emissions)}")
            for sub, sub_state in zip(emission.emissions, blocks, strict=True):
                self.emission_state(sub, sub_state)
            return
        for name, value in state.items():
            fitted = name.endswith("_") and not name.startswith("_")
            if not (fitted or name in _EMISSION_EXTRA):
                raise ValueError(f"unexpected emission attribute {name!r}")
            setattr(emission, name, self.value(value))

    def hmm_state(self, model, body):
        """Set chain, emission, topology and monitor, then validate."""
        from hmm_core.hmm.monitor import ConvergenceMonitor
        from hmm_core.structure.topology import Topology

        fitted = {k: self.value(v) for k, v in body["fitted"].items()}
        unknown = set(fitted) - {"startprob_", "transmat_", "endprob_"}
        if unknown:
            raise ValueError(f"unexpected chain parameters {sorted(unknown)}")
        for name, value in fitted.items():
            if value is not None:
                setattr(model, name, value)
        self.emission_state(model._get_emission(), body["emission"])
        if body.get("topology") is not None:
            model._topology = Topology(*self.value(body["topology"]))
        if body.get("monitor") is not None:
            info = body["monitor"]
            monitor = ConvergenceMonitor(self.value(info["tol"]), self.value(info["n_iter"]),
                                         self.value(info["verbose"]))
            monitor.history = [float(v) for v in self.value(info["history"])]
            monitor.iter = int(info["iter"])
            model.monitor_ = monitor
        model._check_settings()
        if body.get("complete"):
            model._check()  # the model's own validation of every parameter
        elif fitted.get("startprob_") is not None and fitted.get("transmat_") is not None:
            from hmm_core.kernels.chain import ChainParams

            ChainParams(model.startprob_, model.transmat_, fitted.get("endprob_"),
                        n_components=model.n_components, suffix="_")

    def model(self, body):
        """A new model from its encoding."""
        from hmm_core.hmm.base import BaseHMM

        cls = _classes()[0].get(body["class"])
        if cls is None:
            raise ValueError(f"unknown model class {body['class']!r}")
        params = {k: self.value(v) for k, v in body["params"].items()}
        model = cls(**params)
        if isinstance(model, BaseHMM):
            self.hmm_state(model, body)
        elif cls.__name__ == "HigherOrderHMM":
            if body.get("expanded") is not None:
                self.hmm_state(model._expanded(), body["expanded"])
        elif body.get("fitted") is not None:
            _restore_chain(model, {k: self.value(v) for k, v in body["fitted"].items()})
        return model


def _restore_chain(chain, fitted):
    """Set and validate the fitted attributes of a (higher-order) Markov chain."""
    from hmm_core.chains import _analysis as ca

    n = ca.check_nonneg_int(fitted.pop("n_states_"), "n_states_", minimum=1)
    names = ca.check_state_names(fitted.pop("state_names_"), n)
    chain.n_states_, chain.state_names_ = n, names
    if "_tables" not in fitted:
        chain.startprob_ = ca.check_probability_vector(fitted.pop("startprob_"),
                                                       "startprob_", n)
        chain.transmat_ = ca.check_transition_matrix(fitted.pop("transmat_"), "transmat_")
        if chain.transmat_.shape != (n, n):
            raise ValueError(f"transmat_ must have shape ({n}, {n})")
        for name, value in fitted.items():
            if value is not None:
                setattr(chain, name, np.asarray(value, dtype=float))
        return
    tables = fitted.pop("_tables")
    if len(tables) != chain.order + 1:
        raise ValueError(f"expected {chain.order + 1} context tables, got {len(tables)}")
    for j, (contexts, probs) in enumerate(tables):
        contexts, probs = np.asarray(contexts), np.asarray(probs)
        if not np.issubdtype(contexts.dtype, np.integer) or contexts.ndim != 2 or (
                contexts.size and (contexts.min() < 0 or contexts.max() >= n)):
            raise ValueError(f"context table {j} holds invalid contexts")
        if probs.shape != (contexts.shape[0], n):
            raise ValueError(f"context table {j} has probabilities of shape {probs.shape}")
        for row in probs:
            ca.check_probability_vector(row, f"context table {j}", n)
    chain._tables = [tuple(t) for t in tables]
    chain.startprob_ = chain._tables[0][1][0]
    chain.start_contexts_ = [t[0] for t in chain._tables[1:chain.order]]
    chain.start_probs_ = [t[1] for t in chain._tables[1:chain.order]]
    chain.contexts_, chain.context_probs_ = chain._tables[chain.order]
    chain._index = [{tuple(r): i for i, r in enumerate(t[0].tolist())} for t in chain._tables]
    chain._cum_cache = {}


_ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, UnicodeDecodeError,
                   json.JSONDecodeError, NotImplementedError)


def _read_meta(archive, path):
    try:
        raw = archive.read(_META)
    except KeyError:
        raise ValueError(f"{path}: not an hmm_core model file (an archive without "
                         f"{_META}; is it a data file?)") from None
    meta = json.loads(raw.decode("utf-8"))
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError(f"{path}: not an hmm_core model file")
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"{path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path}: written with model file format version {version} by "
                         f"hmm_core {meta.get('hmm_core_version', '?')}; this hmm_core "
                         f"reads versions up to {FORMAT_VERSION}: upgrade hmm_core")
    return meta


def _open(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise ValueError(f"{path}: not an hmm_core model file (not a ZIP/.npz archive, "
                         "or truncated)") from None


def read_metadata(path):
    """The JSON metadata of a model file, without building the model.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict
        ``format``, ``format_version``, ``hmm_core_version``, ``class``,
        ``model`` (encoded) and ``user`` (the ``metadata`` given to ``save``).

    Raises
    ------
    ValueError
        If the file is not a readable model file of a supported version.
    """
    with _open(path) as archive:
        try:
            return _read_meta(archive, os.fspath(path))
        except _ARCHIVE_ERRORS as exc:
            raise ValueError(f"{os.fspath(path)}: corrupt model file ({exc})") from None


def load_model(path, expected=None):
    """Read a model written by :func:`save_model` (or ``model.save``).

    Parameters
    ----------
    path : str or path-like
    expected : type or tuple of type, optional
        Refuse (``ValueError``) a model that is not an instance of these.

    Returns
    -------
    model
        A new model, equal to the saved one.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a model file, is truncated or corrupt, was written
        by a newer format version, or holds invalid parameters.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import hmm_core
    >>> chain = hmm_core.MarkovChain.from_params([1.0, 0.0], [[0.9, 0.1], [0.5, 0.5]])
    >>> path = os.path.join(tempfile.mkdtemp(), "chain.npz")
    >>> chain.save(path)
    >>> hmm_core.load(path).transmat_
    array([[0.9, 0.1],
           [0.5, 0.5]])
    """
    path = os.fspath(path)
    with _open(path) as archive:
        try:
            meta = _read_meta(archive, path)
            model = _Reader(archive).model(meta["model"])
        except ValueError as exc:
            if str(exc).startswith(path):
                raise
            raise ValueError(f"{path}: invalid model file: {exc}") from None
        except (*_ARCHIVE_ERRORS, TypeError, AttributeError, IndexError, RecursionError) as exc:
            raise ValueError(f"{path}: corrupt or invalid model file "
                             f"({type(exc).__name__}: {exc})") from None
    if expected is not None and not isinstance(model, expected):
        names = expected.__name__ if isinstance(expected, type) else " or ".join(
            c.__name__ for c in expected)
        raise ValueError(f"{path} holds a {type(model).__name__}, expected a {names}")
    return model


def load(path, expected=None):
    """Read a model file: ``hmm_core.load(path)`` (see :func:`load_model`).

    Parameters
    ----------
    path : str or path-like
    expected : type or tuple of type, optional
        Refuse a model that is not an instance of these.

    Returns
    -------
    model
    """
    return load_model(path, expected)
