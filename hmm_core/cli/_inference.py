"""``hmm-core score`` and ``hmm-core decode``: stream a data file through a model file."""

from __future__ import annotations

import os

import numpy as np

from hmm_core.cli._common import (
    data_chunks,
    data_files,
    data_label,
    finite_or_none,
    get_alphabet,
    is_hmm,
    load_model,
    memory_hint,
    report_throughput,
    set_threads,
    stream_chunks,
    write_json,
)
from hmm_core.cli._outputs import Outputs, numpy_name, output_format
from hmm_core.cli._parser import UsageError
from hmm_core.cli._remote import remote
from hmm_core.cli._tracks import (
    BedGraphWriter,
    bed_lines,
    check_track_ids,
    posterior_tracks,
    state_names,
)


def _inputs(args):
    return [("model file", args.model)] + [("data file", path) for path in data_files(args)]


def cmd_score(args):
    """Run ``hmm-core score``; returns the exit status."""
    with Outputs(_inputs(args), [("-o/--output", args.output or "-"),
                                 ("--summary", args.summary)]) as out:
        fmt = output_format("-o/--output", args.output, args.output_format, ("csv", "tsv"))
        model, meta = load_model(args.model)
        set_threads(model, args.threads)
        alphabet = get_alphabet(args, meta, model)
        chunks, total, max_frames = data_chunks(args, meta, model, alphabet)
        handle, delim = out.open("-o/--output"), "\t" if fmt == "tsv" else ","
        totals = {"log_likelihood": 0.0}
        handle.write(delim.join(("sequence_id", "length", "log_likelihood")) + "\n")

        def process(chunk):
            X = chunk.X[:, 0] if not is_hmm(model) else chunk.X
            scores = model.score_sequences(X, chunk.lengths)
            totals["log_likelihood"] += float(scores.sum())
            handle.writelines(f"{i}{delim}{n}{delim}{s!r}\n" for i, n, s in
                              zip(chunk.ids, chunk.lengths.tolist(), scores.tolist(),
                                  strict=True))

        with remote(args, model, [("score_sequences", ())]) as (model, prefetch):
            stats = stream_chunks(prefetch(chunks), total, args, "scoring", process,
                                  f"while scoring a chunk of up to {max_frames:,} frames: "
                                  "lower --chunk-size")
        if args.summary:
            write_json(out.open("--summary"),
                       {"model_file": args.model, "data": data_label(args),
                        "log_likelihood": finite_or_none(totals["log_likelihood"]), **stats})
    report_throughput(args, "scored", stats, model)
    return 0


def _decode_memory_hint(args, to_npz, max_frames):
    """What would help when decoding runs out of memory."""
    kept = [what for what, on in ((".npz paths", to_npz), ("--posteriors", args.posteriors))
            if on]
    if not kept:
        return f"while decoding a chunk of up to {max_frames:,} frames: lower --chunk-size"
    return (f"while decoding: {' and '.join(kept)} keep the results for the whole file in "
            "memory; decode a smaller file, or write CSV/TSV paths without --posteriors")


def _posteriors_destination(args):
    """The file --posteriors writes: a name without extension gets ``.npz``, as NumPy does."""
    path = args.posteriors
    if path is None or args.posteriors_format == "bedgraph":
        return path
    return path if os.path.splitext(os.path.basename(path))[1] else numpy_name(path, ".npz")


def cmd_decode(args):
    """Run ``hmm-core decode``; returns the exit status."""
    from hmm_core.cli._batch import segments

    with Outputs(_inputs(args), [("-o/--output", args.output or "-"),
                                 ("--posteriors", _posteriors_destination(args)),
                                 ("--summary", args.summary)]) as out:
        fmt = output_format("-o/--output", args.output, args.output_format,
                            ("csv", "tsv", "npz", "bed"))
        post_fmt = None if args.posteriors is None else output_format(
            "--posteriors", _posteriors_destination(args), args.posteriors_format,
            ("npz", "bedgraph"), flag="--posteriors-format")
        to_npz, to_bed = fmt == "npz", fmt == "bed"
        model, meta = load_model(args.model, need_hmm=True)
        set_threads(model, args.threads)
        names = state_names(args.state_names, model.n_components)
        track_state = None if args.posterior_state is None else _state_index(
            args.posterior_state, args.state_names, model.n_components)
        alphabet = get_alphabet(args, meta, model)
        chunks, total, max_frames = data_chunks(args, meta, model, alphabet)
        hint = _decode_memory_hint(args, to_npz, max_frames)
        keep = {"ids": [], "lengths": [], "paths": [], "logprob": [], "post": []}
        handle, delim = (None, None) if to_npz else (out.open("-o/--output"),
                                                     "\t" if fmt == "tsv" else ",")
        occupancy = np.zeros(model.n_components)
        labels = (None if args.state_names is None
                  else np.array(names + ["-1"], dtype=object))  # -1: no possible path
        if handle is not None and not to_bed:  # BED has no header line
            head = ("sequence_id", "start", "end", "state") if args.segments else (
                "sequence_id", "position", "state")
            handle.write(delim.join(head) + "\n")

        def shown(states):
            return states.tolist() if labels is None else labels[states].tolist()

        def process(chunk):
            logprob, path = model.decode_sequences(chunk.X, chunk.lengths, args.algorithm)
            occupancy[:] += np.bincount(path[path >= 0], minlength=model.n_components)
            if args.posteriors:
                if post_fmt == "bedgraph":
                    check_track_ids(chunk.ids, "--posteriors")
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
            if to_bed:
                check_track_ids(ids, "-o/--output")
                handle.writelines(bed_lines(ids, *segments(path, chunk.lengths), names))
            elif args.segments:
                seq, start, end, state = segments(path, chunk.lengths)
                handle.writelines(f"{ids[q]}{delim}{a}{delim}{b}{delim}{s}\n" for q, a, b, s
                                  in zip(seq.tolist(), start.tolist(), end.tolist(),
                                         shown(state), strict=True))
            else:
                seq = np.repeat(np.arange(len(ids)), chunk.lengths)
                pos = np.arange(path.shape[0]) - np.repeat(
                    np.concatenate(([0], np.cumsum(chunk.lengths)[:-1])), chunk.lengths)
                handle.writelines(f"{ids[q]}{delim}{p}{delim}{s}\n" for q, p, s in
                                  zip(seq.tolist(), pos.tolist(), shown(path), strict=True))

        jobs = [("decode_sequences", (args.algorithm,))]
        jobs += [("predict_proba", ())] if args.posteriors else []
        with remote(args, model, jobs) as (model, prefetch):
            stats = stream_chunks(prefetch(chunks), total, args, "decoding", process, hint)
        with memory_hint(hint):
            ids = np.array(keep["ids"], dtype=str)
            lengths = (np.concatenate(keep["lengths"]) if keep["lengths"]
                       else np.zeros(0, np.int64))
            if to_npz:
                np.savez(out.open("-o/--output", "wb"), states=np.concatenate(keep["paths"]),
                         lengths=lengths, ids=ids, logprob=np.concatenate(keep["logprob"]))
            if post_fmt == "npz":
                np.savez(out.open("--posteriors", "wb"),
                         posteriors=np.concatenate(keep["post"]), lengths=lengths, ids=ids)
            elif post_fmt == "bedgraph":
                writer = BedGraphWriter(out.open("--posteriors"))
                for state in posterior_tracks(model.n_components, track_state):
                    writer.track(names[state], f"P({names[state]} | data), "
                                               f"{args.algorithm} decoding of {args.model}")
                    writer.write(keep["ids"], lengths,
                                 [post[:, state] for post in keep["post"]])
        if args.summary:
            frac = occupancy / max(occupancy.sum(), 1)
            write_json(out.open("--summary"), {"model_file": args.model,
                                               "data": data_label(args),
                                               "algorithm": args.algorithm,
                                               "state_fractions": frac.tolist(), **stats})
    report_throughput(args, "decoded", stats, model)
    return 0


def _state_index(spec, names_spec, n_components):
    """The state --posterior-state names: a number, or one of --state-names."""
    names = state_names(names_spec, n_components)
    if spec in names:
        return names.index(spec)
    try:
        index = int(spec)
    except ValueError:
        index = -1
    if not 0 <= index < n_components:
        raise UsageError(f"--posterior-state {spec!r} is neither a state number in "
                         f"0..{n_components - 1} nor a state name ({', '.join(names)})")
    return index
