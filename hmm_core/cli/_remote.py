"""``--scheduler``: run the work of ``hmm-core score|decode|fit`` on a Dask cluster.

The command reads its data file and writes its outputs exactly as a local
run does; only the kernels' work moves to the workers. Chunks are sent as
they are read, several at a time (two per worker thread), and their
results come back in order, so the progress bar, the outputs and the
summary are those of the local run.
"""

from __future__ import annotations

import contextlib
from collections import deque

__all__ = ["remote"]


class RemoteModel:
    """A model whose per-chunk methods return results computed on the cluster.

    :meth:`prefetch` submits, for every chunk it passes on, the methods named
    in ``jobs``; each later call of such a method returns the next result in
    chunk order. Any other attribute is the model's.
    """

    def __init__(self, client, model, jobs):
        from hmm_core.distributed._client import broadcast

        self._client, self._model, self._jobs = client, model, jobs
        self._shared = broadcast(client, model)
        self._pending = {name: deque() for name, _ in jobs}
        threads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
        self._window = max(2, 2 * threads)

    def __getattr__(self, name):
        return getattr(self._model, name)

    def prefetch(self, chunks):
        """Pass ``chunks`` on, with their work submitted ahead (a bounded window)."""
        from hmm_core.distributed._worker import call

        ahead = deque()
        for item in chunks:
            chunk = item[0]
            for name, args in self._jobs:
                self._pending[name].append(self._client.submit(
                    call, self._shared, name, chunk, args, pure=False))
            ahead.append(item)
            if len(ahead) >= self._window:
                yield ahead.popleft()
        yield from ahead

    def _next(self, name):
        return self._pending[name].popleft().result()

    def score_sequences(self, X, lengths=None):
        """Log-likelihood of each sequence of the next chunk (computed remotely)."""
        return self._next("score_sequences")

    def decode_sequences(self, X, lengths=None, algorithm=None):
        """Paths of the next chunk (computed remotely)."""
        return self._next("decode_sequences")

    def predict_proba(self, X, lengths=None):
        """Posteriors of the next chunk (computed remotely)."""
        return self._next("predict_proba")


@contextlib.contextmanager
def remote(args, model, jobs):
    """The model to use and a chunk filter: remote with ``--scheduler``, else local.

    Yields
    ------
    model : estimator or RemoteModel
    prefetch : callable
        Applied to the chunk iterator.
    """
    scheduler = getattr(args, "scheduler", None)
    if not scheduler:
        yield model, lambda chunks: chunks
        return
    from hmm_core.distributed import connect

    with connect(scheduler) as client:
        proxy = RemoteModel(client, model, jobs)
        yield proxy, proxy.prefetch


def fit_remote(args, model, obs):
    """Fit ``model`` to ``obs`` on the cluster of ``--scheduler`` (partitions of sequences)."""
    from hmm_core import distributed as hd

    if not hasattr(model, "n_components"):
        raise ValueError("--scheduler fits hidden Markov models; fit a Markov chain locally")
    with hd.connect(args.scheduler) as client:
        threads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
        parts = hd.from_numpy(obs.X, obs.lengths, n_partitions=max(1, 2 * threads))
        hd.fit(model, parts, client=client)
    return model
