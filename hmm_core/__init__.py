"""hmm_core: hidden Markov models with typed, parallel Cython kernels.

Likelihood (forward/backward), decoding (Viterbi, posterior, k-best) and
learning (Baum-Welch, Viterbi training, counting) in exact log-space arithmetic
over batches of variable-length sequences, with an hmmlearn-compatible
estimator API, plus observable Markov chains.
"""

__version__ = "0.1.0"

from hmm_core import compose, topology
from hmm_core._config import effective_n_threads, openmp_enabled, show_config
from hmm_core.functional import backward, forward, posteriors, viterbi
from hmm_core.higher_order import HigherOrderHMM
from hmm_core.io import load
from hmm_core.kbest import kbest_viterbi
from hmm_core.markov_chain import HigherOrderMarkovChain, MarkovChain
from hmm_core.models import (
    GMMHMM,
    CategoricalHMM,
    GaussianHMM,
    IndependentHMM,
    MultinomialHMM,
    PoissonHMM,
)
from hmm_core.monitor import ConvergenceMonitor

__all__ = [
    "__version__",
    "CategoricalHMM",
    "ConvergenceMonitor",
    "GMMHMM",
    "GaussianHMM",
    "HigherOrderHMM",
    "HigherOrderMarkovChain",
    "IndependentHMM",
    "MarkovChain",
    "MultinomialHMM",
    "PoissonHMM",
    "backward",
    "compose",
    "effective_n_threads",
    "forward",
    "kbest_viterbi",
    "load",
    "openmp_enabled",
    "posteriors",
    "show_config",
    "topology",
    "viterbi",
]
