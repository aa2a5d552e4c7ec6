"""Memory of scoring one long sequence (target: < 16 MB beyond the input).

Usage::

    python benchmarks/memory.py [--steps 10000000] [--json out.json]

One sequence of ``--steps`` frames (default 10^7) at N = 16 states, 32
symbols drawn uniformly (what a forward pass allocates does not depend on the
symbols). Each case runs in its own subprocess, which builds its input, makes
one small warm-up call, and then measures one call twice:

1. peak RSS: the process's high-water mark (``VmHWM``, reset just before the
   call through ``/proc/self/clear_refs``) minus its RSS before the call; where
   the mark cannot be reset, the growth of ``ru_maxrss`` over the call (which
   misses anything below an earlier peak, and says so);
2. tracemalloc: the peak of the bytes traced during the call (NumPy reports
   its array buffers to tracemalloc; memory a kernel takes with ``malloc``
   does not show here, only in the RSS).

Both count everything the call allocates beyond its input, outputs included.

Cases:

* ``score``: ``CategoricalHMM.score(X)`` with X of shape (T, 1) int64 (the
  input is the symbols);
* ``forward``: ``hmm_core.forward(log_startprob, transmat, log_frameprob)``
  on a given (T, N) float64 ``log_frameprob`` (the input is that matrix);
* ``viterbi`` and ``viterbi_1t``: ``hmm_core.viterbi`` on the same matrix,
  with the default thread count and with ``n_threads=1``. Its outputs (the
  (T,) int64 path) are subtracted, and the rest divided by T x N is reported
  as back-pointer bytes per cell (target: the smallest integer type that
  holds N, 1 byte for N <= 256).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np

N_STATES = 16
N_SYMBOLS = 32
TARGET_BYTES = 16_000_000  # "16 MB"
CASES = {
    "score": "CategoricalHMM.score(X), X (T, 1) int64 symbols",
    "forward": "hmm_core.forward on a given (T, N) float64 log_frameprob",
    "viterbi": "hmm_core.viterbi on the same log_frameprob (default threads)",
    "viterbi_1t": "hmm_core.viterbi on the same log_frameprob, n_threads=1",
}
_DTYPES = {1: "uint8", 2: "uint16", 4: "int32 (or float32)", 8: "int64 (or float64)"}


def _status():
    """VmRSS and VmHWM of this process in bytes (None where /proc is missing)."""
    out = {"VmRSS": None, "VmHWM": None}
    try:
        with open("/proc/self/status") as f:
            for ln in f:
                key = ln.split(":", 1)[0]
                if key in out:
                    out[key] = int(ln.split()[1]) * 1024
    except OSError:
        pass
    return out


def _reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status()["VmHWM"] is not None


def _maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def _nbytes(out):
    if isinstance(out, np.ndarray):
        return out.nbytes
    if isinstance(out, tuple | list):
        return sum(_nbytes(o) for o in out)
    return 0


def measure_case(case: str, n_steps: int, seed: int = 0) -> dict:
    """Run one case in this process; returns the measurements."""
    import hmm_core

    if __package__:
        from .comparison.peers import _hc_model
        from .comparison.workloads import make_params
    else:  # run as a script (each case's subprocess): benchmarks/ is on sys.path
        from comparison.peers import _hc_model
        from comparison.workloads import make_params

    rss_start = _status()["VmRSS"]
    startprob, transmat, emissionprob = params = make_params(N_STATES)
    symbols = np.random.default_rng(seed).integers(0, N_SYMBOLS, size=(n_steps, 1))
    if case == "score":
        model = _hc_model(params)
        inp = symbols

        def call(x):
            return model.score(x)
    else:
        inp = np.empty((n_steps, N_STATES))
        np.take(np.log(emissionprob.T), symbols[:, 0], axis=0, out=inp)
        del symbols
        log_start = np.log(startprob)
        kw = {"n_threads": 1} if case == "viterbi_1t" else {}
        fn = hmm_core.forward if case == "forward" else hmm_core.viterbi

        def call(x):
            return fn(log_start, transmat, x, **kw)
    call(inp[:1000])  # first-call costs (imports, caches) are not the call's memory
    gc.collect()

    before = _status()
    reset = _reset_peak_rss()
    maxrss_before = _maxrss()
    t0 = time.perf_counter()
    out = call(inp)
    seconds = time.perf_counter() - t0
    after = _status()
    if reset:
        rss_extra, rss_method = after["VmHWM"] - before["VmRSS"], "VmHWM reset (clear_refs)"
    else:
        rss_extra = max(0, _maxrss() - maxrss_before)
        rss_method = "ru_maxrss growth (lower bound: misses memory below an earlier peak)"
    out_bytes = _nbytes(out)
    del out
    gc.collect()

    tracemalloc.start()
    out = call(inp)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del out

    cells = n_steps * N_STATES
    res = {"case": case, "what": CASES[case], "n_steps": n_steps, "n_states": N_STATES,
           "input_bytes": int(inp.nbytes), "input": f"{inp.dtype} {inp.shape}",
           "output_bytes": int(out_bytes), "seconds": seconds,
           "rss_beyond_input": int(rss_extra), "rss_method": rss_method,
           "tracemalloc_peak": int(traced_peak), "rss_process_start": rss_start,
           "peak_rss_process": _maxrss(), "target_bytes": TARGET_BYTES,
           "frame_matrix_bytes": cells * 8}
    if case.startswith("viterbi"):
        per_cell = (max(traced_peak, rss_extra) - out_bytes) / cells
        res["backpointer_bytes_per_cell"] = per_cell
        res["backpointer_dtype_inferred"] = next(
            (name for size, name in _DTYPES.items() if abs(per_cell - size) <= 0.1 * size),
            "unclear")
    else:
        worst = max(traced_peak, rss_extra)
        res["status"] = "PASS" if worst < TARGET_BYTES else "MISS"
    return res


def run_case(case: str, n_steps: int, timeout: float = 1800) -> dict:
    """``measure_case`` in a fresh subprocess (its peak RSS is this case's alone)."""
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", case,
                           "--steps", str(n_steps)], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        return {"case": case, "what": CASES[case], "n_steps": n_steps, "error":
                (proc.stderr or proc.stdout).strip().splitlines()[-5:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_all(n_steps: int, cases=tuple(CASES)) -> dict:
    results = []
    for case in cases:
        res = run_case(case, n_steps)
        results.append(res)
        if "error" in res:
            print(f"[memory] {case}: FAILED: {res['error']}", flush=True)
        else:
            print(f"[memory] {case}: tracemalloc peak {_mb(res['tracemalloc_peak'])}, "
                  f"RSS beyond input {_mb(res['rss_beyond_input'])}", flush=True)
    return {"n_steps": n_steps, "n_states": N_STATES, "target_bytes": TARGET_BYTES,
            "cases": results}


def _mb(b):
    return f"{b / 1e6:.1f} MB"


def _likely_cause(frac):
    """What an allocation of ``frac`` x a (T, N) float64 matrix most likely is."""
    if 0.9 <= frac < 1.5:
        return ": the full (T, N) emission log-likelihood matrix is built before the forward pass"
    if 0.11 <= frac < 0.14:
        return (": a (T, N) one-byte array, i.e. a boolean mask over the frames (such as a "
                "NaN/+inf check of the whole log_frameprob)")
    return ""


def report_lines(mem: dict) -> list[str]:
    n_steps, n = mem["n_steps"], mem["n_states"]
    out = [f"memory: one sequence of {n_steps} steps, N = {n}; bytes allocated by the call "
           f"beyond its input (target < {_mb(mem['target_bytes'])} for score/forward)",
           "| case | input | tracemalloc peak | peak RSS - RSS before | status / back-pointers |",
           "|------|-------|------------------|-----------------------|------------------------|"]
    notes = []
    for r in mem["cases"]:
        if "error" in r:
            out.append(f"| {r['case']} | - | - | - | FAILED: {' '.join(r['error'])[:200]} |")
            continue
        if r["case"].startswith("viterbi"):
            last = (f"{r['backpointer_bytes_per_cell']:.2f} B/cell "
                    f"({r['backpointer_dtype_inferred']}) + path {_mb(r['output_bytes'])}")
        else:
            last = r["status"] + ("" if n_steps == 10_000_000 else " (T < 10^7)")
            worst = max(r["tracemalloc_peak"], r["rss_beyond_input"])
            if r["status"] == "MISS":
                frac = worst / r["frame_matrix_bytes"]
                notes.append(f"{r['case']}: {_mb(worst)} beyond the input, "
                             f"{_mb(worst - r['target_bytes'])} over the target; "
                             f"= {frac:.2f} x a (T, N) float64 matrix "
                             f"({_mb(r['frame_matrix_bytes'])})"
                             + _likely_cause(frac))
        out.append(f"| {r['case']} | {r['input']} {_mb(r['input_bytes'])} | "
                   f"{_mb(r['tracemalloc_peak'])} | {_mb(r['rss_beyond_input'])} | {last} |")
    methods = {r["rss_method"] for r in mem["cases"] if "rss_method" in r}
    out.append("RSS: " + "; ".join(sorted(methods)))
    if n_steps != 10_000_000:
        out.append(f"note: the 16 MB target is set at 10^7 steps; this run used {n_steps} "
                   "and the score path grows linearly with T")
    out += notes
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10_000_000)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--child", choices=tuple(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure_case(args.child, args.steps)))
        return 0
    mem = run_all(args.steps, [c.strip() for c in args.cases.split(",") if c.strip()])
    print("\n".join(report_lines(mem)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(mem, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
