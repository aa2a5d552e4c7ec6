"""Observable (visible-state) Markov chains.

:class:`MarkovChain` is a first-order chain over states ``0..N-1`` (optionally
named) with maximum-likelihood fitting, scoring, sampling, n-step prediction
and structural analysis (communicating classes, periods, stationary
distributions, absorption, mixing).  :class:`HigherOrderMarkovChain` conditions
on the last ``k`` states and stores only the contexts seen in training.

Sequences follow the hmmlearn convention: several sequences are concatenated
into one array ``X`` and ``lengths`` gives the length of each.
"""

from __future__ import annotations

import bisect
import inspect
import warnings

import numpy as np

from hmm_core.chains import _analysis as _ca
from hmm_core.io.codec import Stored
from hmm_core.io.modelfile import save_model

__all__ = ["HigherOrderMarkovChain", "MarkovChain", "UnvisitedStateWarning"]


class UnvisitedStateWarning(UserWarning):
    """Warning emitted when a fitted state has no observed outgoing transition.

    The transition row of such a state is set to the uniform distribution.
    """


def _cumulative_rows(probs):
    """Return (cumulative rows as lists, row totals, last positive index per row)."""
    probs = np.atleast_2d(probs)
    cum = np.cumsum(probs, axis=1)
    last = probs.shape[1] - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)
    return cum.tolist(), cum[:, -1].tolist(), last.tolist()


def _draw(cum, total, last, u):
    """Inverse-CDF draw from one cumulative row (never returns a zero-probability state)."""
    return min(bisect.bisect_right(cum, u * total), last)


class _StateSpace(Stored, file_kind="model", abstract=True):
    """Shared handling of state names, input conversion and the fitted check."""

    def _init_common(self, n_states, state_names, pseudocount, random_state):
        if n_states is not None:
            n_states = _ca.check_nonneg_int(n_states, "n_states", minimum=1)
        self.n_states = n_states
        self.state_names = _ca.check_state_names(state_names, n_states)
        self.pseudocount = _ca.check_pseudocount(pseudocount)
        self.random_state = random_state

    def _check_fitted(self):
        if not hasattr(self, "n_states_"):
            raise ValueError(
                f"this {type(self).__name__} is not fitted yet; call fit (or from_params) first"
            )

    def _convert(self, X, lengths, n_states=None, name="X"):
        names = getattr(self, "state_names_", None) or self.state_names
        x = _ca.as_state_sequence(X, n_states, names, name=name)
        return x, _ca.check_lengths(lengths, x.size)

    def _n_states_for_fit(self, x):
        if self.n_states is not None:
            return self.n_states
        if self.state_names is not None:
            return len(self.state_names)
        return int(x.max()) + 1

    def _state_index(self, s, name="state"):
        """Index of a single state given as an int or a state name."""
        if isinstance(s, (str, np.str_)):
            names = self.state_names_ or []
            if s not in names:
                raise ValueError(f"{name} {s!r} is not a known state name")
            return names.index(s)
        return int(_ca.as_state_sequence([s], self.n_states_, None, name=name)[0])

    def _labels(self, idx):
        """State labels (names when available, else ints) for an index array."""
        if self.state_names_ is None:
            return [int(i) for i in idx]
        return [self.state_names_[i] for i in idx]

    def _rng(self, random_state):
        return np.random.default_rng(self.random_state if random_state is None else random_state)

    # ----------------------------------------------------------- estimator API
    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self")

    def get_params(self, deep=True):
        """Constructor parameters, as scikit-learn's ``get_params``.

        Parameters
        ----------
        deep : bool
            Unused; present for scikit-learn compatibility.

        Returns
        -------
        dict
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor parameters, as scikit-learn's ``set_params``.

        The new settings are validated as by the constructor; fitted
        attributes are kept until the next :meth:`fit`.

        Parameters
        ----------
        **params
            Constructor parameters by name.

        Returns
        -------
        self
        """
        merged = self.get_params()
        for key in params:
            if key not in merged:
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}")
        merged.update(params)
        type(self).__init__(self, **merged)
        return self

    # scikit-learn's estimator type for versions that read the attribute (< 1.6).
    _estimator_type = "density_estimator"

    def __sklearn_tags__(self):
        """Estimator tags for scikit-learn >= 1.6 (``clone``, ``GridSearchCV``)."""
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type="density_estimator",
                    target_tags=TargetTags(required=False),
                    input_tags=InputTags(one_d_array=True, string=True))

    def _repr_settings(self):
        """``state_names``, ``pseudocount`` and ``random_state`` when not defaults."""
        parts = []
        if self.state_names is not None:
            parts.append(f"state_names={self.state_names!r}")
        if self.pseudocount != 0:
            parts.append(f"pseudocount={self.pseudocount!r}")
        if self.random_state is not None:
            parts.append(f"random_state={self.random_state!r}")
        return "".join(", " + p for p in parts)

    def save(self, path, metadata=None):
        """Write the chain to a model file (no pickle; see :mod:`hmm_core.io`).

        Parameters
        ----------
        path : str or path-like
            Destination, conventionally ending in ``.npz``.
        metadata : dict, optional
            JSON-serialisable user data stored alongside.
        """
        save_model(self, path, metadata=metadata)

    # ------------------------------------------------------------ model files
    #: Fitted attributes stored in model files besides ``n_states_`` and ``state_names_``.
    _fitted_names: tuple = ()

    def _file_state(self, writer, prefix):
        if not hasattr(self, "n_states_"):
            return {"fitted": None}
        names = ("n_states_", "state_names_") + self._fitted_names
        return {"fitted": {name: writer.value(getattr(self, name, None), f"{prefix}fitted.{name}")
                           for name in names}}

    def _restore_file_state(self, reader, body):
        if body.get("fitted") is None:
            return
        fitted = {name: reader.value(value) for name, value in body["fitted"].items()}
        n = _ca.check_nonneg_int(fitted.pop("n_states_"), "n_states_", minimum=1)
        self.n_states_ = n
        self.state_names_ = _ca.check_state_names(fitted.pop("state_names_"), n)
        self._restore_fitted(fitted)

    def _restore_fitted(self, fitted):
        """Validate and set the fitted attributes read from a model file."""
        raise NotImplementedError


class MarkovChain(_ca.ChainAnalysisMixin, _StateSpace):
    """First-order Markov chain over observed states ``0..N-1``.

    Parameters
    ----------
    n_states : int, optional
        Number of states ``N``.  If None it is taken from ``state_names`` or,
        failing that, as ``max(X) + 1`` at fit time.
    state_names : sequence of str, optional
        Names of the states; ``X`` passed to :meth:`fit`/:meth:`score` may then
        hold names instead of integers, and single states may be given by name.
    pseudocount : float, default 0.0
        Dirichlet pseudocount added to every start and transition count.
    random_state : None, int or numpy.random.Generator, optional
        Default source of randomness for :meth:`sample`.

    Attributes
    ----------
    n_states_ : int
        Number of states of the fitted chain.
    state_names_ : list of str or None
        State names of the fitted chain.
    startprob_ : ndarray of shape (n_states_,)
        Initial-state distribution.
    transmat_ : ndarray of shape (n_states_, n_states_)
        Row-stochastic transition matrix, ``transmat_[i, j] = P(j | i)``.
    start_counts_, transition_counts_ : ndarray
        Observed counts (without pseudocount); only set by :meth:`fit`.

    Notes
    -----
    With maximum likelihood, a state that never occurs as the origin of a
    transition has no data for its row.  Rather than leave the row undefined
    (or silently make the state absorbing) the row is set to the uniform
    distribution and an :class:`UnvisitedStateWarning` naming the state(s) is
    emitted.  A positive ``pseudocount`` avoids this.
    """

    _fitted_names = ("startprob_", "transmat_", "start_counts_", "transition_counts_")

    def __init__(self, n_states=None, state_names=None, pseudocount=0.0, random_state=None):
        self._init_common(n_states, state_names, pseudocount, random_state)

    def _restore_fitted(self, fitted):
        n = self.n_states_
        self.startprob_ = _ca.check_probability_vector(fitted.pop("startprob_"), "startprob_", n)
        self.transmat_ = _ca.check_transition_matrix(fitted.pop("transmat_"), "transmat_")
        if self.transmat_.shape != (n, n):
            raise ValueError(f"transmat_ must have shape ({n}, {n})")
        for name, value in fitted.items():
            if value is not None:
                setattr(self, name, np.asarray(value, dtype=float))

    @classmethod
    def from_params(cls, startprob, transmat, state_names=None, random_state=None):
        """Build a chain from given parameters.

        Parameters
        ----------
        startprob : array-like of shape (N,) or None
            Initial-state distribution; None means uniform.
        transmat : array-like of shape (N, N)
            Row-stochastic transition matrix.
        state_names : sequence of str, optional
            Names of the ``N`` states.
        random_state : None, int or numpy.random.Generator, optional
            Default randomness for :meth:`sample`.

        Returns
        -------
        MarkovChain
            A fitted chain.

        Raises
        ------
        ValueError
            If ``transmat`` is not square, has NaN or negative entries or rows
            that do not sum to 1, or ``startprob`` is not a probability vector
            of matching length.
        """
        T = _ca.check_transition_matrix(transmat, "transmat")
        n = T.shape[0]
        if startprob is None:
            p0 = np.full(n, 1.0 / n)
        else:
            p0 = _ca.check_probability_vector(startprob, "startprob", n)
        self = cls(n_states=n, state_names=state_names, random_state=random_state)
        self.n_states_, self.state_names_ = n, self.state_names
        self.startprob_, self.transmat_ = p0, T
        return self

    # ------------------------------------------------------------------ fit / score
    def fit(self, X, lengths=None):
        """Estimate ``startprob_`` and ``transmat_`` by (smoothed) maximum likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Concatenated state sequences (ints, or names if ``state_names`` set).
        lengths : array-like of int, optional
            Lengths of the individual sequences; None means one sequence.

        Returns
        -------
        self : MarkovChain
            The fitted chain.

        Warns
        -----
        UnvisitedStateWarning
            If some state has no outgoing transition count (its row is set uniform).
        """
        x, lengths = self._convert(X, lengths, self.n_states)
        n = self._n_states_for_fit(x)
        starts = _ca.sequence_starts(lengths)
        start_counts = np.bincount(x[starts], minlength=n).astype(float)
        is_trans = np.ones(x.size, dtype=bool)
        is_trans[starts] = False
        t = np.flatnonzero(is_trans)
        trans_counts = np.bincount(x[t - 1] * n + x[t], minlength=n * n).reshape(n, n)
        trans_counts = trans_counts.astype(float)
        self.startprob_ = (start_counts + self.pseudocount) / (
            start_counts.sum() + n * self.pseudocount
        )
        self.transmat_, empty = _ca.normalize_counts(trans_counts + self.pseudocount)
        self.n_states_, self.state_names_ = n, self.state_names
        self.start_counts_, self.transition_counts_ = start_counts, trans_counts
        if empty.size:
            warnings.warn(
                f"state(s) {self._labels(empty)} have no observed outgoing transitions; "
                "their transition rows were set to the uniform distribution",
                UnvisitedStateWarning,
                stacklevel=2,
            )
        return self

    def score_sequences(self, X, lengths=None):
        """Log-likelihood of each observed state sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Concatenated state sequences.
        lengths : array-like of int, optional
            Sequence lengths; None means one sequence.

        Returns
        -------
        ndarray of shape (n_sequences,)
            ``log startprob[x_0] + sum_t log transmat[x_{t-1}, x_t]`` per
            sequence; ``-inf`` (never NaN) if a sequence is impossible.
        """
        self._check_fitted()
        x, lengths = self._convert(X, lengths, self.n_states_)
        starts = _ca.sequence_starts(lengths)
        with np.errstate(divide="ignore"):
            log_t = np.log(self.transmat_)
            log_p0 = np.log(self.startprob_)
        step = np.empty(x.size)
        step[1:] = log_t[x[:-1], x[1:]]
        step[starts] = log_p0[x[starts]]
        return np.add.reduceat(step, starts)

    def score(self, X, lengths=None):
        """Total log-likelihood of the observed state sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Concatenated state sequences.
        lengths : array-like of int, optional
            Sequence lengths; None means one sequence.

        Returns
        -------
        float
            Sum of :meth:`score_sequences` (including the start terms).
        """
        return float(np.sum(self.score_sequences(X, lengths)))

    def sample(self, n_samples, random_state=None, start=None):
        """Sample one state sequence.

        Parameters
        ----------
        n_samples : int
            Length of the sequence (>= 1).
        random_state : None, int or numpy.random.Generator, optional
            Randomness; defaults to the ``random_state`` given at construction.
        start : int or str, optional
            First state; if None it is drawn from ``startprob_``.

        Returns
        -------
        ndarray of shape (n_samples,)
            Integer state indices.
        """
        self._check_fitted()
        n_samples = _ca.check_nonneg_int(n_samples, "n_samples", minimum=1)
        u = self._rng(random_state).random(n_samples).tolist()
        cum, tot, last = _cumulative_rows(self.transmat_)
        if start is None:
            c0, t0, l0 = _cumulative_rows(self.startprob_)
            s = _draw(c0[0], t0[0], l0[0], u[0])
        else:
            s = self._state_index(start, "start")
        out = [s]
        for v in u[1:]:
            s = _draw(cum[s], tot[s], last[s], v)
            out.append(s)
        return np.asarray(out, dtype=np.intp)

    # ------------------------------------------------------------------ prediction
    def n_step_transmat(self, m):
        """Return the ``m``-step transition matrix ``transmat_ ** m``.

        Parameters
        ----------
        m : int
            Number of steps (>= 0); computed by repeated squaring with the
            rows renormalised after each product, so large ``m`` is cheap and
            accurate.

        Returns
        -------
        ndarray of shape (n_states_, n_states_)
        """
        self._check_fitted()
        m = _ca.check_nonneg_int(m, "m")
        return _ca.stochastic_power(self.transmat_, m)

    def predict_distribution(self, start, n_steps=1):
        """Distribution of the state ``n_steps`` steps ahead.

        Parameters
        ----------
        start : int, str or array-like of shape (n_states_,)
            Current state (index or name) or a probability vector over states.
        n_steps : int, default 1
            Number of steps (>= 0).  The matrix power is formed by repeated
            squaring, so the cost grows with ``log(n_steps)``.

        Returns
        -------
        ndarray of shape (n_states_,)
            ``start @ transmat_ ** n_steps``.
        """
        self._check_fitted()
        n_steps = _ca.check_nonneg_int(n_steps, "n_steps")
        if np.ndim(start) == 0:
            p = np.zeros(self.n_states_)
            p[self._state_index(start, "start")] = 1.0
        else:
            p = _ca.check_probability_vector(start, "start", self.n_states_)
        return _ca.stochastic_power(self.transmat_, n_steps, start=p)

    def __repr__(self):
        n = getattr(self, "n_states_", self.n_states)
        return f"{type(self).__name__}(n_states={n}{self._repr_settings()})"

    def __str__(self):
        """A summary of the fitted parameters (the ``repr`` before fitting)."""
        if not hasattr(self, "n_states_"):
            return repr(self)
        from hmm_core.hmm.base import _format_array

        names = self.state_names_ or [str(i) for i in range(self.n_states_)]
        lines = [repr(self), f"  {self.n_states_} states: {', '.join(names)}",
                 "  startprob_", _format_array(self.startprob_),
                 "  transmat_ (row: from, column: to)", _format_array(self.transmat_)]
        return "\n".join(lines)


class HigherOrderMarkovChain(_StateSpace):
    """Markov chain of order ``k``: ``P(x_t | x_{t-k}, ..., x_{t-1})``.

    Only contexts (k-tuples) seen in training are stored, as a
    ``(n_contexts, N)`` table of next-state probabilities indexed by context;
    the ``N^k x N^k`` expanded first-order matrix is never formed.

    Parameters
    ----------
    order : int, default 2
        Order ``k >= 1``.
    n_states : int, optional
        Number of states; inferred as for :class:`MarkovChain` if None.
    state_names : sequence of str, optional
        Names of the states.
    pseudocount : float, default 0.0
        Dirichlet pseudocount added to every count.
    random_state : None, int or numpy.random.Generator, optional
        Default randomness for :meth:`sample`.

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

    def __init__(
        self, order=2, n_states=None, state_names=None, pseudocount=0.0, random_state=None
    ):
        self.order = _ca.check_nonneg_int(order, "order", minimum=1)
        self._init_common(n_states, state_names, pseudocount, random_state)

    _fitted_names = ("_tables",)

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
                _ca.check_probability_vector(row, f"context table {j}", n)
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
        self : HigherOrderMarkovChain
        """
        x, lengths = self._convert(X, lengths, self.n_states)
        n, k = self._n_states_for_fit(x), self.order
        starts = _ca.sequence_starts(lengths)
        tables = []
        for j in range(k + 1):
            ctx, target, _ = _ca.context_windows(x, starts, lengths, j, k)
            if ctx.shape[0] == 0:
                uniq, inv = np.empty((0, ctx.shape[1]), dtype=np.intp), np.empty(0, np.intp)
            elif j == 0:
                uniq, inv = np.empty((1, 0), dtype=np.intp), np.zeros(target.size, np.intp)
            else:
                uniq, inv = np.unique(ctx, axis=0, return_inverse=True)
                inv = inv.ravel()
            counts = np.bincount(inv * n + target, minlength=uniq.shape[0] * n)
            probs, _ = _ca.normalize_counts(
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
        starts = _ca.sequence_starts(lengths)
        out = np.zeros(lengths.size)
        for j, (table, probs) in enumerate(self._tables):
            ctx, target, seq = _ca.context_windows(x, starts, lengths, j, self.order)
            rows = _ca.lookup_contexts(table, ctx)
            p = np.full(target.size, 1.0 / self.n_states_)
            seen = rows >= 0
            p[seen] = probs[rows[seen], target[seen]]
            with np.errstate(divide="ignore"):
                np.add.at(out, seq, np.log(p))
        return out

    def score(self, X, lengths=None):
        """Total log-likelihood of the state sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, 1)
            Concatenated state sequences.
        lengths : array-like of int, optional
            Sequence lengths; None means one sequence.

        Returns
        -------
        float
        """
        return float(np.sum(self.score_sequences(X, lengths)))

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
        x = _ca.as_state_sequence(np.asarray(history, dtype=object), self.n_states_, names, name)
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
            Steps ahead (>= 0).  ``n_steps > 1`` propagates a distribution over
            the seen contexts exactly, at cost ``O(n_steps * contexts * N)``.

        Returns
        -------
        ndarray of shape (n_states_,)
        """
        self._check_fitted()
        n_steps = _ca.check_nonneg_int(n_steps, "n_steps")
        ctx = self._history(history, "history")[-self.order :]
        if n_steps == 0:
            if not ctx:
                raise ValueError("n_steps=0 requires a non-empty history")
            out = np.zeros(self.n_states_)
            out[ctx[-1]] = 1.0
            return out
        dist = {ctx: 1.0}
        for _ in range(n_steps):
            marginal, new = np.zeros(self.n_states_), {}
            for c, w in dist.items():
                q = w * self._next_probs(c)
                marginal += q
                for s in np.flatnonzero(q).tolist():
                    key = (c + (s,))[-self.order :]
                    new[key] = new.get(key, 0.0) + q[s]
            dist = new
        return marginal

    def sample(self, n_samples, random_state=None, start=None):
        """Sample one state sequence.

        Parameters
        ----------
        n_samples : int
            Length of the sequence (>= 1).
        random_state : None, int or numpy.random.Generator, optional
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
        n_samples = _ca.check_nonneg_int(n_samples, "n_samples", minimum=1)
        out = list(self._history(start, "start"))
        if len(out) > n_samples:
            raise ValueError(f"start has {len(out)} states but n_samples is {n_samples}")
        u = self._rng(random_state).random(n_samples - len(out)).tolist()
        for v in u:
            ctx = tuple(out[-self.order :]) if len(out) >= self.order else tuple(out)
            cached = self._cum_cache.get(ctx)
            if cached is None:
                c, t, last = _cumulative_rows(self._next_probs(ctx))
                cached = self._cum_cache[ctx] = (c[0], t[0], last[0])
            out.append(_draw(*cached, v))
        return np.asarray(out, dtype=np.intp)

    def __repr__(self):
        n = getattr(self, "n_states_", self.n_states)
        return f"{type(self).__name__}(order={self.order}, n_states={n}{self._repr_settings()})"

    def __str__(self):
        """A summary of the fitted parameters (the ``repr`` before fitting)."""
        if not hasattr(self, "n_states_"):
            return repr(self)
        names = self.state_names_ or [str(i) for i in range(self.n_states_)]
        contexts = ", ".join(f"{len(ctx)} of length {j}"
                             for j, (ctx, _) in enumerate(self._tables))
        return "\n".join([repr(self), f"  {self.n_states_} states: {', '.join(names)}",
                          f"  contexts seen in training: {contexts}"])
