"""Argument checks shared by the functional API and the models.

Every check raises ``ValueError`` naming the argument and what was expected,
and returns arrays in exactly the layout the kernels declare (C-contiguous
float64, int64 offsets).
"""

from __future__ import annotations

import functools
import itertools
import os

import numpy as np

# Probability vectors must sum to one within this absolute tolerance.
SUM_TOL = 1e-6

# Environment variable holding the memory budget in bytes (default: the
# machine's physical memory).
MEMORY_LIMIT_ENV = "HMM_CORE_MEMORY_LIMIT"


def as_float_array(value, name: str, ndim: int | None) -> np.ndarray:
    """Return ``value`` as a C-contiguous float64 array of ``ndim`` dimensions (any if None)."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
    ):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real, got complex values")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def check_lengths(lengths, n_samples: int) -> np.ndarray:
    """Turn ``lengths`` into sequence ``offsets`` (int64, ``n_seq + 1`` entries).

    ``None`` means a single sequence of ``n_samples`` frames. Every length
    must be a positive integer; they are checked in their own dtype before
    any cast, and their sum is checked without overflow, so values near the
    int64 or uint64 limits cannot wrap around to a plausible total.
    """
    if n_samples == 0:
        raise ValueError("X is empty: expected at least one frame")
    if lengths is None:
        return np.array([0, n_samples], dtype=np.int64)
    try:
        arr = np.asarray(lengths)
    except (ValueError, TypeError) as exc:  # ragged lists and the like
        raise ValueError(f"lengths must be a 1-D sequence of integers: {exc}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"lengths must be a non-empty 1-D sequence, got shape {arr.shape}")
    integral = np.issubdtype(arr.dtype, np.integer)
    if not integral and not (np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr))
                             and np.all(arr == np.round(arr))):
        raise ValueError(f"lengths must hold integers, got dtype {arr.dtype}")
    if np.any(arr <= 0):
        raise ValueError("lengths must be positive: an empty sequence has no frames")
    # No length exceeds the frame count, so the cast is exact and a running
    # sum passes n_samples (by at most n_samples) before it could wrap.
    offsets = np.zeros(arr.size + 1, dtype=np.int64)
    if np.all(arr <= n_samples):
        np.cumsum(arr.astype(np.int64), out=offsets[1:])
    if offsets[-1] != n_samples or offsets.max() > n_samples:
        # Integral floats are summed as given (1e+300, not its binary expansion).
        total = (sum(int(v) for v in arr.tolist()) if integral
                 else f"{sum(arr.tolist()):g}")
        too_long = np.flatnonzero(arr > n_samples)
        reason = "" if not too_long.size else (
            f"; lengths[{too_long[0]}] = {arr[too_long[0]]} alone is more than the "
            f"{n_samples} frame(s) of X")
        raise ValueError(
            f"lengths must sum to the number of frames in X ({n_samples}), got {total}{reason}"
        )
    return offsets


def check_probability_vector(value, name: str, n: int | None = None) -> np.ndarray:
    """A 1-D vector of probabilities that sums to one."""
    arr = as_float_array(value, name, 1)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have length {n}, got {arr.shape[0]}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    if abs(arr.sum() - 1.0) > SUM_TOL:
        raise ValueError(f"{name} must sum to 1, got {arr.sum():.10g}")
    return arr


def check_log_probability_vector(value, name: str, n: int | None = None) -> np.ndarray:
    """A 1-D vector of log-probabilities (``-inf`` allowed) whose exponentials sum to one."""
    arr = as_float_array(value, name, 1)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have length {n}, got {arr.shape[0]}")
    if np.any(np.isnan(arr)) or np.any(arr == np.inf):
        raise ValueError(f"{name} must not contain NaN or +inf")
    if np.any(arr > 0):
        raise ValueError(f"{name} holds log-probabilities: every entry must be <= 0")
    total = np.exp(arr).sum()
    if abs(total - 1.0) > SUM_TOL:
        raise ValueError(f"exp({name}) must sum to 1, got {total:.10g}")
    return arr


def check_transmat(value, n: int | None = None, endprob=None, name: str = "transmat"):
    """An (N, N) row-stochastic matrix; with ``endprob``, rows plus end probability sum to 1."""
    arr = as_float_array(value, name, 2)
    if arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n}, {n}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    sums = arr.sum(axis=1)
    if endprob is not None:
        sums = sums + endprob
        what = f"rows of {name} plus endprob{name[len('transmat'):]}"
    else:
        what = f"rows of {name}"
    bad = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOL)
    if bad.size:
        raise ValueError(f"{what} must sum to 1; row {bad[0]} sums to {sums[bad[0]]:.10g}")
    return arr


def check_endprob(value, n: int, name: str = "endprob") -> np.ndarray:
    """Probabilities of stopping after each state (each in [0, 1])."""
    arr = as_float_array(value, name, 1)
    if arr.shape[0] != n:
        raise ValueError(f"{name} must have length {n}, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(f"{name} must hold probabilities in [0, 1]")
    if not np.any(arr > 0):
        raise ValueError(f"{name} must let at least one state end")
    return arr


def check_log_frameprob(value, n: int | None = None, name: str = "log_frameprob"):
    """A (T, N) matrix of emission log-likelihoods: finite or ``-inf``."""
    arr = as_float_array(value, name, 2)
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: expected at least one frame")
    if n is not None and arr.shape[1] != n:
        raise ValueError(f"{name} must have {n} columns (one per state), got {arr.shape[1]}")
    top = arr.max()  # NaN and +inf both show in the max: no (T, N) temporary
    if np.isnan(top) or top == np.inf:
        raise ValueError(f"{name} must not contain NaN or +inf (-inf means impossible)")
    return arr


def log(arr: np.ndarray) -> np.ndarray:
    """Natural log with ``log(0) = -inf`` and no warning."""
    with np.errstate(divide="ignore"):
        return np.log(arr)


def check_seed(seed, name="random_state") -> int:
    """Return the int ``seed`` after checking it lies in ``0..2**32 - 1`` (NumPy's seed range)."""
    if isinstance(seed, (bool, np.bool_)) or not 0 <= seed < 2**32:
        raise ValueError(f"{name} must be an int in 0..2**32 - 1, got {seed!r}")
    return int(seed)


def check_random_state(seed) -> np.random.RandomState:
    """``None`` -> NumPy's global RandomState, int -> a new seeded one, instance -> itself."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, (int, np.integer)):
        return np.random.RandomState(check_seed(seed))
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"random_state must be None, an int or a numpy RandomState, got {seed!r}")


def memory_budget() -> int:
    """Bytes one request may allocate: ``$HMM_CORE_MEMORY_LIMIT``, else physical memory."""
    value = os.environ.get(MEMORY_LIMIT_ENV)
    if value:
        try:
            return int(float(value))
        except ValueError:
            raise ValueError(f"{MEMORY_LIMIT_ENV} must be a number of bytes, got {value!r}"
                             ) from None
    return _physical_memory()


@functools.cache
def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows)
        return 2**40


def _in_units(n_bytes) -> str:
    value = float(n_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.3g} {unit}" if unit != "bytes" else f"{int(value)} bytes"
        value /= 1024
    raise AssertionError  # pragma: no cover


def check_memory(n_bytes, what: str, advice: str) -> None:
    """Fail before allocating when a request needs more memory than the budget.

    Parameters
    ----------
    n_bytes : int or float
        Estimate of the bytes the request allocates at once (its dominant
        arrays); a Python number, so it cannot overflow.
    what : str
        What needs the memory, e.g. ``"fit with n_components=1000000"``.
    advice : str
        What to change, e.g. ``"use fewer states"``.
    """
    budget = memory_budget()
    if n_bytes > budget:
        raise ValueError(
            f"{what} would need about {_in_units(n_bytes)} ({int(n_bytes):,} bytes), more than "
            f"the {_in_units(budget)} allowed (the machine's memory, or ${MEMORY_LIMIT_ENV}); "
            f"{advice}")


# ------------------------------------------------------- lists of sequences
def _is_array_like_item(item) -> bool:
    """Whether ``item`` is one sequence's array (NumPy, pandas, ...), not a row or a chunk."""
    return hasattr(item, "__array__") and getattr(item, "ndim", 0) >= 1


def _ragged_rows(X) -> bool:
    """Whether a list of rows has rows of different lengths (NumPy cannot stack it)."""
    sizes = {len(row) if hasattr(row, "__len__") else -1 for row in X
             if not isinstance(row, (str, bytes))}
    return len(sizes) > 1 and any(size >= 0 for size in sizes)


def as_concatenated(X, lengths=None):
    """``X`` and ``lengths`` in hmmlearn's layout, from either layout.

    ``X`` may be hmmlearn's concatenated frames with optional ``lengths``,
    or a collection of per-sequence arrays: a list or tuple of arrays, a
    mapping whose values are arrays (in its order), or any other iterable
    whose items are arrays (a generator, ``dict.values()``). Each item is
    one sequence, laid out as ``X`` would be for one sequence; they are
    concatenated along the first axis. Nested Python lists of numbers stay
    hmmlearn's array-like (rows of one ``X``), and an iterable whose items
    are tuples (``(X, lengths)`` chunks) is returned as it is, for the
    caller that streams chunks.

    Parameters
    ----------
    X : array-like or iterable of array-like
    lengths : array-like of int, optional
        Only with concatenated ``X``.

    Returns
    -------
    X : array-like
        Concatenated frames (``X`` itself unless it was a collection).
    lengths : array-like of int or None
        The lengths given, or those of the collection's items.

    Raises
    ------
    ValueError
        For ``lengths`` given with a collection, an empty collection or
        sequence, items of different dimensions, and a ragged nested list
        (whose message says how to pass several sequences).
    """
    if isinstance(X, (np.ndarray, str, bytes)) or hasattr(X, "__array__"):
        return X, lengths
    if isinstance(X, (list, tuple)):
        if not X or not all(_is_array_like_item(item) for item in X):
            if X and _ragged_rows(X):
                raise ValueError(
                    "X is ragged (its rows have different lengths); to pass several "
                    "sequences, pass a list of arrays, one per sequence "
                    "([np.asarray(s) for s in sequences]), or concatenate them into X "
                    "and pass their lengths=")
            return X, lengths
        items = list(X)
    elif hasattr(X, "keys") and hasattr(X, "values"):  # a mapping: id -> sequence
        items = list(X.values())
        if not items or not all(_is_array_like_item(item) for item in items):
            return X, lengths
    elif hasattr(X, "__iter__"):
        source = iter(X)
        first = next(source, None)
        one_shot = source is X
        if first is None or not _is_array_like_item(first):
            if one_shot and first is not None:  # give back the item the peek consumed
                return itertools.chain([first], source), lengths
            return X, lengths
        # A re-iterable source was not consumed by the peek: read it once, whole.
        items = [first, *source] if one_shot else list(X)
    else:
        return X, lengths
    return _concatenate(items, lengths)


def _concatenate(items, lengths):
    if lengths is not None:
        raise ValueError("lengths must be None when X is a list of sequences (each array is "
                         "one sequence); pass either the list, or concatenated X with lengths")
    if not items:
        raise ValueError("X is an empty list: expected at least one sequence")
    arrays = []
    for k, item in enumerate(items):
        if not _is_array_like_item(item):
            raise ValueError(f"sequence {k} of X is a {type(item).__name__}, not an array")
        arr = np.asarray(item)
        if arr.shape[0] == 0:
            raise ValueError(f"sequence {k} of X is empty: every sequence needs a frame")
        if arrays and arr.ndim != arrays[0].ndim:
            raise ValueError(f"sequence {k} of X is {arr.ndim}-D but sequence 0 is "
                             f"{arrays[0].ndim}-D")
        if arrays and arr.shape[1:] != arrays[0].shape[1:]:
            raise ValueError(f"sequence {k} of X has frames of shape {arr.shape[1:]} but "
                             f"sequence 0 has {arrays[0].shape[1:]}")
        arrays.append(arr)
    out_lengths = np.fromiter((a.shape[0] for a in arrays), dtype=np.int64, count=len(arrays))
    return np.concatenate(arrays, axis=0), out_lengths
