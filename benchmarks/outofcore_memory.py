"""Peak memory of out-of-core EM against corpus size.

Usage::

    python benchmarks/outofcore_memory.py [--sizes 100000,1000000,10000000]
                                          [--chunk 100000] [--in-memory-max 1000000]

A ``CategoricalHMM`` with N = 16 states and 32 symbols is fitted (2 EM
iterations) to a corpus of sequences of 1000 frames. The corpus is a callable
chunk source that draws each chunk of ``--chunk`` frames from its own seed, so
no more than one chunk exists at a time: ``fit`` streams it once per
iteration. For comparison, corpora up to ``--in-memory-max`` frames are also
fitted in memory (the whole array and its (T, N) posteriors at once).

Each case runs in its own subprocess; the figure is the growth of the peak
RSS (``VmHWM`` from ``/proc/self/status``, else ``ru_maxrss``) over the fit,
beyond the process after imports and a small warm-up fit.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

N_STATES = 16
N_SYMBOLS = 32
SEQ_LEN = 1000


def chunk_source(n_frames, chunk):
    """A re-iterable source of ``n_frames`` frames in chunks of ``chunk`` frames."""
    chunk = max(SEQ_LEN, chunk - chunk % SEQ_LEN)

    def source():
        for i, start in enumerate(range(0, n_frames, chunk)):
            size = min(chunk, n_frames - start)
            rng = np.random.default_rng(1000 + i)
            lengths = np.full(size // SEQ_LEN, SEQ_LEN)
            if size % SEQ_LEN:
                lengths = np.append(lengths, size % SEQ_LEN)
            yield rng.integers(0, N_SYMBOLS, size=(size, 1)), lengths

    return source


def _peak_kb():
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _model():
    from hmm_core import CategoricalHMM

    return CategoricalHMM(N_STATES, n_features=N_SYMBOLS, n_iter=2, tol=-np.inf,
                          random_state=0)


def measure(mode, n_frames, chunk):
    """Peak RSS growth (bytes) and seconds of one fit, in this process."""
    source = chunk_source(n_frames, chunk)
    _model().fit(chunk_source(20 * SEQ_LEN, 10 * SEQ_LEN))  # warm-up
    if mode == "in-memory":
        parts = list(source())
        X = np.concatenate([x for x, _ in parts])
        lengths = np.concatenate([n for _, n in parts])
        del parts
    before = _peak_kb()
    start = time.perf_counter()
    if mode == "in-memory":
        _model().fit(X, lengths)
    else:
        _model().fit(source)
    seconds = time.perf_counter() - start
    return {"mode": mode, "frames": n_frames, "chunk": chunk,
            "peak_bytes": (_peak_kb() - before) * 1024, "seconds": seconds}


def run_case(mode, n_frames, chunk):
    """``measure`` in a fresh subprocess (peak RSS is per process)."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import json, sys; sys.path.insert(0, {here!r}); import outofcore_memory as m; "
            f"print(json.dumps(m.measure({mode!r}, {n_frames}, {chunk})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--in-memory-max", type=int, default=1_000_000)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        rows.append(run_case("streamed", n, args.chunk))
        if n <= args.in_memory_max:
            rows.append(run_case("in-memory", n, args.chunk))
    print("| mode      | frames      | chunk   | peak RSS growth | seconds |")
    print("|-----------|-------------|---------|-----------------|---------|")
    for r in rows:
        print(f"| {r['mode']:<9} | {r['frames']:>11,} | {r['chunk']:>7,} | "
              f"{r['peak_bytes'] / 2**20:>12.1f} MB | {r['seconds']:>7.2f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)
    return rows


if __name__ == "__main__":
    main()
