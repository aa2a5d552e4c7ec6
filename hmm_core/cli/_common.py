"""Helpers shared by the ``hmm-core`` commands: model files, alphabets, data, memory, reports."""

from __future__ import annotations

import contextlib
import json
import sys

import numpy as np

from hmm_core.cli._parser import UsageError


def emission_of(model):
    from hmm_core.hmm.higher_order import HigherOrderHMM

    if isinstance(model, HigherOrderHMM):
        model = model._expanded()
    return model._get_emission() if hasattr(model, "_get_emission") else None


def is_hmm(model):
    from hmm_core.hmm.base import BaseHMM
    from hmm_core.hmm.higher_order import HigherOrderHMM
    from hmm_core.semimarkov import SemiMarkovHMM

    return isinstance(model, (BaseHMM, HigherOrderHMM, SemiMarkovHMM))


def load_model(path, need_hmm=False):
    from hmm_core.io.modelfile import load_model, read_user_metadata

    model = load_model(path)
    if need_hmm and not is_hmm(model):
        raise ValueError(f"{path} holds a {type(model).__name__}, which has no hidden "
                         "states; this command needs a hidden Markov model")
    return model, read_user_metadata(path)


def get_alphabet(args, meta, model=None):
    from hmm_core.emissions import CategoricalEmission
    from hmm_core.io.formats import Alphabet

    spec = getattr(args, "alphabet", None)
    unknown = getattr(args, "unknown", "error")
    if spec:
        alphabet = Alphabet.parse(spec, unknown)
    elif meta.get("alphabet"):
        alphabet = Alphabet.from_json(meta["alphabet"], unknown)
    else:
        return None
    emission = None if model is None else emission_of(model)
    if isinstance(emission, CategoricalEmission):
        n_symbols = emission.n_features
    else:  # an observed Markov chain: its states are the symbols
        n_symbols = getattr(model, "n_states_", None)
    if n_symbols is not None and len(alphabet) != n_symbols:
        raise ValueError(f"the alphabet {alphabet.name or ','.join(alphabet.symbols)} has "
                         f"{len(alphabet)} symbols but the model "
                         f"{'emits' if emission is not None else 'has'} {n_symbols}")
    return alphabet


def _columns(args, meta):
    if args.columns:
        return [c.strip() for c in args.columns.split(",")]
    return meta.get("columns")


def data_files(args):
    """The data files of a command: its arguments, a glob the shell left alone expanded.

    A pattern that matches nothing is kept as it is, so that reading it says
    the file does not exist.
    """
    import glob
    import os

    files = []
    for name in args.data:
        matches = ([] if os.path.exists(name) or not glob.has_magic(name)
                   else sorted(glob.glob(name)))
        files.extend(matches or [name])
    return files


def data_label(args):
    """The data files, for messages and summaries."""
    files = data_files(args)
    return files[0] if len(files) == 1 else ", ".join(files)


class _IdCheck:
    """Refuses a sequence id that an earlier data file used too (ids are kept per file)."""

    def __init__(self):
        self.owner = {}

    def add(self, ids, index, path):
        """Record the ids of the ``index``-th file, ``path``."""
        for name in ids:
            first, first_path = self.owner.setdefault(name, (index, path))
            if first != index:
                raise ValueError(f"the sequence id {name!r} is in both {first_path} and "
                                 f"{path} (data files {first + 1} and {index + 1}): ids are "
                                 "kept as they are in each file, so they must differ "
                                 "between files (or run the files separately)")


def read_data(args, meta, alphabet):
    """The observations of every data file, concatenated in order."""
    from hmm_core.io.formats import Observations, read_observations

    parts, check = [], _IdCheck()
    for index, path in enumerate(data_files(args)):
        obs = read_observations(path, args.format, alphabet,
                                args.id_column or meta.get("id_column"), _columns(args, meta))
        if parts and obs.X.shape[1:] != parts[0].X.shape[1:]:
            raise ValueError(f"{path} has {obs.X.shape[1]} feature column(s) but "
                             f"{data_files(args)[0]} has {parts[0].X.shape[1]}")
        if parts and obs.columns != parts[0].columns:
            raise ValueError(f"{path} has columns {obs.columns} but {data_files(args)[0]} "
                             f"has {parts[0].columns}")
        check.add(obs.ids, index, path)
        parts.append(obs)
    if len(parts) == 1:
        return parts[0]
    return Observations([i for p in parts for i in p.ids], np.concatenate([p.X for p in parts]),
                        np.concatenate([p.lengths for p in parts]), parts[0].columns)


def set_threads(model, n_threads):
    if n_threads is None:
        return
    if n_threads < 1:
        raise UsageError("--threads must be at least 1")
    target = getattr(model, "model", model)  # HigherOrderHMM: its template
    if hasattr(target, "n_threads"):
        target.n_threads = n_threads


def write_json(handle, data):
    json.dump(data, handle, indent=2, allow_nan=True)
    handle.write("\n")


class OutOfMemory(MemoryError):
    """Memory ran out; the message says where, and what would help."""


@contextlib.contextmanager
def memory_hint(hint):
    """Turn a :class:`MemoryError` into an :class:`OutOfMemory` saying ``hint``.

    The innermost hint wins: it knows best what ran out.
    """
    try:
        yield
    except OutOfMemory:
        raise
    except MemoryError as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise OutOfMemory(f"{hint}{detail}") from None


def finite_or_none(value):
    return None if not np.isfinite(value) else float(value)


def report(args, message):
    if not args.quiet:
        print(f"hmm-core: {message}", file=sys.stderr)


def data_chunks(args, meta, model, alphabet):
    """Chunks of the data files, their total size and the frames a chunk holds at most.

    See :func:`hmm_core.cli._batch.iter_chunks`; the files are read in turn
    (a chunk never spans two files) and running out of memory while reading
    says what would help.
    """
    from hmm_core.cli._batch import chunk_frames, iter_chunks, streamed
    from hmm_core.io.formats import detect_format

    n_states = getattr(model, "n_components", None) or getattr(model, "n_states_", 1)
    try:
        max_frames = chunk_frames(n_states, args.chunk_size)
    except ValueError as exc:
        raise UsageError(f"--chunk-size: {exc}") from None
    files, opened, total, whole = data_files(args), [], 0, set()
    id_column = args.id_column or meta.get("id_column")
    for path in files:
        one = argparse_copy(args, data=[path])
        grouped = streamed(path, args.format, id_column)
        if not grouped:
            whole.add(path)
        chunks, size = iter_chunks(path, args.format, alphabet, max_frames,
                                   lambda one=one: read_data(one, meta, alphabet),
                                   id_column, _columns(args, meta), grouped)
        opened.append((path, chunks, total))
        total += size

    def hint(path):
        fmt = detect_format(path, args.format)
        if path in whole:
            return (f"while reading {path}: the rows of each id are not together, so the "
                    f"{fmt.upper()} table is read whole; sort it by id or split the file")
        unit = "record" if fmt in ("fasta", "fastq") else "sequence"
        return (f"while reading {path}: lower --chunk-size (now {max_frames:,} frames; "
                f"a chunk holds at least one whole {unit})")

    def reading():
        check = _IdCheck() if len(opened) > 1 else None  # one file: its ids as they are
        for index, (path, chunks, before) in enumerate(opened):
            with memory_hint(hint(path)):
                for chunk, position in chunks:
                    if check is not None:
                        check.add(chunk.ids, index, path)
                    yield chunk, before + position

    return reading(), total, max_frames


def argparse_copy(args, **changes):
    """A copy of parsed arguments with some changed."""
    import argparse

    return argparse.Namespace(**{**vars(args), **changes})


def stream_chunks(chunks, total, args, label, process, hint):
    """Process every chunk; a data error names the data and the model.

    Running out of memory while processing a chunk reports ``hint``.
    """
    from hmm_core.cli._batch import stream
    from hmm_core.io.formats import FormatError

    def checked(chunk):
        try:
            with memory_hint(hint):
                process(chunk)
        except FormatError:
            raise
        except ValueError as exc:
            raise ValueError(f"{data_label(args)} does not fit the model {args.model}: "
                             f"{exc}") from None

    return stream(chunks, total, checked, sys.stderr.isatty() and not args.quiet, label)


def report_throughput(args, verb, stats, model):
    from hmm_core.kernels.config import effective_n_threads

    target = getattr(model, "model", model)
    threads = effective_n_threads(getattr(target, "n_threads", None))
    seconds = max(stats["seconds"], 1e-9)
    report(args, f"{verb} {stats['n_sequences']:,} sequences ({stats['n_frames']:,} frames) "
                  f"in {stats['seconds']:.3f} s: {stats['n_frames'] / seconds:,.0f} frames/s, "
                  f"{stats['n_sequences'] / seconds:,.1f} sequences/s, {threads} threads")
