"""``hmm-core fit``: build a model from the command line, fit it to a data file and save it."""

from __future__ import annotations

import os
import time

import numpy as np

from hmm_core.cli._common import (
    finite_or_none,
    get_alphabet,
    memory_hint,
    read_data,
    report,
    write_json,
)
from hmm_core.cli._outputs import Outputs
from hmm_core.cli._parser import UsageError


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


def cmd_fit(args):
    """Run ``hmm-core fit``; returns the exit status."""
    from hmm_core.io.formats import detect_format

    fmt = detect_format(args.data, args.format)
    with Outputs([("data file", args.data)],
                 [("-o/--output", args.output), ("--summary", args.summary)]) as out:
        alphabet = get_alphabet(args, {})
        if fmt in ("fasta", "fastq") and args.kind not in (None, "categorical", "markov"):
            raise UsageError(f"{fmt.upper()} input holds symbols: use --kind categorical")
        if args.threads is not None and args.threads < 1:
            raise UsageError("--threads must be at least 1")
        streamed = (fmt in ("fasta", "fastq") and args.kind in (None, "categorical")
                    and alphabet is not None
                    and not getattr(args, "scheduler", None))  # a cluster gets partitions
        with memory_hint(f"while fitting: fit reads all of {args.data} and trains on it at "
                         "once; fit fewer or shorter sequences"):
            start = time.perf_counter()
            model, kind = _build_model(args, alphabet)
            if streamed:  # read once per EM iteration, one chunk at a time
                obs = _FastaSource(args, alphabet, fmt, model.n_components)
                data = (obs, None)
            else:
                obs = read_data(args, {}, alphabet)
                data = (obs.X, obs.lengths)
            try:
                if getattr(args, "scheduler", None):
                    from hmm_core.cli._remote import fit_remote

                    fit_remote(args, model, obs)
                else:
                    model.fit(*data)
            except ValueError as exc:
                raise ValueError(f"cannot fit a {kind} model to {args.data}: {exc}") from None
            seconds = time.perf_counter() - start
            meta = {"alphabet": alphabet.to_json() if alphabet is not None else None,
                    "columns": obs.columns, "id_column": args.id_column,
                    "data": os.path.basename(args.data)}
            out.save("-o/--output", lambda path: model.save(path, metadata=meta))
            summary = _fit_summary(model, obs, seconds, args.output)
        if args.summary:
            write_json(out.open("--summary"), summary)
    what = (f"{summary['iterations']} iterations, "
            f"{'converged' if summary['converged'] else 'not converged'}, "
            if summary.get("iterations") is not None else "")
    report(args, f"fitted {type(model).__name__} ({summary['n_components']} states) to "
                  f"{summary['n_sequences']:,} sequences ({summary['n_frames']:,} frames) in "
                  f"{seconds:.2f} s: {what}log-likelihood {summary['log_likelihood']:.6g}; "
                  f"wrote {args.output}")
    return 0


class _FastaSource:
    """A FASTA/FASTQ file as a re-iterable source of ``(X, lengths)`` chunks for ``fit``."""

    def __init__(self, args, alphabet, fmt, n_states):
        from hmm_core.cli._batch import chunk_frames

        self.path, self.alphabet, self.fastq = args.data, alphabet, fmt == "fastq"
        self.max_frames = chunk_frames(n_states, getattr(args, "chunk_size", None))
        self.columns = None

    def __call__(self):
        from hmm_core.io.formats import iter_fasta_chunks

        for chunk, _ in iter_fasta_chunks(self.path, self.alphabet, self.max_frames,
                                          self.fastq):
            yield chunk.X, chunk.lengths


def _streamed_totals(model, source):
    """Log-likelihood, sequences and frames of a chunk source, one chunk at a time."""
    loglik, n_seq, n_frames = 0.0, 0, 0
    for X, lengths in source():
        loglik += float(model.score(X, lengths))
        n_seq, n_frames = n_seq + len(lengths), n_frames + int(np.sum(lengths))
    return loglik, n_seq, n_frames


def _fit_summary(model, obs, seconds, path):
    if isinstance(obs, _FastaSource):
        loglik, n_seq, n_frames = _streamed_totals(model, obs)
    else:
        loglik = float(model.score(obs.X, obs.lengths))
        n_seq, n_frames = len(obs.ids), int(obs.lengths.sum())
    summary = {"model_file": path, "class": type(model).__name__,
               "n_components": int(getattr(model, "n_components", 0) or model.n_states_),
               "n_sequences": n_seq, "n_frames": n_frames,
               "log_likelihood": finite_or_none(loglik), "seconds": seconds}
    monitor = getattr(model, "monitor_", None)
    if isinstance(obs, _FastaSource) and monitor is not None:
        n_params = model._n_parameters()
        summary.update(iterations=monitor.iter, converged=bool(monitor.converged),
                       aic=finite_or_none(-2 * loglik + 2 * n_params),
                       bic=finite_or_none(-2 * loglik + n_params * np.log(n_frames)))
    elif monitor is not None:
        summary.update(iterations=monitor.iter, converged=bool(monitor.converged),
                       aic=finite_or_none(model.aic(obs.X, obs.lengths)),
                       bic=finite_or_none(model.bic(obs.X, obs.lengths)))
    return summary
