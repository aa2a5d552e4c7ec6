"""The ``hmm-core`` argument parser and the error raised for a bad combination of arguments."""

from __future__ import annotations

import argparse

KINDS = ("categorical", "gaussian", "gmm", "poisson", "multinomial", "markov")


class UsageError(ValueError):
    """A bad combination of command-line arguments (exit status 2)."""


def _data_options(parser, data=True):
    group = parser.add_argument_group("data")
    if data:
        group.add_argument("data", help="observations: .npy, .npz, .csv, .tsv, FASTA or "
                                        "FASTQ (optionally .gz)")
    group.add_argument("--format", choices=("fasta", "fastq", "csv", "tsv", "npy", "npz"),
                       help="input format (default: from the extension)")
    group.add_argument("--alphabet", help="symbols of FASTA/FASTQ or table cells: DNA, RNA, "
                                          "protein, or a list like 'sun,fog,rain' or 'HL' "
                                          "(default: the alphabet stored in the model)")
    group.add_argument("--unknown", choices=("error", "missing"), default="error",
                       help="an unknown symbol is an error (default) or a missing value")
    group.add_argument("--id-column", help="table column holding the sequence id")
    group.add_argument("--columns", help="comma-separated feature columns of a table")


def _run_options(parser, chunks=True):
    parser.add_argument("--threads", type=int, help="kernel threads (default: all)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on a Dask cluster: a scheduler address (tcp://host:8786), "
                             "or local:N for N local worker processes (needs hmm-core[dask])")
    parser.add_argument("--summary", metavar="JSON", help="also write a JSON summary here")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar and no report on stderr")
    if chunks:
        parser.add_argument("--chunk-size", type=int, metavar="FRAMES",
                            help="frames per chunk (default: about 64 MB of work)")


def build_parser() -> argparse.ArgumentParser:
    from hmm_core._version import __version__

    parser = argparse.ArgumentParser(
        prog="hmm-core", description="Hidden Markov models with compiled kernels.")
    parser.add_argument("--version", action="version", version=f"hmm-core {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    fit = sub.add_parser("fit", help="fit a model to a data file and save it")
    _data_options(fit)
    fit.add_argument("-o", "--output", required=True, help="model file to write (.npz)")
    fit.add_argument("--kind", choices=KINDS, help="model family (default: categorical "
                                                    "with an alphabet, else gaussian)")
    fit.add_argument("-n", "--states", type=int, default=2, help="hidden states (default 2)")
    fit.add_argument("--n-iter", type=int, default=100, help="maximum EM iterations")
    fit.add_argument("--tol", type=float, default=1e-4, help="EM convergence threshold")
    fit.add_argument("--n-init", type=int, default=1, help="random restarts; best kept")
    fit.add_argument("--seed", type=int, default=0, help="random seed")
    fit.add_argument("--covariance-type", default="diag",
                     choices=("spherical", "diag", "full", "tied"))
    fit.add_argument("--n-mix", type=int, default=2, help="mixture components (gmm)")
    fit.add_argument("--topology", choices=("ergodic", "left-right"), default="ergodic")
    fit.add_argument("--sticky", type=float, metavar="P",
                     help="start EM from self-transition probability P (segmentation)")
    fit.add_argument("--end-state", action="store_true", help="learn an explicit end state")
    fit.add_argument("-v", "--verbose", action="store_true", help="one line per iteration")
    _run_options(fit)

    score = sub.add_parser("score", help="log-likelihood of every sequence (streams FASTA)")
    score.add_argument("model", help="model file")
    _data_options(score)
    score.add_argument("-o", "--output", help="CSV/TSV of sequence_id, length, "
                                              "log_likelihood (default: stdout)")
    _run_options(score)

    decode = sub.add_parser("decode", help="most likely state paths and posteriors")
    decode.add_argument("model", help="model file")
    _data_options(decode)
    decode.add_argument("-o", "--output", help="paths as CSV/TSV (default: stdout) or .npz")
    decode.add_argument("--segments", action="store_true",
                        help="write runs of one state (sequence_id, start, end, state; "
                             "0-based, end exclusive) instead of one row per frame")
    decode.add_argument("--algorithm", choices=("viterbi", "map"), default="viterbi")
    decode.add_argument("--posteriors", metavar="NPZ", help="also write state posteriors")
    _run_options(decode)

    sample = sub.add_parser("sample", help="draw sequences from a model")
    sample.add_argument("model", help="model file")
    sample.add_argument("-n", "--length", type=int, default=100, help="frames per sequence")
    sample.add_argument("--sequences", type=int, default=1, help="number of sequences")
    sample.add_argument("--seed", type=int, default=0, help="random seed")
    sample.add_argument("-o", "--output", help=".csv/.tsv (default: stdout), .npy, .npz, "
                                               "or FASTA for symbol models")
    sample.add_argument("--alphabet", help="symbols for FASTA/CSV output")

    info = sub.add_parser("info", help="the build (OpenMP, threads), or a model file")
    info.add_argument("model", nargs="?", help="model file to describe")
    info.add_argument("--json", action="store_true", help="print a JSON summary")

    demo = sub.add_parser("demo", help="fit a categorical HMM to Seattle's daily weather")
    demo.add_argument("--states", type=int, default=3, help="number of hidden regimes")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the initialisation")
    return parser
