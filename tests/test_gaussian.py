"""GaussianHMM: hmmlearn parity, recovery, degenerate and missing data, validation."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from hmm_core.emissions._covariance import floor_covars
from hmm_core.models.gaussian import GaussianHMM

TYPES = ["spherical", "diag", "full", "tied"]


def _spd(rng, shape, d):
    A = rng.normal(size=(*shape, d, d))
    return A @ np.swapaxes(A, -1, -2) + np.eye(d)


def _covars(rng, kind, n, d):
    return {"spherical": lambda: rng.uniform(0.5, 2.0, n),
            "diag": lambda: rng.uniform(0.5, 2.0, (n, d)),
            "full": lambda: _spd(rng, (n,), d),
            "tied": lambda: _spd(rng, (), d)}[kind]()


def _model(rng, kind, n=3, d=3, **kwargs):
    model = GaussianHMM(n, covariance_type=kind, **kwargs)
    model.startprob_ = rng.dirichlet(np.ones(n))
    model.transmat_ = rng.dirichlet(np.ones(n), size=n)
    model.means_ = rng.normal(size=(n, d)) * 3
    model.covars_ = _covars(rng, kind, n, d)
    return model


def _data(model, rng, lengths):
    return np.concatenate([model.sample(int(t), random_state=rng)[0] for t in lengths])


# ------------------------------------------------------------------ hmmlearn
@pytest.mark.parametrize("kind", TYPES)
def test_agrees_with_hmmlearn(kind):
    hmm = pytest.importorskip("hmmlearn.hmm")
    rng = np.random.RandomState(0)
    n, d = 3, 3
    truth = _model(rng, kind, n, d)
    lengths = [120, 80, 100]
    X = _data(truth, rng, lengths)
    # Non-trivial priors exercise every term of hmmlearn's update. hmmlearn
    # adds a scalar covars_prior to every entry of a full/tied matrix (we
    # read a scalar as prior * I), so full/tied get the same explicit matrix.
    if kind in ("full", "tied"):
        covars_prior = 0.05 * np.eye(d) if kind == "tied" else np.tile(0.05 * np.eye(d),
                                                                        (n, 1, 1))
        covars_weight = d + 1.5
    else:
        covars_prior, covars_weight = 0.05, 2.5
    # hmmlearn uses min_covar only at initialisation (skipped here); ours is a
    # floor in every M-step, so it is made small enough never to bind (checked
    # below) and the two updates are then the same formula.
    kw = dict(covariance_type=kind, min_covar=1e-6, means_prior=0.3, means_weight=0.5,
              covars_prior=covars_prior, covars_weight=covars_weight, n_iter=3,
              tol=-np.inf, init_params="")
    ours, theirs = GaussianHMM(n, **kw), hmm.GaussianHMM(n, **kw)
    start = _model(rng, kind, n, d)
    for model in (ours, theirs):
        model.startprob_, model.transmat_ = start.startprob_, start.transmat_
        model.means_, model.covars_ = start.means_, start._covars_
    assert_allclose(ours.score(X, lengths), theirs.score(X, lengths), rtol=1e-10)
    assert_allclose(ours.score_samples(X, lengths)[1], theirs.score_samples(X, lengths)[1],
                    rtol=1e-8, atol=1e-12)
    logprob, path = ours.decode(X, lengths)
    their_logprob, their_path = theirs.decode(X, lengths)
    assert_allclose(logprob, their_logprob, rtol=1e-10)
    assert_array_equal(path, their_path)

    ours.fit(X, lengths)
    theirs.fit(X, lengths)
    assert_allclose(ours.monitor_.history, theirs.monitor_.history, rtol=1e-10)
    for name in ("startprob_", "transmat_", "means_"):
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-8, atol=1e-12)
    # hmmlearn stores spherical variances tiled to (n, d) after an M-step.
    their_covars = theirs._covars_[:, 0] if kind == "spherical" else theirs._covars_
    assert_allclose(ours._covars_, their_covars, rtol=1e-8)
    assert np.linalg.eigvalsh(ours.covars_).min() > 1e3 * ours.min_covar


def test_scalar_covars_prior_is_a_multiple_of_the_identity():
    rng = np.random.RandomState(1)
    model = _model(rng, "full", 2, 2, n_iter=1, tol=-np.inf, init_params="")
    X = _data(model, rng, [200])
    as_matrix = GaussianHMM(2, "full", covars_prior=0.3 * np.eye(2), n_iter=1, tol=-np.inf,
                            init_params="")
    as_matrix.startprob_, as_matrix.transmat_ = model.startprob_, model.transmat_
    as_matrix.means_, as_matrix.covars_ = model.means_, model.covars_
    model.covars_prior = 0.3
    model.fit(X)
    as_matrix.fit(X)
    assert_allclose(model.covars_, as_matrix.covars_, rtol=1e-13)


# ---------------------------------------------------------------- recovery
def test_recovers_means_from_50000_frames():
    kind = "full"
    rng = np.random.RandomState(2)
    truth = GaussianHMM(3, covariance_type=kind, random_state=1)
    truth.startprob_ = np.array([0.5, 0.3, 0.2])
    truth.transmat_ = np.array([[0.90, 0.05, 0.05], [0.10, 0.80, 0.10], [0.05, 0.15, 0.80]])
    truth.means_ = np.array([[0.0, 0.0], [4.0, 1.0], [-2.0, 5.0]])
    truth.covars_ = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.8, -0.2], [-0.2, 1.2]],
                              [[0.6, 0.0], [0.0, 0.9]]])
    X, states = truth.sample(50_000, random_state=rng)
    model = GaussianHMM(3, covariance_type=kind, n_iter=50, tol=1e-2, n_init=3,
                        random_state=0).fit(X)
    order = np.argsort(model.means_[:, 0])
    want = truth.means_[np.argsort(truth.means_[:, 0])]
    # Each state holds >= 10,000 frames with variances <= 1.2: the standard
    # error of a mean is below sqrt(1.2 / 10,000) ~ 0.011, so 0.06 is over
    # five standard errors while a wrong solution is off by whole units.
    assert_allclose(model.means_[order], want, atol=0.06)
    cov_order = np.argsort(truth.means_[:, 0])
    assert_allclose(model.covars_[order], truth.covars_[cov_order], atol=0.08)
    assert model.score(X) >= truth.score(X) - 1.0


# -------------------------------------------------------------- degenerate
@pytest.mark.parametrize("kind", TYPES)
def test_degenerate_data_gives_finite_parameters(kind):
    rng = np.random.RandomState(3)
    # A constant feature and one far outlier (1e4 sigma).
    X = np.column_stack([rng.normal(size=300), np.full(300, 7.0)])
    X[150, 0] = 1e4
    # One point per state.
    Y = np.array([[0.0, 1.0], [5.0, -2.0], [10.0, 3.0]])
    for data, n in ((X, 3), (Y, 3), (X[:1], 2)):
        for prior in (1e-2, 0.0):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # states without mass
                model = GaussianHMM(n, covariance_type=kind, covars_prior=prior, n_iter=15,
                                    random_state=0).fit(data)
            assert np.all(np.isfinite(model.means_)) and np.all(np.isfinite(model.covars_))
            assert np.linalg.eigvalsh(model.covars_).min() >= model.min_covar * (1 - 1e-9)
            assert np.isfinite(model.score(data))
            assert np.all(np.isfinite(model.predict_proba(data)))
            assert np.isfinite(model.score(np.array([[1e4, -1e4]])))
            # Near the float range a frame is impossible (-inf), never NaN.
            assert not np.isnan(model.score(np.array([[1e300, 0.0]])))


def test_floor_keeps_matrices_above_min_covar_and_others_unchanged():
    rng = np.random.RandomState(4)
    good = _spd(rng, (2,), 3)
    singular = np.ones((1, 3, 3))
    floored = floor_covars(np.concatenate([good, singular]), "full", 1e-3)
    assert_array_equal(floored[:2], good)
    assert_allclose(np.linalg.eigvalsh(floored[2]).min(), 1e-3)
    assert_allclose(floor_covars(np.array([1e-9, 2.0]), "diag", 1e-3), [1e-3, 2.0])


# ----------------------------------------------------------------- missing
def test_missing_feature_diag_matches_model_without_it():
    rng = np.random.RandomState(5)
    model = _model(rng, "diag", 3, 3)
    X = _data(model, rng, [60])
    X[:, 1] = np.nan
    reduced = GaussianHMM(3, covariance_type="diag")
    reduced.startprob_, reduced.transmat_ = model.startprob_, model.transmat_
    reduced.means_ = model.means_[:, [0, 2]]
    reduced.covars_ = model._covars_[:, [0, 2]]
    assert_allclose(model.score(X), reduced.score(X[:, [0, 2]]), rtol=1e-12)
    # Scattered missing values: every frame's term is the product over its
    # observed features; a fully missing frame contributes 0.
    X = _data(model, rng, [80])
    X[rng.random_sample(X.shape) < 0.3] = np.nan
    X[5] = np.nan
    frames = model._get_emission().log_frameprob(X)
    sd = np.sqrt(model._covars_)
    brute = np.nansum(stats.norm.logpdf(X[:, None, :], model.means_, sd), axis=2)
    assert_allclose(frames, brute, rtol=1e-10, atol=1e-12)
    assert_array_equal(frames[5], 0.0)


@pytest.mark.parametrize("kind", ["full", "tied"])
def test_missing_values_full_match_marginal_gaussian(kind):
    rng = np.random.RandomState(6)
    model = _model(rng, kind, 3, 4)
    X = _data(model, rng, [50])
    X[rng.random_sample(X.shape) < 0.35] = np.nan
    X[7] = np.nan
    model._check()
    frames = model._get_emission().log_frameprob(X)
    for t in range(len(X)):
        obs = ~np.isnan(X[t])
        for i in range(3):
            want = 0.0 if not obs.any() else stats.multivariate_normal(
                model.means_[i, obs], model.covars_[i][np.ix_(obs, obs)]).logpdf(X[t, obs])
            assert_allclose(frames[t, i], want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", TYPES)
def test_em_with_missing_values_never_lowers_the_likelihood(kind):
    rng = np.random.RandomState(7)
    truth = _model(rng, kind, 2, 3)
    X = _data(truth, rng, [300])
    X[rng.random_sample(X.shape) < 0.2] = np.nan
    model = GaussianHMM(2, covariance_type=kind, n_iter=15, tol=-np.inf, covars_prior=0.0,
                        min_covar=1e-8, random_state=0).fit(X)
    history = np.array(model.monitor_.history)
    assert np.all(np.diff(history) >= -1e-8 * np.abs(history[1:]))
    assert np.all(np.isfinite(model.means_)) and np.isfinite(model.score(X))


def test_missing_values_m_step_uses_observed_values():
    rng = np.random.RandomState(8)
    X = rng.normal(size=(40, 2)) + [1.0, -3.0]
    X[rng.random_sample(X.shape) < 0.3] = np.nan
    model = GaussianHMM(1, "diag", covars_prior=0.0, n_iter=1, init_params="", params="mc")
    model.startprob_, model.transmat_ = np.ones(1), np.ones((1, 1))
    model.means_, model.covars_ = np.zeros((1, 2)), np.ones((1, 2))
    model.fit(X)
    assert_allclose(model.means_[0], np.nanmean(X, axis=0), rtol=1e-12)
    assert_allclose(model._covars_[0], np.nanvar(X, axis=0), rtol=1e-12)


# --------------------------------------------------------------- bad input
def test_bad_input_raises_clear_errors():
    rng = np.random.RandomState(9)
    model = _model(rng, "full", 2, 3)
    X = _data(model, rng, [10])
    with pytest.raises(ValueError, match="X has 2 features but the model has n_features=3"):
        model.score(X[:, :2])
    for bad in (np.inf, -np.inf):
        Y = X.copy()
        Y[3, 1] = bad
        with pytest.raises(ValueError, match=r"\+/-inf"):
            model.score(Y)
        with pytest.raises(ValueError, match=r"\+/-inf"):
            GaussianHMM(2).fit(Y)
    with pytest.raises(ValueError, match="must be 2-D"):
        model.score(X[:, 0])
    with pytest.raises(ValueError, match="not symmetric"):
        model.covars_ = np.array([[[1.0, 0.5, 0], [0.0, 1, 0], [0, 0, 1]]] * 2)
    with pytest.raises(ValueError, match=r"covars_\[1\] is not positive definite"):
        model.covars_ = np.array([np.eye(3), -np.eye(3)])
    with pytest.raises(ValueError, match=r"'full' covars_ must have shape \(2, 3, 3\)"):
        model.covars_ = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"covars_ must have shape \(2, 3, 3\), got \(2,\)"):
        model.covars_ = np.ones(2)
    diag = GaussianHMM(2, covariance_type="diag")
    with pytest.raises(ValueError, match="covars_ must be positive"):
        diag.covars_ = np.array([[1.0, 0.0], [1.0, 1.0]])
    tied = GaussianHMM(2, covariance_type="tied")
    with pytest.raises(ValueError, match="not positive definite"):
        tied.covars_ = np.array([[1.0, 2.0], [2.0, 1.0]])
    model.means_ = np.zeros((3, 3))
    with pytest.raises(ValueError, match="means_ must have shape"):
        model.score(X)
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        GaussianHMM(2, covariance_type="banana").fit(X)
    with pytest.raises(ValueError, match="min_covar must be a positive"):
        GaussianHMM(2, min_covar=0.0).fit(X)
    with pytest.raises(ValueError, match="no observed value"):
        GaussianHMM(2).fit(np.full((5, 2), np.nan))


# ------------------------------------------------------------- aic and bic
@pytest.mark.parametrize("kind, n_cov", [("spherical", 3), ("diag", 3 * 4),
                                         ("full", 3 * 4 * 5 // 2), ("tied", 4 * 5 // 2)])
def test_aic_bic_count_free_parameters(kind, n_cov):
    rng = np.random.RandomState(10)
    model = _model(rng, kind, 3, 4)
    X = _data(model, rng, [40, 30])
    n_params = (3 - 1) + 3 * (3 - 1) + 3 * 4 + n_cov
    ll = model.score(X, [40, 30])
    assert_allclose(model.aic(X, [40, 30]), -2 * ll + 2 * n_params)
    assert_allclose(model.bic(X, [40, 30]), -2 * ll + n_params * np.log(70))


# --------------------------------------------------------------- the rest
def test_sample_is_reproducible_and_attributes_have_hmmlearn_shapes():
    rng = np.random.RandomState(11)
    for kind, shape in (("spherical", (3,)), ("diag", (3, 2)), ("full", (3, 2, 2)),
                        ("tied", (2, 2))):
        model = _model(rng, kind, 3, 2)
        assert model._covars_.shape == shape
        assert model.covars_.shape == (3, 2, 2) and model.n_features == 2
        X1, s1 = model.sample(500, random_state=3)
        X2, s2 = model.sample(500, random_state=3)
        assert_array_equal(X1, X2)
        assert_array_equal(s1, s2)
        assert X1.shape == (500, 2)
    params = GaussianHMM(2, covariance_type="full").get_params()
    assert params["covariance_type"] == "full" and params["min_covar"] == 1e-3
    assert GaussianHMM(**params).get_params() == params
