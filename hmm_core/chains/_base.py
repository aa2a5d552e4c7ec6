"""What both Markov chains share: settings, state names, input conversion, files.

:class:`ChainBase` is the estimator base of :class:`~hmm_core.MarkovChain`
and :class:`~hmm_core.HigherOrderMarkovChain`. Unlike the HMMs, the chains
check their settings as soon as they are given (constructor and
``set_params``).
"""

from __future__ import annotations

import bisect

import numpy as np

from hmm_core.chains._validation import (
    as_state_sequence,
    check_lengths,
    check_nonneg_int,
    check_pseudocount,
    check_state_names,
)
from hmm_core.estimator import Estimator
from hmm_core.estimator.constraints import Check, RandomStateRule
from hmm_core.estimator.docs import document_parameters
from hmm_core.kernels.validation import as_concatenated

__all__ = ["ChainBase", "cumulative_rows", "draw", "normalize_counts", "sequence_starts"]

SHARED_PARAMETERS = {
    "n_states": """n_states : int, optional
        Number of states ``N``. If None it is taken from ``state_names`` or,
        failing that, as ``max(X) + 1`` at fit time.""",
    "state_names": """state_names : sequence of str, optional
        Names of the states; ``X`` passed to :meth:`fit`/:meth:`score` may then
        hold names instead of integers, and single states may be given by name.""",
    "pseudocount": """pseudocount : float, default 0.0
        Dirichlet pseudocount added to every start and transition count.""",
    "random_state": """random_state : None, int, numpy.random.Generator or RandomState, optional
        Default source of randomness for :meth:`sample`: None draws from
        NumPy's global RandomState, an int seeds ``numpy.random.default_rng``,
        a Generator or RandomState is used and advanced (see
        :mod:`hmm_core.estimator.base`).""",
}


def _n_states(value, name, owner):
    return None if value is None else check_nonneg_int(value, name, minimum=1)


def _state_names(value, name, owner):
    return check_state_names(value, owner.n_states)


def _pseudocount(value, name, owner):
    return check_pseudocount(value)


def cumulative_rows(probs):
    """Return (cumulative rows as lists, row totals, last positive index per row)."""
    probs = np.atleast_2d(probs)
    cum = np.cumsum(probs, axis=1)
    last = probs.shape[1] - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)
    return cum.tolist(), cum[:, -1].tolist(), last.tolist()


def draw(cum, total, last, u):
    """Inverse-CDF draw from one cumulative row (never returns a zero-probability state)."""
    return min(bisect.bisect_right(cum, u * total), last)


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


class ChainBase(Estimator, abstract=True):
    """State names, input conversion, the fitted check and model files of a chain."""

    _parameter_constraints = {
        "n_states": Check(_n_states),
        "state_names": Check(_state_names),
        "pseudocount": Check(_pseudocount),
        "random_state": RandomStateRule(generators=True),
    }
    _repr_always: tuple = ("n_states",)
    _input_tags = {"one_d_array": True, "string": True}
    _generators = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("__doc__"):
            document_parameters(cls, SHARED_PARAMETERS)

    def _params_changed(self):
        # Checked (and normalised) as by the constructor; fitted attributes stay.
        self._validate_params(store=True)

    def _repr_params(self):
        params = super()._repr_params()
        params["n_states"] = getattr(self, "n_states_", self.n_states)
        return params

    def _check_fitted(self):
        if not hasattr(self, "n_states_"):
            raise ValueError(
                f"this {type(self).__name__} is not fitted yet; call fit (or from_params) first"
            )

    def _convert(self, X, lengths, n_states=None, name="X"):
        names = getattr(self, "state_names_", None) or self.state_names
        X, lengths = as_concatenated(X, lengths)  # a list of per-sequence arrays
        if n_states is None and names is not None:
            n_states = len(names)  # named states: the names fix the number
        x = as_state_sequence(X, n_states, names, name=name)
        return x, check_lengths(lengths, x.size)

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
        return int(as_state_sequence([s], self.n_states_, None, name=name)[0])

    def _labels(self, idx):
        """State labels (names when available, else ints) for an index array."""
        if self.state_names_ is None:
            return [int(i) for i in idx]
        return [self.state_names_[i] for i in idx]

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
            Sum of :meth:`score_sequences` (including the start terms).
        """
        return float(np.sum(self.score_sequences(X, lengths)))

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
        n = check_nonneg_int(fitted.pop("n_states_"), "n_states_", minimum=1)
        self.n_states_ = n
        self.state_names_ = check_state_names(fitted.pop("state_names_"), n)
        self._restore_fitted(fitted)

    def _restore_fitted(self, fitted):
        """Validate and set the fitted attributes read from a model file."""
        raise NotImplementedError
