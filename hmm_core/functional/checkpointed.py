"""Likelihood, posteriors, E-step and Viterbi of one very long sequence in bounded memory.

The functions of :mod:`hmm_core.functional.recursions` hold (T, N) lattices.
These hold the forward (or Viterbi) vector of one frame every ``block_size``
frames and recompute each block from it, so a sequence of 10^8 frames runs
in tens of megabytes besides what is returned. The frame scores are read a
block at a time: pass a (T, N) array (a ``numpy.memmap`` is read block by
block) or a callable ``frames(start, stop)`` that computes them.

Results equal those of the one-call functions: the log-likelihood, the
posteriors and the E-step statistics to rounding (relative 1e-12), the
Viterbi path and its log-probability exactly.

Parameters shared by every function
-----------------------------------
log_startprob : array-like of shape (n_components,)
transmat : array-like of shape (n_components, n_components)
frames : array-like of shape (n_frames, n_components), or callable
    Log emission likelihoods; a callable is called as ``frames(start, stop)``
    and returns the (stop - start, n_components) scores of those frames.
n_frames : int, optional
    Length of the sequence; required when ``frames`` is a callable.
log_endprob : array-like of shape (n_components,), optional
block_size : int, optional
    Frames per block (about ``sqrt(n_frames)``, at least 16384, by default).

Examples
--------
>>> import numpy as np
>>> from hmm_core.functional import checkpointed_loglik, checkpointed_viterbi
>>> rng = np.random.default_rng(0)
>>> log_frameprob = np.log(rng.random((100_000, 3)))
>>> start, trans = np.log(np.full(3, 1 / 3)), np.full((3, 3), 1 / 3)
>>> loglik = checkpointed_loglik(start, trans, log_frameprob, block_size=1000)
>>> logprob, path = checkpointed_viterbi(start, trans, log_frameprob, block_size=1000)
>>> path.shape
(100000,)
"""

from __future__ import annotations

import numpy as np

from hmm_core.functional._blockrun import BlockRun
from hmm_core.kernels.chain import ChainParams
from hmm_core.kernels.validation import (
    as_float_array,
    check_log_probability_vector,
    check_transmat,
)

__all__ = [
    "checkpointed_estep",
    "checkpointed_loglik",
    "checkpointed_posteriors",
    "checkpointed_viterbi",
]


def _run(log_startprob, transmat, frames, n_frames, log_endprob, block_size):
    log_startprob = check_log_probability_vector(log_startprob, "log_startprob")
    n = log_startprob.shape[0]
    endprob = None
    if log_endprob is not None:
        log_endprob = as_float_array(log_endprob, "log_endprob", 1)
        if log_endprob.shape[0] != n:
            raise ValueError(f"log_endprob must have length {n}, got {log_endprob.shape[0]}")
        if np.isnan(log_endprob).any() or (log_endprob > 0).any():
            raise ValueError("log_endprob holds log-probabilities: entries must be <= 0, no NaN")
        if not np.isfinite(log_endprob).any():
            raise ValueError("log_endprob must let at least one state end")
        endprob = np.exp(log_endprob)
    transmat = check_transmat(transmat, n, endprob)
    chain = ChainParams.from_logs(log_startprob, transmat, log_endprob, False)
    return BlockRun(chain, frames, n_frames, block_size)


def checkpointed_loglik(log_startprob, transmat, frames, n_frames=None, log_endprob=None, *,
                        block_size=None):
    """Log-likelihood of one long sequence, reading its frames a block at a time.

    Parameters
    ----------
    log_startprob, transmat, frames, n_frames, log_endprob, block_size
        See the module documentation.

    Returns
    -------
    float
        ``log P(x)``; ``-inf`` for an impossible sequence.
    """
    return _run(log_startprob, transmat, frames, n_frames, log_endprob, block_size).loglik()


def checkpointed_posteriors(log_startprob, transmat, frames, n_frames=None, log_endprob=None,
                            *, block_size=None, out=None):
    """State posteriors of one long sequence, written block by block.

    Parameters
    ----------
    log_startprob, transmat, frames, n_frames, log_endprob, block_size
        See the module documentation.
    out : writable array of shape (n_frames, n_components), optional
        Where the posteriors go (for example ``numpy.lib.format.open_memmap``
        of a ``.npy`` file); allocated when None. Blocks are written last first.

    Returns
    -------
    loglik : float
        ``log P(x)``.
    posteriors : array of shape (n_frames, n_components)
        ``out``; rows sum to one, all zero for an impossible sequence.
    """
    run = _run(log_startprob, transmat, frames, n_frames, log_endprob, block_size)
    if out is None:
        out = np.empty((run.n_frames, run.chain.n_components))
    return run.posteriors(out, counts=False)["loglik"], out


def checkpointed_estep(log_startprob, transmat, frames, n_frames=None, log_endprob=None, *,
                       block_size=None, on_block=None):
    """Baum-Welch E-step statistics of one long sequence in bounded memory.

    Parameters
    ----------
    log_startprob, transmat, frames, n_frames, log_endprob, block_size
        See the module documentation.
    on_block : callable, optional
        Called as ``on_block(start, stop, posteriors)`` with the posteriors
        of every block (last block first), to fold emission statistics in.

    Returns
    -------
    dict
        ``loglik`` (float), ``start_counts`` (N,), ``trans_counts`` (N, N),
        ``end_counts`` (N,) (the last frame's posteriors) and ``occupancy``
        (N,), the posteriors summed over frames; zero counts for an
        impossible sequence.
    """
    run = _run(log_startprob, transmat, frames, n_frames, log_endprob, block_size)
    occupancy = np.zeros(run.chain.n_components)

    def fold(start, stop, post):
        occupancy[:] += post.sum(axis=0)
        if on_block is not None:
            on_block(start, stop, post)

    stats = run.posteriors(None, fold)
    stats["occupancy"] = occupancy
    return stats


def checkpointed_viterbi(log_startprob, transmat, frames, n_frames=None, log_endprob=None, *,
                         block_size=None, out=None):
    """Most probable state path of one long sequence in bounded memory.

    Two passes: the Viterbi scores of the frame before each block, then each
    block's back-pointers recomputed from them, last block first, and
    followed back. The scores and the path are exactly those of
    :func:`~hmm_core.functional.viterbi` (ties to the lowest state index).

    Parameters
    ----------
    log_startprob, transmat, frames, n_frames, log_endprob, block_size
        See the module documentation (at most 256 states).
    out : writable int64 array of shape (n_frames,), optional
        Where the path goes; allocated when None.

    Returns
    -------
    logprob : float
        ``log P(x, best path)``; ``-inf`` for an impossible sequence.
    path : array of int64, shape (n_frames,)
        -1 on every frame of an impossible sequence.
    """
    return _run(log_startprob, transmat, frames, n_frames, log_endprob,
                block_size).viterbi(out)
