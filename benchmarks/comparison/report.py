"""Times, ratios and Markdown tables of the results."""

from __future__ import annotations

import math

from .targets import _ref_median

HEADERS = {
    "hmm_core": "hmm_core",
    "hc_1t": "hc 1T",
    "reference": "reference",
    "hl_log": "hmmlearn log",
    "hl_scaling": "hmmlearn scaling",
}


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
