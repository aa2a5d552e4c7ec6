"""HMM classes with hmmlearn's names: chain parameters plus one emission model."""

from hmm_core.models.categorical import CategoricalHMM

__all__ = ["CategoricalHMM"]
