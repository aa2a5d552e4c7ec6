"""The recursions of the NumPy reference: forward, backward, posteriors, E-step
statistics, Viterbi and the log-probability of a given path.

See :mod:`hmm_core.testing.reference` for the conventions.
"""

import numpy as np

from hmm_core.testing._lockstep import (
    _QUIET,
    _backward_pass,
    _forward_pass,
    _gamma,
    _Problem,
)


def forward(log_startprob, transmat, log_frameprob, offsets, log_endprob=None, exact=False):
    """Forward algorithm: per-sequence log-likelihoods and the forward lattice.

    Parameters
    ----------
    log_startprob : ndarray of shape (N,)
        Log initial-state probabilities.
    transmat : ndarray of shape (N, N)
        Transition probabilities (probability space).
    log_frameprob : ndarray of shape (T_total, N)
        Log emission likelihood of every frame (all sequences concatenated).
    offsets : ndarray of int of shape (n_seq + 1,)
        Sequence ``s`` is frames ``offsets[s]:offsets[s + 1]``.
    log_endprob : ndarray of shape (N,), optional
        Log end probabilities; None means every state may end.
    exact : bool, default False
        Use a full N^2 log-sum-exp at every step instead of the max-shifted
        matrix-vector step.

    Returns
    -------
    loglik : ndarray of shape (n_seq,)
        ``log P(x_s)``; -inf for an impossible sequence.
    log_alpha : ndarray of shape (T_total, N)
        ``log P(x_0..x_t, z_t = j)`` (the end probability is not included).
    """
    p = _Problem(log_startprob, transmat, log_frameprob, offsets, log_endprob)
    with np.errstate(**_QUIET):
        return _forward_pass(p, exact, store=True)


def forward_loglik(log_startprob, transmat, log_frameprob, offsets, log_endprob=None,
                   exact=False):
    """Per-sequence log-likelihoods without allocating the forward lattice.

    Parameters
    ----------
    log_startprob, transmat, log_frameprob, offsets, log_endprob, exact
        As in :func:`forward`.

    Returns
    -------
    ndarray of shape (n_seq,)
        Per-sequence ``log P(x_s)``; -inf for an impossible sequence.
    """
    p = _Problem(log_startprob, transmat, log_frameprob, offsets, log_endprob)
    with np.errstate(**_QUIET):
        return _forward_pass(p, exact, store=False)[0]


def backward(log_startprob, transmat, log_frameprob, offsets, log_endprob=None, exact=False):
    """Backward algorithm: the backward lattice.

    Parameters
    ----------
    log_startprob, transmat, log_frameprob, offsets, log_endprob, exact
        As in :func:`forward` (``log_startprob`` is only validated).

    Returns
    -------
    ndarray of shape (T_total, N)
        The backward lattice ``log P(x_{t+1}.., end | z_t = i)``; at the last
        frame of each sequence
        it equals ``log_endprob`` (or 0).
    """
    p = _Problem(log_startprob, transmat, log_frameprob, offsets, log_endprob)
    with np.errstate(**_QUIET):
        return _backward_pass(p, exact)[0]


def posteriors(log_startprob, transmat, log_frameprob, offsets, log_endprob=None,
               exact=False):
    """State posteriors by forward-backward.

    Parameters
    ----------
    log_startprob, transmat, log_frameprob, offsets, log_endprob, exact
        As in :func:`forward`.

    Returns
    -------
    loglik : ndarray of shape (n_seq,)
        ``log P(x_s)``; -inf for an impossible sequence.
    posteriors : ndarray of shape (T_total, N)
        ``P(z_t = i | x)``; all zero for an impossible sequence.
    """
    p = _Problem(log_startprob, transmat, log_frameprob, offsets, log_endprob)
    with np.errstate(**_QUIET):
        loglik, log_alpha = _forward_pass(p, exact, store=True)
        log_beta = _backward_pass(p, exact)[0]
        return loglik, _gamma(p, log_alpha, log_beta, loglik)


def estep(log_startprob, transmat, log_frameprob, offsets, log_endprob=None, exact=False):
    """Baum-Welch E-step: posteriors and expected counts summed over the batch.

    Parameters
    ----------
    log_startprob, transmat, log_frameprob, offsets, log_endprob, exact
        As in :func:`forward`.

    Returns
    -------
    dict
        The statistics: ``'loglik'`` (n_seq,) per-sequence log-likelihoods;
        ``'posteriors'`` (T_total, N) state posteriors;
        ``'start_counts'`` (N,) sum over sequences of the first-frame posteriors;
        ``'trans_counts'`` (N, N) expected number of ``i -> j`` transitions,
        ``sum_s sum_t P(z_t = i, z_{t+1} = j | x_s)``;
        ``'end_counts'`` (N,) sum over sequences of the last-frame posteriors.
        Impossible sequences contribute nothing to the counts.
    """
    p = _Problem(log_startprob, transmat, log_frameprob, offsets, log_endprob)
    with np.errstate(**_QUIET):
        loglik, log_alpha = _forward_pass(p, exact, store=True)
        log_beta, trans_counts = _backward_pass(p, exact, log_alpha, loglik)
        post = _gamma(p, log_alpha, log_beta, loglik)
    return {"loglik": loglik, "posteriors": post, "trans_counts": trans_counts,
            "start_counts": post[p.offsets[:-1]].sum(axis=0),
            "end_counts": post[p.offsets[1:] - 1].sum(axis=0)}


def viterbi(log_startprob, transmat, log_frameprob, offsets, log_endprob=None):
    """Most probable state path of every sequence (Viterbi algorithm).

    Parameters
    ----------
    log_startprob, transmat, log_frameprob, offsets, log_endprob
        As in :func:`forward`.

    Returns
    -------
    logprob : ndarray of shape (n_seq,)
        ``max_z log P(x_s, z)``; -inf for an impossible sequence.
    path : ndarray of int64 of shape (T_total,)
        The maximizing state path; -1 on every frame of an impossible sequence.
        Ties go to the lowest state index (``np.argmax`` semantics), both for
        the last state and for every back-pointer.
    """
    p = _Problem(log_startprob, transmat, log_frameprob, offsets, log_endprob)
    lf, log_A = p.lf, p.log_transmat
    bp_dtype = np.uint8 if p.n <= 256 else np.int32
    backpointers = np.zeros(lf.shape, dtype=bp_dtype)
    lf_v, bp_v = p.view(lf), p.view(backpointers)
    delta = p.ls + lf_v[p.at(0, p.n_seq)]
    final = np.empty((p.n_seq, p.n))  # last delta of every sequence, length order
    for t in range(1, p.max_len + 1):
        g, g_prev = p.n_active[t], p.n_active[t - 1]
        final[g:g_prev] = delta[g:g_prev]
        if g == 0:
            break
        idx = p.at(t, g)
        cand = delta[:g, :, None] + log_A[None, :, :]  # (G, i, j)
        bp_v[idx] = cand.argmax(axis=1)  # first maximum: lowest index on ties
        delta = cand.max(axis=1)
        delta += lf_v[idx]
    scores = final + p.le
    last = scores.argmax(axis=1)
    logprob_sorted = scores[np.arange(p.n_seq), last]
    path = np.empty(lf.shape[0], dtype=np.int64)
    path[p.ends - 1] = last
    state = last
    for k in range(1, p.max_len):
        g = p.n_active[k]
        nxt = p.ends[:g] - k
        state = backpointers[nxt, state[:g]].astype(np.int64)
        path[nxt - 1] = state
    logprob = p.unsort(logprob_sorted)
    impossible = np.repeat(logprob == -np.inf, p.lengths)
    path[impossible] = -1
    return logprob, path


def map_path_logprob(log_startprob, transmat, log_frameprob, offsets, path, log_endprob=None):
    """Joint log-probability ``log P(x_s, path_s)`` of given state paths.

    Parameters
    ----------
    log_startprob, transmat, log_frameprob, offsets
        As in :func:`forward`.
    path : ndarray of int of shape (T_total,)
        A state for every frame. A sequence whose path contains -1 (the
        "no path" marker of :func:`viterbi`) scores -inf.
    log_endprob : ndarray of shape (N,), optional
        As in :func:`forward`.

    Returns
    -------
    ndarray of shape (n_seq,)
        Joint log-probability of each sequence and its path; -inf if the
        path is impossible.
    """
    p = _Problem(log_startprob, transmat, log_frameprob, offsets, log_endprob)
    path = np.asarray(path)
    if path.shape != (p.lf.shape[0],) or not np.issubdtype(path.dtype, np.integer):
        raise ValueError(f"path must be an integer array of shape ({p.lf.shape[0]},)")
    if np.any((path < -1) | (path >= p.n)):
        raise ValueError(f"path entries must lie in [0, {p.n}) (or be -1)")
    first, last = p.offsets[:-1], p.offsets[1:] - 1
    missing = np.add.reduceat((path == -1).astype(np.int64), first) > 0
    z = np.where(path == -1, 0, path).astype(np.int64)
    terms = p.lf[np.arange(z.size), z]
    terms[1:] += p.log_transmat[z[:-1], z[1:]]
    terms[first] = p.lf[first, z[first]] + p.ls[z[first]]  # no transition into frame 0
    total = np.add.reduceat(terms, first) + p.le[z[last]]
    total[missing] = -np.inf
    return total
