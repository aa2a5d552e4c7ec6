"""Gaussian, GMM and Poisson emissions on hostile data, and fits that do not depend on units."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import hmm_core
from hmm_core.emissions import GaussianEmission, PoissonEmission
from hmm_core.emissions._scale import _exact_moments, feature_scale

TYPES = ["spherical", "diag", "full", "tied"]
SCALES = [1e-6, 1e-3, 1.0, 1e3, 1e6]
FITTED = ("startprob_", "transmat_", "means_", "covars_", "weights_", "lambdas_")


# ------------------------------------------------------------- hostile data
def _spike(value):
    X = np.zeros((10, 2))
    X[0, 0] = value
    X[:, 1] = np.random.RandomState(0).normal(size=10)
    return X


def _hostile():
    """Data sets, each with whether a Gaussian fit must refuse it."""
    rng = np.random.RandomState(0)
    normal = rng.normal(size=(30, 2))
    return {
        # Variances beyond double precision: refused, naming the feature.
        "spike 1e200": (_spike(1e200), True),
        "spike -1e308": (_spike(-1e308), True),
        "values near 1e308": (np.array([[1e308, -1e308], [-1e308, 1e308],
                                        [1.7e308, 0.0]] * 4), True),
        "scale 1e-300": (normal * 1e-300, True),
        "constant at 1e200": (np.column_stack([normal[:, 0], np.full(30, 1e200)]), True),
        # Representable, however odd: fitted.
        "spike 1e140": (_spike(1e140), False),
        "scale 1e144": (normal * 1e144, False),
        "scale 1e-144": (normal * 1e-144, False),
        "huge and tiny features": (normal * [1e100, 1e-100], False),
        "huge and tiny in one feature": (np.column_stack([np.tile([1e100, 1e-100, 0.0], 10),
                                                          normal[:, 1]]), False),
        "outlier": (np.vstack([normal, [[1e100, 0.0]]]), False),
        "constant feature": (np.column_stack([normal[:, 0], np.full(30, 7.0)]), False),
        "all constant": (np.full((20, 2), 3.0), False),
        "all zero": (np.zeros((20, 2)), False),
        "single frame": (np.array([[1.5, -2.0]]), False),
        "two identical frames": (np.array([[1.5, -2.0], [1.5, -2.0]]), False),
        "three frames": (normal[:3], False),
        "missing values": (np.where(rng.random_sample((40, 2)) < 0.3, np.nan,
                                    rng.normal(size=(40, 2))), False),
    }


def _gaussian_models():
    models = {f"GaussianHMM {k}": (lambda n, k=k: hmm_core.GaussianHMM(n, k, random_state=0))
              for k in TYPES}
    models.update({f"GMMHMM {k}": (lambda n, k=k: hmm_core.GMMHMM(
        n, 2, covariance_type=k, random_state=0)) for k in TYPES})
    models["IndependentHMM"] = lambda n: hmm_core.IndependentHMM(
        [(0, GaussianEmission("diag")), (1, GaussianEmission("full"))], n_components=n,
        random_state=0)
    return models


def _check_fitted(model, X):
    for name in FITTED:
        value = getattr(model, name, None)
        if value is not None:
            assert not np.isnan(np.asarray(value, dtype=float)).any(), name
    assert np.isfinite(model.score(X))
    assert not np.isnan(model.predict_proba(X)).any()


@pytest.mark.parametrize("data", list(_hostile()))
@pytest.mark.parametrize("kind", list(_gaussian_models()))
def test_hostile_data_is_fitted_without_nan_or_refused_naming_the_feature(kind, data):
    X, refused = _hostile()[data]
    # Five states: more than the frames of the smallest data sets.
    for n in (2, 5):
        model = _gaussian_models()[kind](n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # states without mass
            if refused:
                with pytest.raises(ValueError, match=r"X\[:, \d\] .*rescale"):
                    model.fit(X)
                continue
            model.fit(X)
        _check_fitted(model, X)


def test_the_k_means_overflow_is_a_clear_error():
    X = np.zeros((10, 1))
    X[0] = 1e200
    for model in (hmm_core.GaussianHMM(1), hmm_core.GaussianHMM(2, "full"), hmm_core.GMMHMM(1),
                  hmm_core.IndependentHMM([(0, GaussianEmission())])):
        with pytest.raises(ValueError, match=r"X\[:, 0\] has standard deviation 3e\+199.*"
                                             r"rescale that feature"):
            model.fit(X)


def test_an_independent_block_error_names_the_column_of_x():
    X = np.column_stack([np.arange(10.0), np.zeros(10), np.zeros(10)])
    X[0, 2] = 1e200
    model = hmm_core.IndependentHMM([(slice(0, 2), GaussianEmission()),
                                     ([2], GaussianEmission())], n_components=2)
    with pytest.raises(ValueError, match=r"block 1 \(columns \[2\]\): X\[:, 2\] has"):
        model.fit(X)


def test_command_line_fit_of_a_csv_holding_1e200_is_a_one_line_error(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x\n1e200\n" + "0\n" * 9)
    run = subprocess.run([sys.executable, "-m", "hmm_core", "fit", str(data), "-o",
                          str(tmp_path / "m.npz")], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)  # not the checkout, whose hmm_core/ has no kernels
    assert run.returncode == 1, run.stderr
    assert "X[:, 0] has standard deviation" in run.stderr and "rescale" in run.stderr
    assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1


# ------------------------------------------------------------------ Poisson
@pytest.mark.parametrize("X", [
    np.array([[1e300], [1.0]]),
    np.array([[2**62], [1]], dtype=np.int64),
    np.array([[2**53 + 1], [1]], dtype=np.int64),  # rounds to 2**53 as a float
    np.array([[2.0**53 + 2], [1.0]]),
    np.array([[1.0, 2.0], [np.nan, 1e300]]),
], ids=["1e300", "2**62", "2**53+1 int", "2**53+2 float", "with missing"])
def test_poisson_counts_above_2_53_name_x(X):
    models = [hmm_core.PoissonHMM(2, random_state=0)]
    if X.dtype.kind == "f":  # IndependentHMM reads one float matrix
        models.append(hmm_core.IndependentHMM([(list(range(X.shape[1])), PoissonEmission())],
                                              n_components=2, random_state=0))
    for model in models:
        with pytest.raises(ValueError, match=r"X must hold counts of at most 2\*\*53"):
            model.fit(X)


def test_poisson_hostile_counts_fit_without_nan():
    rng = np.random.RandomState(0)
    cases = [np.array([[2**53], [1], [0]], dtype=np.int64), np.zeros((5, 2), dtype=int),
             np.full((6, 2), 4), np.array([[3, 0]]), np.array([[3, 0], [3, 0]]),
             rng.poisson(1e12, size=(40, 2)), np.array([[1.0, np.nan], [np.nan, 2.0]])]
    for X in cases:
        for n in (2, 5):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                model = hmm_core.PoissonHMM(n, random_state=0).fit(X)
            _check_fitted(model, X)


# ------------------------------------------------------------ equivariance
def _two_regimes(T=400, seed=0):
    rng = np.random.RandomState(seed)
    truth = hmm_core.GaussianHMM(2, "full")
    truth.startprob_ = np.array([0.6, 0.4])
    truth.transmat_ = np.array([[0.95, 0.05], [0.1, 0.9]])
    truth.means_ = np.array([[0.0, 1.0], [1.5, -0.5]])
    truth.covars_ = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.4, -0.1], [-0.1, 2.0]]])
    return truth.sample(T, random_state=rng)[0]


def _assert_rescaled(fit, ref, X, factors):
    """``fit`` (trained on X * factors) is ``ref`` (trained on X) in other units."""
    factors = np.broadcast_to(factors, (X.shape[1],))
    for name in ("startprob_", "transmat_"):
        assert_allclose(getattr(fit, name), getattr(ref, name), rtol=1e-8, atol=1e-10)
    means = np.asarray(ref.means_)
    assert_allclose(fit.means_ / factors, means, rtol=1e-8, atol=1e-8 * np.abs(means).max())
    covars, got, kind = ref.covars_, fit.covars_, ref.covariance_type
    if kind == "spherical" and not isinstance(ref, hmm_core.GaussianHMM):
        unit = factors[0] ** 2
    elif kind == "diag" and not isinstance(ref, hmm_core.GaussianHMM):
        unit = factors**2
    else:
        unit = np.multiply.outer(factors, factors)
    assert_allclose(got / unit, covars, rtol=1e-8, atol=1e-8 * np.abs(covars).max())
    if isinstance(ref, hmm_core.GMMHMM):
        assert_allclose(fit.weights_, ref.weights_, rtol=1e-8, atol=1e-10)
    # Densities pick up the Jacobian of the change of units, exactly.
    shift = X.shape[0] * np.log(factors).sum()
    assert_allclose(fit.score(X * factors) + shift, ref.score(X),
                    rtol=1e-8 * (1 + abs(shift) / abs(ref.score(X))))


@pytest.mark.parametrize("kind", TYPES)
def test_gaussian_default_fit_does_not_depend_on_units(kind):
    X = _two_regimes()
    ref = hmm_core.GaussianHMM(2, kind, random_state=0).fit(X)
    for scale in SCALES:
        fit = hmm_core.GaussianHMM(2, kind, random_state=0).fit(X * scale)
        assert fit.monitor_.iter == ref.monitor_.iter
        _assert_rescaled(fit, ref, X, scale)


@pytest.mark.parametrize("kind", ["diag", "full", "tied"])
def test_gaussian_default_fit_does_not_depend_on_the_units_of_each_feature(kind):
    X = _two_regimes()
    ref = hmm_core.GaussianHMM(2, kind, random_state=0).fit(X)
    factors = np.array([1e-4, 1e5])
    _assert_rescaled(hmm_core.GaussianHMM(2, kind, random_state=0).fit(X * factors), ref, X,
                     factors)


@pytest.mark.parametrize("kind", TYPES)
def test_gmm_default_fit_does_not_depend_on_units(kind):
    X = _two_regimes(300, seed=1)
    ref = hmm_core.GMMHMM(2, 2, covariance_type=kind, random_state=0).fit(X)
    for scale in SCALES:
        fit = hmm_core.GMMHMM(2, 2, covariance_type=kind, random_state=0).fit(X * scale)
        _assert_rescaled(fit, ref, X, scale)


def test_returns_like_data_beat_a_single_gaussian_in_any_units():
    truth = hmm_core.GaussianHMM(2, "diag")
    truth.startprob_ = np.array([0.5, 0.5])
    truth.transmat_ = np.array([[0.98, 0.02], [0.03, 0.97]])
    truth.means_ = np.array([[5e-4], [-5e-4]])
    truth.covars_ = np.array([[1e-4], [4e-4]])
    X = truth.sample(5000, random_state=0)[0]
    single = -0.5 * len(X) * (np.log(2 * np.pi * X.var()) + 1.0)  # Gaussian MLE
    for kind in TYPES[:3]:  # tied: one variance for both regimes
        model = hmm_core.GaussianHMM(2, kind, random_state=0, n_iter=100).fit(X)
        assert model.score(X) > single + 100.0
        assert_allclose(np.sort(model._covars_.ravel()), [1e-4, 4e-4], rtol=0.15)
        percent = hmm_core.GaussianHMM(2, kind, random_state=0, n_iter=100).fit(X * 100)
        _assert_rescaled(percent, model, X, 100.0)


# ---------------------------------------------------------------- the floor
@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("scale", [1e-4, 1.0, 1e4])
def test_floor_is_relative_and_keeps_degenerate_states_apart(kind, scale):
    rng = np.random.RandomState(3)
    # A constant feature, and an outlier a state can capture alone.
    X = np.column_stack([rng.normal(size=300), np.full(300, 7.0)]) * scale
    X[150, 0] = 1e4 * scale
    ref_var = np.array([X[:, 0].var(), (7.0 * scale) ** 2])
    for prior in (None, 0.0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            model = hmm_core.GaussianHMM(3, kind, covars_prior=prior, n_iter=15,
                                         random_state=0).fit(X)
        sd = np.sqrt(ref_var)
        standardised = model.covars_ / np.multiply.outer(sd, sd)
        floor = model.min_covar * (ref_var.mean() / ref_var if kind == "spherical" else 1.0)
        smallest = (np.diagonal(standardised, axis1=1, axis2=2) if kind == "spherical"
                    else np.linalg.eigvalsh(standardised))
        assert np.all(smallest >= np.min(floor) * (1 - 1e-9))
        assert np.isfinite(model.score(X))


def test_floor_reference_is_recorded_when_a_fit_starts():
    X = _two_regimes()
    model = hmm_core.GaussianHMM(2, "diag", init_params="", n_iter=1, tol=-np.inf)
    model.startprob_, model.transmat_ = np.array([0.5, 0.5]), np.full((2, 2), 0.5)
    model.means_, model.covars_ = np.zeros((2, 2)), np.ones((2, 2))
    model.min_covar = 10.0  # binds: every variance is 10 x the feature's variance
    model.fit(X * 1e-3)
    assert_allclose(model._covars_, np.tile(10.0 * (X * 1e-3).var(axis=0), (2, 1)),
                    rtol=1e-10)


def test_covars_prior_default_is_relative_and_given_values_absolute():
    assert hmm_core.GaussianHMM().covars_prior is None
    X = _two_regimes() * 1e-2
    relative = hmm_core.GaussianHMM(2, "diag", random_state=0).fit(X)
    absolute = hmm_core.GaussianHMM(2, "diag", covars_prior=1e-2, random_state=0).fit(X)
    # 1e-2 in absolute units dwarfs variances of about 1e-4: a different fit.
    assert not np.allclose(relative._covars_, absolute._covars_, rtol=1e-3)
    # On data whose variances are about 1 the two are nearly the same prior.
    unit = hmm_core.GaussianHMM(2, "diag", covars_prior=1e-2, random_state=0).fit(X * 1e2)
    assert_allclose(np.sort(unit._covars_.ravel()) * 1e-4,
                    np.sort(relative._covars_.ravel()), rtol=1e-2)


# ------------------------------------------------------------ feature scales
def test_feature_scale_agrees_with_the_exact_two_pass_moments():
    rng = np.random.RandomState(4)
    X = rng.normal(size=(500, 4)) * [1.0, 1e-120, 1e120, 1.0] + [0.0, 0.0, 0.0, 1e9]
    X[::7, 0] = np.nan
    scale = feature_scale(X)
    centre, sd = _exact_moments(X)
    assert_allclose(scale.centre, centre, rtol=1e-12)
    assert_allclose(scale.sd, sd, rtol=1e-9)
    assert_allclose(scale.variance, sd**2, rtol=1e-9)


def test_feature_scale_of_constant_and_missing_features():
    X = np.array([[0.1, 0.0, np.nan, 5.0], [0.1, 0.0, np.nan, np.nan], [0.1, 0.0, np.nan, 5.0]])
    scale = feature_scale(X)
    assert_array_equal(scale.sd, 0.0)
    assert_array_equal(scale.centre, [0.1, 0.0, 0.0, 5.0])
    assert_array_equal(scale.variance, [0.1**2, 1.0, 1.0, 25.0])
    Z = scale.standardise(X)
    assert_array_equal(Z[:, [0, 1]], 0.0)
    assert np.isnan(Z[1, 3]) and Z[0, 3] == 0.0
