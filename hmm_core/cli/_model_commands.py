"""``hmm-core sample``, ``hmm-core info`` and ``hmm-core demo``: commands that read no data file."""

from __future__ import annotations

import json
import sys

import numpy as np

from hmm_core.cli._common import (
    emission_of,
    finite_or_none,
    get_alphabet,
    is_hmm,
    load_model,
    memory_hint,
)
from hmm_core.cli._outputs import Outputs, output_format
from hmm_core.cli._parser import UsageError
from hmm_core.kernels.validation import check_memory


def _draw(model, args, ids):
    """Symbols (or features) and hidden states of one sampled sequence per id."""
    xs, states = [], []
    if is_hmm(model):
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
    return xs, states


#: Bytes ``sample`` holds per sequence id (the str and its list slots) and, at
#: least, per drawn frame (state, observation and the drawn path).
_ID_BYTES, _FRAME_BYTES = 100, 24


def cmd_sample(args):
    """Run ``hmm-core sample``; returns the exit status."""
    from hmm_core.io.formats import write_fasta

    if args.old_length is not None:
        print("hmm-core: note: -n for sample's length is deprecated, -n means --states in "
              "fit and demo: use -l/--length", file=sys.stderr)
        args.length = args.old_length
    with Outputs([("model file", args.model)], [("-o/--output", args.output or "-")]) as out:
        kind = output_format("-o/--output", args.output, args.output_format,
                             ("csv", "tsv", "npz", "npy", "fasta"))
        model, meta = load_model(args.model)
        if args.length < 1 or args.sequences < 1:
            raise UsageError("--length and --sequences must be at least 1")
        alphabet = get_alphabet(args, meta, model)
        # The ids, paths and draws are all held before writing: refuse a request
        # that cannot fit before building any of them.
        check_memory(args.sequences * (_ID_BYTES + args.length * _FRAME_BYTES),
                     f"--sequences {args.sequences:,} of --length {args.length:,}",
                     "lower --length or --sequences")
        ids = [f"sample{i + 1}" for i in range(args.sequences)]
        with memory_hint("while sampling: lower --length or --sequences"):
            xs, states = _draw(model, args, ids)
            X, Z = np.concatenate(xs), np.concatenate(states)
        lengths = np.full(len(ids), args.length, dtype=np.int64)
        if kind == "npz":
            np.savez(out.open("-o/--output", "wb"), X=X, states=Z, lengths=lengths,
                     ids=np.array(ids))
        elif kind == "npy":
            np.save(out.open("-o/--output", "wb"), X)
        elif kind == "fasta":
            if alphabet is None or X.shape[1] != 1:
                raise UsageError("FASTA output needs a symbol model and an alphabet "
                                 "(--alphabet)")
            write_fasta(out.open("-o/--output"), ids, [alphabet.decode(x) for x in xs])
        else:
            handle, delim = out.open("-o/--output"), "\t" if kind == "tsv" else ","
            names = meta.get("columns") or [f"x{k}" for k in range(X.shape[1])]
            handle.write(delim.join(["sequence_id", "state", *names]) + "\n")
            cells = ([[alphabet.symbols[int(v)]] for v in X[:, 0]] if alphabet is not None
                     and X.shape[1] == 1 else [[repr(v) for v in row] for row in X.tolist()])
            seq = np.repeat(ids, args.length)
            handle.writelines(delim.join([s, str(z), *c]) + "\n"
                              for s, z, c in zip(seq, Z.tolist(), cells, strict=True))
    return 0


def _model_summary(model, meta):
    summary = {"class": type(model).__name__, "repr": repr(model), "user": meta}
    if hasattr(model, "n_components"):
        summary["n_components"] = int(model.n_components)
        emission = emission_of(model)
        summary["n_features"] = getattr(emission, "n_features", None)
        monitor = getattr(model, "monitor_", None) if is_hmm(model) else None
        fitted = getattr(model, "startprob_", None) is not None
        summary["fitted"] = bool(fitted)
        if fitted:
            summary["startprob"] = np.asarray(model.startprob_).tolist()
            summary["transmat"] = np.asarray(model.transmat_).tolist()
        if monitor is not None:
            summary.update(iterations=monitor.iter, converged=bool(monitor.converged),
                           log_likelihood=finite_or_none(monitor.history[-1]) if monitor.history
                           else None)
    else:
        summary["n_states"] = getattr(model, "n_states_", None)
        summary["fitted"] = hasattr(model, "n_states_")
    return summary


def cmd_info(args):
    """Run ``hmm-core info``; returns the exit status."""
    if args.model is None:
        from hmm_core.kernels.config import show_config

        info = show_config(print_out=not args.json)
        if args.json:
            print(json.dumps(info, indent=2, default=str))
        return 0
    from hmm_core.io.modelfile import read_metadata

    model, meta = load_model(args.model)
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


def cmd_demo(args):
    """Run ``hmm-core demo``; returns the exit status."""
    from hmm_core.cli.demo import run_demo

    if args.states < 1:
        raise UsageError("--states must be at least 1")
    run_demo(n_components=args.states, random_state=args.seed)
    return 0
