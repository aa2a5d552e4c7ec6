"""Time hmm_core against the pure-NumPy reference (and optionally hmmlearn).

Usage::

    python benchmarks/compare.py [--quick] [--hmmlearn] [--json out.json] [--sizes 4,16,64,256]

Workloads (categorical emissions, 32 symbols, symbols sampled from the model):

* ``long``:  one sequence of 100,000 steps;
* ``batch``: 1,000 sequences of 1,000 steps.

Operations, each timed from the symbols and the model parameters (so every
library pays for its own validation and emission look-up):

* ``score``:      total forward log-likelihood.
  hmm_core ``CategoricalHMM.score``; reference ``forward_loglik`` on
  ``categorical_log_frameprob``; hmmlearn ``score``.
* ``viterbi``:    best path. hmm_core ``decode``; reference ``viterbi``;
  hmmlearn ``decode``.
* ``posteriors``: state posteriors. hmm_core ``score_samples`` (what
  ``predict_proba`` calls); reference ``posteriors``; hmmlearn ``score_samples``.
* ``em``:         one Baum-Welch iteration (E-step + M-step of start,
  transitions and emissions). hmm_core ``CategoricalHMM.fit`` with
  ``init_params=""``, ``n_iter=1``, ``tol=-inf`` (i.e. ``ChainParams.estep``
  plus the categorical M-step); reference ``baum_welch_categorical(n_iter=1)``;
  hmmlearn ``fit`` with ``init_params=""``, ``params="ste"``, ``n_iter=1``.

Timing: the median of repeated calls. A first call under 1 s is a discarded
warm-up followed by 5 to 20 timed calls; a first call of 1 to 10 s is kept and
followed by 2 more; a first call over 10 s is the only one. hmm_core runs with
its default thread count (``omp_get_max_threads()``) and, in the ``hc 1T``
column, with ``n_threads=1``: only for the batch workload (a single sequence
always runs on one thread, shown as ``= (1 seq)``) and only where the default
run took under ``--budget``/3 seconds. With ``--hmmlearn`` each hmmlearn cell is first
timed on about 2% of the frames; a cell whose linear extrapolation exceeds
``--budget`` seconds (default 60) is reported as ``skipped (est. X s)``.

Every cell checks that hmm_core and the reference agree on the cell's score
(forward log-likelihood, Viterbi log-probability, or the E-step
log-likelihood) to rtol 1e-8; a mismatch is printed loudly and makes the
script exit with status 1.
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
from hmm_core import reference

SEED = 20240601
N_SYMBOLS = 32
OPS = ("score", "viterbi", "posteriors", "em")
RTOL = 1e-8
FULL_WORKLOADS = {"long": (1, 100_000), "batch": (1_000, 1_000)}
QUICK_WORKLOADS = {"long": (1, 2_000), "batch": (20, 200)}
FULL_SIZES = (4, 16, 64, 256)
QUICK_SIZES = (4, 16, 64)
LIBS = ("hmm_core", "hc_1t", "reference", "hl_log", "hl_scaling")
HEADERS = {
    "hmm_core": "hmm_core",
    "hc_1t": "hc 1T",
    "reference": "reference",
    "hl_log": "hmmlearn log",
    "hl_scaling": "hmmlearn scaling",
}


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


RUNNERS = {
    "hmm_core": run_hmm_core,
    "hc_1t": partial(run_hmm_core, n_threads=1),
    "reference": run_reference,
    "hl_log": partial(run_hmmlearn, implementation="log"),
    "hl_scaling": partial(run_hmmlearn, implementation="scaling"),
}


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


def table_lines(results, with_hmmlearn):
    cols = ["workload", "op", "N", "hmm_core", "hc 1T", "reference", "ref/hc"]
    if with_hmmlearn:
        cols += ["hmmlearn log", "hmmlearn scaling", "hl/hc"]
    cols += ["load", "check"]
    rows = []
    for r in results:
        t = r["timings"]
        hc = t["hmm_core"]["median"]
        row = [r["workload"], r["op"], str(r["n_components"]), cell_text(t["hmm_core"]),
               cell_text(t.get("hc_1t")), cell_text(t["reference"]),
               fmt_ratio(t["reference"]["median"] / hc)]
        if with_hmmlearn:
            best = r.get("hmmlearn_best")
            if best is not None:
                ratio = fmt_ratio(best / hc)
            elif r.get("hmmlearn_best_estimate") is not None:
                ratio = "~" + fmt_ratio(r["hmmlearn_best_estimate"] / hc) + " (est.)"
            else:
                ratio = "-"
            row += [cell_text(t.get("hl_log")), cell_text(t.get("hl_scaling")), ratio]
        load = r.get("loadavg_1min")
        row.append("-" if load is None else f"{load:.1f}")
        row.append("ok" if r["check"]["ok"] else "MISMATCH")
        rows.append(row)
    widths = [max(len(c), *(len(row[i]) for row in rows)) if rows else len(c)
              for i, c in enumerate(cols)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(cols), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in rows]
    return out


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
                        "repeats (under a minute)")
    parser.add_argument("--hmmlearn", action="store_true", help="also time hmmlearn 0.3")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--sizes", help="comma-separated numbers of states (default "
                        "4,16,64,256; with --quick 4,16,64)")
    parser.add_argument("--ops", default=",".join(OPS), help=f"subset of {','.join(OPS)}")
    parser.add_argument("--workloads", default="long,batch", help="subset of long,batch")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="skip hmmlearn cells estimated above this many seconds")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="limit the BLAS pools (used by the reference's matrix products) "
                        "to this many threads with threadpoolctl; default: leave as is")
    parser.add_argument("--no-single-thread", action="store_true",
                        help="do not time hmm_core with n_threads=1")
    args = parser.parse_args(argv)
    sizes = args.sizes or ",".join(map(str, QUICK_SIZES if args.quick else FULL_SIZES))
    args.sizes = [int(s) for s in sizes.split(",") if s.strip()]
    args.ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for o in args.ops:
        if o not in OPS:
            parser.error(f"unknown op {o!r}")
    for w in args.workloads:
        if w not in FULL_WORKLOADS:
            parser.error(f"unknown workload {w!r}")
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        _blas_limit = threadpool_limits(args.blas_threads, user_api="blas")  # noqa: F841
    workloads = QUICK_WORKLOADS if args.quick else FULL_WORKLOADS
    machine = machine_info()
    vers = versions(args.hmmlearn)
    print_header(machine, vers)
    print("workloads: " + ", ".join(f"{w} = {workloads[w][0]} x {workloads[w][1]} steps"
                                    for w in args.workloads)
          + f"; {N_SYMBOLS} symbols; N in {args.sizes}; ops {args.ops}")
    print("hmm_core em = CategoricalHMM.fit(init_params='', n_iter=1, tol=-inf) "
          "(ChainParams.estep + categorical M-step)", flush=True)

    doc = {"command": " ".join(["python", *sys.argv]), "machine": machine,
           "versions": vers, "seed": SEED, "n_symbols": N_SYMBOLS,
           "blas_threads": args.blas_threads, "quick": args.quick,
           "workloads": {w: {"n_seq": workloads[w][0], "length": workloads[w][1]}
                         for w in args.workloads},
           "hmmlearn_budget_s": args.budget if args.hmmlearn else None, "results": []}
    libs = ["hmm_core"] + ([] if args.no_single_thread else ["hc_1t"]) + ["reference"]
    if args.hmmlearn:
        libs += ["hl_log", "hl_scaling"]
    warnings.filterwarnings("ignore", module="hmmlearn")
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)  # "degenerate solution" notes
    if args.hmmlearn:  # pay for imports and first-call costs before any estimate
        tiny = make_params(4)
        Xt, lt = sample_symbols(tiny, 2, 50)
        for lib in ("hl_log", "hl_scaling"):
            for op in args.ops:
                RUNNERS[lib](op, tiny, Xt, lt)
    n_cells = len(args.workloads) * len(args.sizes) * len(args.ops)
    k = 0
    mismatches = []
    for wname in args.workloads:
        n_seq, length = workloads[wname]
        for n in args.sizes:
            params = make_params(n)
            X, lengths = sample_symbols(params, n_seq, length)
            for op in args.ops:
                k += 1
                timings, outputs = {}, {}
                hl_estimates = []
                for lib in libs:
                    fn = partial(RUNNERS[lib], op, params, X, lengths)
                    if lib == "hc_1t":
                        if n_seq == 1:  # one sequence always runs on one thread
                            timings[lib] = {"skipped": True, "reason": "1 seq"}
                            continue
                        if timings["hmm_core"]["median"] > args.budget / 3:
                            timings[lib] = {"skipped": True, "reason": "slow"}
                            continue
                    if lib.startswith("hl_"):
                        Xs, ls = _subset(X, lengths, 0.02)
                        t0 = time.perf_counter()
                        RUNNERS[lib](op, params, Xs, ls)
                        estimate = (time.perf_counter() - t0) * X.shape[0] / Xs.shape[0]
                        hl_estimates.append(estimate)
                        if estimate > args.budget:
                            timings[lib] = {"skipped": True, "estimate": estimate}
                            continue
                    times, cpu, out = measure(fn, quick=args.quick)
                    timings[lib] = {"median": statistics.median(times), "times": times,
                                    "cpu_times": cpu}
                    if lib in ("hmm_core", "reference"):
                        outputs[lib] = _thin(op, out)
                    elif lib.startswith("hl_"):
                        ref_score = outputs["reference"][0]
                        timings[lib]["rel_err_vs_reference"] = abs(
                            float(out[0]) - ref_score) / abs(ref_score)
                    del out
                check = check_cell(op, outputs["hmm_core"], outputs["reference"])
                outputs.clear()
                entry = {"workload": wname, "op": op, "n_components": n, "n_seq": n_seq,
                         "length": length, "timings": timings, "check": check,
                         "loadavg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
                if args.hmmlearn:
                    done = [timings[h]["median"] for h in ("hl_log", "hl_scaling")
                            if "median" in timings[h]]
                    entry["hmmlearn_best"] = min(done) if done else None
                    entry["hmmlearn_best_estimate"] = min(hl_estimates)
                doc["results"].append(entry)
                summary = "  ".join(f"{HEADERS[lib]}={cell_text(timings[lib])}" for lib in libs)
                print(f"[{k}/{n_cells}] {wname} {op} N={n}: {summary}", flush=True)
                if not check["ok"]:
                    msg = (f"!!! MISMATCH {wname} {op} N={n}: hmm_core {check['hmm_core_score']!r}"
                           f" vs reference {check['reference_score']!r} "
                           f"(rel err {check['rel_err']:.3g} > {RTOL})")
                    print(msg, flush=True)
                    mismatches.append(msg)
                if args.json:
                    _write_json(args.json, doc)
            del X, lengths

    doc["total_seconds"] = time.perf_counter() - start
    doc["mismatches"] = mismatches
    print()
    print("\n".join(table_lines(doc["results"], args.hmmlearn)))
    print()
    legend = ("times: median wall time; ref/hc = reference / hmm_core; hc 1T = hmm_core with "
              "n_threads=1 (batch only); load = 1-minute load average after the cell")
    if args.hmmlearn:
        legend += "; hl/hc = faster hmmlearn implementation / hmm_core"
    print(legend)
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
