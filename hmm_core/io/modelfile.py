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
parameter was set and valid when saved). Each class writes and reads its own
part; classes are looked up by name among hmm_core's own classes (see
:mod:`hmm_core.io.codec`), so a file never names code outside hmm_core.

Loading rebuilds the model from its constructor arguments, sets the stored
parameters and runs the model's own validation (shapes, probabilities
summing to one, positive definite covariances, ...). A model saved before it
was fully specified (say, a topology without emission parameters) has its
settings and chain validated on load and the rest when it is used. A file that is not a
ZIP archive, is truncated or corrupt, lacks ``metadata.json``, has a newer
``format_version`` or fails validation raises ``ValueError``.
"""

from __future__ import annotations

import io as _stdio
import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from hmm_core._version import __version__
from hmm_core.io.codec import Reader, Writer

__all__ = ["FORMAT_VERSION", "load", "load_model", "read_metadata", "save_model"]

#: Version written by this hmm_core; files with a higher version are refused.
FORMAT_VERSION = 1
_FORMAT = "hmm_core-model"
_META = "metadata.json"


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
    writer = Writer()
    encoded = writer.encode(model)

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
_ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, UnicodeDecodeError,
                   json.JSONDecodeError, NotImplementedError)


def _read_array(archive, key):
    """Read the array member ``key`` without pickle."""
    with archive.open(f"{key}.npy") as handle:
        data = handle.read()
    return np.lib.format.read_array(_stdio.BytesIO(data), allow_pickle=False)


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
            model = Reader(lambda key: _read_array(archive, key)).decode(meta["model"])
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
