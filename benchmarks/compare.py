"""Speed targets: hmm_core against hmmlearn and the NumPy reference, cell by cell.

Usage::

    python benchmarks/compare.py [--quick] [--sizes 4,16,64,256] [--json out.json]
        [--emissions categorical,gaussian] [--ops score,posteriors,viterbi,em]
        [--workloads long,batch] [--no-hmmlearn] [--sections table,machine,memory]
    python benchmarks/compare.py --memory        # only the memory section

With no options it prints the whole table (about an hour or more on a
2-core machine; most of it is hmmlearn and the reference at N = 256).

Sections:

* ``table``: every (emissions, workload, N, op) cell, timed for hmm_core,
  the NumPy reference and hmmlearn 0.3.3 (``implementation="log"`` and
  ``"scaling"``), with the ratios to the faster hmmlearn (``hl/hc``) and to
  the reference (``ref/hc``; for ``batch`` the reference advances all the
  equal-length sequences in lockstep, one matrix-matrix product per step), the
  speed target of the cell and PASS/MISS;
* ``machine``: the machine-limit rows. For each N, the cell rate (steps x N^2
  per second) of hmm_core's forward pass over one long sequence with the
  frame log-likelihoods given (``hmm_core.forward``), against a plain
  matrix-vector product (BLAS ``dgemv``, one thread) repeated in a loop, and
  the percentage (target: >= 50% at N = 256). The loop is
  ``hmm_core.kernels._yardstick.dgemv_loop`` when the package has it (compiled, no
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

This script is the entry point; the work is done by the modules of
``benchmarks/comparison/`` (workloads, targets, peers, timing, cells, limit,
environment, report).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings

if __package__:  # imported as benchmarks.compare (asv, the tests)
    from .comparison import cells, environment, limit, peers, report, targets, workloads
else:  # run as a script: benchmarks/ is on sys.path
    from comparison import cells, environment, limit, peers, report, targets, workloads

SECTIONS = ("table", "machine", "memory")

# The names other scripts and the tests take from this module.
OPS, make_inputs, make_params = workloads.OPS, workloads.make_inputs, workloads.make_params
target, verdict = targets.target, targets.verdict
runners = peers.runners
check_cell, _thin = cells.check_cell, cells._thin
dgemv_rate = limit.dgemv_rate


def _sibling(name):
    """Import another module of benchmarks/ (as a package member or as a script)."""
    import importlib

    if __package__:
        return importlib.import_module(f"{__package__}.{name}")
    return importlib.import_module(name)


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
    parser.add_argument("--emissions", default=",".join(workloads.EMISSIONS),
                        help=f"subset of {','.join(workloads.EMISSIONS)} (Gaussian: diagonal, "
                        f"{workloads.N_FEATURES} features)")
    parser.add_argument("--ops", default=",".join(workloads.OPS),
                        help=f"subset of {','.join(workloads.OPS)}")
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
    default_sizes = workloads.QUICK_SIZES if args.quick else workloads.FULL_SIZES
    sizes = args.sizes or ",".join(map(str, default_sizes))
    args.sizes = [int(s) for s in sizes.split(",") if s.strip()]

    def items(text, allowed, what):
        out = [x.strip() for x in text.split(",") if x.strip()]
        for x in out:
            if x not in allowed:
                parser.error(f"unknown {what} {x!r} (choose from {','.join(allowed)})")
        return out

    args.ops = items(args.ops, workloads.OPS, "op")
    args.workloads = items(args.workloads, tuple(workloads.FULL_WORKLOADS), "workload")
    args.emissions = items(args.emissions, workloads.EMISSIONS, "emissions")
    args.sections = ["memory"] if args.memory else items(args.sections, SECTIONS, "section")
    if args.memory_steps is None:
        args.memory_steps = 100_000 if args.quick else 10_000_000
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        _blas_limit = threadpool_limits(args.blas_threads, user_api="blas")  # noqa: F841
    sizes_of = workloads.QUICK_WORKLOADS if args.quick else workloads.FULL_WORKLOADS
    machine = environment.machine_info()
    vers = environment.versions(args.with_hmmlearn)
    environment.print_header(machine, vers)
    doc = {"command": " ".join(["python", *sys.argv]), "machine": machine,
           "versions": vers, "seed": workloads.SEED, "n_symbols": workloads.N_SYMBOLS,
           "n_features": workloads.N_FEATURES,
           "blas_threads": args.blas_threads, "quick": args.quick, "sections": args.sections,
           "workloads": {w: {"n_seq": sizes_of[w][0], "length": sizes_of[w][1]}
                         for w in args.workloads},
           "hmmlearn_budget_s": args.budget if args.with_hmmlearn else None, "results": []}
    mismatches = []
    if "table" in args.sections:
        print("workloads: " + ", ".join(f"{w} = {sizes_of[w][0]} x {sizes_of[w][1]} steps"
                                        for w in args.workloads)
              + f"; emissions {args.emissions} ({workloads.N_SYMBOLS} symbols; Gaussian diag "
              f"{workloads.N_FEATURES} features); N in {args.sizes}; ops {args.ops}")
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
            cells._warm_up(emissions, libs, args.ops)
            for wname in args.workloads:
                n_seq, length = sizes_of[wname]
                for n in args.sizes:
                    params, X, lengths = workloads.make_inputs(emissions, n, n_seq, length)
                    for op in args.ops:
                        k += 1
                        entry = cells.run_cell(emissions, wname, op, n, params, X, lengths, libs,
                                         args)
                        doc["results"].append(entry)
                        timings, check = entry["timings"], entry["check"]
                        summary = "  ".join(
                            f"{report.HEADERS[lib]}={report.cell_text(timings[lib])}"
                            for lib in libs)
                        status = f"  [{entry['status']}]" if "status" in entry else ""
                        print(f"[{k}/{n_cells}] {emissions} {wname} {op} N={n}: "
                              f"{summary}{status}", flush=True)
                        if not check["ok"]:
                            msg = (f"!!! MISMATCH {emissions} {wname} {op} N={n}: hmm_core "
                                   f"{check['hmm_core_score']!r} vs reference "
                                   f"{check['reference_score']!r} "
                                   f"(rel err {check['rel_err']:.3g} > {cells.RTOL})")
                            print(msg, flush=True)
                            mismatches.append(msg)
                        if args.json:
                            _write_json(args.json, doc)
                    del X, lengths
    if "machine" in args.sections:
        long_steps = sizes_of["long"][1]
        print(f"machine limit: one sequence of {long_steps} steps, dgemv with one BLAS thread",
              flush=True)
        doc["machine_limit"] = limit.machine_limit(args.sizes, long_steps, quick=args.quick,
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
        print("\n".join(report.table_lines(doc["results"], args.with_hmmlearn)))
        print()
        legend = ("times: median wall time; ref/hc = reference / hmm_core (batch: the "
                  "reference advances the sequences in lockstep); hc 1T = hmm_core with "
                  "n_threads=1 (batch only); load = 1-minute load average after the cell")
        if args.with_hmmlearn:
            legend += ("; hl/hc = faster hmmlearn implementation / hmm_core; target = speed "
                       "target (hl = faster hmmlearn, ref = NumPy reference)")
        print(legend)
        if args.with_hmmlearn:
            print("\n".join(report.summary_lines(doc["results"])))
    if doc.get("machine_limit"):
        print()
        print("machine limit (cells/s = steps x N^2 / s; hmm_core forward on one sequence with "
              "the frame log-likelihoods given; dgemv loop with one BLAS thread):")
        print("\n".join(report.machine_lines(doc["machine_limit"])))
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
