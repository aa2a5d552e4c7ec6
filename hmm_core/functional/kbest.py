"""k-best Viterbi: the k most probable state paths, exactly and in order.

The parallel list-Viterbi algorithm keeps, at every frame and for every
state ``j``, the ``k`` best partial paths ending in ``j``. The ``k`` best
paths ending in ``j`` at frame ``t`` extend some of the ``k`` best ending in
each predecessor at ``t - 1`` (a path that is not among the ``k`` best into
``i`` is beaten by ``k`` others that extend the same way), so each step picks
the top ``k`` of ``k * N`` candidates per state. Distinct (predecessor, rank)
pairs are distinct partial paths, so no path is listed twice.

Cost per frame is O(k N^2) time; memory is one (k, N) back-pointer table per
frame. The per-frame work is vectorised with NumPy; sequences run one after
another.
"""

from __future__ import annotations

import numpy as np

from hmm_core.functional.recursions import _prepare
from hmm_core.kernels.validation import check_memory

__all__ = ["kbest_paths", "kbest_viterbi"]


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _top(scores, k):
    """Indices of the ``k`` largest entries of each column, best first."""
    if scores.shape[0] > k:
        part = np.argpartition(-scores, k - 1, axis=0)[:k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=0), axis=0, kind="stable")
        return np.take_along_axis(part, order, axis=0)
    return np.argsort(-scores, axis=0, kind="stable")


def _one_sequence(log_startprob, log_transmat, frames, k, log_endprob):
    """k best paths of one sequence: logprob (k,), paths (k, T)."""
    n_frames, n = frames.shape
    score = (log_startprob + frames[0])[None, :]  # (ranks so far, N)
    back = []  # per frame: flat (rank * N + predecessor) of each kept path
    for t in range(1, n_frames):
        cand = (score[:, :, None] + log_transmat[None]).reshape(-1, n)
        best = _top(cand, k)
        back.append(best.astype(np.int32))
        score = np.take_along_axis(cand, best, axis=0) + frames[t]
    final = (score + log_endprob).reshape(-1)
    chosen = _top(final[:, None], k)[:, 0]
    logprob = np.full(k, -np.inf)
    paths = np.full((k, n_frames), -1, dtype=np.int64)
    found = chosen[final[chosen] > -np.inf]
    m = found.size
    logprob[:m] = final[found]
    rank, state = np.divmod(found, n)
    paths[:m, -1] = state
    for t in range(n_frames - 1, 0, -1):
        rank, state = np.divmod(back[t - 1][rank, state].astype(np.int64), n)
        paths[:m, t - 1] = state
    return logprob, paths


def kbest_paths(log_startprob, log_transmat, log_frameprob, offsets, k, log_endprob=None):
    """Find the k best paths of a batch; arguments already validated (kernel layout).

    Parameters
    ----------
    log_startprob : ndarray of shape (N,)
    log_transmat : ndarray of shape (N, N)
    log_frameprob : ndarray of shape (n_samples, N)
    offsets : ndarray of int64 of shape (n_sequences + 1,)
    k : int
    log_endprob : ndarray of shape (N,), optional

    Returns
    -------
    logprob : ndarray of shape (k, n_sequences)
    paths : ndarray of int64, shape (k, n_samples)
    """
    k = _check_k(k)
    n_frames, n = log_frameprob.shape
    n_seq = offsets.shape[0] - 1
    longest = int(np.max(np.diff(offsets)))
    # A step keeps at most min(k, N**t) ranks: back-pointers (ranks, N) int32
    # per frame of a sequence and the (ranks, N, N) candidates of a step;
    # then the (k, n_samples) paths and (k, n_sequences) scores returned.
    ranks = k if longest * np.log2(max(n, 2)) > 62 else min(k, n**longest)
    check_memory(4 * longest * ranks * n + 8 * 3 * ranks * n * n + 8 * k * (n_frames + n_seq),
                 f"decoding the k={k:,} best paths of {n_seq:,} sequence(s) ({n} states, "
                 f"{n_frames:,} frames)", "ask for fewer paths (a smaller k) or decode "
                 "shorter sequences")
    log_endprob = np.zeros(n) if log_endprob is None else log_endprob
    logprob = np.empty((k, n_seq))
    paths = np.empty((k, log_frameprob.shape[0]), dtype=np.int64)
    for s in range(n_seq):
        a, b = offsets[s], offsets[s + 1]
        logprob[:, s], paths[:, a:b] = _one_sequence(
            log_startprob, log_transmat, log_frameprob[a:b], k, log_endprob)
    return logprob, paths


def kbest_viterbi(log_startprob, transmat, log_frameprob, k, lengths=None, log_endprob=None):
    """The ``k`` most probable state paths of every sequence, best first.

    Parameters
    ----------
    log_startprob : array-like of shape (n_components,)
        Log initial-state probabilities.
    transmat : array-like of shape (n_components, n_components)
        Transition probabilities (rows plus ``exp(log_endprob)`` sum to one).
    log_frameprob : array-like of shape (n_samples, n_components)
        Log emission likelihood of every frame under every state (sequences
        concatenated).
    k : int
        Number of paths per sequence.
    lengths : array-like of int, optional
        Sequence lengths; None means one sequence.
    log_endprob : array-like of shape (n_components,), optional
        Log end probabilities.

    Returns
    -------
    logprob : ndarray of shape (k, n_sequences)
        ``logprob[r, s] = log P(x_s, r-th best path)``, non-increasing in
        ``r``; ``-inf`` where sequence ``s`` has fewer than ``r + 1``
        possible paths. Paths of equal probability come in an unspecified
        order.
    paths : ndarray of int64, shape (k, n_samples)
        ``paths[r]`` is the concatenation of every sequence's ``r``-th best
        path; -1 where there is none. ``logprob[0], paths[0]`` are the
        Viterbi result.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core.kbest import kbest_viterbi
    >>> A = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> lf = np.log([[0.6, 0.4], [0.5, 0.5]])
    >>> logprob, paths = kbest_viterbi(np.log([0.5, 0.5]), A, lf, k=3)
    >>> paths[:, :2].tolist()
    [[0, 0], [1, 1], [1, 0]]
    """
    k = _check_k(k)
    chain, frames, offsets = _prepare(log_startprob, transmat, log_frameprob, lengths,
                                      log_endprob)
    return kbest_paths(chain.log_startprob, chain.log_transmat, frames, offsets, k,
                       chain.log_endprob)
