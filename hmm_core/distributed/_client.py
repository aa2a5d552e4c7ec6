"""The Dask client of a distributed job, and shipping a model to the workers."""

from __future__ import annotations

import contextlib
import copy

__all__ = ["connect"]

_TIMEOUT = 10


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError("hmm_core.distributed needs Dask: pip install 'hmm-core[dask]'") \
            from None
    return distributed


def get_client(client=None):
    """``client``, or the current default Dask client."""
    if client is not None:
        return client
    distributed = _import_distributed()
    try:
        return distributed.get_client()
    except ValueError:
        raise ValueError("no Dask client: pass client=..., or create a "
                         "dask.distributed.Client first") from None


@contextlib.contextmanager
def connect(scheduler):
    """A Dask client for ``scheduler``, closed on leaving.

    Parameters
    ----------
    scheduler : str
        A scheduler address (``tcp://host:8786``), or ``local:N`` for a
        ``LocalCluster`` of N single-thread worker processes on this
        machine, started here and stopped on leaving.

    Yields
    ------
    distributed.Client
    """
    distributed = _import_distributed()
    if scheduler.startswith("local:"):
        try:
            n_workers = int(scheduler[len("local:"):])
        except ValueError:
            raise ValueError(f"--scheduler {scheduler}: expected local:N with N workers") \
                from None
        if n_workers < 1:
            raise ValueError("local:N needs at least one worker")
        with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                      processes=True, host="127.0.0.1",
                                      dashboard_address=":0") as cluster, \
                distributed.Client(cluster) as client:
            yield client
        return
    with distributed.Client(scheduler) as client:
        yield client


def shipped(model):
    """A copy of ``model`` for the workers: the same parameters, no callback.

    The callback is the client's (progress, logging): it never runs on a worker.
    """
    target = copy.copy(model)
    if "callback" in vars(target):
        target.callback = None
    return target


def _identity(value):
    return value


def broadcast(client, model):
    """Send ``model`` to every worker once; tasks then refer to the copy they hold.

    When a worker died since the last call, Dask's broadcast can stall on it
    (the scheduler keeps replicating to the lost address). After
    ``_TIMEOUT`` seconds the model is instead put into the task graph as a
    task of its own: workers fetch it from its holder, and Dask recomputes
    it if that worker is lost too.

    Returns
    -------
    distributed.Future
    """
    payload = shipped(model)
    try:
        # callback_timeout bounds the whole call (Client.scatter's own timeout
        # covers only connecting).
        return client.sync(client._scatter, payload, broadcast=True, hash=False,
                           direct=True, callback_timeout=_TIMEOUT)
    except (OSError, TimeoutError, KeyError):  # KeyError: the scheduler dropped a worker
        return client.submit(_identity, payload, pure=False)
