"""hmm_core: hidden Markov models with typed, parallel Cython kernels.

Likelihood (forward/backward), decoding (Viterbi, posterior, k-best) and
learning (Baum-Welch, Viterbi training, counting) in exact log-space arithmetic
over batches of variable-length sequences, with an hmmlearn-compatible
estimator API, plus observable Markov chains.

The package is layered; each subpackage is one concept and imports only from
the layers below it:

=======================  ====================================================
``hmm_core.kernels``     the Python face of the compiled kernels (``src/``)
``hmm_core.emissions``   emission models: frame scores and M-step updates
``hmm_core.structure``   topologies, tied parameters, composed models
``hmm_core.io``          model files, data formats, alphabets
``hmm_core.estimator``   the estimator base: settings, repr, save, randomness
``hmm_core.functional``  algorithms over user-supplied frame scores
``hmm_core.hmm``         the HMM estimator: scoring, decoding, training
``hmm_core.models``      one HMM class per emission type
``hmm_core.chains``      observable Markov chains and their analysis
``hmm_core.plot``        plots (optional matplotlib)
``hmm_core.cli``         the ``hmm-core`` command line
``hmm_core.testing``     the NumPy reference implementation
=======================  ====================================================
"""

import sys as _sys

from hmm_core._version import __version__
from hmm_core.chains import HigherOrderMarkovChain, MarkovChain
from hmm_core.cli import demo as _demo
from hmm_core.estimator import InvalidParameterError
from hmm_core.functional import backward, forward, kbest_viterbi, posteriors, viterbi
from hmm_core.functional import kbest as _kbest
from hmm_core.hmm import base as _base
from hmm_core.hmm import monitor as _monitor
from hmm_core.hmm.higher_order import HigherOrderHMM
from hmm_core.hmm.monitor import ConvergenceMonitor
from hmm_core.hmm.statistics import SufficientStatistics
from hmm_core.io import formats as _formats
from hmm_core.io import load
from hmm_core.kernels.config import effective_n_threads, openmp_enabled, show_config
from hmm_core.models import (
    GMMHMM,
    CategoricalHMM,
    GaussianHMM,
    IndependentHMM,
    MultinomialHMM,
    PoissonHMM,
)
from hmm_core.structure import compose, topology
from hmm_core.testing import reference as _reference

# Modules that moved into subpackages keep their earlier import paths.
for _old, _module in {
    "base": _base,
    "compose": compose,
    "demo": _demo,
    "formats": _formats,
    "higher_order": _sys.modules["hmm_core.hmm.higher_order"],
    "kbest": _kbest,
    "markov_chain": _sys.modules["hmm_core.chains.markov_chain"],
    "monitor": _monitor,
    "reference": _reference,
    "topology": topology,
}.items():
    _sys.modules.setdefault(f"{__name__}.{_old}", _module)
    globals().setdefault(_old, _module)
del _old, _module

__all__ = [
    "__version__",
    "CategoricalHMM",
    "ConvergenceMonitor",
    "GMMHMM",
    "GaussianHMM",
    "HigherOrderHMM",
    "HigherOrderMarkovChain",
    "IndependentHMM",
    "InvalidParameterError",
    "MarkovChain",
    "SufficientStatistics",
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
