"""Time hmm_core's Gaussian and GMM emissions against the NumPy reference and hmmlearn.

Usage::

    python benchmarks/compare_emissions.py [--quick] [--json out.json] [--sizes 4,16,64]

Models (observations sampled from the model, fixed seed):

* ``gauss-diag``  D = 8 and D = 32: ``GaussianHMM(covariance_type="diag")``;
* ``gauss-full``  D = 8 and D = 32: ``GaussianHMM(covariance_type="full")``;
* ``gmm-diag``    D = 8: ``GMMHMM(n_mix=4, covariance_type="diag")``.

Workload: 200 sequences of 500 frames (100,000 frames); N in 4, 16, 64.

Operations, each timed from the observations and the parameters (every
library computes its own emission log-likelihoods):

* ``score``: total forward log-likelihood. hmm_core and hmmlearn ``score``;
  reference: (T, N) log emission likelihoods in plain NumPy/SciPy (Cholesky
  solve for full, log-sum-exp over components for GMM) then
  ``reference.forward_loglik``.
* ``em``: one Baum-Welch iteration. hmm_core and hmmlearn ``fit`` with
  ``init_params=""``, ``n_iter=1`` (hmm_core with ``tol=-inf``); reference:
  the NumPy emission log-likelihoods, ``reference.estep`` and a NumPy
  maximum-likelihood M-step of start, transitions, (weights,) means and
  covariances.

hmmlearn runs with ``implementation="log"`` and ``"scaling"``.

Timing: median of 3 calls (a first call under 1 s is a discarded warm-up; a
first call over 10 s is the only one). Every cell checks that hmm_core's
score (for ``em``, the log-likelihood of the E-step) equals the reference's
and both hmmlearn implementations' to rtol 1e-8; for ``em`` it also reports
the largest difference of the updated means. A mismatch is printed loudly and
makes the script exit with status 1. Each hmmlearn cell is first timed on 10
sequences; one whose extrapolation exceeds ``--budget`` seconds (default 30)
is reported as ``skipped (est. X s)`` and not checked.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import sys
import time
import warnings
from functools import partial

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp

import hmm_core
from hmm_core.testing import reference

if __package__:  # imported as benchmarks.compare_emissions (asv, python -c)
    from .comparison.environment import machine_info, print_header, versions
    from .comparison.report import fmt_ratio, fmt_time
else:  # run as a script: benchmarks/ is on sys.path
    from comparison.environment import machine_info, print_header, versions
    from comparison.report import fmt_ratio, fmt_time

SEED = 20240602
RTOL = 1e-8
N_MIX = 4
MODELS = (("gauss-diag", 8), ("gauss-diag", 32), ("gauss-full", 8), ("gauss-full", 32),
          ("gmm-diag", 8))
OPS = ("score", "em")
FULL_WORKLOAD = (200, 500)
QUICK_WORKLOAD = (10, 100)
FULL_SIZES = (4, 16, 64)
QUICK_SIZES = (4,)
LIBS = ("hmm_core", "reference", "hl_log", "hl_scaling")
HEADERS = {"hmm_core": "hmm_core", "reference": "reference", "hl_log": "hmmlearn log",
           "hl_scaling": "hmmlearn scaling"}
LOG_2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------- inputs


def make_params(kind: str, n_features: int, n_components: int, seed: int = SEED):
    """Model parameters, fixed by (seed, kind, D, N), as a dict."""
    kind_id = ("gauss-diag", "gauss-full", "gmm-diag").index(kind)
    rng = np.random.default_rng([seed, n_features, n_components, kind_id])
    n, d = n_components, n_features
    startprob = rng.dirichlet(np.ones(n))
    transmat = 0.5 * rng.dirichlet(np.ones(n), size=n) + 0.5 * np.eye(n)
    transmat /= transmat.sum(axis=1, keepdims=True)
    p = {"kind": kind, "startprob": startprob, "transmat": transmat}
    if kind == "gauss-diag":
        p["means"] = rng.normal(0.0, 3.0, (n, d))
        p["covars"] = rng.uniform(0.5, 2.0, (n, d))
    elif kind == "gauss-full":
        p["means"] = rng.normal(0.0, 3.0, (n, d))
        a = rng.normal(size=(n, d, d))
        p["covars"] = a @ a.transpose(0, 2, 1) / d + 0.5 * np.eye(d)
    else:
        p["weights"] = 0.5 * rng.dirichlet(np.ones(N_MIX), size=n) + 0.5 / N_MIX
        p["means"] = rng.normal(0.0, 3.0, (n, N_MIX, d))
        p["covars"] = rng.uniform(0.5, 2.0, (n, N_MIX, d))
    return p


def _draw(cum, u):
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)


def sample(p, n_seq: int, length: int, seed: int = SEED):
    """X of shape (n_seq * length, D) sampled from the model, and the lengths."""
    n = p["startprob"].shape[0]
    d = p["means"].shape[-1]
    rng = np.random.default_rng([seed, n, d, n_seq, length])
    cum_trans = np.cumsum(p["transmat"], axis=1)
    u = rng.random((length, n_seq))
    states = np.empty((length, n_seq), dtype=np.int64)
    states[0] = _draw(np.broadcast_to(np.cumsum(p["startprob"]), (n_seq, n)), u[0])
    for t in range(1, length):
        states[t] = _draw(cum_trans[states[t - 1]], u[t])
    states = states.T.ravel()
    z = rng.standard_normal((states.shape[0], d))
    if p["kind"] == "gauss-diag":
        X = p["means"][states] + z * np.sqrt(p["covars"][states])
    elif p["kind"] == "gauss-full":
        chol = np.linalg.cholesky(p["covars"])
        X = p["means"][states] + np.einsum("tij,tj->ti", chol[states], z)
    else:
        comp = _draw(np.cumsum(p["weights"], axis=1)[states], rng.random(states.shape[0]))
        X = p["means"][states, comp] + z * np.sqrt(p["covars"][states, comp])
    return np.ascontiguousarray(X), np.full(n_seq, length, dtype=np.int64)


# ------------------------------------------------------------ the runners


def _set_params(model, p):
    model.startprob_ = p["startprob"].copy()
    model.transmat_ = p["transmat"].copy()
    if "weights" in p:
        model.weights_ = p["weights"].copy()
    model.means_ = p["means"].copy()
    model.covars_ = p["covars"].copy()
    return model


def _new_model(module, p, **kw):
    n = p["startprob"].shape[0]
    if p["kind"] == "gmm-diag":
        return module.GMMHMM(n_components=n, n_mix=N_MIX, covariance_type="diag",
                             init_params="", n_iter=1, **kw)
    return module.GaussianHMM(n_components=n, covariance_type=p["kind"].split("-")[1],
                              init_params="", n_iter=1, **kw)


def _means(model, p):
    return np.asarray(model.means_).reshape(p["means"].shape)


def _run_model(model, op, p, X, lengths):
    """One operation on a configured model (hmm_core's or hmmlearn's API).

    Returns (score, extra): ``score`` is the total log-likelihood (``score``,
    ``posteriors``), the Viterbi log-probability (``viterbi``) or the E-step
    log-likelihood (``em``); ``extra`` is None, the state path, the posteriors
    or the updated means.
    """
    if op == "score":
        return float(model.score(X, lengths)), None
    if op == "viterbi":
        logprob, path = model.decode(X, lengths, algorithm="viterbi")
        return float(logprob), path
    if op == "posteriors":
        loglik, post = model.score_samples(X, lengths)
        return float(loglik), post
    if op == "em":
        model.fit(X, lengths)
        return float(model.monitor_.history[0]), _means(model, p)
    raise ValueError(op)


def run_hmm_core(op, p, X, lengths, n_threads=None):
    """Run one operation with hmm_core; return (score, extra), see ``_run_model``."""
    model = _set_params(_new_model(hmm_core, p, tol=-np.inf, n_threads=n_threads), p)
    return _run_model(model, op, p, X, lengths)


def run_hmmlearn(op, p, X, lengths, implementation):
    """Run one operation with hmmlearn 0.3; return (score, extra), see ``_run_model``."""
    from hmmlearn import hmm

    model = _set_params(_new_model(hmm, p, implementation=implementation), p)
    return _run_model(model, op, p, X, lengths)


def _log_components(p, X):
    """Log densities of every Gaussian, shape (T, N) or (T, N, n_mix) for GMM."""
    kind, means, covars = p["kind"], p["means"], p["covars"]
    d = X.shape[1]
    if kind == "gauss-full":
        out = np.empty((X.shape[0], means.shape[0]))
        for i in range(means.shape[0]):
            chol = np.linalg.cholesky(covars[i])
            z = solve_triangular(chol, (X - means[i]).T, lower=True)
            out[:, i] = (-0.5 * np.einsum("dt,dt->t", z, z) - np.log(np.diag(chol)).sum()
                         - 0.5 * d * LOG_2PI)
        return out
    mu = means.reshape(-1, d)
    prec = 1.0 / covars.reshape(-1, d)
    out = -0.5 * ((X * X) @ prec.T - 2.0 * X @ (mu * prec).T
                  + (mu * mu * prec).sum(axis=1) + np.log(covars.reshape(-1, d)).sum(axis=1)
                  + d * LOG_2PI)
    if kind == "gmm-diag":
        out = out.reshape(X.shape[0], means.shape[0], N_MIX) + np.log(p["weights"])
    return out


def reference_log_frameprob(p, X):
    """(T, N) log emission likelihoods in plain NumPy/SciPy."""
    comp = _log_components(p, X)
    return logsumexp(comp, axis=2) if p["kind"] == "gmm-diag" else comp


def _mstep(p, X, post, comp, frames, min_covar=1e-3):
    """NumPy maximum-likelihood M-step of the emission parameters."""
    new = {}
    if p["kind"] == "gmm-diag":
        n = post.shape[1]
        resp = post[:, :, None] * np.exp(comp - frames[:, :, None])  # (T, N, K)
        resp = resp.reshape(X.shape[0], n * N_MIX)
        denom = resp.sum(axis=0)
        new["weights"] = (denom / np.maximum(denom.reshape(n, N_MIX).sum(axis=1).repeat(N_MIX),
                                             1e-300)).reshape(n, N_MIX)
        safe = np.maximum(denom, 1e-300)[:, None]
        means = resp.T @ X / safe
        var = resp.T @ (X * X) / safe - means * means
        new["means"] = means.reshape(p["means"].shape)
        new["covars"] = np.maximum(var, min_covar).reshape(p["covars"].shape)
        return new
    denom = post.sum(axis=0)
    safe = np.maximum(denom, 1e-300)[:, None]
    means = post.T @ X / safe
    new["means"] = means
    if p["kind"] == "gauss-diag":
        new["covars"] = np.maximum(post.T @ (X * X) / safe - means * means, min_covar)
    else:
        d = X.shape[1]
        covs = np.empty((post.shape[1], d, d))
        for i in range(post.shape[1]):
            xc = X - means[i]
            covs[i] = (post[:, i, None] * xc).T @ xc / safe[i] + min_covar * np.eye(d)
        new["covars"] = covs
    return new


def run_reference(op, p, X, lengths):
    """Run one operation with NumPy emissions + hmm_core.reference.

    ``viterbi`` and ``posteriors`` return the reference's path and posteriors;
    ``em`` the updated means (NumPy M-step), as ``run_hmm_core``.
    """
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    log_start = np.log(p["startprob"])
    comp = _log_components(p, X)
    frames = logsumexp(comp, axis=2) if p["kind"] == "gmm-diag" else comp
    if op == "score":
        return float(reference.forward_loglik(log_start, p["transmat"], frames,
                                              offsets).sum()), None
    if op == "viterbi":
        logprob, path = reference.viterbi(log_start, p["transmat"], frames, offsets)
        return float(logprob.sum()), path
    if op == "posteriors":
        loglik, post = reference.posteriors(log_start, p["transmat"], frames, offsets)
        return float(loglik.sum()), post
    if op != "em":
        raise ValueError(op)
    stats = reference.estep(log_start, p["transmat"], frames, offsets)
    new = _mstep(p, X, stats["posteriors"], comp, frames)
    new["startprob"] = stats["start_counts"] / stats["start_counts"].sum()
    trans = stats["trans_counts"]
    new["transmat"] = trans / np.maximum(trans.sum(axis=1, keepdims=True), 1e-300)
    return float(stats["loglik"].sum()), new["means"]


RUNNERS = {
    "hmm_core": run_hmm_core,
    "reference": run_reference,
    "hl_log": partial(run_hmmlearn, implementation="log"),
    "hl_scaling": partial(run_hmmlearn, implementation="scaling"),
}


# ----------------------------------------------------------------- timing


def measure(fn, repeats=3, single_above=10.0):
    """Median-of-``repeats`` wall times; returns (times, last result).

    A first call under 1 s is a discarded warm-up; a first call over
    ``single_above`` seconds is the only one.
    """
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    if first > single_above:
        return [first], out
    times = [] if first < 1.0 else [first]
    while len(times) < repeats:
        out = None
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


# ----------------------------------------------------------------- report


def _cell(timing):
    if timing.get("skipped"):
        return f"skipped (est. {timing['estimate']:.0f} s)"
    return fmt_time(timing["median"])


def table_lines(results):
    cols = ["model", "D", "op", "N", "hmm_core", "reference", "ref/hc", "hmmlearn log",
            "hmmlearn scaling", "hl/hc", "check"]
    rows = []
    for r in results:
        t = r["timings"]
        hc = t["hmm_core"]["median"]
        done = [t[h]["median"] for h in ("hl_log", "hl_scaling") if t[h]["median"] is not None]
        best = min(done) if done else None
        rows.append([r["model"], str(r["n_features"]), r["op"], str(r["n_components"]),
                     fmt_time(hc), fmt_time(t["reference"]["median"]),
                     fmt_ratio(t["reference"]["median"] / hc),
                     _cell(t["hl_log"]), _cell(t["hl_scaling"]),
                     fmt_ratio(best / hc) if best is not None else "> budget",
                     "ok" if r["check"]["ok"] else "MISMATCH"])
    widths = [max(len(c), *(len(row[i]) for row in rows)) if rows else len(c)
              for i, c in enumerate(cols)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [line(cols), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
            *(line(row) for row in rows)]


def check_cell(op, outputs):
    """hmm_core's log-likelihood against the other libraries', rtol ``RTOL``."""
    hc_score, hc_means = outputs["hmm_core"]
    check = {"hmm_core_score": hc_score, "rel_err": {}, "ok": True}
    for lib, (score, means) in outputs.items():
        if lib == "hmm_core":
            continue
        rel = abs(hc_score - score) / max(abs(score), 1e-300)
        check["rel_err"][lib] = rel
        check[f"{lib}_score"] = score
        if not rel <= RTOL:
            check["ok"] = False
        if op == "em":
            check.setdefault("means_max_abs_diff", {})[lib] = float(
                np.max(np.abs(hc_means - means)))
    return check


# ------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 10 x 100 frames, N = 4, one timed call (a few seconds)")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--sizes", help="comma-separated numbers of states (default 4,16,64)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed calls per cell (default 3; 1 with --quick)")
    parser.add_argument("--budget", type=float, default=30.0,
                        help="skip hmmlearn cells whose time, extrapolated from 10 sequences, "
                        "exceeds this many seconds")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    sizes = args.sizes or ",".join(map(str, QUICK_SIZES if args.quick else FULL_SIZES))
    args.sizes = [int(s) for s in sizes.split(",") if s.strip()]
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    n_seq, length = QUICK_WORKLOAD if args.quick else FULL_WORKLOAD
    machine = machine_info()
    vers = versions(True)
    print_header(machine, vers)
    print(f"workload: {n_seq} x {length} frames; models "
          + ", ".join(f"{k} D={d}" for k, d in MODELS)
          + f" (gmm n_mix={N_MIX}); N in {args.sizes}; ops {list(OPS)}")
    print("em = fit(init_params='', n_iter=1) (hmm_core tol=-inf); reference em = NumPy "
          "emissions + reference.estep + NumPy M-step", flush=True)
    warnings.filterwarnings("ignore", module="hmmlearn")
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)

    doc = {"command": " ".join(["python", *sys.argv]), "machine": machine, "versions": vers,
           "seed": SEED, "quick": args.quick, "n_seq": n_seq, "length": length,
           "n_mix": N_MIX, "repeats": args.repeats, "results": []}
    # imports and first-call costs before any timing
    tiny = make_params("gmm-diag", 2, 2)
    Xt, lt = sample(tiny, 2, 20)
    for lib in LIBS:
        for op in OPS:
            RUNNERS[lib](op, tiny, Xt, lt)

    n_cells = len(MODELS) * len(args.sizes) * len(OPS)
    k = 0
    mismatches = []
    for kind, d in MODELS:
        for n in args.sizes:
            p = make_params(kind, d, n)
            X, lengths = sample(p, n_seq, length)
            for op in OPS:
                k += 1
                timings, outputs = {}, {}
                for lib in LIBS:
                    if lib.startswith("hl_") and n_seq > 10:
                        t0 = time.perf_counter()
                        RUNNERS[lib](op, p, X[: 10 * length], lengths[:10])
                        estimate = (time.perf_counter() - t0) * n_seq / 10
                        if estimate > args.budget:
                            timings[lib] = {"median": None, "skipped": True,
                                            "estimate": estimate}
                            continue
                    times, out = measure(partial(RUNNERS[lib], op, p, X, lengths),
                                         repeats=args.repeats)
                    timings[lib] = {"median": statistics.median(times), "times": times}
                    outputs[lib] = out
                check = check_cell(op, outputs)
                outputs.clear()
                entry = {"model": kind, "n_features": d, "op": op, "n_components": n,
                         "timings": timings, "check": check,
                         "loadavg_1min": os.getloadavg()[0]}
                doc["results"].append(entry)
                summary = "  ".join(f"{HEADERS[lib]}={_cell(timings[lib])}"
                                    for lib in LIBS)
                print(f"[{k}/{n_cells}] {kind} D={d} {op} N={n}: {summary}", flush=True)
                if not check["ok"]:
                    msg = (f"!!! MISMATCH {kind} D={d} {op} N={n}: hmm_core "
                           f"{check['hmm_core_score']!r}, rel err "
                           + ", ".join(f"{lib} {e:.3g}" for lib, e in check["rel_err"].items())
                           + f" (rtol {RTOL})")
                    print(msg, flush=True)
                    mismatches.append(msg)
                if args.json:
                    _write_json(args.json, doc)

    doc["total_seconds"] = time.perf_counter() - start
    doc["mismatches"] = mismatches
    print()
    print("\n".join(table_lines(doc["results"])))
    print()
    print("times: median wall time; ref/hc = reference / hmm_core; "
          "hl/hc = faster hmmlearn implementation / hmm_core")
    em_diffs = [max(r["check"]["means_max_abs_diff"].values()) for r in doc["results"]
                if r["op"] == "em"]
    if em_diffs:
        print(f"em: largest |updated means - hmm_core's| over all libraries and cells: "
              f"{max(em_diffs):.3g}")
    print(f"total run time: {doc['total_seconds']:.0f} s")
    if args.json:
        _write_json(args.json, doc)
        print(f"wrote {args.json}")
    if mismatches:
        print(f"\n!!! {len(mismatches)} MISMATCH(ES):")
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
