"""Gaussian-mixture emissions (a mixture of ``n_mix`` Gaussians per state)."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import logsumexp

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
from hmm_core.emissions.base import EmissionModel, NotFittedError, dirichlet_map_rows
from hmm_core.kernels.validation import SUM_TOL, as_float_array, log

__all__ = ["GMMEmission", "gmm_covars_shape"]


def gmm_covars_shape(covariance_type: str, n_components: int, n_mix: int, n_features) -> tuple:
    """Return hmmlearn's shape of a GMMHMM's ``covars_``.

    Parameters
    ----------
    covariance_type : {"spherical", "diag", "full", "tied"}
    n_components : int
    n_mix : int
    n_features : int

    Returns
    -------
    tuple of int
    """
    return {
        "spherical": (n_components, n_mix),
        "diag": (n_components, n_mix, n_features),
        "full": (n_components, n_mix, n_features, n_features),
        "tied": (n_components, n_features, n_features),
    }[check_covariance_type(covariance_type)]


#: k-means runs per initialisation; the one with the lowest within-cluster sum of squares wins.
KMEANS_RESTARTS = 10
#: Rows the restarts see at most (evenly spaced); the winner is refined on all rows.
KMEANS_SAMPLE = 5_000


def _refine(Z, scale, centres):
    """Lloyd iterations on every standardised row from ``centres`` (in data units)."""
    start = scale.standardise(centres)
    start[np.isnan(start)] = 0.0
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # an emptied cluster keeps its centre
        from scipy.cluster.vq import kmeans2

        refined, labels = kmeans2(Z, start, minit="matrix")
    if not np.all(np.isfinite(refined)):
        refined = start
        labels = ((Z[:, None, :] - start[None]) ** 2).sum(axis=-1).argmin(axis=1)
    return scale.restore(refined), labels


def best_kmeans(X, k, random_state, scale=None, n_init=KMEANS_RESTARTS):
    """The best of ``n_init`` k-means runs (lowest sum of squares on standardised features).

    The rows are clustered in a canonical (sorted) order, so the result does
    not depend on the order of the frames or sequences in ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    k : int
        Number of centres.
    random_state : numpy.random.RandomState
        Seeds every run in turn.
    scale : FeatureScale, optional
        Scale of ``X``, computed when None.
    n_init : int
        Number of runs.

    Returns
    -------
    centres : ndarray of shape (k, n_features)
    labels : ndarray of int of shape (n_samples,)
    """
    scale = feature_scale(X, check=False) if scale is None else scale
    Z = scale.standardise(X)
    Z[np.isnan(Z)] = 0.0
    # Rows in a canonical order: the same frames give the same clusters in any order.
    order = np.lexsort(Z.T[::-1]) if Z.shape[1] else np.arange(Z.shape[0])
    X, Z = X[order], Z[order]
    # Restarts on at most KMEANS_SAMPLE evenly spaced (sorted) rows; the best
    # centres are then refined on every row, so long inputs cost one k-means.
    step = max(1, -(-Z.shape[0] // KMEANS_SAMPLE))
    best, best_cost = None, np.inf
    for _ in range(n_init):
        centres, labels = kmeans_centres(X[::step], k, random_state, scale)
        cost = float(((Z[::step] - scale.standardise(centres)[labels]) ** 2).sum())
        if best is None or cost < best_cost:
            best, best_cost = (centres, labels), cost
    centres, labels = best
    if step > 1:
        centres, labels = _refine(Z, scale, centres)
    restored = np.empty_like(labels)
    restored[order] = labels
    return centres, restored


class GMMEmission(EmissionModel):
    """Each state emits from its own mixture of ``n_mix`` Gaussians.

    NaN marks a missing value, handled per mixture component as in
    :class:`~hmm_core.emissions.gaussian.GaussianEmission`; a fully missing
    frame scores 0 for every state and is left out of the M-step.

    Parameters
    ----------
    n_mix : int
        Mixture components per state.
    covariance_type : {"spherical", "diag", "full", "tied"}
        ``tied``: the components of one state share a full matrix.
    min_covar : float
        Relative floor on the covariances, applied at initialisation and
        after every M-step, as in
        :class:`~hmm_core.emissions.gaussian.GaussianEmission`: at least
        ``min_covar`` times each feature's reference variance over the
        training data (spherical: their mean; full and tied: eigenvalues of
        the matrix standardised by the reference standard deviations).
    weights_prior : float or array-like, broadcast to (n_components, n_mix)
        Dirichlet concentration of ``weights_``.
    means_prior, means_weight : float or array-like
        Normal prior on ``means_`` (broadcast to (n_components, n_mix,
        n_features) and (n_components, n_mix)).
    covars_prior, covars_weight : float, array-like or None
        The priors of hmmlearn's GMMHMM: inverse-Wishart scale and degrees of
        freedom for full/tied, inverse-gamma shape ``alpha`` (covars_prior)
        and scale ``beta`` (covars_weight) for diag/spherical, in absolute
        units. None gives the values under which the update is maximum
        likelihood (so the default fit does not depend on the units of the
        data). A scalar ``covars_prior`` means ``covars_prior * I`` for full
        and tied.
    n_features : int, optional

    Attributes
    ----------
    weights_ : ndarray of shape (n_components, n_mix)
    means_ : ndarray of shape (n_components, n_mix, n_features)
    covars_ : ndarray
        (n_components, n_mix) spherical, (n_components, n_mix, n_features)
        diag, (n_components, n_mix, n_features, n_features) full,
        (n_components, n_features, n_features) tied.
    """

    letters = "mcw"

    def __init__(self, n_mix=1, covariance_type="diag", min_covar=1e-3, weights_prior=1.0,
                 means_prior=0.0, means_weight=0.0, covars_prior=None, covars_weight=None,
                 n_features=None):
        self.n_mix = n_mix
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.weights_prior = weights_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.n_features = n_features
        self.weights_ = None
        self.means_ = None
        self.covars_ = None

    def __getstate__(self):
        # The E-step cache holds the training data: never copy or pickle it.
        state = self.__dict__.copy()
        state["_cache"] = None
        return state

    # ----------------------------------------------------------- helpers
    def _known_n_features(self):
        if self.means_ is not None and np.ndim(self.means_) == 3:
            return np.shape(self.means_)[2]
        return self.n_features

    def _check_settings(self):
        check_covariance_type(self.covariance_type)
        if not isinstance(self.n_mix, (int, np.integer)) or self.n_mix < 1:
            raise ValueError(f"n_mix must be a positive integer, got {self.n_mix!r}")
        if not np.isscalar(self.min_covar) or not self.min_covar > 0 or not np.isfinite(
                self.min_covar):
            raise ValueError(f"min_covar must be a positive float, got {self.min_covar!r}")

    def _priors(self, n, m, d):
        """Hyper-parameters broadcast to hmmlearn's shapes; None -> no prior."""
        kind = self.covariance_type
        # Defaults that make the covariance update maximum likelihood. hmmlearn
        # uses -(n_mix + 2) / 2 for spherical, which is ML only when n_mix == d.
        default_prior, default_weight, shapes = {
            "full": (0.0, -(d + 2.0), ((n, m, d, d), (n, m))),
            "tied": (0.0, -(m + d + 1.0), ((n, d, d), (n,))),
            "diag": (-1.5, 0.0, ((n, m, d), (n, m, d))),
            "spherical": (-(d + 2.0) / 2.0, 0.0, ((n, m), (n, m))),
        }[kind]
        cp = default_prior if self.covars_prior is None else self.covars_prior
        cw = default_weight if self.covars_weight is None else self.covars_weight
        if kind in ("full", "tied") and np.ndim(cp) == 0:
            cp = float(cp) * np.eye(d)
        return {
            "weights_prior": broadcast_prior(self.weights_prior, (n, m), "weights_prior"),
            "means_prior": broadcast_prior(self.means_prior, (n, m, d), "means_prior"),
            "means_weight": broadcast_prior(self.means_weight, (n, m), "means_weight"),
            "covars_prior": broadcast_prior(cp, shapes[0], "covars_prior"),
            "covars_weight": broadcast_prior(cw, shapes[1], "covars_weight"),
        }

    # ------------------------------------------------------------ interface
    def check_X(self, X):
        """Validate a (n_samples, n_features) float array; NaN = missing, inf rejected."""
        return check_observations(X, self._known_n_features())

    def recheck_X(self, X):
        """Only the number of features: the values of ``X`` were checked by ``check_X``."""
        return check_n_features(X, self._known_n_features())

    def initialize(self, X, n_components, random_state, init_params):
        """k-means over states, then k-means within each state's cluster (as hmmlearn).

        Each k-means keeps the best of :data:`KMEANS_RESTARTS` runs (the
        lowest within-cluster sum of squares, as scikit-learn's ``n_init``
        that hmmlearn uses), so the start does not hinge on one seeding,
        nor on the order of the sequences in ``X``.

        A cluster with fewer than ``n_mix`` points draws its component means
        from a normal around the centre of the state centroids.
        """
        self._check_settings()
        if not has_observation(X):
            raise ValueError("X has no observed value (every entry is NaN)")
        n, m, d = n_components, self.n_mix, X.shape[1]
        self.n_features = d
        scale = feature_scale(X)
        self._feature_variance = scale.variance
        cv = data_covariance(X, self.min_covar, scale)
        if "m" in init_params or self.means_ is None:
            centres, labels = best_kmeans(X, n, random_state, scale)
            centroid = centres.mean(axis=0)
            means = np.empty((n, m, d))
            for j in range(n):
                cluster = X[labels == j]
                if cluster.shape[0] >= m:
                    means[j] = best_kmeans(cluster, m, random_state)[0]
                else:
                    means[j] = random_state.multivariate_normal(centroid, cv, size=m)
            self.means_ = means
        if "w" in init_params or self.weights_ is None:
            self.weights_ = np.full((n, m), 1.0 / m)
        if "c" in init_params or self.covars_ is None:
            shape = gmm_covars_shape(self.covariance_type, n, m, d)
            fill = {"spherical": np.diag(cv).mean(), "diag": np.diag(cv)}.get(
                self.covariance_type, cv)
            self.covars_ = self._floor(np.broadcast_to(fill, shape).copy())

    def set_covars(self, value, n_components):
        """Validate and store ``covars_`` (hmmlearn's GMMHMM shapes).

        Parameters
        ----------
        value : array-like
            Covariances in the storage shape of ``covariance_type`` (see
            :func:`gmm_covars_shape`).
        n_components : int
            Number of hidden states.
        """
        self._check_settings()
        shape = gmm_covars_shape(self.covariance_type, n_components, self.n_mix,
                                 self._known_n_features())
        self.covars_ = check_covars(value, self.covariance_type, shape)

    def check_params(self, n_components):
        """Validate ``weights_``, ``means_``, ``covars_``; factorise covariances once."""
        self._check_settings()
        n, m = n_components, self.n_mix
        for name in ("weights_", "means_", "covars_"):
            if getattr(self, name) is None:
                raise NotFittedError(f"{name} is not set: fit the model or assign it")
        weights = as_float_array(self.weights_, "weights_", 2)
        if weights.shape != (n, m):
            raise ValueError(f"weights_ must have shape (n_components, n_mix) = ({n}, {m}), "
                             f"got {weights.shape}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("weights_ must be finite and non-negative")
        sums = weights.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOL)
        if bad.size:
            raise ValueError(f"rows of weights_ must sum to 1; row {bad[0]} sums to "
                             f"{sums[bad[0]]:.10g}")
        means = as_float_array(self.means_, "means_", 3)
        if means.shape[:2] != (n, m):
            raise ValueError(f"means_ must have shape (n_components, n_mix, n_features) = "
                             f"({n}, {m}, d), got {means.shape}")
        if not np.all(np.isfinite(means)):
            raise ValueError("means_ must be finite (no NaN or inf)")
        self.weights_, self.means_, self.n_features = weights, means, means.shape[2]
        self.set_covars(self.covars_, n)
        self._components = self._make_components(self.covars_)
        self._log_weights = log(weights)
        self._cache = None

    def _make_components(self, covars):
        n, m, d = self.means_.shape
        means = self.means_.reshape(n * m, d)
        kind = self.covariance_type
        if kind == "spherical":
            return GaussianComponents(means, variances=covars.reshape(n * m, 1))
        if kind == "diag":
            return GaussianComponents(means, variances=covars.reshape(n * m, d))
        if kind == "full":
            return GaussianComponents(means, covariances=covars.reshape(n * m, d, d))
        return GaussianComponents(means, covariances=covars, groups=np.repeat(np.arange(n), m))

    def _log_joint(self, X):
        """(T, N, M) log of weight times component density."""
        n, m = self.weights_.shape
        dens = self._components.log_density(X).reshape(X.shape[0], n, m)
        return dens + self._log_weights

    def log_frameprob(self, X):
        """(T, N) log-sum-exp over each state's mixture components."""
        if getattr(self, "_components", None) is None:
            self.check_params(np.shape(self.weights_)[0])
        joint = self._log_joint(X)
        with np.errstate(under="ignore"):
            frames = np.ascontiguousarray(logsumexp(joint, axis=2))
        if np.isnan(X).any():
            # Exactly 0 for a fully missing frame (not log(sum(w)) ~ 1e-17).
            frames[np.isnan(X).all(axis=1)] = 0.0
        # EM calls accumulate on the same X right after: keep the joint.
        self._cache = (X, joint, frames)
        return frames

    def empty_stats(self, n_components):
        """Expected component counts and posterior-weighted moments."""
        return {"post_mix": np.zeros((n_components, self.n_mix)), "moments": None}

    def accumulate(self, stats, X, posteriors):
        """Split each state posterior over its components, then add their moments."""
        cache = getattr(self, "_cache", None)
        if cache is not None and cache[0] is X:
            joint, frames = cache[1], cache[2]
        else:
            joint = self._log_joint(X)
            with np.errstate(under="ignore"):
                frames = logsumexp(joint, axis=2)
        finite = np.isfinite(frames)
        with np.errstate(under="ignore", invalid="ignore"):
            resp = np.exp(joint - np.where(finite, frames, 0.0)[:, :, None])
        resp = np.where(finite[:, :, None], resp, 0.0)
        # A fully missing frame carries no information on any component.
        seen = (~np.isnan(X)).any(axis=1)
        weights = posteriors[:, :, None] * resp * seen[:, None, None]
        stats["post_mix"] += weights.sum(axis=0)
        flat = weights.reshape(X.shape[0], -1)
        stats["moments"] = merge_moments(stats["moments"], self._components.moments(X, flat))

    def m_step(self, stats, params):
        """MAP updates with hmmlearn's GMMHMM priors, then the ``min_covar`` floor.

        Covariances are centred on the *updated* means (the exact EM step);
        hmmlearn centres them on the previous means. Components with no
        posterior mass keep their parameters.
        """
        self._cache = None
        n, m, d = self.means_.shape
        pri = self._priors(n, m, d)
        if "w" in params:
            self.weights_ = dirichlet_map_rows(stats["post_mix"], pri["weights_prior"],
                                               self.weights_)
        mom = stats["moments"]
        if mom is None:
            return
        K = n * m
        count = mom["count"]
        diagonal = count.ndim == 2
        count_b = count if diagonal else count[:, None]
        means = self.means_.reshape(K, d)
        lam = pri["means_weight"].reshape(K, 1)
        mu0 = pri["means_prior"].reshape(K, d)
        if "m" in params:
            with np.errstate(invalid="ignore", divide="ignore"):
                new = (lam * mu0 + count_b * mom["mean"]) / (lam + count_b)
            means = np.where(count_b > 0, new, means)
            self.means_ = means.reshape(n, m, d)
        if "c" not in params:
            return
        diff = means - mu0
        scatter = scatter_about(mom, means)
        cp, cw = pri["covars_prior"], pri["covars_weight"]
        kind = self.covariance_type
        with np.errstate(invalid="ignore", divide="ignore"):
            if kind == "diag":
                c_n = lam * diff**2 + 2.0 * cw.reshape(K, d) + scatter
                c_d = count + 1.0 + 2.0 * (cp.reshape(K, d) + 1.0)
                keep = (count <= 0) | (c_d <= 0)
                new = np.where(keep, self.covars_.reshape(K, d), c_n / c_d).reshape(n, m, d)
            elif kind == "spherical":
                c_n = (lam[:, 0] * (diff**2).sum(axis=1) + 2.0 * cw.reshape(K)
                       + scatter.sum(axis=1))
                c_d = count.sum(axis=1) + d + 2.0 * (cp.reshape(K) + 1.0)
                keep = (count.sum(axis=1) <= 0) | (c_d <= 0)
                new = np.where(keep, self.covars_.reshape(K), c_n / c_d).reshape(n, m)
            else:
                outer = lam[:, :, None] * diff[:, :, None] * diff[:, None, :] + scatter
                if kind == "full":
                    c_n = cp.reshape(K, d, d) + outer
                    c_d = count + cw.reshape(K) + d + 2.0
                    current = self.covars_.reshape(K, d, d)
                    shape = (n, m, d, d)
                else:
                    c_n = cp + outer.reshape(n, m, d, d).sum(axis=1)
                    count = count.reshape(n, m).sum(axis=1)
                    c_d = count + m + cw + d + 1.0
                    current, shape = self.covars_, (n, d, d)
                keep = ((count <= 0) | (c_d <= 0))[:, None, None]
                new = np.where(keep, current, c_n / c_d[:, None, None]).reshape(shape)
        self.covars_ = self._floor(new)

    def _floor(self, covars):
        """The relative ``min_covar`` floor (absolute before any fit)."""
        d = self._known_n_features()
        ref = getattr(self, "_feature_variance", None)
        if ref is None or ref.shape != (d,):
            ref = np.ones(d)
        if self.covariance_type == "spherical":
            ref = ref.mean()
        return floor_covars(covars, self.covariance_type, self.min_covar, ref)

    def sample(self, states, random_state):
        """Draw a component from ``weights_[state]``, then a Gaussian from it."""
        n, m, d = np.shape(self.means_)
        cdf = np.cumsum(self.weights_, axis=1)[states]
        u = random_state.random_sample(states.shape[0]) * cdf[:, -1]
        mix = np.minimum((u[:, None] >= cdf).sum(axis=1), m - 1)
        if self.covariance_type == "tied":
            components = GaussianComponents(self.means_.reshape(n * m, d),
                                            covariances=self.covars_,
                                            groups=np.repeat(np.arange(n), m))
        else:
            full = to_full(self.covars_, self.covariance_type, d).reshape(n * m, d, d)
            components = GaussianComponents(self.means_.reshape(n * m, d), covariances=full)
        return components.sample(states * m + mix, random_state)

    def n_free_parameters(self, params):
        """Means n*m*d; covariances per type; weights n*(m-1) less structural zeros."""
        n, m, d = np.shape(self.means_)
        count = n * m * d if "m" in params else 0
        if "c" in params:
            count += {"spherical": n * m, "diag": n * m * d, "full": n * m * d * (d + 1) // 2,
                      "tied": n * d * (d + 1) // 2}[self.covariance_type]
        if "w" in params:
            count += int(np.sum(np.count_nonzero(self.weights_, axis=1) - 1))
        return count
