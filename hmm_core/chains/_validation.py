"""Checks of Markov-chain settings, state sequences and probabilities.

Probabilities must sum to one within the tolerance every hmm_core model uses
(:data:`hmm_core.kernels.validation.SUM_TOL`); the messages name the
argument in the chains' words (``transmat rows must sum to 1; row(s) [0]
do not``).
"""

from __future__ import annotations

import numbers

import numpy as np

from hmm_core.kernels.validation import SUM_TOL, check_memory

#: Largest estimated memory, in bytes, that fitting a chain may use for its
#: count and probability tables; larger fits are refused before allocating.
MAX_TABLE_BYTES = 4 * 2**30


def check_table_bytes(estimate, what):
    """Raise ``ValueError`` if ``estimate`` bytes exceed :data:`MAX_TABLE_BYTES`.

    ``what`` names the settings responsible (``"order=30 with 4 states"``).
    """
    if estimate > MAX_TABLE_BYTES:
        raise ValueError(
            f"{what} needs an estimated {int(estimate):,} bytes for its tables, more than "
            f"the {MAX_TABLE_BYTES:,} bytes allowed; use fewer states or a lower order "
            "(n_states, order)"
        )


def check_pseudocount(pseudocount):
    """Return ``pseudocount`` as a float after checking it is finite and >= 0."""
    try:
        value = float(pseudocount)
    except (TypeError, ValueError):
        raise ValueError(f"pseudocount must be a number; got {pseudocount!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"pseudocount must be finite and >= 0; got {pseudocount!r}")
    return value


def check_nonneg_int(value, name, minimum=0):
    """Return ``value`` as an ``int`` after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


#: Bytes a chain's sample holds per drawn state: the uniform, its Python float
#: and list slot, the state's list slot and the returned index.
SAMPLE_BYTES_PER_STATE = 64


def check_n_samples(n_samples):
    """Return ``n_samples`` as an int >= 1 whose draws fit in the memory budget."""
    n_samples = check_nonneg_int(n_samples, "n_samples", minimum=1)
    check_memory(n_samples * SAMPLE_BYTES_PER_STATE, f"sample(n_samples={n_samples:,})",
                 "draw fewer states at once")
    return n_samples


def check_state_names(state_names, n_states=None):
    """Validate ``state_names`` (distinct strings) and return them as a list."""
    if state_names is None:
        return None
    if isinstance(state_names, str):
        raise ValueError("state_names must be a sequence of names, not a single string")
    try:
        names = [str(s) for s in state_names]
    except TypeError:
        raise ValueError(f"state_names must be a sequence of names, got {state_names!r}") from None
    if isinstance(state_names, list) and all(type(s) is str for s in state_names):
        names = state_names  # unchanged, so scikit-learn's clone sees the same object
    if len(names) == 0:
        raise ValueError("state_names must not be empty")
    if len(set(names)) != len(names):
        raise ValueError("state_names must be distinct")
    if n_states is not None and len(names) != n_states:
        raise ValueError(f"state_names has {len(names)} entries but n_states is {n_states}")
    return names


def as_state_sequence(X, n_states=None, state_names=None, name="X"):
    """Convert ``X`` (1-D, or 2-D with one column) to a 1-D ``intp`` state array.

    Strings are mapped through ``state_names``.  Raises ``ValueError`` naming
    ``name`` for empty input, bad shapes, NaN/inf, non-integer values,
    unknown names and states outside ``0..n_states-1``.
    """
    try:
        arr = np.asarray(X)
    except ValueError:  # ragged nesting
        raise ValueError(f"{name} must be 1-D or have shape (n_samples, 1); got a ragged "
                         "nested sequence") from None
    if arr.ndim == 2:
        if arr.shape[1] != 1:
            raise ValueError(
                f"{name} must be 1-D or have shape (n_samples, 1); got shape {arr.shape}"
            )
        arr = arr[:, 0]
    elif arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D or have shape (n_samples, 1); got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; at least one observed state is required")

    if arr.dtype.kind in "USO" and any(isinstance(v, str) for v in arr.tolist()):
        if state_names is None:
            raise ValueError(f"{name} contains strings but no state_names were given")
        lookup = {s: i for i, s in enumerate(state_names)}
        out = np.empty(arr.size, dtype=np.intp)
        for i, v in enumerate(arr.tolist()):
            try:
                out[i] = lookup[v] if isinstance(v, str) else _int_state(v, name)
            except KeyError:
                raise ValueError(f"{name} contains unknown state name {v!r}") from None
    else:
        if arr.dtype.kind == "O":
            try:
                arr = arr.astype(float)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must contain integer states or state names") from None
        if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
            raise ValueError(f"{name} must contain integer states; got dtype {arr.dtype}")
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} contains NaN or infinite values")
            if np.any(arr != np.round(arr)):
                raise ValueError(f"{name} must contain integer states; got non-integer values")
        out = arr.astype(np.intp)
    if out.min() < 0:
        raise ValueError(f"{name} contains negative state {int(out.min())}")
    if n_states is not None and out.max() >= n_states:
        raise ValueError(
            f"{name} contains state {int(out.max())} outside the range 0..{n_states - 1}"
        )
    return out


def _int_state(v, name):
    """Return ``v`` as an int if it is an integral number, else raise."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ValueError(f"{name} contains a value that is neither a state name nor an int: {v!r}")
    return int(v)


def check_lengths(lengths, n_samples, name="lengths"):
    """Return ``lengths`` as an ``intp`` array of positive ints summing to ``n_samples``.

    The lengths are checked against ``n_samples`` before they are summed or
    converted, so huge values (whose int64 sum would wrap around to
    ``n_samples``) are rejected instead of producing wrong sequence starts.
    """
    if lengths is None:
        return np.array([n_samples], dtype=np.intp)
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of ints")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must contain integers")
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must contain integers; got dtype {arr.dtype}")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be positive; got a zero or negative length")
    longest = arr.max()
    if longest > n_samples or arr.size > n_samples:
        big = int(longest) if longest > n_samples else None
        detail = (f"a length of {big}" if big is not None
                  else f"{arr.size} sequences of at least one sample each")
        raise ValueError(f"{name} must sum to the {n_samples} samples of X; got {detail}")
    arr = arr.astype(np.intp)
    # Each length is in 1..n_samples: the sum cannot wrap unless it could pass 2**63.
    if n_samples * arr.size < 2**63:
        total = int(arr.sum())
    else:
        total = sum(arr.tolist())
    if total != n_samples:
        raise ValueError(f"{name} sum to {total} but X has {n_samples} samples")
    return arr


def check_probability_vector(p, name, n=None):
    """Validate a probability vector (1-D, finite, >= 0, sums to 1) and return a copy."""
    arr = np.array(p, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} must have length {n}; got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(arr < 0):
        raise ValueError(f"{name} contains negative probabilities")
    if abs(arr.sum() - 1.0) > SUM_TOL:
        raise ValueError(f"{name} must sum to 1; got {arr.sum()!r}")
    return arr


def check_transition_matrix(T, name="transmat"):
    """Validate a square row-stochastic matrix and return a float copy."""
    arr = np.array(T, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square 2-D array; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(arr < 0):
        raise ValueError(f"{name} contains negative probabilities")
    bad = np.flatnonzero(np.abs(arr.sum(axis=1) - 1.0) > SUM_TOL)
    if bad.size:
        raise ValueError(f"{name} rows must sum to 1; row(s) {bad.tolist()} do not")
    return arr
