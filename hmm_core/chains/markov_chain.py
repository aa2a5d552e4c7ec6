"""Observable (visible-state) Markov chains.

:class:`MarkovChain` is a first-order chain over states ``0..N-1`` (optionally
named) with maximum-likelihood fitting, scoring, sampling, n-step prediction
and structural analysis (communicating classes, periods, stationary
distributions, absorption, mixing). :class:`HigherOrderMarkovChain`
(defined in :mod:`~hmm_core.chains.higher_order_chain`) conditions on the
last ``k`` states and stores only the contexts seen in training.

Sequences follow the hmmlearn convention: several sequences are concatenated
into one array ``X`` and ``lengths`` gives the length of each.
"""

from __future__ import annotations

import warnings

import numpy as np

from hmm_core.chains._absorption import AbsorptionMixin
from hmm_core.chains._base import (
    ChainBase,
    cumulative_rows,
    draw,
    normalize_counts,
    sequence_starts,
)
from hmm_core.chains._stationary import StationaryMixin, stochastic_power
from hmm_core.chains._structure import StructureMixin
from hmm_core.chains._validation import (
    check_n_samples,
    check_nonneg_int,
    check_probability_vector,
    check_table_bytes,
    check_transition_matrix,
)
from hmm_core.chains.higher_order_chain import HigherOrderMarkovChain
from hmm_core.estimator import format_array
from hmm_core.estimator.constraints import Check

__all__ = ["HigherOrderMarkovChain", "MarkovChain", "UnvisitedStateWarning"]


class UnvisitedStateWarning(UserWarning):
    """Warning emitted when a fitted state has no observed outgoing transition.

    The transition row of such a state is set to the uniform distribution
    (see the ``unvisited`` setting of :class:`MarkovChain`).
    """


UNVISITED = ("uniform", "absorbing", "error")


def _unvisited(value, name, owner):
    if not isinstance(value, str) or value not in UNVISITED:
        raise ValueError(f"{name} must be one of {UNVISITED}; got {value!r}")
    return value


class MarkovChain(StructureMixin, StationaryMixin, AbsorptionMixin, ChainBase):
    """First-order Markov chain over observed states ``0..N-1``.

    Parameters
    ----------
    unvisited : {"absorbing", "uniform", "error"}, default "absorbing"
        The transition row of a state that :meth:`fit` never sees being left
        (it has no count and ``pseudocount`` is 0); see the Notes.

        - ``"absorbing"``: a state that occurs in ``X`` but only as the last
          state of sequences (trajectories that stop where they are absorbed)
          becomes absorbing, ``transmat_[i, i] = 1``; a state that never
          occurs in ``X`` gets a uniform row and an
          :class:`UnvisitedStateWarning` naming it.
        - ``"uniform"``: the row is uniform and the warning names the state
          (the behaviour of hmm_core 0.1).
        - ``"error"``: :meth:`fit` raises ``ValueError`` naming the states.

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
    transition has no data for its row.  There are two such cases: the state
    occurs in ``X`` only at the end of sequences (it is visited but never
    left, as an absorbing state is when trajectories stop there), or it never
    occurs at all (a state known from ``n_states`` or ``state_names``).  By
    default (``unvisited="absorbing"``) a state of the first case keeps what
    the data show, an absorbing state, and a state of the second case gets
    the uniform distribution with an :class:`UnvisitedStateWarning` naming
    it; ``unvisited="uniform"`` gives both cases the uniform row and the
    warning, and ``unvisited="error"`` refuses both.  A positive ``pseudocount`` gives
    every row data, and the setting no longer matters.
    """

    _parameter_constraints = {**ChainBase._parameter_constraints, "unvisited": Check(_unvisited)}
    _fitted_names = ("startprob_", "transmat_", "start_counts_", "transition_counts_")

    def __init__(self, n_states=None, state_names=None, pseudocount=0.0, random_state=None,
                 unvisited="absorbing"):
        self._set_params_from(locals())
        self._validate_params(store=True)

    def _file_params(self):
        params = super()._file_params()
        # Written only when set, so a chain with the default reads in hmm_core 0.1.
        if params["unvisited"] == "absorbing":
            del params["unvisited"]
        return params

    def _restore_fitted(self, fitted):
        n = self.n_states_
        self.startprob_ = check_probability_vector(fitted.pop("startprob_"), "startprob_", n)
        self.transmat_ = check_transition_matrix(fitted.pop("transmat_"), "transmat_")
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
        T = check_transition_matrix(transmat, "transmat")
        n = T.shape[0]
        if startprob is None:
            p0 = np.full(n, 1.0 / n)
        else:
            p0 = check_probability_vector(startprob, "startprob", n)
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
        MarkovChain
            The fitted chain.

        Raises
        ------
        ValueError
            If ``unvisited="error"`` and some state has no outgoing transition
            count, or the transition tables of ``n_states`` would need more
            than 4 GiB.

        Warns
        -----
        UnvisitedStateWarning
            If some state has no outgoing transition count and its row is set
            uniform (see ``unvisited``).
        """
        x, lengths = self._convert(X, lengths, self.n_states)
        n = self._n_states_for_fit(x)
        # Counts, probabilities and their temporaries: a few n-by-n float arrays.
        check_table_bytes(4 * 8 * n * n, f"n_states={n}")
        starts = sequence_starts(lengths)
        start_counts = np.bincount(x[starts], minlength=n).astype(float)
        is_trans = np.ones(x.size, dtype=bool)
        is_trans[starts] = False
        t = np.flatnonzero(is_trans)
        trans_counts = np.bincount(x[t - 1] * n + x[t], minlength=n * n).reshape(n, n)
        trans_counts = trans_counts.astype(float)
        startprob = (start_counts + self.pseudocount) / (
            start_counts.sum() + n * self.pseudocount
        )
        transmat, empty = normalize_counts(trans_counts + self.pseudocount)
        occurs = np.bincount(x, minlength=n) > 0
        ended, never = empty[occurs[empty]], empty[~occurs[empty]]
        if self.unvisited == "error" and empty.size:
            raise ValueError(self._unvisited_message(ended, never))
        if self.unvisited == "absorbing" and ended.size:
            transmat[ended] = 0.0
            transmat[ended, ended] = 1.0
            empty = never
        self.startprob_, self.transmat_ = startprob, transmat
        self.n_states_, self.state_names_ = n, self.state_names
        self.start_counts_, self.transition_counts_ = start_counts, trans_counts
        if empty.size:
            hint = ""
            if self.unvisited == "uniform" and ended.size:
                hint = (f"; state(s) {self._labels(ended)} only end sequences: "
                        "unvisited='absorbing' makes such states absorbing")
            warnings.warn(
                f"state(s) {self._labels(empty)} have no observed outgoing transitions; "
                f"their transition rows were set to the uniform distribution{hint}",
                UnvisitedStateWarning,
                stacklevel=2,
            )
        return self

    def _unvisited_message(self, ended, never):
        names = self.state_names
        labels = [[names[i] if names else int(i) for i in idx] for idx in (ended, never)]
        parts = [f"{label} ({what})" for label, what in zip(
            labels, ("they only end sequences", "they never occur"), strict=True) if label]
        return (f"X has no transition out of state(s) {' and '.join(parts)}; "
                "unvisited='error' requires a transition out of every state (give a "
                "pseudocount > 0, or unvisited='absorbing' or 'uniform')")

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
        starts = sequence_starts(lengths)
        with np.errstate(divide="ignore"):
            log_t = np.log(self.transmat_)
            log_p0 = np.log(self.startprob_)
        step = np.empty(x.size)
        step[1:] = log_t[x[:-1], x[1:]]
        step[starts] = log_p0[x[starts]]
        return np.add.reduceat(step, starts)

    def sample(self, n_samples, random_state=None, start=None):
        """Sample one state sequence.

        Parameters
        ----------
        n_samples : int
            Length of the sequence (>= 1).
        random_state : None, int, numpy.random.Generator or RandomState, optional
            Randomness; defaults to the ``random_state`` given at construction.
        start : int or str, optional
            First state; if None it is drawn from ``startprob_``.

        Returns
        -------
        ndarray of shape (n_samples,)
            Integer state indices.
        """
        self._check_fitted()
        n_samples = check_n_samples(n_samples)
        u = self._random_source(random_state).random(n_samples).tolist()
        cum, tot, last = cumulative_rows(self.transmat_)
        if start is None:
            c0, t0, l0 = cumulative_rows(self.startprob_)
            s = draw(c0[0], t0[0], l0[0], u[0])
        else:
            s = self._state_index(start, "start")
        out = [s]
        for v in u[1:]:
            s = draw(cum[s], tot[s], last[s], v)
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
        m = check_nonneg_int(m, "m")
        return stochastic_power(self.transmat_, m)

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
        n_steps = check_nonneg_int(n_steps, "n_steps")
        if np.ndim(start) == 0:
            p = np.zeros(self.n_states_)
            p[self._state_index(start, "start")] = 1.0
        else:
            p = check_probability_vector(start, "start", self.n_states_)
        return stochastic_power(self.transmat_, n_steps, start=p)

    def __str__(self):
        """A summary of the fitted parameters (the ``repr`` before fitting)."""
        if not hasattr(self, "n_states_"):
            return repr(self)
        names = self.state_names_ or [str(i) for i in range(self.n_states_)]
        lines = [repr(self), f"  {self.n_states_} states: {', '.join(names)}",
                 "  startprob_", format_array(self.startprob_),
                 "  transmat_ (row: from, column: to)", format_array(self.transmat_)]
        return "\n".join(lines)
