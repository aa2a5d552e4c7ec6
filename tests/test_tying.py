"""Tied emissions and tied transitions against untied models pooled by hand."""

import numpy as np
import pytest
from _models import log, random_chain, random_stochastic
from numpy.testing import assert_allclose, assert_array_equal

from hmm_core import CategoricalHMM
from hmm_core.structure.topology import tied_map_rows
from hmm_core.testing import reference


def _data(rng, n_seq=6, k=4):
    lengths = rng.randint(2, 12, size=n_seq)
    return rng.randint(0, k, size=(lengths.sum(), 1)), lengths


def _chain(rng, n, end):
    startprob, transmat, endprob = random_chain(rng, n, end=end)
    return startprob, transmat, endprob


def _estep(startprob, transmat, endprob, emissionprob, X, lengths):
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    return reference.estep(log(startprob), transmat, log(emissionprob[:, X[:, 0]].T), offsets,
                           None if endprob is None else log(endprob))


@pytest.mark.parametrize("end", [False, True])
def test_emission_ties_pool_the_posteriors_of_tied_states(end):
    rng = np.random.RandomState(0)
    ties = np.array([0, 1, 0, 1, 2])
    startprob, transmat, endprob = _chain(rng, 5, end)
    classes = random_stochastic(rng, (3, 4))
    X, lengths = _data(rng)
    tied = CategoricalHMM(5, emission_ties=ties, init_params="", n_iter=1, tol=-np.inf)
    tied.startprob_, tied.transmat_, tied.endprob_ = startprob, transmat, endprob
    tied.emissionprob_ = classes
    # The same model written out state by state.
    stats = _estep(startprob, transmat, endprob, classes[ties], X, lengths)
    assert_allclose(tied.score_sequences(X, lengths), stats["loglik"], rtol=1e-12)
    assert_allclose(tied.predict_proba(X, lengths), stats["posteriors"], rtol=1e-10,
                    atol=1e-14)
    tied.fit(X, lengths)
    pooled = np.zeros((3, 4))
    for state, cls in enumerate(ties):
        pooled[cls] += np.bincount(X[:, 0], weights=stats["posteriors"][:, state], minlength=4)
    assert_allclose(tied.emissionprob_, pooled / pooled.sum(axis=1, keepdims=True), rtol=1e-10)
    # Transitions are untied: the ordinary update.
    rows = stats["trans_counts"].sum(axis=1) + (stats["end_counts"] if end else 0)
    assert_allclose(tied.transmat_, stats["trans_counts"] / rows[:, None], rtol=1e-10)
    assert tied.emissionprob_.shape == (3, 4)
    assert tied.sample(10, random_state=0)[0].shape == (10, 1)


def _one_step(ties, end, prior=1.0, seed=1):
    rng = np.random.RandomState(seed)
    startprob, transmat, endprob = _chain(rng, 3, end)
    emission = random_stochastic(rng, (3, 4))
    X, lengths = _data(rng, 8)
    model = CategoricalHMM(3, transmat_ties=ties, init_params="", n_iter=1, tol=-np.inf,
                           params="t", transmat_prior=prior)
    model.startprob_, model.transmat_, model.endprob_ = startprob, transmat, endprob
    model.emissionprob_ = emission
    stats = _estep(startprob, transmat, endprob, emission, X, lengths)
    counts = stats["trans_counts"] + (prior - 1.0)
    ends = stats["end_counts"] if end else np.zeros(3)
    return model.fit(X, lengths), counts, ends


@pytest.mark.parametrize("end", [False, True])
def test_tied_self_loops_share_one_probability(end):
    ties = np.full((3, 3), -1)
    ties[0, 0] = ties[1, 1] = ties[2, 2] = 0
    model, n, e = _one_step(ties, end)
    rows = n.sum(axis=1) + e
    p = np.trace(n) / rows.sum()  # pooled count over pooled visits
    assert_allclose(np.diag(model.transmat_), p, rtol=1e-10)
    for i in range(3):
        others = [j for j in range(3) if j != i]
        free = n[i, others].sum() + e[i]
        assert_allclose(model.transmat_[i, others], (1 - p) * n[i, others] / free, rtol=1e-10)
        if end:
            assert_allclose(model.endprob_[i], (1 - p) * e[i] / free, rtol=1e-10)


def test_ties_within_one_row_and_whole_rows():
    ties = np.full((3, 3), -1)
    ties[0, 1] = ties[0, 2] = 0  # two exits of state 0 share a probability
    model, n, _ = _one_step(ties, end=False, prior=1.5)
    row = n[0].sum()
    p = (n[0, 1] + n[0, 2]) / (2 * row)
    assert_allclose(model.transmat_[0], [n[0, 0] / row, p, p], rtol=1e-10)
    assert_allclose(model.transmat_[1], n[1] / n[1].sum(), rtol=1e-10)
    # Rows 1 and 2 tied entry by entry: the pooled rows.
    ties = np.full((3, 3), -1)
    ties[1] = ties[2] = [0, 1, 2]
    model, n, _ = _one_step(ties, end=False)
    pooled = n[1] + n[2]
    assert_allclose(model.transmat_[1], pooled / pooled.sum(), rtol=1e-10)
    assert_array_equal(model.transmat_[1], model.transmat_[2])


def test_tied_map_rows_fallbacks():
    ties = np.array([[0, 0], [0, -1]])
    current = np.array([[0.5, 0.5], [0.4, 0.6]])
    # Group 0: pooled count 4 over pooled visits 4 + 4 (row 0 twice) + 0 = 0.5.
    out = tied_map_rows(np.array([[3.0, 1.0], [0.0, 0.0]]), 1.0, current, ties)
    assert_allclose(out[0], [0.5, 0.5])  # tied entries fill row 0 exactly
    assert_allclose(out[1], [0.5, 0.5])  # no counts: p, and the rest to the untied entry
    # p = 5 / 18 cannot fill row 0 (no untied entry): that row is rescaled (step 4).
    out = tied_map_rows(np.array([[3.0, 1.0], [1.0, 9.0]]), 1.0, current, ties)
    assert_allclose(out, [[0.5, 0.5], [5 / 18, 13 / 18]])
    # A structural zero stays zero.
    current = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    ties = np.full((3, 3), -1)
    ties[0, 0] = ties[1, 0] = 0
    out = tied_map_rows(np.ones((3, 3)), 1.0, current, ties)
    assert_allclose(out[0], [0.4, 0.6, 0.0])
    assert_allclose(out.sum(axis=1), 1.0)


def test_tie_validation_and_parameter_count():
    X = np.array([[0], [1], [2], [1]])
    with pytest.raises(ValueError, match="emission_ties must use every class 0..2; class 1"):
        CategoricalHMM(3, emission_ties=[0, 2, 2]).fit(X)
    with pytest.raises(ValueError, match=r"emission_ties must have shape \(3,\)"):
        CategoricalHMM(3, emission_ties=[0, 1]).fit(X)
    with pytest.raises(ValueError, match="emission_ties must hold emission classes >= 0"):
        CategoricalHMM(3, emission_ties=[0, -1, 1]).fit(X)
    with pytest.raises(ValueError, match="emission_ties must hold integers"):
        CategoricalHMM(3, emission_ties=[0, 0.5, 1]).fit(X)
    with pytest.raises(ValueError, match=r"transmat_ties must have shape \(2, 2\)"):
        CategoricalHMM(2, transmat_ties=[0, 1]).fit(X)
    with pytest.raises(ValueError, match="transmat_ties must hold -1"):
        CategoricalHMM(2, transmat_ties=[[0, -2], [1, 1]]).fit(X)
    model = CategoricalHMM(2, transmat_ties=[[-1, 0], [0, -1]], init_params="se")
    model.transmat_ = np.array([[1.0, 0.0], [0.5, 0.5]])
    with pytest.raises(ValueError, match="transmat_ties group 0 ties transitions that "
                                         "transmat_ forbids"):
        model.fit(X)
    # Free parameters. Self-loops tied: one shared value plus one per row.
    model = CategoricalHMM(3, transmat_ties=np.where(np.eye(3) > 0, 0, -1),
                           emission_ties=[0, 0, 1])
    model.startprob_, model.transmat_ = np.full(3, 1 / 3), np.full((3, 3), 1 / 3)
    model.emissionprob_ = np.full((2, 4), 0.25)
    assert model._n_parameters() == 2 + 4 + 2 * 3
    whole_rows = np.full((3, 3), -1)
    whole_rows[1] = whole_rows[2] = [0, 1, 2]
    model.set_params(transmat_ties=whole_rows, emission_ties=None)
    model.emissionprob_ = np.full((3, 4), 0.25)
    assert model._n_parameters() == 2 + (2 + 2) + 3 * 3
