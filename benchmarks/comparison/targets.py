"""The speed target of a cell and its verdict."""

from __future__ import annotations


def target(workload: str, op: str, n_components: int):
    """The speed target of a cell: (min ratio to the faster hmmlearn, min ratio
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


def _ref_median(timings):
    """The reference's median time, or its estimate when it was skipped."""
    ref = timings["reference"]
    return ref["median"] if "median" in ref else ref["estimate"]
