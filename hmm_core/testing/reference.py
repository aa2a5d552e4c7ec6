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
"""

import numpy as np
from scipy.special import logsumexp

__all__ = ["backward", "baum_welch_categorical", "categorical_log_frameprob", "estep",
           "forward", "forward_loglik", "map_path_logprob", "posteriors", "viterbi"]

# A shifted sum below this may have lost terms to underflow: recompute exactly.
UNDERFLOW_GUARD = 1e-280
# An expected-transition step whose scale factor exceeds this is summed exactly.
MAX_XI_SCALE = 1e100
# Shift used for an all -inf vector (keeps exp(x - shift) free of NaN).
_FLOOR = -1e300

_QUIET = {"divide": "ignore", "over": "ignore", "under": "ignore"}


class _Problem:
    """Validated inputs plus the lockstep layout of the batch."""

    def __init__(self, log_startprob, transmat, log_frameprob, offsets, log_endprob):
        lf = np.ascontiguousarray(log_frameprob, dtype=np.float64)
        if lf.ndim != 2 or lf.shape[1] < 1:
            raise ValueError(f"log_frameprob must have shape (T, N), got {lf.shape}")
        n_frames, n = lf.shape
        ls = _vector(log_startprob, n, "log_startprob")
        le = np.zeros(n) if log_endprob is None else _vector(log_endprob, n, "log_endprob")
        A = np.ascontiguousarray(transmat, dtype=np.float64)
        if A.shape != (n, n):
            raise ValueError(f"transmat must have shape ({n}, {n}), got {A.shape}")
        if not np.all(np.isfinite(A) & (A >= 0)):
            raise ValueError("transmat must be finite and non-negative")
        for name, arr in (("log_frameprob", lf), ("log_startprob", ls), ("log_endprob", le)):
            if not (arr < np.inf).all():  # one pass: False for NaN and +inf
                raise ValueError(f"{name} must not contain NaN or +inf")
        offsets = _check_offsets(offsets, n_frames)
        with np.errstate(**_QUIET):
            self.log_transmat = np.log(A)
        self.lf, self.ls, self.le, self.A, self.n = lf, ls, le, A, n
        self.offsets = offsets
        self.lengths = np.diff(offsets)
        self.n_seq = self.lengths.size
        # Sort by decreasing length: the sequences still running at any step
        # (aligned at their first frame or at their last) are a prefix.
        self.order = np.argsort(-self.lengths, kind="stable")
        self.starts = offsets[:-1][self.order]
        self.ends = offsets[1:][self.order]
        self.max_len = int(self.lengths.max())
        counts = np.bincount(self.lengths, minlength=self.max_len + 1)
        # n_active[t] = number of sequences longer than t, for t = 0..max_len.
        self.n_active = (self.n_seq - np.cumsum(counts)).tolist()
        # With equal lengths, frame t of every sequence is a strided view of a
        # (n_seq, T, N) reshape: no gather or scatter per step.
        self.uniform = int(self.lengths.min()) == self.max_len

    def view(self, lattice):
        """``lattice`` (T_total, ...) in the form indexed by :meth:`at`."""
        if self.uniform:
            return lattice.reshape(self.n_seq, self.max_len, *lattice.shape[1:])
        return lattice

    def at(self, t, g, from_end=False):
        """Index into ``view(lattice)`` of frame t of the first g sequences.

        ``t`` counts from each sequence's first frame, or with ``from_end``
        from one past its last frame (``t = 1`` is the last frame).
        """
        if self.uniform:
            return slice(0, g), (self.max_len - t if from_end else t)
        return (self.ends[:g] - t) if from_end else (self.starts[:g] + t)

    def unsort(self, values_sorted):
        """Reorder per-sequence values from length order to input order."""
        out = np.empty_like(values_sorted)
        out[self.order] = values_sorted
        return out


def _vector(x, n, name):
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {x.shape}")
    return x


def _check_offsets(offsets, n_frames):
    offsets = np.ascontiguousarray(offsets)
    if offsets.ndim != 1 or offsets.size < 2 or not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError("offsets must be a 1-D integer array with at least two entries")
    offsets = offsets.astype(np.int64, copy=False)
    if offsets[0] != 0 or offsets[-1] != n_frames:
        raise ValueError("offsets must start at 0 and end at the number of frames")
    if np.any(np.diff(offsets) <= 0):
        raise ValueError("offsets must be strictly increasing (no empty sequence)")
    return offsets


# ---------------------------------------------------------------- single steps


def _shift(x):
    """Row maxima of x (G, N) as a (G, 1) shift, floored so that a dead row
    (all -inf) gets a finite shift and exp(x - shift) is 0, never NaN."""
    return np.maximum.reduce(x, axis=1, keepdims=True, initial=_FLOOR)


def _forward_step(la, A, log_A, frame):
    """One forward step for a group: (G, N) log alpha at t-1 -> at t."""
    m = _shift(la)
    p = la - m
    np.exp(p, out=p)
    s = p @ A
    fix = None
    if s.min() < UNDERFLOW_GUARD:  # cheap test first; the mask is rarely needed
        alive = la.max(axis=1) > -np.inf
        g, j = np.nonzero((s < UNDERFLOW_GUARD) & (frame > -np.inf) & alive[:, None])
        if g.size:
            fix = g, j, frame[g, j] + logsumexp(la[g] + log_A[:, j].T, axis=1)
    np.log(s, out=s)
    out = frame + m
    out += s
    if fix is not None:
        out[fix[0], fix[1]] = fix[2]
    return out


def _backward_step(v, A, log_A):
    """One backward step: v = log_frameprob[t+1] + log_beta[t+1] (G, N).

    Returns log_beta[t] (G, N), the shift d (G, 1) and q = exp(v - d) (G, N).
    """
    d = _shift(v)
    q = v - d
    np.exp(q, out=q)
    out = q @ A.T
    fix = None
    if out.min() < UNDERFLOW_GUARD:
        alive = v.max(axis=1) > -np.inf
        g, i = np.nonzero((out < UNDERFLOW_GUARD) & alive[:, None])
        if g.size:
            fix = g, i, logsumexp(v[g] + log_A[i], axis=1)
    np.log(out, out=out)
    out += d
    if fix is not None:
        out[fix[0], fix[1]] = fix[2]
    return out, d, q


def _xi_exact(la, log_A, v, ll):
    """sum_g exp(la[g, i] + log A[i, j] + v[g, j] - ll[g]) over possible sequences."""
    ok = ll > -np.inf
    if not ok.any():
        return 0.0
    terms = la[ok][:, :, None] + log_A[None] + v[ok][:, None, :] - ll[ok][:, None, None]
    return np.exp(terms).sum(axis=0)


def _xi_scaled(la, v, d, q, ll, ll_shift, log_A, xi_exact):
    """Expected transitions of one step, without the factor A, as a rank-G product.

    exp(la_i + v_j - ll) = w * P_i * Q_j with P = exp(la - c), Q = q = exp(v - d)
    and w = exp(c + d - ll). ``ll_shift`` (G, 1) is ll, or +inf for an impossible
    sequence (w = 0). Rows with a huge w (the max-alpha and max-v states are not
    connected, so P and Q may have lost terms) are added exactly to ``xi_exact``.
    """
    c = _shift(la)
    w = c + d
    w -= ll_shift
    np.exp(w, out=w)
    if w.max() > MAX_XI_SCALE:
        big = w[:, 0] > MAX_XI_SCALE
        xi_exact += _xi_exact(la[big], log_A, v[big], ll[big])
        w[big] = 0.0
    P = la - c
    np.exp(P, out=P)  # <= 1, so w = 0 rows give exact zeros
    P *= w
    return P.T @ q


# ---------------------------------------------------------------- batch passes


def _forward_pass(p, exact, store):
    """Forward recursion over the batch; returns (loglik, log_alpha or None)."""
    lf = p.view(p.lf)
    la = p.ls + lf[p.at(0, p.n_seq)]
    log_alpha = np.empty_like(p.lf) if store else None
    if store:
        alpha = p.view(log_alpha)
        alpha[p.at(0, p.n_seq)] = la
    loglik_sorted = np.empty(p.n_seq)
    for t in range(1, p.max_len + 1):
        g, g_prev = p.n_active[t], p.n_active[t - 1]
        if g < g_prev:  # sequences whose last frame is t - 1
            loglik_sorted[g:g_prev] = logsumexp(la[g:g_prev] + p.le, axis=1)
        if g == 0:
            break
        idx = p.at(t, g)
        if exact:  # N^2 terms per state
            la = lf[idx] + logsumexp(la[:g, :, None] + p.log_transmat[None], axis=1)
        else:
            la = _forward_step(la[:g], p.A, p.log_transmat, lf[idx])
        if store:
            alpha[idx] = la
    return p.unsort(loglik_sorted), log_alpha


def _backward_pass(p, exact, log_alpha=None, loglik=None):
    """Backward recursion over the batch.

    Returns the log_beta lattice and, when ``log_alpha`` and ``loglik`` are
    given, the expected transition counts (N, N) (else None).
    """
    A, log_A = p.A, p.log_transmat
    lf = p.view(p.lf)
    want_xi = log_alpha is not None
    lb = np.repeat(p.le[None, :], p.n_seq, axis=0)
    log_beta = np.empty_like(p.lf)
    beta = p.view(log_beta)
    beta[p.at(1, p.n_seq, from_end=True)] = lb
    if want_xi:
        alpha = p.view(log_alpha)
        ll_sorted = loglik[p.order]
        ll_shift = np.where(ll_sorted > -np.inf, ll_sorted, np.inf)[:, None]
        xi_scaled = np.zeros((p.n, p.n))  # multiplied by A at the end
        xi_exact = np.zeros((p.n, p.n))
    for k in range(1, p.max_len):
        g = p.n_active[k]
        nxt = p.at(k, g, from_end=True)  # frame t + 1
        cur = p.at(k + 1, g, from_end=True)  # frame t, filled by this step
        v = lf[nxt] + lb[:g]
        if exact:
            lb = logsumexp(log_A[None] + v[:, None, :], axis=2)
        else:
            lb, d, q = _backward_step(v, A, log_A)
        if want_xi:
            if exact:
                xi_exact += _xi_exact(alpha[cur], log_A, v, ll_sorted[:g])
            else:
                xi_scaled += _xi_scaled(alpha[cur], v, d, q, ll_sorted[:g], ll_shift[:g],
                                        log_A, xi_exact)
        beta[cur] = lb
    return log_beta, (A * xi_scaled + xi_exact) if want_xi else None


def _gamma(p, log_alpha, log_beta, loglik):
    """Posteriors exp(log_alpha + log_beta - loglik), zero for impossible sequences."""
    ll_frame = np.repeat(loglik, p.lengths)
    possible = ll_frame > -np.inf
    post = log_alpha + log_beta
    post -= np.where(possible, ll_frame, 0.0)[:, None]
    np.exp(post, out=post)
    post[~possible] = 0.0
    return post


# ---------------------------------------------------------------- public API


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
    loglik : ndarray of shape (n_seq,)
        ``log P(x_s)``; -inf for an impossible sequence.
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
    log_beta : ndarray of shape (T_total, N)
        ``log P(x_{t+1}.., end | z_t = i)``; at the last frame of each sequence
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
    stats : dict
        ``'loglik'`` (n_seq,) per-sequence log-likelihoods;
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
    log_startprob, transmat, log_frameprob, offsets, log_endprob
        As in :func:`forward`.
    path : ndarray of int of shape (T_total,)
        A state for every frame. A sequence whose path contains -1 (the
        "no path" marker of :func:`viterbi`) scores -inf.

    Returns
    -------
    logprob : ndarray of shape (n_seq,)
        Joint log-probability of each sequence and its path; -inf if the path
        is impossible.
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


def categorical_log_frameprob(X, emissionprob):
    """Log emission likelihoods of categorical symbols.

    Parameters
    ----------
    X : ndarray of int of shape (T,) or (T, 1)
        Symbols in ``[0, K)``.
    emissionprob : ndarray of shape (N, K)
        Emission probabilities, one row per state.

    Returns
    -------
    log_frameprob : ndarray of shape (T, N)
        ``log(emissionprob[:, X].T)``; -inf where the probability is zero.
    """
    B = np.asarray(emissionprob, dtype=np.float64)
    if B.ndim != 2:
        raise ValueError(f"emissionprob must have shape (N, K), got {B.shape}")
    X = _symbols(X, B.shape[1])
    with np.errstate(divide="ignore"):
        return np.ascontiguousarray(np.log(B.T[X]))


def _symbols(X, n_symbols):
    X = np.asarray(X)
    if X.ndim == 2 and X.shape[1] == 1:
        X = X[:, 0]
    if X.ndim != 1 or not np.issubdtype(X.dtype, np.integer):
        raise ValueError("X must be a 1-D integer array (or of shape (T, 1))")
    if X.size and (X.min() < 0 or X.max() >= n_symbols):
        raise ValueError(f"symbols must lie in [0, {n_symbols})")
    return X.astype(np.intp, copy=False)


def _dirichlet_numer(counts, param, prior):
    """counts + (prior - 1) where the parameter is nonzero, clipped at 0."""
    return np.maximum(counts + (np.asarray(prior, dtype=np.float64) - 1.0) * (param > 0), 0.0)


def baum_welch_categorical(X, offsets, startprob, transmat, emissionprob, endprob=None,
                           n_iter=5, startprob_prior=1.0, transmat_prior=1.0,
                           emissionprob_prior=1.0, endprob_prior=1.0, exact=False):
    """Baum-Welch (EM) for a categorical HMM, with Dirichlet priors.

    Parameters
    ----------
    X : ndarray of int of shape (T_total,) or (T_total, 1)
        Symbols of all sequences, concatenated.
    offsets : ndarray of int of shape (n_seq + 1,)
        Sequence boundaries, as in :func:`forward`.
    startprob : ndarray of shape (N,)
        Initial-state probabilities.
    transmat : ndarray of shape (N, N)
        Transition probabilities; with an end state, each row plus
        ``endprob`` sums to 1.
    emissionprob : ndarray of shape (N, K)
        Emission probabilities.
    endprob : ndarray of shape (N,), optional
        End probabilities; None means no end state.
    n_iter : int, default 5
        Number of EM iterations.
    startprob_prior, transmat_prior, emissionprob_prior, endprob_prior : float or ndarray
        Dirichlet concentration parameters (1 means no prior). Pseudo-counts
        ``prior - 1`` are only added where the current parameter is nonzero,
        so structural zeros stay zero; numerators are clipped at 0.
    exact : bool, default False
        Passed to :func:`estep`.

    Returns
    -------
    result : dict
        ``'startprob'``, ``'transmat'``, ``'emissionprob'``, ``'endprob'``
        (None without end state): the parameters after ``n_iter`` M-steps;
        ``'loglik_history'``: list of the total log-likelihood computed in
        each E-step, i.e. before the corresponding M-step.

    Raises
    ------
    ValueError
        If a sequence has zero likelihood under the current parameters.
    """
    startprob, transmat, emissionprob = (np.array(a, dtype=np.float64)
                                         for a in (startprob, transmat, emissionprob))
    endprob = None if endprob is None else np.array(endprob, dtype=np.float64)
    n, n_symbols = emissionprob.shape
    for name, arr in (("startprob", startprob), ("transmat", transmat),
                      ("emissionprob", emissionprob), ("endprob", endprob)):
        if arr is not None and not np.all(np.isfinite(arr) & (arr >= 0)):
            raise ValueError(f"{name} must be finite and non-negative")
    X = _symbols(X, n_symbols)
    history = []
    for _ in range(n_iter):
        with np.errstate(divide="ignore"):
            log_start = np.log(startprob)
            log_end = None if endprob is None else np.log(endprob)
        stats = estep(log_start, transmat, categorical_log_frameprob(X, emissionprob),
                      offsets, log_end, exact=exact)
        bad = np.flatnonzero(stats["loglik"] == -np.inf)
        if bad.size:
            raise ValueError(f"sequence {bad[0]} has zero likelihood under the current "
                             f"parameters ({bad.size} impossible sequence(s))")
        history.append(float(stats["loglik"].sum()))
        # M-step. Rows (or the start vector) without any count keep their values.
        numer = _dirichlet_numer(stats["start_counts"], startprob, startprob_prior)
        if numer.sum() > 0:
            startprob = numer / numer.sum()
        numer = _dirichlet_numer(stats["trans_counts"], transmat, transmat_prior)
        total = numer.sum(axis=1)
        if endprob is not None:
            end_numer = _dirichlet_numer(stats["end_counts"], endprob, endprob_prior)
            total = total + end_numer
        rows = total > 0
        transmat[rows] = numer[rows] / total[rows, None]
        if endprob is not None:
            endprob[rows] = end_numer[rows] / total[rows]
        post = stats["posteriors"]
        counts = np.stack([np.bincount(X, weights=post[:, i], minlength=n_symbols)
                           for i in range(n)])
        numer = _dirichlet_numer(counts, emissionprob, emissionprob_prior)
        total = numer.sum(axis=1)
        rows = total > 0
        emissionprob[rows] = numer[rows] / total[rows, None]
    return {"startprob": startprob, "transmat": transmat, "emissionprob": emissionprob,
            "endprob": endprob, "loglik_history": history}
