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


# ------------------------------------------------------------------ variational models
_MCGRORY_MEANS = {"full": 1.41058519, "tied": 1.4774254, "spherical": 1.4105851867634462,
                  "diag": 1.410585186763446}  # hmmlearn's test_fit_mcgrory_titterington1d


def _mcgrory_titterington(cls):
    model = cls(4, init_params="")
    model.startprob_ = np.full(4, 0.25)
    model.transmat_ = np.array([[0.2, 0.2, 0.3, 0.3], [0.3, 0.2, 0.2, 0.3],
                                [0.2, 0.3, 0.3, 0.2], [0.3, 0.3, 0.2, 0.2]])
    model.means_ = np.array([[-1.5], [0.0], [1.5], [3.0]])
    model.covars_ = np.sqrt([[0.25]] * 4)
    return model


def _uniform_chain(model, n_frames):
    n = model.n_components
    model.startprob_prior_ = np.full(n, 1 / n)
    model.startprob_posterior_ = np.full(n, 1 / n)
    model.transmat_prior_ = np.full((n, n), 1 / n)
    model.transmat_posterior_ = np.full((n, n), 1 / n) * n_frames


def test_seeded_gaussian_sample_differs_from_hmmlearns():
    """The same seed gives other frames: hmm_core draws all normals at once, vectorised."""
    ours = _mcgrory_titterington(GaussianHMM).sample(500, random_state=234234)[0]
    theirs = _mcgrory_titterington(hmmlearn_hmm.GaussianHMM).sample(500, random_state=234234)[0]
    assert ours.shape == theirs.shape and not np.allclose(ours, theirs)


@pytest.mark.parametrize("kind", ["full", "tied", "spherical", "diag"])
def test_mcgrory_titterington_from_hmmlearns_sample_and_initialisation(kind):
    """hmmlearn's test_fit_mcgrory_titterington1d with hmmlearn's frames and start.

    The test's hard-coded mean comes from frames drawn by hmmlearn's sampler
    and a k-means start drawn from the same stream. Given those frames and
    hmmlearn's initial posteriors, hmm_core's VB fit converges to the test's
    number (and to hmmlearn's own fit).
    """
    from sklearn.utils import check_random_state

    from hmm_core import VariationalGaussianHMM

    vhmm = pytest.importorskip("hmmlearn.vhmm")
    random_state = check_random_state(234234)
    X = _mcgrory_titterington(hmmlearn_hmm.GaussianHMM).sample(500, random_state=random_state)[0]
    theirs = vhmm.VariationalGaussianHMM(5, n_iter=1000, tol=1e-9, init_params="mc",
                                         random_state=random_state, covariance_type=kind)
    _uniform_chain(theirs, len(X))
    theirs._init(X, [len(X)])
    theirs._check()
    ours = VariationalGaussianHMM(5, n_iter=1000, tol=1e-9, init_params="",
                                  covariance_type=kind)
    for name in ("startprob", "transmat", "means", "beta", "dof", "scale"):
        for end in ("_prior_", "_posterior_"):
            setattr(ours, name + end, np.array(getattr(theirs, name + end), dtype=float))
    ours.fit(X)
    theirs.set_params(init_params="").fit(X)
    assert sorted(ours.means_posterior_.ravel())[3] == pytest.approx(_MCGRORY_MEANS[kind])
    np.testing.assert_allclose(np.sort(ours.means_posterior_.ravel()),
                               np.sort(theirs.means_posterior_.ravel()), rtol=1e-6)


def _beal_frames():
    X = np.tile([0, 1, 2], 100)[:, None]
    return X, [100, 100, 100]


def test_variational_categorical_missing_symbols_and_inferred_n_features():
    """hmmlearn's test_n_features and test_init_incorrect_priors, case by case.

    hmm_core refuses what hmmlearn refuses (too small an ``n_features``,
    non-integer symbols, priors and posteriors of the wrong shape) except two
    cases, which follow hmm_core's ``CategoricalHMM``: symbol -1 marks a
    missing frame, and an emission posterior set by hand fixes ``n_features``
    (the data need not hold its highest symbol).
    """
    from hmm_core import CategoricalHMM, VariationalCategoricalHMM

    X, lengths = _beal_frames()
    model = VariationalCategoricalHMM(4, n_iter=5, random_state=1984)
    model.n_features = 2
    with pytest.raises(ValueError, match="n_features"):
        model.fit(X, lengths)
    with pytest.raises(ValueError, match="X"):
        VariationalCategoricalHMM(4, n_iter=5).fit(X + 0.5, lengths)
    for name, shape in [("startprob_prior_", (3,)), ("startprob_posterior_", (3,)),
                        ("transmat_prior_", (3, 3)), ("transmat_posterior_", (3, 3)),
                        ("emissionprob_prior_", (3, 3))]:
        model = VariationalCategoricalHMM(4, n_iter=5, random_state=1984, init_params="")
        model.fit(X, lengths)
        setattr(model, name, np.full(shape, 0.5))
        with pytest.raises(ValueError, match=name.split("_")[0]):
            model.fit(X, lengths)

    # -1 is a missing frame: it adds no emission count (hmmlearn raises).
    missing = X.copy()
    missing[0] = -1
    model = VariationalCategoricalHMM(4, n_iter=5, random_state=1984).fit(missing, lengths)
    counts = model.emissionprob_posterior_ - model.emissionprob_prior_
    assert counts.sum() == pytest.approx(len(X) - 1)

    # A hand-set (4, 4) emission posterior means four symbols, as CategoricalHMM's
    # emissionprob_ does; hmmlearn infers three from the data and raises.
    model = VariationalCategoricalHMM(4, n_iter=5, random_state=1984, init_params="st")
    model.emissionprob_prior_ = np.full((4, 4), 7 / 4)
    model.emissionprob_posterior_ = np.full((4, 4), 0.25)
    assert model.fit(X, lengths).n_features == 4
    em = CategoricalHMM(4, n_iter=5, random_state=1984, init_params="st")
    em.emissionprob_ = np.full((4, 4), 0.25)
    assert em.fit(X, lengths).n_features == 4
