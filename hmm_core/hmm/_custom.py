"""hmmlearn's route to a custom emission: override methods of ``BaseHMM``.

hmmlearn users write an emission by subclassing its ``BaseHMM`` and
overriding ``_compute_log_likelihood`` (or ``_compute_likelihood``),
``_generate_sample_from_state``, ``_initialize_sufficient_statistics``,
``_accumulate_sufficient_statistics`` and ``_do_mstep``. A
:class:`~hmm_core.hmm.base.BaseHMM` subclass that names no ``_emission_class``
but overrides one of the likelihood methods gets a :class:`MethodEmission`:
an :class:`~hmm_core.emissions.EmissionModel` whose every step calls the
model's methods, so hmm_core's kernels run the chain and the user's code the
emission. The recommended route is an ``EmissionModel`` subclass (it can be
saved, see :mod:`hmm_core.io.codec`); this one exists so that hmmlearn code
runs unchanged.
"""

from __future__ import annotations

import weakref

import numpy as np

from hmm_core.emissions.base import EmissionModel

__all__ = ["MethodEmission", "MethodHooks", "uses_methods"]


class MethodHooks:
    """hmmlearn's overridable emission methods, with hmmlearn's defaults."""

    def _compute_log_likelihood(self, X):
        """Log emission likelihood of every frame, shape (n_samples, n_components).

        A model with an emission class computes it; a subclass in hmmlearn's
        style overrides this method or :meth:`_compute_likelihood`.
        """
        if getattr(type(self), "_emission_class", None) is not None:
            emission = self._get_emission()
            return np.asarray(self._log_frameprob(emission.check_X(X)), dtype=float)
        if type(self)._compute_likelihood is not MethodHooks._compute_likelihood:
            with np.errstate(divide="ignore"):
                return np.log(self._compute_likelihood(X))
        raise NotImplementedError(f"{type(self).__name__} overrides neither "
                                  "_compute_log_likelihood nor _compute_likelihood")

    def _compute_likelihood(self, X):
        """Emission likelihood of every frame: ``exp(_compute_log_likelihood(X))``."""
        return np.exp(self._compute_log_likelihood(X))

    def _generate_sample_from_state(self, state, random_state):
        """One observation from ``state``; an empty one unless overridden (as hmmlearn)."""
        return ()

    def _initialize_sufficient_statistics(self):
        """Statistics a subclass adds its own to (``nobs``, ``start``, ``trans``)."""
        n = self.n_components
        return {"nobs": 0, "start": np.zeros(n), "trans": np.zeros((n, n))}

    def _accumulate_sufficient_statistics(self, stats, X, lattice, posteriors, fwdlattice,
                                          bwdlattice):
        """Count the call; hmm_core's kernels accumulate the chain's statistics themselves."""
        stats["nobs"] += 1

    def _do_mstep(self, stats):
        """Nothing here: hmm_core updates ``startprob_`` and ``transmat_`` itself."""


def uses_methods(model) -> bool:
    """Whether ``model`` defines its emission by hmmlearn's overridden methods."""
    cls = type(model)
    if getattr(cls, "_emission_class", None) is not None:
        return False
    return (getattr(cls, "_compute_log_likelihood", None)
            not in (None, MethodHooks._compute_log_likelihood)
            or getattr(cls, "_compute_likelihood", None)
            not in (None, MethodHooks._compute_likelihood))


class MethodEmission(EmissionModel, abstract=True):
    """The emission of a model that overrides hmmlearn's emission methods.

    It holds a weak reference to its model (the parameters live on the model,
    as in hmmlearn). :meth:`accumulate` sees every sequence of an iteration
    at once (hmmlearn calls its method once per sequence, which gives the
    same sums for the usual statistics), with ``fwdlattice`` and
    ``bwdlattice`` None (hmm_core's kernels do not keep them).
    """

    letters = ""

    def __init__(self, model):
        self._model = weakref.ref(model)

    @property
    def model(self):
        """The model whose methods define this emission (None once detached)."""
        return None if self._model is None else self._model()

    # A copy or an unpickled model rebinds a fresh emission to itself (HMMCore._get_emission).
    def __getstate__(self):
        return {"_model": None}

    def __deepcopy__(self, memo):
        return _detached(type(self))

    def _fitted_to_file(self, writer, key, skip=()):
        raise TypeError(
            f"{type(self.model).__name__} defines its emission by overriding hmmlearn's "
            "methods, which a model file cannot store; write an "
            "hmm_core.emissions.EmissionModel subclass and register it to save models")

    _to_file = _fitted_to_file

    def check_X(self, X):
        """A 2-D array (hmmlearn's ``check_array``); the model's methods check the rest."""
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
        return X

    def initialize(self, X, n_components, random_state, init_params):
        """Nothing: the model's own ``_init`` override sets its emission parameters."""

    def check_params(self, n_components):
        """Nothing: the model's own ``_check`` override checks its emission parameters."""

    def log_frameprob(self, X):
        """The model's ``_compute_log_likelihood(X)``, checked for shape."""
        model = self.model
        frames = np.ascontiguousarray(model._compute_log_likelihood(X), dtype=float)
        if frames.shape != (X.shape[0], model.n_components):
            raise ValueError(f"{type(model).__name__}._compute_log_likelihood returned shape "
                             f"{frames.shape}, expected ({X.shape[0]}, {model.n_components})")
        return frames

    def empty_stats(self, n_components):
        """The model's ``_initialize_sufficient_statistics()``."""
        return {"hmmlearn": self.model._initialize_sufficient_statistics()}

    def accumulate(self, stats, X, posteriors):
        """The model's ``_accumulate_sufficient_statistics`` over every frame at once."""
        lattice = self.log_frameprob(X)
        self.model._accumulate_sufficient_statistics(stats["hmmlearn"], X, lattice,
                                                     np.asarray(posteriors), None, None)

    def m_step(self, stats, params):
        """The model's ``_do_mstep(stats)`` (hmm_core updates the chain itself)."""
        self.model._do_mstep(stats["hmmlearn"])

    def sample(self, states, random_state):
        """One ``_generate_sample_from_state(state, random_state)`` per frame."""
        model = self.model
        draws = [np.atleast_1d(model._generate_sample_from_state(int(s), random_state))
                 for s in states]
        width = draws[0].shape[0] if draws else 0
        return np.array(draws, dtype=float).reshape(len(draws), width)

    def n_free_parameters(self, params):
        """From the model's ``_get_n_fit_scalars_per_param()`` when it defines one."""
        counts = getattr(self.model, "_get_n_fit_scalars_per_param", None)
        if counts is None:
            return 0
        return int(sum(v for k, v in counts().items() if k in params and k not in "st"))


def _detached(cls):
    emission = cls.__new__(cls)
    emission._model = None
    return emission
