"""Where hmm_core and hmmlearn 0.3.3 differ on purpose, shown by independent computations.

Each test here backs an entry of ``DIFFERENCES`` in ``test_hmmlearn_suite.py``
and of the README's "Differences from hmmlearn".
"""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from hmm_core import GMMHMM, GaussianHMM

hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")


def _mixture_data():
    rng = np.random.RandomState(3)
    return np.concatenate([rng.multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 0.5]], 150),
                           rng.multivariate_normal([3, 1], [[0.4, -0.1], [-0.1, 0.8]], 150)])


def _one_state_gmm(cls, weights, means, covars, **kwargs):
    model = cls(n_components=1, n_mix=2, covariance_type="full", n_iter=1, init_params="",
                params="wmc", **kwargs)
    model.startprob_ = np.ones(1)
    model.transmat_ = np.ones((1, 1))
    model.weights_ = weights[None].copy()
    model.means_ = means[None].copy()
    model.covars_ = covars[None].copy()
    return model


def test_gmm_covariance_m_step_is_the_em_update_and_hmmlearns_is_not():
    """One EM iteration of a one-state GMMHMM (a plain Gaussian mixture), by hand.

    The EM update of a covariance is the responsibility-weighted scatter about
    the *updated* mean. hmmlearn 0.3.3 accumulates the scatter about the
    *previous* means, which adds the outer product of the mean shift, and the
    expected complete-data log-likelihood (what an M-step maximises) is lower
    at its update.
    """
    X = _mixture_data()
    weights = np.array([0.5, 0.5])
    means = np.array([[0.5, 0.5], [2.0, 0.0]])
    covars = np.array([np.eye(2), np.eye(2)])

    # E-step: responsibilities of the two components, with SciPy's densities.
    dens = np.column_stack([w * multivariate_normal(m, c).pdf(X)
                            for w, m, c in zip(weights, means, covars, strict=True)])
    resp = dens / dens.sum(axis=1, keepdims=True)
    mass = resp.sum(axis=0)
    new_means = (resp.T @ X) / mass[:, None]

    def scatter(centres):
        return np.array([(resp[:, k, None] * (X - centres[k])).T @ (X - centres[k]) / mass[k]
                         for k in range(2)])

    em_covars = scatter(new_means)        # the maximiser of Q
    old_centre_covars = scatter(means)     # hmmlearn's accumulation

    ours = _one_state_gmm(GMMHMM, weights, means, covars, min_covar=1e-12).fit(X)
    np.testing.assert_allclose(ours.means_[0], new_means, rtol=1e-10)
    np.testing.assert_allclose(ours.covars_[0], em_covars, rtol=1e-8, atol=1e-12)

    theirs = _one_state_gmm(hmmlearn_hmm.GMMHMM, weights, means, covars, min_covar=0.0)
    theirs.fit(X)
    np.testing.assert_allclose(theirs.means_[0], new_means, rtol=1e-10)
    np.testing.assert_allclose(theirs.covars_[0], old_centre_covars, rtol=1e-8)
    assert not np.allclose(theirs.covars_[0], em_covars, rtol=1e-3)

    def q(cov):
        new_weights = mass / mass.sum()
        return sum((resp[:, k] * (np.log(new_weights[k]) + multivariate_normal(
            new_means[k], cov[k]).logpdf(X))).sum() for k in range(2))

    assert q(em_covars) > q(old_centre_covars) + 1e-3


def test_min_covar_is_relative_to_the_data_variance():
    """Tied covariances far below 1e-3 of the data's variance need a smaller ``min_covar``.

    hmmlearn's ``test_fit_with_priors`` (tied, full) places the state means
    20 times further apart than their spread: the states' variances are about
    1e-5 of the data's, so hmm_core's default relative floor (1e-3) holds
    them up. With ``min_covar=1e-7`` the same fit recovers them.
    """
    rng = np.random.RandomState(0)
    tied = np.array([[0.5, -0.2], [-0.2, 0.5]])
    centres = np.array([[-400.0, 0.0], [0.0, 400.0], [400.0, 0.0]])
    truth = GaussianHMM(3, "tied", init_params="")
    truth.startprob_ = np.full(3, 1 / 3)
    truth.transmat_ = np.full((3, 3), 0.1) + 0.7 * np.eye(3)
    truth.means_ = centres
    truth.covars_ = tied
    X, _ = truth.sample(3000, random_state=rng)

    def fit(**kwargs):
        model = GaussianHMM(3, "tied", n_iter=30, random_state=0, init_params="st",
                            covars_prior=1e-2, **kwargs)  # hmmlearn's absolute prior
        model.means_ = centres + 1.0  # near the truth: only the floor differs
        model.covars_ = np.eye(2)
        return model.fit(X)

    floored = fit()
    assert abs(floored._covars_[0, 1] - tied[0, 1]) > 0.1  # the off-diagonal is lost
    np.testing.assert_allclose(fit(min_covar=1e-7)._covars_, tied, atol=0.05)


def test_spherical_covars_shape_after_fit():
    """hmmlearn's documented ``covars_`` shape is (n_components, n_features, n_features).

    After a spherical fit, hmmlearn 0.3.3 stores one variance per state *and
    feature* (shape (n, d)) and its getter returns (n * d, d, d) matrices;
    hmm_core returns (n, d, d), each state's variance times the identity.
    """
    X = np.random.RandomState(0).normal(size=(200, 3))
    theirs = hmmlearn_hmm.GaussianHMM(2, "spherical", random_state=0, n_iter=3).fit(X)
    assert theirs.covars_.shape == (6, 3, 3)  # not (2, 3, 3)
    ours = GaussianHMM(2, "spherical", random_state=0, n_iter=3).fit(X)
    assert ours._covars_.shape == (2,) and ours.covars_.shape == (2, 3, 3)
    np.testing.assert_array_equal(ours.covars_, ours._covars_[:, None, None] * np.eye(3))
