"""Properties of the observable Markov chains (MarkovChain, HigherOrderMarkovChain).

Random state sequences and transition matrices: fits are stochastic without
NaN, log-likelihoods agree with a direct sum of logs and never hold NaN,
samples are possible sequences, the structural analysis (classes,
stationary distributions, absorption) is consistent, and hostile settings
and arguments raise ValueError or TypeError naming them.
"""

import numpy as np
import pytest
from _props import (
    HOSTILE_LENGTHS,
    HOSTILE_SETTINGS,
    attempt,
    check_loglik,
    check_stochastic,
    must_succeed,
    props,
    stochastic,
)
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from hmm_core import HigherOrderMarkovChain, MarkovChain


@st.composite
def sequences(draw, max_states=4, max_seq=3, max_len=12):
    n = draw(st.integers(1, max_states))
    lengths = draw(st.lists(st.integers(1, max_len), min_size=1, max_size=max_seq))
    x = draw(st.lists(st.integers(0, n - 1), min_size=sum(lengths), max_size=sum(lengths)))
    return n, np.array(x), lengths


def _direct_loglik(startprob, transmat, x, lengths):
    out, a = [], 0
    with np.errstate(divide="ignore"):
        for length in lengths:
            seq = x[a:a + length]
            out.append(np.log(startprob[seq[0]]) + np.log(transmat[seq[:-1], seq[1:]]).sum())
            a += length
    return np.array(out)


# -------------------------------------------------------------- MarkovChain fits
@props(240)
@given(sequences(), st.sampled_from([0.0, 0.5, 1.0]), st.booleans(), st.booleans(),
       st.integers(0, 2**32 - 1))
def test_markov_chain_fit_score_and_sample(data, pseudocount, names, extra_state, seed):
    n, x, lengths = data
    n_states = n + extra_state
    state_names = [f"s{i}" for i in range(n_states)] if names else None
    chain = MarkovChain(n_states=n_states, state_names=state_names, pseudocount=pseudocount,
                        random_state=seed)
    must_succeed(lambda: chain.fit(x, lengths))
    check_stochastic(chain.startprob_, "startprob_")
    check_stochastic(chain.transmat_, "transmat_")
    ll = chain.score_sequences(x, lengths)
    check_loglik(ll)
    assert np.all(ll > -np.inf), "the training sequences are impossible"
    assert_allclose(ll, _direct_loglik(chain.startprob_, chain.transmat_, x, lengths),
                    rtol=1e-12, atol=1e-12)
    other = np.random.RandomState(seed).randint(0, n_states, size=7)
    check_loglik(chain.score_sequences(other))
    sample = chain.sample(9, random_state=seed)
    assert sample.shape == (9,) and sample.min() >= 0 and sample.max() < n_states
    assert chain.score(sample) > -np.inf
    if names:
        as_names = [state_names[i] for i in x]
        assert_allclose(chain.score_sequences(as_names, lengths), ll)
    m = int(np.random.RandomState(seed).randint(0, 10**12))
    check_stochastic(chain.n_step_transmat(m), "n_step_transmat")
    check_stochastic(chain.predict_distribution(int(x[-1]), n_steps=m % 50),
                     "predict_distribution")


@props(180)
@given(sequences(max_states=3), st.sampled_from([0.0, 1.0]), st.integers(0, 2**32 - 1))
def test_order_one_chain_agrees_with_markov_chain(data, pseudocount, seed):
    n, x, lengths = data
    # HigherOrderMarkovChain gives a context never left a uniform row, as unvisited="uniform"
    first = MarkovChain(n_states=n, pseudocount=pseudocount, unvisited="uniform")
    higher = HigherOrderMarkovChain(order=1, n_states=n, pseudocount=pseudocount)
    must_succeed(lambda: (first.fit(x, lengths), higher.fit(x, lengths)))
    other = np.random.RandomState(seed).randint(0, n, size=10)
    for seq, lens in ((x, lengths), (other, [4, 6])):
        assert_allclose(higher.score_sequences(seq, lens), first.score_sequences(seq, lens),
                        rtol=1e-12, atol=1e-12)


@props(180)
@given(sequences(max_states=3), st.integers(1, 4), st.sampled_from([0.0, 0.5]),
       st.integers(0, 2**32 - 1))
def test_higher_order_chain_fit_score_predict_and_sample(data, order, pseudocount, seed):
    n, x, lengths = data
    chain = HigherOrderMarkovChain(order=order, n_states=n, pseudocount=pseudocount,
                                   random_state=seed)
    if order > max(lengths):  # no sequence holds a whole context: refused by name
        with pytest.raises(ValueError, match="order"):
            chain.fit(x, lengths)
        return
    must_succeed(lambda: chain.fit(x, lengths))
    ll = chain.score_sequences(x, lengths)
    check_loglik(ll)
    assert np.all(ll > -np.inf)
    check_loglik(chain.score_sequences(np.random.RandomState(seed).randint(0, n, 9)))
    sample = chain.sample(8, random_state=seed)
    assert sample.min() >= 0 and sample.max() < n
    assert chain.score(sample) > -np.inf
    start = x[:min(order, len(x))].tolist()
    sample = chain.sample(8, random_state=seed, start=start)
    assert sample.min() >= 0 and sample.max() < n and sample[:len(start)].tolist() == start
    for steps in (1, 2, 5):
        check_stochastic(chain.predict_distribution(x[-order:].tolist(), n_steps=steps),
                         "predict_distribution")
    check_stochastic(chain.predict_distribution([], n_steps=1), "predict_distribution")


# -------------------------------------------------------- structural analysis
@st.composite
def transition_matrices(draw, tiny=False, max_n=5):
    n = draw(st.integers(1, max_n))
    T = draw(stochastic((n, n), zeros=True))
    if draw(st.booleans()):  # make some states absorbing
        for i in draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True)):
            T[i] = 0.0
            T[i, i] = 1.0
    if tiny:  # nearly reducible: leaks of 1e-12 .. 5e-324 between classes
        eps = draw(st.sampled_from([1e-9, 1e-12, 1e-15, 1e-300, 5e-324]))
        for i, j in draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                                  max_size=3)):
            T[i, j] += eps
        T /= T.sum(axis=1, keepdims=True)
    return T


def _check_analysis(chain):
    T = chain.transmat_
    n = T.shape[0]
    classes = chain.communicating_classes()
    assert sorted(int(s) for c in classes for s in c) == list(range(n))
    closed = chain.closed_classes()
    assert 1 <= len(closed) <= len(classes)
    recurrent, transient = chain.recurrent_states(), chain.transient_states()
    assert sorted(np.concatenate([recurrent, transient]).tolist()) == list(range(n))
    slem = chain.second_eigenvalue_modulus()
    assert 0.0 <= slem <= 1.0 and not np.isnan(slem)
    assert chain.relaxation_time() >= 1.0
    for state in range(n):
        assert chain.period(state) >= 0  # 0: a transient state that cannot return
    stationary = must_succeed(chain.stationary_distributions)
    assert stationary.shape == (len(closed), n)
    for pi in stationary:
        check_stochastic(pi, "stationary distribution")
        assert_allclose(pi @ T, pi, atol=1e-8)
    pi, exc = attempt(chain.stationary_distribution, {"closed", "stationary"})
    if exc is None:
        assert len(closed) == 1
        check_stochastic(pi, "stationary_distribution")
        assert_allclose(pi @ T, pi, atol=1e-8)
    else:
        assert len(closed) > 1
    absorbing_chain = (chain.absorbing_states().size and chain.transient_states().size
                       and np.array_equal(np.sort(chain.recurrent_states()),
                                          np.sort(chain.absorbing_states())))
    for method in ("fundamental_matrix", "expected_steps_to_absorption",
                   "absorption_probabilities"):
        result, exc = attempt(getattr(chain, method), {"absorbing", "transient"})
        assert (exc is None) == bool(absorbing_chain), (method, exc)
        if exc is not None:
            continue
        values = np.array(list(result.values())) if isinstance(result, dict) else result
        assert np.all(np.isfinite(values)) and values.min() >= -1e-12, (method, values)
        if method == "absorption_probabilities":
            assert_allclose(values.sum(axis=1), 1.0, atol=1e-8)
        if method == "expected_steps_to_absorption":
            assert values.min() >= 1.0 - 1e-9


@props(360)
@given(transition_matrices())
def test_structural_analysis_is_consistent(T):
    """Classes, stationary distributions and absorption agree with each other and with T.

    Nearly reducible chains (leaks of 1e-9 .. 5e-324) are a separate property.
    """
    chain = MarkovChain.from_params(None, T)
    _check_analysis(chain)
    check_stochastic(chain.n_step_transmat(10**9), "n_step_transmat")


# ------------------------------------------------------------ hostile arguments
# Hostile settings that are refused by name today; the rest of HOSTILE_SETTINGS (huge
# n_states and order, state_names that are not a sequence or too short) is checked by
# properties kept apart until the library handles them.
CHAIN_SETTINGS = {
    "n_states": ["x", "", np.array([1, 2]), np.array([]), -1, -10**6, 0, np.nan, np.inf,
                 -np.inf, 1e308, -1e-300, True, False, 2.5, [], {}, (1,), object(),
                 np.float64(np.nan), np.int64(-5), 1 + 2j],
    "state_names": ["x", "", np.array([]), [], {}, None, ["a", "a", "b"]],
    "pseudocount": HOSTILE_SETTINGS,
    "random_state": ["x", 1.5, object(), np.nan, 1 + 2j, {}],
    "order": ["x", "", None, np.array([1, 2]), np.array([]), -1, -10**6, 0, np.nan, np.inf,
              -np.inf, 1e308, -1e-300, True, False, 2.5, [], {}, (1,), object(),
              np.float64(np.nan), np.int64(-5), 1 + 2j],
}


@props(300)
@given(sequences(max_states=3), st.data(), st.booleans())
def test_hostile_chain_settings_are_refused_by_name(data, draw, higher):
    n, x, lengths = data
    name = draw.draw(st.sampled_from(sorted(CHAIN_SETTINGS)))
    value = draw.draw(st.sampled_from(CHAIN_SETTINGS[name]))
    higher = higher or name == "order"
    cls = HigherOrderMarkovChain if higher else MarkovChain

    def run():
        chain = cls(**{name: value})
        chain.fit(x, lengths)
        return chain, chain.score_sequences(x, lengths), chain.sample(3)

    result, exc = attempt(run, {name, "X"})
    if exc is None:
        check_loglik(result[1])


@props(300)
@given(sequences(max_states=3), st.data())
def test_hostile_chain_data_and_arguments_are_refused_by_name(data, draw):
    n, x, lengths = data
    higher = draw.draw(st.booleans())
    assume(not higher or max(lengths) >= 2)  # an order-2 chain needs a sequence of 2 states
    chain = (HigherOrderMarkovChain(order=2, n_states=n) if higher
             else MarkovChain(n_states=n))
    must_succeed(lambda: chain.fit(x, lengths))
    which = draw.draw(st.sampled_from(["X", "lengths", "n_samples", "start", "random_state",
                                       "n_steps", "m"]))
    # (Ragged lists, 10**30 samples, negative seeds and 10**12 prediction steps of a
    # higher-order chain: a separate property.)
    hostile_X = [None, "x", [], np.zeros((2, 2)), [-1], [n], [0.5], [np.nan], [2**63], [1e20],
                 [np.inf], np.array([2**64 - 1], dtype=np.uint64), [1e300], [object()],
                 np.zeros((3, 1, 1)), [True, False], ["s0"], 3]
    if which == "X":
        calls = [lambda v: chain.score_sequences(v), lambda v: type(chain)().fit(v)]
        value = draw.draw(st.sampled_from(hostile_X))
    elif which == "lengths":
        calls = [lambda v: chain.score_sequences(x, v), lambda v: type(chain)().fit(x, v)]
        value = draw.draw(st.sampled_from(HOSTILE_LENGTHS))
    elif which == "n_samples":
        calls = [lambda v: chain.sample(v)]
        value = draw.draw(st.sampled_from([0, -1, 2.5, "3", None, np.nan, True, [3]]))
    elif which == "start":
        calls = [lambda v: chain.sample(4, start=v)]
        value = draw.draw(st.sampled_from([-1, n, 2.5, "nope", np.nan, [n], [[0]], {}]))
    elif which == "random_state":
        calls = [lambda v: chain.sample(4, random_state=v)]
        value = draw.draw(st.sampled_from(["x", 1.5, [1, 2, 3], object()]))
    elif which == "n_steps":
        last = x[-1:].tolist() if higher else int(x[-1])
        calls = [lambda v: chain.predict_distribution(last, n_steps=v)]
        value = draw.draw(st.sampled_from([-1, 2.5, "2", None, np.nan, True]))
    else:
        if higher:
            return
        calls = [lambda v: chain.n_step_transmat(v)]
        value = draw.draw(st.sampled_from([-1, 2.5, "2", None, np.nan, True, [2]]))
    for call in calls:
        result, exc = attempt(lambda c=call: c(value), {which})
        if exc is None and which in ("X", "lengths"):
            if isinstance(result, np.ndarray):
                check_loglik(result)


@props(240)
@given(st.integers(1, 4), st.data())
def test_hostile_chain_parameters_are_refused_by_name(n, data):
    start, T = np.full(n, 1.0 / n), np.full((n, n), 1.0 / n)
    which = data.draw(st.sampled_from(["startprob", "transmat"]))
    shape = (n,) if which == "startprob" else (n, n)
    value = data.draw(st.sampled_from([
        None if which == "transmat" else np.zeros(n), np.full(shape, np.nan),
        np.full(shape, 2.0), -np.ones(shape), np.zeros(shape + (1,)), np.zeros((n + 1,) * 2),
        np.ones(shape) * np.inf, np.zeros(shape, dtype=complex), np.zeros(0)]))
    args = {"startprob": start, "transmat": T, which: value}
    chain, exc = attempt(lambda: MarkovChain.from_params(args["startprob"], args["transmat"]),
                         {which})
    if exc is None:
        check_stochastic(chain.transmat_, "transmat_")
