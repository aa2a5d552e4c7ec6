"""The lockstep batch path (src/_lockstep.h) against exact log-space arithmetic.

Groups of sequences advance together, one matrix product per step. These
tests force the path on for every model size (and small groups, so that
groups are ragged and several per batch) and compare it with the
one-sequence scaled kernels and the NumPy reference in its exact mode, on
frames with outliers hundreds of nats off and impossible states and sequences.
"""

import numpy as np
import pytest
from test_scaled import RTOL, _hard_frames, _model, _offsets, _ref_args

from hmm_core.kernels import _forward, backend
from hmm_core.kernels.chain import ChainParams
from hmm_core.kernels.frames import FrameTable
from hmm_core.testing import reference

LENGTHS = np.array([1, 2, 3, 70, 5, 200, 1, 64, 65, 129, 2, 9, 40])


@pytest.fixture
def lockstep_always(monkeypatch):
    """The lockstep path for any batch, in groups of 3 rows."""
    monkeypatch.setattr(backend, "LOCKSTEP_MIN_STATES", 1)
    monkeypatch.setattr(backend, "LOCKSTEP_MIN_SEQUENCES", 1)
    monkeypatch.setattr(backend, "LOCKSTEP_GROUP", 3)


def _params(startprob, transmat, endprob):
    params = ChainParams(startprob, transmat, endprob, sparse=False)
    assert params.scaled
    return params


def _kernel_args(params, frames):
    if isinstance(frames, FrameTable):
        return frames.table, frames.index
    return frames, None


@pytest.mark.parametrize("n", [1, 3, 17, 24, 40])
@pytest.mark.parametrize("end", [False, True])
def test_matches_exact_reference(lockstep_always, n, end):
    rng = np.random.default_rng(500 + n + 100 * end)
    startprob, transmat, endprob = _model(rng, n, end=end, zero_start=True)
    offsets = _offsets(LENGTHS)
    frames = _hard_frames(rng, LENGTHS, n)
    frames[offsets[4] + 2] = -np.inf   # an impossible sequence inside a group
    params = _params(startprob, transmat, endprob)
    assert backend.uses_lockstep(offsets, n)

    log_start, trans, log_end = _ref_args(params)
    ref = reference.estep(log_start, trans, frames, offsets, log_end, exact=True)
    assert ref["loglik"][4] == -np.inf

    ll = params.loglik(frames, offsets)
    np.testing.assert_allclose(ll, ref["loglik"], rtol=RTOL)
    ll_post, post = params.posteriors(frames, offsets)
    np.testing.assert_allclose(ll_post, ref["loglik"], rtol=RTOL)
    np.testing.assert_allclose(post, ref["posteriors"], atol=1e-10)
    assert np.all(post[offsets[4]:offsets[5]] == 0.0)

    stats = params.estep(frames, offsets)
    np.testing.assert_allclose(stats["loglik"], ref["loglik"], rtol=RTOL)
    np.testing.assert_allclose(stats["posteriors"], ref["posteriors"], atol=1e-10)
    np.testing.assert_allclose(stats["trans_counts"], ref["trans_counts"], rtol=1e-9,
                               atol=1e-10)
    np.testing.assert_allclose(stats["start_counts"], ref["start_counts"], atol=1e-12)
    np.testing.assert_allclose(stats["end_counts"], ref["end_counts"], atol=1e-12)
    assert not any(np.isnan(v).any() for v in stats.values())


@pytest.mark.parametrize("n", [2, 5, 30])
def test_table_frames_match_one_sequence_kernels(n):
    """Categorical frames (rows of a table) agree with the one-sequence path."""
    rng = np.random.default_rng(n)
    startprob, transmat, endprob = _model(rng, n, end=True)
    table = np.log(rng.dirichlet(np.ones(n), size=7))
    table[3] -= 750.0   # a symbol every state explains 750 nats worse
    table[5, : n // 2] = -np.inf
    index = rng.integers(0, 7, size=LENGTHS.sum())
    offsets = _offsets(LENGTHS)
    frames = FrameTable(table, index)
    params = _params(startprob, transmat, endprob)
    log_start, trans, log_end = _ref_args(params)
    exact = reference.forward_loglik(log_start, trans, frames.dense(), offsets, log_end,
                                     exact=True)
    n_seq = LENGTHS.shape[0]
    results = {}
    for flag in (False, True):
        ll, ll_post, post = np.empty(n_seq), np.empty(n_seq), np.empty(frames.shape)
        path = "lockstep" if flag else "sequences"
        groups = backend.lockstep_groups(offsets, n) if flag else None
        _forward.scaled_loglik(table, offsets, params.log_startprob, transmat, params.log_endprob,
                       ll, 2, frames.index, path, groups)
        _forward.scaled_posteriors(table, offsets, params.log_startprob, transmat,
                           params.log_endprob, post, ll_post, 2, frames.index, path, groups)
        np.testing.assert_allclose(ll, exact, rtol=RTOL)
        np.testing.assert_array_equal(ll, ll_post)
        results[flag] = post
    np.testing.assert_allclose(results[True], results[False], atol=1e-12)


def test_result_does_not_depend_on_thread_count():
    rng = np.random.default_rng(3)
    n = 32
    startprob, transmat, endprob = _model(rng, n, end=True)
    lengths = rng.integers(1, 120, size=150)
    offsets = _offsets(lengths)
    frames = _hard_frames(rng, lengths, n)
    params = _params(startprob, transmat, endprob)
    assert backend.uses_lockstep(offsets, n)
    one = params.estep(frames, offsets, n_threads=1)
    two = params.estep(frames, offsets, n_threads=2)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key])
    np.testing.assert_array_equal(params.loglik(frames, offsets, n_threads=1),
                                  params.loglik(frames, offsets, n_threads=2))


def test_groups_sorted_by_length_and_cover_the_batch():
    lengths = np.array([3, 9, 9, 1, 4, 9, 2])
    offsets = _offsets(lengths)
    order, starts, group_lengths, bounds = backend.lockstep_groups(offsets, 64)
    np.testing.assert_array_equal(order, [1, 2, 5, 4, 0, 6, 3])   # stable
    np.testing.assert_array_equal(group_lengths, lengths[order])
    np.testing.assert_array_equal(starts, offsets[:-1][order])
    assert bounds[0] == 0 and bounds[-1] == lengths.shape[0]
    # two groups at least for 64 sequences, so both cores have work
    assert backend.lockstep_groups(_offsets(np.ones(64, dtype=int)), 256)[3].shape[0] == 3
    # about N rows per group, between 32 and 128
    assert backend.lockstep_groups(_offsets(np.ones(1000, dtype=int)), 256)[3].shape[0] == 9
    assert backend.lockstep_groups(_offsets(np.ones(1000, dtype=int)), 24)[3].shape[0] == 33


def test_used_for_batches_of_large_models_only():
    offsets = _offsets(np.full(8, 10))
    assert backend.uses_lockstep(offsets, backend.LOCKSTEP_MIN_STATES)
    assert not backend.uses_lockstep(offsets, backend.LOCKSTEP_MIN_STATES - 1)
    assert not backend.uses_lockstep(offsets[:-1], 256)


def test_long_sequences_in_a_group_do_not_underflow(lockstep_always):
    """A group of long sequences with a far-off model: the per-row shifts and
    exponents keep every likelihood finite and exact."""
    rng = np.random.default_rng(11)
    n = 5
    startprob, transmat, _ = _model(rng, n)
    lengths = np.array([200_000, 150_000, 3])
    x = rng.normal(size=lengths.sum())
    means = np.linspace(40, 60, n)
    frames = -0.5 * (x[:, None] - means) ** 2
    offsets = _offsets(lengths)
    params = _params(startprob, transmat, None)
    logdom = ChainParams(startprob, transmat, None, sparse=False)
    logdom.scaled = False   # the log-domain kernels (the NumPy reference takes a minute)
    exact = logdom.loglik(frames, offsets)
    ll = params.loglik(frames, offsets)
    assert np.all(np.isfinite(ll)) and ll[0] < -1e8
    np.testing.assert_allclose(ll, exact, rtol=RTOL)
