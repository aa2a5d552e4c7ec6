"""The estimators fail early and clearly on bad settings and input, and never answer wrongly.

Settings are checked in one place (the classes' ``_parameter_constraints``)
before anything runs; caches never outlive the parameters they were built
from; requests that would need more memory than the machine has fail before
allocating; lengths and symbols are checked in their own dtype.
"""


import copy

import numpy as np
import pytest

import hmm_core
from hmm_core import (
    GMMHMM,
    CategoricalHMM,
    GaussianHMM,
    MultinomialHMM,
    PoissonHMM,
)
from hmm_core.emissions import CategoricalEmission
from hmm_core.emissions.gaussian import GaussianEmission
from hmm_core.emissions.poisson import PoissonEmission
from hmm_core.estimator import InvalidParameterError
from hmm_core.models.independent import IndependentHMM

SYMBOLS = np.array([[0], [1], [1], [2], [0], [2]] * 3)
REAL = np.random.RandomState(0).normal(size=(30, 2))
COUNTS = np.random.RandomState(0).poisson(3, size=(30, 2))
TRIALS = np.random.RandomState(0).multinomial(4, [0.2, 0.3, 0.5], size=30)


def _independent(**kwargs):
    blocks = [(0, CategoricalEmission()), ([1], PoissonEmission())]
    return IndependentHMM(blocks, **kwargs)


MIXED = np.column_stack([SYMBOLS[:, 0], np.arange(18) % 4]).astype(float)

MODELS = [
    (CategoricalHMM, SYMBOLS),
    (GaussianHMM, REAL),
    (GMMHMM, REAL),
    (PoissonHMM, COUNTS),
    (MultinomialHMM, TRIALS),
    (_independent, MIXED),
]


# ------------------------------------------------------------------ settings
CHAIN_SETTINGS = [
    ({"n_components": 0}, "n_components must be a positive integer"),
    ({"n_components": 2.0}, "n_components must be a positive integer"),
    ({"n_components": True}, "n_components must be a positive integer"),
    ({"tol": "x"}, "tol must be a real number"),
    ({"tol": np.nan}, "tol must be a real number"),
    ({"params": None}, "params must be a string of letters"),
    ({"init_params": 3}, "init_params must be a string of letters"),
    ({"params": "stq"}, "params has unknown letters"),
    ({"callback": 0}, "callback must be a callable or None"),
    ({"algorithm": np.array(["viterbi"])}, "algorithm must be one of"),
    ({"algorithm": "beam"}, "algorithm must be one of"),
    ({"end_state": "x"}, "end_state must be a bool"),
    ({"end_state": 2}, "end_state must be a bool"),
    ({"verbose": "x"}, "verbose must be a bool or a non-negative integer"),
    ({"n_iter": 2.5}, "n_iter must be a non-negative integer"),
    ({"n_iter": -1}, "n_iter must be a non-negative integer"),
    ({"n_init": 0}, "n_init must be a positive integer"),
    ({"n_threads": "x"}, "n_threads must be an integer or None"),
    ({"n_threads": 0}, "n_threads must not be 0"),
    ({"random_state": "x"}, "random_state must be None, an int"),
    ({"random_state": -1}, "random_state must be None, an int"),
    ({"random_state": 2**40}, "random_state must be None, an int"),
    ({"random_state": np.random.default_rng(0)}, "random_state must be None, an int"),
    ({"startprob_prior": [1.0, 2.0, 3.0]}, r"startprob_prior must be a scalar or have shape"),
    ({"startprob_prior": -1.0}, "startprob_prior must be finite and non-negative"),
    ({"transmat_prior": np.nan}, "transmat_prior must be finite and non-negative"),
    ({"transmat_prior": "x"}, "transmat_prior must be a real number or an array"),
    ({"transmat_prior": np.ones((3, 3))}, "transmat_prior must be a scalar or have shape"),
    ({"endprob_prior": -2.0, "end_state": True}, "endprob_prior must be finite and non-neg"),
]


@pytest.mark.parametrize("kwargs,match", CHAIN_SETTINGS)
@pytest.mark.parametrize("make,X", MODELS, ids=lambda m: getattr(m, "__name__", ""))
def test_every_model_checks_its_chain_settings_before_fitting(make, X, kwargs, match):
    if make is _independent and kwargs == {"params": None}:
        pytest.skip("IndependentHMM reads params=None as every letter")
    model = make(**{"n_components": 2, "random_state": 0, **kwargs})
    calls = []
    model.callback = calls.append if "callback" not in kwargs else kwargs["callback"]
    with pytest.raises(InvalidParameterError, match=match) as info:
        model.fit(X)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    # monitor_ exists before fit, as in hmmlearn; nothing was recorded
    assert calls == [] and model.monitor_.history == [] and model.monitor_.iter == 0


@pytest.mark.parametrize("make,kwargs,match", [
    (CategoricalHMM, {"n_features": "x"}, "n_features must be a positive integer or None"),
    (CategoricalHMM, {"n_features": 0}, "n_features must be a positive integer or None"),
    (CategoricalHMM, {"emissionprob_prior": [1.0, 2.0]}, "emissionprob_prior must be a scalar"),
    (CategoricalHMM, {"emissionprob_prior": -1.0}, "emissionprob_prior must be finite"),
    (CategoricalHMM, {"emission_ties": [0, 5]}, "emission_ties"),
    (CategoricalHMM, {"transmat_ties": "x"}, "transmat_ties must hold integers"),
    (CategoricalHMM, {"training": "x"}, "training must be one of"),
    (GaussianHMM, {"min_covar": "x"}, "min_covar must be a positive float"),
    (GaussianHMM, {"min_covar": -1.0}, "min_covar must be a positive float"),
    (GaussianHMM, {"covariance_type": "x"}, "covariance_type must be one of"),
    (GaussianHMM, {"means_weight": [1.0, 2.0, 3.0]}, "means_weight must be a scalar"),
    (GaussianHMM, {"means_weight": -1.0}, "means_weight must be finite and non-negative"),
    (GaussianHMM, {"means_prior": np.ones((2, 5))}, "means_prior must be a scalar"),
    (GaussianHMM, {"covars_prior": "x"}, "covars_prior must be a real number"),
    (GaussianHMM, {"covars_prior": -1.0}, "covars_prior must be finite and non-negative"),
    (GaussianHMM, {"covars_weight": np.nan}, "covars_weight must be finite"),
    (GMMHMM, {"n_mix": "x"}, "n_mix must be a positive integer"),
    (GMMHMM, {"weights_prior": -1.0}, "weights_prior must be finite and non-negative"),
    (GMMHMM, {"weights_prior": np.ones((2, 3))}, "weights_prior must be a scalar"),
    (GMMHMM, {"covars_prior": np.nan}, "covars_prior must be finite"),
    (PoissonHMM, {"lambdas_prior": -1.0}, "lambdas_prior must be finite and non-negative"),
    (PoissonHMM, {"lambdas_weight": "x"}, "lambdas_weight must be a real number"),
    (PoissonHMM, {"lambdas_prior": np.ones((2, 5))}, "lambdas_prior must be a scalar or have"),
    (MultinomialHMM, {"n_trials": -1}, "n_trials must hold non-negative integers"),
    (MultinomialHMM, {"emissionprob_prior": "x"}, "emissionprob_prior must be a real number"),
])
def test_emission_settings_are_checked_before_fitting(make, kwargs, match):
    X = dict(MODELS)[make]
    with pytest.raises(InvalidParameterError, match=match):
        make(**{"n_components": 2, "random_state": 0, **kwargs}).fit(X)


def test_priors_of_the_documented_shapes_pass():
    CategoricalHMM(2, startprob_prior=np.ones(2), transmat_prior=np.ones((2, 2)),
                   emissionprob_prior=np.ones((2, 3)), random_state=0).fit(SYMBOLS)
    CategoricalHMM(2, emissionprob_prior=np.ones((1, 3)), emission_ties=[0, 0],
                   random_state=0).fit(SYMBOLS)  # one emission class: one row
    PoissonHMM(2, lambdas_prior=np.ones(2), lambdas_weight=np.ones((2, 2)),
               random_state=0).fit(COUNTS)
    GaussianHMM(2, "full", covars_prior=np.eye(2), means_prior=np.zeros(2),
                random_state=0).fit(REAL)
    GaussianHMM(2, "tied", covars_prior=np.eye(2), covars_weight=3.0, random_state=0).fit(REAL)
    GMMHMM(2, n_mix=2, covariance_type="diag", covars_prior=-1.5, random_state=0).fit(REAL)
    CategoricalHMM(2, tol=-np.inf, verbose=0, end_state=np.bool_(True), n_threads=-1,
                   random_state=np.int64(3), n_iter=np.int64(2)).fit(SYMBOLS)


@pytest.mark.parametrize("kwargs,match", [
    ({"blocks": "x"}, "blocks must be a non-empty list"),
    ({"blocks": [(0, CategoricalEmission(n_features="x"))]},
     r"blocks\[0\]: n_features must be a positive integer"),
    ({"blocks": [(0, CategoricalEmission()), ([1], PoissonEmission(lambdas_prior=-1))]},
     r"blocks\[1\]: lambdas_prior must be finite and non-negative"),
    ({"blocks": [([0, 1], GaussianEmission(min_covar=0))]},
     r"blocks\[0\]: min_covar must be a positive float"),
])
def test_independent_blocks_are_checked_with_their_emission_rules(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        IndependentHMM(**{"n_components": 2, **kwargs}).fit(MIXED)


def test_settings_changed_after_fitting_are_checked_when_used():
    model = CategoricalHMM(2, random_state=0).fit(SYMBOLS)
    model.n_threads = "many"
    with pytest.raises(InvalidParameterError, match="n_threads must be an integer"):
        model.score(SYMBOLS)
    model.n_threads = None
    model.algorithm = "beam"
    with pytest.raises(InvalidParameterError, match="algorithm must be one of"):
        model.predict(SYMBOLS)
    with pytest.raises(InvalidParameterError, match="algorithm must be one of"):
        CategoricalHMM(2, random_state=0).fit(SYMBOLS).decode(SYMBOLS,
                                                               algorithm=np.array(["map"]))


# -------------------------------------------------------------------- caches
def _fresh_copy(model):
    """A newly constructed model given the fitted parameters of ``model``."""
    fresh = type(model)(**model.get_params(deep=False))
    fresh.startprob_, fresh.transmat_ = model.startprob_.copy(), model.transmat_.copy()
    if getattr(model, "endprob_", None) is not None:
        fresh.endprob_ = model.endprob_.copy()
    names = {CategoricalHMM: ["emissionprob_"], MultinomialHMM: ["emissionprob_"],
             PoissonHMM: ["lambdas_"], GaussianHMM: ["means_", "_covars_"],
             GMMHMM: ["weights_", "means_", "covars_"]}[type(model)]
    for name in names:
        setattr(fresh, name, copy.deepcopy(getattr(model, name)))
    return fresh


@pytest.mark.parametrize("end_state", [False, True])
@pytest.mark.parametrize("make,X", MODELS[:5], ids=lambda m: getattr(m, "__name__", ""))
def test_scores_after_restarts_are_those_of_the_fitted_parameters(make, X, end_state):
    model = make(2, n_init=3, end_state=end_state, random_state=0, n_iter=5).fit(X)
    fresh = _fresh_copy(model)
    for data in (X, X[:7]):
        assert model.score(data) == fresh.score(data)
        np.testing.assert_array_equal(model.predict_proba(data), fresh.predict_proba(data))
        np.testing.assert_array_equal(model.predict(data), fresh.predict(data))


def test_new_blocks_with_equal_values_are_validated_again():
    blocks = [(0, CategoricalEmission(n_features=3)), ([1], PoissonEmission())]
    model = IndependentHMM(blocks, n_components=2, random_state=0).fit(MIXED)
    expected = model.score(MIXED)
    first = CategoricalEmission(n_features=3)
    first.emissionprob_ = model.emissions_[0].emissionprob_.copy()
    second = PoissonEmission()
    second.lambdas_, second.n_features = model.emissions_[1].lambdas_.copy(), 1
    model.blocks = [(0, first), ([1], second)]  # same values, never validated
    assert model.score(MIXED) == expected


def test_a_refit_follows_a_changed_end_state():
    model = CategoricalHMM(2, end_state=True, random_state=0).fit(SYMBOLS)
    assert model.endprob_ is not None
    model.set_params(end_state=False).fit(SYMBOLS)
    assert model.endprob_ is None
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0)
    model.set_params(end_state=True, n_init=2).fit(SYMBOLS)
    np.testing.assert_allclose(model.transmat_.sum(axis=1) + model.endprob_, 1.0)


# ------------------------------------------------------------------- lengths
def _fitted_categorical():
    model = CategoricalHMM(2)
    model.startprob_ = np.array([0.4, 0.6])
    model.transmat_ = np.array([[0.7, 0.3], [0.2, 0.8]])
    model.emissionprob_ = np.array([[0.5, 0.5], [0.1, 0.9]])
    return model


TWO = np.array([[0], [1]])
LENGTH_CALLS = {
    "score": lambda L: _fitted_categorical().score(TWO, L),
    "score_sequences": lambda L: _fitted_categorical().score_sequences(TWO, L),
    "decode_kbest": lambda L: _fitted_categorical().decode_kbest(TWO, L, k=3),
    "fit_states": lambda L: CategoricalHMM(2).fit(TWO, L, states=[0, 1]),
    "fit_partial_states": lambda L: CategoricalHMM(2).fit(TWO, L, states=[0, -1]),
    "fit": lambda L: CategoricalHMM(2, random_state=0).fit(TWO, L),
    "forward": lambda L: hmm_core.forward(np.log([0.5, 0.5]), np.full((2, 2), 0.5),
                                          np.zeros((2, 2)), L),
    "kbest_viterbi": lambda L: hmm_core.kbest_viterbi(np.log([0.5, 0.5]), np.full((2, 2), 0.5),
                                                      np.zeros((2, 2)), 2, L),
}


@pytest.mark.parametrize("call", sorted(LENGTH_CALLS))
@pytest.mark.parametrize("lengths,match", [
    ([2**62, 2**62, -2**63 + 2], "lengths must be positive"),
    ([2**63 - 1, 2**63 - 1, 4], r"lengths must sum to the number of frames in X \(2\), got "
                                "18446744073709551618"),
    (np.array([2**64 - 1, 3], dtype=np.uint64), r"must sum to .* got 18446744073709551618"),
    (np.array([2**63, 2**63, 2], dtype=np.uint64), r"must sum to .* got 18446744073709551618"),
    ([1e30, 1], r"lengths must sum to the number of frames in X \(2\)"),
    ([3, -1], "lengths must be positive"),
    ([2, 0], "lengths must be positive"),
    ([1.5, 0.5], "lengths must hold integers"),
    ([np.nan, 2], "lengths must hold integers"),
    ([True, True], "lengths must hold integers"),
    ([2**70, 1], "lengths must hold integers"),
    ([[1], [1, 2]], "lengths must be a 1-D sequence"),
    ([], "lengths must be a non-empty 1-D sequence"),
])
def test_one_lengths_check_everywhere(call, lengths, match):
    with pytest.raises(ValueError, match=match):
        LENGTH_CALLS[call](lengths)


@pytest.mark.parametrize("lengths", [[1, 1], np.array([1, 1], dtype=np.uint8), [1.0, 1.0]])
def test_valid_lengths_of_any_integer_dtype_pass(lengths):
    np.testing.assert_allclose(_fitted_categorical().score_sequences(TWO, lengths),
                               _fitted_categorical().score_sequences(TWO, [1, 1]))


# ---------------------------------------------------- symbols, missing values
@pytest.mark.parametrize("X,match", [
    (np.array([[0], [2**64 - 1]], dtype=np.uint64), "holds symbol 18446744073709551615 but"),
    (np.array([[0], [2**63]], dtype=np.uint64), "holds symbol 9223372036854775808 but"),
    (np.array([[0.0], [1e300]]), "holds symbol 1e\\+300 but n_features is 2"),
    (np.array([[0.0], [-3.0]]), "symbols >= 0 .* found -3"),
    (np.array([[0.0], [0.5]]), "integer symbols; found non-integer"),
    (np.array([[True], [False]]), "integer symbols, got dtype bool"),
    (np.array([[0], [-1]], dtype=np.int8)[[1, 1]], "every frame is missing"),
])
def test_symbols_are_checked_in_their_own_dtype(X, match):
    for method in ("score", "predict", "score_sequences"):
        with pytest.raises(ValueError, match=match):
            getattr(_fitted_categorical(), method)(X)


def test_symbols_of_any_integer_dtype_score_alike():
    expected = _fitted_categorical().score_sequences(np.array([[0], [1], [-1]]), [2, 1])
    for dtype in (np.int8, np.uint8, np.uint64, np.float32):
        X = np.array([[0], [1], [1]], dtype=dtype)
        if np.issubdtype(dtype, np.signedinteger) or dtype == np.float32:
            X[2] = -1
            assert _fitted_categorical().score_sequences(X, [2, 1])[0] == expected[0]
    with pytest.raises(ValueError, match="beyond any number of symbols"):
        CategoricalHMM(2).fit(np.array([[0], [2**63]], dtype=np.uint64))


def _gaussian():
    model = GaussianHMM(2, covariance_type="diag")
    model.startprob_ = np.array([0.4, 0.6])
    model.transmat_ = np.array([[0.7, 0.3], [0.2, 0.8]])
    model.means_, model.covars_ = np.zeros((2, 2)), np.ones((2, 2))
    return model


def _poisson():
    model = PoissonHMM(2)
    model.startprob_ = np.array([0.4, 0.6])
    model.transmat_ = np.array([[0.7, 0.3], [0.2, 0.8]])
    model.lambdas_ = np.ones((2, 2))
    return model


def _blocks():
    model = _independent(n_components=2)
    model.startprob_ = np.array([0.4, 0.6])
    model.transmat_ = np.array([[0.7, 0.3], [0.2, 0.8]])
    model.emissions_[0].emissionprob_ = np.array([[0.5, 0.5], [0.1, 0.9]])
    model.emissions_[0].n_features = 2
    model.emissions_[1].lambdas_ = np.ones((2, 1))
    return model


MISSING_CASES = [
    ("categorical", _fitted_categorical, np.array([[-1], [-1], [0]])),
    ("gaussian", _gaussian, np.array([[np.nan, np.nan], [np.nan, np.nan], [0.5, np.nan]])),
    ("poisson", _poisson, np.array([[np.nan, np.nan], [np.nan, np.nan], [1.0, np.nan]])),
    ("independent", _blocks, np.array([[np.nan, np.nan], [np.nan, np.nan], [1.0, 2.0]])),
]


@pytest.mark.parametrize("name,make,X", MISSING_CASES, ids=[c[0] for c in MISSING_CASES])
def test_data_with_no_observation_is_an_error_for_every_emission(name, make, X):
    nothing = X[:2]
    for method in ("score", "score_sequences", "score_samples", "predict", "decode_kbest"):
        with pytest.raises(ValueError, match="has no observed (value|symbol): every "):
            getattr(make(), method)(nothing)
    with pytest.raises(ValueError, match="no observed (value|symbol)"):
        make().set_params(init_params="", n_iter=1).fit(nothing)


@pytest.mark.parametrize("end", [False, True])
@pytest.mark.parametrize("name,make,X", MISSING_CASES, ids=[c[0] for c in MISSING_CASES])
def test_a_sequence_with_no_observation_is_scored_by_the_chain_alone(name, make, X, end):
    """Valid next to observed sequences: log P(length), 0 without an end state."""
    model = make()
    length_logprob = 0.0
    if end:
        model.endprob_ = np.array([0.1, 0.3])
        model.transmat_ = model.transmat_ * (1 - model.endprob_)[:, None]
        length_logprob = np.log(model.startprob_ @ model.transmat_ @ model.endprob_)
    loglik = model.score_sequences(X, [2, 1])
    assert abs(loglik[0] - length_logprob) < 1e-14
    assert model.score(X, [2, 1]) == pytest.approx(loglik.sum(), abs=1e-12)
    post = model.predict_proba(X, [2, 1])
    np.testing.assert_allclose(post[0], model.startprob_, atol=1e-12) if not end else None
    fit = make().set_params(init_params="", n_iter=2, params="st").fit(X, [2, 1])
    assert np.all(np.isfinite(fit.transmat_))


# -------------------------------------------------------------------- memory
def _fails_fast(func, match):
    """``func`` raises ValueError matching ``match`` having allocated almost nothing."""
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match) as info:
            func()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, peak
    assert "bytes)" in str(info.value) and "$HMM_CORE_MEMORY_LIMIT" in str(info.value)
    return str(info.value)


def test_terabyte_requests_fail_before_allocating():
    message = _fails_fast(lambda: CategoricalHMM(10**6).fit(SYMBOLS),
                          r"fit with n_components=1000000 on 18 frames would need about "
                          r"43.7 TiB \(48,000,")
    assert "use fewer states" in message
    _fails_fast(lambda: CategoricalHMM(2, n_features=10**12).fit(SYMBOLS),
                "use fewer features or symbols")
    model = CategoricalHMM(2, random_state=0).fit(SYMBOLS)
    _fails_fast(lambda: model.decode_kbest(SYMBOLS, k=10**9), "a smaller k")
    _fails_fast(lambda: hmm_core.kbest_viterbi(np.log([0.5, 0.5]), np.full((2, 2), 0.5),
                                               np.zeros((10**5, 2)), k=10**7),
                r"k=10,000,000 best paths .* 14.6 TiB")
    _fails_fast(lambda: model.sample(10**13), r"sample\(10,000,000,000,000\)")
    from hmm_core.higher_order import HigherOrderHMM
    _fails_fast(lambda: HigherOrderHMM(CategoricalHMM(100), order=4).fit(SYMBOLS),
                "use a lower order or fewer states")


def test_the_budget_follows_the_environment(monkeypatch):
    X = np.random.RandomState(0).normal(size=(2000, 3))
    GaussianHMM(50, n_iter=1, random_state=0).fit(X)
    monkeypatch.setenv("HMM_CORE_MEMORY_LIMIT", str(2**20))
    message = _fails_fast(lambda: GaussianHMM(50, n_iter=1, random_state=0).fit(X),
                          r"fit with n_components=50 on 2,000 frames .* 1 MiB allowed")
    assert "pass fewer frames at once (2,000 frames x 50 states" in message
    model = CategoricalHMM(2, random_state=0).fit(SYMBOLS)
    long = np.tile(SYMBOLS, (20000, 1))
    with pytest.raises(ValueError, match="posteriors with n_components=2 on 360,000 frames"):
        model.predict_proba(long)
    with pytest.raises(ValueError, match="viterbi with n_components=2"):
        model.predict(long)
    model.score(long)  # the frame table: no (T, N) array
    monkeypatch.setenv("HMM_CORE_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="HMM_CORE_MEMORY_LIMIT must be a number of bytes"):
        model.score(SYMBOLS)


# ------------------------------------------------------------------ sampling
def _loop_sample(model, n_samples, random_state, currstate=None):
    """hmm_core's earlier frame-by-frame sampler (the reference of the draws)."""
    chain = model._check()
    rng = model._random_source(random_state)
    trans_cdf = np.cumsum(chain.transmat, axis=1)
    start_cdf = np.cumsum(chain.startprob)
    uniforms = rng.random_sample(n_samples)
    state = (int(currstate) if currstate is not None
             else int(np.searchsorted(start_cdf, uniforms[0] * start_cdf[-1], "right")))
    states = np.empty(n_samples, dtype=np.int64)
    states[0] = state
    for t in range(1, n_samples):
        row = trans_cdf[state]
        state = int(np.searchsorted(row, uniforms[t] * row[-1], side="right"))
        states[t] = state
    ties = model._emission_map()
    classes = states if ties is None else ties[states]
    cdf = np.cumsum(model.emissionprob_, axis=1)
    u = rng.random_sample(n_samples) * cdf[classes, -1]
    return (u[:, None] >= cdf[classes]).sum(axis=1)[:, None].astype(np.int64), states


def _random_categorical(rng, n, k, kind):
    model = CategoricalHMM(n)
    transmat = rng.dirichlet(np.full(n, 0.7), size=n)
    if kind == "zeros":
        transmat[rng.rand(n, n) < 0.5] = 0.0
        transmat[transmat.sum(axis=1) == 0, 0] = 1.0
        transmat /= transmat.sum(axis=1, keepdims=True)
    elif kind == "sticky":
        transmat = 0.97 * np.eye(n) + 0.03 * transmat
    model.startprob_ = rng.dirichlet(np.ones(n))
    model.transmat_ = transmat
    if kind == "end":
        model.endprob_ = rng.uniform(0.0, 0.4, n)
        model.transmat_ = transmat * (1 - model.endprob_)[:, None]
    emission = rng.dirichlet(np.ones(k), size=n)
    emission[:, 0] = 0.0 if kind == "zeros" and k > 1 else emission[:, 0]
    model.emissionprob_ = emission / emission.sum(axis=1, keepdims=True)
    return model


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 64 frames from 200 frames on: short paths take the vectorised route."""
    from hmm_core.hmm import _sampling

    monkeypatch.setattr(_sampling, "_STEPS", 64)
    monkeypatch.setattr(_sampling, "_BLOCKS", 8)
    monkeypatch.setattr(_sampling, "_SCALAR_BELOW", 200)
    monkeypatch.setattr(_sampling, "_MEETINGS", (8, 16, 32))


@pytest.mark.parametrize("kind", ["dense", "zeros", "sticky", "end"])
@pytest.mark.parametrize("n", [1, 2, 3, 16, 64, 65])
def test_vectorised_draws_are_those_of_the_frame_loop(small_blocks, n, kind):
    rng = np.random.RandomState(n)
    model = _random_categorical(rng, n, 1 + n % 5, kind)
    for n_samples, currstate in [(1, None), (2, 0), (199, None), (200, None),
                                 (1000 + 7, n - 1), (64 * 8 * 3 + 5, None)]:
        expected = _loop_sample(model, n_samples, 11, currstate)
        drawn = model.sample(n_samples, random_state=11, currstate=currstate)
        np.testing.assert_array_equal(drawn[1], expected[1])
        np.testing.assert_array_equal(drawn[0], expected[0])


def test_draws_of_long_paths_are_those_of_the_frame_loop():
    model = _random_categorical(np.random.RandomState(4), 16, 6, "dense")
    model.emission_ties = None
    expected = _loop_sample(model, 150_000, 3)
    drawn = model.sample(150_000, random_state=3)
    np.testing.assert_array_equal(drawn[1], expected[1])
    np.testing.assert_array_equal(drawn[0], expected[0])


def test_tied_emissions_and_other_emissions_sample_from_the_same_path(small_blocks):
    model = _random_categorical(np.random.RandomState(2), 4, 3, "dense")
    model.emission_ties = [0, 1, 1, 0]
    model.emissionprob_ = model.emissionprob_[:2]
    expected = _loop_sample(model, 700, 5)
    drawn = model.sample(700, random_state=5)
    np.testing.assert_array_equal(drawn[0], expected[0])
    np.testing.assert_array_equal(drawn[1], expected[1])
    gauss = _gaussian()
    rng = np.random.RandomState(8)
    X, states = gauss.sample(900, random_state=rng)
    again = _gaussian().sample(900, random_state=np.random.RandomState(8))
    np.testing.assert_array_equal(X, again[0])
    np.testing.assert_array_equal(states, again[1])


def test_sampled_paths_follow_the_transitions():
    model = _random_categorical(np.random.RandomState(0), 5, 3, "dense")
    X, states = model.sample(400_000, random_state=1)
    counts = np.zeros((5, 5))
    np.add.at(counts, (states[:-1], states[1:]), 1)
    rows = counts.sum(axis=1, keepdims=True)
    assert np.all(np.abs(counts / rows - model.transmat_) <= 5 * np.sqrt(0.25 / rows))
    symbols = np.zeros((5, 3))
    np.add.at(symbols, (states, X[:, 0]), 1)
    np.testing.assert_allclose(symbols / symbols.sum(axis=1, keepdims=True),
                               model.emissionprob_, atol=0.01)


def test_a_state_that_always_ends_cannot_be_continued():
    model = _fitted_categorical()
    model.transmat_ = np.array([[0.5, 0.3], [0.0, 0.0]])
    model.endprob_ = np.array([0.2, 1.0])
    with pytest.raises(ValueError, match=r"state 1 always ends \(endprob_\[1\] = 1\), so a "
                                         "sequence cannot continue from it, and it can be "
                                         "reached at frame 0 of the 5 requested"):
        model.sample(5, random_state=0)
    assert model.sample(1, random_state=0)[1].shape == (1,)  # a last frame may end
    X, states = model.sample(1, random_state=0, currstate=1)
    assert states.tolist() == [1]
    model.startprob_ = np.array([1.0, 0.0])
    with pytest.raises(ValueError, match="reached at frame 1 of the 3 requested; sample at "
                                         "most 2 frame"):
        model.sample(3, random_state=0)
    np.testing.assert_array_equal(model.sample(2, random_state=0)[1][:1], [0])
    model.transmat_ = np.array([[0.8, 0.0], [0.0, 0.0]])  # state 1 unreachable from 0
    assert set(model.sample(500, random_state=0)[1]) == {0}


@pytest.mark.parametrize("kwargs,match", [
    ({"n_samples": 0}, "n_samples must be a positive integer"),
    ({"n_samples": 2.0}, "n_samples must be a positive integer"),
    ({"n_samples": True}, "n_samples must be a positive integer"),
    ({"n_samples": 3, "currstate": 2}, "currstate must be in 0..1"),
    ({"n_samples": 3, "currstate": True}, "currstate must be in 0..1"),
    ({"n_samples": 3, "random_state": -5}, "random_state must be None, an int"),
])
def test_sample_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _fitted_categorical().sample(**kwargs)


def test_seeded_samples_repeat_and_a_shared_generator_advances():
    model = _fitted_categorical()
    first = model.sample(50_000, random_state=7)
    np.testing.assert_array_equal(first[0], model.sample(50_000, random_state=7)[0])
    shared = np.random.RandomState(7)
    a, b = model.sample(100, random_state=shared), model.sample(100, random_state=shared)
    assert not np.array_equal(a[1], b[1])


def test_inverse_cdf_table_matches_the_scalar_rule():
    from hmm_core.emissions._inverse_cdf import RowSampler

    rng = np.random.RandomState(3)
    for _ in range(30):
        rows, k = rng.randint(1, 12), rng.randint(1, 30)
        probs = rng.dirichlet(np.ones(k), size=rows) * rng.uniform(0.3, 1.0, (rows, 1))
        probs[rng.rand(rows, k) < 0.3] = 0.0
        probs[probs.sum(axis=1) == 0, -1] = 0.5
        sampler = RowSampler(probs)
        cdf = np.cumsum(probs, axis=1)
        limits = sampler.thresholds[np.isfinite(sampler.thresholds)]
        u = np.concatenate([rng.random_sample(40_000), limits[limits < 1],
                            np.nextafter(limits[limits < 1], 0)])
        which = rng.randint(0, rows, u.size)
        expected = [np.searchsorted(cdf[r], x * cdf[r, -1], "right")
                    for r, x in zip(which, u, strict=True)]
        np.testing.assert_array_equal(sampler.draw(which, u), expected)
