"""Memory estimates of an HMM's requests, checked before anything is allocated.

Each estimate counts the arrays that dominate a request: the (N, N) chain
arrays, the (T, N) frame scores and posteriors, the emission parameters, the
samples drawn. :func:`~hmm_core.kernels.validation.check_memory` compares it
with the memory budget and raises ``ValueError`` with the estimate and what
to change when it does not fit, so a request for terabytes fails at once
instead of after minutes of allocation (or with a ``MemoryError``).
"""

from __future__ import annotations

import numpy as np

from hmm_core.kernels.validation import check_memory

__all__: list[str] = []

_FLOAT = 8

# (T, N) float arrays a request holds at once, besides the frame scores.
_LATTICES = {"fit": 2, "score_sequences": 0, "posteriors": 1, "viterbi": 1}
# Copies of the (N, N) chain a request holds at once.
_CHAINS = {"fit": 6, "score_sequences": 2, "posteriors": 2, "viterbi": 3}


def known_n_features(emission):
    """An emission's number of features (or symbols) when known, else None."""
    known = getattr(emission, "_known_n_features", None)
    value = known() if known is not None else getattr(emission, "n_features", None)
    if value is None and getattr(emission, "emissionprob_", None) is not None:
        shape = np.shape(emission.emissionprob_)
        # a malformed emissionprob_ (a string, a scalar) is reported by its own check
        value = shape[-1] if shape else None
    return value


def n_features_of(model, X) -> int:
    """The emission's number of features, or what the data imply before fitting."""
    value = known_n_features(model._get_emission())
    if value is None and X is not None:
        data = np.asarray(X)
        value = int(data.max()) + 1 if data.dtype.kind in "iu" else data.shape[-1]
    return int(value or 1)


def check_request(model, job, X=None, n_frames=0, uses_table=False):
    """Raise ``ValueError`` when ``job`` on ``n_frames`` frames would not fit in memory.

    Parameters
    ----------
    model : HMMCore
    job : {"fit", "score_sequences", "posteriors", "viterbi"}
    X : ndarray, optional
        Validated observations (for the number of features before fitting).
    n_frames : int
    uses_table : bool
        The frame scores are rows of a small table, not a (T, N) array.
    """
    n = int(model.n_components)
    lattices = _LATTICES[job] + (0 if uses_table else 1)
    frames = _FLOAT * n_frames * n * lattices
    chain = _FLOAT * n * n * _CHAINS[job]
    emission = d = 0
    if job == "fit":  # otherwise the emission's parameters exist already
        d = n_features_of(model, X)
        rows = int(model._n_emission_components())
        emission = _FLOAT * rows * model._emission_cells_per_row(d) * 3
    parts = {"chain": chain, "frames": frames, "emission": emission}
    largest = max(parts, key=parts.get)
    advice = {
        "chain": f"use fewer states (n_components={n} means {n * n:.3g} transition "
                 "probabilities)",
        "frames": f"pass fewer frames at once ({n_frames:,} frames x {n} states; split the "
                  "sequences into batches) or use fewer states",
        "emission": f"use fewer features or symbols (n_features={d:,}"
                    + (f", n_mix={model.n_mix:,}" if hasattr(model, "n_mix") else "") + ")",
    }[largest]
    check_memory(sum(parts.values()), f"{job} with n_components={n} on {n_frames:,} frames",
                 advice)


def check_sample(model, n_samples, n_columns):
    """Raise ``ValueError`` when ``sample(n_samples)`` would not fit in memory.

    Parameters
    ----------
    model : HMMCore
    n_samples : int
    n_columns : int
        Columns of each drawn observation.
    """
    # The states and observations returned, and a draw buffer per frame.
    need = n_samples * _FLOAT * (2 + n_columns)
    check_memory(need, f"sample({n_samples:,}) of a model with {n_columns} feature(s)",
                 "draw fewer frames at once (n_samples)")
