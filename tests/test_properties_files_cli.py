"""Properties of model files and of the command line.

Every random valid model survives ``save``/``hmm_core.load`` bit for bit;
a corrupted or hostile model file raises ValueError naming the file; the
command line, run in-process on small random FASTA and CSV files with
random and hostile arguments, exits with 0, 1 or 2 and never prints a
traceback or reports an internal error.
"""

import contextlib
import io
import json
import os
import sys
import tempfile
import zipfile

import numpy as np
from _props import (
    KINDS,
    attempt,
    check_loglik,
    memory_limit,
    must_succeed,
    props,
    random_data,
    random_model,
    time_limit,
)
from hypothesis import event, given
from hypothesis import strategies as st

import hmm_core
from hmm_core import HigherOrderHMM, HigherOrderMarkovChain, MarkovChain
from hmm_core.cli.commands import main


@contextlib.contextmanager
def _workdir():
    with tempfile.TemporaryDirectory(prefix="hmm_core-props-") as path:
        yield path


def _arrays_of(obj, depth=0):
    """Every public array and scalar of a model, its emission and nested blocks."""
    out = {}
    for name, value in sorted(vars(obj).items()):
        if name.startswith("__") or name in ("_checked_key", "_chain", "_built_from"):
            continue
        if isinstance(value, np.ndarray):
            out[name] = value
        elif isinstance(value, (int, float, str, bool, type(None))):
            out[name] = value
        elif depth < 3 and hasattr(value, "__dict__") and not isinstance(
                value, (np.random.RandomState, np.random.Generator)):
            out.update({f"{name}.{k}": v for k, v in _arrays_of(value, depth + 1).items()})
        elif depth < 3 and isinstance(value, list):
            for i, item in enumerate(value):
                if hasattr(item, "__dict__"):
                    out.update({f"{name}.{i}.{k}": v
                                for k, v in _arrays_of(item, depth + 1).items()})
    return out


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return type(a) is type(b) and a == b


# ------------------------------------------------------------------ round trips
@st.composite
def saved_models(draw):
    """(model, X, lengths): a random valid model of any class, and data it can score."""
    family = draw(st.sampled_from(KINDS + ("higher-order", "markov", "markov-higher")))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.RandomState(seed)
    n = draw(st.integers(1, 3))
    if family == "markov":
        x = rng.randint(0, n, 12)
        names = draw(st.booleans())
        chain = MarkovChain(n_states=n, state_names=[f"s{i}" for i in range(n)] if names
                            else None, pseudocount=draw(st.sampled_from([0.0, 1.0])))
        return must_succeed(lambda: chain.fit(x, [5, 7])), x, [5, 7]
    if family == "markov-higher":
        x = rng.randint(0, n, 12)
        chain = HigherOrderMarkovChain(order=draw(st.integers(1, 3)), n_states=n)
        return must_succeed(lambda: chain.fit(x, [5, 7])), x, [5, 7]
    if family == "higher-order":
        template = random_model("categorical", n, rng, end=False, n_iter=1, random_state=seed)
        X = random_data("categorical", rng, 10)
        model = HigherOrderHMM(template, order=draw(st.integers(1, 3)))
        return must_succeed(lambda: model.fit(X, [4, 6])), X, [4, 6]
    settings = {"n_iter": draw(st.integers(1, 30)), "tol": draw(st.sampled_from([1e-2, 0.0])),
                "algorithm": draw(st.sampled_from(["viterbi", "map"])),
                "random_state": draw(st.one_of(st.none(), st.integers(0, 2**32 - 1),
                                               st.just(np.random.RandomState(seed))))}
    fitted = draw(st.booleans())
    zeros = 0.0 if fitted else draw(st.sampled_from([0.0, 0.3]))
    model = random_model(family, n, rng, zeros=zeros, **settings)
    X = random_data(family, rng, 9, missing=0.0 if family == "multinomial" else 0.2)
    if fitted:  # with its monitor
        model.set_params(end_state=getattr(model, "endprob_", None) is not None,
                         init_params="", n_iter=2)
        must_succeed(lambda: model.fit(X, [4, 5]))
    return model, X, [4, 5]


@props(120)
@given(saved_models(), st.one_of(st.none(), st.dictionaries(
    st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5), st.booleans()),
    max_size=3)))
def test_model_files_round_trip_bit_for_bit(case, metadata):
    model, X, lengths = case
    with _workdir() as tmp:
        path = os.path.join(tmp, "model.npz")
        must_succeed(lambda: model.save(path, metadata=metadata))
        loaded = must_succeed(lambda: hmm_core.load(path))
        assert type(loaded) is type(model)
        assert hmm_core.io.read_metadata(path)["user"] == metadata
    before, after = _arrays_of(model), _arrays_of(loaded)
    for name, value in before.items():
        parts = name.split(".")
        if any(part.startswith("_") and part != "_emission" for part in parts):
            continue  # caches and data-dependent scratch, rebuilt on use
        if name.endswith("_") or len(parts) > 1:
            assert name in after, f"{name} lost"
            assert _same(value, after[name]), f"{name} changed"
    params, params_after = model.get_params(deep=False), loaded.get_params(deep=False)
    for name, value in params.items():
        if name in ("callback", "random_state", "model", "blocks"):
            continue
        assert _same(value, params_after[name]), name
    got = must_succeed(lambda: loaded.score_sequences(X, lengths))
    want = model.score_sequences(X, lengths)
    assert np.array_equal(got, want), (got, want)


# ----------------------------------------------------------------- hostile files
HOSTILE_JSON = [None, "x", "", -1, 0, 10**30, 1.5, 1e308, True, [], {}, [None], {"$float": "nan"},
                {"$array": "missing.key"}, {"$scalar": "nope"}, {"$tuple": 3},
                {"$slice": [None, "x", 0]}, {"$model": {}}, {"$emission": {"class": "X"}},
                {"$random_state": "x"}, {"$generator": {"bit_generator": "os", "state": 1}},
                {"$unknown": 1}, [[[[[]]]]], "GaussianHMM", {"class": "os.system"}]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


def _replace(node, path, value):
    if not path:
        return value
    node[path[0]] = _replace(node[path[0]], path[1:], value)
    return node


def _rewrite(src, dst, meta=None, arrays=None):
    """Copy the archive ``src`` to ``dst``, replacing metadata.json and some arrays."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "metadata.json" and meta is not None:
                data = json.dumps(meta).encode()
            elif arrays and info.filename in arrays:
                buffer = io.BytesIO()
                np.save(buffer, arrays[info.filename], allow_pickle=False)
                data = buffer.getvalue()
            zout.writestr(info.filename, data)


HOSTILE_ARRAYS = [np.array([np.nan]), np.zeros((0,)), np.zeros((3, 3, 3)), np.array(["a", "b"]),
                  np.array([np.inf, -np.inf]), np.array(1e308), np.full((2, 2), -1.0),
                  np.zeros((2, 2), dtype=np.complex128), np.array([2**63 - 1]),
                  np.zeros(5, dtype=np.uint8), np.array([True, False])]


#: Corruptions refused by name today. Flipped bytes in the ZIP structure, and some
#: hostile values in the JSON (huge integers, non-boolean flags), are checked by a
#: property kept apart until the loader refuses them all.
MODES = ("truncate", "json", "array", "garbage", "meta-text")
SAFE_JSON = [v for v in HOSTILE_JSON if not (type(v) in (int, float) and abs(v) > 1e18)
             and v != 1.5]


def corrupt_and_load(case, data, modes=MODES, json_values=SAFE_JSON, random_state=False):
    """Save ``case``'s model, corrupt the file one of ``modes`` ways, and load it.

    Stored random states are only corrupted with ``random_state`` (their overflow
    errors are checked by a property kept apart).
    """
    model, X, lengths = case
    with _workdir() as tmp:
        good, bad = os.path.join(tmp, "good.npz"), os.path.join(tmp, "bad.npz")
        model.save(good)
        raw = open(good, "rb").read()
        how = data.draw(st.sampled_from(modes))
        if how == "truncate":
            open(bad, "wb").write(raw[:data.draw(st.integers(0, len(raw) - 1))])
        elif how == "flip":
            pos = data.draw(st.integers(0, len(raw) - 1))
            flipped = bytes([raw[pos] ^ data.draw(st.integers(1, 255))])
            open(bad, "wb").write(raw[:pos] + flipped + raw[pos + 1:])
        elif how == "garbage":
            open(bad, "wb").write(data.draw(st.binary(max_size=64)))
        elif how == "meta-text":
            with zipfile.ZipFile(good) as z:
                arrays = {n: z.read(n) for n in z.namelist() if n != "metadata.json"}
            with zipfile.ZipFile(bad, "w") as z:
                z.writestr("metadata.json", data.draw(st.text(max_size=40)))
                for name, content in arrays.items():
                    z.writestr(name, content)
        elif how == "json":
            with zipfile.ZipFile(good) as z:
                meta = json.loads(z.read("metadata.json"))
            where = data.draw(st.sampled_from([
                w for w in _paths(meta) if random_state or "random_state" not in w]))
            meta = _replace(meta, where, data.draw(st.sampled_from(json_values)))
            _rewrite(good, bad, meta=meta)
        else:
            with zipfile.ZipFile(good) as z:
                names = [n for n in z.namelist() if n.endswith(".npy")
                         and (random_state or "random_state" not in n)]
            if not names:
                return
            target = data.draw(st.sampled_from(names))
            _rewrite(good, bad, arrays={target: data.draw(st.sampled_from(HOSTILE_ARRAYS))})
        loaded, exc = attempt(lambda: hmm_core.load(bad), {bad})
        if exc is not None:
            return
        # Accepted: a usable model, or one that refuses to work with a ValueError.
        result, exc = attempt(lambda: loaded.score_sequences(X, lengths),
                              {"_", "X", "is not set", "fit"})
        if exc is None:
            check_loglik(result)


@props(300)
@given(saved_models(), st.data())
def test_corrupted_model_files_raise_value_errors_naming_the_file(case, data):
    corrupt_and_load(case, data)


@props(60)
@given(st.sampled_from(["", "directory", "missing", "empty-zip", "npz-without-meta",
                        "newer-version", "not-a-dict", "wrong-format"]))
def test_files_that_are_not_model_files_are_refused(kind):
    with _workdir() as tmp:
        path = os.path.join(tmp, "f.npz")
        if kind == "directory":
            os.mkdir(path)
        elif kind == "empty-zip":
            zipfile.ZipFile(path, "w").close()
        elif kind == "npz-without-meta":
            np.savez(path, a=np.zeros(3))
        elif kind in ("newer-version", "not-a-dict", "wrong-format"):
            meta = {"format": "hmm_core-model", "format_version": 99, "model": {}}
            if kind == "not-a-dict":
                meta = [1, 2, 3]
            elif kind == "wrong-format":
                meta["format"], meta["format_version"] = "other", 1
            with zipfile.ZipFile(path, "w") as z:
                z.writestr("metadata.json", json.dumps(meta))
        elif kind == "":
            open(path, "wb").close()
        try:
            hmm_core.load(path)
        except (FileNotFoundError, IsADirectoryError):
            assert kind in ("missing", "directory")
        except ValueError as exc:
            assert path in str(exc)
        else:
            raise AssertionError(f"{kind}: loaded")


# ------------------------------------------------------------------ command line
def _run_cli(argv):
    """main(argv) in-process; returns (status, stdout, stderr)."""
    out, err = io.TextIOWrapper(io.BytesIO()), io.TextIOWrapper(io.BytesIO())
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        try:
            with time_limit(), memory_limit():
                status = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse: --help, --version, bad arguments
            status = exc.code if isinstance(exc.code, int) else 2
    finally:
        sys.stdout, sys.stderr = old
    out.flush()
    err.flush()
    return (status, out.buffer.getvalue().decode(errors="replace"),
            err.buffer.getvalue().decode(errors="replace"))


def _write_inputs(tmp, rng):
    seqs = ["".join(rng.choice(list("ACGT"), rng.randint(1, 40))) for _ in range(rng.randint(1, 4))]
    with open(os.path.join(tmp, "in.fa"), "w") as handle:
        handle.write("".join(f">r{i} x\n{s}\n" for i, s in enumerate(seqs)))
    rows = rng.randint(2, 30)
    with open(os.path.join(tmp, "in.csv"), "w") as handle:
        handle.write("seq,a,b\n")
        for i in range(rows):
            handle.write(f"s{i % 2},{rng.normal():.6g},{rng.normal():.6g}\n")
    with open(os.path.join(tmp, "counts.csv"), "w") as handle:
        handle.write("a,b\n" + "".join(f"{rng.poisson(3)},{rng.poisson(1)}\n"
                                       for _ in range(rows)))
    with open(os.path.join(tmp, "weather.csv"), "w") as handle:
        handle.write("w\n" + "".join(f"{rng.choice(['sun', 'fog', 'rain'])}\n"
                                     for _ in range(rows)))
    # Hostile inputs: empty, binary junk under data extensions, odd cells, pickles.
    junk = rng.bytes(rng.randint(0, 200))
    for name in ("empty.fa", "empty.csv"):
        open(os.path.join(tmp, name), "w").close()
    for name in ("junk.fa", "junk.csv", "junk.npy", "junk.npz", "junk.fa.gz"):
        with open(os.path.join(tmp, name), "wb") as handle:
            handle.write(junk)
    with open(os.path.join(tmp, "odd.csv"), "w") as handle:
        handle.write("a,b\n1,nan\ninf,2\n-inf,\n3,4,5\n,\n1e308,-1e308\n")
    with open(os.path.join(tmp, "odd.fa"), "w") as handle:
        handle.write(">\n\n>x\nNNNN-*acgu\n>y\n>\n" + "A" * rng.randint(0, 5) + "\n")
    np.save(os.path.join(tmp, "obj.npy"), np.array([{"a": 1}], dtype=object))
    np.save(os.path.join(tmp, "x3d.npy"), np.zeros((2, 2, 2)))
    np.save(os.path.join(tmp, "nan.npy"), np.full((4, 2), np.nan))
    os.mkdir(os.path.join(tmp, "adir"))


INTS = st.sampled_from(["1", "2", "3", "0", "-1", "x", "1e3", "2.5", "99999999999999999999",
                        "1000000", "-99999999999999999999", ""])
# A million frames or sequences take a while to write, and 10**20 sequences exhaust the
# memory (a property of its own): sample counts stay small or fail fast.
SAMPLE_INTS = st.sampled_from(["1", "2", "3", "0", "-1", "x", "1e3", "2.5", "", "300"])
FLOATS = st.sampled_from(["1e-4", "0", "-1", "nan", "inf", "-inf", "x", "1e308", "0.9"])


@st.composite
def cli_arguments(draw, tmp):
    """A random command line over the inputs written by :func:`_write_inputs`."""
    p = lambda name: os.path.join(tmp, name)  # noqa: E731
    command = draw(st.sampled_from(["fit"] * 3 + ["score", "decode", "sample"] * 2
                                   + ["info", "bogus", ""]))
    model = p(draw(st.sampled_from(["m.npz"] * 6 + ["missing.npz", "in.fa", "in.csv",
                                                    "junk.npz", "adir", "empty.csv"])))
    valid = [[p("in.fa"), "--alphabet", "dna"], [p("in.fa")]]
    data = draw(st.sampled_from(valid * 6 + [
        [p("in.fa"), "--alphabet", "dna"], [p("in.fa")], [p("in.csv"), "--id-column", "seq"],
        [p("in.csv"), "--columns", "a,b"], [p("counts.csv")], [p("in.csv"), "--format", "fasta"],
        [p("weather.csv"), "--alphabet", "sun,fog,rain"], [p("in.fa"), "--alphabet", "xy"],
        [p("nope.csv")], [p("in.csv"), "--columns", "zzz"], [p("in.fa"), "--format", "npy"],
        [p("in.csv"), "--id-column", "nope"], [p("in.fa"), "--unknown", "missing",
                                               "--alphabet", "AC"],
        [p("empty.fa")], [p("empty.csv")], [p("junk.fa")], [p("junk.csv")], [p("junk.npy")],
        [p("junk.npz")], [p("junk.fa.gz")], [p("odd.csv")], [p("odd.fa"), "--alphabet", "dna"],
        [p("odd.fa"), "--alphabet", "dna", "--unknown", "missing"], [p("obj.npy")],
        [p("x3d.npy")], [p("nan.npy")], [p("adir")], [p("in.fa"), "--alphabet", ""],
        [p("in.fa"), "--alphabet", ",,,"], [p("in.csv"), "--columns", ""],
        [p("counts.csv"), "--format", "tsv"]]))
    args = [command] if command else []
    if command == "fit":
        outputs = ["m.npz", "m.npz", "in.fa", "sub/x.npz", "adir", "m2.npz"]
        args += data + ["-o", p(draw(st.sampled_from(outputs)))]
        args += draw(st.lists(st.sampled_from([
            ["-n", draw(INTS)], ["--n-iter", draw(INTS)], ["--tol", draw(FLOATS)],
            ["--n-init", draw(INTS)], ["--seed", draw(INTS)], ["--n-mix", draw(INTS)],
            ["--kind", draw(st.sampled_from(["categorical", "gaussian", "gmm", "poisson",
                                             "multinomial", "markov", "nope"]))],
            ["--covariance-type", draw(st.sampled_from(["full", "tied", "spherical", "x"]))],
            ["--topology", draw(st.sampled_from(["left-right", "ergodic", "x"]))],
            ["--sticky", draw(FLOATS)], ["--end-state"], ["--threads", draw(INTS)],
            ["--summary", p("s.json")], ["-q"], ["-v"]]), max_size=5).map(
            lambda parts: [a for part in parts for a in part]))
        if "--n-iter" not in args:
            args += ["--n-iter", "5"]
    elif command in ("score", "decode"):
        args += [model] + data + draw(st.lists(st.sampled_from([
            ["-o", p(draw(st.sampled_from(["o.csv", "o.tsv", "o.npz", "m.npz", "in.fa"])))],
            ["--chunk-size", draw(INTS)], ["--threads", draw(INTS)], ["-q"], ["-o", p("adir")],
            ["--posteriors", p("sub/post.npz")], ["--summary", p("adir")],
            ["--summary", p("s.json")], ["--segments"], ["--algorithm", "map"],
            ["--posteriors", p("post.npz")]]), max_size=4).map(
            lambda parts: [a for part in parts for a in part]))
    elif command == "sample":
        args += [model] + draw(st.lists(st.sampled_from([
            ["-n", draw(SAMPLE_INTS)], ["--sequences", draw(SAMPLE_INTS)],
            ["--seed", draw(INTS)],
            ["-o", p(draw(st.sampled_from(["s.csv", "s.npy", "s.npz", "s.fa", "m.npz"])))],
            ["--alphabet", draw(st.sampled_from(["dna", "xy", "sun,fog,rain"]))]]),
            max_size=4).map(lambda parts: [a for part in parts for a in part]))
    elif command == "info":
        args += draw(st.sampled_from([[], [model], [model, "--json"]]))
    elif command == "bogus":
        args += ["--what"]
    return args


@props(200)
@given(st.integers(0, 2**32 - 1), st.lists(st.data(), min_size=1, max_size=1))
def test_command_line_exits_cleanly_on_random_and_hostile_arguments(seed, datas):
    rng = np.random.RandomState(seed)
    with _workdir() as tmp:
        _write_inputs(tmp, rng)
        # A model to score with, fitted like a user would.
        first = _run_cli(["fit", os.path.join(tmp, "in.fa"), "--alphabet", "dna", "-n", "2",
                          "--n-iter", "3", "-o", os.path.join(tmp, "m.npz"), "-q"])
        assert first[0] == 0, first
        argv = datas[0].draw(cli_arguments(tmp))
        status, out, err = _run_cli(argv)
        event(f"{argv[0] if argv else '(none)'}: exit {status}")
        assert status in (0, 1, 2), (argv, status, err)
        assert "Traceback" not in err and "internal error" not in err, (argv, err)
