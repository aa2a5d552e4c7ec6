"""Hostile properties of the Markov chains: nearly reducible chains, every hostile
setting and argument (seeds, sample sizes, state names, far horizons) refused by name."""

from _props import HOSTILE_SETTINGS, attempt, check_loglik, must_succeed, props
from hypothesis import given
from hypothesis import strategies as st
from test_properties_chains import _check_analysis, sequences, transition_matrices

from hmm_core import HigherOrderMarkovChain, MarkovChain


@props(150)
@given(transition_matrices(tiny=True))
def test_nearly_reducible_chains_are_analysed_soundly(T):
    """Leaks of 1e-9 .. 5e-324 between classes: stationary distributions and absorption
    still come out (or a ValueError names the trouble), never a RuntimeError."""
    chain = MarkovChain.from_params(None, T)
    _check_analysis(chain)


@props(150)
@given(sequences(max_states=3), st.sampled_from(["n_states", "state_names", "random_state",
                                                 "order"]),
       st.sampled_from(HOSTILE_SETTINGS + [10**9, 2**63, ["a"], ("a",)]), st.booleans())
def test_every_hostile_chain_setting_is_refused_by_name(data, name, value, higher):
    n, x, lengths = data
    higher = higher or name == "order"
    cls = HigherOrderMarkovChain if higher else MarkovChain

    def run():
        chain = cls(**{name: value})
        chain.fit(x, lengths)
        return chain, chain.score_sequences(x, lengths), chain.sample(3)

    result, exc = attempt(run, {name, "X"}, seconds=10)
    if exc is None:
        check_loglik(result[1])


@props(60)
@given(sequences(max_states=3), st.booleans(), st.data())
def test_every_hostile_chain_argument_is_refused_by_name(data, higher, draw):
    n, x, lengths = data
    order = min(2, max(lengths) if lengths is not None else len(x))
    chain = HigherOrderMarkovChain(order=order, n_states=n) if higher else MarkovChain(n_states=n)
    must_succeed(lambda: chain.fit(x, lengths))
    which, value = draw.draw(st.sampled_from([
        ("X", [[0, 1], [1]]), ("n_samples", 10**30), ("n_samples", 2**62),
        ("random_state", -1), ("random_state", -(2**70)), ("n_steps", 10**30),
        ("n_steps", 10**12)]))
    calls = {
        "X": lambda v: chain.score_sequences(v),
        "n_samples": lambda v: chain.sample(v),
        "random_state": lambda v: chain.sample(3, random_state=v),
        "n_steps": lambda v: chain.predict_distribution(
            x[-2:].tolist() if higher else int(x[-1]), n_steps=v),
    }
    result, exc = attempt(lambda: calls[which](value), {which}, seconds=10)
    if exc is None and which == "n_steps":
        assert abs(result.sum() - 1) < 1e-8
