"""The hmm-core command line and the file readers behind it."""

import csv
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import hmm_core
from hmm_core import CategoricalHMM, GaussianHMM, MarkovChain
from hmm_core.cli.commands import main
from hmm_core.io.formats import Alphabet, FormatError, iter_fasta_chunks, read_observations


@pytest.fixture(autouse=True)
def _outside_source_tree(tmp_path, monkeypatch):
    # Subprocesses put the working directory first on sys.path: keep it away
    # from the source tree, whose hmm_core/ has no compiled kernels.
    monkeypatch.chdir(tmp_path)


def _genome(path, n_records=6, seed=0, gz=False):
    rng = np.random.default_rng(seed)
    records = {}
    for r in range(n_records):
        parts = []
        for k in range(6):
            probs = [0.1, 0.4, 0.4, 0.1] if k % 2 else [0.4, 0.1, 0.1, 0.4]
            parts.append("".join(rng.choice(list("ACGT"), int(rng.integers(30, 120)), p=probs)))
        records[f"seq{r}"] = "".join(parts)
    text = "".join(f">seq{r} some description\n" + "\n".join(
        s[i:i + 50].lower() if i % 100 else s[i:i + 50] for i in range(0, len(s), 50)) + "\n"
        for r, s in enumerate(records.values()))
    if gz:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return records


def _codes(sequence):
    return np.array(["ACGT".index(c) for c in sequence.upper()])[:, None]


def _run(*args):
    """main() in-process; returns (status, stdout, stderr)."""
    return main([str(a) for a in args])


def _read_csv(path, delimiter=","):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


@pytest.fixture
def fitted(tmp_path):
    records = _genome(tmp_path / "genome.fa")
    status = _run("fit", "genome.fa", "--alphabet", "dna", "-n", 2, "--sticky", 0.99,
                  "-o", "gc.npz", "--summary", "fit.json", "-q")
    assert status == 0
    return records, hmm_core.load("gc.npz")


def test_fit_score_decode_on_fasta(tmp_path, fitted, capsys):
    records, model = fitted
    summary = json.loads((tmp_path / "fit.json").read_text())
    assert summary["class"] == "CategoricalHMM" and summary["n_sequences"] == len(records)
    assert summary["n_frames"] == sum(len(s) for s in records.values())
    assert hmm_core.io.read_metadata("gc.npz")["user"]["alphabet"]["symbols"] == list("ACGT")

    assert _run("score", "gc.npz", "genome.fa", "-o", "scores.tsv", "--summary", "s.json") == 0
    rows = _read_csv("scores.tsv", "\t")
    assert [r["sequence_id"] for r in rows] == list(records)
    for row, seq in zip(rows, records.values(), strict=True):
        assert int(row["length"]) == len(seq)
        assert float(row["log_likelihood"]) == model.score(_codes(seq))
    total = json.loads((tmp_path / "s.json").read_text())["log_likelihood"]
    assert total == pytest.approx(sum(float(r["log_likelihood"]) for r in rows))
    err = capsys.readouterr().err
    assert "scored 6 sequences" in err and "frames/s" in err and "\r" not in err

    assert _run("decode", "gc.npz", "genome.fa", "--segments", "-o", "seg.csv", "-q") == 0
    assert _run("decode", "gc.npz", "genome.fa", "-o", "paths.npz", "--posteriors",
                "post.npz", "-q") == 0
    seg = _read_csv("seg.csv")
    paths = np.load("paths.npz")
    post = np.load("post.npz")
    offsets = np.concatenate(([0], np.cumsum(paths["lengths"])))
    for k, (name, seq) in enumerate(records.items()):
        _, expected = model.decode(_codes(seq))
        assert np.array_equal(paths["states"][offsets[k]:offsets[k + 1]], expected)
        assert np.allclose(post["posteriors"][offsets[k]:offsets[k + 1]],
                           model.predict_proba(_codes(seq)))
        rebuilt = np.full(len(seq), -1)
        for r in seg:
            if r["sequence_id"] == name:
                rebuilt[int(r["start"]):int(r["end"])] = int(r["state"])
        assert np.array_equal(rebuilt, expected)
    assert list(paths["ids"]) == list(records)

    capsys.readouterr()
    assert _run("decode", "gc.npz", "genome.fa", "-q") == 0
    frames = capsys.readouterr().out.splitlines()
    assert frames[0] == "sequence_id,position,state" and len(frames) == 1 + sum(
        len(s) for s in records.values())


def test_streaming_in_small_chunks_gives_the_same_scores(tmp_path, fitted):
    records, _ = fitted
    _genome(tmp_path / "genome.fa.gz", gz=True)
    assert _run("score", "gc.npz", "genome.fa", "-o", "whole.csv", "-q") == 0
    assert _run("score", "gc.npz", "genome.fa.gz", "-o", "chunks.csv", "-q",
                "--chunk-size", 100, "--threads", 1) == 0
    assert _read_csv("whole.csv") == _read_csv("chunks.csv")
    sizes = [int(chunk.lengths.sum()) for chunk, _ in iter_fasta_chunks(
        "genome.fa", Alphabet.parse("DNA"), max_frames=400)]
    longest = max(len(s) for s in records.values())
    assert all(size <= max(400, longest) for size in sizes) and len(sizes) >= 3
    assert sum(sizes) == sum(len(s) for s in records.values())


def test_sample_and_info(tmp_path, fitted, capsys):
    assert _run("sample", "gc.npz", "-n", 40, "--sequences", 3, "--seed", 1, "-o", "s.fa") == 0
    sampled = read_observations("s.fa", alphabet=Alphabet.parse("DNA"))
    assert sampled.ids == ["sample1", "sample2", "sample3"]
    assert sampled.lengths.tolist() == [40, 40, 40]
    assert _run("sample", "gc.npz", "-n", 5, "-o", "s.npz") == 0
    assert np.load("s.npz")["X"].shape == (5, 1)
    capsys.readouterr()
    assert _run("sample", "gc.npz", "-n", 4) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "sequence_id,state,x0" and out[1].split(",")[2] in "ACGT"
    assert _run("info", "gc.npz") == 0
    text = capsys.readouterr().out
    assert "format version 1" in text and "emissionprob_ (2, 4)" in text
    assert _run("info", "gc.npz", "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["class"] == "CategoricalHMM" and info["n_components"] == 2
    assert info["user"]["alphabet"]["symbols"] == list("ACGT")


def test_tables_arrays_and_other_model_kinds(tmp_path, capsys):
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(0, 1, (50, 2)), rng.normal(5, 1, (50, 2))])
    ids = np.repeat(["u", "v", "w", "x"], 25)
    with open("data.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["seq", "a", "b"])
        writer.writerows([i, *row] for i, row in zip(ids, X.tolist(), strict=True))
    assert _run("fit", "data.csv", "--id-column", "seq", "--kind", "gaussian", "-n", 2,
                "--covariance-type", "full", "-o", "g.npz", "-q") == 0
    model = hmm_core.load("g.npz", expected=GaussianHMM)
    assert model.covariance_type == "full"
    assert _run("score", "g.npz", "data.csv", "-o", "scores.csv", "-q") == 0  # stored columns
    rows = _read_csv("scores.csv")
    assert [r["sequence_id"] for r in rows] == ["u", "v", "w", "x"]
    expected = model.score_sequences(X, [25] * 4)
    assert np.allclose([float(r["log_likelihood"]) for r in rows], expected)
    np.savez("data.npz", X=X, lengths=[25] * 4, ids=np.array(["u", "v", "w", "x"]))
    assert _run("score", "g.npz", "data.npz", "-o", "scores2.csv", "-q") == 0
    assert _read_csv("scores2.csv") == rows
    np.save("one.npy", X)
    assert _run("fit", "one.npy", "--kind", "gmm", "--n-mix", 2, "-n", 2, "--topology",
                "left-right", "-o", "lr.npz", "-q") == 0
    assert hmm_core.load("lr.npz").transmat_[1, 0] == 0.0
    assert _run("fit", "one.npy", "-n", 3, "--topology", "left-right", "--sticky", 0.9,
                "--end-state", "-o", "lr_end.npz", "-q") == 0
    lr_end = hmm_core.load("lr_end.npz")
    assert lr_end.transmat_[2, 1] == 0.0 and lr_end.endprob_[0] == 0.0 and lr_end.endprob_[2] > 0
    counts = rng.poisson(3, (60, 2))
    np.savetxt("counts.tsv", counts, delimiter="\t", fmt="%d")
    assert _run("fit", "counts.tsv", "--kind", "poisson", "-n", 2, "-o", "p.npz", "-q") == 0
    # A Markov chain over weather words, with a custom alphabet, from a table.
    with open("weather.csv", "w") as handle:
        handle.write("day,weather\n" + "".join(f"{d},{w}\n" for d, w in enumerate(
            ["sun", "sun", "rain", "Rain", "fog", "sun"] * 5)))
    assert _run("fit", "weather.csv", "--columns", "weather", "--alphabet", "sun,rain,fog",
                "--kind", "markov", "-o", "mc.npz", "-q") == 0
    chain = hmm_core.load("mc.npz", expected=MarkovChain)
    assert chain.transmat_.shape == (3, 3)
    assert _run("score", "mc.npz", "weather.csv", "-q", "-o", "mc.csv") == 0
    assert float(_read_csv("mc.csv")[0]["log_likelihood"]) == pytest.approx(
        chain.score([0, 0, 1, 1, 2, 0] * 5))
    assert _run("sample", "mc.npz", "-n", 5, "-o", "mc_sample.csv") == 0
    assert {r["weather"] for r in _read_csv("mc_sample.csv")} <= {"sun", "rain", "fog"}


def test_unknown_symbols_are_errors_or_missing(tmp_path, fitted, capsys):
    (tmp_path / "n.fa").write_text(">r1\nACGTNNAC\n>r2\nGGCC\n")
    assert _run("score", "gc.npz", "n.fa") == 1
    err = capsys.readouterr().err
    assert "record 'r1' (line 1), position 5: symbol 'N' is not in DNA" in err
    assert "--unknown missing" in err
    assert _run("score", "gc.npz", "n.fa", "--unknown", "missing", "-o", "n.csv", "-q") == 0
    _, model = fitted
    codes = np.array([0, 1, 2, 3, -1, -1, 0, 1])[:, None]
    assert float(_read_csv("n.csv")[0]["log_likelihood"]) == model.score(codes)
    fastq = "@r1\nACGTAC\n+\nIIIIII\n@r2 x\nGGCC\n+r2\nIIII\n"
    (tmp_path / "reads.fq").write_text(fastq)
    assert _run("score", "gc.npz", "reads.fq", "-o", "fq.csv", "-q") == 0
    assert [r["sequence_id"] for r in _read_csv("fq.csv")] == ["r1", "r2"]


@pytest.mark.parametrize("text,message", [
    ("ACGT\n>r\nAC\n", "line 1: expected a FASTA header starting with '>'"),
    (">r1\n>r2\nAC\n", "line 1: record 'r1' has no sequence"),
    (">\nACGT\n", "line 1: empty header"),
    ("", "no FASTA record found"),
    (">r1\nAC GT\n>r2\nAC#T\n", "record 'r2' (line 3), position 3: symbol '#'"),
])
def test_malformed_fasta(tmp_path, fitted, capsys, text, message):
    (tmp_path / "bad.fa").write_text(text)
    assert _run("score", "gc.npz", "bad.fa") == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("hmm-core: error: bad.fa")


@pytest.mark.parametrize("text,message", [
    ("@r1\nACGT\n+\nIII\n", "3 quality values for 4 symbols"),
    ("@r1\nACGT\n", "is truncated"),
    ("@r1\nACGT\n-\nIIII\n", "expected a '+' line"),
    (">r1\nACGT\n", "expected a FASTQ header starting with '@'"),
])
def test_malformed_fastq(tmp_path, fitted, capsys, text, message):
    (tmp_path / "bad.fastq").write_text(text)
    assert _run("score", "gc.npz", "bad.fastq") == 1
    assert message in capsys.readouterr().err


def test_user_errors_are_one_line(tmp_path, fitted, capsys):
    np.savez("data.npz", X=np.zeros((5, 2)))
    MarkovChain.from_params(None, [[0.5, 0.5], [0.5, 0.5]]).save("chain.npz")
    np.save("wide.npy", np.zeros((5, 3)))
    (tmp_path / "table.csv").write_text("a,b\n1,2\n3\n")
    (tmp_path / "n.fa").write_text(">r1\nACGTNNAC\n")
    (tmp_path / "trunc.npz").write_bytes((tmp_path / "gc.npz").read_bytes()[:300])
    packed = gzip.compress((tmp_path / "genome.fa").read_bytes())
    (tmp_path / "cut.fa.gz").write_bytes(packed[:len(packed) // 2])
    (tmp_path / "latin1.csv").write_bytes(b"a\n\xff\n")
    cases = [
        (("score", "gc.npz", "missing.fa"), "no such file: 'missing.fa'", 1),
        (("score", "missing.npz", "genome.fa"), "no such file: 'missing.npz'", 1),
        (("score", "data.npz", "genome.fa"), "data.npz: not an hmm_core model file", 1),
        (("score", "genome.fa", "genome.fa"), "genome.fa: not an hmm_core model file", 1),
        (("decode", "chain.npz", "data.npz"), "chain.npz holds a MarkovChain", 1),
        (("score", "gc.npz", "wide.npy"), "wide.npy does not fit the model gc.npz", 1),
        (("score", "gc.npz", "genome.fa", "--alphabet", "ACGTU"), "has 5 symbols but the "
                                                                   "model emits 4", 1),
        (("fit", "table.csv", "-o", "t.npz"), "table.csv, line 3: 1 fields, expected 2", 1),
        (("fit", "genome.fa", "-o", "x.npz"), "needs an alphabet", 1),
        (("fit", "genome.fa", "--alphabet", "DNA", "--kind", "poisson", "-o", "x.npz"),
         "use --kind categorical", 2),
        (("score", "gc.npz", "genome.txt.gz"), "no such file", 1),
        (("score", "gc.npz", "genome.fa", "--chunk-size", 0), "--chunk-size", 2),
        (("fit", "data.npz", "-n", 0, "-o", "x.npz"), "--states must be at least 1", 2),
        (("score", "gc.npz", "fit.json"), "cannot tell the format", 1),
        (("info", str(tmp_path)), "Is a directory", 1),
        (("score", "gc.npz", "n.fa"), "position 5: symbol 'N' is not in DNA", 1),
        (("score", "gc.npz", "table.csv"), "symbol '1' is not in DNA", 1),
        (("score", "gc.npz", "trunc.npz"), "trunc.npz: not a readable NumPy file", 1),
        (("score", "trunc.npz", "genome.fa"), "trunc.npz: not an hmm_core model file", 1),
        (("score", "gc.npz", "cut.fa.gz"), "the compressed file is truncated or corrupt", 1),
        (("fit", "latin1.csv", "-o", "x.npz"), "latin1.csv: not a UTF-8 text table", 1),
        (("sample", "gc.npz", "--alphabet", "AB", "-o", "s.fa"), "has 2 symbols but the "
                                                                 "model emits 4", 1),
        (("fit", "data.npz", "-o", "no/such/dir/m.npz"), "no/such/dir/m.npz: No such", 1),
        (("decode", "gc.npz", "genome.fa", "-o", "no/dir/paths.csv"), "No such", 1),
        (("decode", "gc.npz", "genome.fa", "--posteriors", "no/dir/p.npz"), "No such", 1),
        (("score", "gc.npz", "genome.fa", "--summary", str(tmp_path)), "Is a directory", 1),
    ]
    for args, message, status in cases:
        assert _run(*args) == status, args
        err = capsys.readouterr().err
        assert message in err, (args, err)
        assert err.count("\n") == 1 and "Traceback" not in err


def test_an_internal_error_is_one_line_too(fitted, capsys, monkeypatch):
    from hmm_core.cli import commands as cli

    def broken(args):
        raise IndexError("index 4 is out of bounds")

    monkeypatch.setitem(cli._COMMANDS, "info", broken)
    assert _run("info") == 3
    err = capsys.readouterr().err
    assert err.startswith("hmm-core: error: internal error (IndexError: index 4 is out of "
                          "bounds); please report it") and err.count("\n") == 1
    monkeypatch.setenv("HMM_CORE_TRACEBACK", "1")
    with pytest.raises(IndexError):
        _run("info")


def test_subprocess_entry_points_quiet_progress_and_no_traceback(tmp_path, fitted):
    run = [sys.executable, "-m", "hmm_core"]
    piped = subprocess.run(run + ["score", "gc.npz", "genome.fa"], capture_output=True,
                           text=True, timeout=300)
    assert piped.returncode == 0 and piped.stdout.startswith("sequence_id,length,")
    # Piped: no progress bar, just the throughput line.
    assert "\r" not in piped.stderr and piped.stderr.count("\n") == 1
    quiet = subprocess.run(run + ["score", "gc.npz", "genome.fa", "--quiet"],
                           capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == ""
    (tmp_path / "bad.fa").write_text("no header\n")
    bad = subprocess.run(run + ["score", "gc.npz", "bad.fa"], capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("hmm-core: error: bad.fa, line 1")
    script = os.path.join(os.path.dirname(sys.executable), "hmm-core")
    if os.path.exists(script):
        version = subprocess.run([script, "--version"], capture_output=True, text=True,
                                 timeout=300)
        assert version.stdout.startswith("hmm-core ")


def test_readers_directly(tmp_path):
    alphabet = Alphabet.parse("HL", unknown="missing")
    assert alphabet.encode("hlxH").tolist() == [0, 1, -1, 0]
    with pytest.raises(ValueError, match="distinct"):
        Alphabet(["a", "A"])
    words = Alphabet.parse("sun, rain")
    with pytest.raises(ValueError, match="multi-character"):
        words.encode("sun")
    (tmp_path / "plain.csv").write_text("1,2\n3,4\nNA,6\n")
    obs = read_observations("plain.csv")
    assert obs.columns is None and obs.X.shape == (3, 2) and np.isnan(obs.X[2, 0])
    (tmp_path / "cells.tsv").write_text("id\tw\nA\tsun\nB\train\nA\train\n")
    obs = read_observations("cells.tsv", alphabet=words, id_column="id")
    assert obs.ids == ["A", "B"] and obs.lengths.tolist() == [2, 1]
    assert obs.X[:, 0].tolist() == [0, 1, 1]
    (tmp_path / "bad.csv").write_text("x\n1\nabc\n")
    with pytest.raises(FormatError, match="line 3: 'abc' is not a number"):
        read_observations("bad.csv")
    np.savez("no_x.npz", a=np.zeros(3), b=np.zeros(3))
    with pytest.raises(FormatError, match="expected an array named 'X'"):
        read_observations("no_x.npz")
    np.savez("bad_lengths.npz", X=np.zeros((4, 1)), lengths=[2, 3])
    with pytest.raises(FormatError, match="lengths"):
        read_observations("bad_lengths.npz")
    CategoricalHMM(2).save("model.npz")
    with pytest.raises(FormatError, match="is an hmm_core model file, not data"):
        read_observations("model.npz")


def test_progress_bar_and_stream(capsys):
    from hmm_core.cli._batch import Progress, chunk_frames, segments, stream
    from hmm_core.io.formats import Observations

    bar = Progress(total=1000, enabled=True, label="scoring")
    bar._last = 0.0  # skip the redraw throttle
    bar.update(500, 3, 1200)
    bar.close()
    err = capsys.readouterr().err
    assert err.startswith("\rscoring  50.0% |###############") and "3 seqs" in err
    Progress(1000, enabled=False, label="x").update(500, 1, 1)
    assert capsys.readouterr().err == ""
    chunks = [(Observations(["a"], np.zeros((4, 1)), np.array([4])), 10),
              (Observations(["b", "c"], np.zeros((3, 1)), np.array([1, 2])), 20)]
    seen = []
    stats = stream(chunks, 20, lambda chunk: seen.append(chunk.ids), False, "x")
    assert seen == [["a"], ["b", "c"]] and stats["n_sequences"] == 3 and stats["n_frames"] == 7
    assert chunk_frames(2) >= 1 << 16 and chunk_frames(2, 10) == 10
    seq, start, end, state = segments(np.array([0, 0, 1, 1, 1, 0]), np.array([3, 3]))
    assert seq.tolist() == [0, 0, 1, 1] and start.tolist() == [0, 2, 0, 2]
    assert end.tolist() == [2, 3, 2, 3] and state.tolist() == [0, 1, 1, 0]


# ------------------------------------------------------- bounded memory
_MEASURE = """
import resource, sys
from hmm_core.cli.commands import main
status = main(sys.argv[1:])
print(status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
"""


def _random_fasta(path, n_records, record_length=6000, seed=0):
    """Records of ``record_length`` random bases in lines of 60, written with NumPy."""
    rng = np.random.default_rng(seed)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(path, "wb") as out:
        for r in range(n_records):
            body = bases[rng.integers(0, 4, (record_length // 60, 61))]
            body[:, 60] = ord("\n")
            out.write(b">r%d\n" % r + body.tobytes())
    return n_records * record_length


def _peak_kib(*args):
    result = subprocess.run([sys.executable, "-c", _MEASURE, *map(str, args)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    status, peak = result.stdout.split()
    assert status == "0"
    return int(peak)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB (Linux)")
def test_streaming_memory_does_not_grow_with_the_file(tmp_path):
    model = CategoricalHMM(2, n_features=4)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.array([[0.99, 0.01], [0.01, 0.99]])
    model.emissionprob_ = np.array([[0.4, 0.1, 0.1, 0.4], [0.1, 0.4, 0.4, 0.1]])
    model.save("m.npz", metadata={"alphabet": Alphabet.parse("DNA").to_json()})
    small = _random_fasta(tmp_path / "small.fa", 150)
    large = _random_fasta(tmp_path / "large.fa", 750)  # 5x the frames, 4.5 MB
    assert large == 5 * small
    options = ("-q", "-o", os.devnull, "--chunk-size", 20_000)  # 3 records a chunk
    peak_small = _peak_kib("score", "m.npz", "small.fa", *options)
    peak_large = _peak_kib("score", "m.npz", "large.fa", *options)
    # Reading the whole file would hold at least its int64 codes: 8 bytes a frame,
    # 28 MiB more for the large file. Streaming keeps the peak where it was.
    extra = 8 * (large - small) // 1024
    assert peak_large - peak_small < extra // 4, (peak_small, peak_large, extra)


def _stderr_on_a_terminal(args):
    """Run ``python -m hmm_core args`` with stderr on a pseudo-terminal; its stderr text."""
    import pty
    import select

    leader, follower = pty.openpty()
    try:
        result = subprocess.run([sys.executable, "-m", "hmm_core", *map(str, args)],
                                stdout=subprocess.DEVNULL, stderr=follower, timeout=300)
        os.close(follower)
        follower = None
        chunks = []
        while select.select([leader], [], [], 0.5)[0]:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    assert result.returncode == 0
    return b"".join(chunks).decode()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals")
def test_progress_bar_only_on_a_terminal_and_never_with_quiet(tmp_path, fitted):
    _random_fasta(tmp_path / "reads.fa", 40)
    shown = _stderr_on_a_terminal(["score", "gc.npz", "reads.fa", "--chunk-size", 6000])
    assert "\r" in shown  # the bar is drawn (and erased) on a terminal
    assert "scored 40 sequences (240,000 frames)" in shown and "frames/s" in shown
    quiet = _stderr_on_a_terminal(["score", "gc.npz", "reads.fa", "--chunk-size", 6000, "-q"])
    assert quiet == ""
