"""hmm-core outputs other tools read (BED, bedGraph, gzip), several inputs, flags, warnings."""

import gzip
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import hmm_core
from hmm_core.cli._parser import build_parser
from hmm_core.cli.commands import main


@pytest.fixture(autouse=True)
def _outside_source_tree(tmp_path, monkeypatch):
    # Subprocesses put the working directory first on sys.path: keep it away
    # from the source tree, whose hmm_core/ has no compiled kernels.
    monkeypatch.chdir(tmp_path)


def _fasta(path, names, seed):
    rng = np.random.default_rng(seed)
    records = {}
    for name in names:
        parts = ["".join(rng.choice(list("ACGT"), int(rng.integers(40, 90)),
                                    p=[0.1, 0.4, 0.4, 0.1] if k % 2 else [0.4, 0.1, 0.1, 0.4]))
                 for k in range(4)]
        records[name] = "".join(parts)
    path.write_text("".join(f">{n} a description\n{s}\n" for n, s in records.items()))
    return records


def _run(*args):
    return main([str(a) for a in args])


@pytest.fixture
def files(tmp_path):
    one = _fasta(tmp_path / "one.fa", ["chr1", "chr2"], 0)
    two = _fasta(tmp_path / "two.fa", ["chrX"], 1)
    assert _run("fit", "one.fa", "two.fa", "--alphabet", "DNA", "-n", 2, "--sticky", 0.99,
                "-o", "m.npz", "-q") == 0
    return {**one, **two}


# ------------------------------------------------------------------ BED rules
_BED_LINE = re.compile(r"^[^\s]+\t\d+\t\d+\t[^\s]+$")


def _check_bed(text, lengths):
    """The BED rules bedtools sort relies on: tab-separated, no header, 0-based half-open."""
    assert text.endswith("\n") and "\r" not in text
    rows = [line.split("\t") for line in text.splitlines()]
    covered = {}
    for line, row in zip(text.splitlines(), rows, strict=True):
        assert _BED_LINE.match(line), line  # no header, no track line, 4 fields
        chrom, start, end = row[0], int(row[1]), int(row[2])
        assert 0 <= start < end <= lengths[chrom]
        covered.setdefault(chrom, []).append((start, end))
    for chrom, spans in covered.items():  # the runs tile each record exactly
        assert spans[0][0] == 0 and spans[-1][1] == lengths[chrom]
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    return rows


def test_bed_segments_follow_the_format(files):
    lengths = {name: len(s) for name, s in files.items()}
    assert _run("decode", "m.npz", "one.fa", "two.fa", "-o", "seg.bed",
                "--state-names", "AT,GC", "-q") == 0
    rows = _check_bed(open("seg.bed").read(), lengths)
    assert {r[0] for r in rows} == {"chr1", "chr2", "chrX"}  # ids kept per file
    assert {r[3] for r in rows} <= {"AT", "GC"}
    # The same runs as the CSV segments, shifted by nothing: 0-based, end exclusive.
    assert _run("decode", "m.npz", "one.fa", "two.fa", "--segments", "-o", "seg.csv",
                "-q") == 0
    csv_rows = [line.split(",") for line in open("seg.csv").read().splitlines()[1:]]
    assert [r[:3] for r in rows] == [r[:3] for r in csv_rows]
    assert [r[3] for r in rows] == [["AT", "GC"][int(r[3])] for r in csv_rows]
    # Without --state-names: state0, state1; --output-format bed wins over the extension.
    assert _run("decode", "m.npz", "one.fa", "-o", "seg.txt", "--output-format", "bed",
                "-q") == 0
    names = {r[3] for r in _check_bed(open("seg.txt").read(), lengths)}
    assert names <= {"state0", "state1"}


def test_bed_refuses_ids_and_names_with_whitespace(tmp_path, files):
    (tmp_path / "t.csv").write_text("id,x\nmy seq,A\nmy seq,C\n")
    assert _run("decode", "m.npz", "t.csv", "--id-column", "id", "-o", "t.bed", "-q") == 1
    assert not os.path.exists("t.bed")
    assert _run("decode", "m.npz", "one.fa", "-o", "s.bed", "--state-names", "a b,c",
                "-q") == 2
    assert _run("decode", "m.npz", "one.fa", "-o", "s.bed", "--state-names", "a", "-q") == 2


def test_bedgraph_posteriors_one_track_per_state_or_one(files):
    lengths = {name: len(s) for name, s in files.items()}
    assert _run("decode", "m.npz", "one.fa", "two.fa", "-o", "p.npz", "--posteriors",
                "post.bedgraph", "-q") == 0
    stored = np.load("p.npz")
    text = open("post.bedgraph").read()
    tracks = re.split(r"^track .*\n", text, flags=re.M)
    assert tracks[0] == "" and len(tracks) == 3
    assert text.startswith('track type=bedGraph name="state0"')
    decoded = np.load("p.npz")
    offsets = dict(zip(decoded["ids"].tolist(), np.cumsum(
        np.concatenate(([0], decoded["lengths"][:-1]))).tolist(), strict=True))
    model = hmm_core.load("m.npz")
    X = np.concatenate([np.array(["ACGT".index(c) for c in s]) for s in files.values()])
    post = model.predict_proba(X, [len(s) for s in files.values()])
    assert stored["states"].shape == (X.shape[0],)
    for state, body in enumerate(tracks[1:]):
        rows = [line.split("\t") for line in body.splitlines()]
        seen = {}
        for chrom, start, end, value in rows:
            start, end, value = int(start), int(end), float(value)
            assert 0 <= start < end <= lengths[chrom]
            assert seen.get(chrom, 0) == start  # contiguous, 0-based half-open
            seen[chrom] = end
            frames = post[offsets[chrom] + start:offsets[chrom] + end, state]
            assert np.allclose(frames, value, atol=1e-6)
        assert seen == lengths
    assert _run("decode", "m.npz", "one.fa", "-o", os.devnull, "--posteriors", "gc.bg.gz",
                "--state-names", "AT,GC", "--posterior-state", "GC", "-q") == 0
    with gzip.open("gc.bg.gz", "rt") as handle:
        lines = handle.read().splitlines()
    assert lines[0].startswith('track type=bedGraph name="GC"')
    assert sum(line.startswith("track") for line in lines) == 1
    assert _run("decode", "m.npz", "one.fa", "--posteriors", "x.bg", "--posterior-state", 5,
                "-o", os.devnull, "-q") == 2


# ------------------------------------------------------------ formats and gzip
def test_output_format_is_explicit_or_from_a_known_extension(files, capsys):
    assert _run("score", "m.npz", "one.fa", "-o", "scores.out", "-q") == 2
    err = capsys.readouterr().err
    assert "cannot tell the output format from the extension '.out'" in err
    assert "--output-format" in err and not os.path.exists("scores.out")
    assert _run("decode", "m.npz", "one.fa", "-o", "paths", "-q") == 2  # no extension
    assert _run("decode", "m.npz", "one.fa", "-o", "paths.fa", "-q") == 2  # not a decode output
    assert "does not write fasta" in capsys.readouterr().err
    assert _run("score", "m.npz", "one.fa", "-o", "scores.out", "--output-format", "tsv",
                "-q") == 0
    assert open("scores.out").readline() == "sequence_id\tlength\tlog_likelihood\n"
    assert _run("decode", "m.npz", "one.fa", "-o", "paths.bin", "--output-format", "npz",
                "-q") == 0
    assert set(np.load("paths.bin")) == {"states", "lengths", "ids", "logprob"}
    assert _run("decode", "m.npz", "one.fa", "--posteriors", "post.out", "-o", os.devnull,
                "-q") == 2
    assert _run("sample", "m.npz", "-l", 5, "-o", "s.dat", "--seed", 1) == 2
    assert _run("sample", "m.npz", "-l", 5, "-o", "s.dat", "--output-format", "fasta") == 0
    assert open("s.dat").read().startswith(">sample1\n")


def test_gz_outputs_are_compressed(files):
    assert _run("score", "m.npz", "one.fa", "-o", "scores.tsv.gz", "-q") == 0
    assert _run("decode", "m.npz", "one.fa", "-o", "paths.csv.gz", "-q") == 0
    assert _run("decode", "m.npz", "one.fa", "-o", "seg.bed.gz", "-q") == 0
    assert _run("sample", "m.npz", "-l", 7, "-o", "s.fa.gz") == 0
    for name, first in (("scores.tsv.gz", "sequence_id\tlength"),
                        ("paths.csv.gz", "sequence_id,position,state"),
                        ("seg.bed.gz", "chr1\t0\t"), ("s.fa.gz", ">sample1")):
        with open(name, "rb") as handle:
            assert handle.read(2) == b"\x1f\x8b", name
        with gzip.open(name, "rt") as handle:
            assert handle.read().startswith(first), name
    # hmm-core reads its own gzip output back.
    assert _run("score", "m.npz", "s.fa.gz", "-o", "again.csv", "-q") == 0


# ------------------------------------------------------------ several inputs
def test_several_files_and_globs_keep_ids_per_file(files):
    assert _run("score", "m.npz", "one.fa", "two.fa", "-o", "both.csv", "-q") == 0
    assert _run("score", "m.npz", "*.fa", "-o", "glob.csv", "-q") == 0  # as the shell would
    both = open("both.csv").read().splitlines()
    assert [line.split(",")[0] for line in both[1:]] == ["chr1", "chr2", "chrX"]
    assert open("glob.csv").read().splitlines() == both
    assert _run("score", "m.npz", "one.fa", "one.fa", "-o", "dup.csv", "-q") == 1
    assert not os.path.exists("dup.csv")
    assert _run("score", "m.npz", "nothing*.fa", "-o", "none.csv", "-q") == 1


def test_a_failed_run_leaves_no_new_output(files, tmp_path):
    (tmp_path / "bad.fa").write_text(">chrY\nACGTNNNN\n")  # N is not DNA: fails late
    before = sorted(os.listdir())
    for outputs in (("-o", "seg.bed"), ("-o", "paths.csv.gz"),
                    ("-o", os.devnull, "--posteriors", "p.bedgraph"),
                    ("-o", "p.npz", "--posteriors", "p.bg.gz")):
        assert _run("decode", "m.npz", "one.fa", "bad.fa", *outputs, "-q") == 1
        assert sorted(os.listdir()) == before, outputs


# ------------------------------------------------------------- flags and fit
def test_short_flags_mean_one_thing_across_commands():
    meanings = {}
    parser = build_parser()
    commands = next(a for a in parser._actions if a.choices and "fit" in a.choices).choices
    for sub in commands.values():
        for action in sub._actions:
            if action.help == "==SUPPRESS==":  # a deprecated spelling, still read
                continue
            shorts = [s for s in action.option_strings if not s.startswith("--")]
            longs = [s for s in action.option_strings if s.startswith("--")]
            for short in shorts:
                meanings.setdefault(short, set()).add(tuple(longs))
    clashing = {short: longs for short, longs in meanings.items() if len(longs) > 1}
    assert not clashing
    assert meanings["-n"] == {("--states",)} and meanings["-l"] == {("--length",)}


def test_sample_still_reads_the_old_n(files, capsys):
    assert _run("sample", "m.npz", "-n", 6, "-o", "old.csv") == 0
    assert "deprecated" in capsys.readouterr().err
    assert _run("sample", "m.npz", "--length", 6, "-o", "new.csv") == 0
    assert open("old.csv").read() == open("new.csv").read()


def test_defaults_and_a_fit_that_does_not_converge(files, capsys):
    help_text = build_parser()._subparsers._group_actions[0].choices["fit"].format_help()
    flat = " ".join(help_text.split())
    assert "the API's default, 10, is hmmlearn's" in flat
    assert "the API's default, 1e-2, is hmmlearn's" in flat
    assert _run("fit", "one.fa", "--alphabet", "DNA", "--n-iter", 2, "-o", "short.npz",
                "-q") == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("hmm-core: warning: EM did not converge in 2 ")
    assert "raise --n-iter" in err[0]
    assert _run("fit", "one.fa", "--alphabet", "DNA", "-o", "long.npz", "-q") == 0
    assert capsys.readouterr().err == ""


def test_table_errors_name_the_column(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("day,temp,rain\nmon,3.5,1\ntue,4.0,0\n")
    assert _run("fit", "t.csv", "-o", "t.npz", "-q") == 1
    err = capsys.readouterr().err
    assert "'mon' is not a number (column 'day')" in err
    assert "--columns temp,rain" in err
    assert _run("fit", "t.csv", "--columns", "temp,rain", "-o", "t.npz", "-q") == 0


def test_python_m_hmm_core_writes_bed(files, tmp_path):
    result = subprocess.run([sys.executable, "-m", "hmm_core", "decode", "m.npz", "one.fa",
                             "--output-format", "bed", "-q"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    _check_bed(result.stdout, {name: len(s) for name, s in files.items()})
