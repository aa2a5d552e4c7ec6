"""The scaled linear-domain kernels (src/_scaled.h) against exact log-space arithmetic.

They run for dense transition matrices (every entry >= 1e-100); these tests
compare them with the log-domain kernels and with the NumPy reference in its
exact (log-sum-exp) mode, on cases built to break a scaled recursion: outlier
frames hundreds of nats off, impossible frames, zero start and end
probabilities, a state whose forward mass is 1e-300 of the others before it
becomes the only explanation of the data, and a 10^6-step sequence.
"""

import numpy as np
import pytest

from hmm_core.kernels import _forward, backend
from hmm_core.kernels.chain import ChainParams
from hmm_core.kernels.frames import FrameTable
from hmm_core.testing import reference

RTOL = 1e-10


def _model(rng, n, end=False, zero_start=False):
    transmat = rng.dirichlet(np.ones(n), size=n)
    startprob = rng.dirichlet(np.ones(n))
    if zero_start and n > 1:
        startprob[: n // 2] = 0.0
        startprob /= startprob.sum()
    endprob = None
    if end:
        endprob = rng.uniform(0.0, 0.3, n)
        if n > 1:
            endprob[0] = 0.0
        transmat *= (1.0 - endprob)[:, None]
    return startprob, transmat, endprob


def _offsets(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _both(startprob, transmat, endprob):
    scaled = ChainParams(startprob, transmat, endprob, sparse=False)
    logdom = ChainParams(startprob, transmat, endprob, sparse=False)
    logdom.scaled = False
    assert scaled.scaled
    return scaled, logdom


def _ref_args(params):
    log_end = None if params.endprob is None else params.log_endprob
    return params.log_startprob, params.transmat, log_end


def _hard_frames(rng, lengths, n):
    """Frames with outliers hundreds of nats off, and impossible states."""
    total = int(np.sum(lengths))
    frames = rng.normal(scale=20.0, size=(total, n))
    frames[rng.random(total) < 0.05] -= 800.0
    mask = rng.random((total, n)) < 0.1
    frames[mask] = -np.inf
    frames[np.isinf(frames).all(axis=1), 0] = -3.0   # keep every frame possible
    outlier_state = rng.integers(0, n, size=total)
    pick = rng.random(total) < 0.05
    frames[pick, outlier_state[pick]] -= 740.0
    return frames


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 16, 23, 24, 33, 64])
@pytest.mark.parametrize("end", [False, True])
def test_matches_log_domain_and_exact_reference(n, end):
    rng = np.random.default_rng(n + 100 * end)
    startprob, transmat, endprob = _model(rng, n, end=end, zero_start=True)
    lengths = np.array([1, 2, 3, 70, 5, 200, 1, 64, 65, 129])
    offsets = _offsets(lengths)
    frames = _hard_frames(rng, lengths, n)
    scaled, logdom = _both(startprob, transmat, endprob)

    ll = scaled.loglik(frames, offsets)
    np.testing.assert_allclose(ll, logdom.loglik(frames, offsets), rtol=RTOL)
    log_start, trans, log_end = _ref_args(scaled)
    exact = reference.forward_loglik(log_start, trans, frames, offsets, log_end, exact=True)
    np.testing.assert_allclose(ll, exact, rtol=RTOL)

    ll_post, post = scaled.posteriors(frames, offsets)
    _, post_log = logdom.posteriors(frames, offsets)
    np.testing.assert_allclose(ll_post, exact, rtol=RTOL)
    np.testing.assert_allclose(post, post_log, atol=1e-10)
    possible = np.repeat(np.isfinite(exact), lengths)
    np.testing.assert_allclose(post[possible].sum(axis=1), 1.0, atol=1e-12)
    assert np.all(post[~possible] == 0.0)

    stats = scaled.estep(frames, offsets)
    ref = reference.estep(log_start, trans, frames, offsets, log_end, exact=True)
    np.testing.assert_allclose(stats["loglik"], ref["loglik"], rtol=RTOL)
    np.testing.assert_allclose(stats["posteriors"], ref["posteriors"], atol=1e-10)
    np.testing.assert_allclose(stats["trans_counts"], ref["trans_counts"], rtol=1e-9,
                               atol=1e-10)
    np.testing.assert_allclose(stats["start_counts"], post[offsets[:-1]].sum(axis=0),
                               atol=1e-12)
    np.testing.assert_allclose(stats["end_counts"], post[offsets[1:] - 1].sum(axis=0),
                               atol=1e-12)
    assert not any(np.isnan(v).any() for v in stats.values())


def test_buried_state_that_takes_over():
    """A state at 1e-300 of the forward mass that alone explains what follows.

    Its mass survives only because every transition is at least 1e-100 (the
    bound the scaled kernels rely on); the scaled recursion must keep it.
    """
    transmat = np.array([[1 - 1e-100, 1e-100], [1e-100, 1 - 1e-100]])
    startprob = np.array([1.0 - 1e-300, 1e-300])
    frames = np.zeros((3000, 2))
    frames[:20, 1] = -700.0        # state 1 nearly impossible early on
    frames[20:, 0] = -2.0          # then state 0 explains nothing well
    offsets = np.array([0, 3000], dtype=np.int64)
    scaled, logdom = _both(startprob, transmat, None)
    exact = reference.forward_loglik(np.log(startprob), transmat, frames, offsets, exact=True)
    np.testing.assert_allclose(scaled.loglik(frames, offsets), exact, rtol=RTOL)
    np.testing.assert_allclose(logdom.loglik(frames, offsets), exact, rtol=RTOL)
    _, post = scaled.posteriors(frames, offsets)
    _, post_log = logdom.posteriors(frames, offsets)
    np.testing.assert_allclose(post, post_log, atol=1e-10)


def test_far_off_model_scores_badly_fitting_data():
    """A model whose emissions are far from the data: large negative frames."""
    rng = np.random.default_rng(7)
    startprob, transmat, _ = _model(rng, 6)
    x = rng.normal(size=5000)
    means = np.linspace(40, 60, 6)
    frames = -0.5 * (x[:, None] - means) ** 2 - 0.5 * np.log(2 * np.pi)
    frames[1234] -= 5000.0   # an outlier frame
    offsets = np.array([0, 5000], dtype=np.int64)
    scaled, logdom = _both(startprob, transmat, None)
    exact = reference.forward_loglik(np.log(startprob), transmat, frames, offsets, exact=True)
    np.testing.assert_allclose(scaled.loglik(frames, offsets), exact, rtol=RTOL)
    # The reference's expected counts use absolute log alphas (-4e6 here), which
    # costs it ~2e-7 relative; the log-domain kernel normalises per frame.
    stats = scaled.estep(frames, offsets)
    stats_log = logdom.estep(frames, offsets)
    np.testing.assert_allclose(stats["trans_counts"], stats_log["trans_counts"], rtol=1e-9,
                               atol=1e-9)   # counts total 4999; 6e-306 may flush to 0
    np.testing.assert_allclose(stats["trans_counts"].sum(), 4999.0, rtol=1e-12)


def test_million_steps_do_not_underflow():
    rng = np.random.default_rng(3)
    startprob, transmat, _ = _model(rng, 3)
    frames = np.log(rng.dirichlet(np.ones(3), size=1_000_000))
    offsets = np.array([0, frames.shape[0]], dtype=np.int64)
    scaled, logdom = _both(startprob, transmat, None)
    ll = scaled.loglik(frames, offsets)
    assert np.isfinite(ll).all() and ll[0] < -5e5
    np.testing.assert_allclose(ll, logdom.loglik(frames, offsets), rtol=1e-12)
    _, post = scaled.posteriors(frames, offsets)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, atol=1e-12)


def test_impossible_sequences_give_minus_inf_not_nan():
    rng = np.random.default_rng(4)
    startprob, transmat, endprob = _model(rng, 3, end=True)
    endprob = np.array([0.0, 0.2, 0.3])
    transmat = rng.dirichlet(np.ones(3), size=3) * (1 - endprob)[:, None]
    frames = rng.normal(size=(12, 3))
    frames[2] = -np.inf                       # sequence 0: an impossible frame
    frames[8, 1:] = -np.inf                   # sequence 1 must end in state 0, endprob 0
    offsets = np.array([0, 4, 9, 12], dtype=np.int64)
    scaled, _ = _both(startprob, transmat, endprob)
    ll = scaled.loglik(frames, offsets)
    assert ll[0] == -np.inf and ll[1] == -np.inf and np.isfinite(ll[2])
    stats = scaled.estep(frames, offsets)
    assert np.all(stats["posteriors"][:9] == 0.0)
    assert not any(np.isnan(v).any() for v in stats.values())
    single = ChainParams(np.array([0.0, 1.0, 0.0]), transmat, endprob)
    one_frame = np.array([[0.0, -np.inf, 0.0]])
    assert single.loglik(one_frame, np.array([0, 1], dtype=np.int64))[0] == -np.inf


def test_statistics_do_not_depend_on_threads():
    rng = np.random.default_rng(5)
    startprob, transmat, _ = _model(rng, 32)
    lengths = rng.integers(1, 300, size=200)
    frames = rng.normal(size=(int(lengths.sum()), 32))
    offsets = _offsets(lengths)
    scaled, _ = _both(startprob, transmat, None)
    one = scaled.estep(frames, offsets, n_threads=1)
    two = scaled.estep(frames, offsets, n_threads=2)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key])


def test_kernel_refuses_what_it_cannot_do_exactly():
    frames = np.zeros((4, 2))
    offsets = np.array([0, 4], dtype=np.int64)
    zero = np.array([[1.0, 0.0], [0.5, 0.5]])
    out = np.empty(1)
    with pytest.raises(ValueError, match="every transition >= 1e-100"):
        _forward.scaled_loglik(frames, offsets, np.log([0.5, 0.5]), zero, np.zeros(2), out, 1)
    with pytest.raises(ValueError, match="offsets"):
        _forward.scaled_loglik(frames, np.array([0, 5], dtype=np.int64), np.log([0.5, 0.5]),
                       np.full((2, 2), 0.5), np.zeros(2), out, 1)
    assert not ChainParams([0.5, 0.5], zero).scaled
    assert not ChainParams([0.5, 0.5], [[1 - 1e-120, 1e-120], [0.5, 0.5]]).scaled


def test_frame_table_matches_dense_frames():
    """Categorical models hand the kernels a (symbols, N) table and an index."""
    from hmm_core import CategoricalHMM
    from hmm_core.kernels.frames import FrameTable

    rng = np.random.default_rng(9)
    model = CategoricalHMM(5, n_features=7, random_state=0)
    model.startprob_ = rng.dirichlet(np.ones(5))
    model.transmat_ = rng.dirichlet(np.ones(5), size=5)
    emission = rng.dirichlet(np.ones(7), size=5)
    emission[2, 3] = 0.0   # symbol 3 impossible in state 2
    emission /= emission.sum(axis=1, keepdims=True)
    model.emissionprob_ = emission
    X = rng.integers(0, 7, size=(400, 1))
    X[::17] = -1           # missing frames
    lengths = [1, 2, 97, 300]
    chain, _, offsets, frames = model._prepare(X, lengths)
    assert isinstance(frames, FrameTable) and chain.scaled
    dense = np.asarray(frames)
    np.testing.assert_allclose(chain.loglik(frames, offsets), chain.loglik(dense, offsets),
                               rtol=1e-13)
    ll_t, post_t = chain.posteriors(frames, offsets)
    ll_d, post_d = chain.posteriors(dense, offsets)
    np.testing.assert_allclose(post_t, post_d, atol=1e-13)
    stats_t, stats_d = chain.estep(frames, offsets), chain.estep(dense, offsets)
    for key in stats_t:
        np.testing.assert_allclose(stats_t[key], stats_d[key], rtol=1e-12, atol=1e-13)
    log_start, trans, _ = _ref_args(chain)
    exact = reference.forward_loglik(log_start, trans, dense, offsets, exact=True)
    np.testing.assert_allclose(model.score_sequences(X, lengths), exact, rtol=RTOL)
    out = np.empty(1)
    with pytest.raises(ValueError, match="index must lie in"):
        _forward.scaled_loglik(frames.table, np.array([0, 2], dtype=np.int64), chain.log_startprob,
                       chain.transmat, chain.log_endprob, out, 1,
                       np.array([0, 99], dtype=np.int64))


@pytest.mark.parametrize("n", [3, 24])
def test_estep_occupancy_is_the_posterior_sum(n):
    # The E-step reports occupancy as start counts plus the column sums of the
    # transition counts; that identity must hold to rounding.
    rng = np.random.default_rng(n)
    A = rng.random((n, n)) + 0.1
    params = ChainParams(np.full(n, 1.0 / n), A / A.sum(axis=1, keepdims=True))
    frames = rng.normal(size=(3000, n)) * 4
    offsets = np.array([0, 1000, 1001, 3000])
    stats = params.estep(frames, offsets)
    np.testing.assert_allclose(stats["occupancy"], stats["posteriors"].sum(axis=0),
                               rtol=1e-11)


@pytest.mark.parametrize("n", [1, 3, 4, 7, 16, 20, 24, 40])
@pytest.mark.parametrize("length", [2048, 2113])
def test_lone_long_sequence_on_two_threads(n, length):
    # One long sequence with two threads runs its forward and backward passes
    # at once (_split.h); it must agree with the one-thread kernel and with
    # exact log-space arithmetic, outliers and impossible states included.
    rng = np.random.default_rng(n + length)
    startprob, transmat, endprob = _model(rng, n, end=True, zero_start=True)
    offsets = _offsets([length])
    assert backend.uses_split(offsets, n, 2) and not backend.uses_split(offsets, n, 1)
    frames = _hard_frames(rng, [length], n)
    scaled, _ = _both(startprob, transmat, endprob)
    log_start, trans, log_end = _ref_args(scaled)
    ref = reference.estep(log_start, trans, frames, offsets, log_end, exact=True)
    for source in (frames, FrameTable(frames, np.arange(length))):
        one = scaled.estep(source, offsets, n_threads=1)
        two = scaled.estep(source, offsets, n_threads=2)
        np.testing.assert_allclose(two["loglik"], ref["loglik"], rtol=RTOL)
        np.testing.assert_allclose(two["posteriors"], ref["posteriors"], atol=1e-10)
        np.testing.assert_allclose(two["trans_counts"], ref["trans_counts"], rtol=1e-9,
                                   atol=1e-10)
        for key in ("loglik", "start_counts", "end_counts", "trans_counts"):
            np.testing.assert_allclose(two[key], one[key], rtol=1e-12, atol=1e-13)
        if n <= 16:   # beta is computed the same way: posteriors agree bit for bit
            np.testing.assert_array_equal(two["posteriors"], one["posteriors"])
        ll, post = scaled.posteriors(source, offsets, n_threads=2)
        np.testing.assert_array_equal(post, two["posteriors"])
        np.testing.assert_array_equal(ll, two["loglik"])
        # the likelihood alone: forward and backward halves meeting in the middle
        np.testing.assert_allclose(scaled.loglik(source, offsets, n_threads=2),
                                   ref["loglik"], rtol=RTOL)
        np.testing.assert_allclose(scaled.loglik(source, offsets, n_threads=2),
                                   scaled.loglik(source, offsets, n_threads=1), rtol=1e-13)


def test_lone_long_impossible_sequence_on_two_threads():
    rng = np.random.default_rng(8)
    startprob, transmat, _ = _model(rng, 5)
    frames = rng.normal(size=(5000, 5))
    frames[3001] = -np.inf
    scaled, _ = _both(startprob, transmat, None)
    stats = scaled.estep(frames, _offsets([5000]), n_threads=2)
    assert stats["loglik"][0] == -np.inf
    assert scaled.loglik(frames, _offsets([5000]), n_threads=2)[0] == -np.inf
    # possible frames, but no state that may end the sequence is reachable at the end
    endprob = np.array([0.0, 0.0, 0.0, 0.0, 0.5])
    ends = ChainParams(startprob, transmat * (1 - endprob)[:, None], endprob, sparse=False)
    frames[3001] = 0.0
    frames[-1, 4] = -np.inf
    assert ends.loglik(frames, _offsets([5000]), n_threads=2)[0] == -np.inf
    assert ends.loglik(frames, _offsets([5000]), n_threads=1)[0] == -np.inf
    assert np.all(stats["posteriors"] == 0.0)
    assert not any(np.isnan(v).any() for v in stats.values())
