"""Segment a genome into GC-rich and AT-rich regions with a categorical HMM,
from FASTA, through the ``hmm-core`` command line.

Genomes are mosaics of long regions whose base composition differs
(isochores, CpG islands). A two-state HMM over the bases A, C, G, T recovers
them: one state emits mostly G/C, the other mostly A/T, and the transition
matrix encodes how long regions last.

The example writes a genome-like FASTA file with known regions (several
chromosomes, lower-case runs, ``N`` gaps), then runs::

    hmm-core fit genome.fa --alphabet DNA --unknown missing --states 2 \\
        --sticky 0.999 -o gc_model.npz
    hmm-core decode gc_model.npz genome.fa --segments -o segments.tsv
    hmm-core score gc_model.npz genome.fa -o scores.csv

and compares the decoded segments with the truth. Run
``python examples/dna_gc_segmentation.py --workdir dna-example``.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys

import numpy as np

BASES = np.array(list("ACGT"))
# P(A, C, G, T) in each kind of region.
COMPOSITION = {"GC-rich": [0.15, 0.35, 0.35, 0.15], "AT-rich": [0.32, 0.18, 0.18, 0.32]}


def make_genome(n_chromosomes, length, mean_region, seed):
    """Chromosomes of alternating regions; returns sequences and true labels (1 = GC-rich)."""
    rng = np.random.default_rng(seed)
    sequences, labels = [], []
    for _ in range(n_chromosomes):
        kinds, total = [], 0
        gc = bool(rng.integers(2))
        while total < length:
            size = min(int(rng.exponential(mean_region)) + 50, length - total)
            kinds.append(np.full(size, gc))
            total += size
            gc = not gc
        truth = np.concatenate(kinds)
        probs = np.where(truth[:, None], COMPOSITION["GC-rich"], COMPOSITION["AT-rich"])
        draws = (rng.random(length)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
        seq = BASES[np.minimum(draws, 3)]
        seq[rng.random(length) < 0.001] = "N"  # sequencing gaps: missing symbols
        lower = rng.random(length) < 0.2  # soft-masked runs (case must not matter)
        seq[lower] = np.char.lower(seq[lower])
        sequences.append("".join(seq))
        labels.append(truth.astype(int))
    return sequences, labels


def write_fasta(path, sequences, width=70):
    """Write ``chr1``, ``chr2``... with ``width`` bases per line."""
    with open(path, "w", encoding="ascii") as handle:
        for i, seq in enumerate(sequences, start=1):
            handle.write(f">chr{i} synthetic chromosome {i}\n")
            for k in range(0, len(seq), width):
                handle.write(seq[k:k + width] + "\n")


def hmm_core_cli(*args):
    """Run ``hmm-core`` (as ``python -m hmm_core``) and fail loudly on an error."""
    cmd = [sys.executable, "-m", "hmm_core", *args]
    print("$ hmm-core " + " ".join(args))
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.stderr:
        print("  " + result.stderr.strip().replace("\n", "\n  "))
    if result.returncode != 0:
        raise SystemExit(f"hmm-core failed with status {result.returncode}")
    return result.stdout


def read_segments(path, lengths):
    """Per-chromosome state paths rebuilt from the decoded segments."""
    paths = {f"chr{i}": np.full(n, -1) for i, n in enumerate(lengths, start=1)}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            paths[row["sequence_id"]][int(row["start"]):int(row["end"])] = int(row["state"])
    return paths


def main(argv=None):
    """Run the example; see ``--help``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromosomes", type=int, default=4)
    parser.add_argument("--length", type=int, default=200_000, help="bases per chromosome")
    parser.add_argument("--mean-region", type=float, default=5_000, help="mean region size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default="dna-example", help="directory for the files")
    args = parser.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    fasta = os.path.join(args.workdir, "genome.fa")
    model = os.path.join(args.workdir, "gc_model.npz")
    segments = os.path.join(args.workdir, "segments.tsv")
    scores = os.path.join(args.workdir, "scores.csv")

    sequences, truth = make_genome(args.chromosomes, args.length, args.mean_region, args.seed)
    write_fasta(fasta, sequences)
    print(f"Wrote {fasta}: {args.chromosomes} chromosomes x {args.length:,} bases\n")

    hmm_core_cli("fit", fasta, "--alphabet", "DNA", "--unknown", "missing", "--states", "2",
                 "--sticky", "0.999", "--seed", str(args.seed), "-o", model,
                 "--summary", os.path.join(args.workdir, "fit.json"))
    hmm_core_cli("decode", model, fasta, "--unknown", "missing", "--segments",
                 "-o", segments)
    hmm_core_cli("score", model, fasta, "--unknown", "missing", "-o", scores)
    print(hmm_core_cli("info", model))

    import hmm_core

    fitted = hmm_core.load(model)
    gc_state = int(np.argmax(fitted.emissionprob_[:, 1] + fitted.emissionprob_[:, 2]))
    decoded = read_segments(segments, [len(s) for s in sequences])
    correct = total = 0
    print("chromosome  true regions  decoded regions  bases correct")
    for i, labels in enumerate(truth, start=1):
        called = (decoded[f"chr{i}"] == gc_state).astype(int)
        true_regions = 1 + np.count_nonzero(np.diff(labels))
        found = 1 + np.count_nonzero(np.diff(called))
        accuracy = np.mean(called == labels)
        correct += int(np.sum(called == labels))
        total += labels.size
        print(f"chr{i:<9} {true_regions:>12} {found:>16} {accuracy:>14.3f}")
    gc = fitted.emissionprob_[gc_state]
    print(f"\nGC-rich state emits A,C,G,T with {np.round(gc, 3).tolist()}; mean GC-rich "
          f"region length {1 / (1 - fitted.transmat_[gc_state, gc_state]):,.0f} bases")
    print(f"Overall: {correct / total:.3f} of bases assigned to the right kind of region")
    with open(scores, newline="") as handle:
        rows = list(csv.DictReader(handle))
    print("Per-chromosome log-likelihoods (hmm-core score): " + ", ".join(
        f"{r['sequence_id']} {float(r['log_likelihood']):,.0f}" for r in rows))
    return correct / total


if __name__ == "__main__":
    main()
