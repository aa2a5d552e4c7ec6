"""Additive sufficient statistics, out-of-core EM over chunk sources, online EM."""

import copy
import pickle

import numpy as np
import pytest
from hmm_core.topology import left_right
from numpy.testing import assert_allclose

from hmm_core import (
    GMMHMM,
    CategoricalHMM,
    GaussianHMM,
    HigherOrderHMM,
    IndependentHMM,
    InvalidParameterError,
    MultinomialHMM,
    PoissonHMM,
    SufficientStatistics,
)
from hmm_core.emissions import CategoricalEmission, GaussianEmission, PoissonEmission

LENGTHS = [7, 1, 30, 12, 25, 3, 40, 9, 18, 5]


def _gaussian(kind, **kw):
    return GaussianHMM(3, covariance_type=kind, random_state=0, **kw)


def _masked():
    return left_right(CategoricalHMM(3, random_state=0), n_skips=1)


def _missing_categorical():
    return CategoricalHMM(3, random_state=0)


def _independent():
    return IndependentHMM([([0], CategoricalEmission()), ([1, 2], GaussianEmission()),
                           ([3], PoissonEmission())], n_components=3, random_state=0)


MODELS = {
    "categorical": (lambda: CategoricalHMM(3, random_state=0), "symbols"),
    "categorical-viterbi": (lambda: CategoricalHMM(3, random_state=0, training="viterbi"),
                            "symbols"),
    "categorical-priors": (lambda: CategoricalHMM(3, random_state=0, startprob_prior=2.0,
                                                  transmat_prior=1.5,
                                                  emissionprob_prior=1.3), "symbols"),
    "categorical-missing": (_missing_categorical, "symbols-missing"),
    "categorical-end": (lambda: CategoricalHMM(3, random_state=0, end_state=True), "symbols"),
    "tied-emissions": (lambda: CategoricalHMM(3, random_state=0, emission_ties=[0, 1, 1]),
                       "symbols"),
    "tied-transitions": (lambda: CategoricalHMM(
        3, random_state=0, transmat_ties=[[0, -1, -1], [-1, 0, -1], [-1, -1, -1]]), "symbols"),
    "masked": (_masked, "symbols"),
    "gaussian-diag": (lambda: _gaussian("diag"), "real"),
    "gaussian-full": (lambda: _gaussian("full"), "real"),
    "gaussian-spherical": (lambda: _gaussian("spherical"), "real"),
    "gaussian-tied": (lambda: _gaussian("tied"), "real"),
    "gaussian-missing": (lambda: _gaussian("diag"), "real-missing"),
    "gaussian-full-missing": (lambda: _gaussian("full"), "real-missing"),
    "gaussian-priors": (lambda: _gaussian("full", means_prior=0.5, means_weight=2.0,
                                          covars_weight=3.0), "real"),
    "gmm": (lambda: GMMHMM(3, n_mix=2, random_state=0), "real"),
    "poisson": (lambda: PoissonHMM(3, random_state=0), "counts"),
    "multinomial": (lambda: MultinomialHMM(3, n_trials=6, random_state=0), "trials"),
    "independent": (_independent, "mixed"),
    "higher-order": (lambda: HigherOrderHMM(CategoricalHMM(2, random_state=0), order=2),
                     "symbols"),
}


def _data(kind, seed=0):
    rng = np.random.default_rng(seed)
    n = sum(LENGTHS)
    if kind.startswith("symbols"):
        X = rng.integers(0, 4, size=(n, 1))
        if kind.endswith("missing"):
            X[rng.random(n) < 0.1] = -1
        return X
    if kind.startswith("real"):
        X = rng.normal(size=(n, 2)) + rng.integers(0, 3, size=(n, 1)) * 2.0
        if kind.endswith("missing"):
            X[rng.random((n, 2)) < 0.1] = np.nan
            X[3] = np.nan
        return X
    if kind == "counts":
        return rng.poisson(3.0, size=(n, 2)).astype(float)
    if kind == "trials":
        return rng.multinomial(6, [0.2, 0.3, 0.5], size=n)
    return np.column_stack([rng.integers(0, 3, n), rng.normal(size=(n, 2)),
                            rng.poisson(2.0, n)]).astype(float)


def _fitted(name):
    make, kind = MODELS[name]
    X = _data(kind)
    model = make()
    model.n_iter = 2 if not isinstance(model, HigherOrderHMM) else 1
    if isinstance(model, HigherOrderHMM):
        model.model.n_iter = 2
    model.fit(X, LENGTHS)
    return model, X


def _splits(rng):
    """A random split of LENGTHS into consecutive chunks of whole sequences."""
    cuts = np.flatnonzero(rng.random(len(LENGTHS) - 1) < 0.5) + 1
    return np.split(np.arange(len(LENGTHS)), cuts)


def _chunks(X, parts):
    offsets = np.concatenate([[0], np.cumsum(LENGTHS)])
    return [(X[offsets[p[0]]:offsets[p[-1] + 1]], [LENGTHS[i] for i in p]) for p in parts]


def _assert_stats_equal(a, b, rtol=1e-12, skip=()):
    left, right = a.arrays(), b.arrays()
    assert left.keys() == right.keys()
    for key, value in left.items():
        if key in skip:
            continue
        scale = max(1.0, float(np.abs(value).max(initial=0.0)))
        assert_allclose(right[key], value, rtol=rtol, atol=rtol * scale, err_msg=key)


def _params(model):
    target = model.model_ if isinstance(model, HigherOrderHMM) else model
    out = {"startprob_": target.startprob_, "transmat_": target.transmat_}
    emission = target._get_emission()
    for block in getattr(emission, "emissions", [emission]):
        for key, value in vars(block).items():
            if key.endswith("_") and not key.startswith("_") and value is not None:
                out[f"{id(block)}{key}"] = np.asarray(value)
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_chunk_statistics_add_up_to_the_whole(name):
    model, X = _fitted(name)
    whole = model.accumulate(X, LENGTHS)
    rng = np.random.default_rng(1)
    for _ in range(3):
        parts = [model.accumulate(x, lengths) for x, lengths in _chunks(X, _splits(rng))]
        _assert_stats_equal(whole, sum(parts))
    assert whole.n_frames == X.shape[0] and whole.n_sequences == len(LENGTHS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_m_step_equals_one_fit_iteration(name):
    model, X = _fitted(name)
    stepped = copy.deepcopy(model)
    fitted = copy.deepcopy(model)
    target = fitted.model if isinstance(fitted, HigherOrderHMM) else fitted
    for m in {id(target): target, id(fitted): fitted}.values():
        if m is fitted and isinstance(fitted, HigherOrderHMM):
            continue
        m.n_iter, m.tol, m.init_params = 1, -np.inf, ""
    if isinstance(fitted, HigherOrderHMM):
        fitted.model_.n_iter, fitted.model_.tol, fitted.model_.init_params = 1, -np.inf, ""
        fitted.model_.fit(X, LENGTHS)
    else:
        fitted.fit(X, LENGTHS)
    chunks = _chunks(X, _splits(np.random.default_rng(2)))
    stepped.m_step(sum(stepped.accumulate(x, lengths) for x, lengths in chunks))
    a, b = _params(fitted), _params(stepped)
    for (ka, va), vb in zip(a.items(), b.values(), strict=True):
        assert_allclose(vb, va, rtol=1e-10, atol=1e-13, err_msg=ka)


def test_statistics_pickle_small_and_add():
    model, X = _fitted("gaussian-full")
    small = model.accumulate(X[:100], [100])
    big = model.accumulate(np.concatenate([X] * 20), LENGTHS * 20)
    assert len(pickle.dumps(big)) <= len(pickle.dumps(small)) + 16  # integers, not arrays
    again = pickle.loads(pickle.dumps(big))
    _assert_stats_equal(big, again, rtol=0)
    assert isinstance(0 + small, SufficientStatistics)
    _assert_stats_equal(small + small, small.scale(2.0), skip=("n_sequences", "n_frames"))
    with pytest.raises(ValueError, match="states"):
        small + SufficientStatistics(2)


def test_m_step_rejects_other_statistics():
    model, X = _fitted("categorical")
    with pytest.raises(ValueError, match="SufficientStatistics"):
        model.m_step({"trans_counts": 1})
    with pytest.raises(ValueError, match="states"):
        model.m_step(SufficientStatistics(2))


def test_accumulate_names_the_impossible_sequence():
    model = CategoricalHMM(2, init_params="")
    model.startprob_ = np.array([1.0, 0.0])
    model.transmat_ = np.eye(2)
    model.emissionprob_ = np.array([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="sequence 1 has zero probability"):
        model.accumulate(np.array([[0], [0], [1]]), [2, 1])


def test_initialize_without_em():
    X = _data("real")
    model = GaussianHMM(3, random_state=0).initialize(X, LENGTHS)
    reference = GaussianHMM(3, random_state=0, n_iter=0).fit(X, LENGTHS)
    assert_allclose(model.means_, reference.means_)
    assert not hasattr(model, "monitor_")


# ----------------------------------------------------------- chunk sources
@pytest.mark.parametrize("name", ["categorical", "gaussian-full", "gmm", "independent",
                                  "categorical-viterbi", "higher-order"])
def test_fit_on_a_chunk_source_equals_fit_on_the_concatenation(name):
    make, kind = MODELS[name]
    X = _data(kind)
    chunks = _chunks(X, _splits(np.random.default_rng(3)))
    whole, streamed, called = make(), make(), make()
    for m in (whole, streamed, called):
        target = m.model if isinstance(m, HigherOrderHMM) else m
        target.n_iter, target.tol = 4, -np.inf
    whole.fit(X, LENGTHS)
    streamed.fit(chunks)
    called.fit(lambda: iter(chunks))
    for other in (streamed, called):
        for (key, value), got in zip(_params(whole).items(), _params(other).values(),
                                     strict=True):
            assert_allclose(got, value, rtol=1e-10, atol=1e-12, err_msg=key)


def test_fit_on_a_chunk_source_with_restarts():
    X = _data("real")
    chunks = _chunks(X, _splits(np.random.default_rng(4)))
    whole = GaussianHMM(2, n_init=3, n_iter=3, random_state=5).fit(X, LENGTHS)
    streamed = GaussianHMM(2, n_init=3, n_iter=3, random_state=5).fit(chunks)
    assert_allclose(streamed.means_, whole.means_, rtol=1e-10)


def test_chunk_source_initialises_from_a_bounded_sample(monkeypatch):
    from hmm_core.hmm import _streaming

    monkeypatch.setattr(_streaming, "INIT_SAMPLE_FRAMES", 50)
    X = _data("symbols")
    X[120] = 5  # a rare symbol, outside the sample's random part
    seen = []
    model = CategoricalHMM(2, n_iter=2, random_state=0)
    original = model._init

    def spy(sample, random_state):
        seen.append(sample.shape[0])
        return original(sample, random_state)

    model._init = spy
    model.fit(_chunks(X, _splits(np.random.default_rng(5))))
    assert seen and seen[0] <= 51
    assert model.n_features == 6


def test_chunk_source_errors():
    X = _data("real")
    chunks = _chunks(X, _splits(np.random.default_rng(6)))
    with pytest.raises(ValueError, match="one-shot iterator"):
        GaussianHMM(2).fit(iter(chunks))
    with pytest.raises(ValueError, match="source is empty"):
        GaussianHMM(2).fit(lambda: iter([]))
    bad = chunks + [(np.ones((4, 3)), None)]
    with pytest.raises(ValueError, match=f"chunk {len(chunks)} .*3 features"):
        GaussianHMM(2).fit(bad)
    symbols = _data("symbols")
    with pytest.raises(ValueError, match="chunk 1 .*float"):
        CategoricalHMM(2).fit([(symbols, None), (symbols * 1.0, None)])
    with pytest.raises(ValueError, match="chunk 1 .*symbol 4"):
        CategoricalHMM(2, n_features=4).fit([(symbols, None), (symbols + 1, None)])
    with pytest.raises(ValueError, match="lengths"):
        GaussianHMM(2).fit(chunks, LENGTHS)


# ------------------------------------------------------------------- online
def test_partial_fit_needs_data_and_valid_steps():
    with pytest.raises(ValueError, match="X is None"):
        CategoricalHMM(2).partial_fit(None)
    with pytest.raises(InvalidParameterError, match="online_decay"):
        CategoricalHMM(2, online_decay=0.5).partial_fit(np.array([[0], [1]]))
    with pytest.raises(InvalidParameterError, match="online_step"):
        CategoricalHMM(2, online_step=0.0).partial_fit(np.array([[0], [1]]))
    model = CategoricalHMM(2, random_state=0).partial_fit(np.array([[0], [1], [1]]))
    assert model.emissionprob_.shape == (2, 2)


def test_partial_fit_constant_step_follows_drift():
    rng = np.random.default_rng(0)
    model = PoissonHMM(1, random_state=0, online_step=0.2)
    for rate in (2.0, 20.0):
        for _ in range(60):
            model.partial_fit(rng.poisson(rate, size=(200, 1)).astype(float))
    assert abs(model.lambdas_[0, 0] - 20.0) < 0.5


def test_partial_fit_recovers_the_batch_mle():
    """10^6 frames in chunks of 10^3: online EM within 5 standard errors of batch EM.

    The standard errors are batch-means estimates: the spread of the MLEs of
    20 disjoint blocks of the data, divided by sqrt(20).
    """
    true = CategoricalHMM(2)
    true.startprob_ = np.array([0.6, 0.4])
    true.transmat_ = np.array([[0.95, 0.05], [0.1, 0.9]])
    true.emissionprob_ = np.array([[0.8, 0.15, 0.05], [0.05, 0.15, 0.8]])
    X, _ = true.sample(10**6, random_state=3)
    online = CategoricalHMM(2, init_params="", n_iter=100, tol=1e-4)
    online.startprob_ = np.array([0.5, 0.5])
    online.transmat_ = np.array([[0.7, 0.3], [0.3, 0.7]])
    online.emissionprob_ = np.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    for start in range(0, X.shape[0], 1000):
        online.partial_fit(X[start:start + 1000])
    batch = copy.deepcopy(online).fit(X)  # the same maximum, reached faster
    blocks = []
    for part in np.split(X, 20):
        block = copy.deepcopy(batch)
        block.n_iter, block.tol = 20, 1e-4
        block.fit(part)
        blocks.append(np.concatenate([block.emissionprob_.ravel(), block.transmat_.ravel()]))
    se = np.std(blocks, axis=0, ddof=1) / np.sqrt(len(blocks))
    mle = np.concatenate([batch.emissionprob_.ravel(), batch.transmat_.ravel()])
    got = np.concatenate([online.emissionprob_.ravel(), online.transmat_.ravel()])
    assert np.all(np.abs(got - mle) <= 5 * se), (np.abs(got - mle) / se)


def test_cli_fit_streams_fasta_in_chunks(tmp_path):
    """``hmm-core fit`` on FASTA reads chunk by chunk: any chunk size gives the same model."""
    from hmm_core import load
    from hmm_core.cli.commands import main

    rng = np.random.default_rng(0)
    with open(tmp_path / "a.fa", "w") as handle:
        for i in range(60):
            probs = [0.4, 0.1, 0.1, 0.4] if i % 2 else [0.1, 0.4, 0.4, 0.1]
            seq = "".join(rng.choice(list("ACGT"), size=int(rng.integers(20, 200)), p=probs))
            handle.write(f">s{i}\n{seq}\n")
    for name, size in (("small", 500), ("whole", 10**6)):
        assert main(["fit", str(tmp_path / "a.fa"), "--alphabet", "dna", "--states", "2",
                     "--seed", "0", "--chunk-size", str(size), "-q",
                     "-o", str(tmp_path / f"{name}.hmm")]) == 0
    small, whole = load(tmp_path / "small.hmm"), load(tmp_path / "whole.hmm")
    assert_allclose(small.emissionprob_, whole.emissionprob_, rtol=1e-10)
    assert_allclose(small.transmat_, whole.transmat_, rtol=1e-10)


def test_partial_fit_higher_order():
    X = _data("symbols")
    model = HigherOrderHMM(CategoricalHMM(2, random_state=0), order=2)
    for start in range(0, X.shape[0], 50):
        model.partial_fit(X[start:start + 50])
    assert model.transmat_.shape == (2, 2, 2)
    assert_allclose(model.transmat_.sum(axis=-1), 1.0)


def test_chunk_source_names_the_impossible_sequence_in_the_whole_source():
    model = CategoricalHMM(2, init_params="", n_iter=2)
    model.startprob_ = np.array([1.0, 0.0])
    model.transmat_ = np.eye(2)
    model.emissionprob_ = np.array([[1.0, 0.0], [0.0, 1.0]])
    chunks = [(np.array([[0], [0]]), [2]), (np.array([[0], [1]]), [1, 1])]
    with pytest.raises(ValueError, match="sequence 2 has zero probability"):
        model.fit(chunks)
