"""Dense versus sparse transition kernels on a 500-state left-to-right model.

    python benchmarks/compare_sparse.py [--length T] [--json PATH]

Each state keeps a self-loop and one step forward (2 allowed transitions per
state, 0.4% of the matrix). Prints the time of score, Viterbi, posteriors and
the E-step through both kernels, their ratio, and that the results agree.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from hmm_core.kernels.chain import ChainParams


def left_to_right(n_states: int, stay: float = 0.6):
    transmat = np.zeros((n_states, n_states))
    idx = np.arange(n_states - 1)
    transmat[idx, idx] = stay
    transmat[idx, idx + 1] = 1.0 - stay
    transmat[-1, -1] = 1.0
    startprob = np.zeros(n_states)
    startprob[0] = 1.0
    return startprob, transmat


def best_time(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=500)
    parser.add_argument("--length", type=int, default=5000, help="frames in the sequence")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    rng = np.random.RandomState(0)
    startprob, transmat = left_to_right(args.states)
    frames = rng.normal(size=(args.length, args.states))
    offsets = np.array([0, args.length], dtype=np.int64)
    dense = ChainParams(startprob, transmat, sparse=False)
    sparse = ChainParams(startprob, transmat, sparse=True)
    print(f"{args.states}-state left-to-right model, {sparse.sparse.nnz} allowed transitions, "
          f"one sequence of {args.length} frames; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(f"{'operation':<11}{'dense s':>10}{'sparse s':>10}{'ratio':>8}  agree")
    results = {}
    for op in ("loglik", "viterbi", "posteriors", "estep"):
        t_dense = best_time(lambda op=op: getattr(dense, op)(frames, offsets, 1), args.repeats)
        t_sparse = best_time(lambda op=op: getattr(sparse, op)(frames, offsets, 1), args.repeats)
        a, b = getattr(dense, op)(frames, offsets, 1), getattr(sparse, op)(frames, offsets, 1)
        first = (a["loglik"], b["loglik"]) if op == "estep" else (np.atleast_1d(a[0]),
                                                                   np.atleast_1d(b[0]))
        agree = bool(np.allclose(first[0], first[1], rtol=1e-10))
        results[op] = {"dense": t_dense, "sparse": t_sparse, "agree": agree}
        print(f"{op:<11}{t_dense:>10.4f}{t_sparse:>10.4f}{t_dense / t_sparse:>8.1f}  {agree}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"states": args.states, "length": args.length, "results": results},
                      handle, indent=2)
    return results


if __name__ == "__main__":
    main()
