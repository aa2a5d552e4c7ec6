"""Variational Bayes HMMs: agreement with hmmlearn 0.3.3, the lower bound, files, bad input."""

import numpy as np
import pytest
from scipy import stats

import hmm_core
from hmm_core.variational import VariationalCategoricalHMM, VariationalGaussianHMM

vhmm = pytest.importorskip("hmmlearn.vhmm")

CHAIN = ["startprob_prior_", "startprob_posterior_", "transmat_prior_", "transmat_posterior_"]
GAUSS = ["means_prior_", "means_posterior_", "beta_prior_", "beta_posterior_", "dof_prior_",
         "dof_posterior_", "scale_prior_", "scale_posterior_"]
CAT = ["emissionprob_prior_", "emissionprob_posterior_"]
LENGTHS = [100, 120, 80]


def _gauss_data(d, seed=1):
    rng = np.random.RandomState(seed)
    return np.concatenate([rng.normal(0, 1, (150, d)), rng.normal(3, 0.5, (150, d))])


def _hmmlearn_run(ref, X, n_iter):
    """hmmlearn's own VB loop, recording every lower bound and the last E-step's posteriors."""
    bounds = []
    for _ in range(n_iter):
        stats_, logprob = ref._do_estep(X, np.array(LENGTHS))
        bounds.append(ref._compute_lower_bound(logprob))
        ref._do_mstep(stats_)
    ref._estep_begin()
    starts = np.cumsum([0] + LENGTHS)
    post = np.concatenate([ref._fit_log(X[a:b])[2] for a, b in
                           zip(starts[:-1], starts[1:], strict=True)])
    return np.array(bounds), post


def _pair(ours, ref_cls, names, X, **kwargs):
    ref = ref_cls(3, n_iter=1, random_state=5, **kwargs)
    ref._init(X, LENGTHS)
    ref._check()
    for name in names:
        setattr(ours, name, np.array(getattr(ref, name), dtype=float))
    return ref


def _our_posteriors(model, X):
    X, offsets = model._validate(X, LENGTHS)
    return model._vb_estep(X, offsets)["posteriors"]


def test_categorical_equals_hmmlearn():
    rng = np.random.RandomState(1)
    X = rng.randint(0, 4, size=(300, 1))
    ours = VariationalCategoricalHMM(3, init_params="", n_iter=15, tol=-np.inf)
    ref = _pair(ours, vhmm.VariationalCategoricalHMM, CHAIN + CAT, X)
    ours.fit(X, LENGTHS)
    bounds, post = _hmmlearn_run(ref, X, 15)
    np.testing.assert_allclose(ours.monitor_.history, bounds, rtol=0, atol=1e-8)
    np.testing.assert_allclose(_our_posteriors(ours, X), post, rtol=0, atol=1e-8)
    for name in CHAIN + CAT:
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-10)
    np.testing.assert_allclose(ours.emissionprob_, ref.emissionprob_, rtol=1e-10)


@pytest.mark.parametrize("kind,d", [("full", 2), ("tied", 2), ("diag", 1), ("spherical", 1)])
def test_gaussian_equals_hmmlearn(kind, d):
    """Equal up to the log(2 pi) constant hmmlearn leaves out of every frame."""
    X = _gauss_data(d)
    ours = VariationalGaussianHMM(3, covariance_type=kind, init_params="", n_iter=10,
                                  tol=-np.inf)
    ref = _pair(ours, vhmm.VariationalGaussianHMM, CHAIN + GAUSS, X, covariance_type=kind)
    ours.fit(X, LENGTHS)
    bounds, post = _hmmlearn_run(ref, X, 10)
    const = X.size / 2 * np.log(2 * np.pi)
    np.testing.assert_allclose(ours.monitor_.history, bounds - const, rtol=0, atol=1e-8)
    np.testing.assert_allclose(_our_posteriors(ours, X), post, rtol=0, atol=1e-8)
    for name in GAUSS:
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-9,
                                   atol=1e-12)
    np.testing.assert_allclose(ours.covars_, ref.covars_, rtol=1e-9)


@pytest.mark.parametrize("kind", ["diag", "spherical"])
def test_gamma_expectations_against_monte_carlo(kind):
    """diag / spherical with several features: our expected log-density is E_q[log N(x)].

    An independent Monte Carlo average over draws of (mean, precisions) from the
    posterior agrees with ours; hmmlearn's (which uses a Wishart's expected
    log-determinant) is off by more than the sampling error.
    """
    X = _gauss_data(3)[::12]  # few frames: small dof, where the two differ most
    model = VariationalGaussianHMM(2, covariance_type=kind, random_state=0, n_iter=3).fit(X)
    ours = model._expected_log_frameprob(X[:5])
    rng = np.random.RandomState(0)
    n_draws = 1_000_000
    mc = np.empty((5, 2))
    errors = np.empty((5, 2))
    for k in range(2):
        dof, scale = model.dof_posterior_[k], np.broadcast_to(
            np.atleast_1d(model.scale_posterior_[k]), (3,))
        shape = (n_draws, 1) if kind == "spherical" else (n_draws, 3)
        lam = rng.gamma(0.5 * dof, 2.0 / scale[: shape[1]], size=shape) * np.ones((1, 3))
        mean = model.means_posterior_[k] + rng.normal(size=(n_draws, 3)) / np.sqrt(
            model.beta_posterior_[k] * lam)
        for t in range(5):
            logpdf = stats.norm.logpdf(X[t], mean, 1 / np.sqrt(lam)).sum(axis=1)
            mc[t, k], errors[t, k] = logpdf.mean(), logpdf.std() / np.sqrt(n_draws)
    assert np.all(np.abs(mc - ours) < 5 * errors)
    ref = vhmm.VariationalGaussianHMM(2, covariance_type=kind)
    ref.n_features = 3
    for name in GAUSS:
        setattr(ref, name, getattr(model, name))
    theirs = ref._compute_subnorm_log_likelihood(X[:5]) - 1.5 * np.log(2 * np.pi)
    assert np.any(np.abs(mc - theirs) > 10 * errors)


@pytest.mark.parametrize("kind", ["full", "tied", "diag", "spherical"])
def test_gaussian_lower_bound_never_decreases(kind):
    X = _gauss_data(3, seed=4)
    model = VariationalGaussianHMM(4, covariance_type=kind, random_state=1, n_iter=40,
                                   tol=-np.inf).fit(X, LENGTHS)
    assert np.all(np.diff(model.monitor_.history) >= -1e-8 * np.abs(model.monitor_.history[1:]))


def test_categorical_lower_bound_never_decreases():
    rng = np.random.RandomState(3)
    X = rng.randint(0, 5, size=(400, 1))
    for seed in range(3):
        model = VariationalCategoricalHMM(4, random_state=seed, n_iter=50, tol=-np.inf).fit(X)
        assert np.all(np.diff(model.monitor_.history) >= -1e-9)


def _sampled_two_state():
    truth = hmm_core.GaussianHMM(2, covariance_type="diag")
    truth.startprob_ = np.array([0.5, 0.5])
    truth.transmat_ = np.array([[0.95, 0.05], [0.05, 0.95]])
    truth.means_ = np.array([[0.0, 0.0], [5.0, 5.0]])
    truth.covars_ = np.ones((2, 2))
    return truth.sample(2000, random_state=0)


def test_overspecified_gaussian_switches_off_states():
    X, _ = _sampled_two_state()
    # Coordinate ascent has local optima: the restart with the best bound wins.
    model = VariationalGaussianHMM(6, covariance_type="diag", random_state=0, n_iter=500,
                                   n_init=8).fit(X)
    occupancy = model.beta_posterior_ - model.beta_prior_
    assert np.sum(occupancy > 0.01 * len(X)) == 2
    assert np.sort(occupancy)[:4].sum() < 0.01 * len(X)


def test_overspecified_categorical_switches_off_states():
    truth = hmm_core.CategoricalHMM(2)
    truth.startprob_ = np.array([0.5, 0.5])
    truth.transmat_ = np.array([[0.9, 0.1], [0.1, 0.9]])
    truth.emissionprob_ = np.array([[0.8, 0.2, 0.0, 0.0], [0.0, 0.0, 0.2, 0.8]])
    X, _ = truth.sample(3000, random_state=0)
    model = VariationalCategoricalHMM(5, random_state=0, n_iter=500, n_init=8).fit(X)
    occupancy = (model.emissionprob_posterior_ - model.emissionprob_prior_).sum(axis=1)
    assert np.sum(occupancy > 0.01 * len(X)) == 2


@pytest.mark.parametrize("make", [
    lambda: VariationalCategoricalHMM(3, random_state=0, n_iter=5),
    lambda: VariationalGaussianHMM(3, covariance_type="diag", random_state=0, n_iter=5),
    lambda: VariationalGaussianHMM(2, covariance_type="tied", random_state=0, n_iter=5),
])
def test_api_and_model_files(make, tmp_path):
    model = make()
    rng = np.random.RandomState(0)
    if isinstance(model, VariationalCategoricalHMM):
        X = rng.randint(0, 3, size=(120, 1))
    else:
        X = rng.normal(size=(120, 2))
    model.fit(X, [60, 60])
    assert np.isfinite(model.score(X))
    assert model.score_sequences(X, [60, 60]).shape == (2,)
    assert model.predict(X).shape == (120,)
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
    assert model.decode(X)[1].shape == (120,)
    sample, states = model.sample(30, random_state=1)
    assert sample.shape[0] == 30 and states.shape == (30,)
    path = tmp_path / "model.hmm"
    model.save(path)
    back = hmm_core.load(path)
    assert type(back) is type(model)
    for name in model._vb_names():
        np.testing.assert_array_equal(getattr(back, name), getattr(model, name))
    assert back.score(X) == model.score(X)
    from sklearn.base import clone
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not copy.monitor_.history


def test_n_init_keeps_best_bound_and_callback():
    X, _ = _sampled_two_state()
    seen = []
    model = VariationalGaussianHMM(3, covariance_type="diag", random_state=0, n_iter=10,
                                   n_init=3, callback=lambda m: seen.append(m.iter)).fit(X)
    assert len(seen) >= 3 and model.monitor_.iter <= 10
    single = [VariationalGaussianHMM(3, covariance_type="diag", random_state=s, n_iter=10)
              .fit(X).monitor_.history[-1] for s in range(2)]
    assert np.isfinite(single).all()


def test_verbose_prints(capsys):
    X = np.random.RandomState(0).randint(0, 3, size=(50, 1))
    VariationalCategoricalHMM(2, random_state=0, n_iter=3, verbose=True).fit(X)
    assert len(capsys.readouterr().err.strip().splitlines()) == 3


@pytest.mark.parametrize("kwargs,match", [
    ({"transmat_prior": -1.0}, "transmat_prior"),
    ({"startprob_prior": np.nan}, "startprob_prior"),
    ({"covariance_type": "bad"}, "covariance_type"),
    ({"dof_prior": 0.0}, "dof_prior"),
])
def test_bad_settings(kwargs, match):
    X = np.random.RandomState(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match=match):
        VariationalGaussianHMM(2, **kwargs).fit(X)


def test_bad_data_and_parameters():
    model = VariationalGaussianHMM(2, random_state=0, n_iter=2)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]]))
    with pytest.raises(ValueError, match="lengths"):
        model.fit(np.zeros((5, 2)), lengths=[2, 2])
    X = np.random.RandomState(0).normal(size=(50, 2))
    model.fit(X)
    model.set_params(init_params="")
    model.scale_posterior_ = model.scale_posterior_ * np.nan
    with pytest.raises(ValueError, match="scale_posterior_"):
        model.fit(X)
    cat = VariationalCategoricalHMM(2, init_params="", random_state=0)
    cat.startprob_prior_, cat.startprob_posterior_ = np.ones(3), np.ones(3)
    with pytest.raises(ValueError, match="startprob_"):
        cat.fit(np.zeros((4, 1), dtype=int))
    with pytest.raises(ValueError, match="X"):
        VariationalCategoricalHMM(2).fit(np.array([[0.5], [1.0]]))


def test_weather_example_runs(tmp_path, monkeypatch):
    import pathlib
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    script = pathlib.Path(__file__).resolve().parents[1] / "examples" / \
        "weather_vb_autoregressive.py"
    result = subprocess.run([sys.executable, str(script), "--states", "4", "--regimes", "2",
                             "--n-iter", "10"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "states kept" in result.stdout and "temperature regimes" in result.stdout


def test_readme_examples_run():
    import pathlib

    readme = pathlib.Path(__file__).resolve().parents[1] / "README.md"
    if not readme.exists():
        pytest.skip("README.md is not beside the tests")
    section = readme.read_text(encoding="utf-8").split(
        "\n## Variational Bayes and autoregressive HMMs\n", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert len(blocks) == 2
    X, _ = _sampled_two_state()
    for block in blocks:
        namespace = {"X": X, "lengths": [1000, 1000]}
        exec(compile(block, "README", "exec"), namespace)
    assert namespace["model"].coefs_.shape == (3, 2, 4)


@pytest.mark.parametrize("make,data", [
    (lambda: VariationalCategoricalHMM(3, random_state=0),
     lambda: np.random.RandomState(0).randint(0, 4, size=(300, 1))),
    (lambda: VariationalGaussianHMM(3, covariance_type="full", random_state=0),
     lambda: _gauss_data(2)),
    (lambda: VariationalGaussianHMM(3, covariance_type="spherical", random_state=0),
     lambda: _gauss_data(2)),
])
def test_accumulate_and_m_step_equal_one_fit_iteration(make, data):
    import copy
    import pickle

    X = data()
    start = make().initialize(X, LENGTHS)
    fitted = copy.deepcopy(start).set_params(init_params="", n_iter=1).fit(X, LENGTHS)
    chunks = [start.accumulate(X[:100], [100]), start.accumulate(X[100:], [120, 80])]
    total = pickle.loads(pickle.dumps(0 + chunks[0] + chunks[1]))
    assert total.n_frames == 300 and total.n_sequences == 3
    assert total.loglik - start._divergence() == pytest.approx(fitted.monitor_.history[0],
                                                               rel=1e-12)
    start.m_step(total)
    for name in start._vb_names():
        np.testing.assert_allclose(getattr(start, name), getattr(fitted, name), rtol=1e-9,
                                   atol=1e-12)
