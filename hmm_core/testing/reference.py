"""Pure-NumPy reference implementation of the HMM recursions.

This module is the readable oracle for the compiled kernels and the baseline
for the benchmarks. It uses only NumPy and :func:`scipy.special.logsumexp`.

Conventions (float64, C order): ``log_startprob`` (N,); ``transmat`` (N, N) in
probability space; ``log_frameprob`` (T_total, N), the log-likelihood of every
frame under every state, all sequences concatenated; ``offsets`` int64
(n_seq + 1,), sequence ``s`` being frames ``offsets[s]:offsets[s + 1]`` (no
empty sequence); ``log_endprob`` (N,) or None (every state may end).

The joint probability of frames ``x`` and states ``z`` is
``start[z0] b_{z0}(x0) prod_t A[z_{t-1}, z_t] b_{z_t}(x_t) end[z_{T-1}]``.
A sequence with likelihood exactly zero gets log-likelihood -inf (never NaN),
all-zero posteriors, a Viterbi log-probability of -inf with path -1, and adds
nothing to the expected counts.

Two modes are offered. With ``exact=False`` each step is "max-shifted": the
previous log vector is shifted by its maximum, exponentiated once, multiplied
through the transition matrix and logged once per state; any entry whose
shifted sum is below 1e-280 (where terms may have been lost to underflow) is
recomputed with an exact log-sum-exp. With ``exact=True`` every step is a full
log-sum-exp over N^2 terms: slow, but the oracle for underflow tests.

Batches are advanced in lockstep: sequences are sorted by decreasing length so
that at step ``t`` the sequences still running form a prefix of that order, and
each step is one ``(n_active, N) @ (N, N)`` product. The number of NumPy steps
is the length of the longest sequence, not the total number of frames. (BLAS
may round differently for different batch sizes, so the last bits of one
sequence's results can depend on the batch it is in.)

The code is in three private modules: ``_lockstep`` (validation, the lockstep
layout and single steps), ``_recursions`` (the public recursions) and
``_training`` (categorical emissions and Baum-Welch).
"""

# The thresholds stay importable from here, as before the split.
from hmm_core.testing._lockstep import MAX_XI_SCALE as MAX_XI_SCALE
from hmm_core.testing._lockstep import UNDERFLOW_GUARD as UNDERFLOW_GUARD
from hmm_core.testing._recursions import (
    backward,
    estep,
    forward,
    forward_loglik,
    map_path_logprob,
    posteriors,
    viterbi,
)
from hmm_core.testing._training import baum_welch_categorical, categorical_log_frameprob

__all__ = ["backward", "baum_welch_categorical", "categorical_log_frameprob", "estep",
           "forward", "forward_loglik", "map_path_logprob", "posteriors", "viterbi"]
