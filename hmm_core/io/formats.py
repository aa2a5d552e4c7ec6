"""Observation files: FASTA/FASTQ, CSV/TSV and NumPy arrays.

Every reader returns sequences in hmmlearn's layout: the frames of all
sequences concatenated in ``X`` (n_samples, n_features), their ``lengths``,
and one id per sequence.

- FASTA and FASTQ (optionally gzip-compressed) hold symbol sequences, mapped
  to integers ``0..n-1`` by an :class:`Alphabet` (DNA, RNA, protein or a
  custom list, case-insensitive). :func:`iter_fasta_chunks` streams a file
  of any size in chunks of bounded size.
- CSV/TSV tables hold one sequence per file, or several with a sequence-id
  column. The first row is a header when it cannot be read as data.
- ``.npy`` holds one sequence; ``.npz`` holds ``X`` and optionally
  ``lengths`` and ``ids``. Both are read with ``allow_pickle=False``.

Malformed input raises :class:`FormatError` (a ``ValueError``) naming the
file and line.
"""

from __future__ import annotations

import csv
import gzip
import os
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from hmm_core.io._alphabet import ALPHABETS, Alphabet, FormatError

__all__ = ["ALPHABETS", "Alphabet", "FormatError", "Observations", "Record",
           "detect_format", "iter_fasta_chunks", "read_arrays", "read_fasta",
           "read_observations", "read_table", "write_fasta"]


_EXTENSIONS = {".fa": "fasta", ".fasta": "fasta", ".fna": "fasta", ".ffn": "fasta",
               ".faa": "fasta", ".frn": "fasta", ".fas": "fasta", ".fq": "fastq",
               ".fastq": "fastq", ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
               ".txt": "tsv", ".npy": "npy", ".npz": "npz"}
_MISSING_TOKENS = {"", "na", "nan", "null", "none"}


class Record(NamedTuple):
    """One FASTA/FASTQ record.

    Parameters
    ----------
    id : str
        The record's id (the header up to the first space).
    sequence : bytes
        Its raw symbols.
    line : int
        Line number of its header (1-based).
    """

    id: str
    sequence: bytes
    line: int


class Observations(NamedTuple):
    """Sequences read from a file.

    Parameters
    ----------
    ids : list of str
        One id per sequence.
    X : ndarray of shape (n_samples, n_features)
        The concatenated observations.
    lengths : ndarray of int64
        Length of each sequence.
    columns : list of str or None
        Feature names (tables with a header).
    """

    ids: list
    X: np.ndarray
    lengths: np.ndarray
    columns: list | None = None


# ---------------------------------------------------------------- detection
def _open_binary(path):
    """Open a file for reading bytes, decompressing gzip by its magic number."""
    handle = open(path, "rb")  # noqa: SIM115 - returned to the caller
    if handle.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle, mode="rb"), handle
    return handle, handle


def detect_format(path, fmt=None):
    """File format from ``fmt`` or the extension (``.gz`` stripped).

    Parameters
    ----------
    path : str or path-like
    fmt : str, optional
        One of ``fasta``, ``fastq``, ``csv``, ``tsv``, ``npy``, ``npz``.

    Returns
    -------
    str
    """
    if fmt is not None:
        if fmt not in set(_EXTENSIONS.values()):
            raise ValueError(f"unknown format {fmt!r}; choose from "
                             f"{sorted(set(_EXTENSIONS.values()))}")
        return fmt
    name = os.fspath(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    ext = os.path.splitext(name)[1]
    if ext not in _EXTENSIONS:
        raise ValueError(f"{os.fspath(path)}: cannot tell the format from the extension "
                         f"{ext or '(none)'!r}; pass --format")
    return _EXTENSIONS[ext]


# -------------------------------------------------------------------- FASTA
class _RecordReader:
    """Iterator over FASTA/FASTQ records that reports how far it has read."""

    def __init__(self, path, fastq=False):
        self.path = os.fspath(path)
        self.fastq = fastq
        self.size = os.path.getsize(self.path)
        self._stream, self._raw = _open_binary(self.path)
        self._line = 0

    def tell(self):
        """Bytes of the (possibly compressed) file consumed so far."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return 0

    def close(self):
        """Close the file."""
        self._stream.close()
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _error(self, message, line=None):
        line = line or self._line
        return FormatError(f"{self.path}{f', line {line}' if line else ''}: {message}")

    def _header(self, line, marker):
        text = line[1:].decode("utf-8", "replace").strip()
        if not text:
            raise self._error(f"empty header: a record needs an id after {marker!r}")
        return text.split()[0]

    def __iter__(self):
        records = self._fastq() if self.fastq else self._fasta()
        try:
            yield from records
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise self._error(f"the compressed file is truncated or corrupt ({exc})") from None

    def _fasta(self):
        current, start, parts = None, 0, []
        for raw in self._stream:
            self._line += 1
            line = raw.strip()
            if not line or line.startswith(b";"):
                continue
            if line.startswith(b">"):
                if current is not None:
                    yield self._finish(current, parts, start)
                current, start, parts = self._header(line, ">"), self._line, []
            elif current is None:
                raise self._error("expected a FASTA header starting with '>', found "
                                  f"{line[:30].decode('utf-8', 'replace')!r}")
            else:
                parts.append(line)
        if current is None:
            raise FormatError(f"{self.path}: no FASTA record found")
        yield self._finish(current, parts, start)

    def _finish(self, name, parts, line):
        sequence = b"".join(parts).translate(None, b" \t\v\f")
        if not sequence:
            raise self._error(f"record {name!r} has no sequence", line)
        return Record(name, sequence, line)

    def _fastq(self):
        lines = iter(self._stream)
        found = False
        for raw in lines:
            self._line += 1
            header = raw.strip()
            if not header:
                continue
            if not header.startswith(b"@"):
                raise self._error("expected a FASTQ header starting with '@', found "
                                  f"{header[:30].decode('utf-8', 'replace')!r}")
            name, start = self._header(header, "@"), self._line
            block = []
            for raw_next in lines:
                self._line += 1
                block.append(raw_next.strip())
                if len(block) == 3:
                    break
            if len(block) < 3:
                raise self._error(f"record {name!r} is truncated (a FASTQ record has "
                                  "4 lines)", start)
            sequence, plus, quality = block
            if not plus.startswith(b"+"):
                raise self._error(f"record {name!r}: expected a '+' line", start + 2)
            if len(quality) != len(sequence):
                raise self._error(f"record {name!r}: {len(quality)} quality values for "
                                  f"{len(sequence)} symbols", start + 3)
            if not sequence:
                raise self._error(f"record {name!r} has no sequence", start)
            found = True
            yield Record(name, sequence, start)
        if not found:
            raise FormatError(f"{self.path}: no FASTQ record found")


def read_fasta(path, fastq=False):
    """Iterate over the records of a FASTA (or FASTQ) file, gzip or not.

    Parameters
    ----------
    path : str or path-like
    fastq : bool
        Read FASTQ (four lines per record) instead of FASTA.

    Returns
    -------
    iterator of Record
        Consume it fully or close it (``with read_fasta(path) as records``).

    Raises
    ------
    FormatError
        On a malformed record (at the point it is read).
    """
    return _RecordReader(path, fastq)


def _encode_records(records, alphabet, path):
    ids, codes = [], []
    for record in records:
        ids.append(record.id)
        codes.append(alphabet.encode(record.sequence,
                                     f"{path}, record {record.id!r} (line {record.line})"))
    return ids, codes


def _observations(ids, codes, columns=None):
    lengths = np.array([len(c) for c in codes], dtype=np.int64)
    X = np.concatenate(codes)
    return Observations(ids, X.reshape(len(X), -1), lengths, columns)


def iter_fasta_chunks(path, alphabet, max_frames, fastq=False):
    """Stream a FASTA/FASTQ file as encoded chunks of at most ``max_frames`` symbols.

    A chunk holds whole records; a record longer than ``max_frames`` is a
    chunk of its own, so memory is bounded by the larger of ``max_frames``
    and the longest record.

    Parameters
    ----------
    path : str or path-like
    alphabet : Alphabet
    max_frames : int
    fastq : bool

    Yields
    ------
    chunk : Observations
        ``X`` is an (n, 1) int64 column of codes.
    position : int
        Bytes of the file read so far (for progress reports).
    """
    with read_fasta(path, fastq) as reader:
        ids, codes, total = [], [], 0
        for record in reader:
            code = alphabet.encode(record.sequence, f"{reader.path}, record "
                                                    f"{record.id!r} (line {record.line})")
            if codes and total + len(code) > max_frames:
                yield _observations(ids, codes), reader.tell()
                ids, codes, total = [], [], 0
            ids.append(record.id)
            codes.append(code)
            total += len(code)
        if codes:
            yield _observations(ids, codes), reader.size


def write_fasta(handle, ids, sequences, width=60):
    """Write records to a text handle, wrapping lines at ``width`` symbols.

    Parameters
    ----------
    handle : text file
    ids : sequence of str
    sequences : sequence of str
    width : int
    """
    for name, sequence in zip(ids, sequences, strict=True):
        handle.write(f">{name}\n")
        for i in range(0, len(sequence), width):
            handle.write(sequence[i:i + width] + "\n")


# ------------------------------------------------------------------- tables
def _column_index(spec, header, path):
    if spec is None:
        return None
    if header is not None and spec in header:
        return header.index(spec)
    try:
        return int(spec)
    except ValueError:
        names = ", ".join(header or [])
        raise FormatError(f"{path}: no column {spec!r} (columns: {names or 'no header'})")\
            from None


def _not_a_number(path, line, cell, index, header, feature):
    """The message for a cell that is not a number: its column, and how to leave it out."""
    column = f"column {header[index]!r}" if header is not None else f"column {index + 1}"
    others = [header[i] if header is not None else str(i + 1) for i in feature if i != index]
    hint = f" (e.g. --columns {','.join(others)})" if others else ""
    return (f"{path}, line {line}: {cell!r} is not a number ({column}); choose the "
            f"numeric feature columns with --columns{hint} (columns= in the API), or name "
            "a sequence-id column with --id-column")


def _number(text):
    return float("nan") if text.strip().lower() in _MISSING_TOKENS else float(text)


def read_table(path, id_column=None, columns=None, alphabet=None, delimiter=None):
    """Read sequences from a CSV or TSV table, one frame per row.

    Parameters
    ----------
    path : str or path-like
    id_column : str or int, optional
        Column holding the sequence id of each row; rows of one id form a
        sequence (in file order; sequences in order of first appearance).
        Without it the file is one sequence.
    columns : list of str or int, optional
        Feature columns; default all but the id column.
    alphabet : Alphabet, optional
        Read cells as symbols (one feature column) rather than numbers.
    delimiter : str, optional
        Default: tab for ``.tsv``/``.tab``/``.txt``, else comma.

    Returns
    -------
    Observations
        Empty cells and ``NA``/``NaN`` are NaN (numbers) or missing symbols.
    """
    path = os.fspath(path)
    if delimiter is None:
        delimiter = "\t" if detect_format(path) == "tsv" else ","
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle, delimiter=delimiter) if row]
    except UnicodeDecodeError as exc:
        raise FormatError(f"{path}: not a UTF-8 text table ({exc.reason} at byte "
                          f"{exc.start})") from None
    except csv.Error as exc:
        raise FormatError(f"{path}: malformed table ({exc})") from None
    if not rows:
        raise FormatError(f"{path}: the table is empty")

    def parse(cell, where, strict=False):
        if alphabet is None:
            return _number(cell)
        if strict:  # header detection: any unknown token means "not data"
            if cell.strip().upper() not in alphabet._index:
                raise ValueError(cell)
        elif cell.strip().lower() in _MISSING_TOKENS and alphabet.unknown == "missing":
            return -1
        return alphabet.encode_token(cell, where)

    first = rows[0]
    header = None
    id_probe = _column_index(id_column, first, path) if id_column is not None else None
    try:
        [parse(c, "", strict=True) for i, c in enumerate(first) if i != id_probe]
    except ValueError:
        header = [c.strip() for c in first]  # the first row is not data
        rows = rows[1:]
    if not rows:
        raise FormatError(f"{path}: the table has a header but no data row")
    width = len(header) if header is not None else len(rows[0])
    id_index = _column_index(id_column, header, path)
    if columns:
        feature = [_column_index(c, header, path) for c in columns]
    else:
        feature = [i for i in range(width) if i != id_index]
    if not feature or max(feature + [id_index or 0]) >= width:
        raise FormatError(f"{path}: column index out of range (the table has {width} "
                          "columns)")
    data = np.empty((len(rows), len(feature)),
                    dtype=np.int64 if alphabet is not None else np.float64)
    offset = 2 if header is not None else 1
    for r, row in enumerate(rows):
        if len(row) != width:
            raise FormatError(f"{path}, line {r + offset}: {len(row)} fields, expected "
                              f"{width}")
        for k, i in enumerate(feature):
            try:
                data[r, k] = parse(row[i], f"{path}, line {r + offset}")
            except ValueError as exc:
                if isinstance(exc, FormatError):
                    raise
                raise FormatError(_not_a_number(path, r + offset, row[i], i, header,
                                                feature)) from None
    names = [header[i] for i in feature] if header is not None else None
    if id_index is None:
        return Observations([os.path.splitext(os.path.basename(path))[0]], data,
                            np.array([len(rows)], dtype=np.int64), names)
    keys = [row[id_index] for row in rows]
    order, first_seen = {}, []
    for key in keys:
        if key not in order:
            order[key] = len(order)
            first_seen.append(key)
    group = np.array([order[k] for k in keys])
    perm = np.argsort(group, kind="stable")  # keep file order within a sequence
    lengths = np.bincount(group, minlength=len(order)).astype(np.int64)
    return Observations(first_seen, data[perm], lengths, names)


# ------------------------------------------------------------------- arrays
def read_arrays(path):
    """Read ``.npy`` (one sequence) or ``.npz`` (``X``, ``lengths``, ``ids``).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Observations
    """
    path = os.fspath(path)
    unreadable = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)
    try:
        loaded = np.load(path, allow_pickle=False)
    except unreadable as exc:
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise FormatError(f"{path}: not a readable NumPy file ({exc})") from None
    stem = os.path.splitext(os.path.basename(path))[0]
    if isinstance(loaded, np.ndarray):
        X, lengths, ids = loaded, None, [stem]
    else:
        with loaded:
            files = set(loaded.files)
            if "metadata.json" in files:
                raise FormatError(f"{path} is an hmm_core model file, not data")
            data = [k for k in files if k not in ("lengths", "ids")]
            key = "X" if "X" in files else (data[0] if len(data) == 1 else None)
            if key is None:
                raise FormatError(f"{path}: expected an array named 'X' (found "
                                  f"{sorted(files)})")
            try:
                X = loaded[key]
                lengths = loaded["lengths"] if "lengths" in files else None
                ids = [str(i) for i in loaded["ids"]] if "ids" in files else None
            except unreadable as exc:
                raise FormatError(f"{path}: not a readable NumPy file ({exc})") from None
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] == 0:
        raise FormatError(f"{path}: X must be a non-empty (n_samples, n_features) array, "
                          f"got shape {X.shape}")
    if lengths is None:
        lengths = np.array([X.shape[0]], dtype=np.int64)
    lengths = np.asarray(lengths).ravel()
    if not np.issubdtype(lengths.dtype, np.integer) or np.any(lengths <= 0) or \
            lengths.sum() != X.shape[0]:
        raise FormatError(f"{path}: lengths must be positive integers summing to "
                          f"{X.shape[0]}")
    if ids is None:
        ids = [stem] if lengths.size == 1 else [f"{stem}_{i}" for i in range(lengths.size)]
    if len(ids) != lengths.size:
        raise FormatError(f"{path}: {len(ids)} ids for {lengths.size} sequences")
    return Observations(ids, X, lengths.astype(np.int64), None)


def read_observations(path, fmt=None, alphabet=None, id_column=None, columns=None):
    """Read a whole observation file in any supported format.

    Parameters
    ----------
    path : str or path-like
    fmt : str, optional
        Format; default from the extension (see :func:`detect_format`).
    alphabet : Alphabet, optional
        Required for FASTA/FASTQ; for tables, read symbols instead of numbers.
    id_column, columns : optional
        See :func:`read_table`.

    Returns
    -------
    Observations

    Examples
    --------
    >>> import os, tempfile
    >>> from hmm_core.formats import Alphabet, read_observations
    >>> path = os.path.join(tempfile.mkdtemp(), "reads.fa")
    >>> with open(path, "w") as handle:
    ...     _ = handle.write(">r1 first read\\nACGT\\nac\\n>r2\\nGGN\\n")
    >>> obs = read_observations(path, alphabet=Alphabet.parse("DNA", unknown="missing"))
    >>> obs.ids, obs.lengths.tolist(), obs.X[:, 0].tolist()
    (['r1', 'r2'], [6, 3], [0, 1, 2, 3, 0, 1, 2, 2, -1])
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {os.fspath(path)!r}")
    fmt = detect_format(path, fmt)
    if fmt in ("fasta", "fastq"):
        if alphabet is None:
            raise ValueError(f"{os.fspath(path)}: reading {fmt.upper()} needs an alphabet "
                             "(--alphabet DNA, RNA, protein or a symbol list)")
        with read_fasta(path, fmt == "fastq") as records:
            ids, codes = _encode_records(records, alphabet, os.fspath(path))
        return _observations(ids, codes)
    if fmt in ("csv", "tsv"):
        return read_table(path, id_column, columns, alphabet,
                          "\t" if fmt == "tsv" else ",")
    return read_arrays(path)
