"""Property-based checks: random models and data, including impossible frames."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import hmm_core
from hmm_core.testing import reference


@st.composite
def problems(draw):
    n = draw(st.integers(1, 5))
    lengths = draw(st.lists(st.integers(1, 12), min_size=1, max_size=5))
    seed = draw(st.integers(0, 2**31 - 1))
    zeros = draw(st.sampled_from([0.0, 0.3, 0.6]))
    end = draw(st.booleans())
    scale = draw(st.sampled_from([1.0, 50.0, 400.0]))
    rng = np.random.RandomState(seed)
    transmat = rng.random_sample((n, n)) * (rng.random_sample((n, n)) >= zeros)
    transmat[np.arange(n), rng.randint(n, size=n)] += 0.1
    startprob = rng.random_sample(n) * (rng.random_sample(n) >= zeros)
    startprob[rng.randint(n)] += 0.1
    startprob /= startprob.sum()
    endprob = None
    if end:
        endprob = rng.uniform(0.0, 0.6, size=n) * (rng.random_sample(n) >= zeros)
        endprob[rng.randint(n)] += 0.1
        transmat = transmat / transmat.sum(axis=1, keepdims=True) * (1 - endprob)[:, None]
    else:
        transmat = transmat / transmat.sum(axis=1, keepdims=True)
    frames = -scale * rng.random_sample((sum(lengths), n))
    frames[rng.random_sample(frames.shape) < zeros / 3] = -np.inf
    with np.errstate(divide="ignore"):
        log_end = None if endprob is None else np.log(endprob)
        return np.log(startprob), transmat, frames, np.array(lengths), log_end


@settings(max_examples=150, deadline=None)
@given(problems())
def test_kernels_agree_with_exact_log_space_arithmetic(problem):
    log_start, transmat, frames, lengths, log_end = problem
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    with np.errstate(all="raise", divide="ignore"):
        exact_ll, exact_post = reference.posteriors(log_start, transmat, frames, offsets,
                                                    log_end, exact=True)
    ll = hmm_core.forward(log_start, transmat, frames, lengths, log_end)
    ll2, post = hmm_core.posteriors(log_start, transmat, frames, lengths, log_end)
    vit, path = hmm_core.viterbi(log_start, transmat, frames, lengths, log_end)
    for values in (ll, ll2, post, vit):
        assert not np.isnan(values).any()
    assert_allclose(ll, exact_ll, rtol=1e-10)
    assert_allclose(ll2, exact_ll, rtol=1e-10)
    assert_allclose(post, exact_post, rtol=1e-9, atol=1e-12)
    # The best path can never be more probable than all paths together.
    possible = np.isfinite(ll)
    assert np.all(vit[possible] <= ll[possible] + 1e-9 * np.abs(ll[possible]))
    assert np.all(vit[~possible] == -np.inf)
    rows = post.sum(axis=1)
    assert np.all((np.abs(rows - 1) < 1e-12) | (rows == 0))
    impossible_frames = np.repeat(~possible, lengths)
    assert np.all(path[impossible_frames] == -1) and np.all(path[~impossible_frames] >= 0)
