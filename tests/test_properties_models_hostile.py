"""Hostile properties of the model classes: every constructor setting, restart counts,
state counts, restarts and refits with an end state, end probabilities of one, sampling
arguments, ragged and huge observations, wholly missing data, block columns, ragged
covariances, wrapped lengths and huge orders."""

import inspect

import numpy as np
import pytest
from _props import (
    HOSTILE_SETTINGS,
    KINDS,
    attempt,
    check_loglik,
    check_posteriors,
    must_succeed,
    offsets_of,
    props,
    random_data,
    random_model,
)
from hypothesis import given
from hypothesis import strategies as st
from test_properties_models import (
    QUERIES,
    _check_fitted,
    _hostile_X,
    fit_settings,
    models_and_data,
)

# Settings whose huge values ask for that much work (n_init restarts, at most
# 10,000); see test_huge_restart_counts_are_refused_or_finish.
SETTINGS_SKIPPED = {"callback"}


@pytest.mark.parametrize("kind", KINDS)
@props(60)
@given(st.data())
def test_hostile_constructor_settings_are_refused_by_name(kind, data):
    """Every constructor setting, every hostile value: refused naming the setting, or sound."""
    rng = np.random.RandomState(data.draw(st.integers(0, 2**32 - 1)))
    probe = random_model(kind, 2, rng, end=False)
    names = [p for p in inspect.signature(type(probe).__init__).parameters
             if p not in ("self", "blocks")]
    name = data.draw(st.sampled_from(names))
    value = data.draw(st.sampled_from(HOSTILE_SETTINGS + ["", 10**9, -(2**63)]))
    if name == "n_init" and isinstance(value, (int, np.integer)) and value > 10:
        value = -value  # huge restart counts: a property of their own
    X = random_data(kind, rng, 8)
    fresh = data.draw(st.booleans())

    def run():
        model = (random_model(kind, 2, np.random.RandomState(0), end=False, n_iter=2)
                 if not fresh else type(probe)(**({"blocks": probe.blocks}
                                                 if kind == "independent" else {})))
        model.set_params(n_iter=2)
        model.set_params(**{name: value})
        if fresh or data.draw(st.booleans()):
            model.fit(X, [3, 5])
        return model, model.score_sequences(X, [3, 5]), model.predict_proba(X, [3, 5])

    result, exc = attempt(run, {name})
    if exc is None:
        model, ll, post = result
        check_loglik(ll)
        check_posteriors(post, ll, offsets_of([3, 5], 8), model.n_components)
        _check_fitted(model, kind)


@props(10)
@given(st.sampled_from(KINDS), st.sampled_from([10**6, 10**9, 2**62]))
def test_huge_restart_counts_are_refused_or_finish(kind, n_init):
    """n_init=10**9 runs 10**9 EM restarts today (a hang); refuse it or bound the work."""
    rng = np.random.RandomState(0)
    model = random_model(kind, 2, rng, end=False, n_iter=1, n_init=n_init)
    attempt(lambda: model.fit(random_data(kind, rng, 6)), {"n_init"}, seconds=10)


@props(10)
@given(st.sampled_from(KINDS), st.sampled_from([10**6, 10**9, 10**30]))
def test_huge_state_counts_are_refused_by_name(kind, n):
    rng = np.random.RandomState(0)
    model = random_model(kind, 1, rng, end=False, n_iter=1)
    model.set_params(n_components=n)
    attempt(lambda: model.fit(random_data(kind, rng, 6)), {"n_components"}, seconds=10)


@pytest.mark.parametrize("kind", KINDS)
@props(12)
@given(st.data())
def test_restarts_with_an_end_state_leave_sound_parameters(kind, data):
    case = data.draw(models_and_data(kinds=(kind,)))
    _, model, X, lengths = case
    settings = data.draw(fit_settings(kind, model.n_components))
    settings.update(end_state=True, n_init=2, init_params=settings["init_params"] + "t")
    model.set_params(**settings)
    fitted, exc = attempt(lambda: model.fit(X, lengths), {"X", "sequence"})
    if exc is None:
        _check_fitted(fitted, kind)


@pytest.mark.parametrize("kind", KINDS)
@props(10)
@given(st.data())
def test_a_model_leaving_its_end_state_refits(kind, data):
    """A model holding endprob_ refitted with end_state=False and fresh transitions."""
    case = data.draw(models_and_data(kinds=(kind,)))
    _, model, X, lengths = case
    rng = np.random.RandomState(0)
    with_end = random_model(kind, model.n_components, rng, end=True)
    with_end.set_params(end_state=False, n_iter=2, init_params="st")
    fitted, exc = attempt(lambda: with_end.fit(X, lengths), {"X", "sequence", "end_state"})
    if exc is None:
        _check_fitted(fitted, kind)


@pytest.mark.parametrize("kind", KINDS)
@props(20)
@given(st.integers(0, 2**32 - 1), st.integers(1, 20))
def test_sampling_with_an_end_probability_of_one(kind, seed, n_samples):
    rng = np.random.RandomState(seed)
    model = random_model(kind, 2, rng, end=True)
    endprob = model.endprob_.copy()
    endprob[rng.randint(2)] = 1.0
    transmat = model.transmat_ / model.transmat_.sum(axis=1, keepdims=True)
    model.transmat_ = transmat * (1 - endprob)[:, None]
    model.endprob_ = endprob
    result, exc = attempt(lambda: model.sample(n_samples, random_state=seed), {"n_samples",
                                                                              "endprob_"})
    if exc is None:
        X, states = result
        assert len(states) == n_samples and states.min() >= 0 and states.max() < 2


@props(100)
@given(models_and_data(max_seq=1, missing=False), st.data())
def test_every_hostile_sampling_argument_is_refused_by_name(case, data):
    kind, model, _, _ = case
    n = model.n_components
    hostile = {
        "n_samples": [True, 10**30, 2**62],
        "random_state": [-1, 2**40, -(2**70)],
        "currstate": ["0", [0], 2.5, np.float64(0.5)],
    }
    name = data.draw(st.sampled_from(sorted(hostile)))
    args = {"n_samples": 3, "random_state": 0, "currstate": None,
            name: data.draw(st.sampled_from(hostile[name]))}
    result, exc = attempt(lambda: model.sample(**args), {name})
    if exc is None:
        assert name != "currstate" or float(args["currstate"]).is_integer(), (
            "a non-integer currstate was accepted")
        X, states = result
        assert states.min() >= 0 and states.max() < n


@props(150)
@given(models_and_data(max_seq=2, max_len=4, missing=False), st.data())
def test_every_hostile_observation_is_refused_by_name(case, data):
    """Ragged lists, and huge values for the full and tied Gaussians."""
    kind, model, X, lengths = case
    X = _hostile_X(kind, X, data, ragged=True, huge=True)
    method = data.draw(st.sampled_from(QUERIES))
    model.set_params(n_iter=2)
    result, exc = attempt(lambda: getattr(model, method)(X, lengths),
                          {"X", "lengths"})
    if exc is None and method in ("score", "aic", "bic"):
        assert not np.isnan(result)
    elif exc is None and method == "score_sequences":
        check_loglik(result)
    elif exc is None and method == "predict_proba":
        assert not np.isnan(result).any()


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "multinomial"])
@props(20)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 5), min_size=1, max_size=3))
def test_wholly_missing_observations_follow_one_rule(kind, seed, lengths):
    """One rule for missing data: data with no observed value at all is refused naming X,
    in every method; inside a batch with observed data, a sequence whose every frame is
    missing scores the chain alone (0 without an end state)."""
    rng = np.random.RandomState(seed)
    model = random_model(kind, 2, rng, end=False)
    observed = random_data(kind, rng, 2)
    X = random_data(kind, rng, sum(lengths)).astype(float)
    X[:] = np.nan
    if kind == "categorical":
        X = np.full(X.shape, -1)
    for method in ("score_sequences", "predict_proba", "score"):
        _, exc = attempt(lambda m=method: getattr(model, m)(X, lengths), {"X"})
        assert exc is not None, f"{method} accepted data with no observed value"
    batch = np.concatenate([np.asarray(observed, dtype=X.dtype), X])
    batch_lengths = [2, *lengths]
    ll = must_succeed(lambda: model.score_sequences(batch, batch_lengths))
    np.testing.assert_allclose(ll[1:], 0.0, atol=1e-12)
    check_posteriors(model.predict_proba(batch, batch_lengths), ll,
                     offsets_of(batch_lengths, len(batch)), 2)


@props(30)
@given(st.sampled_from([10**30, 2**62, 10**9, slice(0, 10**12), slice(0, 2, 0),
                        slice(10**12, None)]))
def test_hostile_block_columns_are_refused_by_name(columns):
    from hmm_core import IndependentHMM
    from hmm_core.emissions import CategoricalEmission

    X = np.array([[0, 1.0], [1, 2.0]])
    attempt(lambda: IndependentHMM([(columns, CategoricalEmission())], 2, n_iter=1).fit(X),
            {"block"})


@pytest.mark.parametrize("kind", [k for k in KINDS if k.startswith(("gaussian", "gmm"))])
@props(10)
@given(st.data())
def test_ragged_covariances_are_refused_by_name(kind, data):
    _, model, X, lengths = data.draw(models_and_data(kinds=(kind,), missing=False))

    def run():
        model.covars_ = [[0.5], [0.5, 0.5]]

    attempt(run, {"covars_"})


@pytest.mark.parametrize("kind", KINDS)
@props(20)
@given(st.data())
def test_overflowing_lengths_are_refused_by_name(kind, data):
    """lengths whose int64 sum wraps around to the number of frames."""
    from _props import OVERFLOW_LENGTHS

    lengths = data.draw(st.sampled_from(OVERFLOW_LENGTHS))
    wrapped = int(np.asarray(lengths).astype(np.int64).sum())
    rng = np.random.RandomState(data.draw(st.integers(0, 2**32 - 1)))
    model = random_model(kind, 2, rng, end=False, n_iter=1)
    X = random_data(kind, rng, max(wrapped, 1))
    method = data.draw(st.sampled_from(QUERIES))
    attempt(lambda: getattr(model, method)(X, lengths), {"lengths"})


@props(10)
@given(st.sampled_from([30, 40, 63, 64, 100, 10**9]), st.integers(2, 3))
def test_higher_order_models_refuse_an_order_too_large_by_name(order, n):
    """n + n**2 + ... + n**order expanded states: refuse (naming order) rather than
    MemoryError (order 30) or a wrapped count (order 64: 'repeats may not contain
    negative values')."""
    from hmm_core import CategoricalHMM, HigherOrderHMM

    X = np.array([[0], [1], [0], [1]])
    attempt(lambda: HigherOrderHMM(CategoricalHMM(n, n_iter=1), order=order).fit(X),
            {"order"}, seconds=10)
