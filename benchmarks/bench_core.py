"""airspeed velocity (asv) suite: hmm_core and the NumPy reference.

Run from the repository root::

    asv machine --yes
    asv run --python=same --quick --show-stderr   # the installed hmm_core, one call each

Inputs are those of ``compare.py`` (same seed, same parameters, symbols
sampled from the model, 32 symbols) on smaller workloads: ``long`` is one
sequence of 20,000 steps, ``batch`` 200 sequences of 500 steps, and N is 4,
16 or 64. Each operation is timed from the symbols and the parameters, as in
``compare.py``:

* ``score``: ``CategoricalHMM.score`` / ``reference.forward_loglik``;
* ``viterbi``: ``CategoricalHMM.decode`` / ``reference.viterbi``;
* ``posteriors``: ``CategoricalHMM.score_samples`` / ``reference.posteriors``;
* ``em``: one Baum-Welch iteration, ``CategoricalHMM.fit`` with
  ``init_params=""``, ``n_iter=1`` / ``reference.baum_welch_categorical``
  with ``n_iter=1``.
"""

import numpy as np

from .compare import make_params, run_hmm_core, run_reference, sample_symbols

WORKLOADS = {"long": (1, 20_000), "batch": (200, 500)}
SIZES = [4, 16, 64]


def _inputs(workload, n_components):
    params = make_params(n_components)
    n_seq, length = WORKLOADS[workload]
    X, lengths = sample_symbols(params, n_seq, length)
    return params, X, lengths


class _Suite:
    params = [list(WORKLOADS), SIZES]
    param_names = ["workload", "n_components"]
    run = None  # the runner: run(op, params, X, lengths)
    timeout = 180  # room for an editable install's rebuild of changed kernels on import

    def setup(self, workload, n_components):
        self.inputs = _inputs(workload, n_components)

    def _call(self, op):
        return type(self).run(op, *self.inputs)

    def time_score(self, workload, n_components):
        self._call("score")

    def time_viterbi(self, workload, n_components):
        self._call("viterbi")

    def time_posteriors(self, workload, n_components):
        self._call("posteriors")

    def time_em_iteration(self, workload, n_components):
        self._call("em")


class HmmCore(_Suite):
    """hmm_core's CategoricalHMM with the default thread count."""

    run = staticmethod(run_hmm_core)


class HmmCoreOneThread(_Suite):
    """hmm_core's CategoricalHMM with ``n_threads=1`` (batch only: one sequence
    always runs on one thread)."""

    params = [["batch"], SIZES]

    @staticmethod
    def run(op, params, X, lengths):
        return run_hmm_core(op, params, X, lengths, n_threads=1)


class Reference(_Suite):
    """The pure-NumPy reference implementation (hmm_core.reference)."""

    run = staticmethod(run_reference)
    # Calls take 0.05 to 5 s: no warm-up, few repeats.
    number = 1
    repeat = (1, 5, 30.0)
    warmup_time = 0.0
    timeout = 300


class PeakMemory:
    """Peak resident memory of the process while scoring one long sequence.

    The symbols and parameters are built in ``setup``, so the figure includes
    them (a few MB); the difference between the two implementations is what
    each one allocates (hmm_core's forward pass keeps O(N) per sequence besides
    the (T, N) emission log-likelihoods).
    """

    params = [["hmm_core", "reference"], SIZES]
    param_names = ["implementation", "n_components"]
    timeout = 180

    def setup(self, implementation, n_components):
        self.inputs = _inputs("long", n_components)
        self.run = run_hmm_core if implementation == "hmm_core" else run_reference

    def peakmem_score_long(self, implementation, n_components):
        loglik, _ = self.run("score", *self.inputs)
        assert np.isfinite(loglik)
