"""Isolated-word recognition: one left-to-right Gaussian HMM per word.

The classic speech recogniser before neural networks: each word of the
vocabulary gets an HMM whose states move only forward (a Bakis topology, from
:func:`hmm_core.topology.left_right`), each state emitting a Gaussian over
MFCC-like feature vectors. An utterance is recognised as the word whose model
gives it the highest log-likelihood; all test utterances are scored at once
by ``score_sequences`` (the kernels run the batch in parallel).

The features are synthetic: every word is a sequence of phones drawn from a
small inventory (so words share sounds), each phone a 13-dimensional
cepstral-like target vector; an utterance holds each phone for a random
duration, with frame noise correlated in time and a per-speaker offset.
Run ``python examples/word_recognition.py``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hmm_core import GaussianHMM
from hmm_core.structure import topology

N_CEPSTRA = 13
VOCABULARY = {"yes": "j E s", "no": "n o U", "up": "a p", "down": "d a U n",
              "left": "l E f t", "right": "r a I t", "stop": "s t a p", "go": "g o U"}


def phone_targets(rng):
    """A cepstral target per phone: larger, more variable low-order coefficients."""
    phones = sorted({p for word in VOCABULARY.values() for p in word.split()})
    scale = 4.0 / (1.0 + np.arange(N_CEPSTRA))  # c0 (energy) varies most
    return {p: rng.normal(0.0, scale) for p in phones}


def utterance(word, targets, rng, noise):
    """(n_frames, 13) features of one spoken word."""
    frames = []
    for phone in VOCABULARY[word].split():
        n = 4 + rng.poisson(6)
        frames.append(np.tile(targets[phone], (n, 1)))
    X = np.concatenate(frames)
    # Smooth transitions between phones, AR(1) frame noise, a speaker offset.
    kernel = np.array([0.25, 0.5, 0.25])
    X = np.column_stack([np.convolve(np.pad(c, 1, mode="edge"), kernel, "valid") for c in X.T])
    eps = rng.normal(0.0, noise, X.shape)
    for t in range(1, len(eps)):
        eps[t] += 0.6 * eps[t - 1]
    return X + eps + rng.normal(0.0, 0.3 * noise, N_CEPSTRA)


def dataset(n_per_word, targets, rng, noise):
    """Utterances of every word: (X, lengths, labels) in hmmlearn's layout."""
    words = list(VOCABULARY)
    items = [(w, utterance(w, targets, rng, noise)) for w in words for _ in range(n_per_word)]
    X = np.concatenate([x for _, x in items])
    lengths = np.array([len(x) for _, x in items])
    labels = np.array([words.index(w) for w, _ in items])
    return X, lengths, labels


def flat_start(model, X, lengths):
    """Initial means and variances from equal splits of every utterance (HTK's flat start)."""
    n = model.n_components
    parts = [[] for _ in range(n)]
    for x in np.split(X, np.cumsum(lengths)[:-1]):
        for k, chunk in enumerate(np.array_split(x, n)):
            parts[k].append(chunk)
    model.means_ = np.array([np.concatenate(p).mean(axis=0) for p in parts])
    model.covars_ = np.array([np.concatenate(p).var(axis=0) + 1e-2 for p in parts])
    return model


def train(X, lengths, labels, n_states, n_iter):
    """One left-to-right GaussianHMM per word, trained on that word's utterances."""
    models = []
    starts = np.concatenate(([0], np.cumsum(lengths)))
    for w in range(len(VOCABULARY)):
        idx = np.flatnonzero(labels == w)
        Xw = np.concatenate([X[starts[i]:starts[i + 1]] for i in idx])
        model = GaussianHMM(n_components=n_states, covariance_type="diag", n_iter=n_iter,
                            tol=1e-3, init_params="", params="stmc", random_state=0)
        topology.left_right(model, n_skips=1)  # forward moves only, may skip one state
        models.append(flat_start(model, Xw, lengths[idx]).fit(Xw, lengths[idx]))
    return models


def main(argv=None):
    """Run the example; see ``--help``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-per-word", type=int, default=30)
    parser.add_argument("--test-per-word", type=int, default=50)
    parser.add_argument("--states", type=int, default=6, help="HMM states per word")
    parser.add_argument("--n-iter", type=int, default=20)
    parser.add_argument("--noise", type=float, default=1.5, help="frame noise level")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    targets = phone_targets(rng)
    X_train, len_train, y_train = dataset(args.train_per_word, targets, rng, args.noise)
    X_test, len_test, y_test = dataset(args.test_per_word, targets, rng, args.noise)
    words = list(VOCABULARY)
    print(f"{len(words)} words, {len(len_train)} training and {len(len_test)} test "
          f"utterances of {N_CEPSTRA} cepstra ({len(X_test):,} test frames)")

    t0 = time.perf_counter()
    models = train(X_train, len_train, y_train, args.states, args.n_iter)
    print(f"Trained {len(models)} left-to-right HMMs ({args.states} states) in "
          f"{time.perf_counter() - t0:.2f} s")

    t0 = time.perf_counter()
    # One batch call per word model: every test utterance scored at once.
    scores = np.vstack([m.score_sequences(X_test, len_test) for m in models])
    seconds = time.perf_counter() - t0
    predicted = scores.argmax(axis=0)
    accuracy = float(np.mean(predicted == y_test))
    print(f"Scored {len(len_test)} utterances x {len(models)} models in {seconds * 1e3:.1f} ms")
    print(f"Accuracy: {accuracy:.3f} ({int(np.sum(predicted == y_test))}/{len(y_test)})\n")
    print("Confusion matrix (row: spoken word, column: recognised word)")
    print(" " * 7 + "".join(f"{w:>6}" for w in words))
    for i, w in enumerate(words):
        counts = np.bincount(predicted[y_test == i], minlength=len(words))
        print(f"{w:>6} " + "".join(f"{c:6d}" for c in counts))
    return accuracy


if __name__ == "__main__":
    main()
