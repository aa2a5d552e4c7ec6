"""Python conventions: scikit-learn clone and GridSearchCV, callback, verbose, repr, str."""

import re

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from hmm_core import (  # noqa: E402
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
from hmm_core.emissions import (  # noqa: E402
    CategoricalEmission,
    GaussianEmission,
    PoissonEmission,
)

MODELS = [
    CategoricalHMM(3, n_features=4, emission_ties=[0, 0, 1], random_state=1),
    GaussianHMM(2, covariance_type="full", means_prior=np.zeros(2), random_state=0),
    GMMHMM(2, n_mix=3, covariance_type="tied"),
    PoissonHMM(2, lambdas_prior=0.5, training="viterbi"),
    MultinomialHMM(2, n_trials=5),
    IndependentHMM([(0, CategoricalEmission()), ([1], PoissonEmission())], n_components=2,
                   params="ste"),
    HigherOrderHMM(CategoricalHMM(2), order=2),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_clone_gives_an_equal_unfitted_model(model):
    copy = clone(model)
    assert type(copy) is type(model) and copy is not model
    assert repr(copy) == repr(model) and " object at " not in repr(model)
    for key, value in model.get_params(deep=False).items():
        other = copy.get_params(deep=False)[key]
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, other)
        elif key not in ("blocks", "model"):
            assert other == value


def test_clone_of_a_fitted_model_is_unfitted():
    X = np.random.RandomState(0).randint(0, 3, (50, 1))
    model = CategoricalHMM(2, random_state=0, n_iter=3).fit(X)
    copy = clone(model)
    assert getattr(copy, "startprob_", None) is None
    copy.fit(X)
    assert np.array_equal(copy.emissionprob_, model.emissionprob_)


def _three_regime_symbols(n_samples):
    true = CategoricalHMM(3, n_features=4)
    true.startprob_ = np.full(3, 1 / 3)
    true.transmat_ = np.full((3, 3), 0.025) + np.eye(3) * 0.925
    true.emissionprob_ = np.array([[0.85, 0.05, 0.05, 0.05],
                                   [0.05, 0.85, 0.05, 0.05],
                                   [0.05, 0.05, 0.05, 0.85]])
    return true.sample(n_samples, random_state=0)[0]


def test_grid_search_over_n_components():
    # One long sequence: contiguous folds keep most transitions intact.
    X = _three_regime_symbols(3000)
    search = GridSearchCV(CategoricalHMM(n_features=4, n_iter=100, n_init=3, random_state=0),
                          {"n_components": [1, 2, 3]}, cv=KFold(3), n_jobs=1)
    search.fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_ == {"n_components": 3}
    assert scores[0] < scores[1] < scores[2]
    assert search.best_estimator_.score(X) == pytest.approx(search.best_estimator_.score(X))


def test_pipeline_with_a_scaler_passes_lengths_as_y():
    # Pipeline.fit(X, y) hands y to the last step's second argument: lengths.
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal(3, 1, (100, 2))]) * 10
    lengths = [120, 80]
    pipe = make_pipeline(StandardScaler(), GaussianHMM(2, n_iter=5, random_state=0))
    pipe.fit(X, lengths)
    scaled = StandardScaler().fit_transform(X)
    alone = GaussianHMM(2, n_iter=5, random_state=0).fit(scaled, lengths)
    assert np.array_equal(pipe[-1].means_, alone.means_)
    assert pipe.score(X, lengths) == alone.score(scaled, lengths)
    assert np.array_equal(pipe.predict(X), alone.predict(scaled))
    assert np.array_equal(clone(pipe).fit(X, lengths)[-1].transmat_, alone.transmat_)


@pytest.mark.parametrize("chain", [MarkovChain(state_names=["a", "b", "c"], pseudocount=0.5),
                                   HigherOrderMarkovChain(order=3, n_states=2, random_state=4)],
                         ids=type)
def test_markov_chains_clone_and_set_params(chain):
    copy = clone(chain)
    assert type(copy) is type(chain) and repr(copy) == repr(chain)
    assert copy.get_params() == chain.get_params()
    assert copy.set_params(pseudocount=2.0) is copy and copy.pseudocount == 2.0
    with pytest.raises(ValueError, match="invalid parameter"):
        copy.set_params(colour="red")
    with pytest.raises(ValueError, match="pseudocount"):
        copy.set_params(pseudocount=-1)  # validated like the constructor


def test_grid_search_over_chain_settings():
    truth = MarkovChain.from_params([1 / 3] * 3, [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1],
                                                   [0.1, 0.1, 0.8]])
    seq = truth.sample(3000, random_state=0)
    search = GridSearchCV(MarkovChain(n_states=3), {"pseudocount": [0.1, 1.0, 1000.0]},
                          cv=KFold(3)).fit(seq)
    assert search.best_params_["pseudocount"] in (0.1, 1.0)
    assert search.cv_results_["mean_test_score"][2] < search.best_score_
    search = GridSearchCV(HigherOrderMarkovChain(n_states=3, pseudocount=0.5),
                          {"order": [1, 4]}, cv=KFold(3)).fit(seq)
    assert search.best_params_ == {"order": 1}  # the truth is first order


def test_higher_order_hmm_exposes_nested_parameters():
    model = HigherOrderHMM(CategoricalHMM(2, n_iter=3, random_state=0), order=2)
    params = model.get_params(deep=True)
    assert params["model__n_components"] == 2 and params["order"] == 2
    assert "model__n_components" not in model.get_params(deep=False)
    model.set_params(model__n_components=3, order=3)
    assert model.model.n_components == 3 and model.order == 3
    X = _three_regime_symbols(1500)
    search = GridSearchCV(HigherOrderHMM(CategoricalHMM(n_features=4, n_iter=30, n_init=2,
                                                        random_state=0), order=2),
                          {"model__n_components": [1, 3]}, cv=KFold(3)).fit(X)
    assert search.best_params_ == {"model__n_components": 3}


def test_random_state_follows_scikit_learn():
    X = np.random.RandomState(0).normal(size=(120, 2))
    # An int: every fit starts from the same initialisation.
    a = GaussianHMM(2, n_iter=3, random_state=0).fit(X)
    b = GaussianHMM(2, n_iter=3, random_state=0).fit(X)
    assert np.array_equal(a.means_, b.means_)
    # A RandomState instance is shared and advances: refitting differs.
    model = GaussianHMM(2, n_iter=3, random_state=np.random.RandomState(1))
    first = model.fit(X).means_.copy()
    assert not np.array_equal(first, model.fit(X).means_)
    # None: numpy's global RandomState.
    state = np.random.get_state()  # noqa: NPY002
    c = GaussianHMM(2, n_iter=3).fit(X).means_.copy()
    np.random.set_state(state)  # noqa: NPY002
    assert np.array_equal(c, GaussianHMM(2, n_iter=3).fit(X).means_)
    # sample(): the model's random_state unless one is given.
    sampler = CategoricalHMM(2, n_features=3, random_state=3).fit(
        np.random.RandomState(0).randint(0, 3, (60, 1)))
    assert np.array_equal(sampler.sample(20)[0], sampler.sample(20)[0])
    assert np.array_equal(sampler.sample(20, random_state=9)[0],
                          sampler.sample(20, random_state=np.random.RandomState(9))[0])


def test_callback_sees_every_iteration():
    X = np.random.RandomState(0).randint(0, 3, (200, 1))
    seen = []

    def callback(monitor):
        seen.append((monitor.iter, list(monitor.history)))

    model = CategoricalHMM(2, n_iter=7, tol=-np.inf, random_state=0, callback=callback).fit(X)
    assert [it for it, _ in seen] == list(range(1, 8))
    assert seen[-1][1] == model.monitor_.history
    assert model.get_params()["callback"] is callback
    # Restarts: each run reports from iteration 1 again.
    seen.clear()
    CategoricalHMM(2, n_iter=3, tol=-np.inf, n_init=2, random_state=0, callback=callback).fit(X)
    assert [it for it, _ in seen] == [1, 2, 3, 1, 2, 3]
    # A higher-order model passes its template's callback on.
    seen.clear()
    HigherOrderHMM(CategoricalHMM(2, n_iter=2, tol=-np.inf, callback=callback)).fit(X)
    assert len(seen) == 2


@pytest.mark.parametrize("cls,X", [
    (GaussianHMM, np.random.RandomState(1).normal(size=(60, 2))),
    (PoissonHMM, np.random.RandomState(1).poisson(3, (60, 2))),
    (GMMHMM, np.random.RandomState(1).normal(size=(60, 2))),
    (MultinomialHMM, np.random.RandomState(1).multinomial(4, [0.5, 0.5], 60)),
])
def test_every_model_takes_a_callback(cls, X):
    calls = []
    cls(2, n_iter=2, tol=-np.inf, random_state=0, callback=calls.append).fit(X)
    assert len(calls) == 2


def test_verbose_prints_iteration_loglik_delta_and_time(capsys):
    X = np.random.RandomState(0).randint(0, 3, (200, 1))
    CategoricalHMM(2, n_iter=3, tol=-np.inf, random_state=0, verbose=True).fit(X)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    for k, line in enumerate(lines, start=1):
        fields = line.split()
        assert int(fields[0]) == k and len(fields) == 4
        float(fields[1])
        float(fields[2])  # nan on the first line
        assert re.fullmatch(r"\d+\.\d{3}s", fields[3])


def test_repr_shows_only_non_default_settings():
    assert repr(CategoricalHMM()) == "CategoricalHMM()"
    assert repr(GaussianHMM(3, covariance_type="full", n_iter=50)) == \
        "GaussianHMM(n_components=3, covariance_type='full', n_iter=50)"
    assert repr(PoissonHMM(2, tol=0.01, verbose=False)) == "PoissonHMM(n_components=2)"
    assert repr(CategoricalHMM(transmat_prior=np.ones((1, 1)))).startswith(
        "CategoricalHMM(transmat_prior=array(")
    assert repr(MultinomialHMM(end_state=1)) == "MultinomialHMM(end_state=1)"
    assert repr(IndependentHMM([(0, CategoricalEmission())])) == \
        "IndependentHMM(blocks=[(0, CategoricalEmission())])"
    assert repr(IndependentHMM([([0, 1], GaussianEmission(covariance_type="full"))],
                               n_components=3)) == \
        "IndependentHMM(blocks=[([0, 1], GaussianEmission(covariance_type='full'))], " \
        "n_components=3)"


def test_str_summarises_a_fitted_model():
    X = np.random.RandomState(0).normal(size=(80, 2))
    model = GaussianHMM(2, n_iter=5, random_state=0)
    assert str(model) == repr(model)
    model.fit(X)
    text = str(model)
    assert text.startswith("GaussianHMM(n_components=2, random_state=0, n_iter=5)\n")
    assert "2 states, 2 features; fitted in" in text
    for name in ("startprob_ (2,)", "transmat_ (2, 2)", "means_ (2, 2)", "covars_ (2, 2)"):
        assert name in text
    blocks = IndependentHMM([(0, CategoricalEmission()), ([1], PoissonEmission())],
                            n_components=2, random_state=0, n_iter=2)
    blocks.fit(np.column_stack([np.random.RandomState(0).randint(0, 2, 50),
                                np.random.RandomState(1).poisson(2, 50)]))
    text = str(blocks)
    assert "block 0 emissionprob_ (2, 2)" in text and "block 1 lambdas_ (2, 1)" in text


def test_markov_chain_repr_and_str():
    chain = MarkovChain(state_names=["sun", "rain"], pseudocount=0.5)
    assert repr(chain) == "MarkovChain(n_states=None, state_names=['sun', 'rain'], " \
        "pseudocount=0.5)"
    assert str(chain) == repr(chain)
    chain.fit(["sun", "sun", "rain", "sun"])
    text = str(chain)
    assert text.splitlines()[:3] == [
        "MarkovChain(n_states=2, state_names=['sun', 'rain'], pseudocount=0.5)",
        "  2 states: sun, rain", "  startprob_"]
    assert "transmat_" in text
    high = HigherOrderMarkovChain(order=2).fit([0, 1, 0, 1, 1])
    assert "contexts seen in training: 1 of length 0, 1 of length 1, 2 of length 2" in \
        str(high)


def test_hmmlearn_code_runs_unchanged_with_the_import_swapped():
    hmmlearn_hmm = pytest.importorskip("hmmlearn.hmm")
    import hmm_core

    def user_code(hmm):
        rng = np.random.RandomState(0)
        X = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal(3, 1, (100, 2))])
        model = hmm.GaussianHMM(n_components=2, covariance_type="full", n_iter=20,
                                random_state=0, params="stmc", init_params="stmc")
        model.fit(X, [120, 80])
        logprob, states = model.decode(X, [120, 80])
        post = model.predict_proba(X, [120, 80])
        sample, _ = model.sample(10)
        return (model.means_.shape, model.covars_.shape, states.shape, post.shape,
                sample.shape, np.isfinite(logprob), model.monitor_.iter > 0)

    assert user_code(hmm_core) == user_code(hmmlearn_hmm)
