"""Concatenation and union of models against brute force over their paths."""

import itertools

import numpy as np
import pytest
from _models import random_chain, random_stochastic
from brute_force import brute_force
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp

from hmm_core import CategoricalHMM
from hmm_core.structure.compose import concatenate, union
from hmm_core.structure.topology import left_right


def _word(rng, n, k=3, end=True, **kwargs):
    startprob, transmat, endprob = random_chain(rng, n, end=end)
    model = CategoricalHMM(n, end_state=end, **kwargs)
    model.startprob_, model.transmat_, model.endprob_ = startprob, transmat, endprob
    model.emissionprob_ = random_stochastic(rng, (n, k))
    return model


def _path_prob(parts, blocks, path, x):
    """P(x, path) of a composed path, from the parts' own parameters."""
    owner = [int(np.searchsorted(blocks, z, side="right")) - 1 for z in path]
    local = [z - blocks[o] for z, o in zip(path, owner, strict=True)]
    if owner[0] != 0 or np.any(np.diff(owner) < 0) or np.any(np.diff(owner) > 1):
        return 0.0
    if owner[-1] != len(parts) - 1 and parts[-1].endprob_ is not None:
        return 0.0
    first = parts[0]
    p = first.startprob_[local[0]] * first.emissionprob_[local[0], x[0]]
    for t in range(1, len(x)):
        a, b = parts[owner[t - 1]], parts[owner[t]]
        if owner[t] == owner[t - 1]:
            step = a.transmat_[local[t - 1], local[t]]
        else:  # leave a through its end, enter b through its start
            step = a.endprob_[local[t - 1]] * b.startprob_[local[t]]
        p *= step * b.emissionprob_[local[t], x[t]]
    if parts[-1].endprob_ is not None:  # else no end state: any state may stop
        p *= parts[-1].endprob_[local[-1]]
    return p


@pytest.mark.parametrize("last_end", [True, False])
def test_concatenation_against_brute_force_over_its_paths(last_end):
    rng = np.random.RandomState(0)
    parts = [_word(rng, 2), _word(rng, 1), _word(rng, 2, end=last_end)]
    sentence = concatenate(parts)
    assert sentence.n_components == 5 and sentence.init_params == ""
    assert sentence.end_state is last_end
    blocks = np.array([0, 2, 3, 5])
    x = rng.randint(0, 3, size=5)
    frameprob = sentence.emissionprob_[:, x].T
    truth = brute_force(sentence.startprob_, sentence.transmat_, frameprob,
                        sentence.endprob_)
    total = 0.0
    for path in itertools.product(range(5), repeat=len(x)):
        p = _path_prob(parts, blocks, path, x)
        assert_allclose(np.exp(truth["path_logprobs"][path]), p, rtol=1e-12, atol=1e-300)
        total += p
    assert_allclose(sentence.score(x[:, None]), np.log(total), rtol=1e-12)
    logprob, paths = sentence.decode_kbest(x[:, None], k=3)
    ranked = sorted(truth["path_logprobs"].values(), reverse=True)[:3]
    assert_allclose(logprob[:, 0], ranked, rtol=1e-12)


def test_concatenation_likelihood_sums_over_segmentations():
    rng = np.random.RandomState(1)
    a, b = _word(rng, 3), _word(rng, 2)
    x = rng.randint(0, 3, size=(9, 1))
    split = [a.score(x[:s]) + b.score(x[s:]) for s in range(1, len(x))]
    assert_allclose(concatenate([a, b]).score(x), logsumexp(split), rtol=1e-12)


@pytest.mark.parametrize("end", [False, True])
def test_union_is_a_weighted_mixture(end):
    rng = np.random.RandomState(2)
    parts = [_word(rng, 2, end=end), _word(rng, 3, end=end), _word(rng, 1, end=end)]
    weights = np.array([0.2, 0.5, 0.3])
    both = union(parts, weights)
    X = rng.randint(0, 3, size=(12, 1))
    lengths = [4, 1, 7]
    expected = logsumexp([np.log(w) + m.score_sequences(X, lengths)
                          for w, m in zip(weights, parts, strict=True)], axis=0)
    assert_allclose(both.score_sequences(X, lengths), expected, rtol=1e-12)
    uniform = union(parts)
    assert_allclose(uniform.startprob_[:2], parts[0].startprob_ / 3)


def test_composed_models_train_like_any_model():
    rng = np.random.RandomState(3)
    a = left_right(_word(rng, 2))
    b = left_right(_word(rng, 3))
    a.emissionprob_ = random_stochastic(rng, (2, 3))
    sentence = concatenate([a, b])
    X, _ = sentence.sample(40, random_state=rng)
    before = sentence.transmat_ == 0
    sentence.set_params(n_iter=3, tol=-np.inf).fit(X, [10, 10, 20])
    assert np.all(sentence.transmat_[before] == 0)
    assert sentence.monitor_.iter == 3
    # A random re-initialisation keeps the composed topology.
    sentence.set_params(init_params="st", random_state=0, n_iter=0).fit(X)
    assert np.all(sentence.transmat_[before] == 0)


def test_parts_with_tied_emissions_and_transitions():
    rng = np.random.RandomState(4)
    a = _word(rng, 3, emission_ties=[0, 1, 0], transmat_ties=np.where(np.eye(3) > 0, 0, -1))
    a.emissionprob_ = random_stochastic(rng, (2, 3))
    b = _word(rng, 2)
    sentence = concatenate([a, b, a])
    assert_array_equal(sentence.emission_ties, [0, 1, 0, 2, 3, 4, 5, 4])
    assert sentence.emissionprob_.shape == (6, 3)
    ties = sentence.transmat_ties
    assert ties[0, 0] == ties[2, 2] == 0 and ties[5, 5] == ties[7, 7] == 1
    assert ties[3, 3] == -1 and ties[2, 3] == -1
    x = rng.randint(0, 3, size=(8, 1))
    split = [a.score(x[:s]) + b.score(x[s:t]) + a.score(x[t:])
             for s in range(1, 7) for t in range(s + 1, 8)]
    assert_allclose(sentence.score(x), logsumexp(split), rtol=1e-12)


def test_bad_compositions():
    rng = np.random.RandomState(5)
    with pytest.raises(ValueError, match=r"models\[0\] has no endprob_"):
        concatenate([_word(rng, 2, end=False), _word(rng, 2)])
    with pytest.raises(ValueError, match="models must share n_features"):
        concatenate([_word(rng, 2), _word(rng, 2, k=4)])
    with pytest.raises(ValueError, match="at least one model"):
        union([])
    with pytest.raises(TypeError, match=r"models\[1\] is a str"):
        union([_word(rng, 2), "hmm"])
    with pytest.raises(ValueError, match="weights must sum to 1"):
        union([_word(rng, 2), _word(rng, 2)], [0.5, 0.6])
    with pytest.raises(ValueError, match="weights must have one entry per model"):
        union([_word(rng, 2), _word(rng, 2)], [1.0])
    with pytest.raises(ValueError, match="weights must be finite and non-negative"):
        union([_word(rng, 2), _word(rng, 2)], [1.5, -0.5])
    with pytest.raises(ValueError, match="all have endprob_ or none"):
        union([_word(rng, 2), _word(rng, 2, end=False)])
    with pytest.raises(ValueError, match="startprob_ is not set"):
        concatenate([CategoricalHMM(2)])
