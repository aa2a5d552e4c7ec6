"""Input validation and structural analysis helpers for :mod:`hmm_core.markov_chain`.

Everything here works on plain NumPy arrays (a row-stochastic transition matrix
``T`` of shape ``(N, N)`` and integer state sequences) so that the classes in
:mod:`hmm_core.markov_chain` stay thin.  The module is private; its names may
change without notice.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

#: Absolute tolerance used when checking that probabilities sum to one.
SUM_ATOL = 1e-8
#: Tolerance below which a negative entry of a computed distribution is
#: treated as round-off and clipped to zero.
NEG_ATOL = 1e-10


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------
def check_pseudocount(pseudocount):
    """Return ``pseudocount`` as a float after checking it is finite and >= 0."""
    try:
        value = float(pseudocount)
    except (TypeError, ValueError):
        raise ValueError(f"pseudocount must be a number; got {pseudocount!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"pseudocount must be finite and >= 0; got {pseudocount!r}")
    return value


def check_nonneg_int(value, name, minimum=0):
    """Return ``value`` as an ``int`` after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def check_state_names(state_names, n_states=None):
    """Validate ``state_names`` (distinct strings) and return them as a list."""
    if state_names is None:
        return None
    if isinstance(state_names, str):
        raise ValueError("state_names must be a sequence of names, not a single string")
    names = [str(s) for s in state_names]
    if isinstance(state_names, list) and all(type(s) is str for s in state_names):
        names = state_names  # unchanged, so scikit-learn's clone sees the same object
    if len(names) == 0:
        raise ValueError("state_names must not be empty")
    if len(set(names)) != len(names):
        raise ValueError("state_names must be distinct")
    if n_states is not None and len(names) != n_states:
        raise ValueError(f"state_names has {len(names)} entries but n_states is {n_states}")
    return names


def as_state_sequence(X, n_states=None, state_names=None, name="X"):
    """Convert ``X`` (1-D, or 2-D with one column) to a 1-D ``intp`` state array.

    Strings are mapped through ``state_names``.  Raises ``ValueError`` naming
    ``name`` for empty input, bad shapes, NaN/inf, non-integer values,
    unknown names and states outside ``0..n_states-1``.
    """
    arr = np.asarray(X)
    if arr.ndim == 2:
        if arr.shape[1] != 1:
            raise ValueError(
                f"{name} must be 1-D or have shape (n_samples, 1); got shape {arr.shape}"
            )
        arr = arr[:, 0]
    elif arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D or have shape (n_samples, 1); got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; at least one observed state is required")

    if arr.dtype.kind in "USO" and any(isinstance(v, str) for v in arr.tolist()):
        if state_names is None:
            raise ValueError(f"{name} contains strings but no state_names were given")
        lookup = {s: i for i, s in enumerate(state_names)}
        out = np.empty(arr.size, dtype=np.intp)
        for i, v in enumerate(arr.tolist()):
            try:
                out[i] = lookup[v] if isinstance(v, str) else _int_state(v, name)
            except KeyError:
                raise ValueError(f"{name} contains unknown state name {v!r}") from None
    else:
        if arr.dtype.kind == "O":
            try:
                arr = arr.astype(float)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must contain integer states or state names") from None
        if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
            raise ValueError(f"{name} must contain integer states; got dtype {arr.dtype}")
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} contains NaN or infinite values")
            if np.any(arr != np.round(arr)):
                raise ValueError(f"{name} must contain integer states; got non-integer values")
        out = arr.astype(np.intp)
    if out.min() < 0:
        raise ValueError(f"{name} contains negative state {int(out.min())}")
    if n_states is not None and out.max() >= n_states:
        raise ValueError(
            f"{name} contains state {int(out.max())} outside the range 0..{n_states - 1}"
        )
    return out


def _int_state(v, name):
    """Return ``v`` as an int if it is an integral number, else raise."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ValueError(f"{name} contains a value that is neither a state name nor an int: {v!r}")
    return int(v)


def check_lengths(lengths, n_samples, name="lengths"):
    """Return ``lengths`` as an ``intp`` array of positive ints summing to ``n_samples``."""
    if lengths is None:
        return np.array([n_samples], dtype=np.intp)
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of ints")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must contain integers")
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must contain integers; got dtype {arr.dtype}")
    arr = arr.astype(np.intp)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive; got a zero or negative length")
    if int(arr.sum()) != n_samples:
        raise ValueError(f"{name} sum to {int(arr.sum())} but X has {n_samples} samples")
    return arr


def check_probability_vector(p, name, n=None):
    """Validate a probability vector (1-D, finite, >= 0, sums to 1) and return a copy."""
    arr = np.array(p, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} must have length {n}; got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(arr < 0):
        raise ValueError(f"{name} contains negative probabilities")
    if abs(arr.sum() - 1.0) > SUM_ATOL:
        raise ValueError(f"{name} must sum to 1; got {arr.sum()!r}")
    return arr


def check_transition_matrix(T, name="transmat"):
    """Validate a square row-stochastic matrix and return a float copy."""
    arr = np.array(T, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square 2-D array; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(arr < 0):
        raise ValueError(f"{name} contains negative probabilities")
    bad = np.flatnonzero(np.abs(arr.sum(axis=1) - 1.0) > SUM_ATOL)
    if bad.size:
        raise ValueError(f"{name} rows must sum to 1; row(s) {bad.tolist()} do not")
    return arr


def sequence_starts(lengths):
    """Start offsets of the concatenated sequences described by ``lengths``."""
    return np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.intp)


def normalize_counts(counts):
    """Normalise the rows of ``counts``; return ``(probs, empty_rows)``.

    Rows whose total is zero become uniform and are reported in ``empty_rows``.
    """
    counts = np.asarray(counts, dtype=float)
    totals = counts.sum(axis=-1, keepdims=True)
    empty = totals[..., 0] <= 0
    n = counts.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        probs = np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), 1.0 / n)
    return probs, np.flatnonzero(empty)


# --------------------------------------------------------------------------
# Structure of the transition graph
# --------------------------------------------------------------------------
def adjacency(T):
    """Sparse adjacency matrix of the transition graph (edge i->j iff T[i, j] > 0)."""
    return csr_matrix(np.asarray(T) > 0)


def communicating_classes(T):
    """Strongly connected components of the transition graph, sorted by smallest state."""
    n_comp, labels = connected_components(adjacency(T), directed=True, connection="strong")
    classes = [np.flatnonzero(labels == c) for c in range(n_comp)]
    classes.sort(key=lambda c: int(c[0]))
    return classes


def is_closed(T, cls):
    """True if no positive-probability transition leaves the set ``cls``."""
    outside = np.ones(T.shape[0], dtype=bool)
    outside[cls] = False
    return not np.any(T[np.ix_(cls, outside)] > 0)


def closed_classes(T):
    """Communicating classes that are closed (the recurrent classes of a finite chain)."""
    return [c for c in communicating_classes(T) if is_closed(T, c)]


def class_period(T, cls):
    """Period of the communicating class ``cls`` (0 if it contains no cycle).

    A BFS from one state of the class assigns levels; the period is the gcd
    over all edges ``(u, v)`` inside the class of ``level[u] + 1 - level[v]``.
    """
    cls = np.asarray(cls)
    sub = adjacency(T[np.ix_(cls, cls)])
    order, pred = breadth_first_order(sub, 0, directed=True, return_predecessors=True)
    level = np.zeros(cls.size, dtype=np.int64)
    for node in order[1:]:
        level[node] = level[pred[node]] + 1
    rows, cols = sub.nonzero()
    if rows.size == 0:
        return 0
    return int(np.gcd.reduce(np.abs(level[rows] + 1 - level[cols])))


def stationary_on_class(T, cls):
    """Stationary distribution of the closed class ``cls`` as a length-N vector.

    Solves ``pi (I - P_C) = 0`` with ``sum(pi) = 1`` on the class by replacing
    one (redundant) balance equation with the normalisation; for an
    irreducible block this square system is nonsingular.  The result is
    checked to be nonnegative and to sum to one.
    """
    n = T.shape[0]
    P = T[np.ix_(cls, cls)]
    m = P.shape[0]
    A = P.T - np.eye(m)
    A[-1, :] = 1.0
    b = np.zeros(m)
    b[-1] = 1.0
    pi_c = np.linalg.solve(A, b)
    if np.any(pi_c < -NEG_ATOL) or abs(pi_c.sum() - 1.0) > 1e-8:
        raise RuntimeError(
            "stationary distribution could not be computed accurately "
            "(negative entries or wrong total); the transition matrix may be ill-conditioned"
        )
    pi_c = np.clip(pi_c, 0.0, None)
    pi = np.zeros(n)
    pi[cls] = pi_c / pi_c.sum()
    return pi


def stochastic_power(T, m, start=None):
    """``start @ T**m`` (or ``T**m`` if ``start`` is None) by repeated squaring.

    Rows are renormalised to sum to one after every product.  Without this,
    round-off in the row sums roughly doubles with each squaring, which would
    cost about ``log2(m)`` bits of accuracy for large ``m`` (1e-7 at m = 1e9).
    """
    base = np.array(T, dtype=float)
    result = np.eye(base.shape[0]) if start is None else np.array(start, dtype=float)
    while m:
        if m & 1:
            result = result @ base
            result /= result.sum(axis=-1, keepdims=True)
        m >>= 1
        if m:
            base = base @ base
            base /= base.sum(axis=1, keepdims=True)
    return result


def absorbing_states(T):
    """States ``i`` with ``T[i, i] > 0`` and no other positive entry in row ``i``."""
    off = np.asarray(T, dtype=float).copy()
    np.fill_diagonal(off, 0.0)
    return np.flatnonzero((np.diag(T) > 0) & ~np.any(off > 0, axis=1))


def second_eigenvalue_modulus(T):
    """Second-largest modulus among the eigenvalues of ``T`` (0 for a 1-state chain)."""
    if T.shape[0] == 1:
        return 0.0
    moduli = np.sort(np.abs(np.linalg.eigvals(T)))[::-1]
    return float(min(moduli[1], 1.0))


# --------------------------------------------------------------------------
# Context tables for higher-order chains
# --------------------------------------------------------------------------
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


# --------------------------------------------------------------------------
# Analysis methods of MarkovChain
# --------------------------------------------------------------------------
class ChainAnalysisMixin:
    """Structural, stationary, absorption and mixing analysis of a fitted chain.

    Mixed into :class:`hmm_core.markov_chain.MarkovChain`; relies on its
    ``transmat_``, ``n_states_``, ``_check_fitted``, ``_state_index`` and
    ``_labels``.
    """

    # ------------------------------------------------------------------ structure
    def communicating_classes(self):
        """Communicating classes (strongly connected components of the transition graph).

        Returns
        -------
        list of ndarray
            Sorted state indices of each class, ordered by smallest state.
        """
        self._check_fitted()
        return communicating_classes(self.transmat_)

    def closed_classes(self):
        """Closed communicating classes, i.e. the recurrent classes of the chain.

        Returns
        -------
        list of ndarray
            Sorted state indices of each closed class.
        """
        self._check_fitted()
        return closed_classes(self.transmat_)

    def recurrent_states(self):
        """States belonging to a closed class.

        Returns
        -------
        ndarray of int
            Sorted recurrent states.
        """
        return np.sort(np.concatenate(self.closed_classes()))

    def transient_states(self):
        """States not in any closed class.

        Returns
        -------
        ndarray of int
            Sorted transient states (possibly empty).
        """
        return np.setdiff1d(np.arange(self.n_states_), self.recurrent_states())

    def absorbing_states(self):
        """States ``i`` with ``transmat_[i, i] == 1``.

        Returns
        -------
        ndarray of int
            Sorted absorbing states (possibly empty).
        """
        self._check_fitted()
        return absorbing_states(self.transmat_)

    def is_irreducible(self):
        """Whether all states communicate (a single communicating class).

        Returns
        -------
        bool
        """
        return len(self.communicating_classes()) == 1

    def period(self, state=None):
        """Period of a state or of a communicating class.

        Parameters
        ----------
        state : int, str or array-like of int, optional
            A state (its class is used), or the states of a communicating
            class.  None is allowed for an irreducible chain.

        Returns
        -------
        int
            gcd of the lengths of the cycles through the class.  A class with
            no cycle at all (a transient state that cannot return to itself)
            has period 0 by the convention ``gcd() = 0``.

        Raises
        ------
        ValueError
            If ``state`` is None and the chain is reducible, or the given
            states do not form a communicating class.
        """
        classes = self.communicating_classes()
        if state is None:
            if len(classes) != 1:
                raise ValueError("state must be given for a reducible chain")
            cls = classes[0]
        elif np.ndim(state) == 0:
            i = self._state_index(state, "state")
            cls = next(c for c in classes if i in c)
        else:
            want = np.unique([self._state_index(s, "state") for s in np.ravel(state)])
            cls = next((c for c in classes if np.array_equal(c, want)), None)
            if cls is None:
                raise ValueError(f"state {self._labels(want)} is not a communicating class")
        return class_period(self.transmat_, cls)

    def is_aperiodic(self):
        """Whether every closed (recurrent) class has period 1.

        This is the condition under which ``transmat_ ** n`` converges; the
        periods of transient classes are irrelevant and ignored.

        Returns
        -------
        bool
        """
        return all(class_period(self.transmat_, c) == 1 for c in self.closed_classes())

    # ------------------------------------------------------------------ stationarity
    def stationary_distributions(self):
        """One stationary distribution per closed class.

        Returns
        -------
        ndarray of shape (n_closed_classes, n_states_)
            Row ``r`` is the unique stationary distribution supported on the
            ``r``-th closed class (zeros elsewhere).  Every stationary
            distribution of the chain is a convex combination of these rows.
        """
        closed = self.closed_classes()
        return np.vstack([stationary_on_class(self.transmat_, c) for c in closed])

    def stationary_distribution(self):
        """The unique stationary distribution ``pi = pi @ transmat_``.

        This is the left eigenvector of ``transmat_`` for eigenvalue 1,
        normalised to sum to one.  It is computed by solving the balance
        equations restricted to the closed class (with one equation replaced by
        the normalisation), which is better conditioned than a general
        eigen-decomposition; the result is checked to be nonnegative and to
        sum to one.

        Returns
        -------
        ndarray of shape (n_states_,)

        Raises
        ------
        ValueError
            If the chain has more than one closed (recurrent) class, in which
            case the stationary distribution is not unique; the message names
            the closed classes.  Use :meth:`stationary_distributions` instead.
        """
        self._check_fitted()
        closed = self.closed_classes()
        if len(closed) > 1:
            named = ", ".join(str(self._labels(c)) for c in closed)
            raise ValueError(
                f"the chain has {len(closed)} closed (recurrent) classes {named}, so its "
                "stationary distribution is not unique; use stationary_distributions()"
            )
        return stationary_on_class(self.transmat_, closed[0])

    # ------------------------------------------------------------------ absorption
    def _absorbing_blocks(self):
        """Return (transient, absorbing, I - Q, R) after checking this is an absorbing chain."""
        absorbing = self.absorbing_states()
        if absorbing.size == 0:
            raise ValueError("the chain has no absorbing states")
        transient = self.transient_states()
        if transient.size == 0:
            raise ValueError("the chain has no transient states")
        other = np.setdiff1d(self.recurrent_states(), absorbing)
        if other.size:
            raise ValueError(
                f"not an absorbing chain: recurrent states {self._labels(other)} are not "
                "absorbing, so some transient states are never absorbed"
            )
        T = self.transmat_
        i_minus_q = np.eye(transient.size) - T[np.ix_(transient, transient)]
        return transient, absorbing, i_minus_q, T[np.ix_(transient, absorbing)]

    def fundamental_matrix(self):
        """Fundamental matrix ``N = (I - Q)^-1`` of an absorbing chain.

        Returns
        -------
        ndarray of shape (n_transient, n_transient)
            ``N[i, j]`` is the expected number of visits to transient state
            ``transient_states()[j]`` starting from ``transient_states()[i]``.

        Raises
        ------
        ValueError
            If there are no absorbing states, no transient states, or some
            recurrent state is not absorbing.
        """
        _, _, i_minus_q, _ = self._absorbing_blocks()
        return np.linalg.solve(i_minus_q, np.eye(i_minus_q.shape[0]))

    def expected_steps_to_absorption(self):
        """Expected number of steps until absorption, ``N @ 1``.

        Returns
        -------
        dict
            Maps each transient state (int index) to its expected number of
            steps before absorption.

        Raises
        ------
        ValueError
            As for :meth:`fundamental_matrix`.
        """
        transient, _, i_minus_q, _ = self._absorbing_blocks()
        t = np.linalg.solve(i_minus_q, np.ones(transient.size))
        return {int(s): float(v) for s, v in zip(transient, t, strict=True)}

    def absorption_probabilities(self):
        """Probability of ending in each absorbing state, ``B = N @ R``.

        Returns
        -------
        ndarray of shape (n_transient, n_absorbing)
            Rows follow :meth:`transient_states`, columns :meth:`absorbing_states`.

        Raises
        ------
        ValueError
            As for :meth:`fundamental_matrix`.
        """
        _, _, i_minus_q, R = self._absorbing_blocks()
        return np.linalg.solve(i_minus_q, R)

    # ------------------------------------------------------------------ mixing
    def second_eigenvalue_modulus(self):
        """Second-largest eigenvalue modulus (SLEM) of ``transmat_``.

        Returns
        -------
        float
            ``|lambda_2|`` with eigenvalues sorted by decreasing modulus (0 for
            a one-state chain).  It is 1 for reducible chains with several
            closed classes and for periodic chains.
        """
        self._check_fitted()
        return second_eigenvalue_modulus(self.transmat_)

    def relaxation_time(self):
        """Relaxation time ``1 / (1 - SLEM)``.

        Returns
        -------
        float
            ``inf`` if the SLEM is 1 (within 1e-12).
        """
        slem = self.second_eigenvalue_modulus()
        return float("inf") if slem >= 1.0 - 1e-12 else 1.0 / (1.0 - slem)
