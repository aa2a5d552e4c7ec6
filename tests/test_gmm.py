"""GMMHMM: hmmlearn parity, agreement with GaussianHMM, missing data, validation."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from scipy.special import logsumexp

from hmm_core.models.gaussian import GaussianHMM
from hmm_core.models.gmm import GMMHMM

TYPES = ["spherical", "diag", "full", "tied"]


def _spd(rng, shape, d):
    A = rng.normal(size=(*shape, d, d))
    return A @ np.swapaxes(A, -1, -2) + np.eye(d)


def _covars(rng, kind, n, m, d):
    return {"spherical": lambda: rng.uniform(0.5, 2.0, (n, m)),
            "diag": lambda: rng.uniform(0.5, 2.0, (n, m, d)),
            "full": lambda: _spd(rng, (n, m), d),
            "tied": lambda: _spd(rng, (n,), d)}[kind]()


def _model(rng, kind, n=2, m=3, d=2, **kwargs):
    model = GMMHMM(n, m, covariance_type=kind, **kwargs)
    model.startprob_ = rng.dirichlet(np.ones(n))
    model.transmat_ = rng.dirichlet(np.ones(n), size=n)
    model.weights_ = rng.dirichlet(np.ones(m), size=n)
    model.means_ = rng.normal(size=(n, m, d)) * 3
    model.covars_ = _covars(rng, kind, n, m, d)
    return model


def _data(model, rng, lengths):
    return np.concatenate([model.sample(int(t), random_state=rng)[0] for t in lengths])


# Explicit priors shared with hmmlearn (its None defaults differ for spherical).
_PRIORS = {"spherical": (-1.2, 0.3), "diag": (-1.2, 0.3),
           "full": (0.2 * np.eye(2), 1.5), "tied": (0.2 * np.eye(2), 1.5)}


def _pair(kind, params, n_iter, rng, means_weight=0.5):
    hmm = pytest.importorskip("hmmlearn.hmm")
    covars_prior, covars_weight = _PRIORS[kind]
    kw = dict(covariance_type=kind, min_covar=1e-6, weights_prior=1.3, means_prior=0.3,
              means_weight=means_weight, covars_prior=covars_prior,
              covars_weight=covars_weight, n_iter=n_iter, tol=-np.inf, init_params="",
              params=params)
    start = _model(rng, kind)
    ours, theirs = GMMHMM(2, 3, **kw), hmm.GMMHMM(2, 3, **kw)
    for model in (ours, theirs):
        model.startprob_, model.transmat_ = start.startprob_, start.transmat_
        model.weights_, model.means_ = start.weights_, start.means_
        model.covars_ = start.covars_
    theirs.n_features = 2
    # hmmlearn's GMMHMM._init runs k-means even with init_params="" and then
    # discards it; keep only the part that matters (shaping the priors).
    theirs._init = lambda X, lengths=None: (theirs._init_covar_priors(),
                                            theirs._fix_priors_shape())
    return ours, theirs


def _fit_both(ours, theirs, X, lengths):
    ours.fit(X, lengths)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hmmlearn's own deprecation chatter
        theirs.fit(X, lengths)


# ------------------------------------------------------------------ hmmlearn
@pytest.mark.parametrize("kind", TYPES)
def test_agrees_with_hmmlearn(kind):
    rng = np.random.RandomState(0)
    truth = _model(rng, kind)
    lengths = [100, 60, 90]
    X = _data(truth, rng, lengths)
    ours, theirs = _pair(kind, "stmcw", 3, rng)
    assert_allclose(ours.score(X, lengths), theirs.score(X, lengths), rtol=1e-10)
    assert_allclose(ours.score_samples(X, lengths)[1], theirs.score_samples(X, lengths)[1],
                    rtol=1e-8, atol=1e-12)
    logprob, path = ours.decode(X, lengths)
    their_logprob, their_path = theirs.decode(X, lengths)
    assert_allclose(logprob, their_logprob, rtol=1e-10)
    assert_array_equal(path, their_path)

    # hmmlearn centres the covariance update on the previous means, we on the
    # updated ones (exact EM). With either update switched off the two are
    # the same formula; min_covar (a floor in every M-step here, init-only in
    # hmmlearn) is too small to bind.
    for params in ("stcw", "stmw"):
        ours, theirs = _pair(kind, params, 3, np.random.RandomState(1))
        _fit_both(ours, theirs, X, lengths)
        assert_allclose(ours.monitor_.history, theirs.monitor_.history, rtol=1e-10)
        for name in ("startprob_", "transmat_", "weights_", "means_", "covars_"):
            assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-8,
                            atol=1e-12, err_msg=f"{params} {name}")


@pytest.mark.parametrize("kind", TYPES)
def test_covariance_update_differs_from_hmmlearn_by_the_mean_shift(kind):
    # After one full EM step, hmmlearn's scatter about the old means exceeds
    # ours by N * (new mean - old mean)^2 (means_weight = 0).
    rng = np.random.RandomState(2)
    X = _data(_model(rng, kind), rng, [250])
    ours, theirs = _pair(kind, "stmcw", 1, np.random.RandomState(3), means_weight=0.0)
    old_means = ours.means_.copy()
    state_mass = ours.predict_proba(X).sum(axis=0)
    _fit_both(ours, theirs, X, None)
    for name in ("startprob_", "transmat_", "weights_", "means_"):
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-8)
    # weights_prior=1.3 adds 0.3 pseudo-counts per component.
    mass = ours.weights_ * (state_mass + 3 * 0.3)[:, None] - 0.3
    shift = ours.means_ - old_means
    alpha, nu = _PRIORS[kind]
    if kind == "diag":
        expected = theirs.covars_ - mass[:, :, None] * shift**2 / (mass[:, :, None] + 3
                                                                   + 2 * alpha)
    elif kind == "spherical":
        expected = theirs.covars_ - mass * (shift**2).sum(-1) / (2 * mass + 2 + 2 * alpha + 2)
    else:
        outer = mass[:, :, None, None] * shift[..., :, None] * shift[..., None, :]
        if kind == "full":
            expected = theirs.covars_ - outer / (mass + nu + 4)[:, :, None, None]
        else:
            expected = theirs.covars_ - outer.sum(1) / (mass.sum(1) + 3 + nu + 3)[:, None,
                                                                                   None]
    assert_allclose(ours.covars_, expected, rtol=1e-8)


# ----------------------------------------------------------- GaussianHMM link
@pytest.mark.parametrize("kind", TYPES)
def test_one_component_mixture_is_a_gaussian_hmm(kind):
    rng = np.random.RandomState(4)
    gmm = _model(rng, kind, n=3, m=1, d=2, n_iter=3, tol=-np.inf, init_params="")
    X = _data(gmm, rng, [150, 100])
    # GMMHMM's tied shares a matrix within a state: with one component it is
    # GaussianHMM's full. The Gaussian priors below make both updates ML.
    gkind = "full" if kind == "tied" else kind
    covars = {"spherical": gmm.covars_[:, 0], "diag": gmm.covars_[:, 0],
              "full": gmm.covars_[:, 0], "tied": gmm.covars_}[kind]
    gauss = GaussianHMM(3, covariance_type=gkind, covars_prior=0.0,
                        covars_weight=2 if gkind == "full" else 1, n_iter=3, tol=-np.inf,
                        init_params="")
    gauss.startprob_, gauss.transmat_ = gmm.startprob_, gmm.transmat_
    gauss.means_, gauss.covars_ = gmm.means_[:, 0], covars
    assert_allclose(gmm.score(X, [150, 100]), gauss.score(X, [150, 100]), rtol=1e-12)
    gmm.fit(X, [150, 100])
    gauss.fit(X, [150, 100])
    assert_allclose(gmm.means_[:, 0], gauss.means_, rtol=1e-9)
    assert_allclose(gmm.covars_.reshape(gauss._covars_.shape), gauss._covars_, rtol=1e-9)
    assert_allclose(gmm.weights_, 1.0)


# ----------------------------------------------------------------- missing
@pytest.mark.parametrize("kind", TYPES)
def test_missing_values_are_marginalised(kind):
    rng = np.random.RandomState(5)
    model = _model(rng, kind, d=3)
    X = _data(model, rng, [40])
    X[rng.random_sample(X.shape) < 0.35] = np.nan
    X[3] = np.nan
    model._check()
    frames = model._get_emission().log_frameprob(X)
    n, m, d = model.means_.shape
    full = {"spherical": lambda c: c[..., None, None] * np.eye(d),
            "diag": lambda c: c[..., :, None] * np.eye(d),
            "full": lambda c: c,
            "tied": lambda c: np.repeat(c[:, None], m, axis=1)}[kind](model.covars_)
    for t in range(len(X)):
        obs = ~np.isnan(X[t])
        for i in range(n):
            if not obs.any():
                assert frames[t, i] == 0.0
                continue
            dens = [stats.multivariate_normal(model.means_[i, k, obs],
                                              full[i, k][np.ix_(obs, obs)]).logpdf(X[t, obs])
                    for k in range(m)]
            assert_allclose(frames[t, i], logsumexp(dens, b=model.weights_[i]), rtol=1e-10)


@pytest.mark.parametrize("kind", TYPES)
def test_em_with_missing_values_never_lowers_the_likelihood(kind):
    rng = np.random.RandomState(6)
    X = _data(_model(rng, kind, m=2), rng, [250])
    X[rng.random_sample(X.shape) < 0.2] = np.nan
    model = GMMHMM(2, 2, covariance_type=kind, n_iter=12, tol=-np.inf, min_covar=1e-8,
                   random_state=0).fit(X)
    history = np.array(model.monitor_.history)
    assert np.all(np.diff(history) >= -1e-8 * np.abs(history[1:]))
    assert np.all(np.isfinite(model.covars_)) and np.isfinite(model.score(X))


# -------------------------------------------------------------- degenerate
@pytest.mark.parametrize("kind", TYPES)
def test_degenerate_data_gives_finite_parameters(kind):
    rng = np.random.RandomState(7)
    X = np.column_stack([rng.normal(size=200), np.full(200, -3.0)])
    X[100, 0] = 1e4
    few = np.array([[0.0, 1.0], [5.0, -2.0], [10.0, 3.0], [10.0, 3.5]])
    for data in (X, few):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # components without mass
            model = GMMHMM(2, 3, covariance_type=kind, n_iter=10, random_state=0).fit(data)
        for name in ("weights_", "means_", "covars_"):
            assert np.all(np.isfinite(getattr(model, name)))
        assert np.isfinite(model.score(data))
        assert np.all(np.isfinite(model.predict_proba(data)))
        assert np.isfinite(model.score(np.array([[-1e4, 1e4]])))


# --------------------------------------------------------------- bad input
def test_bad_input_raises_clear_errors():
    rng = np.random.RandomState(8)
    model = _model(rng, "full")
    X = _data(model, rng, [10])
    with pytest.raises(ValueError, match="X has 3 features but the model has n_features=2"):
        model.score(np.column_stack([X, X[:, :1]]))
    Y = X.copy()
    Y[0, 0] = -np.inf
    with pytest.raises(ValueError, match=r"\+/-inf"):
        model.score(Y)
    with pytest.raises(ValueError, match=r"covars_\[0, 1\] is not positive definite"):
        bad = model.covars_.copy()
        bad[0, 1] = -np.eye(2)
        model.covars_ = bad
    with pytest.raises(ValueError, match="not symmetric"):
        bad = model.covars_.copy()
        bad[1, 2, 0, 1] += 1.0
        model.covars_ = bad
    with pytest.raises(ValueError, match=r"'full' covars_ must have shape \(2, 3, 2, 2\)"):
        model.covars_ = np.ones((2, 3, 2))
    weights = model.weights_
    model.weights_ = np.full((2, 3), 0.5)
    with pytest.raises(ValueError, match="rows of weights_ must sum to 1"):
        model.score(X)
    model.weights_ = np.ones((3, 2)) / 2
    with pytest.raises(ValueError, match=r"weights_ must have shape \(n_components, n_mix\)"):
        model.score(X)
    model.weights_ = weights
    model.means_ = np.zeros((2, 2, 2))
    with pytest.raises(ValueError, match="means_ must have shape"):
        model.score(X)
    with pytest.raises(ValueError, match="n_mix must be a positive integer"):
        GMMHMM(2, 0).fit(X)
    spherical = GMMHMM(2, 3, covariance_type="spherical")
    with pytest.raises(ValueError, match="covars_ must be positive"):
        spherical.covars_ = np.array([[1.0, 1.0, -1.0], [1.0, 1.0, 1.0]])


# ------------------------------------------------------------- aic and bic
@pytest.mark.parametrize("kind, n_cov", [("spherical", 2 * 3), ("diag", 2 * 3 * 4),
                                         ("full", 2 * 3 * 4 * 5 // 2),
                                         ("tied", 2 * 4 * 5 // 2)])
def test_aic_bic_count_free_parameters(kind, n_cov):
    rng = np.random.RandomState(9)
    model = _model(rng, kind, 2, 3, 4)
    X = _data(model, rng, [30, 20])
    # startprob + transmat + means + covariances + weights (n_mix - 1 per state).
    n_params = 1 + 2 * 1 + 2 * 3 * 4 + n_cov + 2 * 2
    ll = model.score(X, [30, 20])
    assert_allclose(model.aic(X, [30, 20]), -2 * ll + 2 * n_params)
    assert_allclose(model.bic(X, [30, 20]), -2 * ll + n_params * np.log(50))


# --------------------------------------------------------------- the rest
def test_sample_follows_the_mixture_and_is_reproducible():
    rng = np.random.RandomState(10)
    model = _model(rng, "diag", 1, 2, 1)
    model.startprob_, model.transmat_ = np.ones(1), np.ones((1, 1))
    model.weights_ = np.array([[0.3, 0.7]])
    model.means_ = np.array([[[-5.0], [5.0]]])
    model.covars_ = np.array([[[1.0], [0.25]]])
    X, states = model.sample(20_000, random_state=0)
    assert_array_equal(X, model.sample(20_000, random_state=0)[0])
    right = X[:, 0] > 0
    # Binomial standard error of the share: sqrt(0.21 / 20000) ~ 0.003.
    assert abs(right.mean() - 0.7) < 0.015
    assert abs(X[right, 0].std() - 0.5) < 0.02 and abs(X[~right, 0].mean() + 5) < 0.05


def test_fit_initialises_hmmlearn_shapes():
    rng = np.random.RandomState(11)
    X = np.concatenate([rng.normal(0, 1, (80, 2)), rng.normal(6, 1, (80, 2))])
    for kind, shape in (("spherical", (2, 3)), ("diag", (2, 3, 2)), ("full", (2, 3, 2, 2)),
                        ("tied", (2, 2, 2))):
        model = GMMHMM(2, 3, covariance_type=kind, n_iter=5, random_state=0).fit(X)
        assert model.covars_.shape == shape and model.means_.shape == (2, 3, 2)
        assert model.weights_.shape == (2, 3) and model.n_features == 2
        assert_allclose(model.weights_.sum(axis=1), 1.0)
    params = model.get_params()
    assert params["n_mix"] == 3 and params["covars_prior"] is None
    assert GMMHMM(**params).get_params() == params
