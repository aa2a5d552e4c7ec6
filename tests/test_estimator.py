"""The estimator base: one home per setting, shared parameters declared once, one
random-number convention, and the class registry of model files."""

import inspect

import numpy as np
import pytest

import hmm_core
from hmm_core import (
    GMMHMM,
    CategoricalHMM,
    GaussianHMM,
    HigherOrderHMM,
    HigherOrderMarkovChain,
    IndependentHMM,
    MarkovChain,
    MultinomialHMM,
    PoissonHMM,
)
from hmm_core.emissions import CategoricalEmission, GaussianEmission
from hmm_core.estimator import Estimator, random_source
from hmm_core.hmm.core import HMMCore
from hmm_core.io import codec

HMMS = [CategoricalHMM, GaussianHMM, GMMHMM, PoissonHMM, MultinomialHMM, IndependentHMM]
ESTIMATORS = HMMS + [HigherOrderHMM, MarkovChain, HigherOrderMarkovChain]


def _parameters(cls):
    return inspect.signature(cls.__init__).parameters


@pytest.mark.parametrize("cls", HMMS, ids=lambda c: c.__name__)
def test_shared_parameters_have_the_shared_defaults(cls):
    shared = _parameters(HMMCore)
    own = _parameters(cls)
    for name, param in own.items():
        if name in shared and name not in ("params", "init_params"):
            assert param.default == shared[name].default, name


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_docstring_documents_every_parameter_in_order(cls):
    doc = inspect.getdoc(cls)
    section = doc.split("Parameters\n----------\n", 1)[1].split("\n\n", 1)[0]
    headers = [line.split(" : ")[0] for line in section.splitlines() if line and line[0] != " "]
    documented = [name.strip() for header in headers for name in header.split(",")]
    names = [n for n in _parameters(cls) if n != "self"]
    assert documented == names
    assert issubclass(cls, Estimator)


def test_emission_settings_live_on_the_emission():
    model = GaussianHMM(2, covariance_type="full", covars_prior=0.5)
    emission = model._get_emission()
    assert emission.covariance_type == "full" and emission.covars_prior == 0.5
    model.set_params(min_covar=0.1)
    assert emission.min_covar == 0.1 and model.get_params()["min_covar"] == 0.1
    emission.means_prior = 2.0
    assert model.means_prior == 2.0
    copy = GaussianHMM(**model.get_params())
    assert copy._get_emission() is not emission and copy.covariance_type == "full"
    assert not hasattr(model, "_sync_emission")


def test_categorical_n_features_none_keeps_the_inferred_value():
    model = CategoricalHMM(2, random_state=0, n_iter=2).fit(np.array([[0], [1], [2], [1]]))
    assert model.n_features == 3
    model.n_features = None  # None means "infer": the known value stays
    assert model.n_features == 3
    model.n_features = 5
    assert model._get_emission().n_features == 5


def test_random_state_convention():
    assert random_source(None) is np.random.mtrand._rand
    assert random_source(None, generators=True) is np.random.mtrand._rand
    assert isinstance(random_source(3), np.random.RandomState)
    assert isinstance(random_source(3, generators=True), np.random.Generator)
    rs, gen = np.random.RandomState(1), np.random.default_rng(1)
    assert random_source(rs) is rs and random_source(rs, generators=True) is rs
    assert random_source(gen, generators=True) is gen
    with pytest.raises(ValueError, match="random_state must be"):
        random_source(gen)
    with pytest.raises(ValueError, match="random_state must be"):
        random_source("seed", generators=True)
    # A seeded chain draws what default_rng(seed) draws; a RandomState works too.
    chain = MarkovChain.from_params([0.5, 0.5], [[0.6, 0.4], [0.3, 0.7]], random_state=4)
    drawn = chain.sample(40)
    assert np.array_equal(drawn, chain.sample(40, random_state=np.random.default_rng(4)))
    assert np.array_equal(drawn, chain.sample(40))  # an int seeds afresh every time
    assert chain.sample(5, random_state=np.random.RandomState(0)).shape == (5,)
    # A seeded HMM draws what RandomState(seed) draws.
    model = CategoricalHMM(2, n_features=2, random_state=4)
    model.startprob_, model.transmat_ = np.array([0.5, 0.5]), np.array([[0.6, 0.4], [0.3, 0.7]])
    model.emissionprob_ = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert np.array_equal(model.sample(30)[1],
                          model.sample(30, random_state=np.random.RandomState(4))[1])


def test_parameter_constraints_are_checked_in_one_place():
    for cls in ESTIMATORS:
        assert isinstance(cls._parameter_constraints, dict)
    with pytest.raises(ValueError, match="n_init must be a positive integer"):
        CategoricalHMM(2, n_init=0)._check_settings()
    with pytest.raises(ValueError, match="order must be >= 1"):
        HigherOrderMarkovChain(order=0)
    chain = MarkovChain(n_states=np.int64(3), pseudocount=1)
    assert type(chain.n_states) is int and chain.pseudocount == 1.0


def test_only_hmm_core_classes_are_registered():
    for cls in ESTIMATORS:
        assert codec.registered("model", cls.__name__) is cls
    for cls in (CategoricalEmission, GaussianEmission):
        assert codec.registered("emission", cls.__name__) is cls
    for abstract in ("Estimator", "BaseHMM", "HMMCore", "ChainBase", "EmissionModel"):
        assert codec.registered("model", abstract) is None
        assert codec.registered("emission", abstract) is None

    class Outside(GaussianHMM):
        pass

    assert codec.registered("model", "Outside") is None
    with pytest.raises(ValueError, match="not one of hmm_core's model classes"):
        Outside(2).save("unused.npz")


def test_sklearn_tags_and_repr_through_the_base():
    pytest.importorskip("sklearn")
    assert HigherOrderHMM(CategoricalHMM(2)).__sklearn_tags__().input_tags.allow_nan
    assert MarkovChain().__sklearn_tags__().input_tags.string
    assert repr(HigherOrderHMM(CategoricalHMM(2))) == \
        "HigherOrderHMM(model=CategoricalHMM(n_components=2), order=2)"
    assert repr(hmm_core.HigherOrderMarkovChain()) == \
        "HigherOrderMarkovChain(order=2, n_states=None)"
