"""SemiMarkovHMM: an explicit-duration hidden semi-Markov model."""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np

from hmm_core.emissions import (
    CategoricalEmission,
    EmissionModel,
    GaussianEmission,
    GMMEmission,
    MultinomialEmission,
    PoissonEmission,
)
from hmm_core.estimator import Estimator
from hmm_core.estimator.constraints import (
    Boolean,
    CallableOrNone,
    Check,
    Integer,
    Letters,
    OneOf,
    Prior,
    RandomStateRule,
    Real,
    Threads,
)
from hmm_core.hmm.monitor import ConvergenceMonitor
from hmm_core.kernels.validation import check_lengths
from hmm_core.semimarkov._engine import LogParams
from hmm_core.semimarkov._training import SemiMarkovTraining
from hmm_core.semimarkov.durations import (
    FAMILIES,
    check_duration_params,
    duration_log_table,
)

__all__ = ["EMISSIONS", "SemiMarkovHMM", "Segments"]

#: Emission names the ``emission`` setting accepts, and their classes.
EMISSIONS = {"categorical": CategoricalEmission, "gaussian": GaussianEmission,
             "gmm": GMMEmission, "poisson": PoissonEmission,
             "multinomial": MultinomialEmission}


class Segments(NamedTuple):
    """Segments of decoded sequences, one entry per segment.

    Parameters
    ----------
    sequence : ndarray of int
        Index of the sequence the segment belongs to.
    start : ndarray of int
        First frame of the segment, counted within its sequence.
    duration : ndarray of int
        Number of frames of the segment.
    state : ndarray of int
        Hidden state of the segment.
    """

    sequence: np.ndarray
    start: np.ndarray
    duration: np.ndarray
    state: np.ndarray


def _emission_rule(value, name, owner):
    if isinstance(value, str) and value in EMISSIONS:
        return value
    if isinstance(value, EmissionModel):
        return value
    raise ValueError(f"{name} must be one of {sorted(EMISSIONS)} or an EmissionModel, "
                     f"got {value!r}")


def _probabilities(value, name, shape, rows=True):
    arr = np.array(value, dtype=float)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if (arr < 0).any():
        raise ValueError(f"{name} must be non-negative")
    if rows and not np.allclose(arr.sum(axis=-1), 1.0, rtol=0, atol=1e-8):
        raise ValueError(f"{name} rows must sum to 1")
    return arr


def _states(owner):
    return (owner.n_components,)


def _pairs(owner):
    return (owner.n_components, owner.n_components)


def _durations(owner):
    return (owner.n_components, owner.max_duration)


class SemiMarkovHMM(SemiMarkovTraining, Estimator):
    """Explicit-duration hidden semi-Markov model (HSMM).

    A sequence is a succession of segments. The first segment's state is
    drawn from ``startprob_``; a segment of state j lasts d frames (1 <= d <=
    ``max_duration``) with probability ``durationprob_[j, d - 1]`` and emits
    each of its frames from state j's emission distribution; the next
    segment's state is drawn from row j of ``transmat_``, whose diagonal is
    zero (staying in a state is the duration's job). Durations need not be
    geometric, as they are in an HMM.

    Scoring, posteriors, EM and the Viterbi segmentation run in compiled
    kernels in O(T N D + T N^2) time; scoring keeps O(N D) memory per
    sequence.

    Parameters
    ----------
    n_components : int, default=2
        Number of hidden states.
    emission : str or EmissionModel, default="gaussian"
        ``"categorical"``, ``"gaussian"``, ``"gmm"``, ``"poisson"``,
        ``"multinomial"``, or a configured emission model (a
        ``GaussianEmission(covariance_type="full")``, say), copied on
        fitting into ``emission_``.
    max_duration : int, default=32
        Longest segment, D.
    duration : {"nonparametric", "poisson", "negative_binomial"}
        Duration family of every state: any table on 1..D, or d - 1 Poisson
        or negative binomial, truncated at D.
    censor_last : bool, default=False
        The last segment of a sequence may go on after its end (right
        censoring): it scores P(duration >= d) instead of P(duration = d).
        Without it, every sequence ends with a complete segment.
    startprob_prior, transmat_prior, duration_prior : float or array-like
        Dirichlet concentrations (1 = no prior); ``duration_prior`` applies to
        nonparametric durations.
    random_state : int, RandomState or None
    n_iter : int, default=10
        Maximum EM iterations.
    tol : float, default=1e-2
        Stop when the log-likelihood gains less than this.
    verbose : bool
        Print one line per iteration to standard error.
    params, init_params : str or None
        Letters of the parameters EM updates / initialisation sets: ``s``
        start, ``t`` switches, ``d`` durations, plus the emission's letters
        (``e`` categorical, ``m`` and ``c`` Gaussian, ...). None means all.
    n_init : int, default=1
        EM runs from different initialisations; the best is kept.
    n_threads : int or None
        Kernel threads (None: all).
    callback : callable, optional
        Called with the monitor after each EM iteration.

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
    transmat_ : ndarray of shape (n_components, n_components)
        Switch probabilities, zero diagonal (``[[0.]]`` for one state).
    durationprob_ : ndarray of shape (n_components, max_duration)
        ``durationprob_[j, d - 1] = P(segment of j lasts d frames)``; derived
        from ``duration_params_`` for the parametric families.
    duration_params_ : ndarray of shape (n_components, n_params) or None
        Poisson: the mean of d - 1. Negative binomial: ``n`` and ``p`` of
        d - 1 (scipy's parametrisation). None for nonparametric durations.
    emission_ : EmissionModel
        The fitted emission model (``emission_.means_``, ...).
    monitor_ : ConvergenceMonitor

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core import SemiMarkovHMM
    >>> from hmm_core.emissions import GaussianEmission
    >>> model = SemiMarkovHMM(2, emission="gaussian", max_duration=20,
    ...                       duration="poisson", random_state=0)
    >>> model.startprob_ = np.array([1.0, 0.0])
    >>> model.transmat_ = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> model.duration_params_ = np.array([[9.0], [4.0]])
    >>> model.emission_ = GaussianEmission()
    >>> model.emission_.means_ = np.array([[0.0], [5.0]])
    >>> model.emission_.covars_ = np.array([[1.0], [1.0]])
    >>> X, states = model.sample(200, random_state=1)
    >>> fitted = SemiMarkovHMM(2, max_duration=20, duration="poisson", n_iter=50,
    ...                        random_state=0).fit(X)
    >>> fitted.duration_params_.shape
    (2, 1)
    """

    _parameter_constraints = {
        "n_components": Integer(1, allow_bool=False),
        "emission": Check(_emission_rule),
        "max_duration": Integer(1, allow_bool=False),
        "duration": OneOf(*FAMILIES),
        "censor_last": Boolean(),
        "random_state": RandomStateRule(),
        "n_iter": Integer(0, allow_bool=False),
        "tol": Real(),
        "verbose": Boolean(counts=True),
        "params": Check(lambda v, n, o: v if v is None else Letters()(v, n, o)),
        "init_params": Check(lambda v, n, o: v if v is None else Letters()(v, n, o)),
        "n_init": Integer(1, allow_bool=False),
        "n_threads": Threads(),
        "callback": CallableOrNone(),
        "startprob_prior": Prior(_states),
        "transmat_prior": Prior(_pairs),
        "duration_prior": Prior(_durations),
    }

    def __init__(self, n_components=2, emission="gaussian", max_duration=32,
                 duration="nonparametric", censor_last=False, startprob_prior=1.0,
                 transmat_prior=1.0, duration_prior=1.0, random_state=None, n_iter=10,
                 tol=1e-2, verbose=False, params=None, init_params=None, n_init=1,
                 n_threads=None, callback=None):
        self._set_params_from(locals())

    # -------------------------------------------------------------- internals
    def _emission(self):
        if getattr(self, "emission_", None) is None:
            self._check_settings()
            template = self.emission
            self.emission_ = (EMISSIONS[template]() if isinstance(template, str)
                              else copy.deepcopy(template))
        return self.emission_

    _get_emission = _emission   # the name the command line looks for

    def _valid_letters(self):
        template = self.emission
        if isinstance(template, str):
            letters = EMISSIONS.get(template, EmissionModel).letters
        else:
            letters = getattr(template, "letters", "")
        return "std" + letters

    def _letters(self, value):
        return self._valid_letters() if value is None else value

    def _check_settings(self):
        self._validate_params()

    def _validate(self, X, lengths):
        """Validated observations and sequence offsets."""
        X = self._emission().check_X(X)
        return X, check_lengths(lengths, X.shape[0])

    def _frames(self, X):
        frames = np.ascontiguousarray(self._emission().log_frameprob(X), dtype=np.float64)
        if np.isnan(frames).any():
            raise ValueError("the emission log-likelihoods of X hold NaN: check the emission "
                             "parameters")
        return frames

    def _check(self):
        """Validate every parameter; return the kernels' view of them."""
        self._check_settings()
        n, d = self.n_components, self.max_duration
        for name in ("startprob_", "transmat_"):
            if getattr(self, name, None) is None:
                raise ValueError(f"{name} is not set: fit the model or assign it")
        self.startprob_ = _probabilities(self.startprob_, "startprob_", (n,))
        trans = _probabilities(self.transmat_, "transmat_", (n, n), rows=n > 1)
        if np.diagonal(trans).any():
            raise ValueError("transmat_ must have a zero diagonal: a segment is followed by "
                             "a segment of another state (staying is the duration's job)")
        self.transmat_ = trans
        params = getattr(self, "duration_params_", None)
        if self.duration != "nonparametric":
            if params is None:
                raise ValueError("duration_params_ is not set: fit the model or assign it")
            self.duration_params_ = check_duration_params(self.duration, params, n)
            self.durationprob_ = np.exp(duration_log_table(self.duration,
                                                           self.duration_params_, d))
        else:
            self.duration_params_ = None
            if getattr(self, "durationprob_", None) is None:
                raise ValueError("durationprob_ is not set: fit the model or assign it")
            self.durationprob_ = _probabilities(self.durationprob_, "durationprob_", (n, d))
        self._emission().check_params(n)
        return LogParams(self.startprob_, self.transmat_, self.durationprob_,
                         self.censor_last, self.n_threads)

    def _prepare(self, X, lengths):
        engine = self._check()
        X, offsets = self._validate(X, lengths)
        return engine, X, offsets, self._frames(X)

    # -------------------------------------------------------------- inference
    def score_sequences(self, X, lengths=None):
        """Log-likelihood of each sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        ndarray of shape (n_sequences,)
            ``log P(x)`` summed over every segmentation; -inf for a sequence
            no segmentation can explain (never NaN).
        """
        engine, X, offsets, frames = self._prepare(X, lengths)
        return engine.loglik(frames, offsets)

    def score(self, X, lengths=None):
        """Total log-likelihood of all sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        float
        """
        return float(self.score_sequences(X, lengths).sum())

    def predict_proba(self, X, lengths=None):
        """State posteriors of every frame, summed over segmentations.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            Rows of an impossible sequence are zero.
        """
        engine, X, offsets, frames = self._prepare(X, lengths)
        return engine.estep(frames, offsets)["posteriors"]

    def decode(self, X, lengths=None):
        """Most probable segmentation (semi-Markov Viterbi).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        log_prob : float
            Sum over sequences of ``log P(x, segmentation)``.
        state_sequence : ndarray of int64, shape (n_samples,)
            State of every frame; a segment ends wherever the state changes.

        Raises
        ------
        ValueError
            When a sequence has no possible segmentation.
        """
        logprob, path = self.decode_sequences(X, lengths)
        bad = np.flatnonzero(~np.isfinite(logprob))
        if bad.size:
            raise ValueError(f"sequence {bad[0]} has no possible segmentation under the "
                             "model (durations cannot fit it)")
        return float(logprob.sum()), path

    def decode_sequences(self, X, lengths=None, algorithm=None):
        """Best segmentation (or most probable states) of each sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional
        algorithm : {"viterbi", "map"}, optional
            ``"viterbi"`` (the default): the most probable segmentation and its
            ``log P(x, segmentation)``. ``"map"``: the most probable state of
            each frame and the sequence's ``log P(x)``.

        Returns
        -------
        log_prob : ndarray of shape (n_sequences,)
            -inf for an impossible sequence, whose path is -1.
        state_sequence : ndarray of int64, shape (n_samples,)
        """
        if algorithm not in (None, "viterbi", "map"):
            raise ValueError(f"algorithm must be 'viterbi' or 'map', got {algorithm!r}")
        engine, X, offsets, frames = self._prepare(X, lengths)
        if algorithm == "map":
            out = engine.estep(frames, offsets)
            path = np.argmax(out["posteriors"], axis=1).astype(np.int64)
            seq = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
            path[~np.isfinite(out["loglik"])[seq]] = -1
            return out["loglik"], path
        return engine.viterbi(frames, offsets)

    def predict(self, X, lengths=None):
        """State of every frame in the most probable segmentation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        ndarray of int64, shape (n_samples,)
        """
        return self.decode(X, lengths)[1]

    def decode_segments(self, X, lengths=None):
        """The most probable segmentation as a table of segments.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        Segments
            ``sequence``, ``start`` (frame index within the sequence),
            ``duration`` and ``state`` of every segment, in order.

        Examples
        --------
        >>> import numpy as np
        >>> from hmm_core import SemiMarkovHMM
        >>> from hmm_core.emissions import CategoricalEmission
        >>> model = SemiMarkovHMM(2, emission="categorical", max_duration=4)
        >>> model.startprob_ = np.array([0.5, 0.5])
        >>> model.transmat_ = np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> model.durationprob_ = np.full((2, 4), 0.25)
        >>> model.emission_ = CategoricalEmission()
        >>> model.emission_.emissionprob_ = np.array([[0.9, 0.1], [0.1, 0.9]])
        >>> model.decode_segments(np.array([[0], [0], [1], [1], [1]])).duration
        array([2, 3])
        """
        path = self.decode(X, lengths)[1]
        offsets = check_lengths(lengths, path.shape[0])
        seq = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
        change = np.ones(path.shape[0], dtype=bool)
        change[1:] = (path[1:] != path[:-1]) | (seq[1:] != seq[:-1])
        starts = np.flatnonzero(change)
        ends = np.r_[starts[1:], path.shape[0]]
        return Segments(seq[starts], starts - offsets[seq[starts]], ends - starts,
                        path[starts])

    # ---------------------------------------------------------------- sampling
    def sample(self, n_samples=1, random_state=None):
        """Draw one sequence of ``n_samples`` frames.

        Segments are drawn until the sequence is long enough; the last one is
        cut at ``n_samples`` frames (as a right-censored segment).

        Parameters
        ----------
        n_samples : int
        random_state : int, RandomState or None
            Defaults to the model's ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        state_sequence : ndarray of int64, shape (n_samples,)
        """
        self._check()
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
                or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        rng = self._random_source(random_state)
        n, d = self.n_components, self.max_duration
        states = np.empty(int(n_samples), dtype=np.int64)
        t, j = 0, int(rng.choice(n, p=self.startprob_))
        while t < n_samples:
            length = int(rng.choice(d, p=self.durationprob_[j])) + 1
            states[t:t + length] = j
            t += length
            if n > 1:
                j = int(rng.choice(n, p=self.transmat_[j]))
        return self._emission().sample(states, rng), states

    # ------------------------------------------------------------ model choice
    def _n_parameters(self):
        self._check()
        n = self.n_components
        params = self._letters(self.params)
        count = 0
        if "s" in params:
            count += np.count_nonzero(self.startprob_) - 1
        if "t" in params and n > 1:
            count += int(np.sum(np.count_nonzero(self.transmat_, axis=1) - 1))
        if "d" in params:
            count += (int(np.sum(np.count_nonzero(self.durationprob_, axis=1) - 1))
                      if self.duration == "nonparametric" else self.duration_params_.size)
        return int(count + self._emission().n_free_parameters(params))

    def aic(self, X, lengths=None):
        """Akaike information criterion (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        float
        """
        return -2 * self.score(X, lengths) + 2 * self._n_parameters()

    def bic(self, X, lengths=None):
        """Bayesian information criterion (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        float
        """
        n_samples = np.shape(X)[0]
        return -2 * self.score(X, lengths) + self._n_parameters() * np.log(n_samples)

    # ------------------------------------------------------------ model files
    def _file_params(self):
        params = self.get_params(deep=False)
        params["callback"] = None  # code is not data
        return params

    def _file_state(self, writer, prefix):
        fitted = {name: writer.value(self.__dict__.get(name), f"{prefix}fitted.{name}")
                  for name in ("startprob_", "transmat_", "durationprob_", "duration_params_",
                               "emission_")}
        monitor = self.__dict__.get("monitor_")
        return {"fitted": fitted,
                "monitor": None if monitor is None else monitor._to_file(
                    writer, f"{prefix}monitor")}

    def _restore_file_state(self, reader, body):
        fitted = body.get("fitted") or {}
        if not isinstance(fitted, dict):
            raise ValueError("fitted must be an object")
        for name, value in fitted.items():
            if name not in ("startprob_", "transmat_", "durationprob_", "duration_params_",
                            "emission_"):
                raise ValueError(f"unexpected fitted attribute {name!r}")
            value = reader.value(value)
            if value is not None:
                setattr(self, name, value)
        if body.get("monitor") is not None:
            self.monitor_ = ConvergenceMonitor._from_file(reader, body["monitor"])
        if getattr(self, "startprob_", None) is not None:
            self._check()
