"""Gaussian emissions (one multivariate normal per state)."""

from __future__ import annotations

import numpy as np

from hmm_core.emissions._covariance import (
    GaussianComponents,
    broadcast_prior,
    check_covariance_type,
    check_covars,
    check_n_features,
    check_observations,
    floor_covars,
    has_observation,
    merge_moments,
    scatter_about,
    to_full,
)
from hmm_core.emissions._scale import data_covariance, feature_scale, kmeans_centres
from hmm_core.emissions.base import EmissionModel, NotFittedError
from hmm_core.kernels.validation import as_float_array

__all__ = ["DEFAULT_COVARS_PRIOR", "GaussianEmission", "covars_shape"]

#: ``covars_prior=None`` means this multiple of each feature's variance over
#: the training data (hmmlearn's 1e-2, in the units of the data).
DEFAULT_COVARS_PRIOR = 1e-2


def covars_shape(covariance_type: str, n_components: int, n_features) -> tuple:
    """Return hmmlearn's storage shape of ``covars_`` for a GaussianHMM.

    Parameters
    ----------
    covariance_type : {"spherical", "diag", "full", "tied"}
    n_components : int
    n_features : int

    Returns
    -------
    tuple of int
    """
    return {
        "spherical": (n_components,),
        "diag": (n_components, n_features),
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
    }[check_covariance_type(covariance_type)]


class GaussianEmission(EmissionModel):
    """Each state emits a multivariate normal vector.

    NaN in an observation marks a missing value: the frame is scored under
    the marginal distribution of its observed features (a fully missing
    frame scores 0 for every state) and the M-step uses the observed values
    only (see :meth:`GaussianComponents.moments
    <hmm_core.emissions._covariance.GaussianComponents.moments>`).

    Parameters
    ----------
    covariance_type : {"spherical", "diag", "full", "tied"}
    min_covar : float
        Relative floor on the covariances, applied at initialisation and
        after every M-step: each variance is at least ``min_covar`` times
        its feature's reference variance over the training data (spherical:
        the mean of those); a full or tied matrix, standardised by the
        reference standard deviations, has eigenvalues at least
        ``min_covar``. The reference variance is the feature's variance, or
        the square of its value if it is constant (1 if that is 0); it is
        recorded when a fit starts, so the floor scales with the data.
    means_prior, means_weight : float or array-like
        Mean and precision weight of the normal prior on ``means_``; arrays
        have shape (n_components,) (``means_prior`` also (n_components,
        n_features)).
    covars_prior, covars_weight : float, array-like or None
        Inverse-gamma (spherical, diag) or inverse-Wishart (full, tied) prior
        parameters, with hmmlearn's formulas and absolute values. A scalar
        ``covars_prior`` means ``covars_prior * I`` for full and tied
        covariances. None (the default) is :data:`DEFAULT_COVARS_PRIOR`
        times the reference variances (times the mean of them for
        spherical, on the diagonal for full and tied): hmmlearn's default
        value measured in the units of the data, so that the fit does not
        depend on them.
    n_features : int, optional
        Dimension; inferred from the data or ``means_`` when None.

    Attributes
    ----------
    means_ : ndarray of shape (n_components, n_features)
    covars_ : ndarray
        Storage of hmmlearn's ``_covars_``: (n_components,) spherical,
        (n_components, n_features) diag, (n_components, n_features,
        n_features) full, (n_features, n_features) tied.
    """

    letters = "mc"

    def __init__(self, covariance_type="diag", min_covar=1e-3, means_prior=0, means_weight=0,
                 covars_prior=None, covars_weight=1, n_features=None):
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.n_features = n_features
        self.means_ = None
        self.covars_ = None

    # ----------------------------------------------------------- helpers
    def _known_n_features(self):
        if self.means_ is not None and np.ndim(self.means_) == 2:
            return np.shape(self.means_)[1]
        return self.n_features

    def _reference_variance(self, d):
        """Per-feature variance of the training data (ones before any fit)."""
        ref = getattr(self, "_feature_variance", None)
        return ref if ref is not None and ref.shape == (d,) else np.ones(d)

    def _floor(self, covars):
        ref = self._reference_variance(self.means_.shape[1])
        if self.covariance_type == "spherical":
            ref = ref.mean()
        return floor_covars(covars, self.covariance_type, self.min_covar, ref)

    def _check_min_covar(self):
        if not np.isscalar(self.min_covar) or not self.min_covar > 0 or not np.isfinite(
                self.min_covar):
            raise ValueError(f"min_covar must be a positive float, got {self.min_covar!r}")

    def set_covars(self, value, n_components):
        """Validate and store ``covars_`` in hmmlearn's storage shape.

        Parameters
        ----------
        value : array-like
            Covariances in the storage shape of ``covariance_type`` (see
            :func:`covars_shape`).
        n_components : int
            Number of hidden states.
        """
        check_covariance_type(self.covariance_type)
        shape = covars_shape(self.covariance_type, n_components, self._known_n_features())
        self.covars_ = check_covars(value, self.covariance_type, shape)

    def full_covars(self, n_components):
        """``covars_`` as full matrices, whatever the covariance type.

        Parameters
        ----------
        n_components : int
            Number of hidden states (a tied matrix is repeated this often).

        Returns
        -------
        ndarray of shape (n_components, n_features, n_features)
        """
        d = self._known_n_features()
        if self.covars_ is None or d is None:
            raise AttributeError("covars_")
        full = to_full(self.covars_, self.covariance_type, d)
        if self.covariance_type == "tied":
            full = np.broadcast_to(full, (n_components, d, d))
        return np.array(full)

    # ------------------------------------------------------------ interface
    def check_X(self, X):
        """Validate a (n_samples, n_features) float array; NaN = missing, inf rejected."""
        return check_observations(X, self._known_n_features())

    def recheck_X(self, X):
        """Only the number of features: the values of ``X`` were checked by ``check_X``."""
        return check_n_features(X, self._known_n_features())

    def initialize(self, X, n_components, random_state, init_params):
        """Record the feature scales; k-means means; covariances from the data.

        The initial covariance is the data covariance plus ``min_covar``
        times the reference variances.
        """
        check_covariance_type(self.covariance_type)
        self._check_min_covar()
        if not has_observation(X):
            raise ValueError("X has no observed value (every entry is NaN)")
        scale = feature_scale(X)
        self._feature_variance = scale.variance
        if "m" in init_params or self.means_ is None:
            self.means_ = kmeans_centres(X, n_components, random_state, scale)[0]
        self.n_features = X.shape[1]
        if "c" in init_params or self.covars_ is None:
            cv = data_covariance(X, self.min_covar, scale)
            covars = {
                # hmmlearn averages every entry of cv here; the mean variance
                # is the intended spherical summary.
                "spherical": lambda: np.full(n_components, np.diag(cv).mean()),
                "diag": lambda: np.tile(np.diag(cv), (n_components, 1)),
                "full": lambda: np.tile(cv, (n_components, 1, 1)),
                "tied": lambda: cv,
            }[self.covariance_type]()
            self.covars_ = self._floor(covars)

    def check_params(self, n_components):
        """Validate ``means_`` and ``covars_``; factorise the covariances once."""
        check_covariance_type(self.covariance_type)
        self._check_min_covar()
        if self.means_ is None:
            raise NotFittedError("means_ is not set: fit the model or assign it")
        if self.covars_ is None:
            raise NotFittedError("covars_ is not set: fit the model or assign it")
        means = as_float_array(self.means_, "means_", 2)
        if means.shape[0] != n_components:
            raise ValueError(f"means_ must have shape (n_components={n_components}, "
                             f"n_features), got {means.shape}")
        if not np.all(np.isfinite(means)):
            raise ValueError("means_ must be finite (no NaN or inf)")
        self.means_, self.n_features = means, means.shape[1]
        self.set_covars(self.covars_, n_components)
        self._components = self._make_components(n_components)

    def _make_components(self, n_components):
        kind, covars = self.covariance_type, self.covars_
        if kind == "spherical":
            return GaussianComponents(self.means_, variances=covars[:, None])
        if kind == "diag":
            return GaussianComponents(self.means_, variances=covars)
        if kind == "full":
            return GaussianComponents(self.means_, covariances=covars)
        return GaussianComponents(self.means_, covariances=covars[None],
                                  groups=np.zeros(n_components, dtype=np.intp))

    def log_frameprob(self, X):
        """(T, N) Gaussian log-densities, missing features marginalised."""
        if getattr(self, "_components", None) is None:
            self.check_params(np.shape(self.means_)[0])
        return self._components.log_density(X)

    def empty_stats(self, n_components):
        """Posterior-weighted moments, filled by :meth:`accumulate`."""
        return {"moments": None}

    def accumulate(self, stats, X, posteriors):
        """Add the posterior-weighted count, mean and scatter of each state."""
        stats["moments"] = merge_moments(stats["moments"],
                                         self._components.moments(X, posteriors))

    def m_step(self, stats, params):
        """MAP update of ``means_`` and ``covars_`` (hmmlearn's priors), then the floor.

        ``covars_prior=None`` is the relative default (see the class).

        A state (or, for diag, a feature of a state) with no posterior mass
        keeps its parameters. The covariance denominator is at least 1e-5 for
        every covariance type (hmmlearn guards only spherical and diag).
        """
        mom = stats["moments"]
        if mom is None:
            return
        n, d = self.means_.shape
        count = mom["count"]
        diagonal = count.ndim == 2
        count_b = count if diagonal else count[:, None]
        mu0 = broadcast_prior(self.means_prior, (n, d), "means_prior", per_state=True)
        lam = broadcast_prior(self.means_weight, (n,), "means_weight")[:, None]
        if "m" in params:
            denom = lam + count_b
            with np.errstate(invalid="ignore", divide="ignore"):
                new = (lam * mu0 + count_b * mom["mean"]) / denom
            self.means_ = np.where(count_b > 0, new, self.means_)
        if "c" not in params:
            return
        centre = self.means_
        diff = centre - mu0
        scatter = scatter_about(mom, centre)
        kind = self.covariance_type
        if diagonal:
            c_n = lam * diff**2 + scatter
            cw = broadcast_prior(self.covars_weight, (n,), "covars_weight")
            extra = np.maximum(cw - 1.0, 0.0)[:, None]
            if kind == "diag":
                cp = broadcast_prior(self._vector_prior(d), (n, d), "covars_prior",
                                     per_state=True)
                new = (cp + c_n) / np.maximum(extra + count, 1e-5)
                new = np.where(count > 0, new, self.covars_)
            else:
                # Mean over features of the diag update (hmmlearn's spherical);
                # counts are averaged too, which matters only with missing values.
                cp = broadcast_prior(self._vector_prior(d, spherical=True), (n,),
                                     "covars_prior")
                new = (cp + c_n.mean(axis=1)) / np.maximum(extra[:, 0] + count.mean(axis=1),
                                                           1e-5)
                new = np.where(count.sum(axis=1) > 0, new, self.covars_)
        else:
            c_n = lam[:, :, None] * diff[:, :, None] * diff[:, None, :] + scatter
            cp = self._matrix_prior((n, d, d) if kind == "full" else (d, d))
            cw = broadcast_prior(self.covars_weight, (n,) if kind == "full" else (),
                                 "covars_weight")
            extra = np.maximum(cw - d, 0.0)
            # The 1e-5 guard of the diagonal update: the prior over a state
            # with almost no mass would otherwise overflow.
            if kind == "full":
                denom = np.maximum(extra + count, 1e-5)
                new = (cp + c_n) / denom[:, None, None]
                new = np.where((count > 0)[:, None, None], new, self.covars_)
            else:
                denom = max(extra + count.sum(), 1e-5)
                new = (cp + c_n.sum(axis=0)) / denom if count.sum() > 0 else self.covars_
        self.covars_ = self._floor(new)

    def _vector_prior(self, d, spherical=False):
        """Inverse-gamma ``covars_prior``; None is relative to the reference variances."""
        if self.covars_prior is not None:
            return self.covars_prior
        ref = self._reference_variance(d)
        # One row (1, d): a 1-D array of length n_components would mean one value per state.
        return DEFAULT_COVARS_PRIOR * (ref.mean() if spherical else ref[None, :])

    def _matrix_prior(self, shape):
        """Inverse-Wishart scale broadcast to ``shape``; a scalar means scalar * I."""
        if self.covars_prior is None:
            ref = self._reference_variance(shape[-1])
            return np.broadcast_to(np.diag(DEFAULT_COVARS_PRIOR * ref), shape)
        if np.ndim(self.covars_prior) == 0:
            return np.broadcast_to(float(self.covars_prior) * np.eye(shape[-1]), shape)
        return broadcast_prior(self.covars_prior, shape, "covars_prior")

    def sample(self, states, random_state):
        """One multivariate normal draw per state of ``states``."""
        n = np.shape(self.means_)[0]
        components = GaussianComponents(self.means_, covariances=self.full_covars(n))
        return components.sample(states, random_state)

    def n_free_parameters(self, params):
        """Means n*d; covariances n, n*d, n*d(d+1)/2 or d(d+1)/2 by covariance type."""
        n, d = np.shape(self.means_)
        count = n * d if "m" in params else 0
        if "c" in params:
            count += {"spherical": n, "diag": n * d, "full": n * d * (d + 1) // 2,
                      "tied": d * (d + 1) // 2}[self.covariance_type]
        return count
