"""The compiled diagonal-Gaussian loops against direct NumPy formulas."""

import numpy as np
import pytest
from hmm_core.kernels._emissions import diag_log_density, diag_moments


@pytest.mark.parametrize("n", [1, 3, 4, 5, 17])
@pytest.mark.parametrize("threads", [1, 2])
def test_log_density_with_missing_features(n, threads):
    rng = np.random.default_rng(n)
    X = rng.normal(scale=3.0, size=(5000, 6)) + 1e4   # far from 0: no cancellation allowed
    X[rng.random(X.shape) < 0.1] = np.nan
    X[7] = np.nan                                       # a fully missing frame
    means = rng.normal(size=(n, 6)) + 1e4
    var = rng.uniform(0.1, 4.0, size=(n, 6))
    out = np.empty((5000, n))
    diag_log_density(X, means, var, out, threads)
    terms = (X[:, None, :] - means) ** 2 / var + np.log(2 * np.pi * var)
    expected = -0.5 * np.nansum(terms, axis=-1)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert np.all(out[7] == 0.0)


@pytest.mark.parametrize("n", [1, 3, 4, 9])
def test_moments_with_missing_features(n):
    rng = np.random.default_rng(10 + n)
    X = rng.normal(size=(3000, 5)) * 2 + 1e6
    X[rng.random(X.shape) < 0.1] = np.nan
    W = rng.random((3000, n))
    count, mean, scatter = (np.empty((n, 5)) for _ in range(3))
    diag_moments(X, W, count, mean, scatter)
    obs = ~np.isnan(X)
    exp_count = W.T @ obs
    exp_mean = (W.T @ np.where(obs, X - 1e6, 0.0)) / exp_count + 1e6
    exp_scatter = np.array([[np.sum(W[obs[:, f], k] * (X[obs[:, f], f] - exp_mean[k, f]) ** 2)
                             for f in range(5)] for k in range(n)])
    np.testing.assert_allclose(count, exp_count, rtol=1e-12)
    np.testing.assert_allclose(mean, exp_mean, rtol=1e-13)
    np.testing.assert_allclose(scatter, exp_scatter, rtol=1e-9)


def test_shapes_are_checked():
    out = np.empty((4, 2))
    with pytest.raises(ValueError, match="variances must have shape"):
        diag_log_density(np.zeros((4, 3)), np.zeros((2, 3)), np.ones((2, 2)), out, 1)
    with pytest.raises(ValueError, match="out must have shape"):
        diag_log_density(np.zeros((4, 3)), np.zeros((2, 3)), np.ones((2, 3)), out[:3], 1)
    with pytest.raises(ValueError, match="W must have 4 rows"):
        diag_moments(np.zeros((4, 3)), np.ones((5, 2)), *(np.empty((2, 3)) for _ in range(3)))


def _exact_moments(X, W):
    obs = ~np.isnan(X)
    X0 = np.where(obs, X, 0.0)
    count = W.T @ obs
    mean = np.where(count > 0, (W.T @ X0) / np.where(count > 0, count, 1.0), 0.0)
    scatter = np.array([[np.sum(W[obs[:, f], k] * (X[obs[:, f], f] - mean[k, f]) ** 2)
                         for f in range(X.shape[1])] for k in range(W.shape[1])])
    return count, mean, scatter


@pytest.mark.parametrize("n", [2, 4, 6])
@pytest.mark.parametrize("d", [3, 8, 9])
def test_log_density_groups_with_and_without_missing(n, d):
    # Clean groups of four frames take the fast path, groups with a NaN and
    # the tail frames the per-frame path: both must agree with the formula.
    rng = np.random.default_rng(100 * n + d)
    X = rng.normal(size=(5003, d)) * 2 + 50.0
    X[[3, 10, 4097, 5001], 0] = np.nan
    means = rng.normal(size=(n, d)) + 50.0
    var = rng.uniform(0.5, 3.0, size=(n, d))
    out = np.empty((5003, n))
    diag_log_density(X, means, var, out, 2)
    terms = (X[:, None, :] - means) ** 2 / var + np.log(2 * np.pi * var)
    np.testing.assert_allclose(out, -0.5 * np.nansum(terms, axis=-1), rtol=1e-12)


@pytest.mark.parametrize("n", [1, 4, 7])
@pytest.mark.parametrize("missing", [False, True])
def test_one_pass_moments_match_two_passes(n, missing):
    rng = np.random.default_rng(n + 7 * missing)
    T, d = 10_000, 6                       # three blocks of frames
    X = rng.normal(size=(T, d)) * 3 + 1e5
    if missing:
        X[rng.random(X.shape) < 0.001] = np.nan   # NaN in some blocks only
    W = rng.random((T, n))
    exp_count, exp_mean, exp_scatter = _exact_moments(X, W)
    centre = exp_mean + rng.normal(size=exp_mean.shape)   # near the means
    results = []
    for threads in (1, 2):
        count, mean, scatter = (np.empty((n, d)) for _ in range(3))
        diag_moments(X, W, count, mean, scatter, threads, center=centre)
        results.append((count, mean, scatter))
        np.testing.assert_allclose(count, exp_count, rtol=1e-12)
        np.testing.assert_allclose(mean, exp_mean, rtol=1e-13)
        np.testing.assert_allclose(scatter, exp_scatter, rtol=1e-10)
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)   # the same sums on any thread count


def test_one_pass_moments_fall_back_when_digits_cancel():
    # A centre 1e4 standard deviations off would cancel ~8 digits in one pass;
    # the result must then be exactly the two-pass one.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6000, 4)) + 7.0
    W = rng.random((6000, 3))
    centre = np.full((3, 4), 7.0 + 1e4)
    shifted = [np.empty((3, 4)) for _ in range(3)]
    diag_moments(X, W, *shifted, 2, center=centre)
    plain = [np.empty((3, 4)) for _ in range(3)]
    diag_moments(X, W, *plain, 2)
    for a, b in zip(shifted, plain, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(plain[2], _exact_moments(X, W)[2], rtol=1e-12)


def test_moment_centre_is_checked():
    X, W = np.zeros((4, 3)), np.ones((4, 2))
    out = [np.empty((2, 3)) for _ in range(3)]
    with pytest.raises(ValueError, match="center must have shape"):
        diag_moments(X, W, *out, 1, center=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="center must be finite"):
        diag_moments(X, W, *out, 1, center=np.full((2, 3), np.nan))


def test_inf_check_and_observed_value_check():
    """The one-pass checks give the exact answers, including NaN and overflow."""
    from hmm_core.emissions._covariance import has_inf, has_observation

    x = np.ones((50, 3))
    assert not has_inf(x)
    x[7, 1] = np.nan
    assert not has_inf(x)            # a NaN sum falls back to the exact test
    x[9, 2] = -np.inf
    assert has_inf(x)
    big = np.full((4, 2), 1e308)     # the sum overflows; no entry is inf
    assert not has_inf(big)
    missing = np.full((5, 2), np.nan)
    assert not has_observation(missing)
    missing[4, 1] = 2.0
    assert has_observation(missing)
    with pytest.raises(ValueError, match="inf"):
        from hmm_core.emissions._covariance import check_observations
        check_observations(np.array([[1.0, np.inf]]))
