"""The ``hmm-core`` command line (also ``python -m hmm_core``).

Subcommands: ``fit`` a model to a data file and save it, ``score`` the
sequences of a file (streaming FASTA/FASTQ in chunks of bounded memory),
``decode`` state paths and posteriors, ``sample`` sequences, ``info`` about
the build or a model file, and the ``demo``. Data files: ``.npy``/``.npz``,
CSV/TSV, FASTA/FASTQ (see :mod:`hmm_core.formats`). A user mistake (missing
file, malformed input, wrong model file, mismatched dimensions) prints one
``hmm-core: error: ...`` line and exits with status 1 (2 for bad arguments).
An unexpected exception (a bug) is reported on one line too, with status 3;
``HMM_CORE_TRACEBACK=1`` in the environment shows its traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

__all__ = ["main"]

_KINDS = ("categorical", "gaussian", "gmm", "poisson", "multinomial", "markov")


class UsageError(ValueError):
    """A bad combination of command-line arguments (exit status 2)."""


# ------------------------------------------------------------------ parser
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
    parser.add_argument("--summary", metavar="JSON", help="also write a JSON summary here")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar and no report on stderr")
    if chunks:
        parser.add_argument("--chunk-size", type=int, metavar="FRAMES",
                            help="frames per chunk (default: about 64 MB of work)")


def _build_parser() -> argparse.ArgumentParser:
    from hmm_core._version import __version__

    parser = argparse.ArgumentParser(
        prog="hmm-core", description="Hidden Markov models with compiled kernels.")
    parser.add_argument("--version", action="version", version=f"hmm-core {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    fit = sub.add_parser("fit", help="fit a model to a data file and save it")
    _data_options(fit)
    fit.add_argument("-o", "--output", required=True, help="model file to write (.npz)")
    fit.add_argument("--kind", choices=_KINDS, help="model family (default: categorical "
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
    _run_options(fit, chunks=False)

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


# ----------------------------------------------------------------- helpers
def _emission(model):
    from hmm_core.hmm.higher_order import HigherOrderHMM

    if isinstance(model, HigherOrderHMM):
        model = model._expanded()
    return model._get_emission() if hasattr(model, "_get_emission") else None


def _is_hmm(model):
    from hmm_core.hmm.base import BaseHMM
    from hmm_core.hmm.higher_order import HigherOrderHMM

    return isinstance(model, (BaseHMM, HigherOrderHMM))


def _load_model(path, need_hmm=False):
    from hmm_core.io.modelfile import load_model, read_metadata

    model = load_model(path)
    if need_hmm and not _is_hmm(model):
        raise ValueError(f"{path} holds a {type(model).__name__}, which has no hidden "
                         "states; this command needs a hidden Markov model")
    user = read_metadata(path).get("user")
    return model, user if isinstance(user, dict) else {}


def _alphabet(args, meta, model=None):
    from hmm_core.emissions import CategoricalEmission
    from hmm_core.io.formats import Alphabet

    spec = getattr(args, "alphabet", None)
    unknown = getattr(args, "unknown", "error")
    if spec:
        alphabet = Alphabet.parse(spec, unknown)
    elif meta.get("alphabet"):
        alphabet = Alphabet.from_json(meta["alphabet"], unknown)
    else:
        return None
    emission = None if model is None else _emission(model)
    if isinstance(emission, CategoricalEmission):
        n_symbols = emission.n_features
    else:  # an observed Markov chain: its states are the symbols
        n_symbols = getattr(model, "n_states_", None)
    if n_symbols is not None and len(alphabet) != n_symbols:
        raise ValueError(f"the alphabet {alphabet.name or ','.join(alphabet.symbols)} has "
                         f"{len(alphabet)} symbols but the model "
                         f"{'emits' if emission is not None else 'has'} {n_symbols}")
    return alphabet


def _columns(args, meta):
    if args.columns:
        return [c.strip() for c in args.columns.split(",")]
    return meta.get("columns")


def _read(args, meta, alphabet):
    from hmm_core.io.formats import read_observations

    return read_observations(args.data, args.format, alphabet,
                             args.id_column or meta.get("id_column"), _columns(args, meta))


def _set_threads(model, n_threads):
    if n_threads is None:
        return
    if n_threads < 1:
        raise UsageError("--threads must be at least 1")
    target = getattr(model, "model", model)  # HigherOrderHMM: its template
    if hasattr(target, "n_threads"):
        target.n_threads = n_threads


def _open_output(path):
    """(text handle, delimiter, close?) for a table destination; '-' or None is stdout."""
    if path in (None, "-"):
        return sys.stdout, ",", False
    delimiter = "\t" if path.lower().endswith((".tsv", ".tab", ".txt")) else ","
    return open(path, "w", newline="", encoding="utf-8"), delimiter, True  # noqa: SIM115


def _check_destinations(*paths):
    """Fail before any work when an output could not be written at the end."""
    for path in paths:
        if path in (None, "-"):
            continue
        if os.path.isdir(path):
            raise IsADirectoryError(21, "Is a directory", path)
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise FileNotFoundError(2, "No such directory", path)


def _write_json(path, data):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, allow_nan=True)
        handle.write("\n")


def _float(value):
    return None if not np.isfinite(value) else float(value)


def _report(args, message):
    if not args.quiet:
        print(f"hmm-core: {message}", file=sys.stderr)


def _chunks(args, meta, model, alphabet):
    """Chunks of the data file and its size (see :func:`hmm_core._batch.iter_chunks`)."""
    from hmm_core.cli._batch import chunk_frames, iter_chunks

    n_states = getattr(model, "n_components", None) or getattr(model, "n_states_", 1)
    try:
        max_frames = chunk_frames(n_states, args.chunk_size)
    except ValueError as exc:
        raise UsageError(f"--chunk-size: {exc}") from None
    return iter_chunks(args.data, args.format, alphabet, max_frames,
                       lambda: _read(args, meta, alphabet))


def _stream(chunks, total, args, label, process):
    """Process every chunk; a data error names the data and the model."""
    from hmm_core.cli._batch import stream
    from hmm_core.io.formats import FormatError

    def checked(chunk):
        try:
            process(chunk)
        except FormatError:
            raise
        except ValueError as exc:
            raise ValueError(f"{args.data} does not fit the model {args.model}: "
                             f"{exc}") from None

    return stream(chunks, total, checked, sys.stderr.isatty() and not args.quiet, label)


def _throughput(args, verb, stats, model):
    from hmm_core.kernels.config import effective_n_threads

    target = getattr(model, "model", model)
    threads = effective_n_threads(getattr(target, "n_threads", None))
    seconds = max(stats["seconds"], 1e-9)
    _report(args, f"{verb} {stats['n_sequences']:,} sequences ({stats['n_frames']:,} frames) "
                  f"in {stats['seconds']:.3f} s: {stats['n_frames'] / seconds:,.0f} frames/s, "
                  f"{stats['n_sequences'] / seconds:,.1f} sequences/s, {threads} threads")


# ---------------------------------------------------------------- commands
def _sticky(model, p, keep_zeros):
    """Start EM from persistent states: self-transition ``p``, the rest spread evenly."""
    if not 0 < p < 1:
        raise UsageError("--sticky must be between 0 and 1")
    n = model.n_components
    allowed = np.asarray(model.transmat_) > 0 if keep_zeros else np.ones((n, n), dtype=bool)
    moves = allowed & ~np.eye(n, dtype=bool)
    n_moves = moves.sum(axis=1)
    trans = np.where(moves, (1 - p) / np.maximum(n_moves, 1)[:, None], 0.0)
    trans[np.diag_indices(n)] = np.where(n_moves > 0, p, 1.0)
    if model.end_state:  # a small chance of ending wherever ending is allowed
        current = getattr(model, "endprob_", None)
        end = np.where(current > 0, 1e-3, 0.0) if current is not None else np.full(n, 1e-3)
        trans *= (1 - end)[:, None]
        model.endprob_ = end
    model.transmat_ = trans
    if getattr(model, "startprob_", None) is None:
        model.startprob_ = np.full(n, 1.0 / n)
    model.init_params = model.init_params.replace("s", "").replace("t", "")


def _build_model(args, alphabet):
    from hmm_core import (
        GMMHMM,
        CategoricalHMM,
        GaussianHMM,
        MarkovChain,
        MultinomialHMM,
        PoissonHMM,
        topology,
    )

    kind = args.kind or ("categorical" if alphabet is not None else "gaussian")
    if args.states < 1:
        raise UsageError("--states must be at least 1")
    if kind == "markov":  # an observed chain over the symbols
        return MarkovChain(n_states=len(alphabet) if alphabet is not None else None), kind
    common = dict(n_components=args.states, n_iter=args.n_iter, tol=args.tol,
                  random_state=args.seed, n_init=args.n_init, verbose=args.verbose,
                  end_state=args.end_state, n_threads=args.threads)
    if kind == "categorical":
        model = CategoricalHMM(n_features=None if alphabet is None else len(alphabet), **common)
    elif kind == "gaussian":
        model = GaussianHMM(covariance_type=args.covariance_type, **common)
    elif kind == "gmm":
        model = GMMHMM(n_mix=args.n_mix, covariance_type=args.covariance_type, **common)
    else:
        model = {"poisson": PoissonHMM, "multinomial": MultinomialHMM}[kind](**common)
    if args.topology == "left-right":
        topology.left_right(model)
    if args.sticky is not None:
        _sticky(model, args.sticky, args.topology == "left-right")
    return model, kind


def _cmd_fit(args):
    from hmm_core.io.formats import detect_format

    fmt = detect_format(args.data, args.format)
    _check_destinations(args.output, args.summary)
    alphabet = _alphabet(args, {})
    if fmt in ("fasta", "fastq") and args.kind not in (None, "categorical", "markov"):
        raise UsageError(f"{fmt.upper()} input holds symbols: use --kind categorical")
    if args.threads is not None and args.threads < 1:
        raise UsageError("--threads must be at least 1")
    start = time.perf_counter()
    obs = _read(args, {}, alphabet)
    model, kind = _build_model(args, alphabet)
    try:
        model.fit(obs.X, obs.lengths)
    except ValueError as exc:
        raise ValueError(f"cannot fit a {kind} model to {args.data}: {exc}") from None
    seconds = time.perf_counter() - start
    meta = {"alphabet": alphabet.to_json() if alphabet is not None else None,
            "columns": obs.columns, "id_column": args.id_column,
            "data": os.path.basename(args.data)}
    model.save(args.output, metadata=meta)
    summary = _fit_summary(model, obs, seconds, args.output)
    if args.summary:
        _write_json(args.summary, summary)
    what = (f"{summary['iterations']} iterations, "
            f"{'converged' if summary['converged'] else 'not converged'}, "
            if summary.get("iterations") is not None else "")
    _report(args, f"fitted {type(model).__name__} ({summary['n_components']} states) to "
                  f"{summary['n_sequences']:,} sequences ({summary['n_frames']:,} frames) in "
                  f"{seconds:.2f} s: {what}log-likelihood {summary['log_likelihood']:.6g}; "
                  f"wrote {args.output}")
    return 0


def _fit_summary(model, obs, seconds, path):
    loglik = float(model.score(obs.X, obs.lengths))
    summary = {"model_file": path, "class": type(model).__name__,
               "n_components": int(getattr(model, "n_components", 0) or model.n_states_),
               "n_sequences": len(obs.ids), "n_frames": int(obs.lengths.sum()),
               "log_likelihood": _float(loglik), "seconds": seconds}
    monitor = getattr(model, "monitor_", None)
    if monitor is not None:
        summary.update(iterations=monitor.iter, converged=bool(monitor.converged),
                       aic=_float(model.aic(obs.X, obs.lengths)),
                       bic=_float(model.bic(obs.X, obs.lengths)))
    return summary


def _cmd_score(args):
    _check_destinations(args.output, args.summary)
    model, meta = _load_model(args.model)
    _set_threads(model, args.threads)
    alphabet = _alphabet(args, meta, model)
    chunks, total = _chunks(args, meta, model, alphabet)
    handle, delim, close = _open_output(args.output)
    totals = {"log_likelihood": 0.0}
    try:
        handle.write(delim.join(("sequence_id", "length", "log_likelihood")) + "\n")

        def process(chunk):
            X = chunk.X[:, 0] if not _is_hmm(model) else chunk.X
            scores = model.score_sequences(X, chunk.lengths)
            totals["log_likelihood"] += float(scores.sum())
            handle.writelines(f"{i}{delim}{n}{delim}{s!r}\n" for i, n, s in
                              zip(chunk.ids, chunk.lengths.tolist(), scores.tolist(),
                                  strict=True))

        stats = _stream(chunks, total, args, "scoring", process)
    finally:
        if close:
            handle.close()
        else:
            handle.flush()
    _throughput(args, "scored", stats, model)
    if args.summary:
        _write_json(args.summary, {"model_file": args.model, "data": args.data,
                                   "log_likelihood": _float(totals["log_likelihood"]),
                                   **stats})
    return 0


def _cmd_decode(args):
    from hmm_core.cli._batch import segments

    _check_destinations(args.output, args.posteriors, args.summary)
    model, meta = _load_model(args.model, need_hmm=True)
    _set_threads(model, args.threads)
    alphabet = _alphabet(args, meta, model)
    chunks, total = _chunks(args, meta, model, alphabet)
    to_npz = args.output is not None and args.output.lower().endswith(".npz")
    keep = {"ids": [], "lengths": [], "paths": [], "logprob": [], "post": []}
    handle, delim, close = (None, None, False) if to_npz else _open_output(args.output)
    occupancy = np.zeros(model.n_components)
    try:
        if handle is not None:
            head = ("sequence_id", "start", "end", "state") if args.segments else (
                "sequence_id", "position", "state")
            handle.write(delim.join(head) + "\n")

        def process(chunk):
            logprob, path = model.decode_sequences(chunk.X, chunk.lengths, args.algorithm)
            occupancy[:] += np.bincount(path[path >= 0], minlength=model.n_components)
            if args.posteriors:
                keep["post"].append(model.predict_proba(chunk.X, chunk.lengths))
            if to_npz:
                keep["paths"].append(path)
                keep["logprob"].append(logprob)
            if to_npz or args.posteriors:
                keep["ids"] += chunk.ids
                keep["lengths"].append(chunk.lengths)
            if handle is None:
                return
            ids = chunk.ids
            if args.segments:
                seq, start, end, state = segments(path, chunk.lengths)
                handle.writelines(f"{ids[q]}{delim}{a}{delim}{b}{delim}{s}\n" for q, a, b, s
                                  in zip(seq.tolist(), start.tolist(), end.tolist(),
                                         state.tolist(), strict=True))
            else:
                seq = np.repeat(np.arange(len(ids)), chunk.lengths)
                pos = np.arange(path.shape[0]) - np.repeat(
                    np.concatenate(([0], np.cumsum(chunk.lengths)[:-1])), chunk.lengths)
                handle.writelines(f"{ids[q]}{delim}{p}{delim}{s}\n" for q, p, s in
                                  zip(seq.tolist(), pos.tolist(), path.tolist(), strict=True))

        stats = _stream(chunks, total, args, "decoding", process)
    finally:
        if close:
            handle.close()
        elif handle is not None:
            handle.flush()
    ids = np.array(keep["ids"], dtype=str)
    lengths = np.concatenate(keep["lengths"]) if keep["lengths"] else np.zeros(0, np.int64)
    if to_npz:
        np.savez(args.output, states=np.concatenate(keep["paths"]), lengths=lengths, ids=ids,
                 logprob=np.concatenate(keep["logprob"]))
    if args.posteriors:
        np.savez(args.posteriors, posteriors=np.concatenate(keep["post"]), lengths=lengths,
                 ids=ids)
    _throughput(args, "decoded", stats, model)
    if args.summary:
        frac = occupancy / max(occupancy.sum(), 1)
        _write_json(args.summary, {"model_file": args.model, "data": args.data,
                                   "algorithm": args.algorithm,
                                   "state_fractions": frac.tolist(), **stats})
    return 0


def _cmd_sample(args):
    from hmm_core.io.formats import write_fasta

    _check_destinations(args.output)
    model, meta = _load_model(args.model)
    if args.length < 1 or args.sequences < 1:
        raise UsageError("--length and --sequences must be at least 1")
    alphabet = _alphabet(args, meta, model)
    ids = [f"sample{i + 1}" for i in range(args.sequences)]
    xs, states = [], []
    if _is_hmm(model):
        rng = np.random.RandomState(args.seed)
        for _ in ids:
            X, z = model.sample(args.length, random_state=rng)
            xs.append(np.asarray(X))
            states.append(z)
    else:
        rng = np.random.default_rng(args.seed)
        for _ in ids:
            z = model.sample(args.length, random_state=rng)
            xs.append(z[:, None])
            states.append(z)
    X, Z = np.concatenate(xs), np.concatenate(states)
    lengths = np.full(len(ids), args.length, dtype=np.int64)
    out = (args.output or "-").lower()
    if out.endswith(".npz"):
        np.savez(args.output, X=X, states=Z, lengths=lengths, ids=np.array(ids))
    elif out.endswith(".npy"):
        np.save(args.output, X)
    elif out.endswith((".fa", ".fasta", ".fna")):
        if alphabet is None or X.shape[1] != 1:
            raise UsageError("FASTA output needs a symbol model and an alphabet (--alphabet)")
        with open(args.output, "w", encoding="utf-8") as handle:
            write_fasta(handle, ids, [alphabet.decode(x) for x in xs])
    else:
        handle, delim, close = _open_output(args.output)
        try:
            names = meta.get("columns") or [f"x{k}" for k in range(X.shape[1])]
            handle.write(delim.join(["sequence_id", "state", *names]) + "\n")
            cells = ([[alphabet.symbols[int(v)]] for v in X[:, 0]] if alphabet is not None
                     and X.shape[1] == 1 else [[repr(v) for v in row] for row in X.tolist()])
            seq = np.repeat(ids, args.length)
            handle.writelines(delim.join([s, str(z), *c]) + "\n"
                              for s, z, c in zip(seq, Z.tolist(), cells, strict=True))
        finally:
            if close:
                handle.close()
    return 0


def _model_summary(model, meta):
    summary = {"class": type(model).__name__, "repr": repr(model), "user": meta}
    if hasattr(model, "n_components"):
        summary["n_components"] = int(model.n_components)
        emission = _emission(model)
        summary["n_features"] = getattr(emission, "n_features", None)
        monitor = getattr(model, "monitor_", None) if _is_hmm(model) else None
        fitted = getattr(model, "startprob_", None) is not None
        summary["fitted"] = bool(fitted)
        if fitted:
            summary["startprob"] = np.asarray(model.startprob_).tolist()
            summary["transmat"] = np.asarray(model.transmat_).tolist()
        if monitor is not None:
            summary.update(iterations=monitor.iter, converged=bool(monitor.converged),
                           log_likelihood=_float(monitor.history[-1]) if monitor.history
                           else None)
    else:
        summary["n_states"] = getattr(model, "n_states_", None)
        summary["fitted"] = hasattr(model, "n_states_")
    return summary


def _cmd_info(args):
    if args.model is None:
        from hmm_core.kernels.config import show_config

        info = show_config(print_out=not args.json)
        if args.json:
            print(json.dumps(info, indent=2, default=str))
        return 0
    from hmm_core.io.modelfile import read_metadata

    model, meta = _load_model(args.model)
    if args.json:
        print(json.dumps(_model_summary(model, meta), indent=2))
        return 0
    header = read_metadata(args.model)
    print(f"{args.model}: hmm_core model file, format version {header['format_version']}, "
          f"written by hmm_core {header['hmm_core_version']}")
    if meta.get("alphabet"):
        print(f"alphabet: {','.join(meta['alphabet']['symbols'])}")
    print(str(model))
    return 0


def _cmd_demo(args):
    from hmm_core.cli.demo import run_demo

    if args.states < 1:
        raise UsageError("--states must be at least 1")
    run_demo(n_components=args.states, random_state=args.seed)
    return 0


_COMMANDS = {"fit": _cmd_fit, "score": _cmd_score, "decode": _cmd_decode,
             "sample": _cmd_sample, "info": _cmd_info, "demo": _cmd_demo}


def _error(message):
    print(f"hmm-core: error: {message}", file=sys.stderr)


def main(argv=None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success, 1 for an error in the data or files, 2 for
        bad arguments, 3 for an internal error (a bug; set the environment
        variable ``HMM_CORE_TRACEBACK=1`` to see its traceback), 130 when
        interrupted.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return _COMMANDS[args.command](args)
    except UsageError as exc:
        _error(exc)
        return 2
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        _error(f"{exc.filename}: {exc.strerror}" if exc.filename else exc)
        return 1
    except (ValueError, OSError, ImportError) as exc:
        _error(exc)
        return 1
    except MemoryError:
        _error("out of memory: lower --chunk-size")
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a user mistake: still one line by default
        if os.environ.get("HMM_CORE_TRACEBACK"):
            raise
        _error(f"internal error ({type(exc).__name__}: {exc}); please report it, with the "
               "traceback shown when HMM_CORE_TRACEBACK=1 is set")
        return 3


if __name__ == "__main__":
    sys.exit(main())
