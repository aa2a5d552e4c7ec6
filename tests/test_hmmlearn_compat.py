"""hmmlearn conventions hmm_core follows (beyond what hmmlearn's own suite exercises)."""

import logging

import numpy as np
import pytest

import hmm_core
from hmm_core import GMMHMM, CategoricalHMM, GaussianHMM, MultinomialHMM, PoissonHMM
from hmm_core.hmm.monitor import ConvergenceMonitor

X2 = np.random.RandomState(0).normal(size=(120, 2)) + np.repeat([[0, 0], [4, 4]], 60, axis=0)


@pytest.mark.parametrize("call", ["predict", "score", "decode", "sample"])
def test_not_fitted_error_is_value_and_attribute_error(call):
    model = GaussianHMM(2)
    with pytest.raises(hmm_core.NotFittedError) as info:
        getattr(model, call)(*(() if call == "sample" else (X2,)))
    assert isinstance(info.value, ValueError) and isinstance(info.value, AttributeError)
    assert "fit the model or assign it" in str(info.value)


def test_not_fitted_error_from_an_emission_parameter():
    model = GMMHMM(2, n_mix=2)
    model.startprob_, model.transmat_ = np.full(2, 0.5), np.full((2, 2), 0.5)
    with pytest.raises(hmm_core.NotFittedError, match="weights_ is not set"):
        model.score(X2)


def test_monitor_exists_before_fit_with_the_current_settings():
    model = GaussianHMM(2, tol=0.5, n_iter=7)
    assert (model.monitor_.tol, model.monitor_.n_iter, model.monitor_.iter) == (0.5, 7, 0)
    model.tol = 0.25  # hmm_core's own monitor follows the settings at fit time
    model.fit(X2)
    assert model.monitor_.tol == 0.25 and model.monitor_.iter >= 1


def test_fit_uses_a_monitor_set_by_the_user():
    class Counting(ConvergenceMonitor):
        reports = 0

        def report(self, log_prob):
            type(self).reports += 1
            super().report(log_prob)

    model = GaussianHMM(2, n_iter=4, tol=-np.inf, random_state=0)
    monitor = Counting(tol=-np.inf, n_iter=4)
    monitor.history = [1.0]  # reset by fit
    model.monitor_ = monitor
    model.fit(X2)
    model.fit(X2)
    assert model.monitor_ is monitor and Counting.reports == 8 and monitor.iter == 4


def test_parameters_set_by_hand_that_init_params_overwrites_are_logged(caplog):
    model = GaussianHMM(2, random_state=0, n_iter=2)
    model.means_ = np.zeros((2, 2))
    with caplog.at_level(logging.WARNING, logger="hmm_core"):
        model.fit(X2)
    messages = [r.getMessage() for r in caplog.records]
    assert any("'means_' attribute is set, it will be overwritten" in m for m in messages)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hmm_core"):
        GaussianHMM(2, random_state=0, n_iter=2).fit(X2)
    assert not caplog.records


def test_more_free_parameters_than_data_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="hmm_core"):
        GaussianHMM(3, "full", random_state=0, n_iter=1).fit(X2[:4])
    assert any("degenerate solution" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("value", [[[1.0], [2.0]], [[[[1.0]]], [[[2.0]]]]])
def test_spherical_covars_in_column_shapes(value):
    model = GaussianHMM(2, "spherical")
    model.covars_ = value
    np.testing.assert_array_equal(model._covars_, [1.0, 2.0])


def test_multinomial_positional_arguments_in_hmmlearns_order():
    model = MultinomialHMM(2, 5, 1.0, 1.0, "map")
    assert model.algorithm == "map" and model.emissionprob_prior == 1.0


@pytest.mark.parametrize("make,X,Y", [
    (lambda: GaussianHMM(2, random_state=0, n_iter=3), X2, np.hstack([X2, X2[:, :1]])),
    (lambda: GMMHMM(2, n_mix=2, random_state=0, n_iter=3), X2, np.hstack([X2, X2[:, :1]])),
    (lambda: PoissonHMM(2, random_state=0, n_iter=3), np.ones((30, 2), int),
     np.ones((30, 3), int)),
    (lambda: MultinomialHMM(2, n_trials=4, random_state=0, n_iter=3),
     np.tile([[2, 2]], (30, 1)), np.tile([[2, 1, 1]], (30, 1))),
])
def test_other_feature_count_reinitialises_when_init_params_says_so(make, X, Y):
    model = make().fit(X)
    model.fit(Y)
    assert model.n_features == Y.shape[1]
    model.init_params = "st"  # emission parameters kept: the data must match them
    with pytest.raises(ValueError):
        model.fit(X)


def test_gmm_initialisation_does_not_depend_on_sequence_order():
    rng = np.random.RandomState(1)
    seqs = [rng.normal(size=(40, 2)) + rng.choice([0.0, 3.0]) for _ in range(5)]
    scores = []
    for order in ([0, 1, 2, 3, 4], [4, 2, 0, 3, 1], [3, 4, 1, 0, 2]):
        X = np.concatenate([seqs[i] for i in order])
        model = GMMHMM(2, n_mix=2, random_state=5, n_iter=20).fit(X, [40] * 5)
        scores.append(model.score(X, [40] * 5))
    np.testing.assert_allclose(scores, scores[0], rtol=1e-9)


def test_stationary_distribution():
    model = CategoricalHMM(3)
    model.transmat_ = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.0, 0.5, 0.5]])
    pi = model.get_stationary_distribution()
    np.testing.assert_allclose(pi @ model.transmat_, pi, atol=1e-12)
    np.testing.assert_allclose(pi.sum(), 1.0)
    chain = hmm_core.MarkovChain.from_params(np.full(3, 1 / 3), model.transmat_)
    np.testing.assert_allclose(pi, chain.stationary_distribution(), atol=1e-10)
    with pytest.raises(hmm_core.NotFittedError):
        CategoricalHMM(2).get_stationary_distribution()
