"""k-best Viterbi against the sorted list of all paths."""

import numpy as np
import pytest
from _models import log, random_chain, random_stochastic
from brute_force import brute_force
from numpy.testing import assert_allclose, assert_array_equal

import hmm_core
from hmm_core import CategoricalHMM
from hmm_core.functional.kbest import kbest_viterbi

CASES = [(n, t, end, zeros, seed)
         for n in (1, 2, 3)
         for t in (1, 2, 5)
         for end in (False, True)
         for zeros, seed in ((0.0, 0), (0.4, 1))]


def _case(n, t, end, zeros, seed):
    rng = np.random.RandomState(100 * n + 10 * t + seed)
    startprob, transmat, endprob = random_chain(rng, n, zeros, end)
    frameprob = random_stochastic(rng, (t, n), zeros)
    return startprob, transmat, endprob, frameprob


def _check_against_brute_force(logprob, paths, truth, k):
    """``logprob`` (k,) and ``paths`` (k, T) of one sequence are the k best paths."""
    ranked = sorted(truth.values(), reverse=True)
    ranked = [v for v in ranked if v > -np.inf][:k]
    m = len(ranked)
    assert_allclose(logprob[:m], ranked, rtol=1e-12)
    assert np.all(logprob[m:] == -np.inf) and np.all(paths[m:] == -1)
    listed = [tuple(p) for p in paths[:m].tolist()]
    assert len(set(listed)) == m  # distinct paths
    for p, value in zip(listed, logprob[:m], strict=True):
        assert_allclose(truth[p], value, rtol=1e-12)  # each is what it claims


@pytest.mark.parametrize("n,t,end,zeros,seed", CASES)
def test_kbest_lists_the_best_paths_in_order(n, t, end, zeros, seed):
    startprob, transmat, endprob, frameprob = _case(n, t, end, zeros, seed)
    truth = brute_force(startprob, transmat, frameprob, endprob)["path_logprobs"]
    for k in (1, 3, n**t + 2):
        logprob, paths = kbest_viterbi(log(startprob), transmat, log(frameprob), k,
                                       log_endprob=None if endprob is None else log(endprob))
        assert logprob.shape == (k, 1) and paths.shape == (k, t)
        assert paths.dtype == np.int64
        _check_against_brute_force(logprob[:, 0], paths, truth, k)


def test_many_sequences_match_one_at_a_time_and_viterbi():
    rng = np.random.RandomState(7)
    startprob, transmat, endprob = random_chain(rng, 3, 0.2, True)
    lengths = [4, 1, 6, 3]
    frames = log(random_stochastic(rng, (sum(lengths), 3)))
    args = (log(startprob), transmat)
    logprob, paths = kbest_viterbi(*args, frames, 5, lengths, log(endprob))
    assert logprob.shape == (5, 4) and paths.shape == (5, 14)
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    for s, (a, b) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
        one_lp, one_paths = kbest_viterbi(*args, frames[a:b], 5, log_endprob=log(endprob))
        assert_array_equal(logprob[:, s], one_lp[:, 0])
        assert_array_equal(paths[:, a:b], one_paths)
    best_lp, best_path = hmm_core.viterbi(*args, frames, lengths, log(endprob))
    assert_allclose(logprob[0], best_lp, rtol=1e-12)
    assert_array_equal(paths[0], best_path)
    assert np.all(logprob[:-1] >= logprob[1:])


def test_model_decode_kbest():
    rng = np.random.RandomState(8)
    model = CategoricalHMM(3)
    model.startprob_, model.transmat_, _ = random_chain(rng, 3)
    model.emissionprob_ = random_stochastic(rng, (3, 4))
    X = rng.randint(0, 4, size=(5, 1))
    logprob, paths = model.decode_kbest(X, k=4)
    truth = brute_force(model.startprob_, model.transmat_,
                        model.emissionprob_[:, X[:, 0]].T)["path_logprobs"]
    _check_against_brute_force(logprob[:, 0], paths, truth, 4)
    assert_array_equal(paths[0], model.decode(X)[1])


def test_impossible_sequence_has_no_paths():
    # Start in 0, must move to 1, but frame 1 is impossible in state 1.
    lf = np.array([[np.log(0.5), np.log(0.5)], [0.0, -np.inf]])
    logprob, paths = kbest_viterbi([0.0, -np.inf], [[0.0, 1.0], [0.0, 1.0]], lf, 3)
    assert np.all(logprob == -np.inf) and np.all(paths == -1)


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "2", None])
def test_bad_k(k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        kbest_viterbi([0.0], [[1.0]], [[0.0]], k)
    model = CategoricalHMM(1)
    model.startprob_, model.transmat_, model.emissionprob_ = [1.0], [[1.0]], [[1.0]]
    with pytest.raises(ValueError, match="k must be a positive integer"):
        model.decode_kbest(np.array([[0]]), k=k)
