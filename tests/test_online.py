"""Online filtering, fixed-lag smoothing and online Viterbi equal the offline passes."""

import pickle

import numpy as np
import pytest
from _models import random_chain

from hmm_core.models import CategoricalHMM, GaussianHMM


def _model(n=5, k=3, seed=0, concentration=1.0, end=False):
    rng = np.random.RandomState(seed)
    model = CategoricalHMM(n_components=n, n_features=k)
    model.startprob_, trans, endprob = random_chain(rng, n, end=end)
    trans = rng.dirichlet(np.full(n, concentration), size=n)
    if end:
        trans = trans * (1 - endprob)[:, None]
        model.endprob_ = endprob
    model.transmat_ = trans
    model.emissionprob_ = rng.dirichlet(np.ones(k), size=n)
    return model, rng


def _filtered(model, X):
    chain = model._check()
    frames = model._log_frameprob(model._get_emission().check_X(X))
    frames = frames.dense() if hasattr(frames, "dense") else frames
    alpha = np.exp(chain.log_startprob + frames[0])
    out = [alpha / alpha.sum()]
    for t in range(1, len(frames)):
        alpha = (out[-1] @ chain.transmat) * np.exp(frames[t])
        out.append(alpha / alpha.sum())
    return np.array(out)


@pytest.mark.parametrize("block", [1, 2, 7, 1000])
def test_filtered_probabilities_and_loglik(block):
    model, rng = _model()
    X = rng.randint(0, 3, size=(300, 1))
    filt = model.filter()
    got = np.concatenate([filt.update(X[a:a + block]) for a in range(0, 300, block)])
    np.testing.assert_allclose(got, _filtered(model, X), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(filt.loglik, model.score(X), rtol=1e-12)
    assert filt.n_frames == 300


@pytest.mark.parametrize("lag", [0, 1, 4, 299, 300, 1000])
@pytest.mark.parametrize("end", [False, True])
def test_fixed_lag_smoother(lag, end):
    model, rng = _model(end=end)
    X = rng.randint(0, 3, size=(300, 1))
    filt = model.filter(lag=lag)
    parts = []
    for a in range(0, 300, 13):
        filt.update(X[a:a + 13])
        parts.append(filt.smoothed())
    released = sum(len(p) for p in parts)
    assert released == max(0, 300 - lag) if lag else released == 0
    parts.append(filt.finish())
    got = np.concatenate(parts)
    if lag == 0:
        assert got.shape == (0, 5)
        return
    assert got.shape == (300, 5)
    offline = model.predict_proba(X)
    # the last `lag` frames saw the whole sequence: offline posteriors
    np.testing.assert_allclose(got[300 - min(lag, 300):], offline[300 - min(lag, 300):],
                               rtol=1e-10, atol=1e-13)
    if end:
        return  # the prefix of a chain with end probabilities is not a model of its own
    # the others saw `lag` frames ahead: the offline posteriors of the prefix
    for t in (0, 100, 299 - lag):
        if 0 <= t < 300 - lag:
            np.testing.assert_allclose(got[t], model.predict_proba(X[:t + lag + 1])[t],
                                       rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("block", [1, 3, 50, 1000])
@pytest.mark.parametrize("concentration", [0.1, 1.0, 30.0])
def test_online_viterbi_equals_offline(block, concentration):
    model, rng = _model(concentration=concentration, seed=3)
    X = rng.randint(0, 3, size=(400, 1))
    online = model.online_viterbi()
    parts = [online.update(X[a:a + block]) for a in range(0, 400, block)]
    assert online.n_decided == sum(len(p) for p in parts)
    parts.append(online.finish())
    np.testing.assert_array_equal(np.concatenate(parts), model.decode(X)[1])


def test_online_viterbi_fixed_lag():
    model, rng = _model(concentration=0.3, seed=4)
    X = rng.randint(0, 3, size=(200, 1))
    online = model.online_viterbi(lag=5)
    decided = 0
    for t in range(200):
        decided += len(online.update(X[t:t + 1]))
        assert decided >= t + 1 - 5
    path = np.concatenate([np.zeros(decided, np.int64), online.finish()])
    assert path.shape == (200,)
    # a lag longer than the sequence decides only what the paths agree on: offline path
    online = model.online_viterbi(lag=10_000)
    got = np.concatenate([online.update(X), online.finish()])
    np.testing.assert_array_equal(got, model.decode(X)[1])


def test_impossible_frames():
    model, rng = _model()
    model.emissionprob_[:, 2] = 0
    model.emissionprob_ /= model.emissionprob_.sum(axis=1, keepdims=True)
    filt = model.filter(lag=2)
    filt.update([[0], [1]])
    with np.errstate(all="raise"):
        out = filt.update([[2], [0]])
    assert filt.loglik == -np.inf and (out == 0).all()
    assert not np.isnan(filt.update([[1]])).any()
    online = model.online_viterbi()
    online.update([[0], [2], [1]])
    assert (online.finish() == -1).all()


def test_bad_input():
    model, _ = _model()
    filt = model.filter()
    with pytest.raises(ValueError):
        filt.update(np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError):
        filt.update([[7]])
    with pytest.raises(ValueError):
        filt.update(np.zeros((0, 1), dtype=int))
    for lag in (-1, 1.5, True):
        with pytest.raises(ValueError, match="lag"):
            model.filter(lag=lag)
        with pytest.raises(ValueError, match="lag"):
            model.online_viterbi(lag=lag)
    gauss = GaussianHMM(n_components=2)
    gauss.startprob_ = np.array([0.5, 0.5])
    gauss.transmat_ = np.full((2, 2), 0.5)
    gauss.means_ = np.zeros((2, 2))
    gauss.covars_ = np.ones((2, 2))
    with pytest.raises(ValueError):
        gauss.filter().update(np.zeros((3, 3)))


def test_gaussian_filter():
    rng = np.random.RandomState(2)
    model = GaussianHMM(n_components=3)
    model.startprob_, model.transmat_, _ = random_chain(rng, 3)
    model.means_ = rng.normal(size=(3, 2)) * 2
    model.covars_ = np.ones((3, 2))
    X = rng.normal(size=(100, 2)) * 2
    filt = model.filter(lag=200)
    got = np.concatenate([filt.update(X[:60]), filt.update(X[60:])])
    np.testing.assert_allclose(got, _filtered(model, X), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(filt.finish(), model.predict_proba(X), rtol=1e-10, atol=1e-13)


def test_pickled_filter_continues_exactly():
    model, rng = _model()
    X = rng.randint(0, 3, size=(100, 1))
    for filt in (model.filter(lag=3), model.online_viterbi()):
        filt.update(X[:40])
        copy = pickle.loads(pickle.dumps(filt))
        a, b = filt.update(X[40:]), copy.update(X[40:])
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(filt.finish(), copy.finish())


@pytest.mark.parametrize("kind", ["filter", "viterbi"])
@pytest.mark.parametrize("lag", [0, 3])
def test_saved_to_a_model_file_continues_exactly(tmp_path, kind, lag):
    from hmm_core.hmm.online import OnlineFilter, OnlineViterbi

    model, rng = _model(concentration=0.5)
    X = rng.randint(0, 3, size=(120, 1))
    make, cls = ((model.filter, OnlineFilter) if kind == "filter"
                 else (model.online_viterbi, OnlineViterbi))
    obj = make(lag)
    for a in (0, 1, 40):
        obj.update(X[a:a + 1 if a < 40 else 70])
    obj.save(tmp_path / "f.npz")
    copy = cls.load(tmp_path / "f.npz")
    np.testing.assert_array_equal(obj.update(X[70:]), copy.update(X[70:]))
    if kind == "filter":
        assert obj.loglik == copy.loglik
        np.testing.assert_array_equal(obj.smoothed(), copy.smoothed())
    np.testing.assert_array_equal(obj.finish(), copy.finish())
    model.save(tmp_path / "plain.npz")
    with pytest.raises(ValueError, match="no saved"):
        cls.load(tmp_path / "plain.npz")
    # a fresh filter saved before any frame
    fresh = make(lag)
    fresh.save(tmp_path / "g.npz")
    again = cls.load(tmp_path / "g.npz")
    np.testing.assert_array_equal(make(lag).update(X[:5]), again.update(X[:5]))
