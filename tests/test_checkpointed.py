"""Long sequences block by block equal the one-call kernels, in bounded memory."""

import os

import numpy as np
import pytest
from _models import log, random_chain

import hmm_core.functional as F
from hmm_core.functional import _blockrun
from hmm_core.kernels import _blocks, backend
from hmm_core.kernels.chain import ChainParams
from hmm_core.models import CategoricalHMM, GaussianHMM
from hmm_core.testing import reference

BLOCKS = [1, 2, 3, 7, 64, 1000, 100_000]


def _problem(seed, n, T, zeros=0.0, end=False, tiny=False):
    rng = np.random.RandomState(seed)
    start, trans, endprob = random_chain(rng, n, zeros, end)
    if tiny and n > 1:  # a transition below the scaled domain's bound: log space
        trans = trans.copy()
        trans[0, -1] = 1e-150
        trans /= trans.sum(axis=1, keepdims=True)
    lf = 3 * np.log(rng.random_sample((T, n)))
    return log(start), trans, lf, None if endprob is None else log(endprob)


CASES = [(n, T, zeros, end, tiny) for n in (1, 2, 5, 16) for T in (1, 5, 333)
         for zeros, end, tiny in ((0.0, False, False), (0.3, True, False), (0.0, False, True))]


@pytest.mark.parametrize("n, T, zeros, end, tiny", CASES)
@pytest.mark.parametrize("block", BLOCKS)
def test_equal_to_one_call(n, T, zeros, end, tiny, block):
    ls, A, lf, le = _problem(n * 1000 + T, n, T, zeros, end, tiny)
    offsets = np.array([0, T], dtype=np.int64)
    chain = ChainParams.from_logs(ls, A, le, False)
    assert chain.scaled == bool((A >= backend.SCALED_MIN_TRANSITION).all())
    ref = chain.estep(lf, offsets)
    loglik = F.checkpointed_loglik(ls, A, lf, log_endprob=le, block_size=block)
    np.testing.assert_allclose(loglik, ref["loglik"][0], rtol=1e-12)
    loglik, post = F.checkpointed_posteriors(ls, A, lf, log_endprob=le, block_size=block)
    np.testing.assert_allclose(post, ref["posteriors"], rtol=1e-11, atol=1e-13)
    stats = F.checkpointed_estep(ls, A, lf, log_endprob=le, block_size=block)
    for key in ("start_counts", "trans_counts", "end_counts", "occupancy"):
        np.testing.assert_allclose(stats[key], ref[key], rtol=1e-10, atol=1e-12, err_msg=key)
    logprob, path = F.checkpointed_viterbi(ls, A, lf, log_endprob=le, block_size=block)
    ref_logprob, ref_path = chain.viterbi(lf, offsets)
    assert logprob == ref_logprob[0]
    np.testing.assert_array_equal(path, ref_path)


def test_reference_and_ties():
    # every frame ties: the lowest state wins everywhere, in both passes
    n, T = 4, 1000
    ls, A, lf = np.log(np.full(n, 1 / n)), np.full((n, n), 1 / n), np.zeros((T, n))
    for block in (1, 7, 1000):
        logprob, path = F.checkpointed_viterbi(ls, A, lf, block_size=block)
        ref_logprob, ref_path = reference.viterbi(ls, A, lf, np.array([0, T]))
        assert logprob == ref_logprob[0]
        np.testing.assert_array_equal(path, ref_path)
        np.testing.assert_array_equal(path, 0)


@pytest.mark.parametrize("block", [1, 4, 50])
def test_impossible_data(block):
    ls, A, lf, _ = _problem(3, 3, 100)
    lf[57] = -np.inf
    with np.errstate(all="raise"):
        loglik = F.checkpointed_loglik(ls, A, lf, block_size=block)
        _, post = F.checkpointed_posteriors(ls, A, lf, block_size=block)
        stats = F.checkpointed_estep(ls, A, lf, block_size=block)
    assert loglik == -np.inf and not np.isnan(post).any() and (post == 0).all()
    assert (stats["trans_counts"] == 0).all() and stats["loglik"] == -np.inf
    logprob, path = F.checkpointed_viterbi(ls, A, lf, block_size=block)
    assert logprob == -np.inf and (path == -1).all()
    # impossible through the chain only (a transition that cannot happen)
    A = np.array([[0.0, 1.0], [1.0, 0.0]])
    with np.errstate(divide="ignore"):
        lf = np.log(np.array([[1.0, 0.0], [1.0, 0.0]]))
        assert F.checkpointed_loglik(np.log([1.0, 0.0]), A, lf, block_size=1) == -np.inf


def test_callable_frames_and_memmap(tmp_path):
    ls, A, lf, _ = _problem(5, 4, 2000)
    target = tmp_path / "frames.npy"
    np.save(target, lf)
    mapped = np.load(target, mmap_mode="r")
    calls = []

    def frames(a, b):
        calls.append(b - a)
        return lf[a:b]

    one = F.checkpointed_loglik(ls, A, mapped, block_size=300)
    two = F.checkpointed_loglik(ls, A, frames, n_frames=2000, block_size=300)
    assert one == two and max(calls) == 300
    with pytest.raises(ValueError, match="n_frames"):
        F.checkpointed_loglik(ls, A, frames)
    with pytest.raises(ValueError, match="block_size"):
        F.checkpointed_loglik(ls, A, lf, block_size=0)
    with pytest.raises(ValueError, match="shape"):
        F.checkpointed_loglik(ls, A, lf[:, :2])
    bad = lf.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        F.checkpointed_loglik(ls, A, bad, block_size=10)


def test_brute_force_tiny():
    import itertools

    ls, A, lf, le = _problem(11, 3, 5, end=True)
    paths = list(itertools.product(range(3), repeat=5))
    scores = np.array([ls[p[0]] + lf[0, p[0]] + sum(np.log(A[p[t - 1], p[t]]) + lf[t, p[t]]
                                                    for t in range(1, 5)) + le[p[-1]]
                       for p in paths])
    total = np.logaddexp.reduce(scores)
    np.testing.assert_allclose(F.checkpointed_loglik(ls, A, lf, log_endprob=le, block_size=2),
                               total, rtol=1e-12)
    post = np.zeros((5, 3))
    for p, s in zip(paths, scores, strict=True):
        post[np.arange(5), p] += np.exp(s - total)
    _, got = F.checkpointed_posteriors(ls, A, lf, log_endprob=le, block_size=2)
    np.testing.assert_allclose(got, post, rtol=1e-10, atol=1e-14)
    logprob, path = F.checkpointed_viterbi(ls, A, lf, log_endprob=le, block_size=2)
    assert tuple(path) == paths[int(np.argmax(scores))]
    np.testing.assert_allclose(logprob, scores.max(), rtol=1e-12)


def _categorical(n=4, k=3, seed=0):
    rng = np.random.RandomState(seed)
    model = CategoricalHMM(n_components=n, n_features=k)
    model.startprob_, model.transmat_, _ = random_chain(rng, n)
    model.emissionprob_ = rng.dirichlet(np.ones(k), size=n)
    return model, rng


def test_model_switches_above_threshold(monkeypatch):
    model, rng = _categorical()
    X = rng.randint(0, 3, size=(5000, 1)).astype(np.uint8)
    lengths = [1, 3000, 2, 5, 1992]
    want = (model.score_sequences(X, lengths), model.decode(X, lengths),
            model.score_samples(X, lengths))
    monkeypatch.setattr(backend, "CHECKPOINT_MIN_BYTES", 0)
    monkeypatch.setattr(backend, "BLOCK_MIN_FRAMES", 16)
    got = (model.score_sequences(X, lengths), model.decode(X, lengths),
           model.score_samples(X, lengths))
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    assert got[1][0] == want[1][0]
    np.testing.assert_array_equal(got[1][1], want[1][1])
    np.testing.assert_allclose(got[2][0], want[2][0], rtol=1e-12)
    np.testing.assert_allclose(got[2][1], want[2][1], rtol=1e-11, atol=1e-13)


def test_gaussian_model_switches(monkeypatch):
    rng = np.random.RandomState(1)
    model = GaussianHMM(n_components=3, covariance_type="diag")
    model.startprob_, model.transmat_, _ = random_chain(rng, 3)
    model.means_ = rng.normal(size=(3, 2)) * 3
    model.covars_ = rng.uniform(0.5, 2, size=(3, 2))
    X = rng.normal(size=(3000, 2)) * 3
    want = model.score(X), model.decode(X), model.predict_proba(X)
    monkeypatch.setattr(backend, "CHECKPOINT_MIN_BYTES", 0)
    monkeypatch.setattr(backend, "BLOCK_MIN_FRAMES", 100)
    got = model.score(X), model.decode(X), model.predict_proba(X)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    assert got[1][0] == want[1][0]
    np.testing.assert_array_equal(got[1][1], want[1][1])
    np.testing.assert_allclose(got[2], want[2], rtol=1e-11, atol=1e-13)


def test_posteriors_to_file(tmp_path):
    model, rng = _categorical()
    X = rng.randint(0, 3, size=(4000, 1)).astype(np.uint8)
    target = tmp_path / "post.npy"
    loglik = model.posteriors_to_file(X, target, block_size=333)
    np.testing.assert_allclose(loglik, model.score(X), rtol=1e-12)
    np.testing.assert_allclose(np.load(target), model.predict_proba(X), rtol=1e-11,
                               atol=1e-13)
    assert os.listdir(tmp_path) == ["post.npy"]


def test_interrupted_run_leaves_no_complete_file(tmp_path, monkeypatch):
    model, rng = _categorical()
    X = rng.randint(0, 3, size=(4000, 1))
    target = tmp_path / "post.npy"
    real = _blocks.backward_block
    count = []

    def failing(*args):
        count.append(1)
        if len(count) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(_blockrun._blocks, "backward_block", failing)
    with pytest.raises(KeyboardInterrupt):
        model.posteriors_to_file(X, target, block_size=500)
    assert os.listdir(tmp_path) == []
    # an earlier complete file stays as it was
    np.save(target, np.zeros(3))
    count.clear()
    with pytest.raises(KeyboardInterrupt):
        model.posteriors_to_file(X, target, block_size=500)
    np.testing.assert_array_equal(np.load(target), np.zeros(3))
    assert os.listdir(tmp_path) == ["post.npy"]


def test_block_size_choice():
    assert backend.checkpoint_block(1, 16) == 1
    assert backend.checkpoint_block(10**8, 16) == 16384
    assert backend.checkpoint_block(10**10, 16) == backend.BLOCK_BUDGET // (5 * 8 * 16)
    assert backend.checkpoint_block(10**6, 10**5) >= 1


def test_command_line_decode_of_long_records(tmp_path, monkeypatch):
    from hmm_core.cli.commands import main

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(3)
    text = "".join(f">r{r}\n" + "".join(rng.choice(list("ACGT"), 3000 + 500 * r)) + "\n"
                   for r in range(3))
    (tmp_path / "g.fa").write_text(text)
    assert main(["fit", "g.fa", "--alphabet", "dna", "-n", "3", "-o", "m.npz", "-q"]) == 0
    assert main(["decode", "m.npz", "g.fa", "-o", "one.npz", "--posteriors", "p1.npz",
                 "-q"]) == 0
    monkeypatch.setattr(backend, "CHECKPOINT_MIN_BYTES", 0)
    monkeypatch.setattr(backend, "BLOCK_MIN_FRAMES", 64)
    calls = []
    real = _blockrun.BlockRun.viterbi
    monkeypatch.setattr(_blockrun.BlockRun, "viterbi",
                        lambda self, out=None: calls.append(1) or real(self, out))
    assert main(["decode", "m.npz", "g.fa", "-o", "two.npz", "--posteriors", "p2.npz",
                 "-q"]) == 0
    assert calls
    one, two = np.load("one.npz"), np.load("two.npz")
    np.testing.assert_array_equal(one["states"], two["states"])
    np.testing.assert_array_equal(one["logprob"], two["logprob"])
    np.testing.assert_allclose(np.load("p1.npz")["posteriors"], np.load("p2.npz")["posteriors"],
                               rtol=1e-11, atol=1e-13)


def _close_stats(a, b):
    assert a.n_sequences == b.n_sequences and a.n_frames == b.n_frames
    np.testing.assert_allclose(a.loglik, b.loglik, rtol=1e-12)
    for name in ("start_counts", "trans_counts", "end_counts"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-11, err_msg=name)
    for key, value in (a.emission or {}).items():
        other = b.emission[key]
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(value, other, rtol=1e-10, atol=1e-10, err_msg=key)


def test_accumulate_long_sequences(monkeypatch):
    model, rng = _categorical()
    model.endprob_ = np.full(4, 0.1)
    model.transmat_ = model.transmat_ * 0.9
    X = rng.randint(0, 3, size=(5000, 1)).astype(np.uint8)
    lengths = [2500, 3, 1, 2496]
    want = model.accumulate(X, lengths)
    monkeypatch.setattr(backend, "CHECKPOINT_MIN_BYTES", 0)
    monkeypatch.setattr(backend, "BLOCK_MIN_FRAMES", 100)
    got = model.accumulate(X, lengths)
    _close_stats(got, want)
    model.m_step(got)  # one M-step from them works


def test_accumulate_long_gaussian(monkeypatch):
    rng = np.random.RandomState(1)
    model = GaussianHMM(n_components=3, covariance_type="full")
    model.startprob_, model.transmat_, _ = random_chain(rng, 3)
    model.means_ = rng.normal(size=(3, 2)) * 3
    model.covars_ = np.tile(np.eye(2), (3, 1, 1))
    X = rng.normal(size=(3000, 2)) * 3
    want = model.accumulate(X)
    monkeypatch.setattr(backend, "CHECKPOINT_MIN_BYTES", 0)
    monkeypatch.setattr(backend, "BLOCK_MIN_FRAMES", 128)
    got = model.accumulate(X)
    _close_stats(got, want)
    import copy

    one, two = copy.deepcopy(model).m_step(want), copy.deepcopy(model).m_step(got)
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        np.testing.assert_allclose(getattr(two, name), getattr(one, name), rtol=1e-9,
                                   err_msg=name)
