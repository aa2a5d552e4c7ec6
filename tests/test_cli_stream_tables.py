"""CSV/TSV tables and .npy/.npz arrays streamed in chunks by fit, score and decode."""

import gc
import tracemalloc
import zipfile

import numpy as np
import pytest

import hmm_core
from hmm_core.cli.commands import main
from hmm_core.io._chunked import iter_array_chunks, iter_table_chunks, table_grouped
from hmm_core.io.formats import FormatError, read_arrays, read_table


@pytest.fixture(autouse=True)
def _outside_source_tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _run(*args):
    return main([str(a) for a in args])


def _data(n_seq, seed=0, low=30, high=60):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(low, high, n_seq)
    X = np.concatenate([np.where(rng.random((n, 1)) < 0.5, rng.normal(-2, 1, (n, 2)),
                                 rng.normal(2, 1, (n, 2))) for n in lengths])
    return X, lengths.astype(np.int64), [f"s{i}" for i in range(n_seq)]


def _write_csv(path, X, lengths, ids):
    rows = ["seq,a,b"]
    for name, block in zip(ids, np.split(X, np.cumsum(lengths)[:-1]), strict=True):
        rows += [f"{name},{float(a)!r},{float(b)!r}" for a, b in block]
    path.write_text("\n".join(rows) + "\n")


def _write_npz(path, X, lengths, ids, compressed=False):
    (np.savez_compressed if compressed else np.savez)(path, X=X, lengths=lengths,
                                                      ids=np.array(ids))


def _read(path):
    return path.read_text().splitlines()


@pytest.mark.parametrize("kind", ["csv", "npz", "npz-deflated", "tsv"])
def test_readers_match_the_whole_file_readers(tmp_path, kind):
    X, lengths, ids = _data(12)
    if kind.startswith("npz"):
        path = tmp_path / "d.npz"
        _write_npz(path, X, lengths, ids, compressed=kind == "npz-deflated")
        whole, chunks = read_arrays(path), list(iter_array_chunks(path, 100))
    else:
        path = tmp_path / f"d.{kind}"
        _write_csv(path, X, lengths, ids)
        if kind == "tsv":
            path.write_text(path.read_text().replace(",", "\t"))
        whole = read_table(path, id_column="seq")
        chunks = list(iter_table_chunks(path, 100, id_column="seq"))
    assert len(chunks) > 3
    assert all(c.lengths.sum() <= max(100, c.lengths.max()) for c, _ in chunks)
    assert np.array_equal(np.concatenate([c.X for c, _ in chunks]), whole.X)
    assert np.array_equal(np.concatenate([c.lengths for c, _ in chunks]), whole.lengths)
    assert [i for c, _ in chunks for i in c.ids] == whole.ids
    assert all(c.columns == whole.columns for c, _ in chunks)
    assert chunks[-1][1] == path.stat().st_size


def test_npy_is_one_sequence(tmp_path):
    X, _, _ = _data(3)
    np.save(tmp_path / "d.npy", X)
    (chunk, _), = iter_array_chunks(tmp_path / "d.npy", 10)
    assert np.array_equal(chunk.X, X) and chunk.lengths.tolist() == [len(X)]


@pytest.mark.parametrize("kind", ["csv", "npz"])
def test_fit_score_decode_do_not_depend_on_the_chunk_size(tmp_path, kind):
    X, lengths, ids = _data(40)
    data = tmp_path / f"d.{kind}"
    (_write_csv if kind == "csv" else _write_npz)(data, X, lengths, ids)
    extra = ("--id-column", "seq") if kind == "csv" else ()
    fits = {}
    for size in (50, 10**6):
        model = tmp_path / f"m{size}.npz"
        assert _run("fit", data, *extra, "--kind", "gaussian", "-n", 2, "--seed", 3,
                    "--n-iter", 15, "-o", model, "--chunk-size", size, "-q",
                    "--summary", tmp_path / f"s{size}.json") == 0
        fits[size] = hmm_core.load(model)
        for command in ("score", "decode"):
            assert _run(command, model, data, *extra, "-o", tmp_path / f"{command}{size}.csv",
                        "--chunk-size", size, "-q") == 0
    small, large = fits[50], fits[10**6]
    for name in ("startprob_", "transmat_", "means_", "covars_"):
        np.testing.assert_allclose(getattr(small, name), getattr(large, name),
                                   rtol=1e-10, atol=1e-10)
    # the model the command line builds, fitted to the whole arrays in memory
    from hmm_core.cli._fit import _build_model
    from hmm_core.cli._parser import build_parser

    args = build_parser().parse_args(["fit", "x", "--kind", "gaussian", "-n", "2", "--seed",
                                      "3", "--n-iter", "15", "-o", "x.npz"])
    direct = _build_model(args, None)[0].fit(X, lengths)
    np.testing.assert_allclose(direct.means_, large.means_, rtol=1e-10, atol=1e-10)
    for command in ("score", "decode"):
        a, b = _read(tmp_path / f"{command}50.csv"), _read(tmp_path / f"{command}1000000.csv")
        if command == "decode":
            assert a == b
        else:
            assert len(a) == len(b) == len(ids) + 1
            for ra, rb in zip(a[1:], b[1:], strict=True):
                assert ra.split(",")[0] == rb.split(",")[0]
                np.testing.assert_allclose(float(ra.split(",")[1]), float(rb.split(",")[1]),
                                           rtol=1e-10)
    import json
    sa = json.loads((tmp_path / "s50.json").read_text())
    sb = json.loads((tmp_path / "s1000000.json").read_text())
    assert sa["n_frames"] == sb["n_frames"] == int(lengths.sum())
    assert sa["n_sequences"] == sb["n_sequences"] == len(ids)
    np.testing.assert_allclose(sa["log_likelihood"], sb["log_likelihood"], rtol=1e-10)


def _fit_peak(path, extra, chunk):
    gc.collect()
    tracemalloc.start()
    try:
        assert _run("fit", path, *extra, "--kind", "gaussian", "-n", 2, "--seed", 0,
                    "--n-iter", 2, "-o", path.with_suffix(".model.npz"),
                    "--chunk-size", chunk, "-q") == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["csv", "npz"])
def test_fit_memory_does_not_grow_with_the_file(tmp_path, kind, monkeypatch):
    # EM's initialisation sample has its own bound (100,000 frames): shrink it
    # so that both files are larger than it
    monkeypatch.setattr("hmm_core.hmm._streaming.INIT_SAMPLE_FRAMES", 500)
    chunk = 2000
    peaks = {}
    for factor in (2, 20):
        X, lengths, ids = _data(factor * chunk // 45, seed=factor)
        path = tmp_path / f"d{factor}.{kind}"
        (_write_csv if kind == "csv" else _write_npz)(path, X, lengths, ids)
        extra = ("--id-column", "seq") if kind == "csv" else ()
        peaks[factor] = _fit_peak(path, extra, chunk)
        size = X.nbytes
    print(f"{kind}: peak {peaks[2] / 1e6:.2f} MB (2x chunk), {peaks[20] / 1e6:.2f} MB "
          f"(20x chunk); X of the 20x file {size / 1e6:.2f} MB")
    assert peaks[20] < 1.5 * peaks[2] + 200_000


def test_ungrouped_ids(tmp_path):
    (tmp_path / "t.csv").write_text("id,x\na,1\na,2\nb,3\na,4\n")
    with pytest.raises(FormatError, match="line 5.*rows of each id together"):
        list(iter_table_chunks(tmp_path / "t.csv", 10, id_column="id"))
    assert not table_grouped(tmp_path / "t.csv", "id")
    assert table_grouped(tmp_path / "t.csv", None)
    # the command line reads such a table whole, as before
    assert _run("fit", tmp_path / "t.csv", "--id-column", "id", "--kind", "gaussian",
                "-n", 1, "-o", tmp_path / "m.npz", "-q") == 0
    assert _run("score", tmp_path / "m.npz", tmp_path / "t.csv", "--id-column", "id",
                "-o", tmp_path / "s.csv", "-q") == 0
    assert [r.split(",")[0] for r in _read(tmp_path / "s.csv")[1:]] == ["a", "b"]


def test_table_errors_match_the_whole_file_reader(tmp_path):
    cases = {"empty.csv": "", "head.csv": "x,y\n", "bad.csv": "x,y\n1,2\n3,oops\n",
             "short.csv": "x,y\n1,2\n3\n"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(FormatError) as whole:
            read_table(tmp_path / name)
        with pytest.raises(FormatError) as chunked:
            list(iter_table_chunks(tmp_path / name, 10))
        assert str(whole.value) == str(chunked.value)


def test_truncated_npz(tmp_path):
    X, lengths, ids = _data(10)
    for compressed in (False, True):
        path = tmp_path / "d.npz"
        _write_npz(path, X, lengths, ids, compressed)
        data = path.read_bytes()
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("X.npy")
        cut = tmp_path / "cut.npz"  # keep the central directory, lose part of X's data
        cut.write_bytes(data[:info.header_offset + 200] + data[info.header_offset + 200:]
                        [info.compress_size // 2:])
        with pytest.raises(FormatError, match="cut.npz"):
            list(iter_array_chunks(cut, 50))
        (tmp_path / "end.npz").write_bytes(data[:len(data) // 2])
        with pytest.raises(FormatError, match="end.npz"):
            list(iter_array_chunks(tmp_path / "end.npz", 50))
        assert _run("fit", cut, "--kind", "gaussian", "-o", tmp_path / "m.npz", "-q") != 0


def test_lengths_not_adding_up(tmp_path):
    X, lengths, ids = _data(5)
    np.savez(tmp_path / "d.npz", X=X, lengths=lengths[:-1], ids=np.array(ids[:-1]))
    with pytest.raises(FormatError, match=r"d.npz: lengths must be positive integers summing"):
        list(iter_array_chunks(tmp_path / "d.npz", 50))
    np.savez(tmp_path / "e.npz", X=X, lengths=lengths, ids=np.array(ids[:-1]))
    with pytest.raises(FormatError, match=r"e.npz: 4 ids for 5 sequences"):
        list(iter_array_chunks(tmp_path / "e.npz", 50))
    np.savez(tmp_path / "f.npz", X=np.zeros((0, 2)))
    with pytest.raises(FormatError, match=r"f.npz: X must be a non-empty"):
        list(iter_array_chunks(tmp_path / "f.npz", 50))
    assert _run("fit", tmp_path / "d.npz", "--kind", "gaussian", "-o", tmp_path / "m.npz",
                "-q") != 0


def test_fit_streams_several_files(tmp_path, capsys):
    X, lengths, ids = _data(20)
    half = int(lengths[:10].sum())
    _write_npz(tmp_path / "a.npz", X[:half], lengths[:10], ids[:10])
    _write_npz(tmp_path / "b.npz", X[half:], lengths[10:], ids[10:])
    _write_npz(tmp_path / "all.npz", X, lengths, ids)
    for names, out in ((("a.npz", "b.npz"), "two.npz"), (("all.npz",), "one.npz")):
        assert _run("fit", *[tmp_path / n for n in names], "--kind", "gaussian", "-n", 2,
                    "--seed", 1, "--n-iter", 5, "--chunk-size", 80, "-o", tmp_path / out,
                    "-q") == 0
    np.testing.assert_allclose(hmm_core.load(tmp_path / "two.npz").means_,
                               hmm_core.load(tmp_path / "one.npz").means_, rtol=1e-10)
    _write_npz(tmp_path / "c.npz", X[:half], lengths[:10], ids[:10])
    assert _run("fit", tmp_path / "a.npz", tmp_path / "c.npz", "--kind", "gaussian",
                "--chunk-size", 80, "-o", tmp_path / "bad.npz", "-q") == 1
    assert "'s0' is in both" in capsys.readouterr().err
