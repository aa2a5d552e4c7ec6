"""hmm_core: hidden Markov models with typed, parallel Cython kernels.

Likelihood (forward/backward), decoding (Viterbi, posterior) and learning
(Baum-Welch) in exact log-space arithmetic over batches of variable-length
sequences, with an hmmlearn-compatible estimator API.
"""

__version__ = "0.1.0"

from hmm_core._config import effective_n_threads, openmp_enabled, show_config
from hmm_core.functional import backward, forward, posteriors, viterbi
from hmm_core.models import CategoricalHMM
from hmm_core.monitor import ConvergenceMonitor

__all__ = [
    "__version__",
    "CategoricalHMM",
    "ConvergenceMonitor",
    "backward",
    "effective_n_threads",
    "forward",
    "openmp_enabled",
    "posteriors",
    "show_config",
    "viterbi",
]
