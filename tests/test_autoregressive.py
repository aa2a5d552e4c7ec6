"""AutoregressiveHMM: exact EM against the NumPy reference, recovery, API, bad input."""

import numpy as np
import pytest

import hmm_core
from hmm_core import AutoregressiveHMM
from hmm_core.testing.autoregressive import ar_em_iteration, ar_log_frameprob


def _truth(n_lags=2, diag=False):
    model = AutoregressiveHMM(2, n_lags=n_lags, covariance_type="diag" if diag else "full")
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.array([[0.98, 0.02], [0.03, 0.97]])
    base = np.array([[[0.5, 0.1], [-0.1, 0.4]], [[-0.3, 0.0], [0.2, 0.6]]])
    lags = [base] + [0.3 * base[:, ::-1] for _ in range(n_lags - 1)]
    model.coefs_ = np.concatenate(lags, axis=2)
    model.intercepts_ = np.array([[1.0, 0.0], [-1.0, 0.5]])
    model.covars_ = (np.array([[1.0, 0.8], [0.5, 0.8]]) if diag else
                     np.array([[[1, .3], [.3, 1]], [[.5, 0], [0, .8]]]))
    return model


def _start_point(model, rng, n_lags, d=2, n=3, diag=False):
    model.startprob_ = rng.dirichlet(np.ones(n))
    model.transmat_ = rng.dirichlet(np.ones(n) * 3, size=n)
    model.coefs_ = rng.normal(scale=0.3, size=(n, d, d * n_lags))
    model.intercepts_ = rng.normal(size=(n, d))
    model.covars_ = np.ones((n, d)) if diag else np.tile(np.eye(d), (n, 1, 1))


@pytest.mark.parametrize("kind,n_lags,prior", [("full", 1, {}), ("full", 2, {}),
                                               ("diag", 2, {}),
                                               ("full", 2, {"alpha": 3.0, "covars_prior": 0.5,
                                                            "covars_weight": 2.0})])
def test_em_equals_numpy_reference(kind, n_lags, prior):
    X, _ = _truth().sample(150, random_state=1)
    lengths = [60, 50, 40]
    seqs = np.split(X, np.cumsum(lengths)[:-1])
    model = AutoregressiveHMM(3, n_lags=n_lags, covariance_type=kind, init_params="",
                              n_iter=1, tol=-np.inf, **prior)
    _start_point(model, np.random.RandomState(0), n_lags, diag=kind == "diag")
    full = (lambda c: np.array([np.diag(r) for r in c])) if kind == "diag" else np.array
    params = (model.startprob_, model.transmat_, model.coefs_, model.intercepts_,
              full(model.covars_))
    for _ in range(4):
        loglik, params = ar_em_iteration(seqs, n_lags, *params, diag=kind == "diag", **prior)
        model.fit(X, lengths)
        assert model.monitor_.history[-1] == pytest.approx(loglik, rel=1e-12, abs=1e-10)
        ours = (model.startprob_, model.transmat_, model.coefs_, model.intercepts_,
                full(model.covars_))
        for a, b in zip(ours, params, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_frame_scores_equal_reference():
    model = _truth()
    X, _ = model.sample(40, random_state=2)
    design, _ = model._validate(X, None)
    model._check()
    np.testing.assert_allclose(model._log_frameprob(design),
                               ar_log_frameprob(X, 2, model.coefs_, model.intercepts_,
                                                model.covars_), rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("kind", ["full", "diag"])
def test_em_is_monotone(kind):
    X, _ = _truth().sample(3000, random_state=3)
    model = AutoregressiveHMM(3, n_lags=2, covariance_type=kind, random_state=0, n_iter=40,
                              tol=-np.inf).fit(X, [1000, 1000, 1000])
    history = np.array(model.monitor_.history)
    assert np.all(np.diff(history) >= -1e-8 * np.abs(history[1:]))


def test_recovers_coefficients_from_sampled_data():
    truth = _truth()
    X, _ = truth.sample(100_000, random_state=0)
    model = AutoregressiveHMM(2, n_lags=2, random_state=0, n_iter=100, tol=1e-4).fit(X)
    order = np.argsort(model.intercepts_[:, 0])[::-1]  # truth: state 0 has intercept 1
    # Standard errors are about 1 / sqrt(frames per state) = 0.005 here.
    np.testing.assert_allclose(model.coefs_[order], truth.coefs_, atol=0.025)
    np.testing.assert_allclose(model.intercepts_[order], truth.intercepts_, atol=0.05)
    np.testing.assert_allclose(model.covars_[order], truth.covars_, atol=0.05)
    np.testing.assert_allclose(model.transmat_[np.ix_(order, order)], truth.transmat_,
                               atol=0.01)


def test_ridge_shrinks_weights():
    X, _ = _truth().sample(500, random_state=4)
    free = AutoregressiveHMM(2, n_lags=2, random_state=0, n_iter=5).fit(X)
    ridge = AutoregressiveHMM(2, n_lags=2, random_state=0, n_iter=5, alpha=1e4).fit(X)
    assert np.abs(ridge.coefs_).max() < 0.1 * np.abs(free.coefs_).max()


def test_api_and_model_files(tmp_path):
    X, _ = _truth().sample(400, random_state=5)
    calls = []
    model = AutoregressiveHMM(2, n_lags=2, covariance_type="diag", random_state=0, n_iter=5,
                              n_init=2, callback=lambda m: calls.append(m.iter))
    model.fit(X, [200, 200])
    assert len(calls) >= 2
    assert model.score_sequences(X, [200, 200]).shape == (2,)
    assert np.isclose(model.score(X, [200, 200]), model.score_sequences(X, [200, 200]).sum())
    assert model.predict(X).shape == (400,)
    assert model.decode(X, algorithm="map")[1].shape == (400,)
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
    sample, states = model.sample(50, random_state=0)
    assert sample.shape == (50, 2) and states.shape == (50,)
    path = tmp_path / "ar.hmm"
    model.save(path)
    back = hmm_core.load(path)
    assert back.get_params()["n_lags"] == 2
    assert back.score(X) == model.score(X)
    from sklearn.base import clone
    assert clone(model).get_params() == model.get_params()


def test_verbose(capsys):
    X, _ = _truth().sample(200, random_state=5)
    AutoregressiveHMM(2, random_state=0, n_iter=3, tol=-np.inf, verbose=True).fit(X)
    assert len(capsys.readouterr().err.strip().splitlines()) == 3


def test_bad_input():
    X, _ = _truth().sample(100, random_state=6)
    with pytest.raises(ValueError, match="n_lags"):
        AutoregressiveHMM(2, n_lags=3).fit(X, [50, 47, 3])
    with pytest.raises(ValueError, match="n_lags"):
        AutoregressiveHMM(2, n_lags=0).fit(X)
    with pytest.raises(ValueError, match="covariance_type"):
        AutoregressiveHMM(2, covariance_type="tied").fit(X)
    with pytest.raises(ValueError, match="alpha"):
        AutoregressiveHMM(2, alpha=np.nan).fit(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        AutoregressiveHMM(2).fit(bad)
    model = _truth()
    with pytest.raises(ValueError, match="X"):
        model.score(X[:, :1])
    model.coefs_ = model.coefs_ * np.nan
    with pytest.raises(ValueError, match="coefs_"):
        model.score(X)
    model = _truth()
    model.coefs_ = model.coefs_[:, :, :2]
    with pytest.raises(ValueError, match="coefs_"):
        model.score(X)
    model = _truth()
    model.covars_ = -model.covars_
    with pytest.raises(ValueError, match="covars_"):
        model.score(X)


WEATHER = str(__import__("pathlib").Path(hmm_core.__file__).parent / "data" / "seattle-weather.csv")


@pytest.mark.parametrize("kind,extra", [("autoregressive", ["--lags", "2",
                                                             "--covariance-type", "full"]),
                                        ("variational-gaussian", ["--covariance-type", "diag"])])
def test_command_line_fit_kind(tmp_path, kind, extra):
    from hmm_core.cli.commands import main

    out = tmp_path / "model.npz"
    assert main(["fit", WEATHER, "--columns", "temp_max,temp_min", "--kind", kind, "-n", "2",
                 "--n-iter", "5", "-o", str(out), *extra]) == 0
    model = hmm_core.load(out)
    assert type(model).__name__ == {"autoregressive": "AutoregressiveHMM",
                                    "variational-gaussian": "VariationalGaussianHMM"}[kind]


def _same_params(a, b, names):
    for name in names:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-12)


def test_accumulate_and_m_step_equal_one_fit_iteration():
    import copy
    import pickle

    X, _ = _truth().sample(600, random_state=7)
    lengths = [200, 250, 150]
    start = AutoregressiveHMM(2, n_lags=2, random_state=0).initialize(X, lengths)
    fitted = copy.deepcopy(start).set_params(init_params="", n_iter=1).fit(X, lengths)
    chunks = [start.accumulate(X[:200], [200]), start.accumulate(X[200:], [250, 150])]
    total = pickle.loads(pickle.dumps(sum(chunks)))
    assert total.n_sequences == 3 and total.n_frames == 600
    assert total.loglik == pytest.approx(fitted.monitor_.history[0], rel=1e-12)
    start.m_step(total)
    _same_params(start, fitted, ["startprob_", "transmat_", "coefs_", "intercepts_",
                                 "covars_"])
