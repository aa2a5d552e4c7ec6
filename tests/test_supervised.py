"""Supervised (counting), semi-supervised (clamped EM) and Viterbi training."""

import warnings

import numpy as np
import pytest
from _models import random_chain, random_stochastic
from brute_force import brute_force
from numpy.testing import assert_allclose, assert_array_equal

from hmm_core import CategoricalHMM
from hmm_core.structure.topology import left_right

# Two sequences, hand-labelled.
X = np.array([0, 1, 1, 2, 0, 2, 2, 1])[:, None]
LENGTHS = [5, 3]
STATES = np.array([0, 0, 1, 1, 0, 1, 1, 1])


def test_fully_labelled_fit_is_the_counting_estimate():
    model = CategoricalHMM(2, random_state=0).fit(X, LENGTHS, states=STATES)
    # Starts: 0 and 1 once each. Transitions: 0->0, 0->1, 1->1, 1->0 | 1->1, 1->1.
    assert_allclose(model.startprob_, [1 / 2, 1 / 2])
    assert_allclose(model.transmat_, [[1 / 2, 1 / 2], [1 / 4, 3 / 4]])
    # State 0 emits 0, 1, 0; state 1 emits 1, 2, 2, 2, 1.
    assert_allclose(model.emissionprob_, [[2 / 3, 1 / 3, 0], [0, 2 / 5, 3 / 5]])
    assert model.monitor_.iter == 1
    # The same whatever the random initialisation: there is no EM.
    other = CategoricalHMM(2, random_state=7, n_iter=50).fit(X, LENGTHS, states=STATES)
    assert_allclose(other.transmat_, model.transmat_)
    # The reported value is log P(x, labels).
    logprob = model._chain.path_logprob(model._log_frameprob(X[:, 0]),
                                        np.array([0, 5, 8]), STATES)
    assert_allclose(model.monitor_.history, [logprob.sum()])


def test_fully_labelled_fit_with_end_state_and_priors():
    model = CategoricalHMM(2, end_state=True, transmat_prior=2.0, endprob_prior=3.0,
                           emissionprob_prior=1.5, random_state=0)
    model.fit(X, LENGTHS, states=STATES)
    # Row 0: counts (1, 1), end 1 -> (2, 2), end 3; row 1: (1, 3), end 1 -> (2, 4), end 3.
    assert_allclose(model.transmat_, [[2 / 7, 2 / 7], [2 / 9, 4 / 9]])
    assert_allclose(model.endprob_, [3 / 7, 3 / 9])
    assert_allclose(model.emissionprob_, [[2.5 / 4.5, 1.5 / 4.5, 0.5 / 4.5],
                                          [0.5 / 6.5, 2.5 / 6.5, 3.5 / 6.5]])


def test_params_limit_the_counting_update():
    model = CategoricalHMM(2, params="e", init_params="", random_state=0)
    model.startprob_ = np.array([0.3, 0.7])
    model.transmat_ = np.array([[0.9, 0.1], [0.2, 0.8]])
    model.emissionprob_ = np.full((2, 3), 1 / 3)
    model.fit(X, LENGTHS, states=STATES)
    assert_allclose(model.transmat_, [[0.9, 0.1], [0.2, 0.8]])
    assert_allclose(model.emissionprob_, [[2 / 3, 1 / 3, 0], [0, 2 / 5, 3 / 5]])


def test_labels_through_a_forbidden_transition_are_rejected():
    model = left_right(CategoricalHMM(2, random_state=0))
    with pytest.raises(ValueError, match=r"states use transmat_\[1, 0\]"):
        model.fit(X, LENGTHS, states=np.array([0, 0, 1, 1, 0, 0, 1, 1]))
    with pytest.raises(ValueError, match=r"states use startprob_\[1\]"):
        model.fit(X, LENGTHS, states=np.array([0, 0, 0, 1, 1, 1, 1, 1]))


def test_a_state_without_labels_keeps_its_parameters():
    model = CategoricalHMM(3, init_params="", random_state=0)
    model.startprob_ = np.full(3, 1 / 3)
    model.transmat_ = np.full((3, 3), 1 / 3)
    model.emissionprob_ = np.full((3, 3), 1 / 3)
    with pytest.warns(RuntimeWarning, match=r"state\(s\) \[2\] has no labelled frame"):
        model.fit(X, LENGTHS, states=STATES)
    assert_allclose(model.transmat_[2], 1 / 3)
    assert_allclose(model.emissionprob_[2], 1 / 3)


def _model(rng, n, k, end=False, **kwargs):
    startprob, transmat, endprob = random_chain(rng, n, end=end)
    model = CategoricalHMM(n, init_params="", n_iter=1, tol=-np.inf, **kwargs)
    model.startprob_, model.transmat_, model.endprob_ = startprob, transmat, endprob
    model.emissionprob_ = random_stochastic(rng, (n, k))
    return model


def _expected_update(model, seqs, weights_of):
    """One M-step from path weights ``weights_of(seq_index, path -> prob)``."""
    n, k = model.emissionprob_.shape
    start, trans, end = np.zeros(n), np.zeros((n, n)), np.zeros(n)
    emis = np.zeros((n, k))
    for s, x in enumerate(seqs):
        for path, w in weights_of(s, x).items():
            start[path[0]] += w
            end[path[-1]] += w
            for t in range(len(path) - 1):
                trans[path[t], path[t + 1]] += w
            for t, z in enumerate(path):
                emis[z, x[t]] += w
    rows = trans.sum(axis=1) + (end if model.endprob_ is not None else 0)
    return (start / start.sum(), trans / rows[:, None],
            None if model.endprob_ is None else end / rows, emis / emis.sum(1, keepdims=True))


def _paths(model, x):
    frameprob = model.emissionprob_[:, x].T
    return brute_force(model.startprob_, model.transmat_, frameprob,
                       model.endprob_)["path_logprobs"]


@pytest.mark.parametrize("end", [False, True])
def test_semi_supervised_em_step_against_brute_force(end):
    rng = np.random.RandomState(1)
    model = _model(rng, 3, 4, end)
    seqs = [rng.randint(0, 4, size=5), rng.randint(0, 4, size=4)]
    labels = [np.array([-1, 2, -1, -1, 0]), np.array([1, -1, -1, -1])]

    def weights(s, x):
        # Posterior over the paths that agree with the labels.
        probs = {p: np.exp(lp) for p, lp in _paths(model, x).items()
                 if all(lab < 0 or lab == z for lab, z in zip(labels[s], p, strict=True))}
        total = sum(probs.values())
        return {p: v / total for p, v in probs.items()}

    expected = _expected_update(model, seqs, weights)
    model.fit(np.concatenate(seqs)[:, None], [5, 4], states=np.concatenate(labels))
    assert_allclose(model.startprob_, expected[0], rtol=1e-10, atol=1e-15)
    assert_allclose(model.transmat_, expected[1], rtol=1e-10, atol=1e-15)
    if end:
        assert_allclose(model.endprob_, expected[2], rtol=1e-10)
    assert_allclose(model.emissionprob_, expected[3], rtol=1e-10, atol=1e-15)


def test_semi_supervised_em_climbs_the_labelled_likelihood():
    rng = np.random.RandomState(2)
    truth = _model(rng, 3, 5)
    Xs, ss = truth.sample(300, random_state=rng)
    labels = np.where(rng.random_sample(300) < 0.3, ss, -1)
    model = CategoricalHMM(3, n_iter=30, tol=-np.inf, random_state=0)
    model.fit(Xs, [100, 100, 100], states=labels)
    history = np.array(model.monitor_.history)
    assert np.all(np.diff(history) >= -1e-8 * np.abs(history[1:]))
    # No labels: exactly the unsupervised fit.
    plain = CategoricalHMM(3, n_iter=5, random_state=0).fit(Xs, [100, 100, 100])
    unlabelled = CategoricalHMM(3, n_iter=5, random_state=0).fit(
        Xs, [100, 100, 100], states=np.full(300, -1))
    assert_array_equal(plain.transmat_, unlabelled.transmat_)


def test_labels_that_make_a_sequence_impossible():
    model = CategoricalHMM(2, init_params="", n_iter=2)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.full((2, 2), 0.5)
    model.emissionprob_ = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    with pytest.raises(ValueError, match="sequence 0 has zero probability .* state labels"):
        model.fit(X, LENGTHS, states=np.array([1, -1, -1, -1, -1, -1, -1, -1]))


@pytest.mark.parametrize("end", [False, True])
def test_viterbi_training_step_against_brute_force(end):
    rng = np.random.RandomState(3)
    model = _model(rng, 3, 4, end, training="viterbi")
    seqs = [rng.randint(0, 4, size=6), rng.randint(0, 4, size=3), rng.randint(0, 4, size=5)]

    def weights(s, x):
        paths = _paths(model, x)
        return {max(paths, key=paths.get): 1.0}

    with np.errstate(invalid="ignore", divide="ignore"):  # rows of unused states: NaN
        expected = _expected_update(model, seqs, weights)
    best = sum(max(_paths(model, x).values()) for x in seqs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a state may be on no best path
        model.fit(np.concatenate(seqs)[:, None], [len(x) for x in seqs])
    assert_allclose(model.monitor_.history, [best], rtol=1e-12)
    assert_allclose(model.startprob_, expected[0], atol=1e-15)
    rows = np.isfinite(expected[1]).all(axis=1)
    assert rows.sum() >= 2
    assert_allclose(model.transmat_[rows], expected[1][rows], atol=1e-15)
    if end:
        assert_allclose(model.endprob_[rows], expected[2][rows], atol=1e-15)
    rows = np.isfinite(expected[3]).all(axis=1)
    assert_allclose(model.emissionprob_[rows], expected[3][rows], atol=1e-15)


def test_viterbi_training_never_lowers_the_best_path_and_converges():
    rng = np.random.RandomState(4)
    truth = _model(rng, 3, 6)
    Xs, _ = truth.sample(400, random_state=rng)
    model = CategoricalHMM(3, training="viterbi", n_iter=100, tol=1e-9, random_state=1)
    model.fit(Xs, [100] * 4)
    history = np.array(model.monitor_.history)
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))
    assert model.monitor_.converged
    # At convergence the best path of the data is the one trained on.
    assert_allclose(model.decode(Xs, [100] * 4)[0], history[-1], rtol=1e-9)


def test_clamped_viterbi_training_follows_the_labels():
    rng = np.random.RandomState(6)
    truth = _model(rng, 2, 3)
    Xs, ss = truth.sample(60, random_state=rng)
    labels = np.full(60, -1)
    labels[::3] = ss[::3]
    model = CategoricalHMM(2, training="viterbi", n_iter=1, tol=-np.inf, init_params="")
    model.startprob_, model.transmat_ = truth.startprob_, truth.transmat_
    model.emissionprob_ = truth.emissionprob_
    reference = model._check()
    frames = model._log_frameprob(Xs[:, 0])
    clamp = np.where(np.arange(2)[None, :] == labels[:, None], 0.0, -np.inf)
    clamp[labels < 0] = 0.0
    expected, _ = reference.viterbi(frames + clamp, np.array([0, 60]))
    model.fit(Xs, states=labels)
    assert_allclose(model.monitor_.history, expected, rtol=1e-12)


@pytest.mark.parametrize("states,match", [
    (np.zeros(7, dtype=int), r"states must hold one state label per frame \(shape \(8,\)\)"),
    (np.full(8, 2), "states must hold states in 0..1 or -1 for an unlabelled frame, found 2"),
    (np.full(8, -2), "found -2"),
    (np.full(8, 0.5), "states must hold integer state labels"),
    (np.zeros((8, 2), dtype=int), "one state label per frame"),
    (np.array(["a"] * 8), "integer state labels"),
])
def test_bad_labels(states, match):
    with pytest.raises(ValueError, match=match):
        CategoricalHMM(2).fit(X, LENGTHS, states=states)


def test_bad_training_value():
    with pytest.raises(ValueError, match="training must be one of"):
        CategoricalHMM(2, training="hard").fit(X)


def test_float_labels_that_are_integers_are_accepted():
    model = CategoricalHMM(2, random_state=0).fit(X, LENGTHS, states=STATES.astype(float))
    assert_allclose(model.transmat_, [[1 / 2, 1 / 2], [1 / 4, 3 / 4]])
