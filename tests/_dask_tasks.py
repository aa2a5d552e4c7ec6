"""Tasks the distributed tests submit to Dask workers.

They live in a module of their own, on the path the workers inherit
(``tests/``), because the workers cannot import a test module pytest loaded
by file path: a task defined there would kill the worker that unpickles it.
"""

import os
import time


def kernel_section(model, delay):
    """Report the thread counts a kernel call sees inside a worker, and when it ran."""
    from threadpoolctl import threadpool_info

    from hmm_core.distributed._worker import kernel_threads, worker_threads
    from hmm_core.kernels.config import effective_n_threads

    with kernel_threads(model) as n:
        start = time.perf_counter()
        used = effective_n_threads(model.n_threads)
        blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        time.sleep(delay)
        return {"pid": os.getpid(), "n": n, "kernel": used,
                "blas": blas, "start": start, "end": time.perf_counter(),
                "worker": worker_threads()}
