"""Peak memory and speed of one long sequence run block by block, and of the online filter.

Usage::

    python benchmarks/longseq.py [--sizes 1e6,1e7,1e8] [--ops score,estep,viterbi,posteriors]
        [--states 16] [--filter] [--folder DIR]

Each (T, op) cell runs in a fresh Python process (so ``ru_maxrss`` is that
cell's peak): a 16-state categorical model with 4 symbols and a random
uint8 sequence of T symbols. The table gives the seconds, the frames per
second and the peak resident memory beyond the input and what is returned
(the int64 Viterbi path), i.e. peak RSS minus the RSS once the input exists
minus the returned path (``peak MiB``: the whole peak RSS, input, returned
path and interpreter included). ``posteriors`` writes a .npy file in ``--folder``
(T x N x 8 bytes; removed afterwards). At T = 10^6 the one-call in-memory
methods are timed too (``speed vs in-memory``: block-by-block seconds over
one-call seconds). ``--filter`` adds the online filter's throughput in
blocks of 1000 frames and its single-frame latency. ``--compare`` times the
one-call methods against block by block in one process at T = 10^6 (best of
three, posteriors into an array, no file).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CELL = r"""
import json, os, resource, sys, time
import numpy as np
from hmm_core.models import CategoricalHMM
from hmm_core.hmm import _longseq
from hmm_core.kernels import backend

T, op, n, folder, in_memory = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], \
    sys.argv[5] == "1"
rng = np.random.default_rng(0)
model = CategoricalHMM(n_components=n, n_features=4)
model.startprob_ = rng.dirichlet(np.ones(n))
model.transmat_ = rng.dirichlet(np.ones(n), size=n)
model.emissionprob_ = rng.dirichlet(np.ones(4), size=n)
X = rng.integers(0, 4, size=(T, 1), dtype=np.uint8)
model.score(X[:10])
if not in_memory:
    backend.CHECKPOINT_MIN_BYTES = 0
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
returned = 0
t0 = time.perf_counter()
if op == "score":
    model.score(X)
elif op == "viterbi":
    path = model.decode(X)[1]
    returned = path.nbytes
elif op == "estep":
    emission = model._get_emission()
    stats = emission.empty_stats(n)
    if in_memory:
        chain = model._check()
        Xc = emission.check_X(X)
        out = chain.estep(model._log_frameprob(Xc).dense(), np.array([0, T]))
        emission.accumulate(stats, Xc, out["posteriors"])
    else:
        _longseq.estep(model, X, on_block=lambda Xb, post: emission.accumulate(stats, Xb, post))
elif op == "posteriors":
    if in_memory:
        post = model.predict_proba(X)
        returned = post.nbytes
    else:
        target = os.path.join(folder, f"post-{os.getpid()}.npy")
        model.posteriors_to_file(X, target)
        os.remove(target)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "beyond": peak - base - returned, "peak": peak}))
"""

FILTER = r"""
import json, time
import numpy as np
from hmm_core.models import CategoricalHMM
rng = np.random.default_rng(0)
n = 16
model = CategoricalHMM(n_components=n, n_features=4)
model.startprob_ = rng.dirichlet(np.ones(n))
model.transmat_ = rng.dirichlet(np.ones(n), size=n)
model.emissionprob_ = rng.dirichlet(np.ones(4), size=n)
X = rng.integers(0, 4, size=(10**6, 1), dtype=np.int64)
filt = model.filter()
t0 = time.perf_counter()
for a in range(0, X.shape[0], 1000):
    filt.update(X[a:a + 1000])
block = X.shape[0] / (time.perf_counter() - t0)
filt = model.filter()
frames = [X[i:i + 1] for i in range(20000)]
t0 = time.perf_counter()
for f in frames:
    filt.update(f)
single = (time.perf_counter() - t0) / len(frames)
print(json.dumps({"frames_per_second": block, "single_frame_us": single * 1e6}))
"""

COMPARE = r"""
import json, sys, time
import numpy as np
from hmm_core.models import CategoricalHMM
from hmm_core.hmm import _longseq
T, n = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
model = CategoricalHMM(n_components=n, n_features=4)
model.startprob_ = rng.dirichlet(np.ones(n))
model.transmat_ = rng.dirichlet(np.ones(n), size=n)
model.emissionprob_ = rng.dirichlet(np.ones(4), size=n)
X = rng.integers(0, 4, size=(T, 1), dtype=np.uint8)
model.score(X[:10])
def best(f, r=3):
    out = []
    for _ in range(r):
        t0 = time.perf_counter(); f(); out.append(time.perf_counter() - t0)
    return min(out)
rows = {
    "score": (lambda: model._score_in_memory(X, None),
              lambda: _longseq.score_sequences(model, X)),
    "posteriors": (lambda: model._posteriors_in_memory(X, None),
                   lambda: _longseq.posteriors(model, X)),
    "viterbi": (lambda: model._viterbi_in_memory(X, None),
                lambda: _longseq.viterbi(model, X)),
}
print(json.dumps({k: [best(a), best(b)] for k, (a, b) in rows.items()}))
"""


def run_compare(T, n):
    """One-call and block-by-block seconds (best of 3) in one process."""
    done = subprocess.run([sys.executable, "-c", COMPARE, str(T), str(n)], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_cell(T, op, n, folder, in_memory=False):
    """One measurement in a fresh interpreter; returns its JSON dict."""
    done = subprocess.run([sys.executable, "-c", CELL, str(T), op, str(n), folder,
                           "1" if in_memory else "0"], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_filter():
    """Throughput and single-frame latency of the online filter."""
    done = subprocess.run([sys.executable, "-c", FILTER], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,1e7,1e8")
    parser.add_argument("--ops", default="score,estep,viterbi,posteriors")
    parser.add_argument("--states", type=int, default=16)
    parser.add_argument("--filter", action="store_true")
    parser.add_argument("--compare", action="store_true",
                        help="only time one call against block by block at T = 10^6, in one "
                             "process (no file written)")
    parser.add_argument("--folder", default=tempfile.gettempdir())
    args = parser.parse_args(argv)
    if args.compare:
        res = run_compare(10**6, args.states)
        print(f"{'T = 10^6':>12} {'one call':>9} {'blocks':>9} {'ratio':>7}")
        for op, (one, blocks) in res.items():
            print(f"{op:>12} {one:>8.3f}s {blocks:>8.3f}s {blocks / one:>6.2f}x", flush=True)
        return 0
    sizes = [int(float(v)) for v in args.sizes.split(",") if v]
    ops = [v for v in args.ops.split(",") if v]
    print(f"{'T':>11} {'op':>11} {'seconds':>9} {'frames/s':>11} {'MiB beyond':>11} "
          f"{'peak MiB':>9} {'vs in-memory':>13}", flush=True)
    for T in sizes:
        for op in ops:
            cell = run_cell(T, op, args.states, args.folder)
            ratio = ""
            if T <= 10**6:
                ref = run_cell(T, op, args.states, args.folder, in_memory=True)
                ratio = f"{cell['seconds'] / ref['seconds']:.2f}x"
            print(f"{T:>11,} {op:>11} {cell['seconds']:>9.2f} {T / cell['seconds']:>11.3g} "
                  f"{cell['beyond'] / 2**20:>11.1f} {cell['peak'] / 2**20:>9.0f} {ratio:>13}",
                  flush=True)
    if args.filter:
        res = run_filter()
        print(f"filter: {res['frames_per_second']:.3g} frames/s in blocks of 1000, "
              f"{res['single_frame_us']:.2f} us per single-frame update", flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
