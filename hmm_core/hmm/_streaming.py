"""Training data too large for memory: a re-iterable source of ``(X, lengths)`` chunks.

``fit`` streams such a source once per EM iteration, so memory is bounded by
the largest chunk, and the fitted model equals ``fit`` on the concatenation
(the statistics of the chunks add up to those of the whole).

Initialisation that needs data (k-means, random restarts) runs on a bounded
sample read in one extra pass: a uniform random sample of at most
:data:`INIT_SAMPLE_FRAMES` frames (drawn with a fixed seed, so it is the same
on every call and does not advance ``random_state``), kept in source order,
plus, for integer observations, a frame holding each column's largest value
(so the inferred number of symbols is that of the whole source). A source of
at most :data:`INIT_SAMPLE_FRAMES` frames is its own sample.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from hmm_core.hmm._memory import check_request

__all__ = ["INIT_SAMPLE_FRAMES", "ChunkSource", "is_chunk_source"]

#: Frames of the initialisation sample of a chunk source.
INIT_SAMPLE_FRAMES = 100_000

_SAMPLE_SEED = 20091


def _is_chunk(item) -> bool:
    if not (isinstance(item, tuple) and len(item) == 2):
        return False
    X, lengths = item
    if isinstance(X, (int, float, complex, str, bytes)) or not hasattr(X, "__len__"):
        return False  # a frame of scalars, not a chunk
    return lengths is None or hasattr(lengths, "__len__")


def is_chunk_source(X) -> bool:
    """Whether ``fit``'s ``X`` is a source of ``(X, lengths)`` chunks.

    A list or tuple whose items are all 2-tuples ``(X, lengths)``, a
    callable (returning an iterator of such pairs) or an iterator.
    """
    if isinstance(X, np.ndarray):
        return False
    if callable(X) or isinstance(X, Iterator):
        return True
    return isinstance(X, (list, tuple)) and len(X) > 0 and all(_is_chunk(i) for i in X)


def _kind(X):
    kind = np.asarray(X).dtype.kind
    return "integer" if kind in "biu" else {"f": "float"}.get(kind, np.asarray(X).dtype.name)


class ChunkSource:
    """Validated passes over a source of ``(X, lengths)`` chunks.

    Parameters
    ----------
    source : list of (X, lengths), callable or iterator
        A callable is called once per pass for a new iterator.
    """

    def __init__(self, source):
        self.source = source
        self.passes = 0
        self.first = None  # (dtype kind, n_features) of chunk 0
        self.n_frames = None

    def raw(self):
        """One pass: ``(position, X, lengths)`` of every chunk."""
        items = self.source() if callable(self.source) else iter(self.source)
        count = frames = 0
        for position, item in enumerate(items):
            if not _is_chunk(item):
                raise ValueError(f"chunk {position} of the source is not an (X, lengths) pair")
            count += 1
            frames += len(item[0])
            yield position, item[0], item[1]
        self.passes += 1
        if count == 0:
            if self.passes == 1:
                raise ValueError("the chunk source is empty: it yielded no (X, lengths) chunk")
            raise ValueError(
                f"the chunk source yielded nothing on pass {self.passes}: a one-shot iterator "
                "(a generator) cannot be read once per EM iteration; pass a list of "
                "(X, lengths) pairs or a callable that returns a new iterator")
        if self.n_frames is None:
            self.n_frames = frames
        elif frames != self.n_frames:
            raise ValueError(f"the chunk source changed between passes: {frames} frames on "
                             f"pass {self.passes}, {self.n_frames} on the first")

    def chunks(self, model):
        """One pass of validated ``(X, offsets, None)`` chunks for ``model``'s EM."""
        emission = model._get_emission()
        for position, X, lengths in self.raw():
            yield (*self._check(model, emission, position, X, lengths), None)

    def _check(self, model, emission, position, X, lengths):
        kind = _kind(X)
        try:
            X, offsets = model._validate(X, lengths)
        except ValueError as exc:
            raise ValueError(f"chunk {position} of the source: {exc}") from exc
        n_features = X.shape[1] if len(X.shape) == 2 else 1
        if self.first is None:
            self.first = (kind, n_features)
        elif (kind, n_features) != self.first:
            raise ValueError(f"chunk {position} of the source holds {kind} observations with "
                             f"{n_features} features; chunk 0 holds {self.first[0]} "
                             f"observations with {self.first[1]}")
        check_request(model, "fit", X, X.shape[0],
                      uses_table=hasattr(emission, "frame_table"))
        return X, offsets

    def sample(self, model):
        """The initialisation sample (see the module documentation), validated."""
        rng = np.random.default_rng(_SAMPLE_SEED)
        emission = model._get_emission()
        kept_rows, kept_keys, kept_pos = None, np.empty(0), np.empty(0, dtype=np.int64)
        top = {}  # column -> (value, row) of the largest integer value seen
        start = 0
        for position, X, lengths in self.raw():
            X, _ = self._check(model, emission, position, X, lengths)
            values = np.asarray(X)
            n = values.shape[0]
            keys = rng.random(n)
            if values.dtype.kind in "iu" and n:
                table = values.reshape(n, -1)
                for col, row in enumerate(table.argmax(axis=0)):
                    if col not in top or table[row, col] > top[col][0]:
                        top[col] = (table[row, col], values[row], start + row)
            rows = values if kept_rows is None else np.concatenate([kept_rows, values])
            keys = np.concatenate([kept_keys, keys])
            pos = np.concatenate([kept_pos, start + np.arange(n)])
            if keys.shape[0] > INIT_SAMPLE_FRAMES:
                keep = np.argpartition(keys, INIT_SAMPLE_FRAMES - 1)[:INIT_SAMPLE_FRAMES]
                rows, keys, pos = rows[keep], keys[keep], pos[keep]
            kept_rows, kept_keys, kept_pos = rows, keys, pos
            start += n
        extra = [(p, r) for _, r, p in top.values() if p not in set(kept_pos.tolist())]
        if extra:
            kept_rows = np.concatenate([kept_rows, np.stack([r for _, r in extra])])
            kept_pos = np.concatenate([kept_pos, [p for p, _ in extra]])
        order = np.argsort(kept_pos, kind="stable")
        _, unique = np.unique(kept_pos[order], return_index=True)
        sample = kept_rows[order[unique]]
        return emission.check_X(sample)


def fit_source(model, source):
    """EM over a chunk source, with ``n_init`` restarts (see :meth:`fit`)."""
    source = ChunkSource(source)
    random_state = model._random_source()
    sample = source.sample(model)

    def run():
        model._init(sample, random_state)
        model._em_loop(lambda: source.chunks(model), stacklevel=6)

    if model.n_init == 1:
        run()
        return model
    initial = model._snapshot()
    best_score, best = -np.inf, None
    for _ in range(model.n_init):
        model._restore(initial)
        run()
        chain = model._check()
        score = sum(model._objective(chain, model._frames(X, None), offsets)
                    for X, offsets, _ in source.chunks(model))
        if best is None or score > best_score:
            best_score, best = score, model._snapshot()
    model._restore(best)
    model._check()
    return model
