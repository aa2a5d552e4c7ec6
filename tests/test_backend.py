"""The backend choice (hmm_core.kernels.backend) and the kernels' checks of it.

The backend decides; the kernels do what they are told, but refuse a path
that does not fit the batch (they index through what they are given).
"""

import numpy as np
import pytest

from hmm_core.kernels import _forward, backend


def _offsets(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def test_chain_domain():
    dense = np.full((3, 3), 1 / 3)
    assert backend.chain_domain(dense) == (False, True)
    zeros = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert backend.chain_domain(zeros) == (False, False)
    assert backend.chain_domain(zeros, sparse=True) == (True, False)
    band = np.eye(40)
    assert backend.chain_domain(band) == (True, False)
    assert backend.chain_domain(band, sparse=False) == (False, False)
    with pytest.raises(ValueError, match="sparse must be"):
        backend.chain_domain(dense, sparse="yes")


def test_scaled_plan_paths():
    one_long = _offsets([backend.SPLIT_MIN_FRAMES])
    plan = backend.scaled_plan(one_long, 4, 2)
    assert plan.path == "split" and plan.n_threads == 2 and plan.groups is None
    assert backend.scaled_plan(one_long, 4, 1).path == "sequences"
    short = _offsets([backend.SPLIT_MIN_FRAMES - 1])
    assert backend.scaled_plan(short, 4, 2).path == "sequences"

    batch = _offsets(np.full(backend.LOCKSTEP_MIN_SEQUENCES, 50))
    plan = backend.scaled_plan(batch, backend.LOCKSTEP_MIN_STATES, 2)
    assert plan.path == "lockstep" and plan.gemm
    assert len(plan.groups) == 4
    plan = backend.scaled_plan(batch, backend.LOCKSTEP_MIN_STATES - 1, 2)
    assert plan.path == "sequences" and not plan.gemm


def test_threads_follow_the_work():
    few = _offsets([10, 10])
    assert backend.threads(2, few, 4) == 1          # too little work for a second thread
    many = _offsets(np.full(100, 1000))
    assert backend.threads(2, many, 16) == 2
    assert backend.threads(1, many, 16) == 1
    assert backend.threads(8, _offsets([100_000, 100_000]), 16) == 2   # one per sequence
    assert backend.threads(2, _offsets([10**6]), 64) == 1


def test_make_chunks_depend_on_lengths_only():
    offsets = _offsets(np.arange(1, 200))
    chunks = backend.make_chunks(offsets, 8)
    assert chunks[0] == 0 and chunks[-1] == 199 and np.all(np.diff(chunks) > 0)
    assert chunks.shape[0] - 1 <= backend.MAX_CHUNKS


def _args(lengths, n=3):
    offsets = _offsets(lengths)
    frames = np.zeros((int(offsets[-1]), n))
    return (frames, offsets, np.log(np.full(n, 1 / n)), np.full((n, n), 1 / n), np.zeros(n),
            np.empty(len(lengths)))


def test_kernels_refuse_a_path_that_does_not_fit():
    args = _args([5, 6])
    with pytest.raises(ValueError, match="path must be one of"):
        _forward.scaled_loglik(*args, 1, None, "fastest")
    with pytest.raises(ValueError, match="split path takes one sequence"):
        _forward.scaled_loglik(*args, 2, None, "split")
    with pytest.raises(ValueError, match="needs groups"):
        _forward.scaled_loglik(*args, 1, None, "lockstep")
    order, starts, lengths, bounds = backend.lockstep_groups(args[1], 3)
    with pytest.raises(ValueError, match="decreasing length"):
        _forward.scaled_loglik(*args, 1, None, "lockstep", (order[::-1].copy(), starts[::-1].copy(),
                                                     lengths[::-1].copy(), bounds))
    with pytest.raises(ValueError, match="group bounds"):
        _forward.scaled_loglik(*args, 1, None, "lockstep",
                       (order, starts, lengths, np.array([0, 0, 2], dtype=np.int64)))


def test_every_path_gives_the_same_likelihood():
    rng = np.random.default_rng(0)
    n = 5
    transmat = rng.dirichlet(np.ones(n), size=n)
    log_start = np.log(rng.dirichlet(np.ones(n)))
    one = _offsets([3000])
    frames = rng.normal(size=(3000, n))
    results = []
    for path in ("sequences", "split"):
        out = np.empty(1)
        _forward.scaled_loglik(frames, one, log_start, transmat, np.zeros(n), out, 1, None, path)
        results.append(out[0])
    batch = _offsets([1000, 1200, 800])
    out = {}
    for path in ("sequences", "lockstep"):
        out[path] = np.empty(3)
        groups = backend.lockstep_groups(batch, n) if path == "lockstep" else None
        _forward.scaled_loglik(frames, batch, log_start, transmat, np.zeros(n), out[path], 1, None,
                       path, groups)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-13)
    np.testing.assert_allclose(out["sequences"], out["lockstep"], rtol=1e-13)
