"""The core of every HMM: settings, the emission model, validated parameters, files.

:class:`HMMCore` is emission-agnostic. A model class names its
:class:`~hmm_core.emissions.EmissionModel` (``_emission_class``), declares
which of its settings live on that emission (:class:`EmissionSetting`) and
exposes the emission's parameters under hmmlearn's attribute names
(:func:`emission_attribute`): every setting and parameter is stored once.

Scoring and decoding (:mod:`~hmm_core.hmm.inference`) and training
(:mod:`~hmm_core.hmm._training`) build on this class; :class:`~hmm_core.hmm.base.BaseHMM`
combines them.
"""

from __future__ import annotations

import hashlib
import logging
import string

import numpy as np

from hmm_core.emissions.base import NotFittedError
from hmm_core.emissions.independent import BlockData
from hmm_core.estimator import Estimator, format_array
from hmm_core.estimator.docs import document_parameters
from hmm_core.hmm._custom import MethodEmission, uses_methods
from hmm_core.hmm._docs import SHARED_PARAMETERS
from hmm_core.hmm._memory import check_request, known_n_features
from hmm_core.hmm._settings import CHAIN_RULES
from hmm_core.hmm.monitor import ConvergenceMonitor
from hmm_core.kernels.chain import ChainParams
from hmm_core.kernels.validation import as_concatenated, check_lengths
from hmm_core.structure import topology as _topology

__all__ = ["EmissionSetting", "emission_attribute"]

_log = logging.getLogger("hmm_core")

#: Emission letters of a model in hmmlearn's method route (its BaseHMM takes any letter).
METHOD_LETTERS = "".join(c for c in string.ascii_letters if c not in "st")

#: The attribute each hmmlearn ``params`` letter names.
LETTER_ATTRIBUTES = {"s": "startprob_", "t": "transmat_", "e": "emissionprob_",
                     "m": "means_", "c": "covars_", "w": "weights_", "l": "lambdas_"}


#: Arrays up to this size enter a fingerprint as their bytes, larger ones as a digest.
_FINGERPRINT_BYTES = 1 << 16


def _array_bytes(value):
    """The exact content of an array, or a 256-bit digest of it when it is large.

    Copying a large parameter on every validation would double a big model's
    memory (and a hostile model file's: the copy happens while it is checked).
    """
    if value.nbytes <= _FINGERPRINT_BYTES or value.dtype.hasobject:
        return value.tobytes()
    return hashlib.blake2b(np.ascontiguousarray(value).view(np.uint8), digest_size=32).digest()


def _fingerprint(obj, parts, fitted_only, depth=0):
    """Append obj's public attributes (only ``name_`` ones if fitted_only).

    Lists of objects (IndependentHMM's emission blocks) are walked into.
    """
    for name, value in sorted(vars(obj).items()):
        if name.startswith("_") or name == "monitor_" or (fitted_only and not name.endswith("_")):
            continue
        if isinstance(value, np.ndarray):
            parts.append((depth, name, value.dtype.str, value.shape, _array_bytes(value)))
        elif isinstance(value, (list, tuple)) and depth < 3:
            for item in value:
                if hasattr(item, "__dict__"):
                    _fingerprint(item, parts, False, depth + 1)
                elif isinstance(item, np.ndarray):
                    parts.append((depth, name, item.dtype.str, item.shape, _array_bytes(item)))
                else:
                    parts.append((depth, name, repr(item)))
        else:
            parts.append((depth, name, repr(value)))


def _observes_something(X) -> bool:
    """Whether any frame holds an observed value (-1 marks a missing symbol, NaN a value)."""
    if isinstance(X, BlockData):
        return any(_observes_something(block) for block in X.blocks)
    if X.dtype.kind in "iu":  # symbols: check_symbols already requires one >= 0
        return True
    # O(1) when the first value is observed (the usual case).
    return not np.isnan(X.flat[0]) or bool((~np.isnan(X)).any())


def check_observed(X):
    """Reject data in which every frame is missing, for every emission type.

    A sequence whose frames are all missing is valid next to others: only
    the chain explains it, so its log-likelihood is the log-probability of
    its length (0 without an end state, up to rounding). Data with no
    observed value at all is an error, for every method: there is nothing
    to fit or to score (a wrong missing marker, most likely).

    Parameters
    ----------
    X : ndarray or BlockData
        Observations as returned by the emission's ``check_X``.
    """
    if not _observes_something(X):
        raise ValueError("X has no observed value: every frame is missing (-1 for a symbol, "
                         "NaN for a value)")


def emission_attribute(name: str, doc: str) -> property:
    """A fitted parameter of a model that is stored on the model's emission object.

    Parameters
    ----------
    name : str
        The attribute's name, on the model and on the emission.
    doc : str
        Its documentation.

    Returns
    -------
    property
        Reading raises ``AttributeError`` while the emission's value is None;
        deleting sets it to None.
    """

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


class EmissionSetting:
    """A constructor setting of a model that is stored on the model's emission.

    The emission reads it (a prior, a covariance type, ...), so it has one
    home: reading or assigning the model's attribute reads or assigns the
    emission's.

    Parameters
    ----------
    inferred : bool
        The emission infers the value from data when it is None (the number
        of symbols, say): assigning None then keeps a value already inferred.
    """

    def __init__(self, inferred=False):
        self.inferred = inferred

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, model, owner=None):
        if model is None:
            return self
        return getattr(model._get_emission(), self.name)

    def __set__(self, model, value):
        if value is None and self.inferred:
            return  # None means "infer": keep what the emission knows
        setattr(model._get_emission(), self.name, value)


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
        lines.append(format_array(value))
    return lines


class HMMCore(Estimator, abstract=True):
    """Chain parameters, settings and validation of a hidden Markov model.

    Notes
    -----
    A topology set by :mod:`hmm_core.topology` (the private ``_topology``
    attribute) restricts random initialisation to the allowed entries.
    """

    @property
    def _emission_letters(self):
        # A model class names its letters; hmmlearn's method route takes any letter.
        return METHOD_LETTERS if uses_methods(self) else ""

    #: The emission model class; its settings are the class's EmissionSettings.
    _emission_class: type | None = None
    _input_tags = {"allow_nan": True}
    # Settings of the models that do not take them as arguments (Gaussian, GMM).
    training = "baum-welch"
    emission_ties = None
    transmat_ties = None

    _parameter_constraints = CHAIN_RULES

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("__doc__"):
            document_parameters(cls, SHARED_PARAMETERS)

    # Defaults for subclasses whose own __init__ (hmmlearn's custom route)
    # does not take the online-EM settings.
    online_decay = 0.6
    online_step = None

    def __init__(self, n_components=1, startprob_prior=1.0, transmat_prior=1.0,
                 algorithm="viterbi", random_state=None, n_iter=10, tol=1e-2,
                 verbose=False, params="st", init_params="st", end_state=False,
                 endprob_prior=1.0, n_init=1, n_threads=None, training="baum-welch",
                 emission_ties=None, transmat_ties=None, callback=None,
                 online_decay=0.6, online_step=None):
        self._set_params_from(locals())

    def __str__(self):
        """A summary of the fitted parameters (the ``repr`` before fitting)."""
        if getattr(self, "startprob_", None) is None or getattr(self, "transmat_", None) is None:
            return repr(self)
        return "\n".join(_summary_lines(self))

    def __getattr__(self, name):
        # hmmlearn creates ``monitor_`` in the constructor: it exists before fit
        # (with the current tol, n_iter and verbose) so that it can be read or replaced.
        if name == "monitor_":
            return self._fit_monitor(reuse=False)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _fit_monitor(self, reuse=True):
        """The monitor for a fit: one set by the user (reset), else a new one.

        A monitor hmm_core created carries ``_auto``; it is replaced by one
        with the current settings, so changing ``tol`` or ``n_iter`` between
        fits takes effect. A monitor the user assigned is kept and reset, as
        hmmlearn does.
        """
        current = self.__dict__.get("monitor_")
        if reuse and current is not None and not getattr(current, "_auto", False):
            current._reset()
            return current
        monitor = ConvergenceMonitor(self.tol, self.n_iter, self.verbose)
        monitor._auto = True
        self.__dict__["monitor_"] = monitor
        return monitor

    # ------------------------------------------------- hmmlearn's _init hooks
    #: Whether the columns of ``X`` are the emission's features (not symbols or blocks).
    _features_are_columns = False

    def _reinit_for_features(self, X):
        """Forget emission parameters sized for another number of features.

        As hmmlearn: when ``init_params`` names every emission parameter, data
        with a different number of columns than the preset parameters are
        fitted from a fresh initialisation instead of being refused.
        """
        letters = set(self._emission_letters)
        try:
            ndim = np.ndim(X)
        except ValueError:  # ragged: _validate says how to pass sequences
            return
        if (not self._features_are_columns or not letters
                or not letters <= set(self.init_params or "") or ndim != 2):
            return
        emission = self._get_emission()
        known = known_n_features(emission)
        if known is None or np.shape(X)[1] == known:
            return
        for name in list(vars(emission)):
            if name.endswith("_") and not name.startswith("_"):
                setattr(emission, name, None)
        emission.n_features = None

    def _init_arguments(self, X, lengths):
        """Validated data and the random source for hmmlearn's ``_init(X, lengths)``."""
        self._check_settings()
        X, _ = self._validate(X, None)  # initialisation pools the frames: lengths unused
        return X, self._random_source()

    def _log_overwritten(self):
        """Log, as hmmlearn does, each parameter set by hand that ``init_params`` replaces.

        Once per model and parameter: a model refitted in a loop logs it once.
        """
        logged = self.__dict__.setdefault("_overwrite_logged", set())
        for letter in dict.fromkeys(self.init_params or ""):
            name = LETTER_ATTRIBUTES.get(letter)
            if name in logged:
                continue
            try:
                present = name is not None and getattr(self, name, None) is not None
            except ValueError:  # a parameter that cannot be assembled counts as set
                present = True
            if present:
                logged.add(name)
                _log.warning("Even though the %r attribute is set, it will be overwritten "
                             "during initialization because 'init_params' contains %r",
                             name, letter)

    def _log_degenerate(self, X):
        """Log, as hmmlearn does, when the free parameters outnumber the data values."""
        size = getattr(X, "size", None)
        if size is None:
            return
        try:
            n_free = self._n_parameters()
        except ValueError:  # parameters not valid yet: the fit's own check reports it
            return
        if size < n_free:
            _log.warning("Fitting a model with %d free scalar parameters with only %d data "
                         "points will result in a degenerate solution.", n_free, size)

    # -------------------------------------------------------------- internals
    def _make_emission(self):
        if uses_methods(self):  # hmmlearn's route: overridden emission methods
            return MethodEmission(self)
        if self._emission_class is None:
            raise NotImplementedError(f"{type(self).__name__} names no emission model")
        return self._emission_class()

    def _get_emission(self):
        emission = self.__dict__.get("_emission")
        if emission is None or (type(emission) is MethodEmission and emission.model is not self):
            # new, or the detached emission of a copied or unpickled method-route model
            emission = self._emission = self._make_emission()
        return emission

    def _valid_letters(self):
        return "st" + self._emission_letters

    def _check_settings(self):
        """Validate the settings (``_parameter_constraints``)."""
        self._validate_params()

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
        # First the settings and what their rules depend on besides (the
        # number of features, for the shapes of the priors).
        features = tuple(repr(known_n_features(e)) for e in self._emission_objects())
        parts = [(repr(sorted(self.get_params(deep=False).items())), features)]
        _fingerprint(self, parts, True)
        _fingerprint(self._get_emission(), parts, False)
        return tuple(parts)

    def _emission_objects(self):
        """The emission and its blocks: the objects that hold validated caches."""
        emission = self._get_emission()
        return (emission, *getattr(emission, "emissions", ()))

    def _check(self):
        """Validate every parameter; cache the kernels' view of the chain.

        Validation leaves caches behind: ``_chain`` here, and whatever the
        emission's ``check_params`` derives (log tables and the like). They
        are reused only while the model is unchanged since the last
        validation: the same settings and parameter values (compared byte for
        byte, so in-place edits count) *and* the same emission objects (an
        emission restored from a snapshot or rebuilt from new blocks was not
        validated, whatever its values). ``_checked`` records both; this is
        the one place that decides whether the caches are current.
        """
        key = self._state_key()
        objects = self._emission_objects()
        memo = self.__dict__.pop("_checked", None)
        if (memo is not None and memo[0] == key and len(memo[1]) == len(objects)
                and all(a is b for a, b in zip(memo[1], objects, strict=True))
                and "_chain" in self.__dict__):
            self._checked = memo
            return self._chain
        if memo is None or memo[0][0] != key[0]:  # EM changes parameters, not settings
            self._check_settings()
        for name in ("startprob_", "transmat_"):
            if getattr(self, name, None) is None:
                raise NotFittedError(f"{name} is not set: fit the model or assign it")
        endprob = getattr(self, "endprob_", None)
        held = np.shape(self.startprob_) if isinstance(self.startprob_, np.ndarray) else None
        if held and len(held) == 1 and held[0] != self.n_components:
            # n_components changed after fitting: name the setting, not only the parameter.
            raise ValueError(f"startprob_ must have length {self.n_components}, got {held[0]} "
                             f"(n_components={self.n_components}: refit, or set n_components "
                             "to match)")
        chain = ChainParams(self.startprob_, self.transmat_, endprob,
                            n_components=self.n_components, suffix="_")
        self.startprob_, self.transmat_ = chain.startprob, chain.transmat
        self.endprob_ = chain.endprob
        self._get_emission().check_params(self._n_emission_components())
        self._chain = chain
        self._checked = (self._state_key(), self._emission_objects())
        return chain

    def _validate(self, X, lengths):
        """Validated observations and sequence offsets (``X`` observes something).

        ``X`` may also be a list (or any iterable) of per-sequence arrays,
        with ``lengths`` None (:func:`~hmm_core.kernels.validation.as_concatenated`):
        every method that validates here accepts both layouts.
        """
        X, lengths = as_concatenated(X, lengths)
        X = self._get_emission().check_X(X)
        offsets = check_lengths(lengths, X.shape[0])
        check_observed(X)
        return X, offsets

    def _log_frameprob(self, X):
        """(T, n_components) emission log-likelihoods; tied states share a column."""
        emission = self._get_emission()
        ties = self._emission_map()
        if hasattr(emission, "frame_table"):  # rows of a small table (FrameTable)
            frames = emission.frame_table(X)
            return frames if ties is None else frames.take_columns(ties)
        frames = emission.log_frameprob(X)
        return frames if ties is None else np.ascontiguousarray(frames[:, ties])

    def _emission_cells_per_row(self, n_features):
        """Floats of the emission parameters per emission row (for memory estimates)."""
        return n_features

    def _prepare(self, X, lengths, job="score_sequences"):
        """Validated chain, data, offsets and frame scores for ``job`` (see ``_memory``)."""
        chain = self._check()
        X, offsets = self._validate(X, lengths)
        table = job != "viterbi" and chain.scaled and hasattr(self._get_emission(),
                                                              "frame_table")
        check_request(self, job, X, X.shape[0], uses_table=table)
        return chain, X, offsets, self._log_frameprob(X)

    # ------------------------------------------------------------ model files
    def _file_params(self):
        params = self.get_params(deep=False)
        params["callback"] = None  # code is not data
        # Online-EM steps are written only when set, so files stay as before.
        for name, default in (("online_decay", 0.6), ("online_step", None)):
            if name in params and params[name] == default:
                del params[name]
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
        except NotFittedError:
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
            self.monitor_._auto = True  # the next fit starts a new one
        self._check_settings()
        if body.get("complete"):
            self._check()  # the model's own validation of every parameter
        elif fitted.get("startprob_") is not None and fitted.get("transmat_") is not None:
            ChainParams(self.startprob_, self.transmat_, fitted.get("endprob_"),
                        n_components=self.n_components, suffix="_")


document_parameters(HMMCore, SHARED_PARAMETERS)
