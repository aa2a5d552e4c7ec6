"""Model files: exact round trips for every model class, and refusal of bad files."""

import io
import json
import os
import pickle
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
    topology,
)
from hmm_core.emissions import CategoricalEmission, GaussianEmission, PoissonEmission
from hmm_core.io.modelfile import FORMAT_VERSION, load_model, read_metadata, save_model

RNG = np.random.RandomState(0)
SYMBOLS = RNG.randint(0, 3, (60, 1))
REAL = np.concatenate([RNG.normal(0, 1, (40, 2)), RNG.normal(4, 1, (40, 2))])
COUNTS = RNG.poisson(3, (60, 2))
TRIALS = RNG.multinomial(5, [0.2, 0.3, 0.5], 60)


def assert_same(a, b, where="value"):
    """Equality that requires identical bits, dtypes, types and random states."""
    if isinstance(a, np.random.RandomState):
        assert isinstance(b, np.random.RandomState), where
        assert_same(a.get_state(), b.get_state(), where)
    elif isinstance(a, np.random.Generator):
        assert a.bit_generator.state == b.bit_generator.state, where
    elif isinstance(a, (np.ndarray, np.generic)):
        assert type(a) is type(b) and a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), where
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{k}]")
    elif isinstance(a, hmm_core.emissions.EmissionModel):
        assert type(a) is type(b), where
        public = {k: v for k, v in vars(a).items() if not k.startswith("_") or k == "_fit_trials"}
        for key, value in public.items():
            if key in ("columns", "emissions", "letters") or not key.startswith("_"):
                assert_same(value, getattr(b, key), f"{where}.{key}")
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), where
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def assert_same_model(model, loaded):
    assert type(loaded) is type(model)
    if isinstance(model, (MarkovChain, HigherOrderMarkovChain)):
        for key, value in vars(model).items():
            if key not in ("_index", "_cum_cache"):
                assert_same(value, getattr(loaded, key), key)
        return
    params, loaded_params = model.get_params(), loaded.get_params()
    assert sorted(params) == sorted(loaded_params)
    for key, value in params.items():
        if key == "model":
            assert_same_model(value, loaded_params[key])
        elif key != "callback":
            assert_same(value, loaded_params[key], key)
    inner = model.model_ if isinstance(model, HigherOrderHMM) else model
    inner_loaded = loaded.model_ if isinstance(model, HigherOrderHMM) else loaded
    for name in ("startprob_", "transmat_", "endprob_"):
        assert_same(inner.__dict__.get(name), inner_loaded.__dict__.get(name), name)
    assert_same(inner._get_emission(), inner_loaded._get_emission(), "emission")
    if hasattr(inner, "monitor_"):
        assert inner_loaded.monitor_.history == inner.monitor_.history
        assert inner_loaded.monitor_.iter == inner.monitor_.iter


def _fitted_models():
    blocks = [(0, CategoricalEmission(emissionprob_prior=2.0)),
              (slice(1, 3), PoissonEmission(lambdas_prior=0.5, lambdas_weight=1.0))]
    cases = [
        ("categorical", CategoricalHMM(3, n_iter=5, random_state=np.random.RandomState(7),
                                       transmat_prior=np.full((3, 3), 1.5), end_state=True),
         SYMBOLS),
        ("poisson", PoissonHMM(2, n_iter=5, random_state=1, lambdas_prior=0.5,
                               lambdas_weight=np.array([1.0, 2.0])), COUNTS),
        ("multinomial", MultinomialHMM(2, n_iter=5, random_state=1), TRIALS),
        ("multinomial-trials", MultinomialHMM(2, n_trials=5, n_iter=3, random_state=1), TRIALS),
        ("independent", IndependentHMM(blocks, n_components=2, n_iter=5, random_state=2,
                                       params="ste"), np.column_stack([SYMBOLS, COUNTS])),
        ("higher-order", HigherOrderHMM(CategoricalHMM(2, n_iter=4, random_state=0), order=2),
         SYMBOLS),
        ("tied-categorical", CategoricalHMM(3, n_iter=3, random_state=0,
                                            emission_ties=[0, 0, 1],
                                            training="viterbi"), SYMBOLS),
    ]
    for kind in ("spherical", "diag", "full", "tied"):
        cases.append((f"gaussian-{kind}", GaussianHMM(2, covariance_type=kind, n_iter=5,
                                                      random_state=0, covars_prior=0.1),
                      REAL))
        cases.append((f"gmm-{kind}", GMMHMM(2, n_mix=2, covariance_type=kind, n_iter=3,
                                            random_state=0), REAL))
    return cases


CASES = _fitted_models()


@pytest.mark.parametrize("name,model,X", CASES, ids=[c[0] for c in CASES])
def test_round_trip_is_exact(tmp_path, name, model, X):
    lengths = None if name == "multinomial-trials" else [25, len(X) - 25]
    model.fit(X, lengths)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = hmm_core.load(path)
    assert_same_model(model, loaded)
    assert loaded.score(X, lengths) == model.score(X, lengths)
    assert np.array_equal(loaded.predict(X, lengths), model.predict(X, lengths))
    # The file is an .npz that numpy reads without pickle.
    with np.load(path, allow_pickle=False) as archive:
        assert "metadata.json" in archive.files


def test_left_right_topology_and_unfitted_models_round_trip(tmp_path):
    model = topology.left_right(GaussianHMM(3, n_iter=2, random_state=0), n_skips=1)
    save_model(model, tmp_path / "lr.npz")
    loaded = load_model(tmp_path / "lr.npz")
    for a, b in zip(model._topology, loaded._topology, strict=True):
        assert_same(a, b)
    assert_same(model.transmat_, loaded.transmat_)
    bare = CategoricalHMM(4, algorithm="map", callback=print)
    bare.save(tmp_path / "bare.npz")
    loaded = hmm_core.load(tmp_path / "bare.npz")
    assert repr(loaded) == "CategoricalHMM(n_components=4, algorithm='map')"
    assert loaded.callback is None  # code is not stored
    assert not hasattr(loaded, "startprob_") or loaded.__dict__.get("startprob_") is None


def test_markov_chains_round_trip(tmp_path):
    chain = MarkovChain(state_names=["a", "b", "c"], pseudocount=0.5,
                        random_state=np.random.default_rng(3)).fit(list("abcabbccab"))
    chain.save(tmp_path / "chain.npz")
    loaded = hmm_core.load(tmp_path / "chain.npz")
    assert_same_model(chain, loaded)
    assert loaded.score(list("abc")) == chain.score(list("abc"))
    from_params = MarkovChain.from_params([0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]])
    from_params.save(tmp_path / "p.npz")
    assert_same_model(from_params, hmm_core.load(tmp_path / "p.npz"))
    high = HigherOrderMarkovChain(order=3, random_state=5).fit([0, 1, 2, 0, 1, 1, 2, 0, 0, 1])
    high.save(tmp_path / "high.npz")
    loaded = hmm_core.load(tmp_path / "high.npz")
    assert_same_model(high, loaded)
    assert np.array_equal(loaded.sample(20), high.sample(20))
    assert loaded.predict_distribution([0, 1], 3).tolist() == \
        high.predict_distribution([0, 1], 3).tolist()


def test_user_metadata_and_header(tmp_path):
    model = CategoricalHMM(2, random_state=0, n_iter=2).fit(SYMBOLS)
    model.save(tmp_path / "m.npz", metadata={"alphabet": ["x", "y", "z"], "note": None})
    meta = read_metadata(tmp_path / "m.npz")
    assert meta["format"] == "hmm_core-model" and meta["format_version"] == FORMAT_VERSION
    assert meta["class"] == "CategoricalHMM"
    assert meta["user"] == {"alphabet": ["x", "y", "z"], "note": None}
    with pytest.raises(ValueError, match="JSON"):
        model.save(tmp_path / "bad.npz", metadata={"x": object()})
    assert not (tmp_path / "bad.npz").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary left over


def test_expected_class_and_unsupported_values(tmp_path):
    chain = MarkovChain.from_params(None, [[1.0]])
    chain.save(tmp_path / "c.npz")
    with pytest.raises(ValueError, match="holds a MarkovChain, expected a GaussianHMM"):
        hmm_core.load(tmp_path / "c.npz", expected=GaussianHMM)

    class MyEmission(GaussianEmission):
        pass

    model = IndependentHMM([([0, 1], MyEmission())], n_components=1)
    with pytest.raises(ValueError, match="not one of hmm_core's emission classes"):
        model.save(tmp_path / "x.npz")
    with pytest.raises(ValueError, match="not supported"):
        CategoricalHMM(2, random_state={"seed": 1}).save(tmp_path / "y.npz")


# -------------------------------------------------------------- bad files
def _rewrite(src, dst, meta=None, arrays=None, raw=None):
    """Copy a model file, changing its metadata, some arrays or raw members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "metadata.json" and meta is not None:
                data = json.dumps(meta(json.loads(data))).encode()
            elif arrays and item[:-4] in arrays:
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, arrays[item[:-4]], allow_pickle=True)
                data = buffer.getvalue()
            elif raw and item in raw:
                data = raw[item]
            zout.writestr(item, data)


@pytest.fixture
def gaussian_file(tmp_path):
    model = GaussianHMM(2, covariance_type="full", n_iter=3, random_state=0).fit(REAL)
    model.save(tmp_path / "g.npz")
    return tmp_path / "g.npz"


def test_refuses_newer_versions_and_other_files(tmp_path, gaussian_file):
    newer = tmp_path / "newer.npz"
    _rewrite(gaussian_file, newer, meta=lambda m: {**m, "format_version": FORMAT_VERSION + 1})
    with pytest.raises(ValueError, match="format version 2.*upgrade"):
        hmm_core.load(newer)
    data = tmp_path / "data.npz"
    np.savez(data, X=REAL)
    with pytest.raises(ValueError, match="not an hmm_core model file.*data file"):
        hmm_core.load(data)
    text = tmp_path / "model.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not an hmm_core model file"):
        hmm_core.load(text)
    with pytest.raises(FileNotFoundError):
        hmm_core.load(tmp_path / "missing.npz")
    other = tmp_path / "other.npz"
    _rewrite(gaussian_file, other, meta=lambda m: {**m, "format": "something-else"})
    with pytest.raises(ValueError, match="not an hmm_core model file"):
        hmm_core.load(other)


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.9, 0.99])
def test_refuses_truncated_files(tmp_path, gaussian_file, cut):
    data = gaussian_file.read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ValueError, match="model file"):
        hmm_core.load(path)


def test_refuses_corrupt_bytes(tmp_path, gaussian_file):
    data = bytearray(gaussian_file.read_bytes())
    with zipfile.ZipFile(gaussian_file) as archive:
        info = archive.getinfo("emission.means_.npy")
    start = info.header_offset + 30 + len(info.filename) + 5
    data[start:start + 8] = bytes(8)  # inside the compressed member
    path = tmp_path / "corrupt.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="model file"):
        hmm_core.load(path)


def test_validates_parameters(tmp_path, gaussian_file):
    bad_rows = tmp_path / "rows.npz"
    _rewrite(gaussian_file, bad_rows, arrays={"fitted.transmat_": np.full((2, 2), 0.7)})
    with pytest.raises(ValueError, match="transmat_.*sum to 1"):
        hmm_core.load(bad_rows)
    not_pd = tmp_path / "pd.npz"
    _rewrite(gaussian_file, not_pd, arrays={"emission.covars_": -np.stack([np.eye(2)] * 2)})
    with pytest.raises(ValueError, match="positive definite"):
        hmm_core.load(not_pd)
    shape = tmp_path / "shape.npz"
    _rewrite(gaussian_file, shape, arrays={"emission.means_": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="means_"):
        hmm_core.load(shape)
    bad_param = tmp_path / "param.npz"

    def bad_covariance_type(meta):
        meta["model"]["params"]["covariance_type"] = "wobbly"
        return meta

    _rewrite(gaussian_file, bad_param, meta=bad_covariance_type)
    with pytest.raises(ValueError, match="covariance_type"):
        hmm_core.load(bad_param)
    unknown = tmp_path / "class.npz"
    _rewrite(gaussian_file, unknown, meta=lambda m: {**m, "model": {**m["model"],
                                                                    "class": "os.system"}})
    with pytest.raises(ValueError, match="unknown model class"):
        hmm_core.load(unknown)


class _Exploit:
    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Exploit.ran = True
    return "pwned"


def test_never_unpickles(tmp_path, gaussian_file):
    evil = tmp_path / "evil.npz"
    payload = np.array([_Exploit()], dtype=object)
    _rewrite(gaussian_file, evil, arrays={"emission.means_": payload})
    with pytest.raises(ValueError, match="model file"):
        hmm_core.load(evil)
    assert not _Exploit.ran
    raw = tmp_path / "raw.npz"
    _rewrite(gaussian_file, raw, raw={"metadata.json": pickle.dumps(_Exploit())})
    with pytest.raises(ValueError, match="model file"):
        hmm_core.load(raw)
    assert not _Exploit.ran
    assert os.path.exists(gaussian_file)
