"""Algorithms over user-supplied frame scores: likelihood, posteriors and decoding.

Every function takes ``log_startprob``, ``transmat`` and a (T, N) matrix of
log emission likelihoods, so any emission model (a neural network, a profile
score) can be combined with hmm_core's kernels.
"""

from hmm_core.functional.checkpointed import (
    checkpointed_estep,
    checkpointed_loglik,
    checkpointed_posteriors,
    checkpointed_viterbi,
)
from hmm_core.functional.kbest import kbest_viterbi
from hmm_core.functional.recursions import backward, forward, posteriors, viterbi

__all__ = [
    "backward",
    "checkpointed_estep",
    "checkpointed_loglik",
    "checkpointed_posteriors",
    "checkpointed_viterbi",
    "forward",
    "kbest_viterbi",
    "posteriors",
    "viterbi",
]
