"""Topologies: left-to-right, ergodic, explicit masks; EM keeps forbidden entries at zero."""

import numpy as np
import pytest
from _models import random_stochastic
from numpy.testing import assert_allclose, assert_array_equal

from hmm_core import CategoricalHMM
from hmm_core.structure.topology import (
    ergodic,
    ergodic_mask,
    from_mask,
    left_right,
    left_right_mask,
)
from hmm_core.testing import reference


def _left_right_truth(rng, n=4, k=5, n_skips=1):
    model = left_right(CategoricalHMM(n, end_state=True), n_skips=n_skips)
    mask = left_right_mask(n, n_skips)
    trans = np.where(mask, rng.uniform(0.2, 1.0, (n, n)), 0.0)
    end = np.zeros(n)
    end[-1] = 0.3
    model.transmat_ = trans / trans.sum(axis=1, keepdims=True) * (1 - end)[:, None]
    model.endprob_ = end
    model.emissionprob_ = random_stochastic(rng, (n, k))
    return model


def _sequences(model, rng, n_seq=20):
    X, lengths = [], []
    for _ in range(n_seq):
        x, _ = model.sample(int(rng.randint(4, 15)), random_state=rng)
        X.append(x)
        lengths.append(len(x))
    return np.concatenate(X), lengths


def test_masks():
    assert_array_equal(left_right_mask(4), [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1],
                                            [0, 0, 0, 1]])
    assert_array_equal(left_right_mask(4, n_skips=1), [[1, 1, 1, 0], [0, 1, 1, 1],
                                                       [0, 0, 1, 1], [0, 0, 0, 1]])
    assert_array_equal(left_right_mask(3, n_skips=5), np.triu(np.ones((3, 3))))
    assert_array_equal(left_right_mask(1), [[True]])
    assert ergodic_mask(3).all() and ergodic_mask(3).shape == (3, 3)


def test_left_right_sets_uniform_structured_chain():
    model = left_right(CategoricalHMM(3))
    assert_array_equal(model.startprob_, [1, 0, 0])
    assert_allclose(model.transmat_, [[0.5, 0.5, 0], [0, 0.5, 0.5], [0, 0, 1]])
    assert model.endprob_ is None
    model = left_right(CategoricalHMM(3, end_state=True))
    assert_allclose(model.transmat_, [[0.5, 0.5, 0], [0, 0.5, 0.5], [0, 0, 0.5]])
    assert_allclose(model.endprob_, [0, 0, 0.5])
    model = ergodic(CategoricalHMM(2, end_state=True))
    assert_allclose(model.transmat_, np.full((2, 2), 1 / 3))
    assert_allclose(model.endprob_, [1 / 3, 1 / 3])


@pytest.mark.filterwarnings("ignore:state\\(s\\)")  # hard EM may leave a state unused
@pytest.mark.parametrize("training", ["baum-welch", "viterbi"])
@pytest.mark.parametrize("prior", [1.0, 2.5])
def test_em_keeps_forbidden_transitions_at_zero(training, prior):
    rng = np.random.RandomState(0)
    truth = _left_right_truth(rng)
    X, lengths = _sequences(truth, rng)
    mask = left_right_mask(4, 1)
    model = left_right(CategoricalHMM(4, end_state=True, n_iter=15, training=training,
                                      transmat_prior=prior, startprob_prior=prior,
                                      endprob_prior=prior, random_state=1, n_init=2),
                       n_skips=1)
    model.fit(X, lengths)
    assert np.all(model.transmat_[~mask] == 0)
    assert np.all(model.startprob_[1:] == 0) and model.startprob_[0] == 1
    assert np.all(model.endprob_[:-1] == 0) and model.endprob_[-1] > 0
    assert_allclose(model.transmat_.sum(axis=1) + model.endprob_, 1.0)


def test_random_initialisation_draws_inside_the_mask():
    mask = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool)
    model = from_mask(CategoricalHMM(3, n_iter=0, random_state=3), mask,
                      start_mask=[True, True, False])
    model.fit(np.array([[0], [1], [2], [1]]))
    assert np.all(model.transmat_[~mask] == 0)
    assert model.startprob_[2] == 0
    # Random (not the uniform values from_mask set).
    assert not np.allclose(model.transmat_[mask], 0.5)


def test_structured_em_matches_the_reference():
    rng = np.random.RandomState(5)
    truth = _left_right_truth(rng, n=3, k=4, n_skips=0)
    X, lengths = _sequences(truth, rng, 15)
    start = left_right(CategoricalHMM(3, end_state=True), n_skips=0)
    start.emissionprob_ = random_stochastic(rng, (3, 4))
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    ref = reference.baum_welch_categorical(
        X[:, 0], offsets, start.startprob_, start.transmat_, start.emissionprob_,
        endprob=start.endprob_, n_iter=4, transmat_prior=1.5)
    start.set_params(init_params="", n_iter=4, tol=-np.inf, transmat_prior=1.5)
    start.fit(X, lengths)
    assert_allclose(start.transmat_, ref["transmat"], rtol=1e-9, atol=1e-14)
    assert_allclose(start.endprob_, ref["endprob"], rtol=1e-9, atol=1e-14)
    assert_allclose(start.emissionprob_, ref["emissionprob"], rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("mask,kwargs,match", [
    ([[1, 0], [0, 0]], {}, "mask leaves state 1 with no way out"),
    ([[1, 1]], {}, "mask must be a non-empty square matrix"),
    (np.ones((3, 3)), {}, r"mask must have shape \(2, 2\)"),
    ([[1, 1], [1, 1]], {"start_mask": [0, 0]}, "start_mask must allow"),
    ([[1, 1], [1, 1]], {"start_mask": [1, 0, 0]}, "start_mask must have shape"),
    ([["a", "b"], ["c", "d"]], {}, "mask must be a boolean or numeric"),
    ([[1, np.nan], [1, 1]], {}, "mask must be finite"),
])
def test_bad_masks_are_rejected(mask, kwargs, match):
    with pytest.raises(ValueError, match=match):
        from_mask(CategoricalHMM(2), mask, **kwargs)


def test_a_state_that_may_end_needs_no_transition():
    model = from_mask(CategoricalHMM(2, end_state=True), [[1, 1], [0, 0]], end_mask=[0, 1])
    assert_allclose(model.transmat_, [[0.5, 0.5], [0, 0]])
    assert_allclose(model.endprob_, [0, 1])
    with pytest.raises(ValueError, match="mask leaves state 1 with no way out"):
        from_mask(CategoricalHMM(2), [[1, 1], [0, 0]], end_mask=[0, 1])


@pytest.mark.parametrize("call,match", [
    (lambda: left_right_mask(0), "n_components must be an integer >= 1"),
    (lambda: left_right_mask(3, n_skips=-1), "n_skips must be an integer >= 0"),
    (lambda: left_right(CategoricalHMM(3), n_skips=1.5), "n_skips must be an integer"),
    (lambda: ergodic_mask(2.0), "n_components must be an integer"),
])
def test_bad_topology_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
