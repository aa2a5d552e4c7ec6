"""The machine limit: hmm_core's forward pass against a BLAS ``dgemv`` loop."""

from __future__ import annotations

import statistics
from functools import partial

import numpy as np

import hmm_core
from hmm_core.testing import reference

from .timing import measure
from .workloads import make_inputs

MACHINE_TARGET_N = 256
MACHINE_TARGET_PCT = 50.0


def compiled_dgemv_loop():
    """``hmm_core.kernels._yardstick.dgemv_loop(a, x, n_steps)`` if the package has it, else None.

    Expected contract: ``a`` C-contiguous float64 (N, N), ``x`` float64 (N,);
    ``n_steps`` times ``x <- x @ a`` (one BLAS ``dgemv`` per step through
    ``scipy.linalg.cython_blas``, GIL released, no Python per step), the result
    left in ``x``.
    """
    try:
        from hmm_core.kernels import _yardstick
    except ImportError:  # pragma: no cover
        return None
    return getattr(_yardstick, "dgemv_loop", None)


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def dgemv_rate(transmat, n_steps, quick=False):
    """Cell rate (steps x N^2 per second) of ``x <- x @ A`` repeated in a loop, one BLAS thread.

    Returns a dict with ``method``, ``cells_per_s``, ``fair`` (False when the
    loop runs through Python/NumPy calls at N < 64, where their overhead, not
    the arithmetic, sets the rate) and the candidates' rates.
    """
    n = transmat.shape[0]
    A = np.ascontiguousarray(transmat, dtype=np.float64)
    compiled = compiled_dgemv_loop()
    with _one_blas_thread():
        if compiled is not None:
            x = np.full(n, 1.0 / n)
            times, _, _ = measure(lambda: compiled(A, x, n_steps), quick=quick)
            rate = n_steps * n * n / statistics.median(times)
            return {"method": "hmm_core.kernels._yardstick.dgemv_loop", "cells_per_s": rate,
                    "fair": True, "steps": n_steps}
        steps = int(min(n_steps, max(2_000, 4e8 // (n * n))))
        x0 = np.full(n, 1.0 / n)

        def loop():
            x, y = x0.copy(), np.empty(n)
            for _ in range(steps):
                np.dot(x, A, out=y)
                x, y = y, x
            return x

        k = int(min(steps, max(1_000, 2**22 // n)))  # stack of k vectors, <= 32 MB
        xs = np.full((k, n, 1), 1.0 / n)
        out = np.empty((k, n, 1))
        candidates = {}
        times, _, _ = measure(loop, quick=quick)
        candidates["numpy: Python loop of np.dot(x, A, out=y)"] = (
            steps * n * n / statistics.median(times))
        times, _, _ = measure(lambda: np.matmul(A.T, xs, out=out), quick=quick)
        candidates["numpy: np.matmul over a stack of vectors"] = (
            k * n * n / statistics.median(times))
    method = max(candidates, key=candidates.get)
    return {"method": method, "cells_per_s": candidates[method], "fair": n >= 64,
            "steps": steps, "candidates": candidates}


def machine_limit(sizes, n_steps, quick=False, table=None):
    """Machine-limit rows: hmm_core's long forward cell rate against the dgemv loop's."""
    rows = []
    for n in sizes:
        params, X, lengths = make_inputs("categorical", n, 1, n_steps)
        startprob, transmat, emissionprob = params
        frames = reference.categorical_log_frameprob(X, emissionprob)
        log_start = np.log(startprob)
        times, _, _ = measure(partial(hmm_core.forward, log_start, transmat, frames),
                              quick=quick)
        fwd = statistics.median(times)
        fwd_rate = n_steps * n * n / fwd
        gemv = dgemv_rate(transmat, n_steps, quick=quick)
        row = {"n_components": n, "steps": n_steps, "forward_seconds": fwd,
               "forward_cells_per_s": fwd_rate, "dgemv": gemv,
               "percent": 100.0 * fwd_rate / gemv["cells_per_s"]}
        for r in table or ():
            if (r.get("emissions") == "categorical" and r["workload"] == "long"
                    and r["op"] == "score" and r["n_components"] == n
                    and r["length"] == n_steps):
                row["score_cells_per_s"] = n_steps * n * n / r["timings"]["hmm_core"]["median"]
        if n == MACHINE_TARGET_N:
            row["target"] = f">={MACHINE_TARGET_PCT:g}%"
            row["status"] = "PASS" if row["percent"] >= MACHINE_TARGET_PCT else "MISS"
        rows.append(row)
        del X, frames
        print(f"[machine] N={n}: forward {fwd_rate / 1e9:.3f} G cells/s, dgemv "
              f"{gemv['cells_per_s'] / 1e9:.3f} G cells/s ({gemv['method']}), "
              f"{row['percent']:.0f}%", flush=True)
    return rows
