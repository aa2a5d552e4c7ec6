"""airspeed velocity (asv) suite: every benchmarked operation, hmm_core and the NumPy reference.

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
``MemoryBeyondInput`` (``track_``, bytes) for the memory targets, measured
as in ``memory.py``: what scoring one sequence allocates beyond its input, and
the Viterbi back-pointer bytes per cell. ``MachineLimit`` times hmm_core's
forward pass and the dgemv loop of ``compare.py``'s machine-limit rows.
"""

import os

import numpy as np

from .comparison.limit import _one_blas_thread, compiled_dgemv_loop
from .comparison.peers import runners
from .comparison.workloads import make_inputs, make_params, sample_symbols
from .memory import measure_case

SMALL = os.environ.get("HMM_CORE_BENCH_SMALL", "").strip() not in ("", "0")
EMISSIONS = ["categorical", "gaussian"]
# asv runs every parameter combination in a new process (with --python=same),
# and each process pays for importing hmm_core (1-3 s on the 2-core machine).
# So the small mode also joins parameter values with "+": one combination,
# one process per benchmark, whose call runs every joined value in turn.
if SMALL:
    WORKLOADS = {"long": (1, 300), "batch": (6, 50)}
    EMISSION_PARAMS = ["+".join(EMISSIONS)]
    WORKLOAD_PARAMS = ["+".join(WORKLOADS)]
    SIZES = [4]
    REF_SIZES = [4]
    MEM_SIZES = [4]
    MEM_IMPLEMENTATIONS = ["hmm_core+reference"]
    MEM_STEPS = 2_000
else:
    WORKLOADS = {"long": (1, 20_000), "batch": (200, 500)}
    EMISSION_PARAMS = EMISSIONS
    WORKLOAD_PARAMS = list(WORKLOADS)
    SIZES = [4, 16, 64, 256]
    REF_SIZES = [4, 16, 64]
    MEM_SIZES = [16]
    MEM_IMPLEMENTATIONS = ["hmm_core", "reference"]
    MEM_STEPS = 1_000_000


def _cases(lib, emissions, workload, n_components, steps=None):
    """[(run, inputs)] for every "+"-joined value of the parameters."""
    out = []
    for lib_ in lib.split("+"):
        for em in emissions.split("+"):
            for wl in workload.split("+"):
                n_seq, length = WORKLOADS[wl] if steps is None else (1, steps)
                out.append((runners(em)[lib_], make_inputs(em, n_components, n_seq, length)))
    return out


class _Suite:
    params = [EMISSION_PARAMS, WORKLOAD_PARAMS, SIZES]
    param_names = ["emissions", "workload", "n_components"]
    lib = "hmm_core"
    timeout = 300  # room for an editable install's rebuild of changed kernels on import

    def setup(self, emissions, workload, n_components):
        self.cases = _cases(self.lib, emissions, workload, n_components)

    def _call(self, op):
        for run, inputs in self.cases:
            run(op, *inputs)

    def time_score(self, emissions, workload, n_components):
        self._call("score")

    def time_posteriors(self, emissions, workload, n_components):
        self._call("posteriors")

    def time_viterbi(self, emissions, workload, n_components):
        self._call("viterbi")

    def time_em_iteration(self, emissions, workload, n_components):
        self._call("em")


class HmmCore(_Suite):
    """hmm_core with the default thread count."""


class HmmCoreOneThread(_Suite):
    """hmm_core with ``n_threads=1`` (batch only: one sequence always runs on one thread)."""

    params = [EMISSION_PARAMS, ["batch"], SIZES]
    lib = "hc_1t"


class Reference(_Suite):
    """The pure-NumPy reference (lockstep over equal-length sequences)."""

    params = [EMISSION_PARAMS, WORKLOAD_PARAMS, REF_SIZES]
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

    params = [MEM_IMPLEMENTATIONS, EMISSION_PARAMS, MEM_SIZES]
    param_names = ["implementation", "emissions", "n_components"]
    timeout = 600

    def setup(self, implementation, emissions, n_components):
        steps = MEM_STEPS if implementation == "hmm_core" else MEM_STEPS // 10
        self.cases = _cases(implementation, emissions, "long", n_components, steps)

    def _call(self, op):
        for run, inputs in self.cases:
            score, _ = run(op, *inputs)
            assert np.isfinite(score)

    def peakmem_score(self, implementation, emissions, n_components):
        self._call("score")

    def peakmem_posteriors(self, implementation, emissions, n_components):
        self._call("posteriors")

    def peakmem_viterbi(self, implementation, emissions, n_components):
        self._call("viterbi")

    def peakmem_em_iteration(self, implementation, emissions, n_components):
        self._call("em")


class MemoryBeyondInput:
    """Bytes one call allocates beyond its input (tracemalloc peak), as in ``memory.py``.

    ``score``: ``CategoricalHMM.score`` on symbols; ``forward``:
    ``hmm_core.forward`` on a given (T, N) log_frameprob. The memory target is
    < 16 MB at T = 10^7, N = 16 (here T is smaller: the figure scales with T
    where the call allocates per frame).
    """

    timeout = 600

    def track_score_bytes_beyond_input(self):
        return measure_case("score", MEM_STEPS)["tracemalloc_peak"]

    track_score_bytes_beyond_input.unit = "bytes"

    def track_forward_bytes_beyond_input(self):
        return measure_case("forward", MEM_STEPS)["tracemalloc_peak"]

    track_forward_bytes_beyond_input.unit = "bytes"


class ViterbiBackpointers:
    """Viterbi back-pointer bytes per cell (``hmm_core.viterbi``, one thread, N = 16),
    measured as in ``memory.py``; target: 1 byte (uint8) for N <= 256."""

    timeout = 600

    def track_bytes_per_cell(self):
        return measure_case("viterbi_1t", MEM_STEPS)["backpointer_bytes_per_cell"]

    track_bytes_per_cell.unit = "bytes/cell"


class MachineLimit:
    """hmm_core's forward pass over one sequence (frames given) and the dgemv loop.

    The ratio of their times (equal steps) is ``compare.py``'s forward/dgemv
    percentage; the dgemv loop is ``hmm_core.kernels._yardstick.dgemv_loop`` when the
    package has it, else a Python loop of ``np.dot`` (call overhead dominates
    below N = 64).
    """

    params = [SIZES]
    param_names = ["n_components"]
    timeout = 300

    def setup(self, n_components):
        import hmm_core
        from hmm_core.testing import reference

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
