"""What runs on a Dask worker: reading a partition, scoring, decoding, E-steps.

Every function here is shipped to the workers by reference (they import
hmm_core), takes plain data and returns small results, and names its
partition in any error. The compiled kernels of one worker process run one
call at a time, with as many OpenMP (and BLAS) threads as the worker has
Dask threads: concurrent tasks of a worker never stack their thread pools.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading

import numpy as np

from hmm_core.io.formats import Observations

__all__ = ["PartitionError"]

# One kernel call at a time per worker process, each with the worker's threads.
_KERNEL_LOCK = threading.Lock()
# Built once per worker: scanning the loaded libraries costs about 1 ms, more
# than a small partition's E-step.
_CONTROLLER = None


class PartitionError(ValueError):
    """A partition of a distributed job could not be read or processed.

    The message starts with the partition's name (a file path, a bag
    partition or an array block), then the original error.
    """


def worker_threads():
    """Dask threads of the worker running this task, or None outside a worker.

    Returns
    -------
    int or None
    """
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None
    nthreads = getattr(worker, "nthreads", None)
    if nthreads is None:
        nthreads = worker.state.nthreads
    return int(nthreads)


@contextlib.contextmanager
def kernel_threads(model):
    """Run the kernels of ``model`` with the worker's thread count, one call at a time.

    Dask's nanny starts workers with ``OMP_NUM_THREADS=1``; an explicit
    ``n_threads`` on the model (and a BLAS limit) gives the kernels the
    worker's Dask threads instead, and the lock keeps a worker's concurrent
    tasks from running their thread pools at the same time.
    """
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    n = worker_threads()
    if n is None:  # run in the client process (a synchronous scheduler): leave it alone
        yield None
        return
    target = getattr(model, "model", model)  # HigherOrderHMM: its template
    with _KERNEL_LOCK:
        if _CONTROLLER is None:
            _CONTROLLER = ThreadpoolController()
        with _CONTROLLER.limit(limits=n, user_api="blas"):
            if hasattr(target, "n_threads") and target.n_threads != n:
                target.n_threads = n
            yield n


@contextlib.contextmanager
def named(name):
    """Re-raise any error as a :class:`PartitionError` naming the partition."""
    try:
        yield
    except PartitionError:
        raise
    except Exception as exc:
        raise PartitionError(f"partition {name}: {type(exc).__name__}: {exc}") from exc


# ------------------------------------------------------------------ reading
def materialize(kind, payload, meta, name):
    """Turn one partition's payload into :class:`~hmm_core.io.formats.Observations`.

    Parameters
    ----------
    kind : {"file", "bag", "array", "obs"}
        What ``payload`` is: a path, a list of sequences (arrays or
        ``(id, array)`` pairs), a block of frames, or observations already.
    payload : object
    meta : dict
        Reader options (files), sequence lengths (array blocks) and the
        index of the partition's first sequence (default ids).
    name : str
        The partition's name, for errors.

    Returns
    -------
    Observations
    """
    with named(name):
        if kind == "file":
            from hmm_core.io.formats import read_observations

            return read_observations(payload, meta.get("fmt"), meta.get("alphabet"),
                                     meta.get("id_column"), meta.get("columns"))
        if kind == "obs":
            return payload
        start = meta.get("start", 0)
        if kind == "array":
            block = np.asarray(payload)
            if block.ndim == 1:
                block = block[:, None]
            lengths = np.asarray(meta["lengths"], dtype=np.int64)
            if lengths.sum() != block.shape[0]:
                raise ValueError(f"the block has {block.shape[0]} frames but its lengths sum "
                                 f"to {int(lengths.sum())}")
            ids = [str(start + i) for i in range(lengths.size)]
            return Observations(ids, block, lengths)
        return _bag_observations(list(payload), start)


def _bag_observations(items, start):
    ids, arrays = [], []
    for j, item in enumerate(items):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            ids.append(item[0])
            item = item[1]
        else:
            ids.append(None if start is None else str(start + j))
        arr = np.asarray(item)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise ValueError(f"sequence {j} must be a non-empty (n_frames,) or (n_frames, "
                             f"n_features) array, got shape {arr.shape}")
        arrays.append(arr)
    if not arrays:
        return Observations([], np.zeros((0, 1)), np.zeros(0, np.int64))
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    return Observations(ids, np.concatenate(arrays), lengths)


def count(kind, payload, meta, name):
    """Number of sequences in a partition (to number a bag's sequences)."""
    return len(materialize(kind, payload, meta, name).lengths)


def _data(model, obs):
    X = obs.X
    if X.ndim == 2 and X.shape[1] == 1 and not hasattr(model, "n_components"):
        X = X[:, 0]  # an observed Markov chain takes a symbol vector
    return X


# ---------------------------------------------------------------- inference
def infer(model, kind, payload, meta, name, job, options):
    """Score, decode or compute posteriors for one partition.

    Parameters
    ----------
    model : estimator
        The broadcast model (this worker's copy).
    kind, payload, meta, name
        The partition (see :func:`materialize`).
    job : {"score", "decode", "posteriors"}
    options : dict
        ``algorithm`` (decode), ``posteriors`` (decode: also posteriors),
        ``output`` (a file to write the large arrays to, or None).

    Returns
    -------
    dict
        ``ids``, ``lengths`` and the per-sequence numbers; the frame-sized
        arrays too unless they were written to ``options["output"]``, whose
        path is then returned as ``file``.
    """
    obs = materialize(kind, payload, meta, name)
    with named(name):
        out = {"ids": obs.ids, "lengths": obs.lengths}
        if obs.lengths.size == 0:
            return _empty(out, job, options, model)
        X = _data(model, obs)
        with kernel_threads(model):
            if job == "score":
                out["log_likelihood"] = model.score_sequences(X, obs.lengths)
                return out
            if job == "decode":
                out["logprob"], out["states"] = model.decode_sequences(
                    X, obs.lengths, options.get("algorithm"))
            if job == "posteriors" or options.get("posteriors"):
                loglik, out["posteriors"] = _posteriors(model, X, obs.lengths)
                if job == "posteriors":
                    out["log_likelihood"] = loglik
        return _maybe_write(out, options.get("output"))


def _posteriors(model, X, lengths):
    """Per-sequence log-likelihoods and posteriors in one pass."""
    chain, X, offsets, frames = model._prepare(X, lengths, "posteriors")
    return chain.posteriors(frames, offsets, model.n_threads)


def _empty(out, job, options, model):
    n = getattr(model, "n_components", 1)
    if job == "score":
        out["log_likelihood"] = np.zeros(0)
        return out
    if job == "decode":
        out["logprob"], out["states"] = np.zeros(0), np.zeros(0, np.int64)
    if job == "posteriors" or options.get("posteriors"):
        out["posteriors"] = np.zeros((0, n))
        if job == "posteriors":
            out["log_likelihood"] = np.zeros(0)
    return _maybe_write(out, options.get("output"))


_FRAME_SIZED = ("states", "posteriors")


def _maybe_write(out, path):
    """Write the partition's results to ``path`` (temporary name, then rename)."""
    if path is None:
        return out
    write_npz(path, ids=np.array(out["ids"], dtype=str), **{
        k: v for k, v in out.items() if k != "ids"})
    small = {k: v for k, v in out.items() if k not in _FRAME_SIZED}
    small["file"] = path
    return small


def write_npz(path, **arrays):
    """Write an ``.npz`` under a temporary name in its directory, then rename it.

    A reader never sees a partial file, and a retried task simply replaces
    what an earlier attempt wrote.

    Parameters
    ----------
    path : str
        Destination.
    **arrays : ndarray
        The arrays to store.
    """
    directory, base = os.path.split(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


# -------------------------------------------------------------------- E-step
def estep(model, obs, name):
    """Additive E-step statistics of one partition under ``model``'s parameters.

    Parameters
    ----------
    model : BaseHMM
        This iteration's broadcast model.
    obs : Observations
        The partition, held in the worker's memory across iterations.
    name : str

    Returns
    -------
    SufficientStatistics
    """
    with named(name), kernel_threads(model):
        return model.accumulate(obs.X, obs.lengths)


def objective(model, obs, name):
    """What training maximises, summed over one partition (restart selection)."""
    with named(name), kernel_threads(model):
        X, offsets = model._validate(obs.X, obs.lengths)
        return model._objective(model._check(), model._frames(X, None), offsets)


def add(*parts):
    """Sum statistics (one node of the tree reduction)."""
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def call(model, method, obs, args):
    """``getattr(model, method)(X, lengths, *args)`` on one chunk (command line)."""
    with named(f"of {len(obs.ids)} sequences starting at {obs.ids[0]!r}"), \
            kernel_threads(model):
        return getattr(model, method)(_data(model, obs), obs.lengths, *args)
