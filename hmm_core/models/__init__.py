"""HMM classes with hmmlearn's names: chain parameters plus one emission model."""

from hmm_core.models.autoregressive import AutoregressiveHMM
from hmm_core.models.categorical import CategoricalHMM
from hmm_core.models.gaussian import GaussianHMM
from hmm_core.models.gmm import GMMHMM
from hmm_core.models.independent import IndependentHMM
from hmm_core.models.multinomial import MultinomialHMM
from hmm_core.models.poisson import PoissonHMM

__all__ = [
    "AutoregressiveHMM",
    "CategoricalHMM",
    "GMMHMM",
    "GaussianHMM",
    "IndependentHMM",
    "MultinomialHMM",
    "PoissonHMM",
]
