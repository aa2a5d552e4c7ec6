"""The hmm-core command line never loses data: outputs are checked before the
work, written under temporary names and renamed into place only on success."""

import gzip
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import hmm_core
from hmm_core import CategoricalHMM
from hmm_core.cli.commands import main
from hmm_core.io.formats import Alphabet

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(autouse=True)
def _outside_source_tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _run(*args):
    return main([str(a) for a in args])


def _fasta(path, n_records, length=50, seed=0):
    rng = np.random.default_rng(seed)
    text = "".join(f">r{r}\n" + "".join(rng.choice(list("ACGT"), length)) + "\n"
                   for r in range(n_records))
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        with open(path, "w") as handle:
            handle.write(text)


def _model(path):
    model = CategoricalHMM(2, n_features=4)
    model.startprob_ = np.array([0.5, 0.5])
    model.transmat_ = np.array([[0.9, 0.1], [0.1, 0.9]])
    model.emissionprob_ = np.array([[0.4, 0.1, 0.1, 0.4], [0.1, 0.4, 0.4, 0.1]])
    model.save(path, metadata={"alphabet": Alphabet.parse("DNA").to_json()})


@pytest.fixture
def files(tmp_path):
    """``m.npz`` (a DNA model) and ``d.fa`` (200 records); their bytes."""
    _model("m.npz")
    _fasta("d.fa", 200)
    return {name: (tmp_path / name).read_bytes() for name in ("m.npz", "d.fa")}


def _listing(path="."):
    return sorted(os.listdir(path))


def _unchanged(files):
    return all(open(name, "rb").read() == data for name, data in files.items())


# ------------------------------------------------------------- output is an input
_SAME = [
    # (arguments, option named in the message); M is the model, D the data.
    (("score", "M", "D", "-o", "D"), "-o/--output"),
    (("score", "M", "D", "-o", "M"), "-o/--output"),
    (("score", "M", "D", "--summary", "D"), "--summary"),
    (("score", "M", "D", "--summary", "M"), "--summary"),
    (("score", "M", "D", "-o", "x.csv", "--summary", "x.csv"), "--summary"),
    (("decode", "M", "D", "-o", "D"), "-o/--output"),
    (("decode", "M", "D", "-o", "M"), "-o/--output"),
    (("decode", "M", "D", "--segments", "-o", "D"), "-o/--output"),
    (("decode", "M", "D", "--posteriors", "M"), "--posteriors"),
    (("decode", "M", "D", "--summary", "D"), "--summary"),
    (("decode", "M", "D", "--summary", "M"), "--summary"),
    (("decode", "M", "D", "-o", "p.npz", "--posteriors", "p.npz"), "--posteriors"),
    (("decode", "M", "D", "-o", "p.npz", "--posteriors", "p"), "--posteriors"),  # p -> p.npz
    (("decode", "M", "D", "-o", "p.csv", "--posteriors", "x.npz", "--summary", "p.csv"),
     "--summary"),
    (("decode", "M", "D", "-o", "x.csv", "--posteriors", "p.npz", "--summary", "p.npz"),
     "--summary"),
    (("fit", "D", "--alphabet", "DNA", "-o", "D"), "-o/--output"),
    (("fit", "D", "--alphabet", "DNA", "-o", "new.npz", "--summary", "D"), "--summary"),
    (("fit", "D", "--alphabet", "DNA", "-o", "new.npz", "--summary", "new.npz"), "--summary"),
    (("sample", "M", "-o", "M"), "-o/--output"),
]


def _alias(name, how, tmp_path):
    """Another name of the file ``name``: itself, through ./, a hard link or a symlink."""
    if how == "same":
        return name
    if how == "dot":
        return os.path.join(".", "sub", "..", name)
    alias = f"{how}-{name}"
    if not os.path.exists(name):  # an output named twice: the alias names it the same way
        return name if how == "hard" else str(tmp_path / name)
    if how == "hard":
        os.link(name, alias)
    else:
        os.symlink(tmp_path / name, alias)
    return alias


@pytest.mark.parametrize("how", ["same", "dot", "hard", "symlink"])
@pytest.mark.parametrize("args,option", _SAME)
def test_an_output_that_is_an_input_or_another_output_is_refused(
        tmp_path, files, capsys, args, option, how):
    os.mkdir("sub")
    names = {"M": "m.npz", "D": "d.fa"}
    argv = [names.get(a, a) for a in args]
    # The last occurrence of a repeated file is the one written through an alias.
    target = argv[-1]
    argv[-1] = _alias(target, how, tmp_path)
    before = _listing()
    assert _run(*argv) == 2, argv
    err = capsys.readouterr().err
    assert err.startswith("hmm-core: error: ") and err.count("\n") == 1, err
    assert option in err and "same file" in err, err
    assert _unchanged(files) and _listing() == before


def test_distinct_outputs_and_standard_output_are_accepted(tmp_path, files, capsys):
    assert _run("decode", "m.npz", "d.fa", "-o", "-", "--posteriors", "p.npz",
                "--summary", "-", "-q") == 0
    out = capsys.readouterr().out
    assert out.startswith("sequence_id,position,state\n") and '"state_fractions"' in out
    assert "-" not in _listing() and "p.npz" in _listing()
    assert _run("decode", "m.npz", "d.fa", "-o", "/dev/null", "--posteriors", "p2.npz",
                "--summary", "/dev/null", "-q") == 0
    capsys.readouterr()


# ---------------------------------------------------------- failed runs leave nothing
def test_a_truncated_gzip_input_leaves_no_output(tmp_path, files, capsys):
    _fasta("big.fa.gz", 20_000)
    packed = open("big.fa.gz", "rb").read()
    open("cut.fa.gz", "wb").write(packed[:3 * len(packed) // 4])
    before = _listing()
    for extra in ((), ("--chunk-size", 100)):
        assert _run("score", "m.npz", "cut.fa.gz", "-o", "scores.csv", "--summary", "s.json",
                    "-q", *extra) == 1
        assert "truncated or corrupt" in capsys.readouterr().err
        assert _listing() == before  # no scores.csv, no summary, no temporary file
        assert _run("decode", "m.npz", "cut.fa.gz", "-o", "paths.npz", "--posteriors",
                    "post.npz", "-q", *extra) == 1
        assert _run("decode", "m.npz", "cut.fa.gz", "--segments", "-o", "seg.tsv", "-q",
                    *extra) == 1
        assert _listing() == before
    # An earlier result under the same name is kept whole.
    open("scores.csv", "w").write("earlier result\n")
    assert _run("score", "m.npz", "cut.fa.gz", "-o", "scores.csv", "-q",
                "--chunk-size", 100) == 1
    assert open("scores.csv").read() == "earlier result\n"


def test_an_exception_mid_stream_leaves_no_output(tmp_path, files, capsys, monkeypatch):
    calls = []
    score_sequences = CategoricalHMM.score_sequences

    def failing(self, X, lengths=None):
        calls.append(len(lengths))
        if len(calls) == 3:
            raise RuntimeError("failed in the third chunk")
        return score_sequences(self, X, lengths)

    monkeypatch.setattr(CategoricalHMM, "score_sequences", failing)
    open("scores.csv", "w").write("earlier result\n")
    before = _listing()
    assert _run("score", "m.npz", "d.fa", "-o", "scores.csv", "--summary", "s.json",
                "--chunk-size", 500, "-q") == 3
    assert "failed in the third chunk" in capsys.readouterr().err and len(calls) == 3
    assert _listing() == before and open("scores.csv").read() == "earlier result\n"

    decode_sequences = CategoricalHMM.decode_sequences

    def interrupted(self, *args, **kwargs):
        calls.append(0)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return decode_sequences(self, *args, **kwargs)

    monkeypatch.setattr(CategoricalHMM, "decode_sequences", interrupted)
    for outputs in (("-o", "paths.tsv"), ("-o", "paths.npz", "--posteriors", "post.npz"),
                    ("--segments", "-o", "seg.csv", "--summary", "d.json")):
        del calls[3:]
        assert _run("decode", "m.npz", "d.fa", *outputs, "--chunk-size", 500, "-q") == 130
        assert _listing() == before


def test_a_failed_fit_leaves_no_model_and_no_summary(tmp_path, files, capsys, monkeypatch):
    def failing(self, *args, **kwargs):
        raise RuntimeError("EM failed")

    monkeypatch.setattr(CategoricalHMM, "fit", failing)
    before = _listing()
    assert _run("fit", "d.fa", "--alphabet", "DNA", "-o", "new.npz", "--summary",
                "fit.json", "-q") == 3
    assert "EM failed" in capsys.readouterr().err
    assert _listing() == before


def test_sample_failing_on_a_late_sequence_leaves_no_output(tmp_path, files, monkeypatch):
    sample = CategoricalHMM.sample
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("sampling failed")
        return sample(self, *args, **kwargs)

    monkeypatch.setattr(CategoricalHMM, "sample", failing)
    before = _listing()
    for out in ("s.fa", "s.csv", "s.npz", "s.npy"):
        calls.clear()
        assert _run("sample", "m.npz", "--sequences", 5, "-o", out) == 3
        assert _listing() == before


# ------------------------------------------------------- outputs checked before work
def _assert_refused_before_fitting(capsys, summary, message):
    before = _listing()
    assert _run("fit", "d.fa", "--alphabet", "DNA", "-o", "new.npz", "--summary",
                summary, "-q") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and summary in err, err
    assert not os.path.exists("new.npz") and _listing() == before


@pytest.mark.skipif(ROOT, reason="permissions do not bind the superuser")
def test_an_unwritable_summary_directory_is_refused_before_the_model_is_written(
        tmp_path, files, capsys):
    os.mkdir("locked")
    os.chmod("locked", stat.S_IRUSR | stat.S_IXUSR)
    try:
        _assert_refused_before_fitting(capsys, "locked/fit.json", "Permission denied")
    finally:
        os.chmod("locked", stat.S_IRWXU)


def _uncreatable_directory():
    """A directory where even the superuser cannot create files, or None."""
    for directory in ("/sys", "/proc"):
        if not os.path.isdir(directory):
            continue
        probe = os.path.join(directory, "hmm-core-probe")
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return directory
        os.close(fd)
        os.unlink(probe)
    return None


def test_an_uncreatable_summary_is_refused_before_the_model_is_written(
        tmp_path, files, capsys):
    directory = _uncreatable_directory()
    if directory is None:
        pytest.skip("no directory refuses new files here")
    _assert_refused_before_fitting(capsys, f"{directory}/fit.json", "fit.json")


def test_missing_directories_and_directories_are_refused_before_the_work(
        tmp_path, files, capsys):
    os.mkdir("adir")
    open("afile", "w").close()
    _assert_refused_before_fitting(capsys, "no/such/dir/fit.json", "No such directory")
    _assert_refused_before_fitting(capsys, "afile/fit.json", "No such directory")
    _assert_refused_before_fitting(capsys, "adir", "Is a directory")


# --------------------------------------------------------------- successful outputs
def test_outputs_replace_earlier_files_and_keep_links_and_modes(tmp_path, files, capsys):
    assert _run("score", "m.npz", "d.fa", "-o", "fresh.csv", "-q") == 0
    expected = open("fresh.csv").read()
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat("fresh.csv").st_mode) == 0o666 & ~mask
    open("old.csv", "w").write("earlier\n" * 100_000)
    os.chmod("old.csv", 0o640)
    os.symlink("old.csv", "link.csv")
    assert _run("score", "m.npz", "d.fa", "-o", "link.csv", "-q") == 0
    assert os.path.islink("link.csv") and open("old.csv").read() == expected
    assert stat.S_IMODE(os.stat("old.csv").st_mode) == 0o640
    assert _run("fit", "d.fa", "--alphabet", "DNA", "-o", "new.npz", "--summary", "f.json",
                "-q", "--n-iter", 3) == 0
    assert json.load(open("f.json"))["model_file"] == "new.npz"
    assert hmm_core.load("new.npz").n_components == 2
    assert stat.S_IMODE(os.stat("new.npz").st_mode) == 0o666 & ~mask
    assert not [name for name in os.listdir() if name.endswith(".tmp")]
    capsys.readouterr()


# ---------------------------------------------------------------- out of memory
def _raise_memory_error(*args, **kwargs):
    raise MemoryError


@pytest.mark.parametrize("target,args,hint", [
    ("score_sequences", ("score", "m.npz", "d.fa", "-q"), "lower --chunk-size"),
    ("decode_sequences", ("decode", "m.npz", "d.fa", "-q"), "lower --chunk-size"),
    ("predict_proba", ("decode", "m.npz", "d.fa", "--posteriors", "p.npz", "-q"),
     "--posteriors"),
    ("fit", ("fit", "d.fa", "--alphabet", "DNA", "-o", "new.npz", "-q"), "fit"),
    ("sample", ("sample", "m.npz", "-o", "s.csv"), "--length"),
])
def test_out_of_memory_names_what_would_help(tmp_path, files, capsys, monkeypatch,
                                             target, args, hint):
    monkeypatch.setattr(CategoricalHMM, target, _raise_memory_error)
    before = _listing()
    assert _run(*args) == 1
    err = capsys.readouterr().err
    assert err.startswith("hmm-core: error: out of memory") and err.count("\n") == 1, err
    assert hint in err, err
    assert ("--chunk-size" in err) == (hint == "lower --chunk-size"), err
    assert _listing() == before


def test_out_of_memory_reading_a_whole_table_does_not_blame_the_chunk_size(
        tmp_path, files, capsys, monkeypatch):
    import hmm_core.io.formats as formats

    # .npz and tables grouped by id are streamed; a table whose ids are spread out is read whole
    with open("d.csv", "w") as handle:
        handle.write("id,x\na,0\nb,1\na,0\n")
    monkeypatch.setattr(formats, "read_observations", _raise_memory_error)
    assert _run("score", "m.npz", "d.csv", "--id-column", "id", "-q") == 1
    err = capsys.readouterr().err
    assert "out of memory" in err and "--chunk-size" not in err and "d.csv" in err, err


# ------------------------------------------------------------------ end to end
def test_end_to_end_through_python_m(tmp_path, files):
    run = [sys.executable, "-m", "hmm_core"]
    same = subprocess.run(run + ["score", "m.npz", "d.fa", "-o", "d.fa"], capture_output=True,
                          text=True, timeout=300)
    assert same.returncode == 2 and "-o/--output" in same.stderr and "Traceback" not in \
        same.stderr and same.stderr.count("\n") == 1
    assert _unchanged(files)
    _fasta("big.fa.gz", 20_000)
    packed = open("big.fa.gz", "rb").read()
    open("cut.fa.gz", "wb").write(packed[:3 * len(packed) // 4])
    before = _listing()
    cut = subprocess.run(run + ["score", "m.npz", "cut.fa.gz", "-o", "out.tsv", "--chunk-size",
                                "100", "-q"], capture_output=True, text=True, timeout=300)
    assert cut.returncode == 1 and "truncated" in cut.stderr and _listing() == before
    good = subprocess.run(run + ["score", "m.npz", "d.fa", "-o", "out.tsv", "-q"],
                          capture_output=True, text=True, timeout=300)
    assert good.returncode == 0 and len(open("out.tsv").read().splitlines()) == 201


@pytest.mark.skipif(not os.path.exists("/dev/stdout"), reason="no /dev/stdout")
def test_dev_stdout_into_a_file_keeps_what_the_shell_wrote_there(tmp_path, files):
    # As in `(echo header; hmm-core score ... -o /dev/stdout) > log.txt`.
    with open("log.txt", "w") as log:
        log.write("header\n")
        log.flush()
        result = subprocess.run([sys.executable, "-m", "hmm_core", "score", "m.npz", "d.fa",
                                 "-o", "/dev/stdout", "-q"], stdout=log, timeout=300)
    lines = open("log.txt").read().splitlines()
    assert result.returncode == 0 and lines[:2] == ["header", "sequence_id,length,log_likelihood"]
    assert len(lines) == 202 and _listing() == sorted([*files, "log.txt"])
