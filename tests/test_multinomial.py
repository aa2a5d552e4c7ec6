"""MultinomialHMM: hmmlearn parity, recovery, degenerate and bad input."""

import numpy as np
import pytest
from _models import random_chain, random_lengths, random_stochastic
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import linear_sum_assignment
from scipy.stats import multinomial

from hmm_core.models.categorical import CategoricalHMM
from hmm_core.models.multinomial import MultinomialHMM


def _model(rng, n=3, d=4, n_trials=6, zeros=0.0, **kwargs):
    startprob, transmat, _ = random_chain(rng, n)
    model = MultinomialHMM(n_components=n, n_trials=n_trials, **kwargs)
    model.startprob_, model.transmat_ = startprob, transmat
    model.emissionprob_ = random_stochastic(rng, (n, d), zeros)
    return model


def _data(model, rng, n_seq=15):
    lengths = random_lengths(rng, n_seq, 1, 60)
    parts = [model.sample(int(t), random_state=rng)[0] for t in lengths]
    return np.concatenate(parts), lengths


def _hmmlearn(model, n_trials):
    hmm = pytest.importorskip("hmmlearn.hmm")
    other = hmm.MultinomialHMM(n_components=model.n_components, n_trials=n_trials,
                               init_params="", n_iter=3, tol=-np.inf)
    other.startprob_ = model.startprob_.copy()
    other.transmat_ = model.transmat_.copy()
    other.emissionprob_ = model.emissionprob_.copy()
    return other


@pytest.mark.parametrize("per_row", [False, True])
def test_agrees_with_hmmlearn(per_row):
    rng = np.random.RandomState(12)
    model = _model(rng, 4, 5, n_trials=7, n_iter=3, tol=-np.inf, init_params="")
    X, lengths = _data(model, rng)
    if per_row:  # rows with different totals: n_trials is one value per row
        X = np.concatenate([X, _data(_model(rng, 4, 5, n_trials=2), rng, 1)[0]])
        X = X[rng.permutation(len(X))]
        lengths = [len(X) // 2, len(X) - len(X) // 2]
        model.n_trials = X.sum(axis=1)
    other = _hmmlearn(model, model.n_trials)
    assert_allclose(model.score(X, lengths), other.score(X, lengths), rtol=1e-10)
    _, post = model.score_samples(X, lengths)
    _, other_post = other.score_samples(X, lengths)
    assert_allclose(post, other_post, rtol=1e-8, atol=1e-12)
    logprob, path = model.decode(X, lengths)
    other_logprob, other_path = other.decode(X, lengths)
    assert_allclose(logprob, other_logprob, rtol=1e-10)
    assert_array_equal(path, other_path)
    model.fit(X, lengths)
    other.fit(X, lengths)
    assert_allclose(model.startprob_, other.startprob_, rtol=1e-8, atol=1e-12)
    assert_allclose(model.transmat_, other.transmat_, rtol=1e-8, atol=1e-12)
    assert_allclose(model.emissionprob_, other.emissionprob_, rtol=1e-8)


def test_frame_loglik_is_the_multinomial_log_pmf():
    rng = np.random.RandomState(1)
    model = _model(rng, 3, 4, n_trials=None, zeros=0.3)
    X = rng.multinomial(9, [0.4, 0.3, 0.2, 0.1], size=20)
    X[0] = 0  # no trials at all: probability one
    emission = model._get_emission()
    model._check()
    frames = emission.log_frameprob(emission.check_X(X))
    with np.errstate(divide="ignore"):
        expected = np.column_stack([multinomial.logpmf(X, X.sum(axis=1), p)
                                    for p in model.emissionprob_])
    assert_array_equal(np.isneginf(frames), np.isneginf(expected))
    finite = np.isfinite(expected)
    assert_allclose(frames[finite], expected[finite], rtol=1e-12)
    assert not np.isnan(frames).any() and np.all(frames[0] == 0)


def test_one_trial_is_a_categorical_model():
    rng = np.random.RandomState(2)
    model = _model(rng, 3, 4, n_trials=1)
    X, lengths = _data(model, rng, 5)
    categorical = CategoricalHMM(3)
    categorical.startprob_, categorical.transmat_ = model.startprob_, model.transmat_
    categorical.emissionprob_ = model.emissionprob_
    symbols = X.argmax(axis=1)[:, None]
    assert_allclose(model.score(X, lengths), categorical.score(symbols, lengths), rtol=1e-12)


def test_dirichlet_prior_update():
    rng = np.random.RandomState(3)
    model = _model(rng, 3, 4, n_iter=1, tol=-np.inf, init_params="", emissionprob_prior=2.5)
    X, lengths = _data(model, rng, 5)
    _, post = model.score_samples(X, lengths)
    counts = post.T @ X + 1.5
    model.fit(X, lengths)
    assert_allclose(model.emissionprob_, counts / counts.sum(axis=1, keepdims=True),
                    rtol=1e-10)


def test_recovers_a_known_model():
    truth = MultinomialHMM(3, n_trials=10)
    truth.startprob_ = np.array([0.5, 0.3, 0.2])
    truth.transmat_ = np.array([[0.9, 0.05, 0.05], [0.1, 0.85, 0.05], [0.05, 0.1, 0.85]])
    truth.emissionprob_ = np.array([[0.6, 0.2, 0.1, 0.1], [0.1, 0.1, 0.2, 0.6],
                                    [0.1, 0.4, 0.4, 0.1]])
    X, states = truth.sample(50_000, random_state=1)
    assert X.shape == (50_000, 4) and np.all(X.sum(axis=1) == 10)
    # tol=1e-2 on a log-likelihood of ~-2e5: the parameters have settled far
    # below their standard errors when EM stops.
    model = MultinomialHMM(3, n_trials=10, n_init=3, n_iter=200, tol=1e-2,
                           random_state=0).fit(X)
    cost = np.abs(truth.emissionprob_[:, None] - model.emissionprob_[None]).sum(axis=-1)
    order = linear_sum_assignment(cost)[1]
    # ~10,000 frames x 10 trials per state: a probability's standard error is
    # sqrt(p (1 - p) / 1e5) <= 0.0016, so 0.01 is over 6 standard errors.
    assert_allclose(model.emissionprob_[order], truth.emissionprob_, atol=0.01)
    assert_allclose(model.transmat_[np.ix_(order, order)], truth.transmat_, atol=0.02)
    assert model.score(X) >= truth.score(X)


@pytest.mark.filterwarnings("ignore:state\\(s\\)")
def test_degenerate_data():
    # Every row empty (n_trials = 0): probability one, nothing to learn.
    empty = np.zeros((10, 3), dtype=int)
    with np.errstate(divide="raise", invalid="raise"):
        model = MultinomialHMM(2, n_iter=5, random_state=0).fit(empty)
        assert abs(model.score(empty)) < 1e-12
    assert np.all(np.isfinite(model.emissionprob_))
    # An outcome never seen gets probability 0 and later makes a row impossible.
    X = np.array([[3, 0, 1], [0, 0, 4], [2, 0, 2], [4, 0, 0]])
    model = MultinomialHMM(2, n_iter=30, random_state=0).fit(X)
    assert_allclose(model.emissionprob_[:, 1], 0.0, atol=1e-12)
    assert not np.isnan(model.score_samples(X)[1]).any()
    # One point per state, and counts in the millions.
    model = MultinomialHMM(3, n_iter=10, random_state=0).fit(X[:3])
    assert np.isfinite(model.score(X[:3]))
    huge = np.array([[10**7, 2 * 10**7, 5], [3 * 10**7, 10, 10**6]] * 5)
    model = MultinomialHMM(2, n_iter=10, random_state=0).fit(huge)
    assert np.isfinite(model.score(huge)) and np.all(np.isfinite(model.emissionprob_))


def test_bad_input():
    model = _model(np.random.RandomState(8), 2, 3, n_trials=4)
    good = np.array([[1, 2, 1], [0, 0, 4]])
    for bad, match in [
        (np.array([[1, 3], [2, 2]]), "has 2 features but the model has 3"),
        (np.array([[5, -1, 0]]), "non-negative counts"),
        (np.array([[1.5, 2.5, 0.0]]), "integer counts"),
        (np.array([[1, 2, 2]]), "row 0 sums to 5, expected 4"),
        (np.array([[1.0, np.inf, 0.0]]), "inf"),
        (np.array([[1.0, np.nan, 3.0]]), "NaN"),
    ]:
        with pytest.raises(ValueError, match=match):
            model.score(bad)
    with pytest.raises(ValueError, match="row 1 sums to 4, expected 3"):
        MultinomialHMM(2, n_trials=3).fit(np.array([[1, 2, 0], [2, 2, 0]]))
    model.n_trials = [4, 4, 4]
    with pytest.raises(ValueError, match="n_trials has 3 entries but X has 2 rows"):
        model.score(good)
    for n_trials in (-1, 2.5, [[4]]):
        model.n_trials = n_trials
        with pytest.raises(ValueError, match="n_trials"):
            model.score(good)
    model.n_trials = 4
    for probs, match in [
        (np.full((3, 3), 1 / 3), r"emissionprob_ must have shape \(2, n_features\)"),
        (np.array([[0.5, 0.5, 0.5], [0.2, 0.3, 0.5]]), "row 0 sums to 1.5"),
        (np.array([[1.5, -0.5, 0.0], [0.2, 0.3, 0.5]]), "finite and non-negative"),
    ]:
        model.emissionprob_ = probs
        with pytest.raises(ValueError, match=match):
            model.score(good)


def test_sample_needs_one_number_of_trials():
    rng = np.random.RandomState(4)
    model = _model(rng, 2, 3, n_trials=[3, 5])
    with pytest.raises(ValueError, match="single n_trials"):
        model.sample(5)
    model.n_trials = None
    with pytest.raises(ValueError, match="sampling needs n_trials"):
        model.sample(5)
    # Fitted on rows with one total, the model samples with that total.
    X = rng.multinomial(6, [0.2, 0.3, 0.5], size=40)
    model = MultinomialHMM(2, n_iter=3, random_state=0).fit(X)
    sample, states = model.sample(20, random_state=0)
    assert sample.shape == (20, 3) and np.all(sample.sum(axis=1) == 6)


def test_aic_bic_count_free_parameters():
    rng = np.random.RandomState(9)
    model = _model(rng, 3, 4)
    X, lengths = _data(model, rng, 5)
    n_params = (3 - 1) + 3 * (3 - 1) + 3 * (4 - 1)
    ll = model.score(X, lengths)
    assert_allclose(model.aic(X, lengths), -2 * ll + 2 * n_params)
    assert_allclose(model.bic(X, lengths), -2 * ll + n_params * np.log(len(X)))
    model.emissionprob_ = np.array([[0.5, 0.5, 0.0, 0.0], [0.25] * 4, [0.0, 0.0, 0.0, 1.0]])
    n_params = (3 - 1) + 3 * (3 - 1) + (1 + 3 + 0)  # structural zeros are not free
    one = np.array([[3, 3, 0, 0]])
    assert_allclose(model.aic(one), -2 * model.score(one) + 2 * n_params)


def test_em_never_lowers_the_likelihood_and_clone():
    rng = np.random.RandomState(10)
    truth = _model(rng, 3, 4)
    X, lengths = _data(truth, rng, 20)
    model = MultinomialHMM(3, n_trials=6, n_iter=30, tol=-np.inf, random_state=0)
    model.fit(X, lengths)
    history = np.array(model.monitor_.history)
    assert np.all(np.diff(history) >= -1e-8 * np.abs(history[1:]))
    assert model.n_features == 4 and model.n_trials == 6
    clone = MultinomialHMM(**model.get_params())
    assert clone.get_params() == model.get_params()
