"""Scaling and overhead of hmm_core.distributed on a LocalCluster.

Scores a batch of sequences and runs one Baum-Welch iteration locally (all
threads) and on 1 and 2 Dask worker processes of one thread each, then
measures the fixed cost of one distributed iteration (shipping the model,
scheduling, reducing the statistics, the M-step) on near-empty partitions,
and the overhead ratio at a small size. Prints a table (times in ms).

Run: ``python benchmarks/dask_cluster.py [--frames 10000000] [--small 100000]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np


def _data(n_frames, seed=0, mean_length=1000):
    rng = np.random.RandomState(seed)
    n_seq = max(1, n_frames // mean_length)
    lengths = np.full(n_seq, n_frames // n_seq)
    lengths[-1] += n_frames - lengths.sum()
    return rng.randint(0, 4, size=(n_frames, 1)), lengths


def _model(X, lengths):
    from hmm_core import CategoricalHMM

    # tol=-inf: one iteration is the measurement, not an unconverged fit.
    model = CategoricalHMM(8, n_iter=1, tol=-np.inf, random_state=0, init_params="")
    rng = np.random.RandomState(1)
    model.startprob_ = np.full(8, 1 / 8)
    trans = rng.random_sample((8, 8)) + 0.1
    model.transmat_ = trans / trans.sum(axis=1, keepdims=True)
    emit = rng.random_sample((8, 4)) + 0.1
    model.emissionprob_ = emit / emit.sum(axis=1, keepdims=True)
    model.n_features = 4
    return model


def _files(directory, X, lengths, n_files):
    bounds = np.array_split(np.arange(lengths.size), n_files)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    paths = []
    for k, b in enumerate(bounds):
        path = os.path.join(directory, f"part{k}.npz")
        np.savez(path, X=X[offsets[b[0]]:offsets[b[-1] + 1]], lengths=lengths[b])
        paths.append(path)
    return paths


def _best(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def _local(model, X, lengths, repeat):
    import copy

    score = _best(lambda: model.score_sequences(X, lengths), repeat)
    em = _best(lambda: copy.deepcopy(model).fit(X, lengths), repeat)
    return score, em


def _iteration(client, model, parts):
    """One distributed EM iteration on partitions already in the workers' memory."""
    from hmm_core.distributed import _worker
    from hmm_core.distributed._fit import _Driver

    loaded = parts.submit(client, _worker.materialize)
    from distributed import wait

    wait(loaded)
    driver = _Driver(client, model, loaded, parts.names, 8)

    def step():
        stats = driver.estep()
        model.m_step(stats)
        model._check()

    return step, loaded


def _distributed(n_workers, model, paths, tiny_paths, repeat):
    import copy

    from distributed import Client, LocalCluster

    from hmm_core import distributed as hd

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        parts = hd.from_files(paths)
        hd.score_sequences(model, hd.from_files(tiny_paths), client=client)  # warm up
        score = _best(lambda: hd.score_sequences(model, parts, client=client), repeat)
        step, loaded = _iteration(client, copy.deepcopy(model), parts)
        step()
        em = _best(step, repeat)
        client.cancel(loaded)
        step, loaded = _iteration(client, copy.deepcopy(model), hd.from_files(tiny_paths))
        step()
        overhead = _best(step, max(repeat, 5))
        client.cancel(loaded)
    return score, em, overhead


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    from hmm_core.kernels.config import effective_n_threads

    X, lengths = _data(args.frames)
    Xs, ls = _data(args.small, seed=2)
    model = _model(X, lengths)
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        big = _files(os.path.join(directory), X, lengths, 8)
        small_dir = os.path.join(directory, "small")
        os.mkdir(small_dir)
        small = _files(small_dir, Xs, ls, 8)
        tiny_dir = os.path.join(directory, "tiny")
        os.mkdir(tiny_dir)
        tiny = _files(tiny_dir, Xs[:80], np.full(8, 10), 8)
        threads = effective_n_threads()
        score, em = _local(model, X, lengths, args.repeat)
        s_score, s_em = _local(model, Xs, ls, args.repeat)
        rows.append((f"local, {threads} threads", score, em, None, s_em))
        for n in (1, 2):
            score, em, overhead = _distributed(n, model, big, tiny, args.repeat)
            _, s_em_d, _ = _distributed(n, model, small, tiny, args.repeat)
            rows.append((f"{n} worker(s) x 1 thread", score, em, overhead, s_em_d))
    print(f"{args.frames:,} frames in {lengths.size:,} sequences; 8-state categorical; "
          f"small size {args.small:,} frames; best of {args.repeat}; times in ms")
    head = ("run", "score", "EM iteration", "iteration overhead", f"EM iter {args.small:,}",
            "ratio to local")
    print(" | ".join(f"{h:>22}" for h in head))
    local_small = rows[0][4]
    for name, score, em, overhead, small_em in rows:
        cells = [name, f"{score:.0f}", f"{em:.0f}", "-" if overhead is None else
                 f"{overhead:.1f}", f"{small_em:.1f}", f"{small_em / local_small:.2f}"]
        print(" | ".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
