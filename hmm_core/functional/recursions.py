"""The three HMM problems over user-supplied emission scores.

Speech and bioinformatics pipelines often bring their own frame scores (a
neural network's log-likelihoods, a profile score). These functions take those
scores as a (T, N) matrix of log emission likelihoods, validate everything,
and run the compiled kernels over a batch of sequences at once.

All functions share the arguments below.

Parameters
----------
log_startprob : array-like of shape (n_components,)
    Log initial-state probabilities (``-inf`` for a state that cannot start).
transmat : array-like of shape (n_components, n_components)
    Transition probabilities (probability space); rows sum to one, or rows
    plus ``exp(log_endprob)`` sum to one when an end state is used.
log_frameprob : array-like of shape (n_samples, n_components)
    Log emission likelihood of every frame under every state; the sequences
    are concatenated along the first axis. ``-inf`` marks an impossible frame.
lengths : array-like of int, optional
    Lengths of the concatenated sequences; ``None`` means one sequence.
log_endprob : array-like of shape (n_components,), optional
    Log probability of stopping after each state (an explicit final state).
n_threads : int, optional
    Threads for the batch; default from ``omp_get_max_threads()``.
sparse : bool, optional
    Visit only the non-zero transitions (O(T * nnz) per sequence); None
    chooses automatically (at least 32 states, at most 20% of transitions
    allowed). The lattice functions (``return_lattice``, ``backward``) are dense.
"""

from __future__ import annotations

import numpy as np

from hmm_core.kernels.chain import ChainParams
from hmm_core.kernels.validation import (
    check_lengths,
    check_log_frameprob,
    check_log_probability_vector,
    check_transmat,
)

__all__ = ["backward", "forward", "posteriors", "viterbi"]


def _prepare(log_startprob, transmat, log_frameprob, lengths, log_endprob, sparse=None):
    log_startprob = check_log_probability_vector(log_startprob, "log_startprob")
    n = log_startprob.shape[0]
    endprob = None
    if log_endprob is not None:
        from hmm_core.kernels.validation import as_float_array

        log_endprob = as_float_array(log_endprob, "log_endprob", 1)
        if log_endprob.shape[0] != n:
            raise ValueError(f"log_endprob must have length {n}, got {log_endprob.shape[0]}")
        if np.isnan(log_endprob).any() or (log_endprob > 0).any():
            raise ValueError("log_endprob holds log-probabilities: entries must be <= 0, no NaN")
        if not np.isfinite(log_endprob).any():
            raise ValueError("log_endprob must let at least one state end")
        endprob = np.exp(log_endprob)
    transmat = check_transmat(transmat, n, endprob)
    log_frameprob = check_log_frameprob(log_frameprob, n)
    offsets = check_lengths(lengths, log_frameprob.shape[0])
    chain = ChainParams.from_logs(log_startprob, transmat, log_endprob, sparse)
    return chain, log_frameprob, offsets


def forward(log_startprob, transmat, log_frameprob, lengths=None, log_endprob=None, *,
            return_lattice=False, n_threads=None, sparse=None):
    """Log-likelihood of every sequence by the forward algorithm.

    Parameters
    ----------
    log_startprob, transmat, log_frameprob, lengths, log_endprob
        See the module documentation.
    return_lattice : bool, default=False
        Also return the forward lattice. Without it, memory per sequence is
        O(n_components), whatever its length.
    n_threads, sparse
        See the module documentation.

    Returns
    -------
    loglik : ndarray of shape (n_sequences,)
        ``log P(x)`` per sequence; ``-inf`` for an impossible sequence.
    log_alpha : ndarray of shape (n_samples, n_components)
        Only with ``return_lattice``: ``log P(x_0..x_t, z_t = i)``.
    """
    chain, frames, offsets = _prepare(log_startprob, transmat, log_frameprob, lengths,
                                      log_endprob, False if return_lattice else sparse)
    if return_lattice:
        return chain.forward(frames, offsets, n_threads)
    return chain.loglik(frames, offsets, n_threads)


def backward(log_startprob, transmat, log_frameprob, lengths=None, log_endprob=None, *,
             n_threads=None):
    """Backward lattice ``log P(x_{t+1}.. | z_t = i)`` of every frame.

    Parameters
    ----------
    log_startprob, transmat, log_frameprob, lengths, log_endprob, n_threads
        See the module documentation (``log_startprob`` is validated for
        consistency but does not enter the backward pass).

    Returns
    -------
    ndarray of shape (n_samples, n_components)
        The backward lattice ``log_beta``; at the last frame of each sequence,
        ``log_endprob`` (or 0).
    """
    chain, frames, offsets = _prepare(log_startprob, transmat, log_frameprob, lengths,
                                      log_endprob, False)
    return chain.backward(frames, offsets, n_threads)


def posteriors(log_startprob, transmat, log_frameprob, lengths=None, log_endprob=None, *,
               n_threads=None, sparse=None):
    """State posteriors ``P(z_t = i | x)`` by forward-backward.

    Parameters
    ----------
    log_startprob, transmat, log_frameprob, lengths, log_endprob, n_threads, sparse
        See the module documentation.

    Returns
    -------
    loglik : ndarray of shape (n_sequences,)
        ``log P(x)`` per sequence.
    posteriors : ndarray of shape (n_samples, n_components)
        Rows sum to one; all zero for an impossible sequence.
    """
    chain, frames, offsets = _prepare(log_startprob, transmat, log_frameprob, lengths,
                                      log_endprob, sparse)
    return chain.posteriors(frames, offsets, n_threads)


def viterbi(log_startprob, transmat, log_frameprob, lengths=None, log_endprob=None, *,
            n_threads=None, sparse=None):
    """Most probable state path of every sequence (Viterbi).

    Parameters
    ----------
    log_startprob, transmat, log_frameprob, lengths, log_endprob, n_threads, sparse
        See the module documentation.

    Returns
    -------
    logprob : ndarray of shape (n_sequences,)
        ``log P(x, best path)`` per sequence; ``-inf`` for an impossible sequence.
    path : ndarray of int64, shape (n_samples,)
        The concatenated best paths; ties go to the lowest state index. An
        impossible sequence has no path: its entries are -1.
    """
    chain, frames, offsets = _prepare(log_startprob, transmat, log_frameprob, lengths,
                                      log_endprob, sparse)
    return chain.viterbi(frames, offsets, n_threads)
