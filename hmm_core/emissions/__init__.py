"""Emission models: per-state observation distributions.

An emission model turns observations into the (T, N) matrix of log emission
likelihoods the kernels consume, and turns state posteriors back into
parameter updates. It knows nothing of the chain; the HMM classes combine
chain parameters with one emission model.
"""

from hmm_core.emissions.base import EmissionModel
from hmm_core.emissions.categorical import CategoricalEmission
from hmm_core.emissions.gaussian import GaussianEmission
from hmm_core.emissions.gmm import GMMEmission
from hmm_core.emissions.independent import IndependentEmission
from hmm_core.emissions.multinomial import MultinomialEmission
from hmm_core.emissions.poisson import PoissonEmission

__all__ = [
    "CategoricalEmission",
    "EmissionModel",
    "GMMEmission",
    "GaussianEmission",
    "IndependentEmission",
    "MultinomialEmission",
    "PoissonEmission",
]
