"""Issue 5's comparison table: hmm_core against hmmlearn and the NumPy reference.

Usage::

    python benchmarks/compare.py [--quick] [--sizes 4,16,64,256] [--json out.json]
        [--emissions categorical,gaussian] [--ops score,posteriors,viterbi,em]
        [--workloads long,batch] [--no-hmmlearn] [--sections table,machine,memory]
    python benchmarks/compare.py --memory        # only the memory section

With no options it prints the whole issue-5 table (about an hour or more on a
2-core machine; most of it is hmmlearn and the reference at N = 256).

Sections:

* ``table``: every (emissions, workload, N, op) cell, timed for hmm_core,
  the NumPy reference and hmmlearn 0.3.3 (``implementation="log"`` and
  ``"scaling"``), with the ratios to the faster hmmlearn (``hl/hc``) and to
  the reference (``ref/hc``; for ``batch`` the reference advances all the
  equal-length sequences in lockstep, one matrix-matrix product per step), the
  issue's target for the cell and PASS/MISS;
* ``machine``: the machine-limit rows. For each N, the cell rate (steps x N^2
  per second) of hmm_core's forward pass over one long sequence with the
  frame log-likelihoods given (``hmm_core.forward``), against a plain
  matrix-vector product (BLAS ``dgemv``, one thread) repeated in a loop, and
  the percentage (issue 5: >= 50% at N = 256). The loop is
  ``hmm_core._forward._dgemv_loop`` when the package has it (compiled, no
  Python per step); otherwise the faster of a Python loop of
  ``np.dot(A, x, out=y)`` and ``np.matmul`` over a stack of vectors, which
  Python/NumPy call overhead makes unfair below N = 64 (flagged in the output);
* ``memory``: ``benchmarks/memory.py`` (one sequence of 10^7 steps at N = 16:
  bytes allocated beyond the input by the model's ``score`` and by
  ``hmm_core.forward`` on given frame log-likelihoods, by tracemalloc and by
  the peak RSS of a subprocess; Viterbi back-pointer bytes per cell).

Emissions (the same parameters for every library, data sampled from the model,
fixed seeds):

* ``categorical``: 32 symbols; hmm_core ``CategoricalHMM``; reference
  ``categorical_log_frameprob`` + ``hmm_core.reference``; hmmlearn
  ``CategoricalHMM``;
* ``gaussian``: diagonal covariances, 8 features; hmm_core
  ``GaussianHMM(covariance_type="diag")``; reference: NumPy log densities
  (``compare_emissions.reference_log_frameprob``, matrix products against
  1/var and mean/var) + ``hmm_core.reference`` (+ a NumPy M-step for ``em``);
  hmmlearn ``GaussianHMM(covariance_type="diag")``.

Workloads: ``long`` = one sequence of 100,000 steps; ``batch`` = 1,000
sequences of 1,000 steps (both cores in use: hmm_core's default thread count).

Operations, each timed from the observations and the parameters (so every
library pays for its own validation and emission log-likelihoods):

* ``score``:      total forward log-likelihood (``score``);
* ``posteriors``: state posteriors (``score_samples``, what ``predict_proba``
  calls; reference ``posteriors``);
* ``viterbi``:    best path (``decode(algorithm="viterbi")``; reference ``viterbi``);
* ``em``:         one Baum-Welch iteration (E-step + M-step of start,
  transitions and emissions): ``fit`` with ``init_params=""``, ``n_iter=1``
  (hmm_core ``tol=-inf``); reference ``baum_welch_categorical(n_iter=1)``, or
  for Gaussian ``reference.estep`` + a NumPy M-step.

Timing: the median of repeated calls. A first call under 1 s is a discarded
warm-up followed by 5 to 20 timed calls (3 with ``--quick``); a first call of
1 to 10 s is kept and followed by 2 more; a first call over 10 s is the only
one. hmm_core runs with its default thread count (``omp_get_max_threads()``)
and, in the ``hc 1T`` column, with ``n_threads=1``: only for the batch
workload (not timed for a single sequence, shown as ``= (1 seq)``: its score
and Viterbi path run on one thread, its posteriors and E-step on two, the
forward and the backward pass at once) and only where the default run took
under ``--budget``/3 seconds. Each hmmlearn cell is first timed on about 2% of the frames; a cell
whose linear extrapolation exceeds ``--budget`` seconds (default 60) is
reported as ``skipped (est. X s)``, and a ratio or verdict that rests on such
an estimate is marked ``(est.)``. With ``--reference-budget`` the reference
is treated alike where no target rests on it (Viterbi and EM, and the long
workload): timed on 5% of the workload and, past the budget, reported as an
estimate, hmm_core then being checked against it on that 5%.

Every cell checks that hmm_core and the reference agree on the cell's score
(forward log-likelihood, Viterbi log-probability, or the E-step
log-likelihood) to rtol 1e-8; a mismatch is printed loudly and makes the
script exit with status 1. A MISS against a target does not change the exit
status (the targets are goals, not tests).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import statistics
import sys
import time
import warnings
from functools import partial

import numpy as np

import hmm_core
from hmm_core.testing import reference

SEED = 20240601
N_SYMBOLS = 32
N_FEATURES = 8  # Gaussian (diagonal) emissions
EMISSIONS = ("categorical", "gaussian")
OPS = ("score", "posteriors", "viterbi", "em")
RTOL = 1e-8
FULL_WORKLOADS = {"long": (1, 100_000), "batch": (1_000, 1_000)}
QUICK_WORKLOADS = {"long": (1, 2_000), "batch": (20, 200)}
FULL_SIZES = (4, 16, 64, 256)
QUICK_SIZES = (4, 16, 64)
SECTIONS = ("table", "machine", "memory")
LIBS = ("hmm_core", "hc_1t", "reference", "hl_log", "hl_scaling")
HEADERS = {
    "hmm_core": "hmm_core",
    "hc_1t": "hc 1T",
    "reference": "reference",
    "hl_log": "hmmlearn log",
    "hl_scaling": "hmmlearn scaling",
}


def _sibling(name):
    """Import another module of benchmarks/ (as a package member or as a script)."""
    import importlib

    if __package__:
        return importlib.import_module(f"{__package__}.{name}")
    return importlib.import_module(name)


# ---------------------------------------------------------------- targets


def target(workload: str, op: str, n_components: int):
    """Issue 5's target for a cell: (min ratio to the faster hmmlearn, min ratio
    to the NumPy reference or None)."""
    big = n_components >= 16
    if op in ("score", "posteriors"):
        if workload == "long":
            return 5.0, None
        return (10.0 if big else 5.0), 1.5
    if op == "viterbi":
        return 3.0, None
    if op == "em":
        return (10.0 if workload == "batch" and big else 5.0), None
    raise ValueError(op)


def target_text(workload, op, n_components):
    hl, ref = target(workload, op, n_components)
    out = f">={hl:g}x hl"
    return out + (f", >={ref:g}x ref" if ref is not None else "")


def verdict(entry):
    """PASS / MISS for one table entry (``(est.)`` when it rests on an estimate)."""
    hl_min, ref_min = target(entry["workload"], entry["op"], entry["n_components"])
    t = entry["timings"]
    hc = t["hmm_core"]["median"]
    ok, estimated = True, False
    best = entry.get("hmmlearn_best")
    if best is None:
        best = entry.get("hmmlearn_best_estimate")
        estimated = True
    if best is None:
        return "n/a (no hmmlearn)"
    ok &= best / hc >= hl_min
    if ref_min is not None:
        ok &= _ref_median(t) / hc >= ref_min
    word = "PASS" if ok else "MISS"
    return word + (" (est.)" if estimated else "")


# ----------------------------------------------------------------- inputs


def make_params(n_components: int, seed: int = SEED):
    """Start, transition and emission probabilities, fixed by (seed, N)."""
    rng = np.random.default_rng([seed, n_components])
    startprob = rng.dirichlet(np.ones(n_components))
    transmat = 0.5 * rng.dirichlet(np.ones(n_components), size=n_components)
    transmat += 0.5 * np.eye(n_components)  # sticky states, as in most HMMs
    transmat /= transmat.sum(axis=1, keepdims=True)
    emissionprob = rng.dirichlet(np.full(N_SYMBOLS, 0.5), size=n_components)
    emissionprob = 0.99 * emissionprob + 0.01 / N_SYMBOLS  # no (near-)zero emission
    emissionprob /= emissionprob.sum(axis=1, keepdims=True)
    return startprob, transmat, emissionprob


def _draw(cum, u):
    """Index of the first cumulative entry above u, row by row."""
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)


def sample_symbols(params, n_seq: int, length: int, seed: int = SEED):
    """Sample ``n_seq`` sequences of ``length`` symbols from the model.

    Returns X of shape (n_seq * length, 1) int64 and the lengths.
    """
    startprob, transmat, emissionprob = params
    n = startprob.shape[0]
    rng = np.random.default_rng([seed, n, n_seq, length])
    cum_start = np.cumsum(startprob)[None, :]
    cum_trans = np.cumsum(transmat, axis=1)
    cum_emit = np.cumsum(emissionprob, axis=1)
    u = rng.random((length, n_seq))
    states = np.empty((length, n_seq), dtype=np.int64)
    states[0] = _draw(np.broadcast_to(cum_start, (n_seq, n)), u[0])
    for t in range(1, length):
        states[t] = _draw(cum_trans[states[t - 1]], u[t])
    states = states.T.ravel()  # sequence-major: sequence s is rows s*length..
    symbols = _draw(cum_emit[states], rng.random(states.shape[0]))
    return symbols.reshape(-1, 1), np.full(n_seq, length, dtype=np.int64)


# ------------------------------------------------------------ the runners


def _hc_model(params, n_threads=None):
    startprob, transmat, emissionprob = params
    model = hmm_core.CategoricalHMM(
        n_components=startprob.shape[0], n_features=N_SYMBOLS, init_params="",
        params="ste", n_iter=1, tol=-np.inf, n_threads=n_threads)
    model.startprob_ = startprob.copy()
    model.transmat_ = transmat.copy()
    model.emissionprob_ = emissionprob.copy()
    return model


def run_hmm_core(op, params, X, lengths, n_threads=None):
    """Run one operation with the hmm_core estimator; return (score, extra)."""
    model = _hc_model(params, n_threads)
    if op == "score":
        return model.score(X, lengths), None
    if op == "viterbi":
        logprob, path = model.decode(X, lengths, algorithm="viterbi")
        return logprob, path
    if op == "posteriors":
        loglik, post = model.score_samples(X, lengths)
        return loglik, post
    if op == "em":
        model.fit(X, lengths)
        return model.monitor_.history[0], model.transmat_
    raise ValueError(op)


def run_reference(op, params, X, lengths):
    """Run one operation with :mod:`hmm_core.reference`; return (score, extra)."""
    startprob, transmat, emissionprob = params
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    if op == "em":
        res = reference.baum_welch_categorical(
            X, offsets, startprob, transmat, emissionprob, n_iter=1)
        return res["loglik_history"][0], res["transmat"]
    log_start = np.log(startprob)
    frames = reference.categorical_log_frameprob(X, emissionprob)
    if op == "score":
        return float(reference.forward_loglik(log_start, transmat, frames, offsets).sum()), None
    if op == "viterbi":
        logprob, path = reference.viterbi(log_start, transmat, frames, offsets)
        return float(logprob.sum()), path
    if op == "posteriors":
        loglik, post = reference.posteriors(log_start, transmat, frames, offsets)
        return float(loglik.sum()), post
    raise ValueError(op)


def run_hmmlearn(op, params, X, lengths, implementation):
    """Run one operation with hmmlearn's CategoricalHMM; return (score, extra)."""
    from hmmlearn import hmm

    startprob, transmat, emissionprob = params
    model = hmm.CategoricalHMM(
        n_components=startprob.shape[0], n_features=N_SYMBOLS, implementation=implementation,
        init_params="", params="ste", n_iter=1, tol=-np.inf)
    model.startprob_ = startprob.copy()
    model.transmat_ = transmat.copy()
    model.emissionprob_ = emissionprob.copy()
    if op == "score":
        return model.score(X, lengths), None
    if op == "viterbi":
        return model.decode(X, lengths, algorithm="viterbi")
    if op == "posteriors":
        loglik, post = model.score_samples(X, lengths)
        return loglik, post
    if op == "em":
        model.fit(X, lengths)
        return float(model.monitor_.history[-1]), model.transmat_
    raise ValueError(op)


RUNNERS = {  # categorical emissions
    "hmm_core": run_hmm_core,
    "hc_1t": partial(run_hmm_core, n_threads=1),
    "reference": run_reference,
    "hl_log": partial(run_hmmlearn, implementation="log"),
    "hl_scaling": partial(run_hmmlearn, implementation="scaling"),
}


def runners(emissions: str):
    """{library: run(op, params, X, lengths)} for ``categorical`` or ``gaussian`` (diag)."""
    if emissions == "categorical":
        return RUNNERS
    if emissions != "gaussian":
        raise ValueError(emissions)
    ce = _sibling("compare_emissions")
    return {
        "hmm_core": ce.run_hmm_core,
        "hc_1t": partial(ce.run_hmm_core, n_threads=1),
        "reference": ce.run_reference,
        "hl_log": partial(ce.run_hmmlearn, implementation="log"),
        "hl_scaling": partial(ce.run_hmmlearn, implementation="scaling"),
    }


def make_inputs(emissions: str, n_components: int, n_seq: int, length: int):
    """(params, X, lengths) of a workload, sampled from the model (fixed seed)."""
    if emissions == "categorical":
        params = make_params(n_components)
        return (params, *sample_symbols(params, n_seq, length))
    if emissions != "gaussian":
        raise ValueError(emissions)
    ce = _sibling("compare_emissions")
    params = ce.make_params("gauss-diag", N_FEATURES, n_components)
    return (params, *ce.sample(params, n_seq, length))


# ----------------------------------------------------------------- timing


def measure(fn, quick=False, single_above=10.0):
    """Wall times of repeated ``fn()`` calls; returns (times, cpu_times, last result).

    The first call is discarded as a warm-up when it takes under 1 s and then
    followed by 5 to 20 timed calls (3 with ``quick``); a first call of 1 to
    ``single_above`` seconds is kept and followed by 2 more; a longer first
    call is the only one.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    first = time.perf_counter() - t0
    cpu = [time.process_time() - c0]
    if first > single_above:
        return [first], cpu, out
    if first >= 1.0:
        times, n_more = [first], 2
    elif quick:
        times, cpu, n_more = [], [], 3
    else:  # the first call was a warm-up
        times, cpu, n_more = [], [], max(5, min(20, int(1.0 / max(first, 1e-9))))
    for _ in range(n_more):
        out = None  # release the previous result before the next call
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times, cpu, out


def _subset(X, lengths, fraction):
    """A prefix of the workload holding about ``fraction`` of its frames."""
    if lengths.shape[0] == 1:
        n = max(500, int(lengths[0] * fraction))
        n = min(n, int(lengths[0]))
        return X[:n], np.array([n], dtype=np.int64)
    k = max(2, int(round(lengths.shape[0] * fraction)))
    k = min(k, lengths.shape[0])
    return X[: int(lengths[:k].sum())], lengths[:k]


# ----------------------------------------------------------------- report


def fmt_time(t):
    if t is None:
        return "-"
    if t >= 1.0:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.1f} ms"
    return f"{t * 1e6:.0f} us"


def fmt_ratio(r):
    if r is None or not math.isfinite(r):
        return "-"
    return f"{r:.1f}x" if r >= 10 else f"{r:.2f}x"


def _ref_median(timings):
    """The reference's median time, or its estimate when it was skipped."""
    ref = timings["reference"]
    return ref["median"] if "median" in ref else ref["estimate"]


def cell_text(timing):
    if timing is None:
        return "-"
    if timing.get("skipped"):
        if timing.get("reason") == "1 seq":
            return "= (1 seq)"
        if timing.get("estimate") is None:
            return "skipped"
        return f"skipped (est. {timing['estimate']:.0f} s)"
    return fmt_time(timing["median"])


def _hl_ratio_text(r, hc):
    best = r.get("hmmlearn_best")
    if best is not None:
        return fmt_ratio(best / hc)
    if r.get("hmmlearn_best_estimate") is not None:
        return "~" + fmt_ratio(r["hmmlearn_best_estimate"] / hc) + " (est.)"
    return "-"


def _markdown(cols, rows):
    widths = [max(len(c), *(len(row[i]) for row in rows)) if rows else len(c)
              for i, c in enumerate(cols)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(cols), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in rows]
    return out


def table_lines(results, with_hmmlearn):
    cols = ["emissions", "workload", "op", "N", "hmm_core", "hc 1T", "reference", "ref/hc"]
    if with_hmmlearn:
        cols += ["hmmlearn log", "hmmlearn scaling", "hl/hc", "target", "status"]
    cols += ["load", "check"]
    rows = []
    for r in results:
        t = r["timings"]
        hc = t["hmm_core"]["median"]
        row = [r.get("emissions", "categorical"), r["workload"], r["op"],
               str(r["n_components"]), cell_text(t["hmm_core"]),
               cell_text(t.get("hc_1t")), cell_text(t["reference"]),
               fmt_ratio(_ref_median(t) / hc) + ("" if "median" in t["reference"]
                                                 else " (est.)")]
        if with_hmmlearn:
            row += [cell_text(t.get("hl_log")), cell_text(t.get("hl_scaling")),
                    _hl_ratio_text(r, hc), r.get("target", ""), r.get("status", "")]
        load = r.get("loadavg_1min")
        row.append("-" if load is None else f"{load:.1f}")
        row.append("ok" if r["check"]["ok"] else "MISMATCH")
        rows.append(row)
    return _markdown(cols, rows)


def machine_info():
    """CPU, cores, thread settings and threadpoolctl's view of the BLAS/OpenMP pools."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        cpu = platform.processor() or "unknown"
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    try:
        from threadpoolctl import threadpool_info

        pools = [{k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version",
                                         "threading_layer", "filepath")}
                 for p in threadpool_info()]
    except ImportError:
        pools = "threadpoolctl not installed"
    config = hmm_core.show_config(print_out=False)
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "usable_cores": affinity,
        "platform": platform.platform(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "hmm_core_openmp": config["openmp"],
        "hmm_core_max_threads": config["max_threads"],
        "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "threadpools": pools,
    }


def versions(with_hmmlearn):
    import scipy

    out = {"python": platform.python_version(), "hmm_core": hmm_core.__version__,
           "numpy": np.__version__, "scipy": scipy.__version__}
    if with_hmmlearn:
        import hmmlearn

        out["hmmlearn"] = hmmlearn.__version__
    try:
        import threadpoolctl

        out["threadpoolctl"] = threadpoolctl.__version__
    except ImportError:
        pass
    return out


def print_header(machine, vers):
    print("machine:")
    print(f"  cpu: {machine['cpu']}")
    print(f"  cores: {machine['logical_cores']} logical, {machine['usable_cores']} usable")
    print(f"  platform: {machine['platform']}")
    print(f"  OMP_NUM_THREADS={machine['OMP_NUM_THREADS']}  "
          f"OPENBLAS_NUM_THREADS={machine['OPENBLAS_NUM_THREADS']}")
    print(f"  hmm_core: openmp={machine['hmm_core_openmp']} "
          f"max_threads={machine['hmm_core_max_threads']}")
    if machine["loadavg_at_start"] is not None:
        print("  load average at start: " + " ".join(f"{x:.2f}" for x in
                                                    machine["loadavg_at_start"]))
    print("  threadpoolctl:")
    if isinstance(machine["threadpools"], str):
        print(f"    {machine['threadpools']}")
    else:
        for p in machine["threadpools"]:
            print(f"    {p['user_api']}/{p['internal_api']} {p['version']} "
                  f"num_threads={p['num_threads']} ({os.path.basename(p['filepath'] or '')})")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()))


# ---------------------------------------------------------- machine limit

MACHINE_TARGET_N = 256
MACHINE_TARGET_PCT = 50.0


def compiled_dgemv_loop():
    """``hmm_core._forward._dgemv_loop(a, x, n_steps)`` if the package has it, else None.

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
            return {"method": "hmm_core._forward._dgemv_loop", "cells_per_s": rate,
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


def machine_lines(rows):
    cols = ["N", "steps", "forward (frames given)", "score (model)", "dgemv loop", "forward/dgemv",
            "target", "status", "dgemv method"]
    out = []
    for r in rows:
        g = r["dgemv"]
        score = r.get("score_cells_per_s")
        out.append([str(r["n_components"]), str(r["steps"]),
                    f"{r['forward_cells_per_s'] / 1e9:.3f} G/s",
                    "-" if score is None else f"{score / 1e9:.3f} G/s",
                    f"{g['cells_per_s'] / 1e9:.3f} G/s",
                    f"{r['percent']:.0f}%" + ("" if g["fair"] else " (unfair)"),
                    r.get("target", "-"), r.get("status", "-"), g["method"]])
    return _markdown(cols, out)


# ------------------------------------------------------------------- main


def _thin(op, out):
    """Keep at most ~100,000 rows of a posterior matrix for the check (memory)."""
    score, extra = out
    if op == "posteriors":
        extra = extra[:: max(1, extra.shape[0] // 100_000)].copy()
    return score, extra


def check_cell(op, hc, ref):
    """Compare hmm_core's and the reference's outputs for one cell."""
    (hc_score, hc_extra), (ref_score, ref_extra) = hc, ref
    hc_score, ref_score = float(hc_score), float(ref_score)
    rel = abs(hc_score - ref_score) / max(abs(ref_score), 1e-300)
    check = {"hmm_core_score": hc_score, "reference_score": ref_score, "rel_err": rel,
             "ok": bool(rel <= RTOL)}
    if op == "viterbi":
        check["path_mismatch_frac"] = float(np.mean(hc_extra != ref_extra))
    elif op in ("posteriors", "em"):
        check["max_abs_diff"] = float(np.max(np.abs(hc_extra - ref_extra)))
    return check


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: long 2,000 steps, batch 20 x 200, N in 4,16,64, fewer "
                        "repeats, memory at 10^5 steps")
    parser.add_argument("--hmmlearn", action="store_true",
                        help="(default; kept for old command lines) time hmmlearn 0.3")
    parser.add_argument("--no-hmmlearn", action="store_true", help="do not time hmmlearn")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--sizes", help="comma-separated numbers of states (default "
                        "4,16,64,256; with --quick 4,16,64)")
    parser.add_argument("--emissions", default=",".join(EMISSIONS),
                        help=f"subset of {','.join(EMISSIONS)} (Gaussian: diagonal, "
                        f"{N_FEATURES} features)")
    parser.add_argument("--ops", default=",".join(OPS), help=f"subset of {','.join(OPS)}")
    parser.add_argument("--workloads", default="long,batch", help="subset of long,batch")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"subset of {','.join(SECTIONS)}")
    parser.add_argument("--memory", action="store_true",
                        help="only the memory section (same as --sections memory)")
    parser.add_argument("--memory-steps", type=int, default=None,
                        help="sequence length of the memory section (default 10^7; 10^5 "
                        "with --quick)")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="skip hmmlearn cells estimated above this many seconds")
    parser.add_argument("--reference-budget", type=float, default=None,
                        help="for cells with no target on the reference (viterbi, em, long "
                        "workloads): time the reference on 5%% of the workload and, when "
                        "its extrapolation exceeds this many seconds, report the estimate "
                        "and check hmm_core against it on that subset; default: always "
                        "run the whole reference")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="limit the BLAS pools (used by the reference's matrix products) "
                        "to this many threads with threadpoolctl; default: leave as is")
    parser.add_argument("--no-single-thread", action="store_true",
                        help="do not time hmm_core with n_threads=1")
    args = parser.parse_args(argv)
    args.with_hmmlearn = not args.no_hmmlearn
    sizes = args.sizes or ",".join(map(str, QUICK_SIZES if args.quick else FULL_SIZES))
    args.sizes = [int(s) for s in sizes.split(",") if s.strip()]

    def items(text, allowed, what):
        out = [x.strip() for x in text.split(",") if x.strip()]
        for x in out:
            if x not in allowed:
                parser.error(f"unknown {what} {x!r} (choose from {','.join(allowed)})")
        return out

    args.ops = items(args.ops, OPS, "op")
    args.workloads = items(args.workloads, tuple(FULL_WORKLOADS), "workload")
    args.emissions = items(args.emissions, EMISSIONS, "emissions")
    args.sections = ["memory"] if args.memory else items(args.sections, SECTIONS, "section")
    if args.memory_steps is None:
        args.memory_steps = 100_000 if args.quick else 10_000_000
    return args


def _warm_up(emissions, libs, ops):
    """Pay for imports and first-call costs before any estimate or timing."""
    run = runners(emissions)
    params, X, lengths = make_inputs(emissions, 4, 2, 50)
    for lib in libs:
        for op in ops:
            run[lib](op, params, X, lengths)


def run_cell(emissions, wname, op, n, params, X, lengths, libs, args):
    """Time one (emissions, workload, N, op) cell for every library; returns its entry."""
    run = runners(emissions)
    n_seq = int(lengths.shape[0])
    timings, outputs, hl_estimates = {}, {}, []
    for lib in libs:
        fn = partial(run[lib], op, params, X, lengths)
        if lib == "hc_1t":
            if n_seq == 1:  # one sequence always runs on one thread
                timings[lib] = {"skipped": True, "reason": "1 seq"}
                continue
            if timings["hmm_core"]["median"] > args.budget / 3:
                timings[lib] = {"skipped": True, "reason": "slow"}
                continue
        if lib == "reference" and args.reference_budget is not None and \
                target(wname, op, n)[1] is None:
            # No target rests on the reference here: past the budget it only
            # checks hmm_core, on a subset of the workload.
            Xs, ls = _subset(X, lengths, 0.05)
            t0 = time.perf_counter()
            sub_out = run[lib](op, params, Xs, ls)
            estimate = (time.perf_counter() - t0) * X.shape[0] / Xs.shape[0]
            if estimate > args.reference_budget:
                timings[lib] = {"skipped": True, "estimate": estimate}
                outputs[lib] = _thin(op, sub_out)
                outputs["hmm_core_subset"] = _thin(op, run["hmm_core"](op, params, Xs, ls))
                continue
        if lib.startswith("hl_"):
            Xs, ls = _subset(X, lengths, 0.02)
            t0 = time.perf_counter()
            run[lib](op, params, Xs, ls)
            estimate = (time.perf_counter() - t0) * X.shape[0] / Xs.shape[0]
            hl_estimates.append(estimate)
            if estimate > args.budget:
                timings[lib] = {"skipped": True, "estimate": estimate}
                continue
        times, cpu, out = measure(fn, quick=args.quick)
        timings[lib] = {"median": statistics.median(times), "times": times, "cpu_times": cpu}
        if lib in ("hmm_core", "reference"):
            outputs[lib] = _thin(op, out)
        elif lib.startswith("hl_") and "median" in timings["reference"]:
            ref_score = outputs["reference"][0]
            timings[lib]["rel_err_vs_reference"] = abs(
                float(out[0]) - ref_score) / abs(ref_score)
        del out
    check = check_cell(op, outputs.get("hmm_core_subset", outputs["hmm_core"]),
                       outputs["reference"])
    if "hmm_core_subset" in outputs:
        check["on"] = "5% subset"
    outputs.clear()
    entry = {"emissions": emissions, "workload": wname, "op": op, "n_components": n,
             "n_seq": n_seq, "length": int(lengths[0]), "timings": timings, "check": check,
             "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
             "target": target_text(wname, op, n)}
    if args.with_hmmlearn:
        done = [timings[h]["median"] for h in ("hl_log", "hl_scaling") if "median" in timings[h]]
        entry["hmmlearn_best"] = min(done) if done else None
        entry["hmmlearn_best_estimate"] = min(hl_estimates)
        entry["status"] = verdict(entry)
    return entry


def summary_lines(results):
    """Counts of PASS / MISS, and the cells that miss."""
    status = [r.get("status", "") for r in results]
    n_pass = sum(s.startswith("PASS") for s in status)
    misses = [r for r in results if r.get("status", "").startswith("MISS")]
    out = [f"targets: {n_pass} PASS, {len(misses)} MISS of {len(results)} cells"]
    for r in misses:
        hc = r["timings"]["hmm_core"]["median"]
        out.append(f"  MISS {r['emissions']} {r['workload']} {r['op']} N={r['n_components']}: "
                   f"hl/hc {_hl_ratio_text(r, hc)}, ref/hc "
                   f"{fmt_ratio(_ref_median(r['timings']) / hc)} (target {r['target']})")
    return out


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        _blas_limit = threadpool_limits(args.blas_threads, user_api="blas")  # noqa: F841
    workloads = QUICK_WORKLOADS if args.quick else FULL_WORKLOADS
    machine = machine_info()
    vers = versions(args.with_hmmlearn)
    print_header(machine, vers)
    doc = {"command": " ".join(["python", *sys.argv]), "machine": machine,
           "versions": vers, "seed": SEED, "n_symbols": N_SYMBOLS, "n_features": N_FEATURES,
           "blas_threads": args.blas_threads, "quick": args.quick, "sections": args.sections,
           "workloads": {w: {"n_seq": workloads[w][0], "length": workloads[w][1]}
                         for w in args.workloads},
           "hmmlearn_budget_s": args.budget if args.with_hmmlearn else None, "results": []}
    mismatches = []
    if "table" in args.sections:
        print("workloads: " + ", ".join(f"{w} = {workloads[w][0]} x {workloads[w][1]} steps"
                                        for w in args.workloads)
              + f"; emissions {args.emissions} ({N_SYMBOLS} symbols; Gaussian diag "
              f"{N_FEATURES} features); N in {args.sizes}; ops {args.ops}")
        print("em = fit(init_params='', n_iter=1) (hmm_core tol=-inf); reference em = "
              "baum_welch_categorical(n_iter=1), or NumPy emissions + reference.estep + NumPy "
              "M-step", flush=True)
        libs = ["hmm_core"] + ([] if args.no_single_thread else ["hc_1t"]) + ["reference"]
        if args.with_hmmlearn:
            libs += ["hl_log", "hl_scaling"]
        warnings.filterwarnings("ignore", module="hmmlearn")
        logging.getLogger("hmmlearn").setLevel(logging.ERROR)  # "degenerate solution" notes
        n_cells = (len(args.emissions) * len(args.workloads) * len(args.sizes)
                   * len(args.ops))
        k = 0
        for emissions in args.emissions:
            _warm_up(emissions, libs, args.ops)
            for wname in args.workloads:
                n_seq, length = workloads[wname]
                for n in args.sizes:
                    params, X, lengths = make_inputs(emissions, n, n_seq, length)
                    for op in args.ops:
                        k += 1
                        entry = run_cell(emissions, wname, op, n, params, X, lengths, libs,
                                         args)
                        doc["results"].append(entry)
                        timings, check = entry["timings"], entry["check"]
                        summary = "  ".join(f"{HEADERS[lib]}={cell_text(timings[lib])}"
                                            for lib in libs)
                        status = f"  [{entry['status']}]" if "status" in entry else ""
                        print(f"[{k}/{n_cells}] {emissions} {wname} {op} N={n}: "
                              f"{summary}{status}", flush=True)
                        if not check["ok"]:
                            msg = (f"!!! MISMATCH {emissions} {wname} {op} N={n}: hmm_core "
                                   f"{check['hmm_core_score']!r} vs reference "
                                   f"{check['reference_score']!r} "
                                   f"(rel err {check['rel_err']:.3g} > {RTOL})")
                            print(msg, flush=True)
                            mismatches.append(msg)
                        if args.json:
                            _write_json(args.json, doc)
                    del X, lengths
    if "machine" in args.sections:
        long_steps = workloads["long"][1]
        print(f"machine limit: one sequence of {long_steps} steps, dgemv with one BLAS thread",
              flush=True)
        doc["machine_limit"] = machine_limit(args.sizes, long_steps, quick=args.quick,
                                             table=doc["results"])
        if args.json:
            _write_json(args.json, doc)
    if "memory" in args.sections:
        memory = _sibling("memory")
        print(f"memory: one sequence of {args.memory_steps} steps at N = {memory.N_STATES} "
              "(each measurement in a subprocess)", flush=True)
        doc["memory"] = memory.run_all(args.memory_steps)
        if args.json:
            _write_json(args.json, doc)

    doc["total_seconds"] = time.perf_counter() - start
    doc["mismatches"] = mismatches
    if doc["results"]:
        print()
        print("\n".join(table_lines(doc["results"], args.with_hmmlearn)))
        print()
        legend = ("times: median wall time; ref/hc = reference / hmm_core (batch: the "
                  "reference advances the sequences in lockstep); hc 1T = hmm_core with "
                  "n_threads=1 (batch only); load = 1-minute load average after the cell")
        if args.with_hmmlearn:
            legend += ("; hl/hc = faster hmmlearn implementation / hmm_core; target = issue 5's "
                       "(hl = faster hmmlearn, ref = NumPy reference)")
        print(legend)
        if args.with_hmmlearn:
            print("\n".join(summary_lines(doc["results"])))
    if doc.get("machine_limit"):
        print()
        print("machine limit (cells/s = steps x N^2 / s; hmm_core forward on one sequence with "
              "the frame log-likelihoods given; dgemv loop with one BLAS thread):")
        print("\n".join(machine_lines(doc["machine_limit"])))
        if any(not r["dgemv"]["fair"] for r in doc["machine_limit"]):
            print("(unfair): no compiled dgemv loop in this build, and below N = 64 "
                  "the NumPy loop measures call overhead, not the arithmetic")
    if doc.get("memory"):
        print()
        print("\n".join(_sibling("memory").report_lines(doc["memory"])))
    print(f"total run time: {doc['total_seconds']:.0f} s")
    if args.json:
        _write_json(args.json, doc)
        print(f"wrote {args.json}")
    if mismatches:
        print(f"\n!!! {len(mismatches)} MISMATCH(ES) between hmm_core and the reference:")
        for m in mismatches:
            print(m)
        return 1
    return 0


def _write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
