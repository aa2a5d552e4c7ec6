"""Distributed Baum-Welch: E-steps where the data lie, M-steps on the client."""

from __future__ import annotations

import numpy as np

from hmm_core.distributed import _worker
from hmm_core.distributed._client import broadcast, get_client
from hmm_core.distributed._sources import as_partitions

__all__ = ["fit"]


def tree_reduce(client, futures, split_every=8):
    """Sum futures of statistics level by level, ``split_every`` at a time, on the workers.

    Parameters
    ----------
    client : distributed.Client
    futures : list of distributed.Future
    split_every : int
        Fan-in of each node.

    Returns
    -------
    distributed.Future
        The total.
    """
    while len(futures) > 1:
        futures = [client.submit(_worker.add, *futures[i:i + split_every], pure=False)
                   for i in range(0, len(futures), split_every)]
    return futures[0]


def _sample(client, loaded, init_frames):
    """Whole sequences from the first partitions, up to ``init_frames`` frames."""
    from hmm_core.io.formats import Observations

    Xs, lengths, total = [], [], 0
    for future in loaded:
        if init_frames is not None and total >= init_frames:
            break
        obs = future.result()
        for n, stop in zip(obs.lengths.tolist(), np.cumsum(obs.lengths).tolist(), strict=True):
            if init_frames is not None and total >= init_frames:
                break
            Xs.append(obs.X[stop - n:stop])
            lengths.append(n)
            total += n
    return Observations([], np.concatenate(Xs), np.array(lengths, dtype=np.int64))


class _Driver:
    """The EM loop of one model over loaded partitions."""

    def __init__(self, client, model, loaded, names, split_every):
        self.client, self.model, self.loaded = client, model, loaded
        self.names, self.split_every = names, split_every

    def _map(self, function):
        shared = broadcast(self.client, self.model)  # once per iteration, to every worker
        return [self.client.submit(function, shared, obs, name, pure=False)
                for obs, name in zip(self.loaded, self.names, strict=True)]

    def estep(self):
        return tree_reduce(self.client, self._map(_worker.estep), self.split_every).result()

    def objective(self):
        return float(sum(self.client.gather(self._map(_worker.objective))))

    def fit_once(self, sample, random_state):
        from hmm_core.hmm.monitor import ConvergenceMonitor

        model = self.model
        model._init(model._get_emission().check_X(sample.X), random_state)
        model._check()
        model.monitor_ = ConvergenceMonitor(model.tol, model.n_iter, model.verbose)
        warned = False
        for _ in range(model.n_iter):
            stats = self.estep()  # a sequence of zero probability raises on its worker
            if not warned:
                warned = model._warn_empty(stats.occupancy, stacklevel=3)
            model._m_step(stats)  # warned once above, as a local fit does
            model.monitor_.report(stats.loglik)
            model._check()
            callback = getattr(model, "callback", None)
            if callback is not None:
                callback(model.monitor_)
            if model.monitor_.converged:
                break


def fit(model, data, client=None, init_frames=None, split_every=8):
    """Fit ``model`` by Baum-Welch on a Dask cluster; the result equals a local ``fit``.

    The partitions are read once into the workers' memory and stay there.
    Each iteration ships the current parameters to every worker once,
    computes the E-step statistics of every partition where it lies, sums
    them with a tree reduction on the workers, and runs the M-step on the
    client: only parameters and statistics (no frame-sized array) travel.
    Settings work as in ``model.fit``: ``n_iter``, ``tol``, ``n_init``
    restarts (the best final log-likelihood is kept), priors, structural
    zeros, tied parameters, missing values, ``verbose`` and ``callback``
    (both on the client). A lost worker's tasks are recomputed by Dask; a
    partition that cannot be read or fitted fails the fit with a
    :class:`PartitionError` naming it.

    Parameters
    ----------
    model : BaseHMM
        The model to fit, in place.
    data : Partitions, dask.bag.Bag or list of str
        The sequences (:func:`~hmm_core.distributed.from_files`,
        :func:`~hmm_core.distributed.from_bag`,
        :func:`~hmm_core.distributed.from_array`,
        :func:`~hmm_core.distributed.from_numpy`).
    client : distributed.Client, optional
        Default: the current Dask client.
    init_frames : int, optional
        The data-dependent initialisation (k-means of Gaussian means, say)
        runs on the client from whole sequences of the first partitions, up
        to this many frames; None (the default) uses all the data, which
        makes the fit equal to a local ``fit``.
    split_every : int, default=8
        Fan-in of the tree reduction of the statistics.

    Returns
    -------
    BaseHMM
        ``model``, fitted.

    Examples
    --------
    >>> from dask.distributed import Client, LocalCluster     # doctest: +SKIP
    >>> from hmm_core import GaussianHMM, distributed as hd    # doctest: +SKIP
    >>> with LocalCluster(n_workers=2) as cluster, Client(cluster) as client:  # doctest: +SKIP
    ...     model = hd.fit(GaussianHMM(3, n_iter=50), hd.from_files(paths))
    """
    client = get_client(client)
    parts = as_partitions(data)
    model._check_settings()
    if model.training not in ("baum-welch", "viterbi"):
        raise ValueError(f"unknown training {model.training!r}")
    loaded = parts.submit(client, _worker.materialize)
    try:
        sample = _sample(client, loaded, init_frames)
        driver = _Driver(client, model, loaded, parts.names, split_every)
        random_state = model._random_source()
        if model.n_init == 1:
            driver.fit_once(sample, random_state)
            return model
        initial = model._snapshot()
        best_score, best = -np.inf, None
        for _ in range(model.n_init):
            model._restore(initial)
            driver.fit_once(sample, random_state)
            model._check()
            score = driver.objective()
            if best is None or score > best_score:
                best_score, best = score, model._snapshot()
        model._restore(best)
        model._check()
        return model
    finally:
        # Release, not cancel: cancelling keys whose dependents just failed
        # trips an assertion in the scheduler and drops this client.
        for future in loaded:
            future.release()
