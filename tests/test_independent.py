"""IndependentHMM: block sums, brute force, missing values, letters, bad input."""

import copy

import numpy as np
import pytest
from _models import random_chain, random_lengths, random_stochastic
from brute_force import brute_force
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import linear_sum_assignment
from scipy.stats import norm, poisson

from hmm_core.emissions.categorical import CategoricalEmission
from hmm_core.emissions.multinomial import MultinomialEmission
from hmm_core.emissions.poisson import PoissonEmission
from hmm_core.models.categorical import CategoricalHMM
from hmm_core.models.independent import IndependentHMM
from hmm_core.models.poisson import PoissonHMM


def _blocks(rng, n, k=3, d=2):
    """Poisson counts in columns 0 and 2, a categorical symbol in column 1."""
    cat = CategoricalEmission()
    cat.emissionprob_ = random_stochastic(rng, (n, k))
    counts = PoissonEmission()
    counts.lambdas_ = rng.uniform(0.5, 8.0, size=(n, d))
    return [([0, 2], counts), (1, cat)]


def _model(rng, n=3, end=False, **kwargs):
    startprob, transmat, endprob = random_chain(rng, n, 0.0, end)
    model = IndependentHMM(_blocks(rng, n), n_components=n, **kwargs)
    model.startprob_, model.transmat_, model.endprob_ = startprob, transmat, endprob
    return model


def _data(model, rng, n_seq=10):
    lengths = random_lengths(rng, n_seq, 1, 50)
    parts = [model.sample(int(t), random_state=rng)[0] for t in lengths]
    return np.concatenate(parts), lengths


def _frameprob(model, X):
    """Emission likelihoods computed directly with scipy (NaN = missing)."""
    counts, cat = model.emissions_
    out = np.ones((len(X), model.n_components))
    for t, row in enumerate(X):
        for i in range(model.n_components):
            if not np.isnan(row[1]):
                out[t, i] *= cat.emissionprob_[i, int(row[1])]
            for j, col in enumerate((0, 2)):
                if not np.isnan(row[col]):
                    out[t, i] *= poisson.pmf(row[col], counts.lambdas_[i, j])
    return out


def test_frame_loglik_is_the_sum_of_the_blocks():
    rng = np.random.RandomState(0)
    model = _model(rng)
    X, _ = _data(model, rng, 3)
    X[rng.random_sample(X.shape) < 0.2] = np.nan
    model._check()
    emission = model._get_emission()
    frames = emission.log_frameprob(emission.check_X(X))
    counts, cat = model.emissions_
    symbols = np.where(np.isnan(X[:, 1]), -1, X[:, 1]).astype(int)
    expected = (counts.log_frameprob(counts.check_X(X[:, [0, 2]]))
                + cat.log_frameprob(cat.check_X(symbols)))
    assert_allclose(frames, expected, rtol=1e-13)
    assert_allclose(frames, np.log(_frameprob(model, X)), rtol=1e-11)


@pytest.mark.parametrize("n,end", [(2, False), (3, True)])
def test_matches_brute_force_with_missing_values(n, end):
    rng = np.random.RandomState(10 + n)
    model = _model(rng, n, end)
    X = np.array([[1, 0, 4], [np.nan, 2, 3], [2, np.nan, np.nan],
                  [np.nan, np.nan, np.nan], [6, 1, 0], [0, 2, np.nan]], dtype=float)
    truth = brute_force(model.startprob_, model.transmat_, _frameprob(model, X),
                        model.endprob_)
    assert_allclose(model.score(X), truth["loglik"], rtol=1e-11)
    assert_allclose(model.predict_proba(X), truth["posteriors"], rtol=1e-9, atol=1e-13)
    logprob, path = model.decode(X)
    assert_allclose(logprob, truth["viterbi_logprob"], rtol=1e-11)
    assert_array_equal(path, truth["viterbi_path"])
    map_logprob, map_path = model.decode(X, algorithm="map")
    assert_array_equal(map_path, truth["map_path"])
    assert_allclose(map_logprob, truth["map_logprob"], rtol=1e-11)
    # -1 is accepted for a missing symbol too.
    minus = X.copy()
    minus[np.isnan(minus[:, 1]), 1] = -1
    assert_allclose(model.score(minus), truth["loglik"], rtol=1e-11)


def test_split_poisson_blocks_equal_one_poisson_model():
    rng = np.random.RandomState(2)
    whole = PoissonHMM(3, n_iter=3, tol=-np.inf, init_params="")
    whole.startprob_, whole.transmat_, _ = random_chain(rng, 3)
    whole.lambdas_ = rng.uniform(0.5, 10.0, size=(3, 3))
    X, lengths = _data(whole, rng)
    left, right = PoissonEmission(), PoissonEmission()
    left.lambdas_, right.lambdas_ = whole.lambdas_[:, [0, 2]], whole.lambdas_[:, [1]]
    split = IndependentHMM([([0, 2], left), (slice(1, 2), right)], n_components=3, n_iter=3,
                           tol=-np.inf, init_params="")
    split.startprob_, split.transmat_ = whole.startprob_, whole.transmat_
    assert_allclose(split.score(X, lengths), whole.score(X, lengths), rtol=1e-12)
    split.fit(X, lengths)
    whole.fit(X, lengths)
    assert_allclose(split.monitor_.history, whole.monitor_.history, rtol=1e-12)
    assert_allclose(split.transmat_, whole.transmat_, rtol=1e-10)
    lambdas = np.column_stack([split.emissions_[0].lambdas_[:, 0],
                               split.emissions_[1].lambdas_[:, 0],
                               split.emissions_[0].lambdas_[:, 1]])
    assert_allclose(lambdas, whole.lambdas_, rtol=1e-10)


def test_em_step_uses_observed_values_of_each_block():
    rng = np.random.RandomState(3)
    model = _model(rng, 3, n_iter=1, tol=-np.inf, init_params="")
    X, lengths = _data(model, rng)
    X[rng.random_sample(X.shape) < 0.2] = np.nan
    _, post = model.score_samples(X, lengths)
    seen = ~np.isnan(X)
    counts = X[:, [0, 2]]
    ok = seen[:, [0, 2]]
    lambdas = (post.T @ np.where(ok, counts, 0.0)) / (post.T @ ok)
    onehot = np.zeros((len(X), 3))
    onehot[seen[:, 1], X[seen[:, 1], 1].astype(int)] = 1.0
    probs = post.T @ onehot
    model.fit(X, lengths)
    assert_allclose(model.emissions_[0].lambdas_, lambdas, rtol=1e-10)
    assert_allclose(model.emissions_[1].emissionprob_,
                    probs / probs.sum(axis=1, keepdims=True), rtol=1e-10)


def test_letters_select_blocks():
    rng = np.random.RandomState(4)
    model = _model(rng, 2, tol=-np.inf, n_iter=2, init_params="")
    X, lengths = _data(model, rng, 5)
    assert model.params == "stle" and model.get_params()["params"] is None
    start = copy.deepcopy(model.emissions_)
    model.params = "stl"  # categorical block frozen
    model.fit(X, lengths)
    assert_array_equal(model.emissions_[1].emissionprob_, start[1].emissionprob_)
    assert not np.allclose(model.emissions_[0].lambdas_, start[0].lambdas_)
    with pytest.raises(ValueError, match="unknown letters"):
        IndependentHMM(_blocks(rng, 2), 2, params="stm").fit(X)
    # A letter shared by two blocks applies to both.
    multi = MultinomialEmission()
    multi.emissionprob_ = random_stochastic(rng, (2, 2))
    cat = CategoricalEmission()
    cat.emissionprob_ = random_stochastic(rng, (2, 3))
    shared = IndependentHMM([(0, cat), ([1, 2], multi)], 2, n_iter=1, tol=-np.inf,
                            init_params="", params="e")
    shared.startprob_, shared.transmat_ = model.startprob_, model.transmat_
    Y = np.column_stack([rng.randint(0, 3, 40), rng.multinomial(4, [0.3, 0.7], size=40)])
    shared.fit(Y)
    assert not np.allclose(shared.emissions_[0].emissionprob_, cat.emissionprob_)
    assert not np.allclose(shared.emissions_[1].emissionprob_, multi.emissionprob_)
    assert_array_equal(shared.transmat_, model.transmat_)


def test_recovers_a_known_model():
    rng = np.random.RandomState(5)
    truth = IndependentHMM(_blocks(rng, 3, k=3, d=2), 3)
    truth.startprob_ = np.array([0.5, 0.3, 0.2])
    truth.transmat_ = np.array([[0.9, 0.05, 0.05], [0.1, 0.85, 0.05], [0.05, 0.1, 0.85]])
    counts, cat = truth.emissions_
    counts.lambdas_ = np.array([[1.0, 10.0], [6.0, 1.0], [15.0, 15.0]])
    cat.emissionprob_ = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    X, states = truth.sample(50_000, random_state=1)
    model = IndependentHMM([([0, 2], PoissonEmission()), (1, CategoricalEmission())], 3,
                           n_init=3, n_iter=100, tol=1e-3, random_state=0).fit(X)
    fit_counts, fit_cat = model.emissions_
    cost = np.abs(counts.lambdas_[:, None] - fit_counts.lambdas_[None]).sum(axis=-1)
    order = linear_sum_assignment(cost)[1]
    # >= 10,000 frames per state: rate standard errors sqrt(lambda / n_i) < 0.04
    # and probability standard errors < 0.005; tolerances are ~5 of them.
    occupancy = np.bincount(states, minlength=3)[:, None]
    err = np.abs(fit_counts.lambdas_[order] - counts.lambdas_)
    assert np.all(err < 5 * np.sqrt(counts.lambdas_ / occupancy)), err
    assert_allclose(fit_cat.emissionprob_[order], cat.emissionprob_, atol=0.025)
    assert_allclose(model.transmat_[np.ix_(order, order)], truth.transmat_, atol=0.02)


def test_sample_fit_and_blocks_left_untouched():
    rng = np.random.RandomState(6)
    blocks = _blocks(rng, 2)
    before = copy.deepcopy(blocks)
    model = IndependentHMM(blocks, 2, n_iter=5, random_state=0)
    model.startprob_, model.transmat_ = np.array([0.4, 0.6]), np.array([[0.7, 0.3],
                                                                          [0.2, 0.8]])
    X, states = model.sample(200, random_state=0)
    X2, states2 = model.sample(200, random_state=0)
    assert_array_equal(X, X2)
    assert_array_equal(states, states2)
    assert X.shape == (200, 3) and X.dtype == np.float64
    assert np.all(X == np.round(X)) and set(np.unique(X[:, 1])) <= {0.0, 1.0, 2.0}
    model.fit(X)
    assert_array_equal(blocks[0][1].lambdas_, before[0][1].lambdas_)
    assert_array_equal(blocks[1][1].emissionprob_, before[1][1].emissionprob_)
    assert model.emissions_[0] is not blocks[0][1] and model.n_features == 3
    clone = IndependentHMM(**model.get_params())
    assert clone.get_params() == model.get_params()
    assert "IndependentHMM(" in repr(model)
    # New blocks mean a new emission.
    model.set_params(blocks=[([0, 1, 2], PoissonEmission())])
    model.fit(np.abs(X))
    assert model.emissions_[0].lambdas_.shape == (2, 3)


@pytest.mark.filterwarnings("ignore:state\\(s\\)")
def test_degenerate_data():
    # All-zero counts and a constant symbol: finite, no NaN.
    X = np.zeros((20, 3))
    with np.errstate(divide="raise", invalid="raise"):
        model = IndependentHMM(_blocks(np.random.RandomState(7), 2), 2, n_iter=5,
                               random_state=0).fit(X)
        assert np.isfinite(model.score(X))
    assert not np.isnan(model.predict_proba(X)).any()
    huge = np.column_stack([np.full(6, 1e9), [0, 1, 2, 0, 1, 2], np.arange(6) * 1e8])
    model = IndependentHMM(_blocks(np.random.RandomState(7), 3), 3, n_iter=5,
                           random_state=0).fit(huge)
    assert np.isfinite(model.score(huge))


def test_bad_input():
    rng = np.random.RandomState(8)
    model = _model(rng, 2)
    for bad, match in [
        (np.zeros((3, 2)), "X has 2 features but the blocks cover 3 columns"),
        (np.array([[1.0, 0.5, 2.0]]), r"block 1 \(columns \[1\]\): .*integer symbols"),
        (np.array([[1.0, 5.0, 2.0]]), "block 1.*symbol 5 but n_features is 3"),
        (np.array([[-1.0, 0.0, 2.0]]), "block 0.*non-negative counts"),
        (np.array([[np.inf, 0.0, 2.0]]), "block 0.*inf"),
        (np.array([[1.5, 0.0, 2.0]]), "block 0.*integer counts"),
    ]:
        with pytest.raises(ValueError, match=match):
            model.score(bad)
    poisson_block = PoissonEmission()
    for blocks, match in [
        ([], "non-empty list"),
        ([([0, 1], poisson_block), (1, CategoricalEmission())], "must not share columns"),
        ([([0, 2], poisson_block)], r"cover 0..2 exactly; missing \[1\]"),
        ([(0, "poisson")], "is not an EmissionModel"),
        ([(0.5, poisson_block)], "columns must be an int"),
        ([(-1, poisson_block)], "non-negative"),
        ([(slice(0, None), poisson_block)], "needs a non-negative stop"),
        ([poisson_block], r"\(columns, emission\) pair"),
    ]:
        with pytest.raises(ValueError, match=match):
            IndependentHMM(blocks, 2).fit(np.zeros((4, 3)))
    model.emissions_[0].lambdas_ = -np.ones((2, 2))
    with pytest.raises(ValueError, match="block 0: lambdas_ must be finite and non-negative"):
        model.score(np.zeros((2, 3)))


def test_aic_bic_count_free_parameters():
    rng = np.random.RandomState(9)
    model = _model(rng, 3)
    X, lengths = _data(model, rng, 5)
    n_params = (3 - 1) + 3 * (3 - 1) + 3 * 2 + 3 * (3 - 1)
    ll = model.score(X, lengths)
    assert_allclose(model.aic(X, lengths), -2 * ll + 2 * n_params)
    assert_allclose(model.bic(X, lengths), -2 * ll + n_params * np.log(len(X)))
    model.params = "ste"
    assert_allclose(model.aic(X, lengths), -2 * ll + 2 * (n_params - 6))


def test_categorical_block_alone_equals_categorical_hmm():
    rng = np.random.RandomState(11)
    plain = CategoricalHMM(3, n_iter=3, tol=-np.inf, init_params="")
    plain.startprob_, plain.transmat_, _ = random_chain(rng, 3)
    plain.emissionprob_ = random_stochastic(rng, (3, 4))
    X, lengths = _data(plain, rng)
    cat = CategoricalEmission()
    cat.emissionprob_ = plain.emissionprob_
    block = IndependentHMM([(0, cat)], 3, n_iter=3, tol=-np.inf, init_params="")
    block.startprob_, block.transmat_ = plain.startprob_, plain.transmat_
    block.fit(X.astype(float), lengths)
    plain.fit(X, lengths)
    assert_allclose(block.monitor_.history, plain.monitor_.history, rtol=1e-12)
    assert_allclose(block.emissions_[0].emissionprob_, plain.emissionprob_, rtol=1e-10)


def test_gaussian_block():
    gaussian = pytest.importorskip("hmm_core.emissions.gaussian")
    if not hasattr(gaussian, "GaussianEmission"):
        pytest.skip("GaussianEmission is not available yet")
    rng = np.random.RandomState(12)
    normal = gaussian.GaussianEmission(covariance_type="diag")
    normal.means_ = np.array([[0.0, 5.0], [3.0, -2.0]])
    normal.covars_ = np.array([[1.0, 2.0], [0.5, 1.5]])
    cat = CategoricalEmission()
    cat.emissionprob_ = np.array([[0.8, 0.2], [0.3, 0.7]])
    model = IndependentHMM([(0, cat), ([1, 2], normal)], 2, n_iter=5, random_state=0)
    model.startprob_, model.transmat_ = np.array([0.5, 0.5]), np.array([[0.9, 0.1],
                                                                          [0.2, 0.8]])
    X, _ = model.sample(300, random_state=rng)
    model._check()
    emission = model._get_emission()
    frames = emission.log_frameprob(emission.check_X(X))
    means, variances = model.emissions_[1].means_, normal.covars_
    expected = np.column_stack([
        np.log(cat.emissionprob_[i, X[:, 0].astype(int)])
        + norm.logpdf(X[:, 1:], means[i], np.sqrt(variances[i])).sum(axis=1)
        for i in range(2)])
    assert_allclose(frames, expected, rtol=1e-10)
    X[::7, 0] = np.nan
    X[::5, 2] = np.nan
    model.init_params = ""
    model.fit(X)
    assert np.isfinite(model.score(X)) and not np.isnan(model.predict_proba(X)).any()
