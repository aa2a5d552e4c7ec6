"""The compiled diagonal-Gaussian loops against direct NumPy formulas."""

import numpy as np
import pytest

from hmm_core._gaussian import diag_log_density, diag_moments


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
