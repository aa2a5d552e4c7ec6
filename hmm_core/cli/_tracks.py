"""Genome-browser outputs of ``hmm-core decode``: BED segments and bedGraph posteriors.

Both are tab-separated text with no header row (bedGraph has a ``track``
line before each track, which UCSC requires and bedtools skips), with
0-based, half-open coordinates: a run of frames ``start..end-1`` of a
sequence is the interval ``start end``. The chromosome field is the
sequence's id (a FASTA record's id), which therefore must not contain
whitespace; so must a BED name, the state's name.
"""

from __future__ import annotations

import numpy as np

from hmm_core.cli._parser import UsageError

__all__ = ["BedGraphWriter", "bed_lines", "check_track_ids", "posterior_tracks",
           "state_names"]

# Posteriors are written to 6 decimals: equal values after rounding form one interval.
_DECIMALS = 6


def _has_space(text):
    return any(c.isspace() for c in text)


def state_names(spec, n_components):
    """State names from ``--state-names`` (comma-separated), else ``state0``, ``state1``..."""
    if spec is None:
        return [f"state{k}" for k in range(n_components)]
    names = [name.strip() for name in spec.split(",")]
    if len(names) != n_components:
        raise UsageError(f"--state-names has {len(names)} names but the model has "
                         f"{n_components} states")
    if any(not name or _has_space(name) for name in names) or len(set(names)) != len(names):
        raise UsageError("--state-names must be distinct, non-empty and without spaces "
                         f"(BED and bedGraph fields), got {spec!r}")
    return names


def check_track_ids(ids, option):
    """Refuse sequence ids that cannot be a BED chromosome field (empty or with whitespace)."""
    for name in ids:
        if not name or _has_space(name):
            raise ValueError(f"{option}: the sequence id {name!r} cannot be a BED/bedGraph "
                             "chromosome name (it is empty or has whitespace); write CSV, "
                             "or give the sequences ids without spaces")


def bed_lines(ids, seq, start, end, state, names):
    """BED4 lines (chrom, start, end, name) of decoded runs; runs without a path are left out.

    Parameters
    ----------
    ids : list of str
        Sequence ids of the chunk (the chromosome field).
    seq, start, end, state : ndarray
        Runs of one state, as :func:`hmm_core.cli._batch.segments` returns
        them (0-based, end exclusive).
    names : list of str
        Name of each state.

    Returns
    -------
    iterator of str
    """
    keep = state >= 0  # -1: a sequence with no possible path has no segment
    for q, a, b, s in zip(seq[keep].tolist(), start[keep].tolist(), end[keep].tolist(),
                          state[keep].tolist(), strict=True):
        yield f"{ids[q]}\t{a}\t{b}\t{names[s]}\n"


def posterior_tracks(n_components, chosen):
    """The states with a bedGraph track: ``chosen`` alone, or every state."""
    return range(n_components) if chosen is None else [chosen]


class BedGraphWriter:
    """Write bedGraph tracks: a ``track`` line, then ``chrom start end value`` intervals.

    Consecutive frames of a sequence whose values are equal once rounded
    to 6 decimals form one interval; frames without a value (NaN: a
    sequence with no possible path) are left out.

    Parameters
    ----------
    handle : text file
    """

    def __init__(self, handle):
        self.handle = handle

    def track(self, name, description):
        """Start a track."""
        description = description.replace('"', "'")  # the value is double-quoted
        self.handle.write(f'track type=bedGraph name="{name}" description="{description}"\n')

    def write(self, ids, lengths, values):
        """Intervals of one value per frame.

        Parameters
        ----------
        ids : list of str
            One id per sequence.
        lengths : ndarray of int
            Frames of each sequence.
        values : list of ndarray
            Per-frame values, concatenated over the sequences in one or more
            arrays (the chunks they were computed in).
        """
        value = np.round(np.concatenate(values), _DECIMALS) + 0.0  # + 0.0: no -0
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        change = np.ones(value.shape[0], dtype=bool)
        change[1:] = value[1:] != value[:-1]  # NaN != NaN: each NaN frame its own run
        change[offsets[:-1]] = True
        starts = np.flatnonzero(change)
        ends = np.append(starts[1:], value.shape[0])
        seq = np.searchsorted(offsets, starts, side="right") - 1
        keep = ~np.isnan(value[starts])
        for q, a, b, v in zip(seq[keep].tolist(), (starts - offsets[seq])[keep].tolist(),
                              (ends - offsets[seq])[keep].tolist(),
                              value[starts][keep].tolist(), strict=True):
            self.handle.write(f"{ids[q]}\t{a}\t{b}\t{v:.{_DECIMALS}g}\n")
