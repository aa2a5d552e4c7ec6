"""Custom emissions: hmm_core's EmissionModel route (savable) and hmmlearn's method route."""

import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest
from scipy.special import logsumexp

import hmm_core
from hmm_core.hmm.base import BaseHMM
from hmm_core.io import codec

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_emission.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("custom_emission_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data(example, n=1500):
    truth = example.ExponentialHMM(2, init_params="")
    truth.startprob_ = np.array([0.5, 0.5])
    truth.transmat_ = np.array([[0.95, 0.05], [0.05, 0.95]])
    truth.rates_ = np.array([4.0, 0.4])
    return truth.sample(n, random_state=0)


def test_example_runs_end_to_end(example, capsys):
    model = example.main(n_frames=800)
    out = capsys.readouterr().out
    assert "saved and loaded: ExponentialHMM, same score: True" in out
    assert model.rates_.shape == (2,)


def test_exponential_emission_fits_scores_samples(example):
    X, states = _data(example)
    model = example.ExponentialHMM(2, n_iter=100, tol=1e-8, random_state=0).fit(X)
    np.testing.assert_allclose(np.sort(model.rates_), [0.4, 4.0], rtol=0.15)
    # the score is the forward algorithm over the emission's own densities
    frames = np.log(model.rates_) - X * model.rates_
    alpha = np.log(model.startprob_) + frames[0]
    for row in frames[1:]:
        alpha = logsumexp(alpha[:, None] + np.log(model.transmat_), axis=0) + row
    assert np.isclose(model.score(X), logsumexp(alpha), rtol=1e-12)
    sample, path = model.sample(50, random_state=3)
    assert sample.shape == (50, 1) and np.all(sample >= 0) and path.shape == (50,)
    assert model.bic(X) > -2 * model.score(X)


def test_registered_classes_save_and_load(example, tmp_path):
    X, _ = _data(example, 300)
    model = example.ExponentialHMM(2, rates_prior=0.5, n_iter=5, random_state=0).fit(X)
    model.save(tmp_path / "m.npz")
    loaded = hmm_core.load(tmp_path / "m.npz")
    assert type(loaded) is example.ExponentialHMM and loaded.rates_prior == 0.5
    np.testing.assert_array_equal(loaded.rates_, model.rates_)
    assert loaded.score(X) == model.score(X)
    meta = hmm_core.io.modelfile.read_metadata(tmp_path / "m.npz")
    assert meta["class"] == "custom_emission_example:ExponentialHMM"


def test_loading_an_unregistered_class_says_how_to_register(example, tmp_path, monkeypatch):
    X, _ = _data(example, 200)
    example.ExponentialHMM(2, n_iter=2, random_state=0).fit(X).save(tmp_path / "m.npz")
    monkeypatch.delitem(codec._REGISTRY["model"], "custom_emission_example:ExponentialHMM")
    with pytest.raises(ValueError, match=r"not registered: import it and call "
                                         r"hmm_core.register"):
        hmm_core.load(tmp_path / "m.npz")


def test_saving_an_unregistered_class_says_how_to_register(example, tmp_path):
    class UnregisteredHMM(example.ExponentialHMM):
        pass

    X, _ = _data(example, 200)
    model = UnregisteredHMM(2, n_iter=2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"not one of hmm_core's model classes and is not "
                                         r"registered; call hmm_core.register\(UnregisteredHMM\)"):
        model.save(tmp_path / "m.npz")


def test_a_registered_emission_is_savable_inside_independent_hmm(example, tmp_path):
    class Waits(example.ExponentialEmission):
        pass

    X, _ = _data(example, 300)
    counts = np.random.RandomState(0).poisson(3.0, (300, 1))
    data = np.hstack([X, counts])
    blocks = [(0, Waits(rates_prior=0.1)), (1, hmm_core.emissions.PoissonEmission())]
    model = hmm_core.IndependentHMM(blocks, n_components=2, n_iter=3, random_state=0)
    model.fit(data)
    with pytest.raises(ValueError, match=r"Waits is not one of hmm_core's emission classes "
                                         r"and is not registered; call hmm_core.register\(Waits\)"):
        model.save(tmp_path / "m.npz")
    hmm_core.register(Waits)
    model.save(tmp_path / "m.npz")
    loaded = hmm_core.load(tmp_path / "m.npz")
    assert loaded.score(data) == model.score(data)


@pytest.mark.parametrize("bad", [int, 3, np.ndarray, BaseHMM])
def test_register_takes_emission_or_model_classes_only(bad):
    if bad is BaseHMM:  # hmm_core's own classes need no registration
        assert hmm_core.register(bad) is bad
        return
    with pytest.raises(TypeError, match="register takes"):
        hmm_core.register(bad)


# ------------------------------------------------------ hmmlearn's method route
class MethodExponentialHMM(BaseHMM):
    """An exponential HMM written the hmmlearn way: overridden methods, state on the model."""

    def _init(self, X, lengths=None):
        super()._init(X, lengths)
        if "r" in self.init_params or getattr(self, "rates_", None) is None:
            self.rates_ = np.array([2.0, 0.2])[:self.n_components]

    def _compute_log_likelihood(self, X):
        return np.log(self.rates_) - X * self.rates_

    def _generate_sample_from_state(self, state, random_state):
        return [random_state.exponential(1.0 / self.rates_[state])]

    def _initialize_sufficient_statistics(self):
        stats = super()._initialize_sufficient_statistics()
        stats["mass"] = np.zeros(self.n_components)
        stats["time"] = np.zeros(self.n_components)
        return stats

    def _accumulate_sufficient_statistics(self, stats, X, lattice, posteriors, fwdlattice,
                                          bwdlattice):
        super()._accumulate_sufficient_statistics(stats, X, lattice, posteriors, fwdlattice,
                                                  bwdlattice)
        stats["mass"] += posteriors.sum(axis=0)
        stats["time"] += X[:, 0] @ posteriors

    def _do_mstep(self, stats):
        super()._do_mstep(stats)
        if "r" in self.params:
            self.rates_ = stats["mass"] / stats["time"]


def test_hmmlearn_method_route_fits_like_the_emission_route(example):
    X, _ = _data(example)
    lengths = [500, 1000]
    ours = example.ExponentialHMM(2, n_iter=20, tol=-np.inf, init_params="st",
                                  random_state=0)
    ours.rates_ = np.array([2.0, 0.2])
    ours.fit(X, lengths)
    theirs = MethodExponentialHMM(2, n_iter=20, tol=-np.inf, params="str", init_params="st",
                                  random_state=0).fit(X, lengths)
    np.testing.assert_allclose(theirs.rates_, ours.rates_, rtol=1e-10)
    np.testing.assert_allclose(theirs.transmat_, ours.transmat_, rtol=1e-10)
    assert np.isclose(theirs.score(X, lengths), ours.score(X, lengths))
    sample, path = theirs.sample(20, random_state=0)
    assert sample.shape == (20, 1) and path.shape == (20,)


def test_hmmlearn_method_route_cannot_be_saved(example, tmp_path):
    X, _ = _data(example, 200)
    model = MethodExponentialHMM(2, n_iter=2, params="str", init_params="str").fit(X)
    with pytest.raises(ValueError, match="MethodExponentialHMM: not one of hmm_core's model"):
        model.save(tmp_path / "m.npz")
    hmm_core.register(MethodExponentialHMM)
    with pytest.raises(TypeError, match="write an hmm_core.emissions.EmissionModel"):
        model.save(tmp_path / "m.npz")


def test_hmmlearn_method_route_checks_the_likelihood_shape():
    class Wrong(BaseHMM):
        def _compute_log_likelihood(self, X):
            return np.zeros((len(X), 5))

    model = Wrong(2)
    model.startprob_, model.transmat_ = np.full(2, 0.5), np.full((2, 2), 0.5)
    with pytest.raises(ValueError, match=r"returned shape \(3, 5\), expected \(3, 2\)"):
        model.score(np.zeros((3, 1)))


def test_a_model_without_emission_says_so(caplog):
    with caplog.at_level(logging.WARNING):
        with pytest.raises(NotImplementedError, match="names no emission model"):
            BaseHMM.__new__(type("NoEmission", (BaseHMM,), {}))._get_emission()


def test_hmmlearn_method_route_copies_and_pickles(example):
    import copy
    import pickle

    X, _ = _data(example, 300)
    model = MethodExponentialHMM(2, n_iter=3, params="str", init_params="str",
                                 random_state=0).fit(X)
    for other in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert other.score(X) == model.score(X)
        rates = model.rates_.copy()
        other.fit(X[:100])  # trains the copy, not the original
        np.testing.assert_array_equal(model.rates_, rates)
        assert other._get_emission().model is other
