"""SemiMarkovHMM: EM, recovery of durations, the model API and bad input."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

import hmm_core
from hmm_core import SemiMarkovHMM, SemiMarkovStatistics
from hmm_core.emissions import CategoricalEmission, GaussianEmission
from hmm_core.testing.semimarkov import semimarkov_estep, semimarkov_viterbi


def gaussian_model(duration="nonparametric", censor_last=False, max_duration=12, **kw):
    model = SemiMarkovHMM(3, emission="gaussian", max_duration=max_duration,
                          duration=duration, censor_last=censor_last, **kw)
    model.startprob_ = np.array([0.6, 0.3, 0.1])
    model.transmat_ = np.array([[0.0, 0.7, 0.3], [0.5, 0.0, 0.5], [0.8, 0.2, 0.0]])
    d = np.arange(1, max_duration + 1)
    if duration == "nonparametric":
        table = np.array([np.exp(-0.5 * (d - m) ** 2 / 2.0) for m in (3, 8, 5)])
        model.durationprob_ = table / table.sum(axis=1, keepdims=True)
    elif duration == "poisson":
        model.duration_params_ = np.array([[2.0], [7.0], [4.0]])
    else:
        model.duration_params_ = np.array([[3.0, 0.5], [10.0, 0.6], [5.0, 0.5]])
    model.emission_ = GaussianEmission()
    model.emission_.means_ = np.array([[0.0], [3.0], [-3.0]])
    model.emission_.covars_ = np.array([[1.0], [1.0], [1.0]])
    return model


def sampled(model, n_seq, length, seed):
    parts = [model.sample(length, random_state=seed + k) for k in range(n_seq)]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.full(n_seq, length))


@pytest.mark.parametrize("duration", ["nonparametric", "poisson", "negative_binomial"])
@pytest.mark.parametrize("censor_last", [False, True])
def test_em_never_decreases_the_likelihood(duration, censor_last):
    truth = gaussian_model(duration, censor_last=True)
    X, _, lengths = sampled(truth, 5, 60, 0)
    model = SemiMarkovHMM(3, max_duration=12, duration=duration, censor_last=censor_last,
                          n_iter=15, tol=-np.inf, random_state=1)
    model.fit(X, lengths)
    history = np.array(model.monitor_.history)
    assert len(history) == 15
    assert np.all(np.diff(history) >= -1e-8 * np.abs(history[1:])), history


def test_categorical_em_is_monotone_and_matches_the_reference():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(120, 1))
    model = SemiMarkovHMM(2, emission="categorical", max_duration=6, censor_last=True,
                          n_iter=10, tol=-np.inf, random_state=0).fit(X, [50, 70])
    assert np.all(np.diff(model.monitor_.history) >= -1e-10)
    engine = model._check()
    frames = model._frames(model._validate(X, None)[0])
    offsets = np.array([0, 50, 120])
    ref = semimarkov_estep(frames, offsets, engine.log_startprob, engine.log_transmat,
                           engine.log_duration, engine.log_last)
    np.testing.assert_allclose(model.predict_proba(X, [50, 70]), ref["posteriors"],
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.score_sequences(X, [50, 70]), ref["loglik"], rtol=1e-10)
    _, path = semimarkov_viterbi(frames, offsets, engine.log_startprob, engine.log_transmat,
                                 engine.log_duration, engine.log_last)
    np.testing.assert_array_equal(model.predict(X, [50, 70]), path)


def _run_lengths(states, lengths):
    runs = []
    for seq in np.split(states, np.cumsum(lengths)[:-1]):
        cut = np.flatnonzero(np.diff(seq)) + 1
        bounds = np.r_[0, cut, len(seq)]
        # Whole segments only: the first and last runs of a sequence may be cut.
        for a, b in zip(bounds[1:-2], bounds[2:-1], strict=True):
            runs.append((seq[a], b - a))
    return runs


@pytest.mark.parametrize("duration", ["nonparametric", "poisson", "negative_binomial"])
def test_recovers_duration_distributions(duration):
    truth = gaussian_model(duration, censor_last=True)
    X, states, lengths = sampled(truth, 40, 250, 100)
    model = SemiMarkovHMM(3, max_duration=12, duration=duration, censor_last=True, n_iter=60,
                          tol=1e-6, random_state=0).fit(X, lengths)
    order = np.argsort(model.emission_.means_[:, 0])[[1, 2, 0]]   # 0, 3, -3
    want = truth.durationprob_
    got = model.durationprob_[order]
    mean_d = np.arange(1, 13)
    np.testing.assert_allclose(got @ mean_d, want @ mean_d, atol=0.4)   # sampling error
    assert np.abs(got - want).max() < 0.05
    # The segment durations of the true paths agree with the fitted tables too.
    runs = _run_lengths(states, lengths)
    for j in range(3):
        observed = np.mean([d for s, d in runs if s == j])
        assert abs(observed - want[j] @ mean_d) < 0.5


def test_sufficient_statistics_add_up_to_one_em_iteration():
    truth = gaussian_model()
    X, _, lengths = sampled(truth, 4, 50, 5)
    a = gaussian_model(init_params="").initialize(X, lengths)   # data-scaled priors only
    b = pickle.loads(pickle.dumps(a))
    whole = a.accumulate(X, lengths)
    parts = sum([b.accumulate(X[:100], [50, 50]), b.accumulate(X[100:], [50, 50])])
    assert isinstance(parts, SemiMarkovStatistics)
    assert (parts.n_sequences, parts.n_frames) == (4, 200)
    np.testing.assert_allclose(parts.loglik, whole.loglik, rtol=1e-12)
    np.testing.assert_allclose(parts.duration_counts, whole.duration_counts, atol=1e-10)
    assert len(pickle.dumps(parts)) < 10_000
    a.m_step(whole)
    b.m_step(parts)
    np.testing.assert_allclose(a.durationprob_, b.durationprob_, atol=1e-10)
    np.testing.assert_allclose(a.emission_.means_, b.emission_.means_, atol=1e-10)
    # One fit iteration from the same start is the same update.
    c = gaussian_model(n_iter=1, init_params="")
    c.fit(X, lengths)
    np.testing.assert_allclose(c.transmat_, a.transmat_, atol=1e-12)
    np.testing.assert_allclose(c.emission_.covars_, a.emission_.covars_, atol=1e-12)


def test_save_load_clone_and_params(tmp_path):
    truth = gaussian_model("negative_binomial", censor_last=True)
    X, _, lengths = sampled(truth, 3, 80, 0)
    seen = []
    model = SemiMarkovHMM(3, max_duration=12, duration="negative_binomial", censor_last=True,
                          n_iter=3, n_init=2, random_state=0, callback=seen.append).fit(
        X, lengths)
    assert len(seen) == 6
    path = tmp_path / "hsmm.npz"
    model.save(path)
    loaded = hmm_core.load(path)
    assert isinstance(loaded, SemiMarkovHMM)
    for name in ("startprob_", "transmat_", "durationprob_", "duration_params_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    np.testing.assert_array_equal(loaded.emission_.means_, model.emission_.means_)
    assert loaded.score(X, lengths) == model.score(X, lengths)
    assert loaded.monitor_.history == model.monitor_.history
    params = model.get_params()
    assert params["duration"] == "negative_binomial" and params["max_duration"] == 12
    fresh = clone(model)
    assert not hasattr(fresh, "startprob_") and fresh.get_params()["n_init"] == 2
    # Custom emission models go through the same interface and into files.
    custom = SemiMarkovHMM(2, emission=GaussianEmission(covariance_type="full"),
                           max_duration=5, n_iter=2, random_state=0)
    custom.fit(np.random.default_rng(0).normal(size=(60, 2)))
    custom.save(tmp_path / "custom.npz")
    back = hmm_core.load(tmp_path / "custom.npz")
    assert back.emission_.covariance_type == "full"
    np.testing.assert_array_equal(back.emission_.covars_, custom.emission_.covars_)


def test_verbose_prints_one_line_per_iteration(capsys):
    X = np.random.default_rng(0).normal(size=(40, 1))
    SemiMarkovHMM(2, max_duration=5, n_iter=3, tol=-np.inf, verbose=True,
                  random_state=0).fit(X)
    assert len(capsys.readouterr().err.strip().splitlines()) == 3


def test_sample_decode_and_segments():
    model = gaussian_model(max_duration=12)
    X, states = model.sample(300, random_state=3)
    assert X.shape == (300, 1) and states.shape == (300,)
    logprob, path = model.decode(X)
    assert np.isfinite(logprob) and np.mean(path == states) > 0.8
    seg = model.decode_segments(X)
    assert seg.duration.sum() == 300 and (seg.duration <= 12).all()
    assert (seg.state[1:] != seg.state[:-1]).all()
    np.testing.assert_array_equal(np.repeat(seg.state, seg.duration), path)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.aic(X) > 0 and model.bic(X) > model.aic(X)


def test_geometric_durations_match_the_hmm_up_to_truncation():
    """A geometric duration table is an HMM's; truncation at D costs a known factor."""
    stay = np.array([0.8, 0.6])
    transmat = np.array([[0.8, 0.2], [0.4, 0.6]])
    X = np.array([[0], [1], [1], [0], [0], [0], [1], [0], [1], [1]])
    hmm = hmm_core.CategoricalHMM(2)
    hmm.startprob_ = np.array([0.3, 0.7])
    hmm.transmat_ = transmat
    hmm.emissionprob_ = np.array([[0.7, 0.3], [0.2, 0.8]])
    max_d = 60
    d = np.arange(1, max_d + 1)
    geometric = (1 - stay)[:, None] * stay[:, None] ** (d - 1)
    model = SemiMarkovHMM(2, emission="categorical", max_duration=max_d, censor_last=True)
    model.startprob_ = hmm.startprob_
    model.transmat_ = np.array([[0.0, 1.0], [1.0, 0.0]])
    model.durationprob_ = geometric / geometric.sum(axis=1, keepdims=True)
    model.emission_ = CategoricalEmission()
    model.emission_.emissionprob_ = hmm.emissionprob_
    # Each segment's probability is divided by the kept mass 1 - stay^D (at most
    # T segments), and a censored last segment of length l keeps 1 - stay^(D-l+1).
    kept = 1 - stay.max() ** (max_d - len(X) + 1)
    gap = model.score(X) - hmm.score(X)
    assert np.log(kept) - 1e-12 <= gap <= -len(X) * np.log1p(-stay.max() ** max_d) + 1e-12
    assert abs(gap) < 1e-4


def test_bad_input_raises_value_errors_naming_the_argument():
    X = np.zeros((10, 1))
    with pytest.raises(ValueError, match="max_duration"):
        SemiMarkovHMM(2, max_duration=0).fit(X)
    with pytest.raises(ValueError, match="duration"):
        SemiMarkovHMM(2, duration="gamma").fit(X)
    with pytest.raises(ValueError, match="emission"):
        SemiMarkovHMM(2, emission="laplace").fit(X)
    model = gaussian_model()
    model.startprob_ = np.array([np.nan, 0.5, 0.5])
    with pytest.raises(ValueError, match="startprob_"):
        model.score(X)
    model = gaussian_model()
    model.transmat_ = np.full((3, 3), 1 / 3)
    with pytest.raises(ValueError, match="transmat_"):
        model.score(X)
    model = gaussian_model()
    model.durationprob_ = np.ones((3, 5)) / 5
    with pytest.raises(ValueError, match="durationprob_"):
        model.score(X)
    model = gaussian_model("poisson")
    model.duration_params_ = np.array([[1.0], [np.nan], [2.0]])
    with pytest.raises(ValueError, match="duration_params_"):
        model.score(X)
    with pytest.raises(ValueError, match="X"):
        gaussian_model().score(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="lengths"):
        gaussian_model().score(X, lengths=[4, 4])
    # Durations that cannot fit a sequence: -inf, never NaN; fit explains.
    one = SemiMarkovHMM(1, max_duration=3, n_iter=2, random_state=0)
    one.startprob_, one.transmat_ = np.ones(1), np.zeros((1, 1))
    one.durationprob_ = np.full((1, 3), 1 / 3)
    one.emission_ = GaussianEmission()
    one.emission_.means_, one.emission_.covars_ = np.zeros((1, 1)), np.ones((1, 1))
    scores = one.score_sequences(X, [2, 8])
    assert np.isfinite(scores[0]) and scores[1] == -np.inf
    assert (one.predict_proba(X, [2, 8])[2:] == 0).all()
    with pytest.raises(ValueError, match="max_duration"):
        one.fit(X, [2, 8])
    with pytest.raises(ValueError, match="segmentation"):
        one.decode(X, [2, 8])
    one.censor_last = True    # a censored last segment may be longer than it shows
    assert np.isfinite(one.score(X, [2, 3, 3, 2]))


def test_command_line_fit_score_and_decode(tmp_path):
    from hmm_core.cli.commands import main

    fasta = tmp_path / "seqs.fa"
    rng = np.random.default_rng(0)
    fasta.write_text("".join(f">s{k}\n{''.join(rng.choice(list('ACGT'), 80))}\n"
                             for k in range(3)))
    model_path = tmp_path / "hsmm.npz"
    assert main(["fit", str(fasta), "-o", str(model_path), "--kind", "semimarkov",
                 "--states", "2", "--max-duration", "10", "--duration", "poisson",
                 "--censor-last", "--n-iter", "3", "--alphabet", "DNA", "-q"]) == 0
    model = hmm_core.load(model_path)
    assert isinstance(model, SemiMarkovHMM) and model.emission == "categorical"
    assert model.duration == "poisson" and model.censor_last
    assert main(["score", str(model_path), str(fasta), "-o", str(tmp_path / "s.csv"),
                 "-q"]) == 0
    assert main(["decode", str(model_path), str(fasta), "--segments", "-o",
                 str(tmp_path / "d.csv"), "-q"]) == 0
    assert main(["fit", str(fasta), "-o", str(model_path), "--kind", "semimarkov",
                 "--max-duration", "0", "--alphabet", "DNA", "-q"]) == 2
    assert main(["sample", str(model_path), "-n", "30", "-o", str(tmp_path / "x.csv")]) == 0
    assert main(["info", str(model_path)]) == 0


def test_weather_example_runs():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "weather_spells.py"
    result = subprocess.run([sys.executable, str(script), "--n-iter", "3", "--n-init", "1",
                             "--max-duration", "30"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert "BIC" in result.stdout and "Spells of the last month" in result.stdout


def test_benchmark_runs_small(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, HMM_CORE_BENCH_SMALL="1")
    # By path, from elsewhere: the checkout's hmm_core/ (no compiled modules in a
    # non-editable install) must not shadow the installed package.
    result = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_semimarkov.py"),
                             "--repeat", "1"], capture_output=True, text=True, timeout=600,
                            cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "one EM iteration" in result.stdout
