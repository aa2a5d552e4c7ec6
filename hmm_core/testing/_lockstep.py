"""The machinery of the NumPy reference: validated inputs, the lockstep layout
of a batch, single max-shifted (or exact) steps and whole forward/backward passes.

See :mod:`hmm_core.testing.reference` for the conventions.
"""

import numpy as np
from scipy.special import logsumexp

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
