"""``hmm-core score`` and ``hmm-core decode``: stream a data file through a model file."""

from __future__ import annotations

import numpy as np

from hmm_core.cli._common import (
    check_destinations,
    data_chunks,
    finite_or_none,
    get_alphabet,
    is_hmm,
    load_model,
    open_output,
    report_throughput,
    set_threads,
    stream_chunks,
    write_json,
)


def cmd_score(args):
    """Run ``hmm-core score``; returns the exit status."""
    check_destinations(args.output, args.summary)
    model, meta = load_model(args.model)
    set_threads(model, args.threads)
    alphabet = get_alphabet(args, meta, model)
    chunks, total = data_chunks(args, meta, model, alphabet)
    handle, delim, close = open_output(args.output)
    totals = {"log_likelihood": 0.0}
    try:
        handle.write(delim.join(("sequence_id", "length", "log_likelihood")) + "\n")

        def process(chunk):
            X = chunk.X[:, 0] if not is_hmm(model) else chunk.X
            scores = model.score_sequences(X, chunk.lengths)
            totals["log_likelihood"] += float(scores.sum())
            handle.writelines(f"{i}{delim}{n}{delim}{s!r}\n" for i, n, s in
                              zip(chunk.ids, chunk.lengths.tolist(), scores.tolist(),
                                  strict=True))

        stats = stream_chunks(chunks, total, args, "scoring", process)
    finally:
        if close:
            handle.close()
        else:
            handle.flush()
    report_throughput(args, "scored", stats, model)
    if args.summary:
        write_json(args.summary, {"model_file": args.model, "data": args.data,
                                   "log_likelihood": finite_or_none(totals["log_likelihood"]),
                                   **stats})
    return 0


def cmd_decode(args):
    """Run ``hmm-core decode``; returns the exit status."""
    from hmm_core.cli._batch import segments

    check_destinations(args.output, args.posteriors, args.summary)
    model, meta = load_model(args.model, need_hmm=True)
    set_threads(model, args.threads)
    alphabet = get_alphabet(args, meta, model)
    chunks, total = data_chunks(args, meta, model, alphabet)
    to_npz = args.output is not None and args.output.lower().endswith(".npz")
    keep = {"ids": [], "lengths": [], "paths": [], "logprob": [], "post": []}
    handle, delim, close = (None, None, False) if to_npz else open_output(args.output)
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

        stats = stream_chunks(chunks, total, args, "decoding", process)
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
    report_throughput(args, "decoded", stats, model)
    if args.summary:
        frac = occupancy / max(occupancy.sum(), 1)
        write_json(args.summary, {"model_file": args.model, "data": args.data,
                                   "algorithm": args.algorithm,
                                   "state_fractions": frac.tolist(), **stats})
    return 0
