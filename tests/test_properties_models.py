"""Properties of every model class: queries, fits, sampling and hostile observations.

Random models of every family (categorical, Gaussian with each covariance
type, GMM, Poisson, multinomial, independent blocks, higher order) with
random parameters, settings and data: queries agree with the NumPy
reference on frame scores computed independently (SciPy formulas) and with
brute force, fits leave stochastic parameters without NaN, and a bad
observation, length or sampling argument raises ValueError or TypeError
naming it.
"""

import numpy as np
import pytest
from _props import (
    HOSTILE_LENGTHS,
    KINDS,
    attempt,
    check_loglik,
    check_paths,
    check_posteriors,
    check_stochastic,
    log,
    must_succeed,
    offsets_of,
    props,
    random_data,
    random_model,
    reference_frames,
)
from brute_force import brute_force
from hypothesis import event, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from hmm_core import CategoricalHMM, HigherOrderHMM, PoissonHMM
from hmm_core.testing import reference

RTOL, ATOL = 1e-10, 1e-12


@st.composite
def models_and_data(draw, kinds=KINDS, max_n=3, max_seq=3, max_len=6, missing=True):
    """(kind, model with random parameters, X, lengths)."""
    kind = draw(st.sampled_from(kinds))
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.RandomState(seed)
    zeros = draw(st.sampled_from([0.0, 0.3]))
    end = draw(st.booleans())
    model = random_model(kind, n, rng, end=end, zeros=zeros)
    lengths = draw(st.lists(st.integers(1, max_len), min_size=1, max_size=max_seq))
    share = draw(st.sampled_from([0.0, 0.3, 0.9])) if missing else 0.0
    if kind == "multinomial":
        share = 0.0
    X = random_data(kind, rng, sum(lengths), missing=share)
    return kind, model, X, lengths


def _queries(model, X, lengths, k=3):
    """Every query of a model; none may raise on valid input."""
    out = {"score_sequences": model.score_sequences(X, lengths),
           "score": model.score(X, lengths),
           "score_samples": model.score_samples(X, lengths),
           "predict_proba": model.predict_proba(X, lengths),
           "predict": model.predict(X, lengths),
           "viterbi": model.decode_sequences(X, lengths, algorithm="viterbi"),
           "map": model.decode_sequences(X, lengths, algorithm="map"),
           "decode": model.decode(X, lengths, algorithm="map"),
           "kbest": model.decode_kbest(X, lengths, k=k),
           "aic": model.aic(X, lengths),
           "bic": model.bic(X, lengths)}
    return out


def _check_queries(out, n, offsets, k=3, algorithm="viterbi"):
    ll = out["score_sequences"]
    check_loglik(ll)
    assert not np.isnan(out["score"]) and out["score"] < np.inf
    assert_allclose(out["score"], ll.sum(), rtol=1e-12, atol=ATOL)
    total, post = out["score_samples"]
    assert not np.isnan(total)
    check_posteriors(post, ll, offsets, n)
    assert np.array_equal(post, out["predict_proba"])
    vit, path = out["viterbi"]
    check_paths(vit, path, offsets, n, ll)
    assert np.array_equal(out["predict"], out[algorithm][1])  # the model's decoder
    map_logprob, map_path = out["map"]
    check_paths(np.where(np.isfinite(ll), 0.0, -np.inf), map_path, offsets, n)
    assert not np.isnan(map_logprob).any()
    finite = np.isfinite(vit)
    assert np.all(map_logprob[finite] <= vit[finite] + 1e-9 * np.abs(vit[finite]) + 1e-9)
    assert np.all(map_logprob[~finite] == -np.inf)
    kb_logprob, kb_paths = out["kbest"]
    assert kb_logprob.shape == (k, len(ll)) and not np.isnan(kb_logprob).any()
    assert np.all(kb_logprob[:-1] >= kb_logprob[1:])
    assert_allclose(kb_logprob[0], vit, rtol=RTOL, atol=ATOL)
    for name in ("aic", "bic"):
        assert not np.isnan(out[name]) and out[name] > -np.inf, (name, out[name])


# ------------------------------------------------------------------- agreement
@pytest.mark.parametrize("kind", KINDS)
@props(80)
@given(st.data())
def test_queries_agree_with_the_reference_on_independent_frame_scores(kind, data):
    kind, model, X, lengths = data.draw(models_and_data(kinds=(kind,)))
    n = model.n_components
    out = must_succeed(lambda: _queries(model, X, lengths))
    offsets = offsets_of(lengths, len(X))
    _check_queries(out, n, offsets, algorithm=model.algorithm)
    frames = reference_frames(model, X)
    log_start, log_end = log(model.startprob_), None
    if getattr(model, "endprob_", None) is not None:
        log_end = log(model.endprob_)
    ref_ll, ref_post = reference.posteriors(log_start, model.transmat_, frames, offsets,
                                            log_end, exact=True)
    assert_allclose(out["score_sequences"], ref_ll, rtol=RTOL, atol=ATOL)
    assert_allclose(out["predict_proba"], ref_post, rtol=RTOL, atol=ATOL)
    ref_vit = reference.viterbi(log_start, model.transmat_, frames, offsets, log_end)[0]
    vit, path = out["viterbi"]
    assert_allclose(vit, ref_vit, rtol=RTOL, atol=ATOL)
    assert_allclose(reference.map_path_logprob(log_start, model.transmat_, frames, offsets,
                                               path, log_end), vit, rtol=RTOL, atol=ATOL)
    map_logprob, map_path = out["map"]
    assert_allclose(reference.map_path_logprob(log_start, model.transmat_, frames, offsets,
                                               map_path, log_end), map_logprob,
                    rtol=RTOL, atol=ATOL)
    # Brute force on the small sequences.
    start, end = model.startprob_, getattr(model, "endprob_", None)
    for s, (a, b) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
        if n ** (b - a) > 800 or ref_ll[s] < -500:
            continue  # too many paths, or path probabilities in the denormals
        bf = brute_force(start, model.transmat_, np.exp(frames[a:b]), end)
        assert_allclose(out["score_sequences"][s], bf["loglik"], rtol=1e-9, atol=ATOL)
        assert_allclose(out["predict_proba"][a:b], bf["posteriors"], rtol=1e-9, atol=1e-10)
        assert_allclose(vit[s], bf["viterbi_logprob"], rtol=1e-9, atol=ATOL)


# ------------------------------------------------------------------------ fits
LETTERS = {"categorical": "ste", "poisson": "stl", "multinomial": "ste", "independent": "stel"}


def _letters(kind):
    return "stmcw" if kind.startswith("gmm") else LETTERS.get(kind, "stmc")


@st.composite
def fit_settings(draw, kind, n):
    letters = _letters(kind)
    subset = st.lists(st.sampled_from(letters), unique=True).map("".join)
    settings = {
        "n_iter": draw(st.integers(0, 4)),
        "n_init": draw(st.integers(1, 2)),
        "tol": draw(st.sampled_from([1e-2, 0.0, -np.inf, 1e-8, 10.0])),
        "end_state": draw(st.booleans()),
        "params": draw(subset),
        "init_params": draw(st.one_of(st.just(letters), subset)),
        "algorithm": draw(st.sampled_from(["viterbi", "map"])),
        "random_state": draw(st.one_of(st.integers(0, 2**32 - 1),
                                       st.integers(0, 100).map(np.random.RandomState))),
        "n_threads": draw(st.sampled_from([None, 1, 2])),
        "startprob_prior": draw(st.sampled_from([1.0, 0.5, 2.0, np.linspace(1, 2, n)])),
        "transmat_prior": draw(st.sampled_from([1.0, 0.7, 3.0, np.full((n, n), 1.5)])),
        "endprob_prior": draw(st.sampled_from([1.0, 2.0])),
    }
    if kind in ("categorical", "poisson", "multinomial", "independent"):
        settings["training"] = draw(st.sampled_from(["baum-welch", "viterbi"]))
    return settings


def _check_fitted(model, kind):
    end = getattr(model, "endprob_", None)
    check_stochastic(model.startprob_, "startprob_")
    check_stochastic(model.transmat_, "transmat_", plus=end)
    if end is not None:
        assert not np.isnan(end).any() and end.min() >= 0 and end.max() <= 1
    emissions = model.emissions_ if kind == "independent" else [model._get_emission()]
    for emission in emissions:
        for name, value in vars(emission).items():
            if name.endswith("_") and not name.startswith("_") and value is not None:
                assert not np.isnan(np.asarray(value, dtype=float)).any(), f"NaN in {name}"
    for name in ("emissionprob_", "weights_"):
        for emission in emissions:
            if getattr(emission, name, None) is not None:
                check_stochastic(getattr(emission, name), name)


@pytest.mark.parametrize("kind", KINDS)
@props(80)
@given(st.data())
def test_fits_leave_sound_parameters(kind, data):
    kind, template, X, lengths = data.draw(models_and_data(kinds=(kind,), max_len=8))
    n = template.n_components
    settings = data.draw(fit_settings(kind, n))
    model = template
    has_end = getattr(model, "endprob_", None) is not None
    if settings["end_state"] != has_end:
        if "t" not in settings["init_params"]:
            settings["end_state"] = has_end  # kept transitions keep their end state
        elif has_end:
            # A model leaving its end state drops endprob_ (keeping it: a separate property).
            model.endprob_ = None
    if settings["end_state"]:
        settings["n_init"] = 1  # restarts with an end state: a separate property
    model.set_params(**settings)
    model, exc = attempt(lambda: model.fit(X, lengths), {"X", "sequence"})
    event(f"fit refused: {str(exc)[:40]}" if exc is not None else f"fitted {kind}")
    if exc is not None:
        return
    _check_fitted(model, kind)
    offsets = offsets_of(lengths, len(X))
    out = must_succeed(lambda: _queries(model, X, lengths))
    _check_queries(out, n, offsets, algorithm=model.algorithm)
    history = model.monitor_.history
    assert not np.isnan(history).any()


@props(80)
@given(models_and_data(kinds=("categorical", "poisson", "gaussian-diag"), max_len=8),
       st.data())
def test_supervised_fits_leave_sound_parameters(case, data):
    kind, model, X, lengths = case
    n = model.n_components
    states = np.asarray(data.draw(st.lists(st.integers(-1, n - 1), min_size=len(X),
                                           max_size=len(X))))
    model.set_params(n_iter=2, init_params="", end_state=model.__dict__.get("endprob_")
                     is not None)
    fitted, exc = attempt(lambda: model.fit(X, lengths, states=states),
                          {"states", "sequence", "X"})
    if exc is None:
        _check_fitted(fitted, kind)


# --------------------------------------------------------- hostile observations
def _hostile_X(kind, X, data, ragged=False, huge=True):
    """A hostile observation array for a model of family ``kind`` (valid ``X`` given).

    Ragged lists get numpy's message, without the name ``X``: only with ``ragged``.
    """
    X = np.asarray(X)
    choices = [None, "x", {}, np.zeros(X.shape, dtype=object),
               np.zeros(X.shape, dtype=np.complex128), np.float64(1.0),
               np.zeros((2, 2, 2)), np.zeros((0,) + X.shape[1:]),
               np.full(X.shape, np.inf), np.full(X.shape, -np.inf),
               np.zeros((X.shape[0], X.shape[1] + 1)), np.array(["a"] * X.shape[0])]
    if ragged:
        choices.append([[0.0, 1.0], [1.0]])
    if kind == "categorical":
        choices += [X + 0.5, X - 3, np.full(X.shape, 99), np.full(X.shape, np.nan),
                    np.full(X.shape, 1e300)]
    elif kind == "poisson":
        choices += [X - 10.5, -np.ones(X.shape), X + 0.5, np.full(X.shape, 1e300)]
    elif kind == "multinomial":
        choices += [X + 1, -X, X + 0.5, np.full(X.shape, np.nan), X * 1e300]
    elif kind == "independent":
        choices += [np.column_stack([X[:, 0] + 0.5, X[:, 1]]),
                    np.column_stack([X[:, 0], -X[:, 1] - 1]),
                    np.column_stack([np.full(len(X), 99), X[:, 1]])]
    elif huge:
        choices += [np.full(X.shape, 1e300), np.full(X.shape, -1e300)]
    return data.draw(st.sampled_from(choices))


def _n_rows(X):
    return len(X) if np.ndim(X) > 0 and not isinstance(X, (str, dict)) else 1


QUERIES = ("score", "score_sequences", "predict", "predict_proba", "decode", "decode_kbest",
           "aic", "bic", "fit")


@pytest.mark.parametrize("kind", KINDS)
@props(80)
@given(st.data())
def test_hostile_observations_and_lengths_are_refused_by_name(kind, data):
    kind, model, X, lengths = data.draw(models_and_data(kinds=(kind,), max_seq=2, max_len=4,
                                                        missing=False))
    which = data.draw(st.sampled_from(["X", "lengths", "both"]))
    names = set()
    if which in ("X", "both"):
        # Huge values overflow the full and tied Gaussian scores (a separate property).
        X = _hostile_X(kind, X, data, huge=kind.split("-")[-1] not in ("full", "tied"))
        names |= {"X"}
    if which in ("lengths", "both"):
        lengths = data.draw(st.one_of(st.sampled_from(HOSTILE_LENGTHS),
                                      st.just([_n_rows(X) + 1])))
        names |= {"lengths"}
    method = data.draw(st.sampled_from(QUERIES))
    model.set_params(n_iter=2)
    result, exc = attempt(lambda: getattr(model, method)(X, lengths), names)
    if exc is None and method in ("score", "aic", "bic"):
        assert not np.isnan(result)
    elif exc is None and method == "score_sequences":
        check_loglik(result)
    elif exc is None and method == "predict_proba":
        assert not np.isnan(result).any()


@pytest.mark.parametrize("kind", KINDS)
@props(30)
@given(st.data())
def test_observation_spellings_give_the_same_result(kind, data):
    kind, model, X, lengths = data.draw(models_and_data(kinds=(kind,), max_seq=2, max_len=6))
    spelling = data.draw(st.sampled_from(["list", "fortran", "strided", "int", "float32"]))
    X = np.asarray(X)
    if spelling == "list":
        given_X, same = X.tolist(), X
    elif spelling == "fortran":
        given_X, same = np.asfortranarray(X), X
    elif spelling == "strided":
        big = np.zeros((X.shape[0] * 2, X.shape[1] * 2), dtype=X.dtype)
        big[::2, ::2] = X
        given_X, same = big[::2, ::2], X
    elif spelling == "int":
        if np.isnan(np.asarray(X, dtype=float)).any():
            return
        given_X = X.astype(np.int32)
        same = given_X.astype(np.float64) if X.dtype.kind == "f" else given_X.astype(X.dtype)
    else:
        given_X = X.astype(np.float32)
        same = given_X.astype(np.float64)
        if kind in ("categorical",):
            same = same.astype(np.int64)
    got = must_succeed(lambda: _queries(model, given_X, lengths))
    want = must_succeed(lambda: _queries(model, same, lengths))
    assert np.array_equal(got["score_sequences"], want["score_sequences"])
    assert np.array_equal(got["predict_proba"], want["predict_proba"])
    assert np.array_equal(got["viterbi"][1], want["viterbi"][1])


# --------------------------------------------------------------------- sampling
@pytest.mark.parametrize("kind", KINDS)
@props(40)
@given(st.integers(1, 25), st.data())
def test_samples_are_possible_sequences_of_the_model(kind, n_samples, data):
    kind, model, _, _ = data.draw(models_and_data(kinds=(kind,), max_seq=1, missing=False))
    n = model.n_components
    currstate = data.draw(st.one_of(st.none(), st.integers(0, n - 1)))
    seed = data.draw(st.integers(0, 2**32 - 1))
    X, states = must_succeed(lambda: model.sample(n_samples, random_state=seed,
                                                  currstate=currstate))
    assert len(X) == n_samples and states.shape == (n_samples,)
    assert states.min() >= 0 and states.max() < n
    if currstate is not None:
        assert states[0] == currstate
    assert not np.isnan(np.asarray(X, dtype=float)).any()
    # The sampled states are a possible path of the sampled frames (without the end term).
    frames = reference_frames(model, X)
    log_start = log(model.startprob_) if currstate is None else np.zeros(n)
    transmat = np.asarray(model.transmat_)
    logprob = reference.map_path_logprob(log_start, transmat, frames,
                                         np.array([0, n_samples]), states)
    assert logprob[0] > -np.inf
    again = model.sample(n_samples, random_state=seed, currstate=currstate)
    assert np.array_equal(again[1], states) and np.array_equal(again[0], X)


@pytest.mark.parametrize("kind", KINDS)
@props(30)
@given(st.data())
def test_hostile_sampling_arguments_are_refused_by_name(kind, data):
    kind, model, _, _ = data.draw(models_and_data(kinds=(kind,), max_seq=1, missing=False))
    n = model.n_components
    args = {"n_samples": 3, "random_state": 0, "currstate": None}
    # (True, 10**30 samples, seeds outside 0..2**32-1 and non-integer states are refused
    # without naming the argument today: a separate property.)
    hostile = {
        "n_samples": [0, -1, 2.5, "3", None, np.nan, [3], np.float64(3.0), -(2**63)],
        "random_state": ["x", 1.5, [1, 2, 3], object()],
        "currstate": [-1, n, np.nan, 10**30, -(10**30)],
    }
    name = data.draw(st.sampled_from(sorted(hostile)))
    args[name] = data.draw(st.sampled_from(hostile[name]))
    result, exc = attempt(lambda: model.sample(**args), {name})
    if exc is None:
        X, states = result
        assert states.min() >= 0 and states.max() < n
        assert not np.isnan(np.asarray(X, dtype=float)).any()


# ------------------------------------------------------------------ higher order
@props(50)
@given(st.sampled_from(["categorical", "poisson"]), st.integers(1, 2), st.integers(1, 3),
       st.integers(0, 2**32 - 1), st.lists(st.integers(1, 8), min_size=1, max_size=3),
       st.booleans())
def test_higher_order_models_fit_score_decode_and_sample_soundly(kind, n, order, seed,
                                                                 lengths, end):
    rng = np.random.RandomState(seed)
    template = (CategoricalHMM(n, n_iter=2, random_state=seed, end_state=end)
                if kind == "categorical" else
                PoissonHMM(n, n_iter=2, random_state=seed, end_state=end))
    X = random_data(kind, rng, sum(lengths), d=2)
    model = HigherOrderHMM(template, order=order)
    must_succeed(lambda: model.fit(X, lengths))
    offsets = offsets_of(lengths, len(X))
    ll = model.score_sequences(X, lengths)
    check_loglik(ll)
    check_posteriors(model.predict_proba(X, lengths), ll, offsets, n)
    for algorithm in ("viterbi", "map"):
        logprob, path = model.decode_sequences(X, lengths, algorithm=algorithm)
        assert not np.isnan(logprob).any()
        check_paths(np.where(np.isfinite(ll), 0.0, -np.inf), path, offsets, n)
    kb_logprob, kb_paths = model.decode_kbest(X, lengths, k=2)
    assert not np.isnan(kb_logprob).any() and kb_paths.max() < n
    transmat = model.transmat_
    assert transmat.shape == (n,) * (order + 1)
    assert not np.isnan(transmat).any() and transmat.min() >= 0
    if end:  # rows give way to the end state (endprob_ is indexed by history)
        assert np.all(transmat.sum(axis=-1) <= 1 + 1e-9)
    else:
        check_stochastic(transmat, "transmat_")
    endprob = getattr(model, "endprob_", None)
    if endprob is None or endprob.max() < 1:  # an end probability of 1: a separate property
        sample, states = must_succeed(lambda: model.sample(5, random_state=seed))
        assert len(sample) == 5 and states.min() >= 0 and states.max() < n
    for value in (0, -1, 2.5, "2", None, True):
        attempt(lambda v=value: HigherOrderHMM(template, order=v).fit(X, lengths), {"order"})
    for value in ("x", None, 3, model):
        attempt(lambda v=value: HigherOrderHMM(v, order=2).fit(X, lengths), {"model"})


# ------------------------------------------------------------ hostile parameters
#: Fitted parameters of each family, and the names an error may give instead (the
#: chain's rows depend on endprob_, the features on means_).
PARAMETERS = {"startprob_": set(), "transmat_": {"endprob_"}, "endprob_": {"transmat_"}}
EMISSION_PARAMETERS = {"categorical": ["emissionprob_"], "poisson": ["lambdas_"],
                       "multinomial": ["emissionprob_"], "gaussian": ["means_", "covars_"],
                       "gmm": ["weights_", "means_", "covars_"], "independent": []}


def hostile_parameters(current, ragged=False):
    shape = current.shape
    values = [None, "x", np.full(shape, np.nan), -np.ones(shape), np.zeros(shape),
              np.full(shape, 2.0), current[..., :1], np.zeros(shape + (1,)),
              np.zeros(shape, dtype=object), np.full(shape, np.inf), np.full(shape, 1e308),
              np.zeros(shape, dtype=complex), np.zeros((0,) + shape[1:])]
    return values + ([[[0.5], [0.5, 0.5]]] if ragged else [])


@pytest.mark.parametrize("kind", KINDS)
@props(30)
@given(st.data())
def test_hostile_parameters_are_refused_by_name(kind, data):
    _, model, X, lengths = data.draw(models_and_data(kinds=(kind,), missing=False))
    names = list(PARAMETERS) + EMISSION_PARAMETERS[kind.split("-")[0]]
    name = data.draw(st.sampled_from(names))
    current = np.asarray(getattr(model, name, None) if getattr(model, name, None) is not None
                         else np.full(model.n_components, 0.5))
    value = data.draw(st.sampled_from(hostile_parameters(current)))
    allowed = {name} | PARAMETERS.get(name, set())
    if name not in PARAMETERS:  # emission parameters also fix the number of features
        allowed |= {"means_", "covars_", "weights_", "X", "n_features"}

    def run():
        setattr(model, name, value)
        return model.score_sequences(X, lengths), model.predict_proba(X, lengths)

    result, exc = attempt(run, allowed)
    if exc is None:
        ll, post = result
        check_loglik(ll)
        check_posteriors(post, ll, offsets_of(lengths, len(X)), model.n_components)


@props(60)
@given(st.sampled_from([
    "x", None, [], [(0, "x")], [(-1, "e")], [(0.5, "e")], [(0, "e", 3)], [([0, 0], "p")],
    [(np.array([[0]]), "p")], [(slice(None), "p")], [(0, "e"), (0, "p")], [(0, "e"), (2, "p")],
    [((0, 1), "e")], [(slice(0, 2), "p"), (1, "e")], [(np.nan, "p")], [("0", "p")]]))
def test_hostile_blocks_are_refused_by_name(spec):
    from hmm_core import IndependentHMM
    from hmm_core.emissions import CategoricalEmission
    from hmm_core.emissions.poisson import PoissonEmission

    def make(block):
        if not isinstance(block, tuple) or len(block) < 2:
            return block
        emission = {"e": CategoricalEmission(), "p": PoissonEmission()}.get(block[1], block[1])
        return (block[0], emission) + block[2:]

    blocks = [make(b) for b in spec] if isinstance(spec, list) else spec
    X = np.array([[0, 1.0], [1, 2.0], [2, 0.0]])
    attempt(lambda: IndependentHMM(blocks, 2, n_iter=1).fit(X), {"block", "X"})
