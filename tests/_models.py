"""Random models and data for the tests."""

import numpy as np


def random_stochastic(rng, shape, zeros=0.0):
    """Random rows summing to one; ``zeros`` is the share of structural zeros."""
    probs = rng.random_sample(shape) + 0.05
    if zeros:
        mask = rng.random_sample(shape) < zeros
        keep = np.argmax(rng.random_sample(shape), axis=-1)  # one non-zero per row
        np.put_along_axis(mask, np.expand_dims(keep, -1), False, axis=-1)
        probs = np.where(mask, 0.0, probs)
    return probs / probs.sum(axis=-1, keepdims=True)


def random_chain(rng, n, zeros=0.0, end=False):
    """startprob, transmat, endprob (or None) of a random model."""
    startprob = random_stochastic(rng, (n,), zeros)
    transmat = random_stochastic(rng, (n, n), zeros)
    endprob = None
    if end:
        endprob = rng.uniform(0.05, 0.5, size=n)
        transmat = transmat * (1.0 - endprob)[:, None]
    return startprob, transmat, endprob


def random_lengths(rng, n_seq, low=1, high=40):
    lengths = rng.randint(low, high + 1, size=n_seq)
    lengths[0] = 1
    return lengths


def log(a):
    with np.errstate(divide="ignore"):
        return np.log(a)
