"""Emission models: per-state observation distributions.

An emission model turns observations into the (T, N) matrix of log emission
likelihoods the kernels consume, and turns state posteriors back into
parameter updates. It knows nothing of the chain; the HMM classes combine
chain parameters with one emission model.
"""

from hmm_core.emissions.base import EmissionModel
from hmm_core.emissions.categorical import CategoricalEmission

__all__ = ["CategoricalEmission", "EmissionModel"]
