"""Hostile model files: refused with a ValueError, quickly, in little memory.

Each test builds damaged or malicious files from real model files (those of
``tests/data/modelfiles-v1`` and one written now) and loads them under a time
bound and ``tracemalloc``: loading may succeed (a harmless change) or raise
``ValueError`` naming the file; nothing else (a missing path is
``FileNotFoundError``). The hypothesis tests together take well under a
minute.
"""

import functools
import io
import json
import os
import pathlib
import stat
import struct
import tempfile
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hmm_core
from hmm_core import CategoricalHMM, GaussianHMM, MarkovChain
from hmm_core.io import _archive
from hmm_core.io.modelfile import load_model, read_metadata, read_user_metadata, save_model

V1 = pathlib.Path(__file__).resolve().parent / "data" / "modelfiles-v1"
BASES = ["gaussian-full", "independent", "higher-order", "markov-chain-named",
         "categorical-emission-ties", "gmm-tied", "higher-order-chain", "poisson"]
#: Bounds of one load of a hostile file.
SECONDS = 5.0
PEAK_BYTES = 50 << 20

RNG = np.random.RandomState(3)
REAL = np.concatenate([RNG.normal(0, 1, (30, 2)), RNG.normal(4, 1, (30, 2))])


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _npy(arr):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, arr, allow_pickle=True)
    return buffer.getvalue()


def _npy_header(shape, descr="<f8", fortran=False):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": fortran, "shape": shape})
    return buffer.getvalue()


@functools.cache
def _bases():
    """Model files (bytes) by name: v1 files and one written by this hmm_core."""
    files = {name: (V1 / f"{name}.npz").read_bytes() for name in BASES}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "now.npz")
        GaussianHMM(2, covariance_type="diag", n_iter=2, random_state=0).fit(REAL).save(
            path, metadata={"alphabet": ["x", "y"], "columns": ["a", "b"], "id_column": 0})
        with open(path, "rb") as handle:
            files["now"] = handle.read()
    return files


@pytest.fixture(scope="module")
def bases():
    return _bases()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


def _outcome(path):
    """Load ``path`` under the bounds; the exception raised, or None if it loaded."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        load_model(path)
        error = None
    except ValueError as exc:
        error = exc
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert seconds < SECONDS, f"{path}: {seconds:.1f} s"
    assert peak < PEAK_BYTES, f"{path}: peak {peak / 1e6:.0f} MB"
    if error is not None:
        assert str(error).startswith(str(path)), error
    return error


def _refused(path, match=None):
    error = _outcome(path)
    assert error is not None, f"{path} loaded"
    if match is not None:
        assert match in str(error), error
    return error


def _write(workdir, name, data):
    path = workdir / name
    path.write_bytes(data)
    return path


def _edit_meta(data, edit):
    members = _members(data)
    meta = json.loads(members["metadata.json"])
    edited = edit(meta)
    members["metadata.json"] = json.dumps(meta if edited is None else edited).encode()
    return _zip(members)


# ------------------------------------------------------------- paths
def test_paths_that_are_not_model_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="Is a directory"):
        load_model(tmp_path)
    with pytest.raises(ValueError, match="not a model file"):
        read_metadata(tmp_path)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    _refused(empty, "not an hmm_core model file")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_devices_and_pipes_are_never_read(tmp_path):
    link = tmp_path / "zero.npz"
    try:
        link.symlink_to("/dev/zero")
    except (OSError, NotImplementedError):
        pytest.skip("symlinks unsupported")
    _refused(link, "not a regular file")
    with pytest.raises(ValueError, match="not a regular file"):
        read_user_metadata(link)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.npz"
        os.mkfifo(fifo)
        _refused(fifo, "not a regular file")
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        load_model(dangling)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="permissions are not enforced for root")
def test_unreadable_file(tmp_path, bases):
    path = _write(tmp_path, "locked.npz", bases["now"])
    path.chmod(0)
    try:
        _refused(path, "cannot read")
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


# ------------------------------------------------------------- sizes
def test_huge_declared_shape_is_refused_before_allocating(workdir, bases):
    members = _members(bases["gaussian-full"])
    members["fitted.transmat_.npy"] = _npy_header((100000, 100000)) + bytes(32)
    path = _write(workdir, "huge.npz", _zip(members))
    error = _refused(path, "member fitted.transmat_.npy")
    assert "(100000, 100000)" in str(error)


def _bomb(members, name, prefix, size):
    """A ZIP holding ``members`` plus ``name``: ``prefix`` then ``size`` zero bytes, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item, data in members.items():
            if item != name:
                archive.writestr(item, data)
        with archive.open(name, "w") as handle:
            handle.write(prefix)
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                handle.write(chunk)
    return buffer.getvalue()


def test_deflate_bombs_are_refused_unread(workdir, bases):
    members = _members(bases["gaussian-full"])
    # A small array followed by 64 MiB that its header does not declare.
    small = _bomb(members, "fitted.transmat_.npy", _npy_header((2, 2)) + bytes(32), 64 << 20)
    assert len(small) < 1 << 20
    _refused(_write(workdir, "bomb-tail.npz", small), "holds 67,109,024 bytes")
    # Metadata of 64 MiB.
    meta = members["metadata.json"]
    big_meta = _bomb(members, "metadata.json", meta, 64 << 20)
    _refused(_write(workdir, "bomb-meta.npz", big_meta), "metadata of at most")


def test_a_consistent_deflate_bomb_costs_one_copy_of_its_array(workdir, bases):
    # A header that accounts for its 32 MiB of zeros passes the size checks; the
    # array is read once into its own buffer and refused by the model's checks
    # (under _outcome's memory bound), with no second copy of it on the way.
    members = _members(bases["gaussian-full"])
    data = _bomb(members, "fitted.transmat_.npy", _npy_header((4096, 1024)), 32 << 20)
    assert len(data) < 1 << 20
    _refused(_write(workdir, "bomb-array.npz", data), "transmat_")


def _patch_sizes(data, name, compress_size=None, file_size=None, flag_bits=None,
                 method=None):
    """Rewrite the sizes (or flags, method) of member ``name`` in both of its ZIP headers."""
    data = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(name)
        central = archive.start_dir
        local = info.header_offset
    offset = central
    while data[offset:offset + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack("<HHH", data[offset + 28:offset + 34])
        if bytes(data[offset + 46:offset + 46 + n]).decode() == name:
            break
        offset += 46 + n + m + k
    for header, base in ((local, 4), (offset, 6)):  # local header fields start 2 bytes earlier
        if flag_bits is not None:
            struct.pack_into("<H", data, header + base + 2, flag_bits)
        if method is not None:
            struct.pack_into("<H", data, header + base + 4, method)
        if compress_size is not None:
            struct.pack_into("<I", data, header + base + 14, compress_size)
        if file_size is not None:
            struct.pack_into("<I", data, header + base + 18, file_size)
    return bytes(data)


def test_sizes_in_zip_headers_are_checked(workdir, bases):
    data = bases["gaussian-full"]
    name = "emission.means_.npy"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    # Uncompressed size beyond what deflate can produce from the compressed bytes.
    _refused(_write(workdir, "ratio.npz", _patch_sizes(data, name, file_size=1 << 31)),
             "more than its")
    # Compressed data larger than the file (members sharing data, or cut off).
    _refused(_write(workdir, "overlap.npz",
                    _patch_sizes(data, name, compress_size=len(data) + 1)), "overlaps")
    # A size that disagrees with the array header: the data ends early or runs on.
    _refused(_write(workdir, "short.npz",
                    _patch_sizes(data, name, file_size=info.file_size - 8)), name)
    _refused(_write(workdir, "encrypted.npz", _patch_sizes(data, name, flag_bits=1)),
             "encrypted")
    _refused(_write(workdir, "method.npz", _patch_sizes(data, name, method=12)),
             "compression method 12")


def test_stream_longer_than_declared_stops_at_the_declared_size(workdir, bases):
    members = _members(bases["gaussian-full"])
    name = "fitted.transmat_.npy"
    real = members[name]
    # The stream inflates to 64 MiB but the headers say it is the real member's size.
    data = _bomb(members, name, real, 64 << 20)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        compressed = archive.getinfo(name).compress_size
    data = _patch_sizes(data, name, file_size=len(real), compress_size=compressed)
    _refused(_write(workdir, "runs-on.npz", data), name)


def test_json_limits(workdir, bases):
    deep = _edit_meta(bases["poisson"], lambda m: m["model"]["params"].update(
        tol=json.loads("[" * 200 + "]" * 200)))
    _refused(_write(workdir, "deep.npz", deep), "nested more than 100 levels")
    members = _members(bases["poisson"])
    members["metadata.json"] = b"[" * 200000 + b"]" * 200000
    _refused(_write(workdir, "deeper.npz", _zip(members)), "nested too deeply")
    members["metadata.json"] = b"\xff\xfe not json"
    _refused(_write(workdir, "bytes.npz", _zip(members)), "metadata.json")


@pytest.mark.parametrize("replacement, message", [
    (np.array([None, 1], dtype=object), "dtype object"),
    (np.zeros(2, dtype=[("a", "<f8")]), "structured"),
    (np.zeros(2, dtype="M8[s]"), "datetime64"),
    (np.eye(2, dtype=complex), "complex128"),
    (np.zeros((2, 3)), "transmat_"),
    (np.zeros((2, 2), dtype="<U3"), "transmat_"),
])
def test_replaced_arrays(workdir, bases, replacement, message):
    members = _members(bases["gaussian-full"])
    members["fitted.transmat_.npy"] = _npy(replacement)
    _refused(_write(workdir, "replaced.npz", _zip(members)), message)


def test_scalar_references_and_duplicates(workdir, bases):
    poisson = bases["poisson"]

    def scalar(meta):
        meta["model"]["params"]["tol"] = {"$scalar": "fitted.transmat_"}

    _refused(_write(workdir, "scalar.npz", _edit_meta(poisson, scalar)), "a scalar was expected")

    def twice(meta):
        meta["model"]["params"]["tol"] = {"$array": "fitted.transmat_"}

    _refused(_write(workdir, "twice.npz", _edit_meta(poisson, twice)), "more than once")

    def missing(meta):
        meta["model"]["params"]["tol"] = {"$array": "no.such"}

    _refused(_write(workdir, "missing.npz", _edit_meta(poisson, missing)),
             "member no.such.npy is missing")


# ------------------------------------------------------------- settings
@pytest.mark.parametrize("base, edit, message", [
    ("poisson", {"n_iter": -5}, "n_iter must be a non-negative integer"),
    ("poisson", {"algorithm": ["viterbi"]}, "algorithm must be one of"),
    ("poisson", {"params": 5}, "params"),
    ("poisson", {"bogus": 1}, "unknown settings ['bogus'] for PoissonHMM"),
    ("markov-chain-named", {"n_states": -1}, "n_states"),
    ("higher-order-chain", {"order": [1]}, "order"),
    ("higher-order", {"order": 0}, "order must be a positive integer"),
    # Refused before anything is sized by the class number.
    ("categorical-emission-ties", {"emission_ties": [10**12, 0, 1]},
     "emission_ties must hold emission classes below n_components=3"),
])
def test_settings_are_validated_like_constructor_arguments(workdir, bases, base, edit,
                                                           message):
    data = _edit_meta(bases[base], lambda m: m["model"]["params"].update(edit))
    path = _write(workdir, f"setting-{base}.npz", data)
    _refused(path, message)


def test_nested_model_settings_are_validated(workdir, bases):
    def edit(meta):
        meta["model"]["params"]["model"]["$model"]["params"]["n_iter"] = -5

    _refused(_write(workdir, "nested.npz", _edit_meta(bases["higher-order"], edit)), "n_iter")


def test_memory_errors_while_building_become_value_errors(workdir, bases, monkeypatch):
    path = _write(workdir, "memory.npz", bases["poisson"])

    def greedy(self, reader, body):
        raise MemoryError("Unable to allocate 7.45 GiB")

    monkeypatch.setattr(hmm_core.PoissonHMM, "_restore_file_state", greedy)
    with pytest.raises(ValueError, match="need more memory than is available"):
        load_model(path)


# ------------------------------------------------------------- user metadata
def test_user_metadata_is_checked_on_save(tmp_path):
    chain = MarkovChain.from_params([1.0, 0.0], [[0.9, 0.1], [0.5, 0.5]])
    path = tmp_path / "c.npz"
    cases = [
        ({"note": np.int64(3)}, "metadata['note'] is not JSON-serialisable"),
        ({"score": float("nan")}, "metadata['score'] is not JSON-serialisable"),
        ({1: "x"}, "keys must be str"),
        ({"alphabet": 5}, "metadata['alphabet'] must be a str or a list of str"),
        ({"alphabet": {"symbols": "AC"}}, "metadata['alphabet'] must hold 'symbols'"),
        ({"columns": "abc"}, "metadata['columns'] must be a list"),
        ({"id_column": 1.5}, "metadata['id_column'] must be a column name"),
        ({"deep": json.loads("[" * 120 + "]" * 120)}, "metadata['deep'] nests"),
        ({"big": "x" * (17 << 20)}, "at most"),
    ]
    for metadata, message in cases:
        with pytest.raises(ValueError) as info:
            chain.save(path, metadata=metadata)
        assert message in str(info.value), (metadata.keys(), info.value)
        assert not path.exists()
    chain.save(path, metadata={"alphabet": "dna", "columns": ["a", 2], "id_column": "id"})
    assert read_user_metadata(path) == {
        "alphabet": {"symbols": list("ACGT"), "name": "DNA"}, "columns": ["a", 2],
        "id_column": "id"}


def test_read_user_metadata(workdir, bases):
    assert read_user_metadata(_write(workdir, "now.npz", bases["now"])) == {
        "alphabet": {"symbols": ["x", "y"], "name": None}, "columns": ["a", "b"],
        "id_column": 0}
    assert read_user_metadata(_write(workdir, "bare.npz", bases["poisson"]))["expected"]
    cases = [
        ({"alphabet": 5}, "user metadata['alphabet'] must be a str"),
        ({"alphabet": ["A", "a"]}, "user metadata['alphabet'] is not a valid alphabet"),
        ({"alphabet": {"symbols": ["A"], "name": 3}}, "'name' (a str or null)"),
        ({"columns": [1.5]}, "user metadata['columns']"),
        ({"id_column": True}, "user metadata['id_column']"),
    ]
    for user, message in cases:
        path = _write(workdir, "user.npz", _edit_meta(bases["now"], lambda m, u=user: {
            **m, "user": u}))
        with pytest.raises(ValueError) as info:
            read_user_metadata(path)
        assert str(info.value).startswith(str(path)) and message in str(info.value), \
            info.value
    path = _write(workdir, "list.npz", _edit_meta(bases["now"], lambda m: {**m, "user": [1]}))
    assert read_user_metadata(path) == {}
    assert read_metadata(path)["user"] == [1]


def test_writer_refuses_arrays_the_reader_refuses(tmp_path):
    model = CategoricalHMM(2, random_state=np.zeros(2, dtype="M8[s]"))
    with pytest.raises(ValueError, match="dtype datetime64"):
        save_model(model, tmp_path / "m.npz")


# ------------------------------------------------------------- hypothesis
_HYPOTHESIS = settings(max_examples=120, deadline=None, derandomize=True,
                       suppress_health_check=[HealthCheck.function_scoped_fixture])
_base_names = st.sampled_from(BASES + ["now"])


@_HYPOTHESIS
@given(name=_base_names, cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_files(workdir, name, cut):
    data = _bases()[name]
    _refused(_write(workdir, "cut.npz", data[:int(len(data) * cut)]))


@_HYPOTHESIS
@given(name=_base_names, flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True),
                                                  st.integers(1, 255)), min_size=1,
                                        max_size=8))
def test_flipped_bytes(workdir, name, flips):
    data = bytearray(_bases()[name])
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    _outcome(_write(workdir, "flipped.npz", bytes(data)))


_dtypes = st.sampled_from(["<f8", ">f8", "<f4", "<i8", "|u1", "|b1", "<c16", "<U3", "|S2",
                           "|O", "<M8[s]", "|V4", "<f2"])
_shapes = st.lists(st.integers(0, 5), max_size=4).map(tuple)


@st.composite
def _member_contents(draw):
    kind = draw(st.sampled_from(["array", "header", "bytes"]))
    if kind == "array":
        dtype = np.dtype(draw(_dtypes))
        arr = np.zeros(draw(_shapes), dtype=dtype)
        if dtype.kind == "O":
            arr = np.array([object()] * arr.size, dtype=object).reshape(arr.shape)
        order = draw(st.sampled_from(["C", "F"]))
        return _npy(np.asarray(arr, order=order))
    if kind == "header":
        shape = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 10**5, 2**40, 2**63]),
                                    max_size=4)))
        body = draw(st.binary(max_size=64))
        return _npy_header(shape, draw(_dtypes), draw(st.booleans())) + body
    return draw(st.binary(max_size=256))


@_HYPOTHESIS
@given(name=_base_names, data=st.data())
def test_replaced_members(workdir, name, data):
    members = _members(_bases()[name])
    arrays = sorted(m for m in members if m.endswith(".npy"))
    member = data.draw(st.sampled_from(arrays), label="member")
    members[member] = data.draw(_member_contents(), label="contents")
    compression = data.draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]))
    _outcome(_write(workdir, "member.npz", _zip(members, compression)))


_ints = st.sampled_from([-(10**30), -5, -1, 0, 1, 2, 3, 2**63, 10**30])
_scalars = st.one_of(st.none(), st.booleans(), _ints, st.floats(-1e300, 1e300),
                     st.text(max_size=6))


def _tagged(children):
    keys = st.sampled_from(["fitted.transmat_", "fitted.startprob_", "params.tol", "x", ""])
    return st.one_of(
        st.builds(lambda k: {"$array": k}, keys | _ints),
        st.builds(lambda k: {"$scalar": k}, keys),
        st.builds(lambda v: {"$tuple": v}, children),
        st.builds(lambda v: {"$slice": v}, st.lists(_ints | st.none(), max_size=4)),
        st.builds(lambda v: {"$float": v}, st.sampled_from(["nan", "inf", "x", 1])),
        st.builds(lambda v: {"$dict": v}, children),
        st.builds(lambda v: {"$random_state": v}, children),
        st.builds(lambda n, v: {"$generator": {"bit_generator": n, "state": v}},
                  st.sampled_from(["PCG64", "MT19937", "os"]), children),
        st.builds(lambda c, v: {"$model": {"class": c, "params": v}},
                  st.sampled_from(["GaussianHMM", "MarkovChain", "HigherOrderHMM", "eval"]),
                  children),
        st.builds(lambda c, v: {"$emission": {"class": c, "settings": v, "state": {}}},
                  st.sampled_from(["GaussianEmission", "CategoricalEmission", "x"]),
                  children),
        st.builds(lambda v: {"$unknown": v}, children),
    )


_json = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=4), children, max_size=4),
                               _tagged(children)),
    max_leaves=12)


def _nodes(value, path=()):
    """Paths of every node of a JSON document."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index))


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_base_names, data=st.data())
def test_mutated_metadata(workdir, name, data):
    members = _members(_bases()[name])
    meta = json.loads(members["metadata.json"])
    paths = list(_nodes(meta))
    path = data.draw(st.sampled_from(paths[1:]), label="path")
    depth = data.draw(st.sampled_from([0, 0, 0, 50, 99, 150, 5000]), label="nesting")
    value = data.draw(_json, label="value")
    parent = meta
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = "<placeholder>"
    # Deep nesting is written as text: json.dumps itself would recurse too deeply.
    text = json.dumps(meta).replace('"<placeholder>"',
                                    "[" * depth + json.dumps(value) + "]" * depth)
    members["metadata.json"] = text.encode()
    _outcome(_write(workdir, "meta.npz", _zip(members)))


@_HYPOTHESIS
@given(data=st.one_of(st.binary(max_size=2048),
                      st.binary(max_size=64).map(lambda b: b"PK\x03\x04" + b),
                      st.binary(max_size=64).map(lambda b: b"PK\x05\x06" + b + bytes(18))))
def test_data_that_is_not_a_zip_archive(workdir, data):
    _refused(_write(workdir, "junk.npz", data))


def test_npz_data_files_are_not_models(workdir):
    buffer = io.BytesIO()
    np.savez(buffer, X=REAL)
    _refused(_write(workdir, "data.npz", buffer.getvalue()), "not an hmm_core model file")
    compressed = zlib.compress(b"not a zip")
    _refused(_write(workdir, "z.npz", compressed), "not an hmm_core model file")


def test_the_archive_limits_are_those_documented():
    assert _archive.MAX_METADATA_BYTES == 16 << 20 and _archive.MAX_DEPTH == 100
    assert "16 MiB" in hmm_core.io.modelfile.__doc__
    assert "100 levels" in hmm_core.io.modelfile.__doc__


def test_saved_file_mode_follows_the_umask_and_devices_are_refused(tmp_path):
    model = hmm_core.CategoricalHMM(2, random_state=0).fit(np.array([[0], [1], [1], [0]]))
    old = os.umask(0o027)
    try:
        model.save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.npz").st_mode) == 0o640
    assert os.listdir(tmp_path) == ["m.npz"]
    if os.path.exists("/dev/null"):
        with pytest.raises(ValueError, match="not a regular file"):
            model.save("/dev/null")
        assert not os.path.isfile("/dev/null")
