"""Worked examples from the textbooks this project follows."""

import numpy as np
from numpy.testing import assert_allclose

import hmm_core
from hmm_core import CategoricalHMM

START = np.array([0.4, 0.6])  # Rainy, Sunny
TRANS = np.array([[0.6, 0.4], [0.2, 0.8]])
EMIT = np.array([[0.3, 0.45, 0.2, 0.05], [0.4, 0.1, 0.2, 0.3]])  # PAINT CLEAN SHOP BIKE
OBS = np.array([0, 1, 2, 3])


def rainy_sunny_model():
    model = CategoricalHMM(n_components=2)
    model.startprob_ = START
    model.transmat_ = TRANS
    model.emissionprob_ = EMIT
    return model


def test_rainy_sunny_likelihood():
    model = rainy_sunny_model()
    assert_allclose(np.exp(model.score(OBS[:, None])), 0.003156, rtol=1e-12)


def test_rainy_sunny_viterbi():
    logprob, path = rainy_sunny_model().decode(OBS[:, None])
    assert_allclose(np.exp(logprob), 0.00073728, rtol=1e-12)
    assert path.tolist() == [1, 1, 1, 1]


def test_rainy_sunny_posteriors():
    post = rainy_sunny_model().predict_proba(OBS[:, None])
    assert_allclose(post[:, 1], [0.53992395, 0.34980989, 0.64638783, 0.90342205], atol=5e-9)


def test_rainy_sunny_functional_api():
    frames = np.log(EMIT[:, OBS].T)
    loglik = hmm_core.forward(np.log(START), TRANS, frames)
    assert_allclose(np.exp(loglik), [0.003156], rtol=1e-12)


def test_start_and_final_states():
    # start -> (q1, q2) = (0.3, 0.7); q1 -> (q1, q2, F) = (0.2, 0.4, 0.4);
    # q2 -> (q1, q2, F) = (0.3, 0.5, 0.2); b1 = (0.7, 0.5), b2 = (0.6, 0.6).
    transmat = np.array([[0.2, 0.4], [0.3, 0.5]])
    frames = np.log([[0.7, 0.6], [0.5, 0.6]])
    loglik = hmm_core.forward(np.log([0.3, 0.7]), transmat, frames,
                              log_endprob=np.log([0.4, 0.2]))
    assert_allclose(np.exp(loglik), [0.06888], rtol=1e-12)
