"""CategoricalHMM: Baum-Welch, decoding, sampling, model selection, hmmlearn parity."""

import numpy as np
import pytest
from _models import random_chain, random_lengths, random_stochastic
from numpy.testing import assert_allclose, assert_array_equal

from hmm_core import CategoricalHMM
from hmm_core.testing import reference


def _model(rng, n=3, k=5, zeros=0.0, end=False, **kwargs):
    startprob, transmat, endprob = random_chain(rng, n, zeros, end)
    model = CategoricalHMM(n_components=n, **kwargs)
    model.startprob_, model.transmat_ = startprob, transmat
    model.emissionprob_ = random_stochastic(rng, (n, k), zeros)
    model.endprob_ = endprob
    return model


def _data(model, rng, n_seq=20):
    lengths = random_lengths(rng, n_seq, 1, 60)
    parts = [model.sample(int(t), random_state=rng)[0] for t in lengths]
    return np.concatenate(parts), lengths


@pytest.mark.parametrize("end", [False, True])
@pytest.mark.parametrize("zeros", [0.0, 0.3])
def test_baum_welch_matches_reference_after_five_iterations(end, zeros):
    rng = np.random.RandomState(3)
    truth = _model(rng, 4, 6, zeros, end)
    X, lengths = _data(truth, rng, 25)
    start = _model(rng, 4, 6, zeros, end)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    ref = reference.baum_welch_categorical(
        X[:, 0], offsets, start.startprob_, start.transmat_, start.emissionprob_,
        endprob=start.endprob_, n_iter=5, startprob_prior=1.5, transmat_prior=1.2,
        emissionprob_prior=1.1, endprob_prior=1.3)
    model = CategoricalHMM(4, n_iter=5, tol=-np.inf, init_params="", startprob_prior=1.5,
                           transmat_prior=1.2, emissionprob_prior=1.1, endprob_prior=1.3)
    model.startprob_, model.transmat_ = start.startprob_, start.transmat_
    model.emissionprob_, model.endprob_ = start.emissionprob_, start.endprob_
    model.fit(X, lengths)
    assert_allclose(model.startprob_, ref["startprob"], rtol=1e-8, atol=1e-14)
    assert_allclose(model.transmat_, ref["transmat"], rtol=1e-8, atol=1e-14)
    assert_allclose(model.emissionprob_, ref["emissionprob"], rtol=1e-8, atol=1e-14)
    if end:
        assert_allclose(model.endprob_, ref["endprob"], rtol=1e-8, atol=1e-14)
    assert_allclose(model.monitor_.history, ref["loglik_history"], rtol=1e-10)
    # Structural zeros stay zero, rows stay stochastic.
    assert np.all(model.transmat_[start.transmat_ == 0] == 0)
    assert np.all(model.emissionprob_[start.emissionprob_ == 0] == 0)
    rows = model.transmat_.sum(axis=1) + (model.endprob_ if end else 0)
    assert_allclose(rows, 1.0, rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_baum_welch_never_lowers_the_likelihood(seed):
    rng = np.random.RandomState(seed)
    truth = _model(rng, 3, 4)
    X, lengths = _data(truth, rng, 30)
    model = CategoricalHMM(4, n_iter=40, tol=-np.inf, random_state=seed).fit(X, lengths)
    history = np.array(model.monitor_.history)
    gains = np.diff(history)
    assert np.all(gains >= -1e-8 * np.abs(history[1:])), gains.min()
    assert not model.monitor_.converged or gains[-1] < model.tol
    for name in ("startprob_", "transmat_", "emissionprob_"):
        assert np.all(np.isfinite(getattr(model, name)))


def test_end_state_is_learned():
    rng = np.random.RandomState(11)
    truth = _model(rng, 2, 3, end=True)
    truth.endprob_ = np.array([0.05, 0.3])
    truth.transmat_ = np.array([[0.9, 0.05], [0.2, 0.5]])
    truth.emissionprob_ = np.array([[0.8, 0.15, 0.05], [0.05, 0.15, 0.8]])
    starts = []
    X, lengths = [], []
    for _ in range(1500):
        # Sample a sequence that stops through the end state.
        state = rng.choice(2, p=truth.startprob_)
        seq = []
        while True:
            seq.append(rng.choice(3, p=truth.emissionprob_[state]))
            row = np.append(truth.transmat_[state], truth.endprob_[state])
            nxt = rng.choice(3, p=row)
            if nxt == 2:
                break
            state = nxt
        X.extend(seq)
        lengths.append(len(seq))
        starts.append(seq[0])
    X = np.array(X)[:, None]
    model = CategoricalHMM(2, end_state=True, n_iter=500, tol=1e-9, random_state=0)
    model.fit(X, lengths)
    assert model.endprob_ is not None
    assert_allclose(model.transmat_.sum(axis=1) + model.endprob_, 1.0, rtol=1e-12)
    # Up to label swap, the learned end probabilities approach the truth
    # (1,500 sequences: standard errors of about 0.01).
    order = np.argsort(model.endprob_)
    assert_allclose(model.endprob_[order], [0.05, 0.3], atol=0.04)
    assert_allclose(model.transmat_[np.ix_(order, order)], truth.transmat_, atol=0.05)
    # With an end state the likelihood includes the final transition: the
    # log-likelihood equals the one without it plus log P(end | last state).
    without = CategoricalHMM(2)
    without.startprob_, without.emissionprob_ = model.startprob_, model.emissionprob_
    without.transmat_ = model.transmat_ / model.transmat_.sum(axis=1, keepdims=True)
    one = X[:1]
    assert_allclose(model.score(one) - without.score(one),
                    np.log(model.startprob_ @ (model.emissionprob_[:, X[0, 0]]
                                               * model.endprob_))
                    - np.log(model.startprob_ @ model.emissionprob_[:, X[0, 0]]), rtol=1e-12)


def test_score_sequences_and_score_agree():
    rng = np.random.RandomState(5)
    model = _model(rng)
    X, lengths = _data(model, rng, 10)
    per_seq = model.score_sequences(X, lengths)
    assert per_seq.shape == (10,)
    assert_allclose(per_seq.sum(), model.score(X, lengths), rtol=1e-14)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    for s in range(10):
        assert_allclose(model.score(X[offsets[s]:offsets[s + 1]]), per_seq[s], rtol=1e-13)


def test_decode_predict_and_posteriors_are_consistent():
    rng = np.random.RandomState(6)
    model = _model(rng)
    X, lengths = _data(model, rng, 8)
    logprob, path = model.decode(X, lengths)
    assert_array_equal(model.predict(X, lengths), path)
    logprob_seq, path_seq = model.decode_sequences(X, lengths)
    assert_allclose(logprob_seq.sum(), logprob)
    post = model.predict_proba(X, lengths)
    map_logprob, map_path = model.decode(X, lengths, algorithm="map")
    assert_array_equal(map_path, post.argmax(axis=1))
    # Viterbi maximises the joint probability: MAP can only do worse or equal.
    assert map_logprob <= logprob + 1e-9
    total, post2 = model.score_samples(X, lengths)
    assert_allclose(post2, post)
    assert_allclose(total, model.score(X, lengths))


def test_impossible_sequence_gives_minus_inf_not_nan():
    model = CategoricalHMM(2)
    model.startprob_ = np.array([1.0, 0.0])
    model.transmat_ = np.array([[1.0, 0.0], [0.0, 1.0]])
    model.emissionprob_ = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    X = np.array([[0], [1], [2], [0], [0]])  # symbol 2 is only emitted by unreachable state 1
    with np.errstate(all="raise"):
        scores = model.score_sequences(X, [3, 2])
        assert scores[0] == -np.inf and np.isfinite(scores[1])
        logprob, path = model.decode_sequences(X, [3, 2])
        assert logprob[0] == -np.inf and path[:3].tolist() == [-1, -1, -1]
        assert path[3:].tolist() == [0, 0]
        _, post = model.score_samples(X, [3, 2])
        assert not np.isnan(post).any()
        assert_array_equal(post[:3], 0.0)
        map_logprob, map_path = model.decode_sequences(X, [3, 2], algorithm="map")
        assert map_logprob[0] == -np.inf and map_path[:3].tolist() == [-1, -1, -1]
    with pytest.raises(ValueError, match="sequence 0 has zero probability"):
        fitter = CategoricalHMM(2, init_params="", n_iter=2)
        fitter.startprob_, fitter.transmat_ = model.startprob_, model.transmat_
        fitter.emissionprob_ = model.emissionprob_
        fitter.fit(X, [3, 2])


def test_state_without_posterior_mass_keeps_its_parameters():
    model = CategoricalHMM(3, init_params="", n_iter=3, tol=-np.inf)
    model.startprob_ = np.array([0.5, 0.5, 0.0])
    model.transmat_ = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    emission = np.array([[0.7, 0.3], [0.2, 0.8], [0.5, 0.5]])
    model.emissionprob_ = emission.copy()
    X = np.array([[0], [1], [1], [0], [1]])
    with pytest.warns(RuntimeWarning, match=r"state\(s\) \[2\] received no posterior mass"):
        model.fit(X)
    assert_allclose(model.transmat_[2], [0.0, 0.0, 1.0])
    assert_allclose(model.emissionprob_[2], [0.5, 0.5])
    for name in ("startprob_", "transmat_", "emissionprob_"):
        assert np.all(np.isfinite(getattr(model, name)))


def test_sample_reproducible_and_follows_the_model():
    rng = np.random.RandomState(8)
    model = _model(rng, 2, 3, random_state=0)
    model.transmat_ = np.array([[0.9, 0.1], [0.3, 0.7]])
    X1, s1 = model.sample(50_000, random_state=1)
    X2, s2 = model.sample(50_000, random_state=1)
    assert_array_equal(X1, X2)
    assert_array_equal(s1, s2)
    assert X1.shape == (50_000, 1)
    counts = np.zeros((2, 2))
    np.add.at(counts, (s1[:-1], s1[1:]), 1)
    assert_allclose(counts / counts.sum(axis=1, keepdims=True), model.transmat_, atol=0.02)
    for i in range(2):
        freq = np.bincount(X1[s1 == i, 0], minlength=3) / np.sum(s1 == i)
        assert_allclose(freq, model.emissionprob_[i], atol=0.02)


def test_aic_bic_count_free_parameters():
    rng = np.random.RandomState(9)
    model = _model(rng, 3, 4)
    X, lengths = _data(model, rng, 5)
    n_params = (3 - 1) + 3 * (3 - 1) + 3 * (4 - 1)
    ll = model.score(X, lengths)
    assert_allclose(model.aic(X, lengths), -2 * ll + 2 * n_params)
    assert_allclose(model.bic(X, lengths), -2 * ll + n_params * np.log(len(X)))
    model.transmat_ = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    n_params = (3 - 1) + (1 + 1 + 0) + 3 * (4 - 1)
    assert_allclose(model.aic(X, lengths), -2 * model.score(X, lengths) + 2 * n_params)


def test_fit_infers_n_features_and_repr():
    X = np.array([[0], [2], [1], [2], [0], [1]])
    model = CategoricalHMM(2, random_state=0, n_iter=5).fit(X)
    assert model.n_features == 3
    assert model.emissionprob_.shape == (2, 3)
    assert "CategoricalHMM(" in repr(model) and "n_components=2" in repr(model)
    params = model.get_params()
    clone = CategoricalHMM(**params)
    assert clone.get_params() == params


def test_verbose_prints_one_line_per_iteration(capsys):
    X = np.array([[0], [2], [1], [2], [0], [1]] * 10)
    CategoricalHMM(2, random_state=0, n_iter=4, tol=-np.inf, verbose=True).fit(X)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 4


def _hmmlearn_model(model, implementation):
    hmm = pytest.importorskip("hmmlearn.hmm")
    other = hmm.CategoricalHMM(n_components=model.n_components, implementation=implementation,
                               init_params="", params="ste", n_iter=3, tol=-np.inf)
    other.n_features = model.emissionprob_.shape[1]
    other.startprob_ = model.startprob_.copy()
    other.transmat_ = model.transmat_.copy()
    other.emissionprob_ = model.emissionprob_.copy()
    return other


@pytest.mark.parametrize("implementation", ["log", "scaling"])
def test_agrees_with_hmmlearn(implementation):
    rng = np.random.RandomState(12)
    model = _model(rng, 4, 6, n_iter=3, tol=-np.inf, init_params="")
    X, lengths = _data(model, rng, 15)
    other = _hmmlearn_model(model, implementation)
    assert_allclose(model.score(X, lengths), other.score(X, lengths), rtol=1e-10)
    _, post = model.score_samples(X, lengths)
    _, other_post = other.score_samples(X, lengths)
    assert_allclose(post, other_post, rtol=1e-8, atol=1e-12)
    logprob, path = model.decode(X, lengths)
    other_logprob, other_path = other.decode(X, lengths)
    assert_allclose(logprob, other_logprob, rtol=1e-10)
    assert_array_equal(path, other_path)
    model.fit(X, lengths)
    other.fit(X, lengths)
    assert_allclose(model.startprob_, other.startprob_, rtol=1e-8, atol=1e-12)
    assert_allclose(model.transmat_, other.transmat_, rtol=1e-8, atol=1e-12)
    assert_allclose(model.emissionprob_, other.emissionprob_, rtol=1e-8, atol=1e-12)


def test_missing_symbols_are_marginalised():
    rng = np.random.RandomState(21)
    model = _model(rng, 3, 4)
    X = np.array([0, 3, -1, 2, -1, 1])[:, None]
    # Marginalising a missing frame = summing the likelihood over its symbol.
    total = 0.0
    for a in range(4):
        for b in range(4):
            filled = X.copy()
            filled[2, 0], filled[4, 0] = a, b
            total += np.exp(model.score(filled))
    assert_allclose(model.score(X), np.log(total), rtol=1e-12)
    post = model.predict_proba(X)
    assert_allclose(post.sum(axis=1), 1.0)
    logprob, path = model.decode(X)
    assert np.isfinite(logprob) and path.min() >= 0
    # Training ignores the missing frames in the emission update.
    fitted = CategoricalHMM(3, n_iter=5, random_state=0).fit(
        np.concatenate([X, X, X]), [6, 6, 6])
    assert np.all(np.isfinite(fitted.emissionprob_))


def test_n_init_keeps_the_best_run():
    rng = np.random.RandomState(4)
    truth = _model(rng, 3, 5)
    X, lengths = _data(truth, rng, 30)
    best = CategoricalHMM(3, n_iter=30, n_init=4, random_state=0).fit(X, lengths)
    # The same stream of initialisations, run one at a time.
    stream = np.random.RandomState(0)
    scores = [CategoricalHMM(3, n_iter=30, random_state=stream).fit(X, lengths).score(X, lengths)
              for _ in range(4)]
    assert_allclose(best.score(X, lengths), max(scores), rtol=1e-12)


def test_unchanged_model_is_not_revalidated_but_edits_are_seen():
    """_check caches on a byte fingerprint: in-place edits must still count."""
    rng = np.random.default_rng(0)
    model = CategoricalHMM(3, n_features=4)
    model.startprob_ = rng.dirichlet(np.ones(3))
    model.transmat_ = rng.dirichlet(np.ones(3), size=3)
    model.emissionprob_ = rng.dirichlet(np.ones(4), size=3)
    X = rng.integers(0, 4, size=(50, 1))
    first = model.score(X)
    chain = model._chain
    assert model.score(X) == first and model._chain is chain   # cached
    model.transmat_[0] = [0.98, 0.01, 0.01]                     # in place
    assert model.score(X) != first and model._chain is not chain
    model.emissionprob_[1, 0] = 3.0
    with pytest.raises(ValueError, match="emissionprob_ must sum to 1"):
        model.score(X)
    model.emissionprob_[1] = [0.25] * 4
    model.set_params(n_components=2)
    with pytest.raises(ValueError):
        model.score(X)
