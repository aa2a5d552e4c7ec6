"""VariationalGaussianHMM: normal emissions with Normal-Wishart (or Normal-gamma) posteriors."""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import digamma

from hmm_core.emissions._scale import kmeans_centres
from hmm_core.emissions.gaussian import GaussianEmission
from hmm_core.estimator.constraints import OneOf
from hmm_core.hmm.base import EmissionSetting, emission_attribute
from hmm_core.variational._base import (
    POSITIVE_PRIOR,
    REAL_PRIOR,
    VB_RULES,
    VariationalHMM,
    check_hyper,
)
from hmm_core.variational._divergence import (
    expected_logdet_wishart,
    kl_gamma,
    kl_normal_given_precision,
    kl_wishart,
)

__all__ = ["VariationalGaussianHMM"]

_LOG_2PI = np.log(2 * np.pi)


class VariationalGaussianHMM(VariationalHMM):
    """Hidden Markov model with Gaussian emissions, trained by variational Bayes.

    hmmlearn's ``VariationalGaussianHMM`` (same settings and fitted
    attributes), trained on the compiled kernels. Each state's mean and
    precision have a conjugate prior and posterior: Normal-Wishart for
    ``"full"`` (one Wishart per state) and ``"tied"`` (one shared Wishart),
    Normal-gamma for ``"diag"`` (one gamma per state and feature) and
    ``"spherical"`` (one gamma per state, shared by the features).

    Parameters
    ----------
    n_components : int
        Number of states.
    covariance_type : {"full", "tied", "diag", "spherical"}
        Form of the precision (see above).
    startprob_prior, transmat_prior : float or array-like, optional
        Dirichlet concentrations; None is ``1 / n_components``.
    means_prior : array-like of shape (n_components, n_features), optional
        Prior mean of each state's mean; None is the data mean.
    beta_prior : float or array-like of shape (n_components,), optional
        Prior precision weight of the means (in units of the state's
        precision); None is 1.
    dof_prior : float or array-like, optional
        Prior degrees of freedom: (n_components,), or a float for
        ``"tied"``; None is ``n_features``.
    scale_prior : array-like, optional
        Prior inverse scale: (n_components, n_features, n_features) full,
        (n_features, n_features) tied, (n_components, n_features) diag,
        (n_components,) spherical; None is ``1e-3`` (times the identity).
    algorithm : {"viterbi", "map"}
        Decoder of :meth:`decode` and :meth:`predict`.
    random_state : int, RandomState or None
        Seed of the initialisation (k-means, random chain posteriors) and of
        :meth:`sample`.
    n_iter : int
        Maximum number of VB iterations.
    tol : float
        Stop when the lower bound gains less than this.
    verbose : bool
        Print one line per iteration to standard error.
    params, init_params : str
        Letters among ``s``, ``t``, ``m`` (means), ``c`` (precisions).
    implementation : {"log", "scaling"}
        Accepted for hmmlearn compatibility; both run the exact log-space
        kernels.
    n_init : int
        Number of random initialisations; the best final lower bound wins.
    n_threads : int, optional
        Threads of the compiled kernels.
    callback : callable, optional
        Called with the monitor after every iteration.

    Attributes
    ----------
    startprob_prior_, startprob_posterior_, transmat_prior_, transmat_posterior_ : ndarray
        Dirichlet concentrations.
    means_prior_, means_posterior_ : ndarray of shape (n_components, n_features)
    beta_prior_, beta_posterior_ : ndarray of shape (n_components,)
    dof_prior_, dof_posterior_ : ndarray of shape (n_components,) or float (tied)
    scale_prior_, scale_posterior_ : ndarray
        Inverse scales, in the storage shape of ``covariance_type``.
    startprob_, transmat_, means_, covars_ : ndarray
        Point estimates (posterior means; ``covars_`` is ``scale / dof``).
    monitor_ : ConvergenceMonitor
        ``history`` holds the evidence lower bound of every iteration.

    See Also
    --------
    hmm_core.GaussianHMM : The same model trained by maximum likelihood (EM).

    Notes
    -----
    Differences from hmmlearn 0.3.3, each checked against an independent
    computation in the tests:

    - the lower bound includes the ``-n_features / 2 * log(2 pi)`` of every
      frame, which hmmlearn leaves out (so hmmlearn's is higher by
      ``n_samples * n_features / 2 * log(2 pi)``); the posteriors agree;
    - ``"diag"`` and ``"spherical"`` use the expectations and divergences of
      their gamma posteriors. hmmlearn scores these states with the
      log-determinant expectation and divergence of a Wishart over the
      diagonal matrix, which does not match its own update of the
      posterior (for one feature the two agree). A spherical state's gamma
      gains ``n_features / 2`` of shape per frame (``dof_posterior_ =
      dof_prior_ + n_features * N_k``, ``scale_posterior_`` adds the sum
      over features), where hmmlearn adds one and the mean over features.

    Missing values (NaN) are not supported.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core.variational import VariationalGaussianHMM
    >>> rng = np.random.RandomState(0)
    >>> X = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal(6, 1, (100, 2))])
    >>> model = VariationalGaussianHMM(n_components=2, random_state=0).fit(X)
    >>> np.round(np.sort(model.means_[:, 0]))
    array([0., 6.])
    """

    _emission_class = GaussianEmission
    _emission_letters = "mc"
    _parameter_constraints = {
        **VB_RULES,
        "covariance_type": OneOf("full", "tied", "diag", "spherical"),
        "means_prior": REAL_PRIOR, "beta_prior": POSITIVE_PRIOR,
        "dof_prior": POSITIVE_PRIOR, "scale_prior": REAL_PRIOR,
    }
    _vb_emission_names = ("means_prior_", "means_posterior_", "beta_prior_",
                          "beta_posterior_", "dof_prior_", "dof_posterior_", "scale_prior_",
                          "scale_posterior_")

    covariance_type = EmissionSetting()
    means_ = emission_attribute("means_", "Posterior means of the state means.")

    def __init__(self, n_components=1, covariance_type="full", startprob_prior=None,
                 transmat_prior=None, means_prior=None, beta_prior=None, dof_prior=None,
                 scale_prior=None, algorithm="viterbi", random_state=None, n_iter=100,
                 tol=1e-6, verbose=False, params="stmc", init_params="stmc",
                 implementation="log", n_init=1, n_threads=None, callback=None):
        self._set_params_from(locals())

    def _make_emission(self):
        return GaussianEmission(covariance_type="full")

    @property
    def covars_(self):
        """Point-estimate covariances, shape (n_components, n_features, n_features)."""
        return self._get_emission().full_covars(self.n_components)

    @property
    def n_features(self):
        """Dimension of the observations (None before fitting)."""
        return self._get_emission()._known_n_features()

    def _vb_check_X(self, X):
        if np.isnan(X).any():
            raise ValueError("X must not hold NaN: the variational Gaussian model does not "
                             "handle missing values")

    # ------------------------------------------------------ initialisation
    def _scale_shape(self, d):
        n = self.n_components
        return {"full": (n, d, d), "tied": (d, d), "diag": (n, d),
                "spherical": (n,)}[self.covariance_type]

    def _vb_emission_init(self, X, n_frames, random_state):
        n, d = self.n_components, X.shape[1]
        kind = self.covariance_type
        centres, labels = kmeans_centres(X, n, random_state)
        counts = np.bincount(labels, minlength=n).astype(float)
        if self._needs("m", "means_prior_", "means_posterior_", "beta_prior_",
                       "beta_posterior_"):
            mean = X.mean(axis=0)
            self.means_prior_ = (np.tile(mean, (n, 1)) if self.means_prior is None else
                                 np.array(np.broadcast_to(np.asarray(self.means_prior, float),
                                                          (n, d))))
            self.means_posterior_ = np.array(centres, dtype=float)
            self.beta_prior_ = self._prior_value(self.beta_prior, 1.0, (n,))
            self.beta_posterior_ = counts.copy()
        if self._needs("c", "dof_prior_", "dof_posterior_", "scale_prior_",
                       "scale_posterior_"):
            dof_shape = () if kind == "tied" else (n,)
            default_dof = d
            self.dof_prior_ = self._prior_value(self.dof_prior, default_dof, dof_shape)
            per_frame = d if kind == "spherical" else 1
            self.dof_posterior_ = (np.array(counts.sum()) if kind == "tied"
                                   else counts * per_frame)
            cv = np.atleast_2d(np.cov(X.T)) + 1e-3 * np.eye(d)
            default_scale = {"full": np.broadcast_to(1e-3 * np.eye(d), (n, d, d)),
                             "tied": 1e-3 * np.eye(d), "diag": np.full((n, d), 1e-3),
                             "spherical": np.full(n, 1e-3)}[kind]
            self.scale_prior_ = self._prior_value(self.scale_prior, default_scale,
                                                  self._scale_shape(d))
            dof = np.asarray(self.dof_posterior_, dtype=float)
            self.scale_posterior_ = {
                "full": lambda: np.tile(cv, (n, 1, 1)) * dof[:, None, None],
                "tied": lambda: cv * dof,
                "diag": lambda: np.tile(np.diag(cv), (n, 1)) * dof[:, None],
                "spherical": lambda: np.full(n, np.diag(cv).mean()) * dof,
            }[kind]()
        self._get_emission().n_features = d

    def _vb_emission_check(self):
        n = self.n_components
        missing = [name for name in self._vb_emission_names if self.__dict__.get(name) is None]
        if missing:
            raise ValueError(f"{missing[0]} is not set: fit the model or assign it")
        d = int(np.shape(self.means_posterior_)[-1]) if np.ndim(self.means_posterior_) == 2 \
            else None
        if d is None:
            raise ValueError("means_posterior_ must have shape (n_components, n_features), "
                             f"got {np.shape(self.means_posterior_)}")
        for name in ("means_prior_", "means_posterior_"):
            setattr(self, name, check_hyper(self.__dict__[name], name, (n, d), minimum=None))
        for name in ("beta_prior_", "beta_posterior_"):
            setattr(self, name, check_hyper(self.__dict__[name], name, (n,)))
        dof_shape = () if self.covariance_type == "tied" else (n,)
        for name in ("dof_prior_", "dof_posterior_"):
            setattr(self, name, check_hyper(self.__dict__[name], name, dof_shape,
                                            minimum=d - 1 if self._wishart() else 0.0))
        for name in ("scale_prior_", "scale_posterior_"):
            value = check_hyper(self.__dict__[name], name, self._scale_shape(d), minimum=None)
            if self._wishart():
                mats = value.reshape(-1, d, d)
                if not np.allclose(mats, mats.transpose(0, 2, 1)) or np.any(
                        np.linalg.eigvalsh(mats) <= 0):
                    raise ValueError(f"{name} must be symmetric positive definite")
            elif np.any(value <= 0):
                raise ValueError(f"{name} must be positive")
            setattr(self, name, value)
        self._get_emission().n_features = d

    def _wishart(self):
        return self.covariance_type in ("full", "tied")

    # ----------------------------------------------------------- the steps
    def _full_scales(self):
        """(n, d, d) inverse scales and (n,) dofs of the Wishart types."""
        n = self.n_components
        if self.covariance_type == "tied":
            d = self.scale_posterior_.shape[0]
            return (np.broadcast_to(self.scale_posterior_, (n, d, d)),
                    np.full(n, float(self.dof_posterior_)))
        return self.scale_posterior_, self.dof_posterior_

    def _expected_log_frameprob(self, X):
        n, d = self.n_components, X.shape[1]
        beta, means, dof = self.beta_posterior_, self.means_posterior_, None
        out = np.empty((X.shape[0], n))
        if self._wishart():
            scales, dof = self._full_scales()
            for k in range(n):
                chol = np.linalg.cholesky(scales[k])
                z = solve_triangular(chol, (X - means[k]).T, lower=True)
                quad = np.einsum("ij,ij->j", z, z)
                logdet = expected_logdet_wishart(dof[k], scales[k])
                out[:, k] = 0.5 * (logdet - d * _LOG_2PI - d / beta[k] - dof[k] * quad)
            return out
        dof, scale = self.dof_posterior_, self.scale_posterior_
        if self.covariance_type == "spherical":
            scale = np.tile(scale[:, None], (1, d))
        precision = dof[:, None] / scale                         # E[lambda], (n, d)
        logdet = (digamma(0.5 * dof)[:, None] + np.log(2.0) - np.log(scale)).sum(axis=1)
        # sum_d E[lambda_d] (x_d - m_d)^2 as one product: x^2 P - 2 x (P m) + sum P m^2
        quad = ((X * X) @ precision.T - 2.0 * X @ (precision * means).T
                + (precision * means * means).sum(axis=1))
        out[:] = 0.5 * (logdet - d * _LOG_2PI - d / beta - quad)
        return out

    def _vb_emission_stats(self, X, posteriors):
        """Occupancy, weighted sums and weighted scatter (full or per feature)."""
        out = {"n": np.ones(X.shape[0]) @ posteriors, "x": posteriors.T @ X}
        if self._wishart():
            out["xx"] = np.einsum("tk,ti,tj->kij", posteriors, X, X, optimize=True)
        else:
            out["xx"] = posteriors.T @ (X * X)
        return out

    def _vb_emission_update(self, stats):
        counts, sums = stats["n"], stats["x"]
        kind = self.covariance_type
        if "m" in self.params:
            self.beta_posterior_ = self.beta_prior_ + counts
            self.means_posterior_ = ((self.beta_prior_[:, None] * self.means_prior_ + sums)
                                     / self.beta_posterior_[:, None])
        if "c" not in self.params:
            return
        b0, m0 = self.beta_prior_, self.means_prior_
        b1, m1 = self.beta_posterior_, self.means_posterior_
        if self._wishart():
            scatter = stats["xx"] + (np.einsum("k,ki,kj->kij", b0, m0, m0)
                        - np.einsum("k,ki,kj->kij", b1, m1, m1))
            if kind == "full":
                self.dof_posterior_ = self.dof_prior_ + counts
                self.scale_posterior_ = self.scale_prior_ + scatter
            else:
                self.dof_posterior_ = self.dof_prior_ + counts.sum()
                self.scale_posterior_ = self.scale_prior_ + scatter.sum(axis=0)
            return
        scatter = stats["xx"] + b0[:, None] * m0 * m0 - b1[:, None] * m1 * m1
        if kind == "diag":
            self.dof_posterior_ = self.dof_prior_ + counts
            self.scale_posterior_ = self.scale_prior_ + scatter
        else:
            self.dof_posterior_ = self.dof_prior_ + sums.shape[1] * counts
            self.scale_posterior_ = self.scale_prior_ + scatter.sum(axis=1)

    def _vb_emission_kl(self):
        n, d = self.means_posterior_.shape
        b0, m0 = self.beta_prior_, self.means_prior_
        b1, m1 = self.beta_posterior_, self.means_posterior_
        total = 0.0
        if self._wishart():
            scales, dof = self._full_scales()
            for k in range(n):
                inv = np.linalg.inv(scales[k])

                def quad(v, k=k, inv=inv):
                    return dof[k] * v @ inv @ v
                total += kl_normal_given_precision(b1[k], m1[k], b0[k], m0[k], quad, d)
            if self.covariance_type == "full":
                total += sum(kl_wishart(self.dof_posterior_[k], self.scale_posterior_[k],
                                        self.dof_prior_[k], self.scale_prior_[k])
                             for k in range(n))
            else:
                total += kl_wishart(float(self.dof_posterior_), self.scale_posterior_,
                                    float(self.dof_prior_), self.scale_prior_)
            return total
        dof, scale = self.dof_posterior_, self.scale_posterior_
        full_scale = scale[:, None] if self.covariance_type == "spherical" else scale
        precision = dof[:, None] / full_scale
        for k in range(n):
            def quad(v, k=k):
                return float(np.sum(precision[k] * v * v))
            total += kl_normal_given_precision(b1[k], m1[k], b0[k], m0[k], quad, d)
        return total + kl_gamma(self.dof_posterior_[:, None] if scale.ndim == 2 else
                                self.dof_posterior_, scale,
                                self.dof_prior_[:, None] if scale.ndim == 2 else
                                self.dof_prior_, self.scale_prior_)

    def _set_emission_estimates(self):
        emission = self._get_emission()
        emission.means_ = self.means_posterior_.copy()
        dof = np.asarray(self.dof_posterior_, dtype=float)
        scale = self.scale_posterior_
        kind = self.covariance_type
        if kind == "full":
            emission.covars_ = scale / dof[:, None, None]
        elif kind == "diag":
            emission.covars_ = scale / dof[:, None]
        else:
            emission.covars_ = scale / dof
