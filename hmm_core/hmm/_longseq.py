"""A model's requests on sequences too long for their (T, N) lattices.

Above :func:`~hmm_core.kernels.backend.uses_checkpoints` a model scores,
decodes and computes posteriors block by block
(:class:`~hmm_core.functional._blockrun.BlockRun`): the observations are
validated and turned into emission log-likelihoods one block at a time, so
neither a (T, N) frame-score matrix nor an int64 copy of the symbols is ever
held. Sequences no longer than one block go through the one-call kernels in
groups of about a block of frames.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from hmm_core.functional._blockrun import BlockRun
from hmm_core.hmm.statistics import SufficientStatistics
from hmm_core.kernels import backend
from hmm_core.kernels.validation import check_lengths
from hmm_core.structure import topology as _topology

__all__: list[str] = []


def _n_samples(X):
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None else len(X)


def _source(model, X, base):
    """``frames(start, stop)`` of the sequence starting at frame ``base`` of ``X``."""
    emission = model._get_emission()

    def frames(start, stop):
        return model._log_frameprob(emission.check_X(X[base + start:base + stop]))

    return frames


def groups(model, X, lengths, block_size=None):
    """``(first, last, long)`` runs of sequences: one long sequence, or short ones together.

    Yields
    ------
    a, b : int
        Sequences ``a:b``.
    long : bool
        ``b == a + 1`` and the sequence runs block by block.
    """
    offsets = check_lengths(lengths, _n_samples(X))
    n = model.n_components
    bounds = np.diff(offsets)
    s, n_seq = 0, bounds.shape[0]
    while s < n_seq:
        size = block_size or backend.checkpoint_block(int(bounds[s]), n)
        if bounds[s] > size:
            yield offsets, s, s + 1, True
            s += 1
            continue
        e, frames = s, 0
        while e < n_seq and bounds[e] <= size and frames + bounds[e] <= max(size, 1 << 16):
            frames += int(bounds[e])
            e += 1
        yield offsets, s, max(e, s + 1), False
        s = max(e, s + 1)


def _run(model, X, offsets, s, block_size):
    chain = model._check()
    base = int(offsets[s])
    return BlockRun(chain, _source(model, X, base), int(offsets[s + 1] - base), block_size)


def _short(model, X, offsets, a, b):
    lo, hi = int(offsets[a]), int(offsets[b])
    return X[lo:hi], np.diff(offsets[a:b + 1])


def score_sequences(model, X, lengths=None, block_size=None):
    """Per-sequence log-likelihoods, long sequences block by block."""
    out = []
    for offsets, a, b, long in groups(model, X, lengths, block_size):
        if long:
            out.append([_run(model, X, offsets, a, block_size).loglik()])
        else:
            out.append(model._score_in_memory(*_short(model, X, offsets, a, b)))
    return np.concatenate(out)


def viterbi(model, X, lengths=None, block_size=None, out=None):
    """Per-sequence best-path log-probabilities and the paths (into ``out`` when given)."""
    offsets = check_lengths(lengths, _n_samples(X))
    path = np.empty(offsets[-1], dtype=np.int64) if out is None else out
    logprob = np.empty(offsets.shape[0] - 1)
    for offsets, a, b, long in groups(model, X, lengths, block_size):
        lo, hi = int(offsets[a]), int(offsets[b])
        if long:
            logprob[a], _ = _run(model, X, offsets, a, block_size).viterbi(path[lo:hi])
        else:
            logprob[a:b], path[lo:hi] = model._viterbi_in_memory(
                *_short(model, X, offsets, a, b))
    return logprob, path


def posteriors(model, X, lengths=None, out=None, block_size=None):
    """Per-sequence log-likelihoods and posteriors written into ``out``."""
    offsets = check_lengths(lengths, _n_samples(X))
    if out is None:
        out = np.empty((int(offsets[-1]), model.n_components))
    loglik = np.empty(offsets.shape[0] - 1)
    for offsets, a, b, long in groups(model, X, lengths, block_size):
        lo, hi = int(offsets[a]), int(offsets[b])
        if long:
            loglik[a] = _run(model, X, offsets, a, block_size).posteriors(out[lo:hi],
                                                                       counts=False)["loglik"]
        else:
            loglik[a:b], out[lo:hi] = model._posteriors_in_memory(
                *_short(model, X, offsets, a, b))
    return loglik, out


def estep(model, X, block_size=None, on_block=None):
    """E-step statistics of one sequence block by block (``on_block(X_block, post)``)."""
    run = _run(model, X, np.array([0, _n_samples(X)]), 0, block_size)
    emission = model._get_emission()

    def fold(start, stop, post):
        on_block(emission.check_X(X[start:stop]), post)

    return run.posteriors(None, None if on_block is None else fold)


class _RowWriter:
    """Rows ``[base, ...)`` of a (n_rows, n_columns) float64 ``.npy`` file, written
    with ``os.pwrite``: unlike a memory map, written pages do not stay in the
    process's resident memory."""

    def __init__(self, fd, data_offset, n_columns, base=0):
        self.fd, self.data_offset, self.n_columns, self.base = fd, data_offset, n_columns, base

    def __getitem__(self, rows):
        return _RowWriter(self.fd, self.data_offset, self.n_columns, self.base + rows.start)

    def __setitem__(self, rows, values):
        values = np.ascontiguousarray(values, dtype="<f8")
        position = self.data_offset + 8 * self.n_columns * (self.base + rows.start)
        view = memoryview(values).cast("B")
        while view.nbytes:
            written = os.pwrite(self.fd, view, position)
            view, position = view[written:], position + written


def posteriors_to_file(model, X, path, lengths=None, block_size=None):
    """Posteriors into the ``.npy`` file ``path``, written under a temporary
    name and renamed once complete; returns the per-sequence log-likelihoods."""
    from numpy.lib.format import open_memmap, read_array_header_1_0, read_magic

    path = os.fspath(path)
    offsets = check_lengths(lengths, _n_samples(X))
    folder, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(folder, f".{name}.partial-{os.getpid()}")
    shape = (int(offsets[-1]), model.n_components)
    try:
        del_me = open_memmap(temporary, mode="w+", dtype="<f8", shape=shape)
        del del_me  # the header is written and the file sized; rows go by pwrite
        with open(temporary, "r+b") as handle:
            read_magic(handle)
            read_array_header_1_0(handle)
            out = _RowWriter(handle.fileno(), handle.tell(), shape[1])
            loglik, _ = posteriors(model, X, lengths, out, block_size)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    return loglik


def accumulate(model, X, lengths=None, block_size=None):
    """``SufficientStatistics`` of sequences, long ones block by block (``model.accumulate``)."""
    chain = model._check()
    emission = model._get_emission()
    ties = model._emission_map()
    n_classes = model._n_emission_components()
    folds = bool(set(model.params) & set(model._emission_letters))
    total = None
    for offsets, a, b, long in groups(model, X, lengths, block_size):
        if not long:
            part = model._accumulate_in_memory(*_short(model, X, offsets, a, b), first=a)
            total = part if total is None else total + part
            continue
        emission_stats = emission.empty_stats(n_classes) if folds else None
        base = int(offsets[a])

        def fold(start, stop, post, base=base, emission_stats=emission_stats):
            if ties is not None:
                post = _topology.pool_columns(post, ties, n_classes)
            emission.accumulate(emission_stats, emission.check_X(X[base + start:base + stop]),
                                post)

        run = _run(model, X, offsets, a, block_size)
        counts = run.posteriors(None, fold if folds else None)
        if not np.isfinite(counts["loglik"]):
            raise ValueError(f"sequence {a} has zero probability under the current parameters "
                             "(check structural zeros and n_features); EM cannot proceed")
        part = SufficientStatistics(
            model.n_components, float(counts["loglik"]), 1, run.n_frames,
            counts["start_counts"], counts["trans_counts"],
            None if chain.endprob is None else counts["end_counts"], emission_stats)
        total = part if total is None else total + part
    return total
