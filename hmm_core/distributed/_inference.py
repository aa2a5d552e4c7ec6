"""Distributed scoring, decoding and posteriors over partitions of sequences."""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from hmm_core.distributed import _worker
from hmm_core.distributed._client import broadcast, get_client
from hmm_core.distributed._sources import as_partitions

__all__ = ["Results", "decode_sequences", "predict_proba", "score_sequences"]


class Results(NamedTuple):
    """Results of a distributed job, in input order.

    Parameters
    ----------
    ids : list of str
        One id per sequence.
    lengths : ndarray of int64
        Frames per sequence.
    values : dict of str to ndarray
        Per-sequence numbers (``log_likelihood``, ``logprob``) and, unless
        they were written to files, the frame-sized arrays (``states``,
        ``posteriors``) concatenated in input order.
    files : list of str or None
        The ``.npz`` file each partition wrote (in partition order), when an
        output directory was given; each holds that partition's ``ids``,
        ``lengths``, per-sequence numbers and frame-sized arrays.
    """

    ids: list
    lengths: np.ndarray
    values: dict
    files: list | None = None


def _numbering(client, parts):
    """Give a bag of bare arrays global sequence numbers (one counting pass)."""
    if not parts.needs_numbering():
        return parts
    counts = client.gather(parts.submit(client, _worker.count))
    start = 0
    for meta, n in zip(parts.metas, counts, strict=True):
        meta["start"] = start
        start += n
    return parts


def _output_paths(output_dir, n, job):
    if output_dir is None:
        return [None] * n
    output_dir = os.fspath(output_dir)
    if not os.path.isdir(output_dir):
        raise FileNotFoundError(2, "No such directory", output_dir)
    return [os.path.join(output_dir, f"{job}-{i:05d}.npz") for i in range(n)]


def run(model, data, job, client=None, output_dir=None, **options):
    """Run ``job`` on every partition; results gathered in input order.

    Parameters
    ----------
    model : estimator
        A fitted model (any hmm_core model with the job's method).
    data : Partitions, dask.bag.Bag or list of str
        The sequences (see :func:`~hmm_core.distributed.from_files` and friends).
    job : {"score", "decode", "posteriors"}
    client : distributed.Client, optional
    output_dir : str, optional
        Workers write each partition's results there instead of returning the
        frame-sized arrays.
    **options
        ``algorithm``, ``posteriors`` (decode).

    Returns
    -------
    Results
    """
    client = get_client(client)
    parts = as_partitions(data)
    model._check() if hasattr(model, "_check") else None  # fail here, not on every worker
    parts = _numbering(client, parts) if output_dir is not None else parts
    shared = broadcast(client, model)
    outputs = _output_paths(output_dir, len(parts), job)
    futures = [client.submit(_worker.infer, shared, *args, pure=False) for args in
               _partition_args(client, parts, job, options, outputs)]
    pieces = client.gather(futures)
    return _assemble(pieces, outputs if output_dir is not None else None)


def _partition_args(client, parts, job, options, outputs):
    payloads = parts.payloads
    if parts.kind in ("bag", "array"):
        payloads = client.compute(list(payloads))
    for payload, meta, name, output in zip(payloads, parts.metas, parts.names, outputs,
                                           strict=True):
        yield parts.kind, payload, meta, name, job, {**options, "output": output}


def _assemble(pieces, files):
    ids, start = [], 0
    for piece in pieces:
        # a bag of bare arrays gathered here: its sequences are numbered in order
        ids += [str(start + j) if i is None else i for j, i in enumerate(piece["ids"])]
        start += len(piece["ids"])
    lengths = (np.concatenate([p["lengths"] for p in pieces]) if pieces
               else np.zeros(0, np.int64))
    keys = [k for k in (pieces[0] if pieces else {}) if k not in ("ids", "lengths", "file")]
    values = {k: np.concatenate([p[k] for p in pieces]) for k in keys}
    return Results(ids, lengths, values, files)


def score_sequences(model, data, client=None):
    """Log-likelihood of every sequence, computed where the data lie.

    Parameters
    ----------
    model : estimator
        A fitted hmm_core model.
    data : Partitions, dask.bag.Bag or list of str
        The sequences: :func:`~hmm_core.distributed.from_files`,
        :func:`~hmm_core.distributed.from_bag`,
        :func:`~hmm_core.distributed.from_array`, a bag, or file paths.
    client : distributed.Client, optional
        Default: the current Dask client.

    Returns
    -------
    Results
        ``values["log_likelihood"]``: one per sequence, in input order, equal
        to ``model.score_sequences`` on the same sequences.

    Examples
    --------
    >>> from dask.distributed import Client                   # doctest: +SKIP
    >>> from hmm_core import distributed as hd                # doctest: +SKIP
    >>> with Client("tcp://scheduler:8786") as client:         # doctest: +SKIP
    ...     res = hd.score_sequences(model, hd.from_files(paths, alphabet="DNA"))
    >>> res.ids[:2], res.values["log_likelihood"][:2]          # doctest: +SKIP
    """
    return run(model, data, "score", client)


def decode_sequences(model, data, client=None, algorithm=None, posteriors=False,
                     output_dir=None):
    """Best state path (and optionally posteriors) of every sequence, on the workers.

    Parameters
    ----------
    model : estimator
        A fitted hidden Markov model.
    data : Partitions, dask.bag.Bag or list of str
        The sequences.
    client : distributed.Client, optional
        Default: the current Dask client.
    algorithm : {"viterbi", "map"}, optional
        Default: the model's ``algorithm``.
    posteriors : bool, default=False
        Also compute the state posteriors of every frame.
    output_dir : str, optional
        A directory every worker can write: each partition's ids, lengths,
        ``logprob``, ``states`` (and ``posteriors``) go to
        ``decode-NNNNN.npz`` there (written under a temporary name, then
        renamed), and only the per-sequence numbers come back.

    Returns
    -------
    Results
        ``values["logprob"]`` per sequence, and ``values["states"]`` (and
        ``values["posteriors"]``) concatenated in input order unless written
        to ``output_dir`` (then ``files`` lists the files).
    """
    return run(model, data, "decode", client, output_dir, algorithm=algorithm,
               posteriors=bool(posteriors))


def predict_proba(model, data, client=None, output_dir=None):
    """State posteriors of every frame and log-likelihood of every sequence.

    Parameters
    ----------
    model : estimator
        A fitted hidden Markov model.
    data : Partitions, dask.bag.Bag or list of str
        The sequences.
    client : distributed.Client, optional
        Default: the current Dask client.
    output_dir : str, optional
        Write each partition's posteriors to ``posteriors-NNNNN.npz`` there
        instead of gathering them.

    Returns
    -------
    Results
        ``values["log_likelihood"]`` and ``values["posteriors"]`` (unless
        written to ``output_dir``).
    """
    return run(model, data, "posteriors", client, output_dir)
