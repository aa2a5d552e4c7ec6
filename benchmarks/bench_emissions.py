"""airspeed velocity (asv) suite: hmm_core's Gaussian and GMM emissions.

Run from the repository root::

    asv run --python=same --quick --show-stderr --bench bench_emissions

Inputs are those of ``compare_emissions.py`` (same seed and parameters,
observations sampled from the model) on a smaller workload: 50 sequences of
400 frames, D = 8, N in 4 or 16 (with ``HMM_CORE_BENCH_SMALL=1``: 4 x 50
frames, N = 4, the three models in one call). Operations, timed from the observations and
the parameters:

* ``score``: ``score`` (hmm_core) / NumPy emissions + ``reference.forward_loglik``;
* ``em_iteration``: ``fit`` with ``init_params=""``, ``n_iter=1`` (hmm_core) /
  NumPy emissions + ``reference.estep`` + NumPy M-step.
"""

import os

from .compare_emissions import make_params, run_hmm_core, run_reference, sample

N_FEATURES = 8
MODELS = ["gauss-diag", "gauss-full", "gmm-diag"]
if os.environ.get("HMM_CORE_BENCH_SMALL", "").strip() not in ("", "0"):  # see bench_core
    N_SEQ, LENGTH = 4, 50
    SIZES = [4]
    MODEL_PARAMS = ["+".join(MODELS)]  # one process: every model in one call
else:
    N_SEQ, LENGTH = 50, 400
    SIZES = [4, 16]
    MODEL_PARAMS = MODELS


class _Suite:
    params = [MODEL_PARAMS, SIZES]
    param_names = ["model", "n_components"]
    run = None  # run(op, params, X, lengths)

    def setup(self, model, n_components):
        self.inputs = []
        for kind in model.split("+"):
            p = make_params(kind, N_FEATURES, n_components)
            self.inputs.append((p, *sample(p, N_SEQ, LENGTH)))

    def time_score(self, model, n_components):
        for inputs in self.inputs:
            type(self).run("score", *inputs)

    def time_em_iteration(self, model, n_components):
        for inputs in self.inputs:
            type(self).run("em", *inputs)


class EmissionsHmmCore(_Suite):
    """hmm_core's GaussianHMM / GMMHMM (n_mix=4) with the default thread count."""

    run = staticmethod(run_hmm_core)


class EmissionsReference(_Suite):
    """NumPy emission log-likelihoods plus hmm_core.reference."""

    run = staticmethod(run_reference)
