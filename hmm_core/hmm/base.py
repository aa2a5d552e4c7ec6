"""The HMM estimator: chain parameters, scoring, decoding and sampling.

Training (EM, Viterbi training, counting fits) lives in :mod:`hmm_core._training`.

:class:`BaseHMM` is emission-agnostic. A model class supplies an
:class:`~hmm_core.emissions.EmissionModel` through ``_make_emission`` and
exposes that model's parameters under hmmlearn's attribute names.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from hmm_core.functional.kbest import kbest_paths
from hmm_core.hmm._training import TrainingMixin, check_states
from hmm_core.hmm.monitor import ConvergenceMonitor
from hmm_core.io.codec import Stored
from hmm_core.io.modelfile import save_model
from hmm_core.kernels.chain import ChainParams
from hmm_core.kernels.validation import check_lengths, check_random_state
from hmm_core.structure import topology as _topology

__all__ = ["BaseHMM", "check_states"]

_DECODERS = ("viterbi", "map")
_TRAININGS = ("baum-welch", "viterbi")


@functools.cache
def _init_param_names(init):
    """Sorted constructor parameter names (inspect.signature is slow: cached)."""
    sig = inspect.signature(init)
    return tuple(sorted(p.name for p in sig.parameters.values()
                        if p.name != "self" and p.kind != p.VAR_KEYWORD))


def _fingerprint(obj, parts, fitted_only, depth=0):
    """Append obj's public attributes (only ``name_`` ones if fitted_only).

    Lists of objects (IndependentHMM's emission blocks) are walked into.
    """
    for name, value in sorted(vars(obj).items()):
        if name.startswith("_") or name == "monitor_" or (fitted_only and not name.endswith("_")):
            continue
        if isinstance(value, np.ndarray):
            parts.append((depth, name, value.dtype.str, value.shape, value.tobytes()))
        elif isinstance(value, (list, tuple)) and depth < 3:
            for item in value:
                if hasattr(item, "__dict__"):
                    _fingerprint(item, parts, False, depth + 1)
                elif isinstance(item, np.ndarray):
                    parts.append((depth, name, item.tobytes()))
                else:
                    parts.append((depth, name, repr(item)))
        else:
            parts.append((depth, name, repr(value)))


def emission_attribute(name: str, doc: str) -> property:
    """A model attribute stored on the model's emission object."""

    def fget(self):
        emission = self._get_emission()
        if getattr(emission, name, None) is None:
            raise AttributeError(name)
        return getattr(emission, name)

    def fset(self, value):
        setattr(self._get_emission(), name, value)

    def fdel(self):
        setattr(self._get_emission(), name, None)

    return property(fget, fset, fdel, doc)


def _same_value(value, default) -> bool:
    """Whether a parameter still has its default value (for ``repr``)."""
    if value is default:
        return True
    # Arrays and objects never count as default; True must not pass for 1.
    if not (np.isscalar(value) and np.isscalar(default)):
        return False
    if isinstance(value, (bool, np.bool_)) != isinstance(default, (bool, np.bool_)):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _format_array(arr, indent="    ") -> str:
    text = np.array2string(np.asarray(arr), precision=4, suppress_small=True,
                           max_line_width=88 - len(indent))
    return "\n".join(indent + line for line in text.splitlines())


def _summary_lines(model) -> list:
    """Lines of ``str(model)``: settings, fit, then every parameter array."""
    lines = [repr(model)]
    emission = model._get_emission()
    n_features = getattr(emission, "n_features", None)
    head = f"  {model.n_components} states"
    if n_features is not None:
        head += f", {n_features} features"
    monitor = getattr(model, "monitor_", None)
    if monitor is not None and monitor.history:
        status = "converged" if monitor.converged else "not converged"
        head += (f"; fitted in {monitor.iter} iterations ({status}), "
                 f"log-likelihood {monitor.history[-1]:.6g}")
    lines.append(head)
    arrays = [("startprob_", model.startprob_), ("transmat_", model.transmat_)]
    if getattr(model, "endprob_", None) is not None:
        arrays.append(("endprob_", model.endprob_))
    blocks = getattr(emission, "emissions", [emission])
    for k, block in enumerate(blocks):
        prefix = f"block {k} " if len(blocks) > 1 else ""
        for name, value in vars(block).items():
            if name.endswith("_") and not name.startswith("_") and value is not None:
                arrays.append((prefix + name, value))
    for name, value in arrays:
        lines.append(f"  {name} {np.shape(value)}")
        lines.append(_format_array(value))
    return lines


class BaseHMM(TrainingMixin, Stored, file_kind="model", abstract=True):
    """Hidden Markov model with an emission model supplied by a subclass.

    Parameters
    ----------
    n_components : int
        Number of hidden states.
    startprob_prior, transmat_prior, endprob_prior : float or array-like
        Dirichlet concentrations (1 means no prior). They apply only where the
        current probability is non-zero, so structural zeros stay zero.
    algorithm : {"viterbi", "map"}
        Decoder used by :meth:`decode` and :meth:`predict`.
    random_state : int, RandomState or None
        Seed of the initialisation and of :meth:`sample`.
    n_iter : int
        Maximum number of EM iterations.
    tol : float
        EM stops when the log-likelihood gain falls below ``tol``.
    verbose : bool
        Print one line per EM iteration.
    params, init_params : str
        hmmlearn letters of the parameters to update in EM and to initialise
        before it: ``s`` start, ``t`` transitions (and end probabilities), and
        the emission's letters.
    end_state : bool
        Initialise an explicit end state (``endprob_``). A model whose
        ``endprob_`` was set by hand has one too.
    n_init : int
        Number of EM runs from different random initialisations; ``fit``
        keeps the one with the highest final log-likelihood.
    n_threads : int or None
        Threads for the kernels; default from ``omp_get_max_threads()``.
    training : {"baum-welch", "viterbi"}
        EM with state posteriors, or hard EM (Viterbi training): decode the
        best path, re-estimate from its counts, repeat. Viterbi training
        reports the best-path log-probability in ``monitor_``.
    emission_ties : array-like of int of shape (n_components,), optional
        Emission class of each state; tied states share one emission
        distribution, so the emission parameters have ``n_classes`` rows and
        their statistics pool the posteriors of the tied states.
    transmat_ties : array-like of int of shape (n_components, n_components), optional
        -1 for an untied transition, else a group id: the transitions of a
        group share one expected count (see :func:`hmm_core.topology.tied_map_rows`).
    callback : callable or None
        Called as ``callback(monitor)`` after every EM iteration with the
        :class:`~hmm_core.ConvergenceMonitor` of the run (its ``history``
        holds the log-likelihoods so far); the model's parameters are already
        updated. With ``n_init > 1`` each run has its own monitor. Its return
        value is ignored; it is not written to model files.

    Notes
    -----
    A topology set by :mod:`hmm_core.topology` (the private ``_topology``
    attribute) restricts random initialisation to the allowed entries.
    """

    _emission_letters = ""

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0,
                 algorithm="viterbi", random_state=None, n_iter=10, tol=1e-2,
                 verbose=False, params="st", init_params="st", end_state=False,
                 endprob_prior=1.0, n_init=1, n_threads=None, training="baum-welch",
                 emission_ties=None, transmat_ties=None, callback=None):
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.end_state = end_state
        self.endprob_prior = endprob_prior
        self.n_init = n_init
        self.n_threads = n_threads
        self.training = training
        self.emission_ties = emission_ties
        self.transmat_ties = transmat_ties
        self.callback = callback

    # ----------------------------------------------------------- estimator API
    @classmethod
    def _get_param_names(cls):
        return _init_param_names(cls.__init__)

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

        Returns
        -------
        self
        """
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}")
            setattr(self, key, value)
        return self

    # scikit-learn's estimator type for versions that read the attribute (< 1.6).
    _estimator_type = "density_estimator"

    def __sklearn_tags__(self):
        """Estimator tags for scikit-learn >= 1.6 (``clone``, ``GridSearchCV``).

        Only scikit-learn calls this, so importing it here adds no dependency.
        """
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type="density_estimator",
                    target_tags=TargetTags(required=False),
                    input_tags=InputTags(allow_nan=True))

    def _changed_params(self):
        """Constructor parameters that differ from their defaults, in signature order."""
        signature = inspect.signature(type(self).__init__).parameters
        params = self.get_params(deep=False)
        changed = {}
        for name in signature:
            if name not in params:
                continue
            default = signature[name].default
            if default is inspect.Parameter.empty or not _same_value(params[name], default):
                changed[name] = params[name]
        return changed

    def __repr__(self):
        # Like scikit-learn: only the settings that differ from the defaults.
        args = ", ".join(f"{k}={v!r}" for k, v in self._changed_params().items())
        return f"{type(self).__name__}({args})"

    def __str__(self):
        """A summary of the fitted parameters (the ``repr`` before fitting)."""
        if getattr(self, "startprob_", None) is None or getattr(self, "transmat_", None) is None:
            return repr(self)
        return "\n".join(_summary_lines(self))

    def save(self, path, metadata=None):
        """Write the model to a model file (no pickle; see :mod:`hmm_core.io`).

        Parameters
        ----------
        path : str or path-like
            Destination, conventionally ending in ``.npz``; written atomically.
        metadata : dict, optional
            JSON-serialisable user data stored alongside (read it back with
            :func:`hmm_core.io.read_metadata`).

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import hmm_core
        >>> X = np.array([[0], [1], [1], [2], [0], [2]])
        >>> model = hmm_core.CategoricalHMM(2, random_state=0).fit(X)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> model.save(path)
        >>> np.array_equal(hmm_core.load(path).emissionprob_, model.emissionprob_)
        True
        """
        save_model(self, path, metadata=metadata)

    # ------------------------------------------------------------ model files
    def _file_params(self):
        params = self.get_params(deep=False)
        params["callback"] = None  # code is not data
        return params

    def _file_state(self, writer, prefix):
        """Chain, emission, topology and monitor (the constructor stores the rest)."""
        out = {"complete": self._complete_for_file()}
        out["fitted"] = {name: writer.value(self.__dict__.get(name), f"{prefix}fitted.{name}")
                         for name in ("startprob_", "transmat_", "endprob_")}
        out["emission"] = self._get_emission()._fitted_to_file(writer, f"{prefix}emission")
        topology = self.__dict__.get("_topology")
        out["topology"] = None if topology is None else writer.value(
            tuple(topology), f"{prefix}topology")
        monitor = self.__dict__.get("monitor_")
        out["monitor"] = None if monitor is None else monitor._to_file(writer,
                                                                        f"{prefix}monitor")
        return out

    def _complete_for_file(self):
        """Whether every parameter is set and valid; an invalid chain is refused.

        A configured but unfitted model (say a topology without emission
        parameters) is saved as it is and validated when it is used.
        """
        self._check_settings()
        start, trans = self.__dict__.get("startprob_"), self.__dict__.get("transmat_")
        if start is None or trans is None:
            return False
        ChainParams(start, trans, self.__dict__.get("endprob_"),
                    n_components=self.n_components, suffix="_")
        try:
            self._check()
        except ValueError as exc:
            if "is not set" not in str(exc):  # the models' message for a missing parameter
                raise
            return False
        return True

    def _restore_file_state(self, reader, body):
        """Set chain, emission, topology and monitor from a model file, then validate."""
        fitted = {k: reader.value(v) for k, v in body["fitted"].items()}
        unknown = set(fitted) - {"startprob_", "transmat_", "endprob_"}
        if unknown:
            raise ValueError(f"unexpected chain parameters {sorted(unknown)}")
        for name, value in fitted.items():
            if value is not None:
                setattr(self, name, value)
        self._get_emission()._fitted_from_file(reader, body["emission"])
        if body.get("topology") is not None:
            self._topology = _topology.Topology(*reader.value(body["topology"]))
        if body.get("monitor") is not None:
            self.monitor_ = ConvergenceMonitor._from_file(reader, body["monitor"])
        self._check_settings()
        if body.get("complete"):
            self._check()  # the model's own validation of every parameter
        elif fitted.get("startprob_") is not None and fitted.get("transmat_") is not None:
            ChainParams(self.startprob_, self.transmat_, fitted.get("endprob_"),
                        n_components=self.n_components, suffix="_")

    # -------------------------------------------------------------- internals
    def _make_emission(self):
        raise NotImplementedError

    def _get_emission(self):
        if "_emission" not in self.__dict__:
            self._emission = self._make_emission()
        return self._emission

    def _sync_emission(self):
        """Copy constructor settings that the emission reads (e.g. priors)."""

    def _check_settings(self):
        if not isinstance(self.n_components, (int, np.integer)) or self.n_components < 1:
            raise ValueError(f"n_components must be a positive integer, got {self.n_components!r}")
        if self.algorithm not in _DECODERS:
            raise ValueError(f"algorithm must be one of {_DECODERS}, got {self.algorithm!r}")
        if not isinstance(self.n_iter, (int, np.integer)) or self.n_iter < 0:
            raise ValueError(f"n_iter must be a non-negative integer, got {self.n_iter!r}")
        if not isinstance(self.n_init, (int, np.integer)) or self.n_init < 1:
            raise ValueError(f"n_init must be a positive integer, got {self.n_init!r}")
        letters = "st" + self._emission_letters
        for name in ("params", "init_params"):
            unknown = set(getattr(self, name)) - set(letters)
            if unknown:
                raise ValueError(f"{name} has unknown letters {sorted(unknown)}; "
                                 f"valid letters are {letters!r}")
        if self._training() not in _TRAININGS:
            raise ValueError(f"training must be one of {_TRAININGS}, got {self.training!r}")
        self._emission_map()
        self._transmat_ties()

    def _training(self):
        return getattr(self, "training", "baum-welch")

    def _emission_map(self):
        """Validated ``emission_ties`` (state -> emission class), or None."""
        ties = getattr(self, "emission_ties", None)
        return None if ties is None else _topology.check_emission_ties(ties, self.n_components)

    def _transmat_ties(self):
        ties = getattr(self, "transmat_ties", None)
        return None if ties is None else _topology.check_transmat_ties(ties, self.n_components)

    def _n_emission_components(self):
        """Rows of the emission parameters: one per emission class."""
        ties = self._emission_map()
        return self.n_components if ties is None else int(ties.max()) + 1

    def _state_key(self):
        """Fingerprint of what :meth:`_check` validates: settings and parameter values."""
        parts = [repr(sorted(self.get_params(deep=False).items()))]
        _fingerprint(self, parts, True)
        _fingerprint(self._get_emission(), parts, False)
        return tuple(parts)

    def _check(self):
        """Validate every parameter; cache the kernels' view of the chain.

        A model whose settings and parameter values are unchanged since the
        last call (compared byte for byte, so in-place edits count) is not
        validated again.
        """
        key = self._state_key()
        if self.__dict__.get("_checked_key") == key and "_chain" in self.__dict__:
            return self._chain
        self.__dict__.pop("_checked_key", None)
        self._check_settings()
        for name in ("startprob_", "transmat_"):
            if getattr(self, name, None) is None:
                raise ValueError(f"{name} is not set: fit the model or assign it")
        endprob = getattr(self, "endprob_", None)
        chain = ChainParams(self.startprob_, self.transmat_, endprob,
                            n_components=self.n_components, suffix="_")
        self.startprob_, self.transmat_ = chain.startprob, chain.transmat
        self.endprob_ = chain.endprob
        self._sync_emission()
        self._get_emission().check_params(self._n_emission_components())
        self._chain = chain
        self._checked_key = self._state_key()
        return chain

    def _validate(self, X, lengths):
        X = self._get_emission().check_X(X)
        return X, check_lengths(lengths, X.shape[0])

    def _log_frameprob(self, X):
        """(T, n_components) emission log-likelihoods; tied states share a column."""
        emission = self._get_emission()
        ties = self._emission_map()
        if hasattr(emission, "frame_table"):  # rows of a small table (FrameTable)
            frames = emission.frame_table(X)
            return frames if ties is None else frames.take_columns(ties)
        frames = emission.log_frameprob(X)
        return frames if ties is None else np.ascontiguousarray(frames[:, ties])

    def _prepare(self, X, lengths):
        chain = self._check()
        X, offsets = self._validate(X, lengths)
        return chain, X, offsets, self._log_frameprob(X)

    def _init(self, X, random_state):
        n = self.n_components
        init = self.init_params
        missing_s = "s" in init or getattr(self, "startprob_", None) is None
        missing_t = "t" in init or getattr(self, "transmat_", None) is None
        topology = self.__dict__.get("_topology")
        if topology is not None and (missing_s or missing_t):
            # Draw only over the entries the topology allows.
            start, trans, end = _topology.random_chain(topology, self.end_state, random_state)
            if missing_s:
                self.startprob_ = start
            if missing_t:
                self.transmat_, self.endprob_ = trans, end
        elif topology is None:
            if missing_s:
                self.startprob_ = random_state.dirichlet(np.full(n, 1.0 / n))
            if missing_t:
                self.transmat_ = random_state.dirichlet(np.full(n, 1.0 / n), size=n)
                if self.end_state:
                    self.endprob_ = np.full(n, 1.0 / (n + 1))
                    self.transmat_ = self.transmat_ * (n / (n + 1.0))
        if self.end_state and getattr(self, "endprob_", None) is None:
            raise ValueError("end_state=True needs endprob_ when 't' is not in init_params")
        ties = self._transmat_ties()
        if ties is not None:
            _topology.check_ties_against_zeros(self.transmat_, ties)
            if "t" in init:  # start EM from a chain that honours the ties
                counts = {"trans_counts": self.transmat_,
                          "end_counts": getattr(self, "endprob_", None)}
                self._m_step_transitions(counts, prior=1.0, end_prior=1.0)
        self._sync_emission()
        self._get_emission().initialize(X, self._n_emission_components(), random_state, init)

    # ------------------------------------------------------ scoring, decoding
    def score_sequences(self, X, lengths=None):
        """Log-likelihood of each sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        ndarray of shape (n_sequences,)
            ``log P(x)`` per sequence; ``-inf`` for an impossible one.
        """
        chain, X, offsets, frames = self._prepare(X, lengths)
        return chain.loglik(frames, offsets, self.n_threads)

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

    def score_samples(self, X, lengths=None):
        """Total log-likelihood and state posteriors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        log_prob : float
        posteriors : ndarray of shape (n_samples, n_components)
        """
        chain, X, offsets, frames = self._prepare(X, lengths)
        loglik, post = chain.posteriors(frames, offsets, self.n_threads)
        return float(loglik.sum()), post

    def predict_proba(self, X, lengths=None):
        """State posteriors ``P(z_t = i | x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        return self.score_samples(X, lengths)[1]

    def decode_sequences(self, X, lengths=None, algorithm=None):
        """Best state path of every sequence and its per-sequence log-probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional
        algorithm : {"viterbi", "map"}, optional
            Defaults to the model's ``algorithm``.

        Returns
        -------
        logprob : ndarray of shape (n_sequences,)
            ``log P(x, path)`` of each decoded path: a true joint log-probability
            for both decoders (``-inf`` when the MAP path is not a possible path).
        path : ndarray of int64, shape (n_samples,)
            -1 for frames of an impossible sequence.
        """
        algorithm = self.algorithm if algorithm is None else algorithm
        if algorithm not in _DECODERS:
            raise ValueError(f"algorithm must be one of {_DECODERS}, got {algorithm!r}")
        chain, X, offsets, frames = self._prepare(X, lengths)
        if algorithm == "viterbi":
            return chain.viterbi(frames, offsets, self.n_threads)
        loglik, post = chain.posteriors(frames, offsets, self.n_threads)
        path = np.argmax(post, axis=1)
        logprob = chain.path_logprob(frames, offsets, path)
        impossible = ~np.isfinite(loglik)
        if impossible.any():
            logprob[impossible] = -np.inf
            path[np.repeat(impossible, np.diff(offsets))] = -1
        return logprob, path

    def decode(self, X, lengths=None, algorithm=None):
        """Most likely state path (hmmlearn's ``decode``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional
        algorithm : {"viterbi", "map"}, optional

        Returns
        -------
        log_prob : float
            Sum over sequences of ``log P(x, path)``.
        state_sequence : ndarray of int64, shape (n_samples,)
        """
        logprob, path = self.decode_sequences(X, lengths, algorithm)
        return float(logprob.sum()), path

    def decode_kbest(self, X, lengths=None, k=1):
        """The ``k`` most probable state paths of every sequence, best first.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional
        k : int
            Number of paths per sequence.

        Returns
        -------
        logprob : ndarray of shape (k, n_sequences)
            ``logprob[r, s]`` is ``log P(x_s, r-th best path)``, non-increasing
            in ``r``; ``-inf`` where a sequence has fewer than ``r + 1``
            possible paths.
        paths : ndarray of int64, shape (k, n_samples)
            ``paths[r]`` holds the concatenated ``r``-th best paths (-1 where
            there is none); ``paths[0]`` is a Viterbi path.

        See Also
        --------
        hmm_core.kbest_viterbi : the same over user-supplied frame scores.
        """
        chain, X, offsets, frames = self._prepare(X, lengths)
        return kbest_paths(chain.log_startprob, chain.log_transmat, np.asarray(frames), offsets, k,
                           chain.log_endprob)

    def predict(self, X, lengths=None):
        """Most likely state of every frame, by the model's ``algorithm``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        ndarray of int64, shape (n_samples,)
        """
        return self.decode(X, lengths)[1]

    # -------------------------------------------------------------- sampling
    def sample(self, n_samples=1, random_state=None, currstate=None):
        """Draw one sequence from the model.

        With an end state, the chain is conditioned on not ending before
        ``n_samples`` frames (transition rows renormalised without the end).

        Parameters
        ----------
        n_samples : int
        random_state : int, RandomState or None
            Defaults to the model's ``random_state``.
        currstate : int, optional
            State of the first frame; drawn from ``startprob_`` when None.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        state_sequence : ndarray of int64, shape (n_samples,)
        """
        chain = self._check()
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        rng = check_random_state(self.random_state if random_state is None else random_state)
        n = self.n_components
        if currstate is not None and not 0 <= currstate < n:
            raise ValueError(f"currstate must be in 0..{n - 1}, got {currstate}")
        trans_cdf = np.cumsum(chain.transmat, axis=1)
        start_cdf = np.cumsum(chain.startprob)
        states = np.empty(n_samples, dtype=np.int64)
        uniforms = rng.random_sample(n_samples)
        state = (int(currstate) if currstate is not None
                 else int(np.searchsorted(start_cdf, uniforms[0] * start_cdf[-1], "right")))
        states[0] = state
        for t in range(1, n_samples):
            row = trans_cdf[state]
            state = int(np.searchsorted(row, uniforms[t] * row[-1], side="right"))
            states[t] = state
        ties = self._emission_map()
        classes = states if ties is None else ties[states]
        return self._get_emission().sample(classes, rng), states

    # --------------------------------------------------------- model choice
    def _n_parameters(self):
        """Free scalar parameters (structural zeros are not free)."""
        self._check()
        count = 0
        if "s" in self.params:
            count += np.count_nonzero(self.startprob_) - 1
        ties = self._transmat_ties()
        if "t" in self.params and ties is not None:
            count += _topology.n_free_transitions(self.transmat_, self.endprob_, ties)
        elif "t" in self.params:
            rows = np.count_nonzero(self.transmat_, axis=1)
            if self.endprob_ is not None:
                rows = rows + (self.endprob_ > 0)
            count += int(np.sum(rows - 1))
        return int(count + self._get_emission().n_free_parameters(self.params))

    def aic(self, X, lengths=None):
        """Akaike information criterion: ``-2 log L + 2 p``.

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
        """Bayesian information criterion: ``-2 log L + p log(n_samples)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : array-like of int, optional

        Returns
        -------
        float
        """
        n_samples = self._get_emission().check_X(X).shape[0]
        return -2 * self.score(X, lengths) + self._n_parameters() * np.log(n_samples)
