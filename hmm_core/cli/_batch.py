"""Batch processing for the command line: chunks of bounded size, read ahead
in a thread while the kernels work, with a progress bar and throughput.

Every format is streamed: FASTA/FASTQ record by record, CSV/TSV row by row,
``.npy`` memory-mapped and the ``X`` of ``.npz`` row block by row block, so a
file larger than memory is processed in chunks of about ``max_frames`` frames
of whole sequences. A table whose rows of one id are not together is read
whole and then split the same way (its sequences are then in order of first
appearance, as :func:`~hmm_core.io.formats.read_table` makes them).
Within a chunk the kernels parallelise over sequences; reading the next chunk
overlaps with them (the kernels release the GIL).
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from hmm_core.io._chunked import iter_array_chunks, iter_table_chunks, table_grouped
from hmm_core.io.formats import Observations, detect_format, iter_fasta_chunks

__all__ = ["Progress", "chunk_frames", "iter_chunks", "segments", "stream", "streamed"]

# Memory budget of one chunk: the (frames, states) float arrays dominate.
CHUNK_BYTES = 64 << 20


def chunk_frames(n_states, chunk_size=None):
    """Frames per chunk: ``chunk_size``, or about :data:`CHUNK_BYTES` of work."""
    if chunk_size is not None:
        if chunk_size < 1:
            raise ValueError("the chunk size must be at least 1 frame")
        return int(chunk_size)
    return max(1 << 16, CHUNK_BYTES // (8 * (int(n_states) + 2)))


class Progress:
    """A one-line progress bar on stderr; does nothing unless ``enabled``.

    Parameters
    ----------
    total : int
        Bytes of input.
    enabled : bool
        Draw the bar (the caller passes ``stderr.isatty() and not quiet``).
    label : str
    """

    def __init__(self, total, enabled, label):
        self.total, self.enabled, self.label = total, enabled, label
        self.start = self._last = time.perf_counter()

    def update(self, position, n_seq, n_frames):
        """Redraw (at most ten times a second) after ``position`` bytes."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < 0.1:
            return
        self._last = now
        frac = min(position / self.total, 1.0) if self.total else 0.0
        rate = n_frames / max(now - self.start, 1e-9)
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\r{self.label} {100 * frac:5.1f}% |{bar:<30}| {n_seq:,} seqs, "
                         f"{rate:,.0f} frames/s ")
        sys.stderr.flush()

    def close(self):
        """Erase the bar."""
        if self.enabled:
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()


def streamed(path, fmt, id_column=None):
    """Whether :func:`iter_chunks` streams a file (all but tables with ids spread out)."""
    fmt = detect_format(path, fmt)
    if fmt not in ("csv", "tsv"):
        return True
    return table_grouped(path, id_column, "\t" if fmt == "tsv" else ",")


def iter_chunks(path, fmt, alphabet, max_frames, read_whole, id_column=None, columns=None,
                grouped=None):
    """Chunks of whole sequences of about ``max_frames`` frames.

    Parameters
    ----------
    path : str
    fmt : str or None
        Format (default from the extension).
    alphabet : Alphabet or None
        Needed for FASTA/FASTQ, which are streamed.
    max_frames : int
    read_whole : callable
        Returns the :class:`~hmm_core.formats.Observations` of the whole
        file; used for tables whose rows of one id are not together.
    id_column, columns : optional
        Of a table, as for :func:`~hmm_core.io.formats.read_table`.
    grouped : bool, optional
        Whether the table's rows of one id are together, if known.

    Returns
    -------
    chunks : iterator of (Observations, int)
        Each chunk and the bytes of the file consumed so far.
    total : int
        Size of the file in bytes.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    size = os.path.getsize(path)
    fmt = detect_format(path, fmt)
    if fmt in ("fasta", "fastq"):
        if alphabet is None:
            raise ValueError(f"{path}: reading {fmt.upper()} needs an alphabet: pass "
                             "--alphabet, or fit the model from FASTA with hmm-core fit")
        return iter_fasta_chunks(path, alphabet, max_frames, fmt == "fastq"), size
    if fmt in ("npy", "npz"):
        return iter_array_chunks(path, max_frames), size
    delimiter = "\t" if fmt == "tsv" else ","
    if grouped is None:
        grouped = table_grouped(path, id_column, delimiter)
    if grouped:
        return iter_table_chunks(path, max_frames, id_column, columns, alphabet,
                                 delimiter), size

    def split():
        obs = read_whole()
        offsets = np.concatenate(([0], np.cumsum(obs.lengths)))
        first, n_seq = 0, len(obs.lengths)
        while first < n_seq:
            last = int(np.searchsorted(offsets, offsets[first] + max_frames, "right")) - 1
            last = min(max(last, first + 1), n_seq)
            rows = slice(offsets[first], offsets[last])
            yield (Observations(obs.ids[first:last], obs.X[rows], obs.lengths[first:last]),
                   int(size * offsets[last] / offsets[-1]))
            first = last

    return split(), size


def stream(chunks, total, process, show_progress, label):
    """Run ``process(chunk)`` on every chunk while the next one is read in a thread.

    At most two chunks are alive at once, so memory stays bounded.

    Returns
    -------
    dict
        ``n_sequences``, ``n_frames``, ``seconds``, ``frames_per_second``.
    """
    progress = Progress(total, show_progress, label)
    n_seq = n_frames = 0
    start = time.perf_counter()
    iterator = iter(chunks)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, iterator, None)
        try:
            while True:
                item = pending.result()
                if item is None:
                    break
                pending = pool.submit(next, iterator, None)  # overlap reading and kernels
                chunk, position = item
                process(chunk)
                n_seq += len(chunk.ids)
                n_frames += int(chunk.lengths.sum())
                progress.update(position, n_seq, n_frames)
                del chunk, item  # free it before the chunk after next is read
        finally:
            progress.close()
            pending.cancel()
    seconds = time.perf_counter() - start
    return {"n_sequences": n_seq, "n_frames": n_frames, "seconds": seconds,
            "frames_per_second": n_frames / seconds if seconds > 0 else None}


def segments(path, lengths):
    """Runs of one state in concatenated paths.

    Parameters
    ----------
    path : ndarray of int, shape (n_samples,)
    lengths : ndarray of int

    Returns
    -------
    sequence, start, end, state : ndarray
        Sequence index of each run, its 0-based start and exclusive end
        within the sequence, and its state.
    """
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    change = np.ones(path.shape[0], dtype=bool)
    change[1:] = path[1:] != path[:-1]
    change[offsets[:-1]] = True
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], path.shape[0])
    seq = np.searchsorted(offsets, starts, side="right") - 1
    return seq, starts - offsets[seq], ends - offsets[seq], path[starts]
