"""``hmm-core sample``, ``hmm-core info`` and ``hmm-core demo``: commands that read no data file."""

from __future__ import annotations

import json

import numpy as np

from hmm_core.cli._common import (
    check_destinations,
    emission_of,
    finite_or_none,
    get_alphabet,
    is_hmm,
    load_model,
    open_output,
)
from hmm_core.cli._parser import UsageError


def cmd_sample(args):
    """Run ``hmm-core sample``; returns the exit status."""
    from hmm_core.io.formats import write_fasta

    check_destinations(args.output)
    model, meta = load_model(args.model)
    if args.length < 1 or args.sequences < 1:
        raise UsageError("--length and --sequences must be at least 1")
    alphabet = get_alphabet(args, meta, model)
    ids = [f"sample{i + 1}" for i in range(args.sequences)]
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
        handle, delim, close = open_output(args.output)
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
