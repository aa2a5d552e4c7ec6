"""The interface every emission model implements."""

from __future__ import annotations

import numpy as np

from hmm_core.io.codec import Stored, file_name, init_names

__all__ = ["EmissionModel", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """A model or emission was used before its parameters were fitted or assigned.

    Both a ``ValueError`` and an ``AttributeError``, as scikit-learn's
    ``NotFittedError`` (which hmm_core does not import: scikit-learn stays
    optional), so ``except ValueError`` and ``hasattr``-style checks both work.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core import GaussianHMM, NotFittedError
    >>> try:
    ...     GaussianHMM(2).predict(np.zeros((3, 1)))
    ... except NotFittedError as exc:
    ...     print(exc)
    startprob_ is not set: fit the model or assign it
    """


def _is_fitted_name(name):
    return name.endswith("_") and not name.startswith("_")


class EmissionModel(Stored, file_kind="emission", abstract=True):
    """Per-state observation distributions of an HMM.

    Subclasses hold their parameters as attributes ending in ``_`` and own a
    set of hmmlearn ``params`` letters (``letters``). The EM loop calls
    :meth:`empty_stats`, :meth:`accumulate` and :meth:`m_step`; scoring calls
    :meth:`log_frameprob`.

    This is the recommended way to write an emission of your own: implement
    the methods below, name the class in a model class (``_emission_class``,
    ``_emission_letters``, see :class:`~hmm_core.hmm.base.BaseHMM`), and call
    :func:`hmm_core.register` on both so that model files can store them (the
    constructor arguments are stored as settings, the attributes ending in
    ``_`` as the fitted state). ``examples/custom_emission.py`` is a complete
    exponential emission that fits, scores, samples, saves and loads.
    """

    #: hmmlearn ``params`` / ``init_params`` letters this emission owns.
    letters: str = ""
    #: Attributes stored in model files besides the fitted ones (named ``*_``).
    _file_extra: tuple = ("n_features",)

    def __repr__(self):
        # Like scikit-learn: the constructor settings that differ from the defaults.
        import inspect

        args = []
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            value = getattr(self, name, param.default)
            default = param.default
            same = value is default or (
                np.isscalar(value) and np.isscalar(default)
                and isinstance(value, (bool, np.bool_)) == isinstance(default, (bool, np.bool_))
                and bool(value == default))
            if not same:
                args.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(args)})"

    # ----------------------------------------------------------- model files
    def _to_file(self, writer, key):
        """Class, constructor settings and fitted state (see :mod:`hmm_core.io.modelfile`)."""
        names = init_names(type(self))
        settings = {name: writer.value(getattr(self, name), f"{key}.{name}") for name in names}
        return {"class": file_name(type(self)), "settings": settings,
                "state": self._fitted_to_file(writer, key, skip=names)}

    @classmethod
    def _from_file(cls, reader, body):
        emission = cls(**{name: reader.value(v) for name, v in body["settings"].items()})
        emission._fitted_from_file(reader, body["state"])
        return emission

    def _fitted_to_file(self, writer, key, skip=()):
        """The fitted attributes, encoded; ``skip`` names those stored as settings."""
        return {name: writer.value(value, f"{key}.{name}") for name, value in vars(self).items()
                if (_is_fitted_name(name) or name in self._file_extra) and name not in skip}

    def _fitted_from_file(self, reader, state):
        """Set the attributes encoded by :meth:`_fitted_to_file`."""
        for name, value in state.items():
            if not (_is_fitted_name(name) or name in self._file_extra):
                raise ValueError(f"unexpected emission attribute {name!r}")
            setattr(self, name, reader.value(value))

    # ------------------------------------------------------------ interface
    def check_X(self, X) -> np.ndarray:
        """Validate observations and return them in the layout this model uses.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Concatenated frames of all sequences.

        Returns
        -------
        ndarray
            The validated observations (e.g. int64 symbols, float64 features).

        Raises
        ------
        ValueError
            For a wrong shape, dtype or value, naming ``X``.
        """
        raise NotImplementedError

    def recheck_X(self, X: np.ndarray) -> np.ndarray:
        """Validate ``X``, already returned by :meth:`check_X`, after :meth:`initialize`.

        Initialisation may fix what :meth:`check_X` could not know yet (the
        number of features or symbols), so by default ``X`` is checked again.

        Parameters
        ----------
        X : ndarray
            Observations as returned by :meth:`check_X`.

        Returns
        -------
        ndarray
        """
        return self.check_X(X)

    def initialize(self, X: np.ndarray, n_components: int, random_state,
                   init_params: str) -> None:
        """Set the parameters named by ``init_params`` (or missing) from data.

        Parameters
        ----------
        X : ndarray
            Observations as returned by :meth:`check_X`.
        n_components : int
            Number of hidden states (emission distributions).
        random_state : numpy.random.RandomState
            Source of random draws (k-means seeds, Dirichlet rows).
        init_params : str
            The hmmlearn letters of the parameters to (re)initialise; parameters
            that are not set yet are initialised whatever the letters.
        """
        raise NotImplementedError

    def check_params(self, n_components: int) -> None:
        """Raise ``ValueError`` when a parameter has a wrong shape or value.

        Parameters
        ----------
        n_components : int
            Number of hidden states the parameters must describe.
        """
        raise NotImplementedError

    def log_frameprob(self, X: np.ndarray) -> np.ndarray:
        """Log emission likelihood of every frame under every state.

        Parameters
        ----------
        X : ndarray
            Observations as returned by :meth:`check_X`.

        Returns
        -------
        ndarray of float64, shape (n_samples, n_components)
            C-contiguous; a missing frame scores 0 (it is marginalised out).
        """
        raise NotImplementedError

    def empty_stats(self, n_components: int) -> dict:
        """Zeroed sufficient statistics.

        Parameters
        ----------
        n_components : int
            Number of hidden states.

        Returns
        -------
        dict
            Arrays that :meth:`accumulate` adds to and :meth:`m_step` reads.
        """
        raise NotImplementedError

    def accumulate(self, stats: dict, X: np.ndarray, posteriors: np.ndarray) -> None:
        """Add the expected sufficient statistics of ``X`` under ``posteriors``.

        Parameters
        ----------
        stats : dict
            Statistics from :meth:`empty_stats`, updated in place.
        X : ndarray
            Observations as returned by :meth:`check_X`.
        posteriors : ndarray of shape (n_samples, n_components)
            State posteriors of every frame (rows sum to 1).
        """
        raise NotImplementedError

    def m_step(self, stats: dict, params: str) -> None:
        """Update the parameters named by ``params`` from accumulated statistics.

        Parameters
        ----------
        stats : dict
            Statistics summed over all sequences by :meth:`accumulate`.
        params : str
            The hmmlearn letters of the parameters to update; a state without
            posterior mass keeps its parameters.
        """
        raise NotImplementedError

    def sample(self, states: np.ndarray, random_state) -> np.ndarray:
        """Draw one observation per entry of ``states``.

        Parameters
        ----------
        states : ndarray of int, shape (n_samples,)
            Hidden state of each frame to draw.
        random_state : numpy.random.RandomState
            Source of the draws.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        raise NotImplementedError

    def n_free_parameters(self, params: str) -> int:
        """Number of free scalar parameters among those named by ``params``.

        Parameters
        ----------
        params : str
            The hmmlearn letters of the parameters that are estimated.

        Returns
        -------
        int
            Structural zeros and tied values are not counted (for AIC/BIC).
        """
        raise NotImplementedError


def dirichlet_map_rows(counts: np.ndarray, prior, current: np.ndarray) -> np.ndarray:
    """Row-wise Dirichlet MAP update that keeps structural zeros.

    The prior pseudo-count ``prior - 1`` is added only where ``current`` is
    non-zero; negative results are clipped to zero; a row left with no mass
    keeps its current values instead of becoming NaN.
    """
    numer = np.maximum(counts + (np.asarray(prior, dtype=float) - 1.0) * (current > 0), 0.0)
    numer = np.where(current > 0, numer, 0.0)
    totals = numer.sum(axis=-1, keepdims=True)
    empty = totals <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        updated = numer / np.where(empty, 1.0, totals)
    return np.where(empty, current, updated)
