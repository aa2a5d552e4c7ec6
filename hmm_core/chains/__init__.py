"""Observable Markov chains: fitting, prediction and structural analysis.

- :mod:`~hmm_core.chains.markov_chain`: :class:`MarkovChain`;
- :mod:`~hmm_core.chains.higher_order_chain`: :class:`HigherOrderMarkovChain`;
- :mod:`~hmm_core.chains._base`: what both share (settings, state names, model files);
- :mod:`~hmm_core.chains._structure`, :mod:`~hmm_core.chains._stationary`,
  :mod:`~hmm_core.chains._absorption`: communicating classes and periods,
  stationary distributions and mixing, absorption;
- :mod:`~hmm_core.chains._elimination`: the subtraction-free elimination behind
  stationary distributions and absorption;
- :mod:`~hmm_core.chains._validation`: checks of settings, sequences and probabilities.
"""

from hmm_core.chains.higher_order_chain import HigherOrderMarkovChain
from hmm_core.chains.markov_chain import MarkovChain

__all__ = ["HigherOrderMarkovChain", "MarkovChain"]
