"""Markov chains of order ``k``: next-state tables over the contexts seen in training."""

from __future__ import annotations

import numpy as np

from hmm_core.chains._base import (
    ChainBase,
    cumulative_rows,
    draw,
    normalize_counts,
    sequence_starts,
)
from hmm_core.chains._stationary import stochastic_power
from hmm_core.chains._validation import (
    as_state_sequence,
    check_n_samples,
    check_nonneg_int,
    check_probability_vector,
    check_table_bytes,
)
from hmm_core.estimator.constraints import Check
from hmm_core.kernels.validation import check_memory

__all__ = ["HigherOrderMarkovChain"]


#: Steps of predict_distribution taken one at a time before the matrix power.
_STEPWISE = 64
#: Most contexts the matrix power of predict_distribution may span.
_MAX_CONTEXTS = 20_000


def _order(value, name, owner):
    return check_nonneg_int(value, name, minimum=1)


def table_bytes(lengths, n, k):
    """Estimated peak memory, in bytes, of fitting order ``k`` on ``n`` states.

    Level ``j`` (``j < k``: the start tables, ``j = k``: the context table)
    has as many windows as positions it predicts, and at most
    ``min(n**j, windows)`` distinct contexts, each with a context row and a
    probability row. Every table is kept; the windows (and the sorting and
    counting of one level) are working memory, counted a few times over.
    """
    ordered = np.sort(np.asarray(lengths, dtype=np.int64))
    levels = np.arange(k + 1, dtype=float)
    windows = np.empty(k + 1)
    windows[:k] = ordered.size - np.searchsorted(ordered, np.arange(k), side="right")
    windows[k] = np.maximum(ordered - k, 0).sum()
    with np.errstate(over="ignore"):
        rows = np.minimum(np.power(float(n), levels), windows)
    kept = np.sum(rows * (levels + n)) * 8.0
    working = np.max(windows * (levels + 2) + rows * n) * 5 * 8.0
    return kept + working


def lookup_contexts(table, query):
    """Row index in ``table`` (m, k) of every row of ``query`` (q, k), or -1 if absent."""
    table = np.asarray(table, dtype=np.intp)
    query = np.asarray(query, dtype=np.intp)
    if query.shape[0] == 0:
        return np.empty(0, dtype=np.intp)
    if table.shape[0] == 0:
        return np.full(query.shape[0], -1, dtype=np.intp)
    if table.shape[1] == 0:
        return np.zeros(query.shape[0], dtype=np.intp)
    both = np.concatenate([table, query], axis=0)
    _, inverse = np.unique(both, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    to_table = np.full(inverse.max() + 1, -1, dtype=np.intp)
    to_table[inverse[: table.shape[0]]] = np.arange(table.shape[0])
    return to_table[inverse[table.shape[0] :]]


def context_windows(x, starts, lengths, offset, k):
    """Contexts and targets for all positions ``t`` with ``t - start == offset``
    (if ``offset < k``) or ``t - start >= k`` (if ``offset == k``).

    Returns ``(contexts, targets, seq_index)`` where ``contexts`` has shape
    ``(n, offset if offset < k else k)`` holding the states preceding each
    target position, and ``seq_index`` gives the sequence of each target.
    """
    if offset < k:
        ok = lengths > offset
        pos = starts[ok] + offset
        seq = np.flatnonzero(ok)
        width = offset
    else:
        seq = np.repeat(np.arange(lengths.size), np.maximum(lengths - k, 0))
        within = np.arange(seq.size) - np.repeat(
            np.concatenate(([0], np.cumsum(np.maximum(lengths - k, 0))[:-1])),
            np.maximum(lengths - k, 0),
        )
        pos = starts[seq] + k + within
        width = k
    ctx = (
        x[pos[:, None] - width + np.arange(width)[None, :]]
        if width
        else np.empty((pos.size, 0), dtype=np.intp)
    )
    return ctx.astype(np.intp), x[pos], seq


class HigherOrderMarkovChain(ChainBase):
    """Markov chain of order ``k``: ``P(x_t | x_{t-k}, ..., x_{t-1})``.

    Only contexts (k-tuples) seen in training are stored, as a
    ``(n_contexts, N)`` table of next-state probabilities indexed by context;
    the ``N^k x N^k`` expanded first-order matrix is never formed.

    Parameters
    ----------
    order : int, default 2
        Order ``k >= 1``.
    n_states : int, optional
        Number of states; inferred as for :class:`~hmm_core.MarkovChain` if None.
    pseudocount : float, default 0.0
        Dirichlet pseudocount added to every count.

    Attributes
    ----------
    n_states_ : int
    state_names_ : list of str or None
    startprob_ : ndarray of shape (n_states_,)
        Distribution of the first state of a sequence.
    contexts_ : ndarray of shape (n_contexts, order)
        Contexts seen in training (sorted lexicographically).
    context_probs_ : ndarray of shape (n_contexts, n_states_)
        Next-state probabilities for each row of ``contexts_``.
    start_contexts_, start_probs_ : list of ndarray
        For ``j = 1..order-1``: the prefixes ``(x_0..x_{j-1})`` seen and the
        fitted ``P(x_j | x_0..x_{j-1})``.

    Notes
    -----
    The first ``k`` symbols of a sequence have fewer than ``k`` predecessors.
    They are modelled by lower-order, position-specific start distributions:
    ``x_0 ~ startprob_`` and ``x_j ~ P(x_j | x_0..x_{j-1})`` for ``j < k``,
    estimated from the beginnings of the training sequences.  This is the
    exact maximum-likelihood treatment of the sequence start and makes the
    model equivalent to a first-order chain on k-tuples.  A context never
    seen in training (at any level) predicts the uniform distribution, which
    is also the smoothed estimate when ``pseudocount > 0``.
    """

    _parameter_constraints = {"order": Check(_order), **ChainBase._parameter_constraints}
    _repr_always = ("order", "n_states")
    _fitted_names = ("_tables",)

    def __init__(
        self, order=2, n_states=None, state_names=None, pseudocount=0.0, random_state=None
    ):
        self._set_params_from(locals())
        self._validate_params(store=True)

    def _restore_fitted(self, fitted):
        n, k = self.n_states_, self.order
        tables = fitted.pop("_tables")
        if len(tables) != k + 1:
            raise ValueError(f"expected {k + 1} context tables, got {len(tables)}")
        for j, (contexts, probs) in enumerate(tables):
            contexts, probs = np.asarray(contexts), np.asarray(probs)
            if not np.issubdtype(contexts.dtype, np.integer) or contexts.ndim != 2 or (
                    contexts.size and (contexts.min() < 0 or contexts.max() >= n)):
                raise ValueError(f"context table {j} holds invalid contexts")
            if probs.shape != (contexts.shape[0], n):
                raise ValueError(f"context table {j} has probabilities of shape {probs.shape}")
            for row in probs:
                check_probability_vector(row, f"context table {j}", n)
        self._set_tables([tuple(t) for t in tables])

    def _set_tables(self, tables):
        """Set the fitted tables and the attributes derived from them."""
        k = self.order
        self.startprob_ = tables[0][1][0]
        self.start_contexts_ = [t[0] for t in tables[1:k]]
        self.start_probs_ = [t[1] for t in tables[1:k]]
        self.contexts_, self.context_probs_ = tables[k]
        self._tables = tables
        self._index = [{tuple(r): i for i, r in enumerate(t[0].tolist())} for t in tables]
        self._cum_cache = {}

    def fit(self, X, lengths=None):
        """Estimate the start distributions and context table.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Concatenated state sequences.
        lengths : array-like of int, optional
            Sequence lengths; None means one sequence.

        Returns
        -------
        HigherOrderMarkovChain
            The fitted chain.

        Raises
        ------
        ValueError
            If ``order`` exceeds the length of the longest sequence, or the
            tables for this order and number of states would need more than
            4 GiB (the message gives the estimate in bytes); both are checked
            before anything is allocated.
        """
        x, lengths = self._convert(X, lengths, self.n_states)
        n, k = self._n_states_for_fit(x), self.order
        longest = int(lengths.max())
        if k > longest:
            raise ValueError(f"order must be at most the length of the longest sequence in X "
                             f"({longest}); got order={k}")
        check_table_bytes(table_bytes(lengths, n, k), f"order={k} with {n} states")
        starts = sequence_starts(lengths)
        tables = []
        for j in range(k + 1):
            ctx, target, _ = context_windows(x, starts, lengths, j, k)
            if ctx.shape[0] == 0:
                uniq, inv = np.empty((0, ctx.shape[1]), dtype=np.intp), np.empty(0, np.intp)
            elif j == 0:
                uniq, inv = np.empty((1, 0), dtype=np.intp), np.zeros(target.size, np.intp)
            else:
                uniq, inv = np.unique(ctx, axis=0, return_inverse=True)
                inv = inv.ravel()
            counts = np.bincount(inv * n + target, minlength=uniq.shape[0] * n)
            probs, _ = normalize_counts(
                counts.reshape(uniq.shape[0], n).astype(float) + self.pseudocount
            )
            tables.append((uniq.astype(np.intp), probs))
        self.n_states_, self.state_names_ = n, self.state_names
        self._set_tables(tables)
        return self

    def score_sequences(self, X, lengths=None):
        """Log-likelihood of each state sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Concatenated state sequences.
        lengths : array-like of int, optional
            Sequence lengths; None means one sequence.

        Returns
        -------
        ndarray of shape (n_sequences,)
            Includes the start terms; ``-inf`` (never NaN) for impossible sequences.
        """
        self._check_fitted()
        x, lengths = self._convert(X, lengths, self.n_states_)
        starts = sequence_starts(lengths)
        out = np.zeros(lengths.size)
        for j, (table, probs) in enumerate(self._tables):
            ctx, target, seq = context_windows(x, starts, lengths, j, self.order)
            rows = lookup_contexts(table, ctx)
            p = np.full(target.size, 1.0 / self.n_states_)
            seen = rows >= 0
            p[seen] = probs[rows[seen], target[seen]]
            with np.errstate(divide="ignore"):
                np.add.at(out, seq, np.log(p))
        return out

    def _next_probs(self, ctx):
        """Next-state probabilities after the history tuple ``ctx`` (len <= order)."""
        row = self._index[len(ctx)].get(ctx)
        if row is None:
            return np.full(self.n_states_, 1.0 / self.n_states_)
        return self._tables[len(ctx)][1][row]

    def _history(self, history, name):
        if history is None or (np.ndim(history) > 0 and len(history) == 0):
            return ()
        if np.ndim(history) == 0:
            history = [history]
        names = self.state_names_
        x = as_state_sequence(np.asarray(history, dtype=object), self.n_states_, names, name)
        return tuple(int(v) for v in x)

    def predict_distribution(self, history, n_steps=1):
        """Distribution of the state ``n_steps`` ahead given the recent history.

        Parameters
        ----------
        history : sequence of int or str
            The states observed so far (oldest first); only the last ``order``
            are used.  A history shorter than ``order`` is treated as the
            beginning of a sequence (start distributions are used); an empty
            history gives the distribution of the first state.
        n_steps : int, default 1
            Steps ahead (>= 0).  The first 64 steps (or ``order``, if more)
            propagate a distribution over the contexts one step at a time; further
            steps take a power of the chain over the reachable contexts by
            repeated squaring, so the cost grows with ``log(n_steps)``.

        Returns
        -------
        ndarray of shape (n_states_,)
        """
        self._check_fitted()
        n_steps = check_nonneg_int(n_steps, "n_steps")
        ctx = self._history(history, "history")[-self.order :]
        if n_steps == 0:
            if not ctx:
                raise ValueError("n_steps=0 requires a non-empty history")
            out = np.zeros(self.n_states_)
            out[ctx[-1]] = 1.0
            return out
        dist = {ctx: 1.0}
        # Step by step while cheap; every context is then ``order`` long, and the
        # rest is a power of the chain over contexts (cost in log(n_steps)).
        for _ in range(min(n_steps, max(self.order, _STEPWISE))):
            marginal, dist = self._step(dist)
        remaining = n_steps - max(self.order, _STEPWISE)
        if remaining <= 0:
            return marginal
        contexts = self._reachable(dist)
        index = {c: i for i, c in enumerate(contexts)}
        check_memory(3 * 8 * len(contexts) ** 2,
                     f"predict_distribution(n_steps={n_steps:,}) over {len(contexts):,} contexts",
                     f"use n_steps <= {max(self.order, _STEPWISE)}")
        P = np.zeros((len(contexts), len(contexts)))
        for c in contexts:
            q = self._next_probs(c)
            for s in np.flatnonzero(q).tolist():
                P[index[c], index[(c + (s,))[-self.order :]]] += q[s]
        p = np.zeros(len(contexts))
        for c, w in dist.items():
            p[index[c]] += w
        p = stochastic_power(P, remaining, start=p)
        marginal = np.zeros(self.n_states_)
        np.add.at(marginal, [c[-1] for c in contexts], p)
        return marginal

    def _step(self, dist):
        """One step of a distribution over contexts: (marginal of the new state, new dist)."""
        marginal, new = np.zeros(self.n_states_), {}
        for c, w in dist.items():
            q = w * self._next_probs(c)
            marginal += q
            for s in np.flatnonzero(q).tolist():
                key = (c + (s,))[-self.order :]
                new[key] = new.get(key, 0.0) + q[s]
        return marginal, new

    def _reachable(self, dist):
        """Contexts reachable from those of ``dist``, in a fixed order."""
        seen, todo = set(dist), list(dist)
        while todo:
            c = todo.pop()
            for s in np.flatnonzero(self._next_probs(c)).tolist():
                key = (c + (s,))[-self.order :]
                if key not in seen:
                    seen.add(key)
                    todo.append(key)
                    if len(seen) > _MAX_CONTEXTS:
                        raise ValueError(
                            f"n_steps reaches more than {_MAX_CONTEXTS:,} contexts of order "
                            f"{self.order}; use n_steps <= {max(self.order, _STEPWISE)}")
        return sorted(seen)

    def sample(self, n_samples, random_state=None, start=None):
        """Sample one state sequence.

        Parameters
        ----------
        n_samples : int
            Length of the sequence (>= 1).
        random_state : None, int, numpy.random.Generator or RandomState, optional
            Randomness; defaults to the ``random_state`` given at construction.
        start : sequence of int or str, optional
            Initial states the sequence begins with; the rest is drawn
            conditionally on them.  If None, everything is drawn from the model.

        Returns
        -------
        ndarray of shape (n_samples,)
            Integer state indices.
        """
        self._check_fitted()
        n_samples = check_n_samples(n_samples)
        out = list(self._history(start, "start"))
        if len(out) > n_samples:
            raise ValueError(f"start has {len(out)} states but n_samples is {n_samples}")
        u = self._random_source(random_state).random(n_samples - len(out)).tolist()
        for v in u:
            ctx = tuple(out[-self.order :]) if len(out) >= self.order else tuple(out)
            cached = self._cum_cache.get(ctx)
            if cached is None:
                c, t, last = cumulative_rows(self._next_probs(ctx))
                cached = self._cum_cache[ctx] = (c[0], t[0], last[0])
            out.append(draw(*cached, v))
        return np.asarray(out, dtype=np.intp)

    def __str__(self):
        """A summary of the fitted parameters (the ``repr`` before fitting)."""
        if not hasattr(self, "n_states_"):
            return repr(self)
        names = self.state_names_ or [str(i) for i in range(self.n_states_)]
        contexts = ", ".join(f"{len(ctx)} of length {j}"
                             for j, (ctx, _) in enumerate(self._tables))
        return "\n".join([repr(self), f"  {self.n_states_} states: {', '.join(names)}",
                          f"  contexts seen in training: {contexts}"])
