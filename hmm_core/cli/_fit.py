"""``hmm-core fit``: build a model from the command line, fit it to a data file and save it."""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np

from hmm_core.cli._common import (
    _columns,
    _IdCheck,
    data_files,
    data_label,
    finite_or_none,
    get_alphabet,
    memory_hint,
    read_data,
    report,
    write_json,
)
from hmm_core.cli._outputs import Outputs
from hmm_core.cli._parser import UsageError
from hmm_core.hmm.monitor import ConvergenceWarning


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
    if kind == "semimarkov":
        return _build_semimarkov(args, alphabet), kind
    common = dict(n_components=args.states, n_iter=args.n_iter, tol=args.tol,
                  random_state=args.seed, n_init=args.n_init, verbose=args.verbose,
                  end_state=args.end_state, n_threads=args.threads)
    if kind == "categorical":
        model = CategoricalHMM(n_features=None if alphabet is None else len(alphabet), **common)
    elif kind == "gaussian":
        model = GaussianHMM(covariance_type=args.covariance_type, **common)
    elif kind == "gmm":
        model = GMMHMM(n_mix=args.n_mix, covariance_type=args.covariance_type, **common)
    elif kind.startswith("variational") or kind == "autoregressive":
        model = _other_model(kind, args, alphabet, common)
    else:
        model = {"poisson": PoissonHMM, "multinomial": MultinomialHMM}[kind](**common)
    if args.topology == "left-right":
        topology.left_right(model)
    if args.sticky is not None:
        _sticky(model, args.sticky, args.topology == "left-right")
    return model, kind


def _build_semimarkov(args, alphabet):
    from hmm_core import SemiMarkovHMM

    if args.max_duration < 1:
        raise UsageError("--max-duration must be at least 1")
    if args.topology != "ergodic" or args.sticky is not None or args.end_state:
        raise UsageError("--topology, --sticky and --end-state do not apply to --kind "
                         "semimarkov (durations replace self-transitions)")
    emission = args.emission or ("categorical" if alphabet is not None else "gaussian")
    return SemiMarkovHMM(n_components=args.states, emission=emission,
                         max_duration=args.max_duration, duration=args.duration,
                         censor_last=args.censor_last, n_iter=args.n_iter, tol=args.tol,
                         random_state=args.seed, n_init=args.n_init, verbose=args.verbose,
                         n_threads=args.threads)


def _other_model(kind, args, alphabet, common):
    """Variational Bayes and autoregressive models (no end state)."""
    from hmm_core import AutoregressiveHMM, VariationalCategoricalHMM, VariationalGaussianHMM

    if common.pop("end_state"):
        raise UsageError(f"--end-state is not available for --kind {kind}")
    if kind == "variational-categorical":
        return VariationalCategoricalHMM(
            n_features=None if alphabet is None else len(alphabet), **common)
    if kind == "variational-gaussian":
        return VariationalGaussianHMM(covariance_type=args.covariance_type, **common)
    if args.covariance_type not in ("full", "diag"):
        raise UsageError("--kind autoregressive takes --covariance-type full or diag")
    if args.lags < 1:
        raise UsageError("--lags must be at least 1")
    return AutoregressiveHMM(n_lags=args.lags, covariance_type=args.covariance_type, **common)


def cmd_fit(args):
    """Run ``hmm-core fit``; returns the exit status."""
    from hmm_core.io.formats import FormatError, detect_format

    files = data_files(args)
    fmts = {detect_format(path, args.format) for path in files}
    with Outputs([("data file", path) for path in files],
                 [("-o/--output", args.output), ("--summary", args.summary)]) as out:
        alphabet = get_alphabet(args, {})
        for fmt in sorted(fmts & {"fasta", "fastq"}):
            if args.kind not in (None, "categorical", "markov", "semimarkov",
                                 "variational-categorical"):
                raise UsageError(f"{fmt.upper()} input holds symbols: use --kind categorical")
        if args.threads is not None and args.threads < 1:
            raise UsageError("--threads must be at least 1")
        streamed = (_streamable(files, fmts, args, alphabet)
                    and not getattr(args, "scheduler", None))  # a cluster gets partitions
        with memory_hint(f"while fitting: fit reads all of {data_label(args)} and trains on "
                         "it at once; fit fewer or shorter sequences"):
            start = time.perf_counter()
            model, kind = _build_model(args, alphabet)
            if streamed:  # read once per EM iteration, one chunk at a time
                obs = _FileSource(files, alphabet, model.n_components, args)
                data = (obs, None)
                if not fmts & {"fasta", "fastq"}:  # data of one chunk: fit it as it is
                    whole = obs.single_chunk()
                    if whole is not None:
                        obs, data = whole, (whole.X, whole.lengths)
            else:
                obs = read_data(args, {}, alphabet)
                data = (obs.X, obs.lengths)
            try:
                with warnings.catch_warnings():  # said once, below, as one line
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    if getattr(args, "scheduler", None):
                        from hmm_core.cli._remote import fit_remote

                        fit_remote(args, model, obs)
                    else:
                        model.fit(*data)
            except FormatError:  # a streamed file's error already names it
                raise
            except ValueError as exc:
                raise ValueError(f"cannot fit a {kind} model to {data_label(args)}: "
                                 f"{exc}") from None
            seconds = time.perf_counter() - start
            meta = {"alphabet": alphabet.to_json() if alphabet is not None else None,
                    "columns": obs.columns, "id_column": args.id_column,
                    "data": ", ".join(os.path.basename(path) for path in files)}
            out.save("-o/--output", lambda path: model.save(path, metadata=meta))
            summary = _fit_summary(model, obs, seconds, args.output)
        if args.summary:
            write_json(out.open("--summary"), summary)
    what = (f"{summary['iterations']} iterations, "
            f"{'converged' if summary['converged'] else 'not converged'}, "
            if summary.get("iterations") is not None else "")
    _warn_unconverged(model)
    report(args, f"fitted {type(model).__name__} ({summary['n_components']} states) to "
                  f"{summary['n_sequences']:,} sequences ({summary['n_frames']:,} frames) in "
                  f"{seconds:.2f} s: {what}log-likelihood {summary['log_likelihood']:.6g}; "
                  f"wrote {args.output}")
    return 0


# Models whose ``fit`` takes a source of ``(X, lengths)`` chunks.
_STREAMED_KINDS = (None, "categorical", "gaussian", "gmm", "poisson", "multinomial")


def _streamable(files, fmts, args, alphabet):
    """Whether ``fit`` can stream the data files through EM one chunk at a time."""
    from hmm_core.io._chunked import table_grouped
    from hmm_core.io.formats import detect_format

    if args.kind not in _STREAMED_KINDS or len(fmts) != 1:
        return False
    fmt = next(iter(fmts))
    if fmt in ("fasta", "fastq"):
        return args.kind in (None, "categorical") and alphabet is not None
    if fmt in ("csv", "tsv"):  # a table with ids spread out is read whole, as before
        return all(table_grouped(path, args.id_column,
                                 "\t" if detect_format(path, args.format) == "tsv" else ",")
                   for path in files)
    return True


class _FileSource:
    """Data files as a re-iterable source of ``(X, lengths)`` chunks for ``fit``."""

    def __init__(self, paths, alphabet, n_states, args):
        from hmm_core.cli._batch import chunk_frames

        self.paths, self.alphabet, self.args = paths, alphabet, args
        try:
            self.max_frames = chunk_frames(n_states, getattr(args, "chunk_size", None))
        except ValueError as exc:
            raise UsageError(f"--chunk-size: {exc}") from None
        self.columns = None

    def _chunks(self, path):
        from hmm_core.cli._batch import iter_chunks

        args = self.args
        chunks, _ = iter_chunks(path, args.format, self.alphabet, self.max_frames, None,
                                args.id_column, _columns(args, {}), True)
        return (chunk for chunk, _ in chunks)

    def single_chunk(self):
        """The data as one :class:`Observations` if it is one chunk, else None."""
        if len(self.paths) != 1:
            return None
        chunks = self._chunks(self.paths[0])
        first, second = next(chunks), next(chunks, None)
        chunks.close()
        return first if second is None else None

    def __call__(self):
        check = _IdCheck() if len(self.paths) > 1 else None
        for index, path in enumerate(self.paths):
            for chunk in self._chunks(path):
                if self.columns is None:
                    self.columns, self.first = chunk.columns, path
                elif chunk.columns != self.columns:
                    raise ValueError(f"{path} has columns {chunk.columns} but {self.first} "
                                     f"has {self.columns}")
                if check is not None:
                    check.add(chunk.ids, index, path)
                yield chunk.X, chunk.lengths


def _streamed_totals(model, source):
    """Log-likelihood, sequences and frames of a chunk source, one chunk at a time."""
    loglik, n_seq, n_frames = 0.0, 0, 0
    for X, lengths in source():
        loglik += float(model.score(X, lengths))
        n_seq, n_frames = n_seq + len(lengths), n_frames + int(np.sum(lengths))
    return loglik, n_seq, n_frames


def _warn_unconverged(model):
    """One line on stderr when EM ran out of iterations (even with --quiet)."""
    monitor = getattr(model, "monitor_", None)
    if monitor is None or not monitor.history or monitor.converged:
        return
    gain = (f"last gain {monitor.history[-1] - monitor.history[-2]:.3g}"
            if len(monitor.history) >= 2 else "one iteration")
    print(f"hmm-core: warning: EM did not converge in {monitor.iter} iterations ({gain}, "
          f"--tol {monitor.tol:g}); raise --n-iter", file=sys.stderr)


def _fit_summary(model, obs, seconds, path):
    if isinstance(obs, _FileSource):
        loglik, n_seq, n_frames = _streamed_totals(model, obs)
    else:
        loglik = float(model.score(obs.X, obs.lengths))
        n_seq, n_frames = len(obs.ids), int(obs.lengths.sum())
    summary = {"model_file": path, "class": type(model).__name__,
               "n_components": int(getattr(model, "n_components", 0) or model.n_states_),
               "n_sequences": n_seq, "n_frames": n_frames,
               "log_likelihood": finite_or_none(loglik), "seconds": seconds}
    monitor = getattr(model, "monitor_", None)
    if isinstance(obs, _FileSource) and monitor is not None:
        n_params = model._n_parameters()
        summary.update(iterations=monitor.iter, converged=bool(monitor.converged),
                       aic=finite_or_none(-2 * loglik + 2 * n_params),
                       bic=finite_or_none(-2 * loglik + n_params * np.log(n_frames)))
    elif monitor is not None:
        summary.update(iterations=monitor.iter, converged=bool(monitor.converged),
                       aic=finite_or_none(model.aic(obs.X, obs.lengths)),
                       bic=finite_or_none(model.bic(obs.X, obs.lengths)))
    return summary
