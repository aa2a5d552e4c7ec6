"""Observable Markov chains: fitting, prediction and structural analysis.

- :mod:`~hmm_core.chains.markov_chain`: :class:`MarkovChain` and :class:`HigherOrderMarkovChain`;
- :mod:`~hmm_core.chains._analysis`: communicating classes, periods, stationary
  distributions, absorption and mixing.
"""

from hmm_core.chains.markov_chain import HigherOrderMarkovChain, MarkovChain

__all__ = ["HigherOrderMarkovChain", "MarkovChain"]
