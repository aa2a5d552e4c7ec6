"""Higher-order HMMs by state expansion.

In an HMM of order ``k`` the state at frame ``t`` depends on the previous
``k`` states. :class:`HigherOrderHMM` runs it as an ordinary first-order
model whose states are *histories*: the last ``min(k, t + 1)`` original
states. Histories shorter than ``k`` are only visited during the first
``k - 1`` frames of a sequence, so the first transitions have their own
lower-order distributions (``init_transmats_``); after that a history
``(a_1, ..., a_k)`` moves to ``(a_2, ..., a_k, b)`` with probability
``transmat_[a_1, ..., a_k, b]``. Every history emits with the emission
distribution of its last (current) state: the expanded model ties its
emissions (``emission_ties``), so there are ``n_components`` emission
distributions, as in the original model.

A path of original states determines its path of histories and back, so
likelihoods, Viterbi and k-best paths are those of the expanded model,
with paths reported in original states.
"""

from __future__ import annotations

import copy
import functools

import numpy as np

from hmm_core.estimator import Estimator
from hmm_core.estimator.constraints import Check, Integer
from hmm_core.hmm._memory import check_request
from hmm_core.hmm._streaming import fit_source, is_chunk_source
from hmm_core.hmm.base import BaseHMM, check_states
from hmm_core.hmm.inference import Queries
from hmm_core.kernels.validation import check_memory
from hmm_core.structure.topology import Topology, pool_columns, uniform_chain

__all__ = ["HigherOrderHMM"]


def _on_expanded(name):
    """A method of :class:`BaseHMM` run by the expanded model (with BaseHMM's documentation)."""

    @functools.wraps(getattr(BaseHMM, name))
    def method(self, *args, **kwargs):
        return getattr(self._expanded(), name)(*args, **kwargs)

    method.__qualname__ = f"HigherOrderHMM.{name}"
    return method


def _check_model(value, name, owner):
    if not isinstance(value, BaseHMM):
        raise ValueError(f"{name} must be a BaseHMM instance, got {type(value).__name__}")
    return value


class HigherOrderHMM(Queries, Estimator):
    """Hidden Markov model of order ``order`` over a first-order model's emissions.

    Parameters
    ----------
    model : BaseHMM
        Template first-order model: its ``n_components`` original states,
        its emission family and settings (priors, ``n_iter``, ``tol``,
        ``params``, ``init_params``, ``training``, ``emission_ties``,
        ``random_state``, ...) are used by the expanded model. Emission
        parameters already set on it are copied. If it has ``startprob_``
        and ``transmat_`` (and ``"s"``, ``"t"`` are not in its
        ``init_params``), the expanded chain starts as the exact expansion
        of that first-order chain. ``transmat_ties`` is not supported.
    order : int, default 2
        Number of previous states the next state depends on.

    Attributes
    ----------
    model_ : BaseHMM
        The expanded first-order model (one state per history).
    histories_ : ndarray of int64, shape (n_histories, order)
        History of each expanded state, oldest first, right-aligned and
        padded with -1 on the left for histories shorter than ``order``.
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components,) * (order + 1)
        ``transmat_[a_1, ..., a_k, b] = P(z_t = b | z_{t-k} = a_1, ..., z_{t-1} = a_k)``.
    init_transmats_ : list of ndarray
        For ``m = 1 .. order - 1``, the array of shape
        ``(n_components,) * (m + 1)`` of ``P(z_m = b | z_0, ..., z_{m-1})``.

    Notes
    -----
    The expanded model has ``n_components + ... + n_components**order``
    states. Other attributes ending in ``_`` (``emissionprob_``,
    ``monitor_``, ``endprob_``, ...) are read from and written to
    :attr:`model_`; its ``endprob_`` is indexed by history.
    :meth:`score_sequences`, :meth:`aic` and :meth:`bic` are those of
    :attr:`model_` (whose free parameters are the higher-order model's);
    the methods that report states report original states.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core import CategoricalHMM
    >>> from hmm_core.higher_order import HigherOrderHMM
    >>> X = np.array([[0], [0], [1], [1], [0], [0], [1], [1]] * 5)
    >>> hmm = HigherOrderHMM(CategoricalHMM(2, n_iter=5, random_state=0), order=2).fit(X)
    >>> hmm.transmat_.shape
    (2, 2, 2)
    """

    _parameter_constraints = {"model": Check(_check_model),
                              "order": Integer(1, allow_bool=False)}
    _repr_always = ("model", "order")
    _input_tags = {"allow_nan": True}

    def __init__(self, model, order=2):
        self._set_params_from(locals())

    def _params_changed(self):
        # Rebuild the expanded model when it is next needed.
        self.__dict__.pop("model_", None)

    def _file_state(self, writer, prefix):
        expanded = self.__dict__.get("model_")
        return {"expanded": None if expanded is None else expanded._file_state(
            writer, f"{prefix}expanded.")}

    def _restore_file_state(self, reader, body):
        if body.get("expanded") is not None:
            self._expanded()._restore_file_state(reader, body["expanded"])

    def __getattr__(self, name):
        # Only called when normal lookup fails: delegate fitted attributes.
        if name.endswith("_") and not name.startswith("_") and name != "model_":
            return getattr(self._expanded(), name)
        raise AttributeError(name)

    def __setattr__(self, name, value):
        if (name.endswith("_") and not name.startswith("_") and name != "model_"
                and not hasattr(type(self), name)):
            setattr(self._expanded(), name, value)
        else:
            object.__setattr__(self, name, value)

    @property
    def histories_(self):
        """History of each expanded state (see the class documentation)."""
        self._expanded()
        return self._histories

    @property
    def n_components(self):
        """Number of original states."""
        return self.model.n_components

    # ---------------------------------------------------------- expansion
    def _check_settings(self):
        self._validate_params()
        if getattr(self.model, "transmat_ties", None) is not None:
            raise ValueError("model.transmat_ties is not supported by HigherOrderHMM")
        self.model._check_settings()

    def _expanded(self):
        """The expanded model: built on first use, rebuilt when ``model`` or ``order`` changes.

        The template's settings are copied on every call; its parameters only
        when the expanded model is built.
        """
        self._check_settings()
        built = self.__dict__.get("model_")
        # The template itself, not its id: a new template may reuse a freed id.
        key = (self.n_components, self.order)
        old = self.__dict__.get("_key")
        if built is not None and old is not None and old[0] is self.model and old[1:] == key:
            self._sync(built)
            return built
        n, k = self.n_components, int(self.order)
        n_hist = sum(n**m for m in range(1, k + 1))  # Python ints: no overflow
        # A mask, the topology's chain and the expanded model's, dense (n_hist, n_hist).
        check_memory(33 * n_hist**2, f"HigherOrderHMM of order {k} over {n} states "
                     f"({n_hist:,} histories)", "use a lower order or fewer states")
        sizes = n ** np.arange(1, k + 1)
        self._base = np.concatenate(([0], np.cumsum(sizes)))  # first index of each length
        n_hist = int(self._base[-1])
        lengths = np.repeat(np.arange(1, k + 1), sizes)
        codes = np.arange(n_hist) - self._base[lengths - 1]
        # Digits of each history, newest last; -1 pads short histories.
        digits = (codes[:, None] // n ** np.arange(k - 1, -1, -1)) % n
        histories = np.where(np.arange(k)[None, :] >= k - lengths[:, None], digits, -1)
        last = histories[:, -1]
        # Successor of each history on each next state.
        keep = np.where(lengths < k, codes, codes % n ** (k - 1))
        new_len = np.minimum(lengths + 1, k)
        succ = self._base[new_len - 1][:, None] + keep[:, None] * n + np.arange(n)[None, :]
        trans_mask = np.zeros((n_hist, n_hist), dtype=bool)
        trans_mask[np.arange(n_hist)[:, None], succ] = True
        start_mask = lengths == 1

        template = self.model
        expanded = copy.deepcopy(template)
        ties = template._emission_map()
        expanded.n_components = n_hist
        expanded.emission_ties = last if ties is None else ties[last]
        has_end = template.end_state or getattr(template, "endprob_", None) is not None
        topology = Topology(start_mask, trans_mask, np.full(n_hist, has_end, dtype=bool))
        expanded._topology = topology
        start, trans, end = uniform_chain(topology, has_end)
        if getattr(template, "startprob_", None) is not None and \
                getattr(template, "transmat_", None) is not None:
            # The exact expansion of the first-order chain.
            first = template._check()
            start = np.zeros(n_hist)
            start[:n] = first.startprob
            trans = np.zeros((n_hist, n_hist))
            trans[np.arange(n_hist)[:, None], succ] = first.transmat[last]
            end = None if first.endprob is None else first.endprob[last]
        expanded.startprob_, expanded.transmat_, expanded.endprob_ = start, trans, end
        object.__setattr__(self, "model_", expanded)
        self._key = (self.model, *key)
        self._histories = histories
        self._last, self._succ, self._lengths = last, succ, lengths
        return expanded

    def _sync(self, expanded):
        """Copy the template's settings (not its parameters) to the expanded model."""
        for name, value in self.model.get_params().items():
            if name not in ("n_components", "emission_ties", "transmat_ties"):
                setattr(expanded, name, value)

    def _expand_path(self, path, offsets):
        """History index of every frame of complete original-state paths."""
        n, k = self.n_components, int(self.order)
        position = np.arange(path.shape[0]) - np.repeat(offsets[:-1], np.diff(offsets))
        code = np.zeros(path.shape[0], dtype=np.int64)
        for lag in range(k):  # digit of the state ``lag`` frames back
            ok = position >= lag
            code[ok] += path[np.flatnonzero(ok) - lag] * n ** lag
        return self._base[np.minimum(position + 1, k) - 1] + code

    def _rows(self, length):
        return np.arange(self._base[length - 1], self._base[length])

    # ----------------------------------------------------- chain parameters
    @property
    def startprob_(self):
        """P(z_0), shape (n_components,)."""
        return self._expanded().startprob_[: self.n_components].copy()

    @startprob_.setter
    def startprob_(self, value):
        expanded = self._expanded()
        value = np.asarray(value, dtype=float)
        if value.shape != (self.n_components,):
            raise ValueError(f"startprob_ must have shape ({self.n_components},), got "
                             f"{value.shape}")
        start = np.zeros(expanded.n_components)
        start[: self.n_components] = value
        expanded.startprob_ = start

    def _get_block(self, length):
        expanded = self._expanded()
        rows = self._rows(length)
        block = np.asarray(expanded.transmat_)[rows[:, None], self._succ[rows]]
        return block.reshape((self.n_components,) * (length + 1))

    def _set_block(self, length, value, name):
        expanded = self._expanded()
        shape = (self.n_components,) * (length + 1)
        value = np.asarray(value, dtype=float)
        if value.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
        rows = self._rows(length)
        trans = np.array(expanded.transmat_, dtype=float)
        trans[rows] = 0.0
        trans[rows[:, None], self._succ[rows]] = value.reshape(rows.size, -1)
        expanded.transmat_ = trans

    @property
    def transmat_(self):
        """P(next state | previous ``order`` states), shape (n_components,) * (order + 1)."""
        return self._get_block(int(self.order))

    @transmat_.setter
    def transmat_(self, value):
        self._set_block(int(self.order), value, "transmat_")

    @property
    def init_transmats_(self):
        """Lower-order transition arrays of the first ``order - 1`` steps."""
        return [self._get_block(m) for m in range(1, int(self.order))]

    @init_transmats_.setter
    def init_transmats_(self, values):
        values = list(values)
        if len(values) != int(self.order) - 1:
            raise ValueError(f"init_transmats_ must hold order - 1 = {int(self.order) - 1} "
                             f"arrays, got {len(values)}")
        for m, value in enumerate(values, start=1):
            self._set_block(m, value, f"init_transmats_[{m - 1}]")

    # ------------------------------------------------------------ training
    def fit(self, X, lengths=None, states=None):
        """Fit the expanded model (see :meth:`BaseHMM.fit`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional
        states : array-like of int of shape (n_samples,), optional
            Original state of each frame, -1 where unknown. With every frame
            labelled the fit is the counting estimate of the higher-order
            transitions; otherwise labelled frames are clamped in EM.

        Returns
        -------
        self
        """
        expanded = self._expanded()
        expanded._check_settings()
        if is_chunk_source(X) and lengths is None and states is None:
            fit_source(expanded, X)
            return self
        X, offsets = expanded._validate(X, lengths)
        check_request(expanded, "fit", X, X.shape[0])
        if states is None:
            expanded._fit_em(X, offsets)
            return self
        labels = check_states(states, X.shape[0], self.n_components)
        if labels.min() >= 0:
            expanded._fit_counts(X, offsets, self._expand_path(labels, offsets),
                                 expanded._random_source())
            return self
        clamp = np.where((labels[:, None] < 0) | (self._last[None, :] == labels[:, None]),
                         0.0, -np.inf)
        expanded._fit_em(X, offsets, clamp)
        return self

    def initialize(self, X, lengths=None):
        """Initialise the expanded model from data, without EM (see :meth:`BaseHMM.initialize`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        self
        """
        self._expanded().initialize(X, lengths)
        return self

    def accumulate(self, X, lengths=None):
        """E-step statistics of the expanded model (one state per history).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        SufficientStatistics
            Counts over the expanded states (see :attr:`histories_`).
        """
        return self._expanded().accumulate(X, lengths)

    def m_step(self, stats):
        """One M-step of the expanded model from :meth:`accumulate`'s statistics.

        Parameters
        ----------
        stats : SufficientStatistics

        Returns
        -------
        self
        """
        self._expanded().m_step(stats)
        return self

    def partial_fit(self, X, lengths=None):
        """Online EM on the expanded model (see :meth:`BaseHMM.partial_fit`).

        The steps are the template model's ``online_decay`` and ``online_step``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        self
        """
        self._expanded().partial_fit(X, lengths)
        return self

    # ----------------------------------------------------- scoring, decoding
    score_sequences = _on_expanded("score_sequences")
    aic = _on_expanded("aic")
    bic = _on_expanded("bic")

    def score_samples(self, X, lengths=None):
        """Total log-likelihood and posteriors of the original states.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Concatenated observations.
        lengths : array-like of int, optional
            Sequence lengths; default one sequence.

        Returns
        -------
        log_prob : float
        posteriors : ndarray of shape (n_samples, n_components)
        """
        log_prob, post = self._expanded().score_samples(X, lengths)
        return log_prob, pool_columns(post, self._last, self.n_components)

    def decode_sequences(self, X, lengths=None, algorithm=None):
        """Best original-state path of every sequence (see :meth:`BaseHMM.decode_sequences`).

        With ``algorithm="map"`` each frame takes its most probable original
        state, and the log-probability is that of the resulting path.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Concatenated observations.
        lengths : array-like of int, optional
            Sequence lengths; default one sequence.
        algorithm : {"viterbi", "map"}, optional
            Default: the template model's ``algorithm``.

        Returns
        -------
        logprob : ndarray of float64, shape (n_sequences,)
            Log-probability of each sequence's path (``-inf`` if impossible).
        path : ndarray of int64, shape (n_samples,)
            Original states; -1 in an impossible sequence.
        """
        expanded = self._expanded()
        algorithm = expanded.algorithm if algorithm is None else algorithm
        if algorithm != "map":
            logprob, path = expanded.decode_sequences(X, lengths, algorithm)
            return logprob, self._to_original(path)
        chain, X, offsets, frames = expanded._prepare(X, lengths, "posteriors")
        loglik, post = chain.posteriors(frames, offsets, expanded.n_threads)
        path = pool_columns(post, self._last, self.n_components).argmax(axis=1)
        logprob = chain.path_logprob(frames, offsets, self._expand_path(path, offsets))
        impossible = ~np.isfinite(loglik)
        logprob[impossible] = -np.inf
        path[np.repeat(impossible, np.diff(offsets))] = -1
        return logprob, path

    def decode_kbest(self, X, lengths=None, k=1):
        """The ``k`` best original-state paths (see :meth:`BaseHMM.decode_kbest`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Concatenated observations.
        lengths : array-like of int, optional
            Sequence lengths; default one sequence.
        k : int
            Number of paths per sequence.

        Returns
        -------
        logprob : ndarray of shape (k, n_sequences)
        paths : ndarray of int64, shape (k, n_samples)
            Original states.
        """
        logprob, paths = self._expanded().decode_kbest(X, lengths, k)
        return logprob, self._to_original(paths)

    def _to_original(self, path):
        return np.where(path >= 0, self._last[np.maximum(path, 0)], -1)

    def sample(self, n_samples=1, random_state=None, currstate=None):
        """Draw one sequence; states are original states.

        Parameters
        ----------
        n_samples : int
            Number of frames.
        random_state : int, RandomState or None
            Defaults to the template model's ``random_state``.
        currstate : int, optional
            State of the first frame (default: drawn from ``startprob_``).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        state_sequence : ndarray of int64, shape (n_samples,)
        """
        if currstate is not None and not 0 <= currstate < self.n_components:
            raise ValueError(f"currstate must be in 0..{self.n_components - 1}, got {currstate}")
        # A length-1 history has the index of its state.
        X, path = self._expanded().sample(n_samples, random_state, currstate)
        return X, self._last[path]
