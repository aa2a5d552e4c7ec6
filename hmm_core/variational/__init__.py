"""Hidden Markov models trained by variational Bayes (hmmlearn's ``Variational*HMM``).

:class:`VariationalCategoricalHMM` and :class:`VariationalGaussianHMM` keep a
conjugate posterior over every parameter and maximise the evidence lower
bound; see :mod:`hmm_core.variational._base` for the algorithm.
"""

from hmm_core.variational.categorical import VariationalCategoricalHMM
from hmm_core.variational.gaussian import VariationalGaussianHMM

__all__ = ["VariationalCategoricalHMM", "VariationalGaussianHMM"]
