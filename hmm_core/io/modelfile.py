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
    - ``user``: JSON data given as ``save(path, metadata=...)``, or null. The
      command line stores and reads ``alphabet``, ``columns`` and
      ``id_column`` there (types in :func:`read_user_metadata`).

``<key>.npy``
    Every array, in NumPy's ``.npy`` format (version 1.0 or 2.0) with its
    exact dtype (bool, integer, float, bytes or text), shape and
    memory order; never pickled. Keys are dotted paths,
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

Loading rebuilds the model from its constructor arguments, checks them
against the class's rules (as the constructor's arguments are checked), sets
the stored parameters and runs the model's own validation (shapes,
probabilities summing to one, positive definite covariances, ...). A model
saved before it was fully specified (say, a topology without emission
parameters) has its settings and chain validated on load and the rest when it
is used.

Files from elsewhere
--------------------
A model file may come from anyone, so loading trusts none of its sizes
(:mod:`hmm_core.io._archive`): the path must be a regular file (never a
directory, device or pipe); ``metadata.json`` is at most 16 MiB and nested at
most 100 levels; members are stored or deflated, never encrypted; every
``.npy`` member the metadata refers to has its header (dtype, shape) checked
against the member's uncompressed size, and that size against what its
compressed size can produce, before any array is read; arrays are read
straight into their final buffer, never past their declared size. Reading a
file therefore needs at most about 1032 times its size in memory (the limit of
deflate), and a file declaring more than it holds is refused at once.

Errors
------
A missing path raises ``FileNotFoundError``. Everything else that is wrong
with the path or its content raises ``ValueError`` naming the path (and,
where it helps, the member or the setting): a directory or device, an
unreadable file, a file that is not a ZIP archive, is truncated or corrupt,
lacks ``metadata.json``, has a newer ``format_version``, declares arrays it
cannot hold, or holds settings or parameters that fail validation
(including settings whose model would need more memory than is available).
"""

from __future__ import annotations

import io as _stdio
import json
import os
import secrets
import zipfile

import numpy as np

from hmm_core._version import __version__
from hmm_core.io._alphabet import Alphabet
from hmm_core.io._archive import MAX_DEPTH, MAX_METADATA_BYTES, ModelArchive, check_depth
from hmm_core.io.codec import Reader, Writer

__all__ = ["FORMAT_VERSION", "load", "load_model", "read_metadata", "read_user_metadata",
           "save_model"]

#: Version written by this hmm_core; files with a higher version are refused.
FORMAT_VERSION = 1
_FORMAT = "hmm_core-model"
_META = "metadata.json"


def _create_beside(directory):
    """A new temporary file in ``directory``, created with the mode the umask gives.

    (``tempfile.mkstemp`` would make it private, 0600, and so the model file.)
    """
    for _ in range(100):
        tmp = os.path.join(directory, f".hmm_core-{secrets.token_hex(8)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(17, "no free temporary name", directory)


def save_model(model, path, metadata=None):
    """Write ``model`` to the model file ``path`` (format in the module docstring).

    Parameters
    ----------
    model : BaseHMM, HigherOrderHMM, MarkovChain or HigherOrderMarkovChain
        The model to write.
    path : str or path-like
        Destination; replaced atomically (a partly written file is never
        left under this name). No extension is added.
    metadata : dict, optional
        JSON-serialisable user data, read back by :func:`read_metadata`. The
        keys the command line reads must have its types (see
        :func:`read_user_metadata`).

    Raises
    ------
    ValueError
        For an invalid model, a setting that cannot be stored without
        pickle (e.g. an emission class defined outside hmm_core), or
        metadata that cannot be stored (the message names the key).
    """
    _check_user(metadata, "metadata")
    writer = Writer()
    encoded = writer.encode(model)

    meta = {"format": _FORMAT, "format_version": FORMAT_VERSION,
            "hmm_core_version": __version__, "class": encoded["class"],
            "model": encoded, "user": metadata}
    if not check_depth(meta):
        raise ValueError(f"cannot save a {encoded['class']}: its encoding nests more than "
                         f"{MAX_DEPTH} levels deep")
    try:
        text = json.dumps(meta, allow_nan=False, indent=1).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata must be JSON-serialisable: {exc}") from None
    if len(text) > MAX_METADATA_BYTES:
        raise ValueError(f"the metadata of the model file would take {len(text):,} bytes; "
                         f"at most {MAX_METADATA_BYTES:,} are read back")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(2, "No such directory", path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "Is a directory", path)
    if os.path.exists(path) and not os.path.isfile(path):
        # Renaming over a device or a pipe would replace it with a regular file.
        raise ValueError(f"cannot write a model file to {os.fspath(path)!r}: it is not a "
                         "regular file")
    fd, tmp = _create_beside(directory)
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(
                handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_META, text)
            for key, arr in writer.arrays.items():
                buffer = _stdio.BytesIO()
                np.lib.format.write_array(buffer, arr, allow_pickle=False)
                archive.writestr(f"{key}.npy", buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# ------------------------------------------------------------- user metadata
def _is_str_list(value, allow_int=False):
    return isinstance(value, list) and all(
        isinstance(v, str) or (allow_int and isinstance(v, int) and not isinstance(v, bool))
        for v in value)


def _alphabet_type(value):
    """Why ``value`` cannot be an alphabet's stored form, or None."""
    if isinstance(value, dict):
        symbols, name = value.get("symbols"), value.get("name")
        if not _is_str_list(symbols) or not (name is None or isinstance(name, str)):
            return "must hold 'symbols' (a list of str) and 'name' (a str or null)"
        return None
    if isinstance(value, str) or _is_str_list(value):
        return None
    return f"must be a str or a list of str, got {type(value).__name__}"


def _check_user(user, where, build=False):
    """Refuse user metadata that cannot be stored, or that the command line cannot read.

    ``where`` prefixes messages (``"metadata"`` on save, ``"<path>: user
    metadata"`` on load). With ``build``, the alphabet is also built (its
    symbols must be distinct) and returned in its stored form.
    """
    items = list(user.items()) if isinstance(user, dict) else (
        [] if user is None else [(None, user)])
    for key, value in items:
        label = where if key is None else f"{where}[{key!r}]"
        if key is not None and not isinstance(key, str):
            raise ValueError(f"{where}: keys must be str, got {key!r}")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValueError(f"{label} is not JSON-serialisable: {exc}") from None
        if not check_depth(value, MAX_DEPTH - 2):
            raise ValueError(f"{label} nests more than {MAX_DEPTH - 2} levels deep")
    if not isinstance(user, dict):
        return user
    user = dict(user)
    alphabet = user.get("alphabet")
    if alphabet is not None:
        problem = _alphabet_type(alphabet)
        if problem:
            raise ValueError(f"{where}['alphabet'] {problem}")
        if build:
            try:
                built = (Alphabet(alphabet["symbols"], name=alphabet.get("name"))
                         if isinstance(alphabet, dict) else Alphabet.parse(alphabet))
            except ValueError as exc:
                raise ValueError(f"{where}['alphabet'] is not a valid alphabet: {exc}") \
                    from None
            user["alphabet"] = built.to_json()
    columns = user.get("columns")
    if columns is not None and not _is_str_list(columns, allow_int=True):
        raise ValueError(f"{where}['columns'] must be a list of column names (str) or "
                         f"indices, got {columns!r}")
    id_column = user.get("id_column")
    if id_column is not None and (isinstance(id_column, bool) or
                                  not isinstance(id_column, (str, int))):
        raise ValueError(f"{where}['id_column'] must be a column name (str) or index (int), "
                         f"got {id_column!r}")
    return user


def read_user_metadata(path):
    """The user metadata of a model file, with the keys the command line reads checked.

    ``alphabet`` must be a str (a named alphabet such as ``"dna"``, or
    symbols), a list of str or the stored form ``{"symbols": [...], "name":
    ...}`` (returned in that form); ``columns`` a list of str (or int column
    indices); ``id_column`` a str or an int. Each may be null or absent.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    dict
        The ``metadata`` given to ``save`` (an empty dict when it was None
        or not a dict).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable model file, or a checked key has the
        wrong type (the message names the file and the key).
    """
    path = os.fspath(path)
    user = read_metadata(path).get("user")
    if not isinstance(user, dict):
        return {}
    return _check_user(user, f"{path}: user metadata", build=True)


# ------------------------------------------------------------------ decoding
def _array_refs(body):
    """Every ``(key, scalar)`` array reference in an encoded model, in file order."""
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            if len(item) == 1 and next(iter(item)) in ("$array", "$scalar"):
                (tag, key), = item.items()
                if not isinstance(key, str):
                    raise ValueError(f"bad array reference {key!r}")
                yield key, tag == "$scalar"
            else:
                stack.extend(reversed(list(item.values())))


def _read_meta(archive):
    path = archive.path
    meta = archive.metadata(_META, f"not an hmm_core model file (an archive without "
                                   f"{_META}; is it a data file?)")
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise ValueError(f"{path}: not an hmm_core model file")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        written = meta.get("hmm_core_version", "?")
        raise ValueError(f"{path}: written with model file format version {version} by "
                         f"hmm_core {written if isinstance(written, str) else '?'}; this "
                         f"hmm_core reads versions up to {FORMAT_VERSION}: upgrade hmm_core")
    if not isinstance(meta.get("model"), dict) or not isinstance(meta.get("class"), str):
        raise ValueError(f"{path}: invalid model file: no encoded model")
    return meta


def _as_value_error(path, exc):
    """The ``ValueError`` naming ``path`` that reports ``exc``, a failure while reading."""
    if isinstance(exc, ValueError):
        if str(exc).startswith(path):
            return exc
        return ValueError(f"{path}: invalid model file: {exc}")
    return ValueError(f"{path}: corrupt or invalid model file ({type(exc).__name__}: {exc})")


def read_metadata(path):
    """The JSON metadata of a model file, without building the model.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    dict
        ``format``, ``format_version``, ``hmm_core_version``, ``class``,
        ``model`` (encoded) and ``user`` (the ``metadata`` given to ``save``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable model file of a supported version.
    """
    path = os.fspath(path)
    with ModelArchive(path) as archive:
        try:
            return _read_meta(archive)
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - every fault of the file is a ValueError
            raise _as_value_error(path, exc) from None


def load_model(path, expected=None):
    """Read a model written by :func:`save_model` (or ``model.save``).

    Parameters
    ----------
    path : str or path-like
        The model file.
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
        If the file is not a model file, is a directory, unreadable, truncated
        or corrupt, declares arrays larger than it can hold, was written by a
        newer format version, or holds invalid settings or parameters.

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
    with ModelArchive(path) as archive:
        try:
            meta = _read_meta(archive)
            # Every array the model refers to is checked before any is read.
            for key, scalar in _array_refs(meta["model"]):
                archive.check_array(key, scalar)
            model = Reader(archive.array).decode(meta["model"])
        except MemoryError as exc:
            # Arrays are bounded by the file's size: this is a setting asking for too much.
            raise ValueError(f"{path}: the model's settings need more memory than is "
                             f"available ({str(exc) or 'out of memory'}); is the file corrupt?") \
                from None
        except Exception as exc:  # noqa: BLE001 - every fault of the file is a ValueError
            raise _as_value_error(path, exc) from None
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
