"""The models and the data of every cell: parameters fixed by (seed, N), observations
sampled from the model."""

from __future__ import annotations

import importlib

import numpy as np

SEED = 20240601
N_SYMBOLS = 32
N_FEATURES = 8  # Gaussian (diagonal) emissions
EMISSIONS = ("categorical", "gaussian")
OPS = ("score", "posteriors", "viterbi", "em")
FULL_WORKLOADS = {"long": (1, 100_000), "batch": (1_000, 1_000)}
QUICK_WORKLOADS = {"long": (1, 2_000), "batch": (20, 200)}
FULL_SIZES = (4, 16, 64, 256)
QUICK_SIZES = (4, 16, 64)


def sibling(name):
    """Import a module of ``benchmarks/`` beside this package.

    As ``benchmarks.comparison`` that is ``benchmarks.<name>``; when
    ``compare.py`` runs as a script (``benchmarks/`` on ``sys.path``), ``<name>``.
    """
    parent = __package__.rpartition(".")[0]
    return importlib.import_module(f"{parent}.{name}" if parent else name)


def make_params(n_components: int, seed: int = SEED):
    """Start, transition and emission probabilities, fixed by (seed, N)."""
    rng = np.random.default_rng([seed, n_components])
    startprob = rng.dirichlet(np.ones(n_components))
    transmat = 0.5 * rng.dirichlet(np.ones(n_components), size=n_components)
    transmat += 0.5 * np.eye(n_components)  # sticky states, as in most HMMs
    transmat /= transmat.sum(axis=1, keepdims=True)
    emissionprob = rng.dirichlet(np.full(N_SYMBOLS, 0.5), size=n_components)
    emissionprob = 0.99 * emissionprob + 0.01 / N_SYMBOLS  # no (near-)zero emission
    emissionprob /= emissionprob.sum(axis=1, keepdims=True)
    return startprob, transmat, emissionprob


def _draw(cum, u):
    """Index of the first cumulative entry above u, row by row."""
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)


def sample_symbols(params, n_seq: int, length: int, seed: int = SEED):
    """Sample ``n_seq`` sequences of ``length`` symbols from the model.

    Returns X of shape (n_seq * length, 1) int64 and the lengths.
    """
    startprob, transmat, emissionprob = params
    n = startprob.shape[0]
    rng = np.random.default_rng([seed, n, n_seq, length])
    cum_start = np.cumsum(startprob)[None, :]
    cum_trans = np.cumsum(transmat, axis=1)
    cum_emit = np.cumsum(emissionprob, axis=1)
    u = rng.random((length, n_seq))
    states = np.empty((length, n_seq), dtype=np.int64)
    states[0] = _draw(np.broadcast_to(cum_start, (n_seq, n)), u[0])
    for t in range(1, length):
        states[t] = _draw(cum_trans[states[t - 1]], u[t])
    states = states.T.ravel()  # sequence-major: sequence s is rows s*length..
    symbols = _draw(cum_emit[states], rng.random(states.shape[0]))
    return symbols.reshape(-1, 1), np.full(n_seq, length, dtype=np.int64)


def make_inputs(emissions: str, n_components: int, n_seq: int, length: int):
    """(params, X, lengths) of a workload, sampled from the model (fixed seed)."""
    if emissions == "categorical":
        params = make_params(n_components)
        return (params, *sample_symbols(params, n_seq, length))
    if emissions != "gaussian":
        raise ValueError(emissions)
    ce = sibling("compare_emissions")
    params = ce.make_params("gauss-diag", N_FEATURES, n_components)
    return (params, *ce.sample(params, n_seq, length))
