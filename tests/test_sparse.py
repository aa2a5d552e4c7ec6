"""Sparse-transition kernels against the dense ones and brute force."""

import numpy as np
import pytest
from _models import log, random_chain, random_lengths, random_stochastic
from brute_force import brute_force
from numpy.testing import assert_allclose, assert_array_equal

import hmm_core
from hmm_core.kernels.chain import ChainParams


def left_to_right(n, rng, skip=False, end=False):
    transmat = np.zeros((n, n))
    for i in range(n):
        allowed = [j for j in (i, i + 1, i + 2 if skip else None) if j is not None and j < n]
        transmat[i, allowed] = rng.uniform(0.2, 1.0, size=len(allowed))
    transmat /= transmat.sum(axis=1, keepdims=True)
    endprob = None
    if end:
        endprob = np.zeros(n)
        endprob[-1] = 0.3
        transmat[-1] *= 0.7
    startprob = np.zeros(n)
    startprob[0] = 1.0
    return startprob, transmat, endprob


def _frames(rng, lengths, n):
    return rng.normal(size=(int(np.sum(lengths)), n))


@pytest.mark.parametrize("n,skip,end", [(40, False, False), (64, True, True), (200, True, False)])
def test_sparse_equals_dense(n, skip, end):
    rng = np.random.RandomState(n)
    startprob, transmat, endprob = left_to_right(n, rng, skip, end)
    lengths = random_lengths(rng, 12, n, 3 * n)  # long enough to reach the last state
    frames = _frames(rng, lengths, n)
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    dense = ChainParams(startprob, transmat, endprob, sparse=False)
    sparse = ChainParams(startprob, transmat, endprob)
    assert sparse.sparse is not None and sparse.sparse.nnz == np.count_nonzero(transmat)
    assert_allclose(sparse.loglik(frames, offsets), dense.loglik(frames, offsets), rtol=1e-12)
    ll_s, post_s = sparse.posteriors(frames, offsets)
    ll_d, post_d = dense.posteriors(frames, offsets)
    assert_allclose(ll_s, ll_d, rtol=1e-12)
    assert_allclose(post_s, post_d, rtol=1e-10, atol=1e-13)
    lp_s, path_s = sparse.viterbi(frames, offsets)
    lp_d, path_d = dense.viterbi(frames, offsets)
    assert_allclose(lp_s, lp_d, rtol=1e-12)
    assert_array_equal(path_s, path_d)
    st_s, st_d = sparse.estep(frames, offsets), dense.estep(frames, offsets)
    for key in ("loglik", "start_counts", "trans_counts", "end_counts", "posteriors"):
        assert_allclose(st_s[key], st_d[key], rtol=1e-10, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("seed", range(8))
def test_sparse_against_brute_force(seed):
    rng = np.random.RandomState(seed)
    startprob, transmat, endprob = random_chain(rng, 3, zeros=0.5, end=seed % 2 == 1)
    frameprob = random_stochastic(rng, (6, 3))
    truth = brute_force(startprob, transmat, frameprob, endprob)
    chain = ChainParams(startprob, transmat, endprob, sparse=True)
    offsets = np.array([0, 6])
    frames = log(frameprob)
    assert_allclose(chain.loglik(frames, offsets), [truth["loglik"]], rtol=1e-12)
    lp, path = chain.viterbi(frames, offsets)
    assert_allclose(lp, [truth["viterbi_logprob"]], rtol=1e-12)
    if np.isfinite(truth["loglik"]):
        ll, post = chain.posteriors(frames, offsets)
        assert_allclose(post, truth["posteriors"], rtol=1e-10, atol=1e-14)
        stats = chain.estep(frames, offsets)
        assert_allclose(stats["trans_counts"], truth["xi_sum"], rtol=1e-10, atol=1e-14)


def test_functional_sparse_flag_and_threads():
    rng = np.random.RandomState(1)
    startprob, transmat, _ = left_to_right(50, rng, skip=True)
    lengths = random_lengths(rng, 200, 60, 120)
    frames = _frames(rng, lengths, 50)
    args = (log(startprob), transmat, frames, lengths)
    dense = hmm_core.forward(*args, sparse=False)
    assert_allclose(hmm_core.forward(*args, sparse=True), dense, rtol=1e-12)
    one = hmm_core.posteriors(*args, sparse=True, n_threads=1)
    two = hmm_core.posteriors(*args, sparse=True, n_threads=2)
    assert_array_equal(one[1], two[1])
    with pytest.raises(ValueError, match="sparse must be True, False or None"):
        hmm_core.forward(*args, sparse="yes")
