"""Explicit-duration hidden semi-Markov models.

:class:`SemiMarkovHMM` models a sequence as segments whose durations follow
per-state distributions (nonparametric, Poisson or negative binomial) instead
of the geometric durations of an HMM. The recursions run in the compiled
kernels of ``hmm_core.kernels._semimarkov``; their readable NumPy form is
:mod:`hmm_core.testing.semimarkov`.
"""

from hmm_core.semimarkov._stats import SemiMarkovStatistics
from hmm_core.semimarkov.model import Segments, SemiMarkovHMM

__all__ = ["SemiMarkovHMM", "SemiMarkovStatistics", "Segments"]
