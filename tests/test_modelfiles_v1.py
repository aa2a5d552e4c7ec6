"""Model files of format version 1 keep loading, bit for bit.

``tests/data/modelfiles-v1/`` holds one small model file per kind of model
(fitted and unfitted, with topology, ties, end state, independent blocks,
higher-order models, Markov chains with state names, monitors, ...), written
by hmm_core 0.1.0 with format version 1. Each file carries, in its user
metadata, a description of the model it was written from (settings, every
parameter array as dtype, shape and SHA-256 of its bytes, and the results of
``score``, ``predict`` and ``sample``). Loading the file with this hmm_core
must reproduce that description exactly, and saving the loaded model again
must write the same encoded model.

Run ``python tests/test_modelfiles_v1.py`` from the repository root to write
the files again (only meaningful with the hmm_core version that defines the
format).
"""

import hashlib
import json
import pathlib
import re
import sys
import zipfile

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
    compose,
    topology,
)
from hmm_core.emissions import CategoricalEmission, GaussianEmission, PoissonEmission
from hmm_core.io.modelfile import read_metadata, save_model

HERE = pathlib.Path(__file__).resolve().parent / "data" / "modelfiles-v1"

RNG = np.random.RandomState(20240501)
SYMBOLS = RNG.randint(0, 3, (48, 1))
REAL = np.concatenate([RNG.normal(0, 1, (24, 2)), RNG.normal(4, 1, (24, 2))])
COUNTS = RNG.poisson(3, (48, 2))
TRIALS = RNG.multinomial(5, [0.2, 0.3, 0.5], 48)
MIXED = np.column_stack([SYMBOLS, COUNTS]).astype(float)
MIXED[[3, 17], 0] = np.nan
LENGTHS = [20, 28]
STATES = list("abcabbccabcaab")


# ------------------------------------------------------------ description
def _digest(arr):
    arr = np.asarray(arr)
    return (f"{arr.dtype.str}{list(arr.shape)}:"
            f"{hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()[:24]}")


def _value(value):
    """A JSON description of a value that changes with any bit of it."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return f"{type(value).__name__}:{int(value)}"
    if isinstance(value, (float, np.floating)):
        return f"{type(value).__name__}:{float(value).hex()}"
    if isinstance(value, np.ndarray):
        return _digest(value)
    if isinstance(value, np.generic):
        return f"scalar:{_digest(value)}"
    if isinstance(value, np.random.RandomState):
        return [_value(v) for v in value.get_state()]
    if isinstance(value, np.random.Generator):
        return json.dumps(value.bit_generator.state, sort_keys=True, default=str)
    if isinstance(value, slice):
        return {"slice": [_value(value.start), _value(value.stop), _value(value.step)]}
    if isinstance(value, (list, tuple)):
        return {type(value).__name__: [_value(v) for v in value]}
    if isinstance(value, hmm_core.emissions.EmissionModel):
        return _emission(value)
    if isinstance(value, (hmm_core.hmm.base.BaseHMM, HigherOrderHMM)):
        return _model(value)
    return f"{type(value).__name__}:{value!r}"


def _repr(obj):
    return re.sub(r" at 0x[0-9a-fA-F]+", " at 0x...", repr(obj))


def _emission(emission):
    out = {"class": type(emission).__name__, "repr": _repr(emission),
           "n_features": _value(getattr(emission, "n_features", None))}
    for name in sorted(vars(emission)):
        if name.endswith("_") and not name.startswith("_"):
            out[name] = _value(getattr(emission, name))
    if hasattr(emission, "emissions"):
        out["blocks"] = [_emission(e) for e in emission.emissions]
    return out


def _attr(model, name):
    try:
        return _value(getattr(model, name))
    except AttributeError:  # unset: the same as None (a loaded model may lack it)
        return None
    except ValueError as exc:
        return f"{type(exc).__name__}: {exc}"


_HMM_ATTRS = ("startprob_", "transmat_", "endprob_", "emissionprob_", "means_", "covars_",
              "_covars_", "weights_", "lambdas_", "n_features", "emissions_",
              "init_transmats_", "histories_")
_CHAIN_ATTRS = ("n_states_", "state_names_", "startprob_", "transmat_", "start_counts_",
                "transition_counts_", "contexts_", "context_probs_", "start_contexts_",
                "start_probs_")


#: Settings added after format version 1, with their defaults. A model of a
#: version-1 file has them at these values, and they are described only when
#: they differ (so the descriptions written by 0.1.0 stay comparable).
_ONLINE = {"online_decay": 0.6, "online_step": None}
_LATER_SETTINGS = {MarkovChain: {"unvisited": "absorbing"},
                   **{cls: _ONLINE for cls in (CategoricalHMM, GaussianHMM, GMMHMM, PoissonHMM,
                                               MultinomialHMM, IndependentHMM)}}


def _model(model):
    out = {"class": type(model).__name__, "repr": _repr(model)}
    params = model.get_params(deep=False)
    later = _LATER_SETTINGS.get(type(model), {})
    out["params"] = {k: _value(v) for k, v in sorted(params.items())
                     if k != "callback" and not (k in later and v == later[k])}
    chain = isinstance(model, (MarkovChain, HigherOrderMarkovChain))
    fitted = {}
    for name in _CHAIN_ATTRS if chain else _HMM_ATTRS:
        if chain and not hasattr(model, name):
            continue
        fitted[name] = _attr(model, name)
    if not chain:
        inner = model.__dict__.get("model_") if isinstance(model, HigherOrderHMM) else model
        if inner is not None:
            monitor = inner.__dict__.get("monitor_")
            fitted["monitor"] = None if monitor is None else {
                "history": [float(v).hex() for v in monitor.history], "iter": monitor.iter,
                "tol": _value(monitor.tol), "n_iter": _value(monitor.n_iter)}
            top = inner.__dict__.get("_topology")
            fitted["topology"] = None if top is None else [_value(a) for a in top]
            fitted["emission"] = _emission(inner._get_emission())
    out["fitted"] = fitted
    return out


def _run(what, func):
    try:
        result = func()
    except (ValueError, AttributeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return _value(result)


def describe(model, X=None, lengths=None):
    """Settings, parameters and results of ``model`` (on ``X`` when given)."""
    out = _model(model)
    if isinstance(model, (MarkovChain, HigherOrderMarkovChain)):
        out["score"] = _run("score", lambda: model.score(STATES[:8] if model.state_names
                                                         else [0, 1, 1, 0, 2][:3]))
        out["sample"] = _run("sample", lambda: model.sample(9, random_state=0))
        return out
    if X is not None:
        out["score"] = _run("score", lambda: model.score(X, lengths))
        out["predict"] = _run("predict", lambda: model.predict(X, lengths))
        out["posteriors"] = _run("posteriors", lambda: model.predict_proba(X, lengths))
    out["sample"] = _run("sample", lambda: model.sample(7, random_state=0))
    return out


# ------------------------------------------------------------------ cases
def _cases():
    """(name, model, X, lengths): the model as written, and data to describe it on."""
    cases = []

    def add(name, model, X=None, lengths=None, fit=True, **fit_args):
        if fit:
            model.fit(X, lengths, **fit_args)
        cases.append((name, model, X, lengths))

    add("categorical-end-state", CategoricalHMM(
        3, n_iter=5, random_state=np.random.RandomState(7), transmat_prior=np.full((3, 3), 1.5),
        end_state=True), SYMBOLS, LENGTHS)
    add("categorical-unfitted", CategoricalHMM(4, algorithm="map", tol=-np.inf), fit=False)
    add("categorical-emission-ties", CategoricalHMM(
        3, n_iter=3, random_state=0, emission_ties=[0, 0, 1], training="viterbi"),
        SYMBOLS, LENGTHS)
    ties = np.array([[0, 1, -1], [1, 0, -1], [-1, -1, 2]])
    add("categorical-transmat-ties", CategoricalHMM(
        np.int64(3), n_iter=4, random_state=3, transmat_ties=ties, n_features=4,
        emissionprob_prior=1.2), SYMBOLS, LENGTHS)
    labels = np.where(np.arange(48) % 3 == 0, SYMBOLS[:, 0] % 2, -1)
    add("categorical-partly-labelled", CategoricalHMM(2, n_iter=3, random_state=4),
        SYMBOLS, LENGTHS, states=labels)
    for kind in ("spherical", "diag", "full", "tied"):
        add(f"gaussian-{kind}", GaussianHMM(2, covariance_type=kind, n_iter=4, random_state=0,
                                            covars_prior=0.1, means_weight=0.5), REAL, LENGTHS)
        add(f"gmm-{kind}", GMMHMM(2, n_mix=2, covariance_type=kind, n_iter=2, random_state=0,
                                  weights_prior=1.5), REAL, LENGTHS)
    add("gaussian-left-right-unfitted",
        topology.left_right(GaussianHMM(3, n_iter=2, random_state=0), n_skips=1), fit=False)
    add("gaussian-left-right-fitted",
        topology.left_right(GaussianHMM(3, n_iter=3, random_state=0, init_params="mc",
                                        end_state=True)), REAL, LENGTHS)
    add("poisson", PoissonHMM(2, n_iter=4, random_state=1, lambdas_prior=0.5,
                              lambdas_weight=np.array([1.0, 2.0]), n_init=2), COUNTS, LENGTHS)
    add("multinomial", MultinomialHMM(2, n_iter=4, random_state=1), TRIALS, LENGTHS)
    add("multinomial-n-trials", MultinomialHMM(2, n_trials=5, n_iter=3, random_state=1,
                                               training="viterbi"), TRIALS)
    blocks = [(0, CategoricalEmission(emissionprob_prior=2.0)),
              (slice(1, 3), PoissonEmission(lambdas_prior=0.5, lambdas_weight=1.0))]
    add("independent", IndependentHMM(blocks, n_components=2, n_iter=4, random_state=2,
                                      params="ste"), MIXED, LENGTHS)
    add("independent-unfitted", IndependentHMM(
        [([0, 1], GaussianEmission(covariance_type="full", min_covar=0.01))],
        n_components=3, init_params="st"), fit=False)
    add("higher-order", HigherOrderHMM(CategoricalHMM(2, n_iter=4, random_state=0), order=2),
        SYMBOLS, LENGTHS)
    add("higher-order-unfitted", HigherOrderHMM(PoissonHMM(2, end_state=True), order=3),
        fit=False)
    word = CategoricalHMM(2, n_features=3, end_state=True, init_params="", n_iter=1)
    word.startprob_ = np.array([1.0, 0.0])
    word.transmat_ = np.array([[0.6, 0.3], [0.0, 0.7]])
    word.endprob_ = np.array([0.1, 0.3])
    word.emissionprob_ = np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]])
    add("composed", compose.concatenate([word, word]), SYMBOLS, LENGTHS, fit=False)
    add("markov-chain-named", MarkovChain(state_names=["a", "b", "c"], pseudocount=0.5,
                                          random_state=np.random.default_rng(3)),
        STATES, fit=True)
    add("markov-chain-from-params", MarkovChain.from_params(
        [0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], random_state=11), fit=False)
    add("markov-chain-unfitted", MarkovChain(n_states=3), fit=False)
    add("higher-order-chain", HigherOrderMarkovChain(order=3, random_state=5),
        [0, 1, 2, 0, 1, 1, 2, 0, 0, 1, 2, 2], [7, 5])
    add("higher-order-chain-named", HigherOrderMarkovChain(
        order=2, state_names=["a", "b", "c"], pseudocount=1.0), STATES, [6, 8])
    add("higher-order-chain-unfitted", HigherOrderMarkovChain(order=2, n_states=4), fit=False)
    return cases


def write_files():
    """Write every case to ``HERE`` with its description as user metadata."""
    HERE.mkdir(parents=True, exist_ok=True)
    for old in HERE.glob("*.npz"):
        old.unlink()
    for name, model, X, lengths in _cases():
        expected = describe(model, X, lengths)
        save_model(model, HERE / f"{name}.npz", metadata={"expected": expected})
        print(name, (HERE / f"{name}.npz").stat().st_size)


# ------------------------------------------------------------------ tests
FILES = sorted(HERE.glob("*.npz"))
DATA = {name: (X, lengths) for name, _, X, lengths in _cases()}


def test_every_case_has_a_file():
    assert sorted(p.stem for p in FILES) == sorted(DATA)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_version_1_file_loads_bit_identically(path):
    meta = read_metadata(path)
    assert meta["format_version"] == 1
    model = hmm_core.load(path)
    X, lengths = DATA[path.stem]
    assert _without_reprs(describe(model, X, lengths)) == \
        _without_reprs(meta["user"]["expected"])


def _without_reprs(description):
    """The description less its ``repr`` strings.

    A repr lists the settings that differ from the current defaults, so a
    changed default (GaussianHMM's ``covars_prior`` in 0.2.0) changes it while
    the stored settings load unchanged; those are compared through ``params``
    and by the re-save test below.
    """
    if isinstance(description, dict):
        return {k: _without_reprs(v) for k, v in description.items() if k != "repr"}
    if isinstance(description, list):
        return [_without_reprs(v) for v in description]
    return description


def _members(path):
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("metadata.json"))
        arrays = {name: archive.read(name) for name in archive.namelist()
                  if name != "metadata.json"}
    return meta, arrays


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_saving_a_loaded_file_writes_the_same_model(path, tmp_path):
    model = hmm_core.load(path)
    again = tmp_path / "again.npz"
    model.save(again, metadata=read_metadata(path)["user"])
    meta, arrays = _members(path)
    new_meta, new_arrays = _members(again)
    assert new_meta["model"] == meta["model"]
    assert new_meta["user"] == meta["user"]
    assert new_arrays == arrays


if __name__ == "__main__":
    sys.exit(write_files())
