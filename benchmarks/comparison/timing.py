"""Wall-clock measurements: repeated calls, and subsets of a workload for estimates."""

from __future__ import annotations

import time

import numpy as np


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
