"""Bounded reading of model-file archives: every size is checked before it is read.

A model file comes from anywhere, so nothing it declares is trusted: the
path must be a regular file, members must be stored or deflated (never
encrypted), ``metadata.json`` is at most :data:`MAX_METADATA_BYTES` and
nested at most :data:`MAX_DEPTH` levels, and each ``.npy`` member's header
(dtype, shape) must account exactly for the member's uncompressed size, which
deflate must be able to produce from its compressed size. Arrays are then
read straight into their final buffer, never past the size their header
declares, so reading a file costs at most about ``1032`` times its size in
memory (the limit of deflate) and a declared size that the file cannot hold
is refused before anything is allocated.

Every problem is a ``ValueError`` naming the file (and the member); only a
missing path is a ``FileNotFoundError``.
"""

from __future__ import annotations

import json
import math
import os
import stat
import zipfile

import numpy as np

__all__ = ["MAX_DEPTH", "MAX_METADATA_BYTES", "ModelArchive", "check_depth"]

#: Largest ``metadata.json`` read (and written), in bytes.
MAX_METADATA_BYTES = 16 << 20
#: Deepest nesting of JSON lists and objects in ``metadata.json``.
MAX_DEPTH = 100
#: Deflate expands at most 1032-fold (258 bytes from one 2-bit code), plus a little framing.
_DEFLATE_RATIO = 1032
_DEFLATE_SLACK = 1024
#: dtype kinds of stored arrays: bool, integers, floats, bytes, text (no model holds complex).
_KINDS = "biufSU"
#: Bytes copied per read while filling an array (bounds the temporary buffer).
_CHUNK = 1 << 20
#: Largest length of one axis (NumPy indexes with 64-bit integers).
_MAX_DIM = 1 << 62


def check_depth(value, limit=MAX_DEPTH):
    """Whether JSON data nests lists and dicts at most ``limit`` levels deep.

    Iterative, so data nested deeper than Python's recursion limit is
    measured too.

    Parameters
    ----------
    value : JSON value
    limit : int

    Returns
    -------
    bool
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


class _Member:
    """Checked header of one ``.npy`` member: where its data starts and what it holds."""

    __slots__ = ("count", "dtype", "fortran", "info", "shape")

    def __init__(self, info, shape, fortran, dtype, count):
        self.info, self.shape, self.fortran, self.dtype, self.count = (
            info, shape, fortran, dtype, count)


class ModelArchive:
    """A model file opened for bounded reading (a context manager).

    Parameters
    ----------
    path : str or path-like
        The model file.

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path``.
    ValueError
        If ``path`` is a directory, a device or pipe, unreadable, or not a
        ZIP archive.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            raise FileNotFoundError(f"no such file: {self.path!r}") from None
        except (OSError, ValueError) as exc:
            raise ValueError(f"{self.path}: cannot read the model file ({_reason(exc)})") \
                from None
        if stat.S_ISDIR(info.st_mode):
            raise ValueError(f"{self.path}: not a model file (Is a directory)")
        if not stat.S_ISREG(info.st_mode):
            # A device such as /dev/zero or a pipe never ends: never read one.
            raise ValueError(f"{self.path}: not a model file (not a regular file but a "
                             "device, pipe or socket)")
        self.size = info.st_size
        self._members = {}
        self._compressed = 0
        try:
            self._zip = zipfile.ZipFile(self.path)
        except OSError as exc:
            raise ValueError(f"{self.path}: cannot read the model file ({_reason(exc)})") \
                from None
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - zipfile's errors on damaged directories vary
            raise ValueError(f"{self.path}: not an hmm_core model file (not a ZIP/.npz "
                             f"archive, or truncated: {_reason(exc)})") from None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Close the archive."""
        self._zip.close()

    # ------------------------------------------------------------ members
    def _error(self, name, message):
        return ValueError(f"{self.path}: corrupt model file: member {name}: {message}")

    def _info(self, name, missing):
        """The ZIP entry ``name``, checked for a plausible size and a supported method."""
        try:
            info = self._zip.getinfo(name)
        except KeyError:
            raise ValueError(f"{self.path}: {missing}") from None
        if info.flag_bits & 0x1:
            raise self._error(name, "is encrypted")
        if info.compress_type == zipfile.ZIP_STORED:
            possible = info.compress_size
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            possible = info.compress_size * _DEFLATE_RATIO + _DEFLATE_SLACK
        else:
            raise self._error(name, f"compression method {info.compress_type} is not "
                                    "supported (model files are stored or deflated)")
        if info.file_size > possible:
            raise self._error(name, f"declares {info.file_size:,} bytes, more than its "
                                    f"{info.compress_size:,} compressed bytes can hold")
        self._compressed += info.compress_size
        if self._compressed > self.size:
            # Members sharing their compressed data (a "zip bomb" of overlapping entries).
            raise self._error(name, "its compressed data overlaps other members or lies "
                                    "outside the file")
        return info

    def metadata(self, name, missing):
        """The JSON object of member ``name`` (at most :data:`MAX_METADATA_BYTES`).

        Parameters
        ----------
        name : str
            Member name.
        missing : str
            Message when there is no such member.

        Returns
        -------
        JSON value
        """
        info = self._info(name, missing)
        if info.file_size > MAX_METADATA_BYTES:
            raise self._error(name, f"{info.file_size:,} bytes; metadata of at most "
                                    f"{MAX_METADATA_BYTES:,} bytes is read")
        try:
            with self._zip.open(info) as handle:
                raw = handle.read(MAX_METADATA_BYTES + 1)
            meta = json.loads(raw.decode("utf-8"))
        except RecursionError:
            raise self._error(name, "JSON nested too deeply") from None
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError) as exc:
            raise self._error(name, f"unreadable ({_reason(exc)})") from None
        if not check_depth(meta):
            raise self._error(name, f"JSON nested more than {MAX_DEPTH} levels deep")
        return meta

    def check_array(self, key, scalar=False):
        """Check the header of the array member of ``key`` against its sizes.

        Parameters
        ----------
        key : str
            Array key (the member is ``<key>.npy``).
        scalar : bool
            The array must be 0-d.
        """
        name = f"{key}.npy"
        if key in self._members:
            raise self._error(name, "referred to more than once")
        info = self._info(name, f"member {name} is missing (the metadata refers to it)")
        try:
            with self._zip.open(info) as handle:
                version = np.lib.format.read_magic(handle)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
                else:
                    raise ValueError(f".npy format version {version} is not supported")
                header = handle.tell()
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError,
                TypeError, SyntaxError, OverflowError) as exc:
            raise self._error(name, f"not a valid .npy array ({_reason(exc)})") from None
        if dtype.hasobject or dtype.kind not in _KINDS or dtype.fields is not None:
            raise self._error(name, f"dtype {dtype} is not stored in model files (no "
                                    "object, complex, structured or time arrays)")
        if dtype.itemsize == 0:
            raise self._error(name, f"dtype {dtype} has empty items")
        if len(shape) > 32 or any(d < 0 or d > _MAX_DIM for d in shape):
            raise self._error(name, f"invalid shape {shape}")
        if scalar and shape != ():
            raise self._error(name, f"a scalar was expected, the member holds shape {shape}")
        count = math.prod(shape)
        expected = header + count * dtype.itemsize
        if expected != info.file_size:
            raise self._error(name, f"declares shape {shape} of {dtype} ({expected:,} bytes "
                                    f"with its header) but holds {info.file_size:,} bytes")
        self._members[key] = _Member(info, shape, fortran, dtype, count)

    def array(self, key):
        """The array stored under ``key``, read into its final buffer without pickle.

        Parameters
        ----------
        key : str

        Returns
        -------
        ndarray
        """
        if key not in self._members:
            self.check_array(key)
        member = self._members[key]
        name = f"{key}.npy"
        flat = np.empty(member.count, dtype=member.dtype)
        target = memoryview(flat.view(np.uint8))
        nbytes = len(target)
        try:
            with self._zip.open(member.info) as handle:
                handle.seek(member.info.file_size - nbytes)  # past the checked header
                done = 0
                while done < nbytes:
                    # read + copy: ZipExtFile has no fast readinto.
                    chunk = handle.read(min(_CHUNK, nbytes - done))
                    if not chunk:
                        raise EOFError("data ends early")
                    target[done:done + len(chunk)] = chunk
                    done += len(chunk)
            if member.fortran:
                return flat.reshape(member.shape[::-1]).transpose()
            return flat.reshape(member.shape)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError) as exc:
            raise self._error(name, f"corrupt array data ({_reason(exc)})") from None


def _reason(exc):
    """The message of an exception, for reports (its strerror for OS errors)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
