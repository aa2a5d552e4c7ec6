"""Long runs and shared models: memory stays flat over 10^4 calls, and eight
threads sharing one model get the results one thread gets."""

import os
import threading

import numpy as np
import pytest

import hmm_core

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                                reason="resident memory is read from /proc")


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _categorical():
    rng = np.random.default_rng(0)
    model = hmm_core.CategoricalHMM(3, n_features=4, random_state=0, n_iter=1,
                                    init_params="", tol=-np.inf)
    model.startprob_ = rng.dirichlet(np.ones(3))
    model.transmat_ = rng.dirichlet(np.ones(3), 3)
    model.emissionprob_ = rng.dirichlet(np.ones(4), 3)
    X = rng.integers(0, 4, (60, 1))
    return model, X, [20, 25, 15]


def _gaussian():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    model = hmm_core.GaussianHMM(2, random_state=0, n_iter=2).fit(X, [30, 30])
    return model, X, [30, 30]


CALLS = {
    "score": lambda m, X, L, tmp: m.score(X, L),
    "predict_proba": lambda m, X, L, tmp: m.predict_proba(X, L),
    "decode_map": lambda m, X, L, tmp: m.decode(X, L, algorithm="map"),
    "decode_kbest": lambda m, X, L, tmp: m.decode_kbest(X, L, k=3),
    "fit": lambda m, X, L, tmp: m.fit(X, L),
    "sample": lambda m, X, L, tmp: m.sample(20, random_state=0),
    "save_load": lambda m, X, L, tmp: (m.save(tmp), hmm_core.load(tmp)),
    "functional": lambda m, X, L, tmp: hmm_core.posteriors(
        np.log(m.startprob_), m.transmat_, np.log(m.predict_proba(X, L) + 0.1), L),
}


@pytest.mark.parametrize("make", [_categorical, _gaussian], ids=["categorical", "gaussian"])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_memory_stays_flat_over_many_calls(make, call, tmp_path):
    model, X, lengths = make()
    run, path = CALLS[call], tmp_path / "m.npz"
    n_calls = 2_000 if call in ("fit", "save_load", "decode_kbest") else 10_000
    for _ in range(500):  # caches, allocator pools and imports settle first
        run(model, X, lengths, path)
    before = _rss_bytes()
    for _ in range(n_calls):
        run(model, X, lengths, path)
    growth = _rss_bytes() - before
    # a leak of even 1 KB per call would show as >= 2 MB here
    assert growth < 2 * 2**20, f"{call}: RSS grew by {growth / 2**20:.1f} MB over {n_calls} calls"


def test_markov_chain_memory_stays_flat():
    chain = hmm_core.MarkovChain().fit(np.random.default_rng(2).integers(0, 3, 200))
    seq = np.random.default_rng(3).integers(0, 3, 50)
    for _ in range(500):
        chain.score(seq)
    before = _rss_bytes()
    for _ in range(10_000):
        chain.score(seq)
        chain.predict_distribution(seq[-1], n_steps=3)
    assert _rss_bytes() - before < 2 * 2**20


@pytest.mark.parametrize("make", [_categorical, _gaussian], ids=["categorical", "gaussian"])
def test_eight_threads_sharing_one_model_agree_with_one(make):
    model, X, lengths = make()
    rng = np.random.default_rng(4)
    batches = []
    for _ in range(8):
        take = rng.integers(0, len(X), 90)
        batches.append((X[take], [30, 40, 20]))

    def results(m, data, lengths):
        return (m.score_sequences(data, lengths), m.predict_proba(data, lengths),
                m.decode(data, lengths)[1], m.decode(data, lengths, algorithm="map")[1])

    expected = [results(model, data, L) for data, L in batches]
    got, errors = [None] * 8, []
    start = threading.Barrier(8)

    def work(i):
        try:
            start.wait()
            for _ in range(25):
                got[i] = results(model, *batches[i])
        except Exception as exc:  # reported below, with the thread
            errors.append((i, exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i in range(8):
        for a, b in zip(expected[i], got[i], strict=True):
            np.testing.assert_array_equal(a, b)
