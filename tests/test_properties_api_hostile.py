"""Hostile functional-API inputs: frame scores across the whole double range, wrapped
lengths, impossible k, and chains whose every state ends (dense and sparse agree)."""

import numpy as np
from _props import EXTREME_FLOATS, OVERFLOW_LENGTHS, attempt, must_succeed, props
from hypothesis import given
from hypothesis import strategies as st
from test_properties_api import _check_all, _run_all, problems

import hmm_core


@props(200)
@given(problems(extremes=EXTREME_FLOATS))
def test_extreme_finite_frames_never_give_nan_full_range(problem):
    """Frame scores anywhere in the double range: finfo.min, -1e308, +1e308, finfo.max."""
    log_start, trans, frames, lengths, log_end = problem
    out = must_succeed(lambda: _run_all(log_start, trans, frames, lengths, log_end))
    _check_all(out, frames, lengths, trans.shape[0])


@props(60)
@given(st.sampled_from(OVERFLOW_LENGTHS), st.integers(1, 3))
def test_hostile_lengths_are_refused_whatever_the_number_of_frames(lengths, n):
    """Wrapped int64/uint64 sums must not pass for the number of frames."""
    arr = np.asarray(lengths) if not isinstance(lengths, (dict, str)) else None
    # The number of frames the wrapped sum pretends (when it is a small positive number).
    n_frames = 3
    if arr is not None and arr.dtype.kind in "iu" and arr.ndim == 1 and arr.size:
        wrapped = int(arr.astype(np.int64).sum())
        if 0 < wrapped < 50:
            n_frames = wrapped
    frames = np.zeros((n_frames, n))
    start, trans = np.log(np.full(n, 1.0 / n)), np.full((n, n), 1.0 / n)
    for call in (hmm_core.forward, hmm_core.posteriors, hmm_core.viterbi, hmm_core.backward):
        result, exc = attempt(lambda c=call: c(start, trans, frames, lengths), {"lengths"})
        assert exc is not None, f"{call.__name__} accepted lengths={lengths!r}"


@props(20)
@given(st.sampled_from([2**31, 2**40, 10**18, 2**63 - 1, np.int64(2**62)]))
def test_kbest_refuses_an_impossible_k_by_name(k):
    start, trans = np.log([0.5, 0.5]), np.full((2, 2), 0.5)
    attempt(lambda: hmm_core.kbest_viterbi(start, trans, np.zeros((3, 2)), k), {"k"})


@props(30)
@given(st.integers(1, 4), st.lists(st.just(1), min_size=1, max_size=3),
       st.sampled_from(["forward", "posteriors", "viterbi"]))
def test_sparse_path_accepts_a_chain_whose_states_all_end(n, lengths, name):
    """transmat all zero and endprob all one: valid (every sequence has one frame)."""
    start = np.log(np.full(n, 1.0 / n))
    frames = np.zeros((len(lengths), n))
    call = getattr(hmm_core, name)
    dense = must_succeed(lambda: call(start, np.zeros((n, n)), frames, lengths, np.zeros(n),
                                      sparse=False))
    sparse = must_succeed(lambda: call(start, np.zeros((n, n)), frames, lengths, np.zeros(n),
                                       sparse=True))
    np.testing.assert_allclose(np.asarray(sparse[0] if name != "forward" else sparse),
                               np.asarray(dense[0] if name != "forward" else dense))
