"""Collections of sequences spread over a cluster: files, Dask bags, Dask arrays.

A :class:`Partitions` is a list of partitions, each something a worker can
turn into :class:`~hmm_core.io.formats.Observations` (ids, frames, lengths):
a file it reads itself, a partition of a ``dask.bag`` of sequences, or a
block of a ``dask.array`` of frames with the lengths of the sequences in that
block. The order of the partitions, and of the sequences within each, is the
input order of every result.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["Partitions", "from_array", "from_bag", "from_files", "from_numpy"]


class Partitions:
    """Sequences in partitions that the workers read or compute.

    Build one with :func:`from_files`, :func:`from_bag`, :func:`from_array`
    or :func:`from_numpy`.

    Parameters
    ----------
    kind : {"file", "bag", "array", "obs"}
        What each partition's payload is.
    payloads : list
        One per partition: a path, a ``Delayed`` partition or block, or
        observations.
    metas : list of dict
        Per partition: reader options, sequence lengths, first sequence index.
    names : list of str
        Per partition, for error messages (a path, ``"bag partition 3"``).
    """

    def __init__(self, kind, payloads, metas, names):
        self.kind, self.payloads, self.metas, self.names = kind, payloads, metas, names

    def __len__(self):
        """Number of partitions.

        Returns
        -------
        int
        """
        return len(self.names)

    def __repr__(self):
        return f"Partitions({self.kind}, {len(self)} partitions)"

    def needs_numbering(self):
        """Whether sequence ids are global indices not yet known (a bag of bare arrays).

        Returns
        -------
        bool
        """
        return self.kind == "bag" and any(m.get("start") is None for m in self.metas)

    def submit(self, client, function, *args, **kwargs):
        """Submit ``function(kind, payload, meta, name, *args)`` once per partition.

        Dask collections are first computed into futures on the workers, so
        that the function runs where the partition lies.

        Parameters
        ----------
        client : distributed.Client
        function : callable
        *args, **kwargs
            More positional arguments; keyword arguments go to ``client.submit``.

        Returns
        -------
        list of distributed.Future
            In partition order.
        """
        payloads = self.payloads
        if self.kind in ("bag", "array"):
            payloads = client.compute(list(payloads))
        return [client.submit(function, self.kind, payload, meta, name, *args, pure=False,
                              **kwargs)
                for payload, meta, name in zip(payloads, self.metas, self.names, strict=True)]


def from_files(paths, alphabet=None, fmt=None, id_column=None, columns=None):
    """One partition per file, read by the workers.

    Parameters
    ----------
    paths : str or list of str
        Data files (FASTA/FASTQ, CSV/TSV, ``.npy``/``.npz``; see
        :func:`hmm_core.io.formats.read_observations`), at paths every worker
        can read (a shared file system).
    alphabet : Alphabet or str, optional
        Symbols of FASTA/FASTQ or of table cells (``"DNA"``, ``"protein"``, a
        list ``"sun,fog,rain"``).
    fmt : str, optional
        Format of every file (default: from each extension).
    id_column, columns : optional
        See :func:`hmm_core.io.formats.read_table`.

    Returns
    -------
    Partitions
    """
    from hmm_core.io.formats import Alphabet

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("from_files needs at least one path")
    if isinstance(alphabet, str):
        alphabet = Alphabet.parse(alphabet)
    meta = {"alphabet": alphabet, "fmt": fmt, "id_column": id_column, "columns": columns}
    return Partitions("file", paths, [dict(meta) for _ in paths], paths)


def from_bag(bag):
    """One partition per partition of a ``dask.bag`` of sequences.

    Parameters
    ----------
    bag : dask.bag.Bag
        Each element one sequence: an array of shape (n_frames,) or
        (n_frames, n_features), or an ``(id, array)`` pair. Sequences without
        an id are named by their index in the bag (``"0"``, ``"1"``, ...).

    Returns
    -------
    Partitions
    """
    parts = bag.to_delayed()
    names = [f"bag partition {i}" for i in range(len(parts))]
    return Partitions("bag", parts, [{"start": None} for _ in parts], names)


def from_array(array, lengths):
    """One partition per block of a ``dask.array`` of frames.

    Parameters
    ----------
    array : dask.array.Array of shape (n_samples,) or (n_samples, n_features)
        Concatenated frames, chunked along the first axis only; every block
        holds whole sequences.
    lengths : list of array-like of int
        The lengths of the sequences in each block, in order (their sum is
        the block's number of frames).

    Returns
    -------
    Partitions
    """
    if array.ndim == 2 and len(array.chunks[1]) != 1:
        array = array.rechunk({1: -1})
    blocks = array.to_delayed().ravel().tolist()
    if len(lengths) != len(blocks):
        raise ValueError(f"lengths gives {len(lengths)} blocks, the array has {len(blocks)}")
    metas, start = [], 0
    for i, (rows, block_lengths) in enumerate(zip(array.chunks[0], lengths, strict=True)):
        block_lengths = np.asarray(block_lengths, dtype=np.int64).ravel()
        if block_lengths.sum() != rows or np.any(block_lengths <= 0):
            raise ValueError(f"lengths of block {i} must be positive and sum to its {rows} "
                             f"frames, got {block_lengths.tolist()[:8]}")
        metas.append({"lengths": block_lengths, "start": start})
        start += block_lengths.size
    names = [f"array block {i}" for i in range(len(blocks))]
    return Partitions("array", blocks, metas, names)


def from_numpy(X, lengths=None, n_partitions=2, ids=None):
    """Split in-memory sequences into partitions of whole sequences.

    The partitions travel inside the task graph, so a lost worker's
    partitions are rebuilt from it; meant for data that fits on the client
    (the command line reads one file this way).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    lengths : array-like of int, optional
        None means one sequence.
    n_partitions : int, default=2
        At most this many partitions, of about equal numbers of frames.
    ids : list of str, optional
        Sequence ids (default: their indices).

    Returns
    -------
    Partitions
    """
    from hmm_core.io.formats import Observations

    X = np.asarray(X)
    if X.ndim == 1:
        X = X[:, None]
    lengths = np.array([X.shape[0]] if lengths is None else lengths, dtype=np.int64).ravel()
    if lengths.sum() != X.shape[0]:
        raise ValueError(f"lengths sum to {int(lengths.sum())}, X has {X.shape[0]} frames")
    ids = [str(i) for i in range(lengths.size)] if ids is None else list(ids)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    cuts = np.searchsorted(offsets, np.linspace(0, offsets[-1], int(n_partitions) + 1))
    cuts = np.unique(np.clip(cuts, 0, lengths.size))
    cuts[0], cuts[-1] = 0, lengths.size
    parts = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        if b > a:
            parts.append(Observations(ids[a:b], X[offsets[a]:offsets[b]], lengths[a:b]))
    names = [f"part {i}" for i in range(len(parts))]
    return Partitions("obs", parts, [{} for _ in parts], names)


def as_partitions(data):
    """Partitions of ``data``: a Partitions, a ``dask.bag``, or a list of file paths."""
    if isinstance(data, Partitions):
        return data
    if isinstance(data, (str, os.PathLike)) or (
            isinstance(data, (list, tuple)) and data
            and all(isinstance(p, (str, os.PathLike)) for p in data)):
        return from_files(data)
    try:
        import dask.bag as db
    except ImportError:
        db = None
    if db is not None and isinstance(data, db.Bag):
        return from_bag(data)
    raise TypeError("data must be Partitions (from_files, from_bag, from_array, from_numpy), "
                    f"a dask.bag or a list of file paths, got {type(data).__name__}")
