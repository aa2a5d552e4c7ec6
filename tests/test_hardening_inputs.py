"""Hostile inputs found by attacking the public API: each is refused fast with a
ValueError that names the argument (or now gives the right answer)."""

import time
import zipfile

import numpy as np
import pytest

import hmm_core
from hmm_core import (
    GMMHMM,
    CategoricalHMM,
    GaussianHMM,
    HigherOrderHMM,
    HigherOrderMarkovChain,
    IndependentHMM,
    MarkovChain,
    PoissonHMM,
)
from hmm_core.emissions import CategoricalEmission

START, TRANS = np.log([0.5, 0.5]), np.full((2, 2), 0.5)


def _categorical():
    return CategoricalHMM(2, random_state=0).fit(np.array([[0], [1], [0], [1], [1]]))


def _gaussian(cls=GaussianHMM, **kw):
    return cls(2, random_state=0, **kw).fit(np.random.RandomState(0).randn(20, 1))


# ------------------------------------------------------------------ k-best
@pytest.mark.parametrize("k", [2**31, 2**40, 10**18, np.int64(2**62)])
def test_kbest_with_a_huge_k_fails_fast_with_an_estimate(k):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"k=[\d,]+ best paths.*would need about .* bytes"):
        hmm_core.kbest_viterbi(START, TRANS, np.zeros((3, 2)), k)
    assert time.perf_counter() - start < 1


# ------------------------------------------------------------------ sparse path
@pytest.mark.parametrize("name", ["forward", "posteriors", "viterbi"])
@pytest.mark.parametrize("n", [1, 3])
def test_sparse_path_runs_a_chain_without_transitions(name, n):
    """transmat all zero and endprob all one: every sequence has one frame."""
    call = getattr(hmm_core, name)
    start, frames = np.log(np.full(n, 1.0 / n)), np.zeros((2, n))
    args = (start, np.zeros((n, n)), frames, [1, 1], np.zeros(n))
    sparse, dense = call(*args, sparse=True), call(*args, sparse=False)
    if name == "forward":
        sparse, dense = (sparse,), (dense,)
    for a, b in zip(sparse, dense, strict=True):
        np.testing.assert_allclose(a, b)


def test_one_state_chain_on_the_sparse_path():
    assert hmm_core.forward([0.0], [[0.0]], [[0.0]], None, [0.0], sparse=True) == [0.0]


@pytest.mark.parametrize("value", [1.0, 1, 0, "yes", np.float64(1)])
def test_sparse_must_be_a_bool(value):
    with pytest.raises(ValueError, match="sparse must be True, False or None"):
        hmm_core.forward(START, TRANS, np.zeros((3, 2)), sparse=value)


# ------------------------------------------------------------------ ragged input
@pytest.mark.parametrize("make", [_categorical, _gaussian,
                                  lambda: _gaussian(GMMHMM, n_mix=2),
                                  lambda: PoissonHMM(2, random_state=0).fit(
                                      np.random.RandomState(0).poisson(3, (20, 1)))])
@pytest.mark.parametrize("X", [[[0], [1, 2]], [[0, 1], [1]]])
def test_ragged_X_is_named(make, X):
    with pytest.raises(ValueError, match=r"^X "):
        make().score(X)


@pytest.mark.parametrize("cls", [MarkovChain, HigherOrderMarkovChain])
def test_ragged_X_is_named_by_chains(cls):
    chain = cls().fit(np.array([0, 1, 0, 1, 1]))
    with pytest.raises(ValueError, match=r"^X .*ragged"):
        chain.score_sequences([[0, 1], [1]])


@pytest.mark.parametrize("cls,kw", [(GaussianHMM, {}), (GMMHMM, {"n_mix": 2})])
@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
def test_ragged_covars_are_named(cls, kw, covariance_type):
    model = _gaussian(cls, covariance_type=covariance_type, **kw)
    with pytest.raises(ValueError, match="covars_"):
        model.covars_ = [[0.5], [0.5, 0.5]]


# ------------------------------------------------------------------ sample arguments
@pytest.mark.parametrize("currstate", ["0", 2.5, np.float64(0.5), [0], True, 2, -1])
def test_sample_refuses_a_bad_currstate(currstate):
    with pytest.raises(ValueError, match="currstate"):
        _categorical().sample(3, currstate=currstate)


@pytest.mark.parametrize("n_samples", [True, 0, 2.0, 10**30, 2**62])
def test_sample_refuses_a_bad_n_samples(n_samples):
    with pytest.raises(ValueError, match="n_samples"):
        _categorical().sample(n_samples)


@pytest.mark.parametrize("seed", [-1, 2**32, 2**40, -(2**70), True])
def test_sample_refuses_a_seed_outside_the_numpy_range(seed):
    with pytest.raises(ValueError, match="random_state"):
        _categorical().sample(3, random_state=seed)


@pytest.mark.parametrize("cls", [MarkovChain, HigherOrderMarkovChain])
@pytest.mark.parametrize("seed", [-1, 2**32, 2**40, True])
def test_chains_refuse_a_seed_outside_the_numpy_range(cls, seed):
    chain = cls().fit(np.array([0, 1, 0, 1, 1]))
    with pytest.raises(ValueError, match="random_state"):
        chain.sample(3, random_state=seed)
    with pytest.raises(ValueError, match="random_state"):
        cls(random_state=seed).fit(np.array([0, 1, 0, 1, 1]))
    assert cls(random_state=2**32 - 1).fit(np.array([0, 1, 0, 1, 1])).sample(3).shape == (3,)


@pytest.mark.parametrize("cls", [MarkovChain, HigherOrderMarkovChain])
@pytest.mark.parametrize("n_samples", [10**30, 2**62])
def test_chains_refuse_a_sample_beyond_the_memory_budget(cls, n_samples):
    chain = cls().fit(np.array([0, 1, 0, 1, 1]))
    with pytest.raises(ValueError, match=r"n_samples=.*would need about"):
        chain.sample(n_samples)


# ------------------------------------------------------------------ settings and refits
@pytest.mark.parametrize("setting,value", [
    ("startprob_prior", np.nan), ("transmat_prior", "x"), ("tol", "x"), ("params", None),
    ("callback", 0), ("end_state", "x"), ("n_init", 0), ("n_init", 10**9),
    ("algorithm", np.array(["viterbi"])),
])
def test_bad_settings_are_refused_by_name(setting, value):
    model = CategoricalHMM(2, n_iter=2, **{setting: value})
    with pytest.raises(ValueError, match=setting):
        model.fit(np.array([[0], [1], [0], [1]]))


def test_a_refit_without_the_end_state_drops_endprob():
    X = np.array([[0], [1], [0], [1], [1], [0]])
    model = CategoricalHMM(2, end_state=True, n_iter=3, random_state=0).fit(X, [3, 3])
    assert model.endprob_ is not None
    model.set_params(end_state=False, init_params="st")
    model.fit(X, [3, 3])
    assert getattr(model, "endprob_", None) is None
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0)
    assert np.isfinite(model.score(X, [3, 3]))
    model.set_params(end_state=True, init_params="ste")
    model.fit(X, [3, 3])
    np.testing.assert_allclose(model.transmat_.sum(axis=1) + model.endprob_, 1.0)


# ------------------------------------------------------------------ IndependentHMM blocks
@pytest.mark.parametrize("columns", [10**9, 2**62, 10**30, slice(0, 10**12), slice(0, 2, 0),
                                     slice(10**12, None), [0, 10**9]])
def test_hostile_block_columns_are_refused_fast(columns):
    start = time.perf_counter()
    with pytest.raises(ValueError, match="block"):
        IndependentHMM([(columns, CategoricalEmission())], 2, n_iter=1).fit(
            np.array([[0, 1.0], [1, 2.0]]))
    assert time.perf_counter() - start < 1


# ------------------------------------------------------------------ higher order
@pytest.mark.parametrize("order,n", [(o, n) for o in (30, 40, 63, 64, 100, 10**9)
                                     for n in (2, 3)] + [(10**9, 1)])
def test_higher_order_hmm_refuses_a_huge_order_at_once(order, n):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=rf"order {order} over {n} states.*would need"):
        HigherOrderHMM(CategoricalHMM(n, n_iter=1), order=order).fit(
            np.array([[0], [1], [0], [1]]) % n)
    assert time.perf_counter() - start < 2


def test_higher_order_hmm_file_with_a_huge_order_is_refused_before_expanding(tmp_path):
    model = HigherOrderHMM(CategoricalHMM(2, n_iter=1, random_state=0), order=2)
    model.fit(np.array([[0], [1], [0], [1], [1]]))
    path, hostile = tmp_path / "m.npz", tmp_path / "order14.npz"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    with zipfile.ZipFile(hostile, "w") as z:
        for name, data in members.items():
            if name.endswith(".json"):
                data = data.replace(b'"order": 2', b'"order": 14')
            z.writestr(name, data)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="order 14"):
        hmm_core.load(hostile)
    assert time.perf_counter() - start < 2


# ------------------------------------------------------------------ Markov chains
@pytest.mark.parametrize("cls", [MarkovChain, HigherOrderMarkovChain])
@pytest.mark.parametrize("kw,match", [
    ({"n_states": 2**63}, "n_states"), ({"n_states": 10**9}, "n_states"),
    ({"state_names": 0}, "state_names"), ({"state_names": ["a"]}, r"X contains state 1"),
])
def test_hostile_chain_settings_are_refused_by_name(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(**kw).fit(np.array([0, 1, 0, 1]))


@pytest.mark.parametrize("n_steps", [65, 200, 10**12, 10**30])
def test_higher_order_chain_predicts_far_ahead_quickly(n_steps):
    x = np.random.RandomState(1).randint(0, 3, 200)
    chain = HigherOrderMarkovChain(order=2).fit(x)
    start = time.perf_counter()
    far = chain.predict_distribution([0, 1], n_steps=n_steps)
    assert time.perf_counter() - start < 1
    assert abs(far.sum() - 1) < 1e-12
    if n_steps == 65:  # the matrix power agrees with stepping one at a time
        dist = {(0, 1): 1.0}
        for _ in range(n_steps):
            stepped, dist = chain._step(dist)
        np.testing.assert_allclose(far, stepped, atol=1e-14)


# ------------------------------------------------------------------ lengths
def test_a_length_beyond_the_frames_is_named():
    with pytest.raises(ValueError, match=r"got 1e\+300; lengths\[0\] = 1e\+300 alone is more"):
        _categorical().score(np.zeros((3, 1), dtype=int), [1e300])


# ------------------------------------------------------------------ Gaussian overflow
@pytest.mark.parametrize("covariance_type", ["spherical", "diag", "full", "tied"])
def test_gaussian_densities_beyond_the_double_range_are_minus_inf(covariance_type):
    """log N(1e200; 0, 1) = -5e399 exactly: -inf in doubles, for every covariance type."""
    model = GaussianHMM(1, covariance_type=covariance_type, init_params="", params="")
    model.startprob_, model.transmat_ = np.array([1.0]), np.array([[1.0]])
    model.means_ = np.zeros((1, 1))
    model.covars_ = {"spherical": np.ones(1), "diag": np.ones((1, 1)),
                     "full": np.ones((1, 1, 1)), "tied": np.ones((1, 1))}[covariance_type]
    X = np.array([[1e200], [0.0], [1.0]])
    ll = model.score_sequences(X, [1, 2])
    assert ll[0] == -np.inf
    np.testing.assert_allclose(ll[1], 2 * -0.5 * np.log(2 * np.pi) - 0.5)


# ------------------------------------------------------------------ Poisson rates
@pytest.mark.parametrize("lambdas", ["x", 5, [[1], [2, 3]], np.array([1.0, 2.0]),
                                     np.zeros((2, 1, 1))])
@pytest.mark.parametrize("method", ["score", "predict_proba", "sample", "fit"])
def test_malformed_poisson_rates_are_named(lambdas, method):
    """A scalar, a string or a ragged lambdas_ was an IndexError inside check_X."""
    X = np.random.RandomState(0).poisson(3, (8, 1))
    model = PoissonHMM(2, random_state=0, init_params="").fit(X, [3, 5])
    model.lambdas_ = lambdas
    with pytest.raises(ValueError, match="lambdas_"):
        getattr(model, method)(*((X,) if method != "sample" else (3,)))


def test_poisson_rates_beyond_int64_counts_are_not_sampled():
    X = np.random.RandomState(0).poisson(3, (8, 1))
    model = PoissonHMM(2, random_state=0).fit(X, [3, 5])
    model.lambdas_ = np.array([[1e308], [1.0]])
    assert np.isfinite(model.score(X))
    with pytest.raises(ValueError, match="lambdas_ holds a rate of 1e\\+308"):
        model.sample(3)
