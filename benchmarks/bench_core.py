"""airspeed velocity (asv) suite: every operation of issue 5, hmm_core and the NumPy reference.

Run from the repository root (asv needs a git repository)::

    asv machine --yes
    asv run --python=same --quick --show-stderr   # the installed hmm_core, one call each

With ``HMM_CORE_BENCH_SMALL=1`` every parameter set shrinks to tiny sizes
(N = 4, a few hundred frames, fewer combinations) so that the quick mode runs in well under two
minutes: CI runs it so that the benchmarks cannot rot::

    HMM_CORE_BENCH_SMALL=1 asv run --python=same --quick --show-stderr

Inputs are those of ``compare.py`` (same seeds and parameters, data sampled
from the model): categorical emissions with 32 symbols and Gaussian diagonal
emissions with 8 features. Default sizes are smaller than ``compare.py``'s:
``long`` is one sequence of 20,000 steps, ``batch`` 200 sequences of 500
steps, N in 4, 16, 64, 256 (the reference: 4, 16, 64). Each operation is timed
from the observations and the parameters, as in ``compare.py``:

* ``score``: ``score`` / ``reference.forward_loglik``;
* ``posteriors``: ``score_samples`` / ``reference.posteriors``;
* ``viterbi``: ``decode`` / ``reference.viterbi``;
* ``em_iteration``: one Baum-Welch iteration, ``fit`` with ``init_params=""``,
  ``n_iter=1`` / the reference's (``baum_welch_categorical`` or
  ``reference.estep`` + a NumPy M-step).

Memory: ``PeakMemory`` (asv's ``peakmem_``: the peak RSS of the benchmark
process, setup and input included) for every operation on one long sequence;
``MemoryBeyondInput`` (``track_``, bytes) for the figures of issue 5 measured
as in ``memory.py``: what scoring one sequence allocates beyond its input, and
the Viterbi back-pointer bytes per cell. ``MachineLimit`` times hmm_core's
forward pass and the dgemv loop of ``compare.py``'s machine-limit rows.
"""

import os

import numpy as np

from .compare import (
    _one_blas_thread,
    compiled_dgemv_loop,
    make_inputs,
    make_params,
    runners,
    sample_symbols,
)
from .memory import measure_case

SMALL = os.environ.get("HMM_CORE_BENCH_SMALL", "").strip() not in ("", "0")
EMISSIONS = ["categorical", "gaussian"]
# asv runs every parameter combination in a new process (with --python=same),
# so the small mode also trims the combinations: it keeps every benchmark and
# both emission kinds, and both workloads for hmm_core.
if SMALL:
    WORKLOADS = {"long": (1, 300), "batch": (6, 50)}
    SIZES = [4]
    REF_SIZES = [4]
    REF_WORKLOADS = ["batch"]
    MEM_SIZES = [4]
    MEM_IMPLEMENTATIONS = ["hmm_core"]
    MEM_STEPS = 2_000
else:
    WORKLOADS = {"long": (1, 20_000), "batch": (200, 500)}
    SIZES = [4, 16, 64, 256]
    REF_SIZES = [4, 16, 64]
    REF_WORKLOADS = list(WORKLOADS)
    MEM_SIZES = [16]
    MEM_IMPLEMENTATIONS = ["hmm_core", "reference"]
    MEM_STEPS = 1_000_000


class _Suite:
    params = [EMISSIONS, list(WORKLOADS), SIZES]
    param_names = ["emissions", "workload", "n_components"]
    lib = "hmm_core"
    timeout = 300  # room for an editable install's rebuild of changed kernels on import

    def setup(self, emissions, workload, n_components):
        n_seq, length = WORKLOADS[workload]
        self.run = runners(emissions)[self.lib]
        self.inputs = make_inputs(emissions, n_components, n_seq, length)

    def time_score(self, emissions, workload, n_components):
        self.run("score", *self.inputs)

    def time_posteriors(self, emissions, workload, n_components):
        self.run("posteriors", *self.inputs)

    def time_viterbi(self, emissions, workload, n_components):
        self.run("viterbi", *self.inputs)

    def time_em_iteration(self, emissions, workload, n_components):
        self.run("em", *self.inputs)


class HmmCore(_Suite):
    """hmm_core with the default thread count."""


class HmmCoreOneThread(_Suite):
    """hmm_core with ``n_threads=1`` (batch only: one sequence always runs on one thread)."""

    params = [EMISSIONS, ["batch"], SIZES]
    lib = "hc_1t"


class Reference(_Suite):
    """The pure-NumPy reference (lockstep over equal-length sequences)."""

    params = [EMISSIONS, REF_WORKLOADS, REF_SIZES]
    lib = "reference"
    # Calls take 0.05 to 5 s: no warm-up, few repeats.
    number = 1
    repeat = (1, 5, 30.0)
    warmup_time = 0.0
    timeout = 600


class PeakMemory:
    """Peak RSS of the process running one operation on one long sequence.

    The input and parameters are built in ``setup``, so the figure includes
    them; the difference between implementations and operations is what each
    one allocates.
    """

    params = [MEM_IMPLEMENTATIONS, EMISSIONS, MEM_SIZES]
    param_names = ["implementation", "emissions", "n_components"]
    timeout = 600

    def setup(self, implementation, emissions, n_components):
        steps = MEM_STEPS if implementation == "hmm_core" else MEM_STEPS // 10
        self.run = runners(emissions)[implementation]
        self.inputs = make_inputs(emissions, n_components, 1, steps)

    def peakmem_score(self, implementation, emissions, n_components):
        loglik, _ = self.run("score", *self.inputs)
        assert np.isfinite(loglik)

    def peakmem_posteriors(self, implementation, emissions, n_components):
        self.run("posteriors", *self.inputs)

    def peakmem_viterbi(self, implementation, emissions, n_components):
        self.run("viterbi", *self.inputs)

    def peakmem_em_iteration(self, implementation, emissions, n_components):
        self.run("em", *self.inputs)


class MemoryBeyondInput:
    """Bytes one call allocates beyond its input (tracemalloc peak), as in ``memory.py``.

    ``score``: ``CategoricalHMM.score`` on symbols; ``forward``:
    ``hmm_core.forward`` on a given (T, N) log_frameprob. Issue 5's target is
    < 16 MB at T = 10^7, N = 16 (here T is smaller: the figure scales with T
    where the call allocates per frame).
    """

    params = [["score", "forward"]]
    param_names = ["case"]
    timeout = 600

    def track_bytes_beyond_input(self, case):
        return measure_case(case, MEM_STEPS)["tracemalloc_peak"]

    track_bytes_beyond_input.unit = "bytes"


class ViterbiBackpointers:
    """Viterbi back-pointer bytes per cell (``hmm_core.viterbi``, one thread, N = 16),
    measured as in ``memory.py``; issue 5: 1 byte (uint8) for N <= 256."""

    timeout = 600

    def track_bytes_per_cell(self):
        return measure_case("viterbi_1t", MEM_STEPS)["backpointer_bytes_per_cell"]

    track_bytes_per_cell.unit = "bytes/cell"


class MachineLimit:
    """hmm_core's forward pass over one sequence (frames given) and the dgemv loop.

    The ratio of their times (equal steps) is ``compare.py``'s forward/dgemv
    percentage; the dgemv loop is ``hmm_core._forward._dgemv_loop`` when the
    package has it, else a Python loop of ``np.dot`` (call overhead dominates
    below N = 64).
    """

    params = [SIZES]
    param_names = ["n_components"]

    def setup(self, n_components):
        import hmm_core
        from hmm_core import reference

        startprob, transmat, emissionprob = make_params(n_components)
        X, _ = sample_symbols((startprob, transmat, emissionprob), 1, WORKLOADS["long"][1])
        self.frames = reference.categorical_log_frameprob(X, emissionprob)
        self.log_start = np.log(startprob)
        self.transmat = np.ascontiguousarray(transmat)
        self.forward = hmm_core.forward
        self.steps = X.shape[0]
        self.loop = compiled_dgemv_loop()

    def time_forward_long(self, n_components):
        self.forward(self.log_start, self.transmat, self.frames)

    def time_dgemv_loop(self, n_components):
        n = self.transmat.shape[0]
        x = np.full(n, 1.0 / n)
        with _one_blas_thread():
            if self.loop is not None:
                self.loop(self.transmat, x, self.steps)
                return
            y = np.empty(n)
            for _ in range(self.steps):
                np.dot(x, self.transmat, out=y)
                x, y = y, x
