"""Higher-order HMMs: brute force over original paths, and an explicit expansion."""

import itertools
import warnings

import numpy as np
import pytest
from _models import random_stochastic
from numpy.testing import assert_allclose, assert_array_equal

from hmm_core import CategoricalHMM
from hmm_core.hmm.higher_order import HigherOrderHMM


def _random_model(rng, n, k, order, **kwargs):
    template = CategoricalHMM(n, init_params="", **kwargs)
    template.emissionprob_ = random_stochastic(rng, (n, k))
    model = HigherOrderHMM(template, order=order)
    model.startprob_ = random_stochastic(rng, (n,))
    model.init_transmats_ = [random_stochastic(rng, (n,) * (m + 1)) for m in range(1, order)]
    model.transmat_ = random_stochastic(rng, (n,) * (order + 1))
    return model


def _path_probs(model, x):
    """P(x, z) for every original path z, from the order-k definition."""
    order, emission = model.order, model.emissionprob_
    start, inits, trans = model.startprob_, model.init_transmats_, model.transmat_
    probs = {}
    for path in itertools.product(range(len(start)), repeat=len(x)):
        p = start[path[0]] * emission[path[0], x[0]]
        for t in range(1, len(x)):
            history = path[max(0, t - order):t]
            table = trans if len(history) == order else inits[len(history) - 1]
            p *= table[history + (path[t],)] * emission[path[t], x[t]]
        probs[path] = p
    return probs


@pytest.mark.parametrize("n,order,t", [(2, 2, 6), (3, 2, 5), (2, 3, 7), (2, 1, 5), (2, 3, 2)])
def test_against_brute_force_over_original_paths(n, order, t):
    rng = np.random.RandomState(10 * n + order)
    model = _random_model(rng, n, 3, order)
    x = rng.randint(0, 3, size=t)
    probs = _path_probs(model, x)
    total = sum(probs.values())
    assert_allclose(model.score(x[:, None]), np.log(total), rtol=1e-12)
    post = np.zeros((t, n))
    for path, p in probs.items():
        post[np.arange(t), path] += p / total
    assert_allclose(model.predict_proba(x[:, None]), post, rtol=1e-10, atol=1e-14)
    ranked = sorted(probs, key=probs.get, reverse=True)
    logprob, path = model.decode(x[:, None])
    assert_array_equal(path, ranked[0])
    assert_allclose(logprob, np.log(probs[ranked[0]]), rtol=1e-12)
    kbest_lp, kbest_paths = model.decode_kbest(x[:, None], k=4)
    assert_allclose(kbest_lp[:, 0], np.log([probs[p] for p in ranked[:4]]), rtol=1e-12)
    for r in range(min(4, len(ranked))):
        assert_allclose(probs[tuple(kbest_paths[r])], probs[ranked[r]], rtol=1e-12)
    map_lp, map_path = model.decode(x[:, None], algorithm="map")
    assert_array_equal(map_path, post.argmax(axis=1))
    assert_allclose(map_lp, np.log(probs[tuple(map_path)]), rtol=1e-12)


def _explicit_second_order(model):
    """A first-order CategoricalHMM over histories, built independently (pairs first)."""
    n = model.n_components
    pairs = list(itertools.product(range(n), repeat=2))
    states = pairs + [(a,) for a in range(n)]
    index = {h: i for i, h in enumerate(states)}
    m = len(states)
    start, trans = np.zeros(m), np.zeros((m, m))
    for a in range(n):
        start[index[(a,)]] = model.startprob_[a]
        for b in range(n):
            trans[index[(a,)], index[(a, b)]] = model.init_transmats_[0][a, b]
    for a, b in pairs:
        for c in range(n):
            trans[index[(a, b)], index[(b, c)]] = model.transmat_[a, b, c]
    explicit = CategoricalHMM(m, init_params="", params="st", n_iter=1, tol=-np.inf)
    explicit.startprob_, explicit.transmat_ = start, trans
    explicit.emissionprob_ = model.emissionprob_[[h[-1] for h in states]]
    return explicit, index


def test_against_an_explicitly_expanded_first_order_model():
    rng = np.random.RandomState(3)
    model = _random_model(rng, 2, 3, 2, n_iter=1, tol=-np.inf, params="st")
    explicit, index = _explicit_second_order(model)
    X = rng.randint(0, 3, size=(40, 1))
    lengths = [10, 1, 2, 12, 15]
    assert_allclose(model.score_sequences(X, lengths), explicit.score_sequences(X, lengths),
                    rtol=1e-12)
    _, post = explicit.score_samples(X, lengths)
    last = np.array([h[-1] for h in index])
    pooled = np.stack([post[:, last == a].sum(axis=1) for a in range(2)], axis=1)
    assert_allclose(model.predict_proba(X, lengths), pooled, rtol=1e-10, atol=1e-14)
    # One EM iteration of the transitions: the same update, row by row.
    emissions = model.emissionprob_.copy()
    model.fit(X, lengths)
    explicit.fit(X, lengths)
    for (a, b), i in ((h, i) for h, i in index.items() if len(h) == 2):
        for c in range(2):
            assert_allclose(model.transmat_[a, b, c], explicit.transmat_[i, index[(b, c)]],
                            rtol=1e-10)
    for a in range(2):
        assert_allclose(model.startprob_[a], explicit.startprob_[index[(a,)]], rtol=1e-10)
        for b in range(2):
            assert_allclose(model.init_transmats_[0][a, b],
                            explicit.transmat_[index[(a,)], index[(a, b)]], rtol=1e-10)
    # The emission update pools the posteriors of every history ending in a state.
    model.model.params = "e"  # template settings reach the expanded model
    model.emissionprob_ = emissions
    _, post = model.model_.score_samples(X, lengths)
    pooled = np.stack([post[:, model.histories_[:, -1] == a].sum(axis=1) for a in range(2)],
                      axis=1)
    counts = np.stack([np.bincount(X[:, 0], weights=pooled[:, a], minlength=3)
                       for a in range(2)])
    model.fit(X, lengths)
    assert_allclose(model.emissionprob_, counts / counts.sum(axis=1, keepdims=True),
                    rtol=1e-10)


def test_fully_labelled_fit_counts_histories():
    rng = np.random.RandomState(4)
    X = rng.randint(0, 3, size=(30, 1))
    lengths = [12, 3, 15]
    states = rng.randint(0, 2, size=30)
    model = HigherOrderHMM(CategoricalHMM(2, random_state=0), order=2)
    model.fit(X, lengths, states=states)
    start, pairs, triples = np.zeros(2), np.zeros((2, 2)), np.zeros((2, 2, 2))
    emis = np.zeros((2, 3))
    for seq, xs in zip(np.split(states, np.cumsum(lengths)[:-1]),
                       np.split(X[:, 0], np.cumsum(lengths)[:-1]), strict=True):
        start[seq[0]] += 1
        pairs[seq[0], seq[1]] += 1
        for t in range(2, len(seq)):
            triples[seq[t - 2], seq[t - 1], seq[t]] += 1
        np.add.at(emis, (seq, xs), 1)
    assert_allclose(model.startprob_, start / start.sum())
    assert_allclose(model.init_transmats_[0], pairs / pairs.sum(axis=1, keepdims=True))
    assert_allclose(model.transmat_, triples / triples.sum(axis=2, keepdims=True))
    assert_allclose(model.emissionprob_, emis / emis.sum(axis=1, keepdims=True))


def test_expansion_of_a_first_order_model_is_equivalent():
    rng = np.random.RandomState(5)
    first = CategoricalHMM(3, end_state=True, init_params="")
    first.startprob_ = random_stochastic(rng, (3,))
    first.endprob_ = np.array([0.1, 0.2, 0.3])
    first.transmat_ = random_stochastic(rng, (3, 3)) * (1 - first.endprob_)[:, None]
    first.emissionprob_ = random_stochastic(rng, (3, 4))
    X = rng.randint(0, 4, size=(25, 1))
    for order in (1, 2, 3):
        model = HigherOrderHMM(first, order=order)
        assert_allclose(model.score_sequences(X, [5, 20]), first.score_sequences(X, [5, 20]),
                        rtol=1e-12)
        assert_array_equal(model.predict(X, [5, 20]), first.predict(X, [5, 20]))
        assert_allclose(model.predict_proba(X), first.predict_proba(X), rtol=1e-10)
        assert model.transmat_.shape == (3,) * (order + 1)


def test_training_sampling_and_partial_labels():
    rng = np.random.RandomState(6)
    truth = _random_model(rng, 2, 3, 2)
    samples = [truth.sample(30, random_state=rng) for _ in range(6)]
    X = np.concatenate([s[0] for s in samples])
    states = np.concatenate([s[1] for s in samples])
    assert set(np.unique(states)) <= {0, 1}
    labels = np.where(rng.random_sample(states.size) < 0.3, states, -1)
    model = HigherOrderHMM(CategoricalHMM(2, n_iter=15, tol=-np.inf, random_state=0), order=2)
    model.fit(X, [30] * 6, states=labels)
    history = np.array(model.monitor_.history)
    assert np.all(np.diff(history) >= -1e-8 * np.abs(history[1:]))
    assert_allclose(model.transmat_.sum(axis=-1), 1.0)
    # Structure kept: no history jumps to a non-successor.
    allowed = model.model_.transmat_ > 0
    succ = model._succ
    for i in range(allowed.shape[0]):
        assert set(np.flatnonzero(allowed[i])) <= set(succ[i])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # histories off every best path
        viterbi = HigherOrderHMM(CategoricalHMM(2, n_iter=5, training="viterbi",
                                                random_state=0), order=2).fit(X, [30] * 6)
    assert np.isfinite(viterbi.score(X, [30] * 6))
    Xs, ss = model.sample(20, random_state=0, currstate=1)
    assert Xs.shape == (20, 1) and ss[0] == 1 and set(ss) <= {0, 1}
    assert np.isfinite(model.aic(X)) and np.isfinite(model.bic(X))


@pytest.mark.parametrize("order", [0, -1, 1.5, True])
def test_bad_order(order):
    with pytest.raises(ValueError, match="order must be a positive integer"):
        HigherOrderHMM(CategoricalHMM(2), order=order).fit(np.array([[0], [1]]))


def test_bad_arguments():
    X = np.array([[0], [1], [1]])
    with pytest.raises(ValueError, match="model must be a BaseHMM"):
        HigherOrderHMM("hmm", order=2).fit(X)
    with pytest.raises(ValueError, match="transmat_ties is not supported"):
        HigherOrderHMM(CategoricalHMM(2, transmat_ties=np.zeros((2, 2), int))).fit(X)
    model = HigherOrderHMM(CategoricalHMM(2), order=2)
    with pytest.raises(ValueError, match="states must hold states in 0..1"):
        model.fit(X, states=[0, 2, 1])
    with pytest.raises(ValueError, match="states must hold one state label per frame"):
        model.fit(X, states=[0, 1])
    with pytest.raises(ValueError, match=r"transmat_ must have shape \(2, 2, 2\)"):
        model.transmat_ = np.full((2, 2), 0.5)
    with pytest.raises(ValueError, match="init_transmats_ must hold order - 1 = 1"):
        model.init_transmats_ = []
    with pytest.raises(ValueError, match="invalid parameter"):
        model.set_params(n_iter=3)
