"""Readable NumPy reference of the explicit-duration (semi-Markov) recursions.

The oracle of the compiled kernels in ``hmm_core.kernels._semimarkov`` and the
baseline of their benchmarks. One sequence at a time, one Python step per
frame, vectorised over states and durations.

Conventions (float64): ``log_frameprob`` (T, N); ``log_startprob`` (N,);
``log_transmat`` (N, N) with a -inf diagonal (a segment is followed by a
segment of another state); ``log_duration`` (N, D) with
``log_duration[j, d - 1] = log P(duration of a segment of j = d)``;
``log_last`` (N, D), the same for the last segment of the sequence (the
duration table itself, or the survival ``log P(duration >= d)`` when the last
segment is right-censored).

The probability of frames x and a segmentation into segments (j_k, d_k) is
``pi[j_1] prod_k A[j_{k-1}, j_k] p_{j_k}(d_k) prod_t b(x_t)`` with the last
factor p replaced by the ``log_last`` entry. Messages:

* ``S[t, j]``: log P(x[:t], a segment of j starts at frame t);
* ``F[t, j]``: log P(x[:t], a segment of j ends just before frame t);
* ``B_start[t, j]``, ``B_end[t, j]``: the matching backward messages.

A segment [u, t) of state j emits ``C[t, j] - C[u, j]`` with C the cumulative
sum of the frame log-likelihoods; a frame with log-likelihood -inf is counted
in ``K`` instead, and a segment that contains one is impossible.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

__all__ = ["semimarkov_estep", "semimarkov_forward", "semimarkov_loglik",
           "semimarkov_viterbi"]


def _cumulative(log_frameprob):
    """C (T + 1, N), sums of the finite frame scores, and K, counts of the impossible ones."""
    finite = np.isfinite(log_frameprob)
    n = log_frameprob.shape[1]
    zeros = np.zeros((1, n))
    c = np.vstack([zeros, np.cumsum(np.where(finite, log_frameprob, 0.0), axis=0)])
    k = np.vstack([zeros, np.cumsum(~finite, axis=0)])
    return c, k


def _segments_ending(t, c, k, log_duration, log_last, n_frames):
    """Durations 1..min(D, t) of the segments [t - d, t), their starts and scores (d, N)."""
    max_d = log_duration.shape[1]
    durations = np.arange(1, min(max_d, t) + 1)
    starts = t - durations
    table = log_last if t == n_frames else log_duration
    score = table[:, durations - 1].T + c[t] - c[starts]
    score[k[t] != k[starts]] = -np.inf
    return durations, starts, score


def semimarkov_forward(log_frameprob, log_startprob, log_transmat, log_duration, log_last):
    """Forward messages of one sequence.

    Parameters
    ----------
    log_frameprob : ndarray of shape (T, N)
    log_startprob : ndarray of shape (N,)
    log_transmat : ndarray of shape (N, N)
    log_duration, log_last : ndarray of shape (N, D)

    Returns
    -------
    loglik : float
    S : ndarray of shape (T, N)
    F : ndarray of shape (T + 1, N)
        ``F[0]`` is -inf.
    """
    n_frames, n = log_frameprob.shape
    c, k = _cumulative(log_frameprob)
    S = np.full((n_frames, n), -np.inf)
    F = np.full((n_frames + 1, n), -np.inf)
    S[0] = log_startprob
    for t in range(1, n_frames + 1):
        _, starts, score = _segments_ending(t, c, k, log_duration, log_last, n_frames)
        F[t] = logsumexp(S[starts] + score, axis=0)
        if t < n_frames:
            S[t] = logsumexp(F[t][:, None] + log_transmat, axis=0)
    return float(logsumexp(F[n_frames])), S, F


def semimarkov_loglik(log_frameprob, offsets, log_startprob, log_transmat, log_duration,
                      log_last):
    """Log-likelihood of every sequence of a batch.

    Parameters
    ----------
    log_frameprob : ndarray of shape (T_total, N)
    offsets : ndarray of int of shape (n_seq + 1,)
    log_startprob, log_transmat, log_duration, log_last : ndarray
        As in :func:`semimarkov_forward`.

    Returns
    -------
    ndarray of shape (n_seq,)
    """
    return np.array([
        semimarkov_forward(log_frameprob[a:b], log_startprob, log_transmat, log_duration,
                           log_last)[0]
        for a, b in zip(offsets[:-1], offsets[1:], strict=True)])


def _estep_one(log_frameprob, log_startprob, log_transmat, log_duration, log_last):
    n_frames, n = log_frameprob.shape
    max_d = log_duration.shape[1]
    ll, S, F = semimarkov_forward(log_frameprob, log_startprob, log_transmat, log_duration,
                                  log_last)
    out = {"loglik": ll, "posteriors": np.zeros((n_frames, n)),
           "start": np.zeros(n), "trans": np.zeros((n, n)),
           "durations": np.zeros((n, max_d)), "last": np.zeros((n, max_d))}
    if ll == -np.inf:
        return out
    c, k = _cumulative(log_frameprob)
    b_start = np.full((n_frames, n), -np.inf)
    b_end = np.full((n_frames + 1, n), -np.inf)
    b_end[n_frames] = 0.0
    for t in range(n_frames - 1, -1, -1):
        durations = np.arange(1, min(max_d, n_frames - t) + 1)
        ends = t + durations
        table = np.where((ends == n_frames)[None, :], log_last[:, durations - 1],
                         log_duration[:, durations - 1]).T
        score = table + c[ends] - c[t]
        score[k[ends] != k[t]] = -np.inf
        joint = score + b_end[ends]                      # (d, N)
        b_start[t] = logsumexp(joint, axis=0)
        # Expected segments [t, t + d) of each state.
        seg = np.exp(S[t] + joint - ll)
        last = ends == n_frames
        out["durations"][:, durations[~last] - 1] += seg[~last].T
        out["last"][:, durations[last] - 1] += seg[last].T
        if t > 0:
            b_end[t] = logsumexp(log_transmat + b_start[t][None, :], axis=1)
            out["trans"] += np.exp(F[t][:, None] + log_transmat + b_start[t][None, :] - ll)
    starts = np.exp(S + b_start - ll)
    ends = np.exp(F[:n_frames] + b_end[:n_frames] - ll)   # row 0 is 0
    out["start"] = starts[0]
    # A state is occupied at frame t when its segment started at or before t
    # and has not ended before t.
    occupancy = np.maximum(np.cumsum(starts - ends, axis=0), 0.0)
    out["posteriors"] = occupancy / occupancy.sum(axis=1, keepdims=True)
    return out


def semimarkov_estep(log_frameprob, offsets, log_startprob, log_transmat, log_duration,
                     log_last):
    """Compute the posteriors and expected counts of a batch.

    Parameters
    ----------
    log_frameprob : ndarray of shape (T_total, N)
    offsets : ndarray of int of shape (n_seq + 1,)
    log_startprob, log_transmat, log_duration, log_last : ndarray
        As in :func:`semimarkov_forward`.

    Returns
    -------
    dict
        ``loglik`` (n_seq,), ``posteriors`` (T_total, N), and the sums over
        sequences of ``start`` (N,), ``trans`` (N, N), ``durations`` (N, D)
        (segments before the last one) and ``last`` (N, D) (last segments, by
        observed length).
    """
    parts = [_estep_one(log_frameprob[a:b], log_startprob, log_transmat, log_duration,
                        log_last) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    out = {"loglik": np.array([p["loglik"] for p in parts]),
           "posteriors": np.concatenate([p["posteriors"] for p in parts])}
    for name in ("start", "trans", "durations", "last"):
        out[name] = sum(p[name] for p in parts)
    return out


def _viterbi_one(log_frameprob, log_startprob, log_transmat, log_duration, log_last):
    n_frames, n = log_frameprob.shape
    c, k = _cumulative(log_frameprob)
    S = np.full((n_frames, n), -np.inf)
    F = np.full((n_frames + 1, n), -np.inf)
    best_d = np.zeros((n_frames + 1, n), dtype=int)
    best_prev = np.zeros((n_frames, n), dtype=int)
    S[0] = log_startprob
    for t in range(1, n_frames + 1):
        durations, starts, score = _segments_ending(t, c, k, log_duration, log_last, n_frames)
        total = S[starts] + score
        arg = np.argmax(total, axis=0)                 # first maximum: shortest duration
        F[t] = total[arg, np.arange(n)]
        best_d[t] = durations[arg]
        if t < n_frames:
            cand = F[t][:, None] + log_transmat
            best_prev[t] = np.argmax(cand, axis=0)     # lowest state on ties
            S[t] = cand[best_prev[t], np.arange(n)]
    j = int(np.argmax(F[n_frames]))
    logprob = float(F[n_frames, j])
    path = np.full(n_frames, -1, dtype=np.int64)
    if logprob == -np.inf:
        return logprob, path
    t = n_frames
    while t > 0:
        d = best_d[t, j]
        path[t - d:t] = j
        t -= d
        if t > 0:
            j = best_prev[t, j]
    return logprob, path


def semimarkov_viterbi(log_frameprob, offsets, log_startprob, log_transmat, log_duration,
                       log_last):
    """Most probable segmentation of every sequence.

    Parameters
    ----------
    log_frameprob : ndarray of shape (T_total, N)
    offsets : ndarray of int of shape (n_seq + 1,)
    log_startprob, log_transmat, log_duration, log_last : ndarray
        As in :func:`semimarkov_forward`.

    Returns
    -------
    logprob : ndarray of shape (n_seq,)
        -inf for an impossible sequence (its path is -1).
    path : ndarray of int64 of shape (T_total,)
        The state of every frame; segments change state at every boundary.
    """
    results = [_viterbi_one(log_frameprob[a:b], log_startprob, log_transmat, log_duration,
                            log_last) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    return (np.array([r[0] for r in results]),
            np.concatenate([r[1] for r in results]))
