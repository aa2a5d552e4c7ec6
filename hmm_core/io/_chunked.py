"""Tables and NumPy arrays read in chunks of whole sequences, with bounded memory.

The chunked counterparts of :func:`~hmm_core.io.formats.read_table` and
:func:`~hmm_core.io.formats.read_arrays`: same parsing and validation, same
error messages, but the file is read a chunk at a time. Like
:func:`~hmm_core.io.formats.iter_fasta_chunks`, a chunk holds whole
sequences of at most ``max_frames`` frames in all, and a longer sequence is a
chunk of its own (memory is bounded by the larger of ``max_frames`` and the
longest sequence).

- A table's sequences are runs of rows with one id, so streaming needs the
  rows of each id together; an id that comes back after another one started
  raises :class:`FormatError` (:func:`table_grouped` tells beforehand).
- ``.npy`` is memory-mapped; the ``X`` of ``.npz`` is read row block by row
  block from its zip member (stored or deflated), ``lengths`` and ``ids``
  whole. A Fortran-ordered ``X`` cannot be read by rows and is read whole.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import zipfile
import zlib

import numpy as np

from hmm_core.io.formats import (
    _MISSING_TOKENS,
    FormatError,
    Observations,
    _column_index,
    _not_a_number,
    _number,
    detect_format,
)

__all__ = ["iter_array_chunks", "iter_table_chunks", "table_grouped"]

_UNREADABLE = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


# ------------------------------------------------------------------- tables
def _rows(path, delimiter):
    """Non-empty rows of a table and the bytes read so far, lazily."""
    raw = open(path, "rb")  # noqa: SIM115 - closed below
    try:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        try:
            for row in csv.reader(text, delimiter=delimiter):
                if row:
                    yield row, raw.tell()
        except UnicodeDecodeError as exc:
            raise FormatError(f"{path}: not a UTF-8 text table ({exc.reason} at byte "
                              f"{exc.start})") from None
        except csv.Error as exc:
            raise FormatError(f"{path}: malformed table ({exc})") from None
    finally:
        raw.close()


def _delimiter(path, delimiter):
    if delimiter is None:
        return "\t" if detect_format(path) == "tsv" else ","
    return delimiter


class _Layout:
    """Header, id column and feature columns of a table, from its first row."""

    def __init__(self, path, first, id_column, columns, alphabet):
        self.path, self.alphabet = path, alphabet
        id_probe = _column_index(id_column, first, path) if id_column is not None else None
        self.header = None
        try:
            [self.parse(c, "", strict=True) for i, c in enumerate(first) if i != id_probe]
        except ValueError:
            self.header = [c.strip() for c in first]  # the first row is not data
        header = self.header
        self.width = len(header) if header is not None else len(first)
        self.id_index = _column_index(id_column, header, path)
        if columns:
            self.feature = [_column_index(c, header, path) for c in columns]
        else:
            self.feature = [i for i in range(self.width) if i != self.id_index]
        self.names = [header[i] for i in self.feature] if header is not None else None
        self.offset = 2 if header is not None else 1

    def check(self):
        if not self.feature or max(self.feature + [self.id_index or 0]) >= self.width:
            raise FormatError(f"{self.path}: column index out of range (the table has "
                              f"{self.width} columns)")

    def parse(self, cell, where, strict=False):
        alphabet = self.alphabet
        if alphabet is None:
            return _number(cell)
        if strict:  # header detection: any unknown token means "not data"
            if cell.strip().upper() not in alphabet._index:
                raise ValueError(cell)
        elif cell.strip().lower() in _MISSING_TOKENS and alphabet.unknown == "missing":
            return -1
        return alphabet.encode_token(cell, where)

    def frame(self, row, r):
        path, line = self.path, r + self.offset
        if len(row) != self.width:
            raise FormatError(f"{path}, line {line}: {len(row)} fields, expected "
                              f"{self.width}")
        values = []
        for i in self.feature:
            try:
                values.append(self.parse(row[i], f"{path}, line {line}"))
            except ValueError as exc:
                if isinstance(exc, FormatError):
                    raise
                raise FormatError(_not_a_number(path, line, row[i], i, self.header,
                                                self.feature)) from None
        return values


def iter_table_chunks(path, max_frames, id_column=None, columns=None, alphabet=None,
                      delimiter=None):
    """Stream a CSV/TSV table as chunks of whole sequences of at most ``max_frames`` rows.

    Parameters
    ----------
    path : str or path-like
    max_frames : int
    id_column, columns, alphabet, delimiter : optional
        As for :func:`~hmm_core.io.formats.read_table`.

    Yields
    ------
    chunk : Observations
    position : int
        Bytes of the file read so far.

    Raises
    ------
    FormatError
        As :func:`~hmm_core.io.formats.read_table`, and when the rows of an id
        are not together.
    """
    path = os.fspath(path)
    delimiter = _delimiter(path, delimiter)
    dtype = np.int64 if alphabet is not None else np.float64
    rows = _rows(path, delimiter)
    first = next(rows, None)
    if first is None:
        raise FormatError(f"{path}: the table is empty")
    layout = _Layout(path, first[0], id_column, columns, alphabet)
    pending = [] if layout.header is not None else [first]
    stem = os.path.splitext(os.path.basename(path))[0]
    ids, blocks, total = [], [], 0
    done, current, frames, r, position = set(), None, [], 0, first[1]

    def finish():
        return np.array(frames, dtype=dtype).reshape(len(frames), len(layout.feature))

    def chunk():
        lengths = np.array([len(b) for b in blocks], dtype=np.int64)
        return Observations(list(ids), np.concatenate(blocks), lengths, layout.names)

    checked = False
    for row, position in itertools.chain(pending, rows):
        if not checked:
            layout.check()
            checked = True
        values = layout.frame(row, r)
        key = row[layout.id_index] if layout.id_index is not None else stem
        r += 1
        if key != current:
            if current is not None:
                done.add(current)
                block = finish()
                if blocks and total + len(block) > max_frames:
                    yield chunk(), position
                    ids, blocks, total = [], [], 0
                ids.append(current)
                blocks.append(block)
                total += len(block)
            if key in done:
                raise FormatError(
                    f"{path}, line {r - 1 + layout.offset}: rows of sequence {key!r} come "
                    "back after another sequence started; reading a table in chunks needs "
                    "the rows of each id together (sort the file by the id column, "
                    "keeping row order within an id)")
            current, frames = key, []
        frames.append(values)
    if current is None:
        raise FormatError(f"{path}: the table has a header but no data row")
    block = finish()
    if blocks and total + len(block) > max_frames:
        yield chunk(), position
        ids, blocks = [], []
    ids.append(current)
    blocks.append(block)
    yield chunk(), os.path.getsize(path)


def table_grouped(path, id_column=None, delimiter=None):
    """Whether the rows of each id of a table are together (one pass over the ids only).

    Parameters
    ----------
    path : str or path-like
    id_column : str or int, optional
    delimiter : str, optional

    Returns
    -------
    bool
        True without an id column; False also when the table cannot be read
        (the full reader then reports why).
    """
    if id_column is None:
        return True
    path = os.fspath(path)
    try:
        rows = _rows(path, _delimiter(path, delimiter))
        first = next(rows, None)
        if first is None:
            return False
        try:
            index = _column_index(id_column, first[0], path)
        except FormatError:
            return False
        done, current = set(), None
        for row, _ in rows:
            key = row[index] if index < len(row) else None
            if key != current:
                if key in done:
                    return False
                done.add(current)
                current = key
        return True
    except FormatError:
        return False


# ------------------------------------------------------------------- arrays
def _npz_header(member, path):
    """Shape, Fortran order and dtype of an ``.npy`` stream, leaving it at the data."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(member)
        if version == (1, 0):
            return fmt.read_array_header_1_0(member)
        if version == (2, 0):
            return fmt.read_array_header_2_0(member)
    except _UNREADABLE as exc:
        raise FormatError(f"{path}: not a readable NumPy file ({exc})") from None
    return None


def _read_rows(member, n, row_shape, dtype, path):
    out = np.empty((n, *row_shape), dtype=dtype)
    view = memoryview(out.reshape(-1).view(np.uint8)) if out.size else memoryview(b"")
    got = 0
    try:
        while got < len(view):
            read = member.readinto(view[got:])
            if not read:
                break
            got += read
    except _UNREADABLE as exc:
        raise FormatError(f"{path}: not a readable NumPy file ({exc})") from None
    if got < len(view):
        raise FormatError(f"{path}: X is truncated (the file ends inside its data)")
    return out


def _check(path, shape, lengths, ids, stem):
    """The validation of ``read_arrays``: shapes, lengths, ids."""
    if len(shape) == 1:
        shape = (shape[0], 1)
    if len(shape) != 2 or shape[0] == 0:
        raise FormatError(f"{path}: X must be a non-empty (n_samples, n_features) array, "
                          f"got shape {tuple(shape)}")
    if lengths is None:
        lengths = np.array([shape[0]], dtype=np.int64)
    lengths = np.asarray(lengths).ravel()
    if not np.issubdtype(lengths.dtype, np.integer) or np.any(lengths <= 0) or \
            lengths.sum() != shape[0]:
        raise FormatError(f"{path}: lengths must be positive integers summing to "
                          f"{shape[0]}")
    if ids is None:
        ids = [stem] if lengths.size == 1 else [f"{stem}_{i}" for i in range(lengths.size)]
    if len(ids) != lengths.size:
        raise FormatError(f"{path}: {len(ids)} ids for {lengths.size} sequences")
    return lengths.astype(np.int64), ids


def _groups(lengths, max_frames):
    """Sequence ranges ``[first, last)`` of the chunks, as the whole-file split makes them."""
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    first, n_seq = 0, len(lengths)
    while first < n_seq:
        last = int(np.searchsorted(offsets, offsets[first] + max_frames, "right")) - 1
        last = min(max(last, first + 1), n_seq)
        yield first, last, offsets
        first = last


def iter_array_chunks(path, max_frames):
    """Stream ``.npy``/``.npz`` observations as chunks of whole sequences.

    Parameters
    ----------
    path : str or path-like
    max_frames : int

    Yields
    ------
    chunk : Observations
    position : int
        Approximate bytes of the file read so far.
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    if not zipfile.is_zipfile(path):
        try:
            X = np.load(path, mmap_mode="r", allow_pickle=False)
        except _UNREADABLE as exc:
            raise FormatError(f"{path}: not a readable NumPy file ({exc})") from None
        if not isinstance(X, np.ndarray):
            raise FormatError(f"{path}: not a readable NumPy file")
        lengths, ids = _check(path, X.shape, None, None, stem)
        yield Observations(ids, X.reshape(len(X), -1), lengths, None), size
        return
    yield from _npz_chunks(path, max_frames, size, stem)


def _npz_chunks(path, max_frames, size, stem):
    try:
        archive = zipfile.ZipFile(path)
    except _UNREADABLE as exc:
        raise FormatError(f"{path}: not a readable NumPy file ({exc})") from None
    with archive:
        names = {n[:-4] if n.endswith(".npy") else n: n for n in archive.namelist()}
        if "metadata.json" in names:
            raise FormatError(f"{path} is an hmm_core model file, not data")
        data = [k for k in names if k not in ("lengths", "ids")]
        key = "X" if "X" in names else (data[0] if len(data) == 1 else None)
        if key is None:
            raise FormatError(f"{path}: expected an array named 'X' (found "
                              f"{sorted(names)})")
        try:
            with np.load(path, allow_pickle=False) as small:
                lengths = small["lengths"] if "lengths" in names else None
                ids = [str(i) for i in small["ids"]] if "ids" in names else None
        except _UNREADABLE as exc:
            raise FormatError(f"{path}: not a readable NumPy file ({exc})") from None
        try:
            member = archive.open(names[key])
        except _UNREADABLE as exc:
            raise FormatError(f"{path}: not a readable NumPy file ({exc})") from None
        with member:
            header = _npz_header(member, path)
            if header is None or header[1] or header[2].hasobject:
                whole = _whole_member(path, key)  # rare layouts: read it whole
                lengths, ids = _check(path, whole.shape, lengths, ids, stem)
                X = whole.reshape(len(whole), -1)
                for first, last, offsets in _groups(lengths, max_frames):
                    yield (Observations(ids[first:last], X[offsets[first]:offsets[last]],
                                        lengths[first:last]),
                           int(size * offsets[last] / offsets[-1]))
                return
            shape, _, dtype = header
            lengths, ids = _check(path, shape, lengths, ids, stem)
            for first, last, offsets in _groups(lengths, max_frames):
                n = int(offsets[last] - offsets[first])
                X = _read_rows(member, n, tuple(shape[1:]), dtype, path)
                yield (Observations(ids[first:last], X.reshape(n, -1), lengths[first:last]),
                       int(size * offsets[last] / offsets[-1]))


def _whole_member(path, key):
    try:
        with np.load(path, allow_pickle=False) as loaded:
            return loaded[key]
    except _UNREADABLE as exc:
        raise FormatError(f"{path}: not a readable NumPy file ({exc})") from None
