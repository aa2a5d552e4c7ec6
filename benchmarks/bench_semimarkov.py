"""asv benchmarks of the semi-Markov (explicit-duration) model, and a table for BENCHMARKS.md.

One score and one EM iteration of ``SemiMarkovHMM`` (compiled kernels) against
the NumPy reference of the same recursions (``hmm_core.testing.semimarkov``),
at N = 8 states, D = 64 durations and 10^5 frames (10 sequences of 10^4, 1-D
Gaussian emissions, nonparametric durations, data sampled from the model).
The reference's EM iteration is its E-step plus a NumPy M-step.

asv::

    asv run --python=same --quick --show-stderr --bench SemiMarkov

The table of BENCHMARKS.md (median of ``--repeat`` runs, reference once)::

    python -m benchmarks.bench_semimarkov [--threads 1]

``HMM_CORE_BENCH_SMALL=1`` shrinks the sizes (CI keeps the suite from rotting).
"""

import os
import sys
import time

import numpy as np

SMALL = os.environ.get("HMM_CORE_BENCH_SMALL", "").strip() not in ("", "0")
N_STATES, MAX_DURATION = (3, 8) if SMALL else (8, 64)
N_SEQ, LENGTH = (2, 200) if SMALL else (10, 10_000)


def make_model(n_threads=None):
    """A random model and 10^5 frames sampled from it."""
    from hmm_core import SemiMarkovHMM
    from hmm_core.emissions import GaussianEmission

    rng = np.random.RandomState(0)
    n, d = N_STATES, MAX_DURATION
    model = SemiMarkovHMM(n, max_duration=d, n_threads=n_threads, random_state=0)
    model.startprob_ = rng.dirichlet(np.ones(n))
    trans = rng.dirichlet(np.ones(n), size=n) * (1 - np.eye(n))
    model.transmat_ = trans / trans.sum(axis=1, keepdims=True)
    model.durationprob_ = rng.dirichlet(np.ones(d), size=n)
    model.emission_ = GaussianEmission()
    model.emission_.means_ = rng.normal(scale=3.0, size=(n, 1))
    model.emission_.covars_ = np.ones((n, 1))
    parts = [model.sample(LENGTH, random_state=k)[0] for k in range(N_SEQ)]
    return model, np.concatenate(parts), np.full(N_SEQ, LENGTH)


def reference_inputs(model, X):
    engine = model._check()
    frames = model._frames(model._validate(X, None)[0])
    return frames, (engine.log_startprob, engine.log_transmat, engine.log_duration,
                    engine.log_last)


def reference_score(frames, offsets, args):
    from hmm_core.testing.semimarkov import semimarkov_loglik

    return semimarkov_loglik(frames, offsets, *args).sum()


def reference_em_iteration(frames, offsets, args, X):
    """The reference E-step and a NumPy M-step (start, switches, durations, Gaussians)."""
    from hmm_core.testing.semimarkov import semimarkov_estep

    out = semimarkov_estep(frames, offsets, *args)
    startprob = out["start"] / out["start"].sum()
    transmat = out["trans"] / np.maximum(out["trans"].sum(axis=1, keepdims=True), 1e-300)
    counts = out["durations"] + out["last"]
    durationprob = counts / counts.sum(axis=1, keepdims=True)
    gamma = out["posteriors"]
    weight = gamma.sum(axis=0)
    means = gamma.T @ X / weight[:, None]
    covars = gamma.T @ X ** 2 / weight[:, None] - means ** 2
    return startprob, transmat, durationprob, means, covars


def kernel_em_iteration(model, X, lengths):
    model.set_params(n_iter=1, init_params="")
    model.fit(X, lengths)


class SemiMarkov:
    """Score and one EM iteration, compiled and reference."""

    params = [["hmm_core", "reference"]]
    param_names = ["implementation"]
    timeout = 600

    def setup(self, implementation):
        self.model, self.X, self.lengths = make_model()
        self.offsets = np.r_[0, np.cumsum(self.lengths)].astype(np.int64)
        self.frames, self.args = reference_inputs(self.model, self.X)
        self.saved = {k: getattr(self.model, k) for k in ("startprob_", "transmat_",
                                                          "durationprob_")}

    def time_score(self, implementation):
        if implementation == "hmm_core":
            self.model.score(self.X, self.lengths)
        else:
            reference_score(self.frames, self.offsets, self.args)

    def time_em_iteration(self, implementation):
        if implementation == "hmm_core":
            for name, value in self.saved.items():
                setattr(self.model, name, value)
            kernel_em_iteration(self.model, self.X, self.lengths)
        else:
            reference_em_iteration(self.frames, self.offsets, self.args, self.X)


def _median_seconds(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    """Print the Markdown table of BENCHMARKS.md."""
    import argparse

    from hmm_core.kernels.config import effective_n_threads

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    model, X, lengths = make_model(args.threads)
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    frames, ref_args = reference_inputs(model, X)
    saved = {k: getattr(model, k) for k in ("startprob_", "transmat_", "durationprob_")}
    emission = model.emission_

    def em():
        for name, value in saved.items():
            setattr(model, name, value)
        model.emission_ = emission
        kernel_em_iteration(model, X, lengths)

    rows = [("score", lambda: model.score(X, lengths),
             lambda: reference_score(frames, offsets, ref_args)),
            ("one EM iteration", em,
             lambda: reference_em_iteration(frames, offsets, ref_args, X))]
    threads = effective_n_threads(args.threads)
    print(f"N = {N_STATES}, D = {MAX_DURATION}, {N_SEQ} x {LENGTH} frames, "
          f"{threads} thread(s)\n")
    print("| operation | hmm_core (s) | NumPy reference (s) | speed-up |")
    print("|---|---:|---:|---:|")
    for name, fast, slow in rows:
        t_fast = _median_seconds(fast, args.repeat)
        t_slow = _median_seconds(slow, 1)
        print(f"| {name} | {t_fast:.3f} | {t_slow:.2f} | {t_slow / t_fast:.0f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
