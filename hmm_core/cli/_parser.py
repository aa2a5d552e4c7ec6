"""The ``hmm-core`` argument parser and the error raised for a bad combination of arguments."""

from __future__ import annotations

import argparse

KINDS = ("categorical", "gaussian", "gmm", "poisson", "multinomial", "markov", "semimarkov",
         "variational-categorical", "variational-gaussian", "autoregressive")


class UsageError(ValueError):
    """A bad combination of command-line arguments (exit status 2)."""


def _data_options(parser, data=True):
    group = parser.add_argument_group("data")
    if data:
        group.add_argument("data", nargs="+", metavar="DATA",
                           help="observations: .npy, .npz, .csv, .tsv, FASTA or FASTQ "
                                "(optionally .gz); several files (or a quoted glob like "
                                "'reads/*.fa') are read in turn, each sequence keeping "
                                "the id it has in its file")
    group.add_argument("--format", choices=("fasta", "fastq", "csv", "tsv", "npy", "npz"),
                       help="input format (default: from the extension)")
    group.add_argument("--alphabet", help="symbols of FASTA/FASTQ or table cells: DNA, RNA, "
                                          "protein, or a list like 'sun,fog,rain' or 'HL' "
                                          "(default: the alphabet stored in the model)")
    group.add_argument("--unknown", choices=("error", "missing"), default="error",
                       help="an unknown symbol is an error (default) or a missing value")
    group.add_argument("--id-column", help="table column holding the sequence id")
    group.add_argument("--columns", help="comma-separated feature columns of a table")


def _output_format(parser, choices):
    parser.add_argument("--output-format", choices=choices,
                        help="format of -o/--output (default: from its extension, .gz "
                             "stripped; standard output is CSV); an extension hmm-core "
                             "does not know is an error")


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
    fit.add_argument("--n-iter", type=int, default=100,
                     help="maximum EM iterations (default 100; the API's default, 10, is "
                          "hmmlearn's, while a command-line fit is meant to run to "
                          "convergence; a fit that stops first says so on stderr)")
    fit.add_argument("--tol", type=float, default=1e-4,
                     help="EM convergence threshold on the log-likelihood gain (default "
                          "1e-4; the API's default, 1e-2, is hmmlearn's)")
    fit.add_argument("--n-init", type=int, default=1, help="random restarts; best kept")
    fit.add_argument("--seed", type=int, default=0, help="random seed")
    fit.add_argument("--covariance-type", default="diag",
                     choices=("spherical", "diag", "full", "tied"))
    fit.add_argument("--n-mix", type=int, default=2, help="mixture components (gmm)")
    fit.add_argument("--lags", type=int, default=1,
                     help="previous frames regressed on (autoregressive; default 1)")
    fit.add_argument("--topology", choices=("ergodic", "left-right"), default="ergodic")
    fit.add_argument("--sticky", type=float, metavar="P",
                     help="start EM from self-transition probability P (segmentation)")
    fit.add_argument("--end-state", action="store_true", help="learn an explicit end state")
    fit.add_argument("--emission", choices=("categorical", "gaussian", "gmm", "poisson",
                                            "multinomial"),
                     help="emissions of --kind semimarkov (default: categorical with an "
                          "alphabet, else gaussian)")
    fit.add_argument("--max-duration", type=int, default=32,
                     help="longest segment of --kind semimarkov (default 32)")
    fit.add_argument("--duration", default="nonparametric",
                     choices=("nonparametric", "poisson", "negative_binomial"),
                     help="duration family of --kind semimarkov")
    fit.add_argument("--censor-last", action="store_true",
                     help="--kind semimarkov: the last segment may continue past the end")
    fit.add_argument("-v", "--verbose", action="store_true", help="one line per iteration")
    _run_options(fit)

    score = sub.add_parser("score", help="log-likelihood of every sequence (streams FASTA)")
    score.add_argument("model", help="model file")
    _data_options(score)
    score.add_argument("-o", "--output", help="CSV/TSV of sequence_id, length, "
                                              "log_likelihood (default: stdout; .gz "
                                              "compresses)")
    _output_format(score, ("csv", "tsv"))
    _run_options(score)

    decode = sub.add_parser("decode", help="most likely state paths and posteriors")
    decode.add_argument("model", help="model file")
    _data_options(decode)
    decode.add_argument("-o", "--output", help="paths as CSV/TSV (default: stdout), .npz, "
                                               "or BED segments (.bed); .gz compresses")
    _output_format(decode, ("csv", "tsv", "npz", "bed"))
    decode.add_argument("--segments", action="store_true",
                        help="write runs of one state (sequence_id, start, end, state; "
                             "0-based, end exclusive) instead of one row per frame; BED "
                             "output is always segments")
    decode.add_argument("--algorithm", choices=("viterbi", "map"), default="viterbi")
    decode.add_argument("--state-names", metavar="NAMES",
                        help="comma-separated state names for BED, bedGraph and tables "
                             "(default: the state numbers in tables, state0, state1, ... "
                             "in BED and bedGraph)")
    decode.add_argument("--posteriors", metavar="FILE",
                        help="also write state posteriors: .npz, or bedGraph (.bedgraph, "
                             ".bdg, .bg; .gz compresses); a name without extension gets .npz")
    decode.add_argument("--posteriors-format", choices=("npz", "bedgraph"),
                        help="format of --posteriors (default: from its extension)")
    decode.add_argument("--posterior-state", metavar="STATE",
                        help="bedGraph of this state's posterior only (a number or a name "
                             "of --state-names; default: one track per state)")
    _run_options(decode)

    sample = sub.add_parser("sample", help="draw sequences from a model")
    sample.add_argument("model", help="model file")
    sample.add_argument("-l", "--length", type=int, default=100, help="frames per sequence")
    # Before 0.2.0, -n was --length here; it means --states elsewhere. Still read, with a
    # notice, so that scripts keep working while they move to -l.
    sample.add_argument("-n", dest="old_length", type=int, help=argparse.SUPPRESS)
    sample.add_argument("--sequences", type=int, default=1, help="number of sequences")
    sample.add_argument("--seed", type=int, default=0, help="random seed")
    sample.add_argument("-o", "--output", help=".csv/.tsv (default: stdout), .npy, .npz, "
                                               "or FASTA for symbol models")
    _output_format(sample, ("csv", "tsv", "npz", "npy", "fasta"))
    sample.add_argument("--alphabet", help="symbols for FASTA/CSV output")

    info = sub.add_parser("info", help="the build (OpenMP, threads), or a model file")
    info.add_argument("model", nargs="?", help="model file to describe")
    info.add_argument("--json", action="store_true", help="print a JSON summary")

    demo = sub.add_parser("demo", help="fit a categorical HMM to Seattle's daily weather")
    demo.add_argument("-n", "--states", type=int, default=3, help="number of hidden regimes")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the initialisation")
    return parser
