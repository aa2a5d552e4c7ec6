"""One (emissions, workload, N, op) cell: every library timed, hmm_core checked."""

from __future__ import annotations

import os
import statistics
import time
from functools import partial

import numpy as np

from .peers import runners
from .targets import target, target_text, verdict
from .timing import _subset, measure
from .workloads import make_inputs

RTOL = 1e-8


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
