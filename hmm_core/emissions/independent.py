"""Products of independent emission blocks over groups of columns."""

from __future__ import annotations

import re

import numpy as np

from hmm_core.emissions.base import EmissionModel
from hmm_core.emissions.categorical import CategoricalEmission
from hmm_core.kernels.validation import as_float_array, check_memory

__all__ = ["BlockData", "IndependentEmission", "check_blocks"]

#: Bytes a block holds per column (its index and the per-column settings).
_BYTES_PER_COLUMN = 64


def _columns(spec, k):
    """Column indices of block ``k`` as a sorted-as-given tuple of ints."""
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        cols = [int(spec)]
    elif isinstance(spec, slice):
        if spec.stop is None or spec.stop < 0:
            raise ValueError(f"block {k}: a slice of columns needs a non-negative stop")
        try:
            cols = range(spec.stop)[spec]  # a range: no list before the size check
        except (TypeError, ValueError) as exc:  # step 0, non-integer bounds
            raise ValueError(f"block {k}: invalid slice of columns {spec!r}: {exc}") from None
        check_memory(len(cols) * _BYTES_PER_COLUMN, f"block {k} with {len(cols):,} columns",
                     "give the blocks the columns of X")
        cols = list(cols)
    else:
        arr = np.asarray(spec)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"block {k}: columns must be an int, a slice or a 1-D sequence "
                             f"of ints, got {spec!r}")
        cols = [int(c) for c in arr]
    if not cols:
        raise ValueError(f"block {k} has no column")
    if min(cols) < 0:
        raise ValueError(f"block {k}: column indices must be non-negative, got {cols}")
    return tuple(cols)


def _first_missing(flat, most=10):
    """The first ``most`` column indices below ``max(flat)`` not in ``flat`` (no full range)."""
    missing, expected = [], 0
    for c in sorted(flat):
        while expected < c and len(missing) < most:
            missing.append(expected)
            expected += 1
        expected = c + 1
    return missing if len(missing) < most else missing + ["..."]


def check_blocks(blocks):
    """Validate ``[(columns, emission), ...]``; return column tuples and emissions.

    The columns of all blocks must be disjoint and together be ``0..D-1``.

    Parameters
    ----------
    blocks : list of (columns, EmissionModel)
        ``columns`` is an int, a slice or a list of column indices.

    Returns
    -------
    columns : list of tuple of int
    emissions : list of EmissionModel
    """
    if isinstance(blocks, (str, bytes)) or not hasattr(blocks, "__len__") or not len(blocks):
        raise ValueError("blocks must be a non-empty list of (columns, emission) pairs")
    columns, emissions = [], []
    for k, block in enumerate(blocks):
        if not isinstance(block, (tuple, list)) or len(block) != 2:
            raise ValueError(f"block {k} must be a (columns, emission) pair, got {block!r}")
        spec, emission = block
        if not isinstance(emission, EmissionModel):
            raise ValueError(f"block {k}: {emission!r} is not an EmissionModel")
        if set(emission.letters) & set("st"):
            raise ValueError(f"block {k}: emission letters {emission.letters!r} clash with "
                             "the chain letters 's' and 't'")
        columns.append(_columns(spec, k))
        emissions.append(emission)
    flat = [c for cols in columns for c in cols]
    if len(set(flat)) != len(flat):
        raise ValueError("blocks must not share columns")
    if sorted(flat) != list(range(len(flat))):
        raise ValueError(f"the blocks' columns must cover 0..{max(flat)} exactly; "
                         f"missing {_first_missing(flat)}")
    return columns, emissions


def combined_letters(emissions) -> str:
    """The blocks' letters, each once, in block order."""
    return "".join(dict.fromkeys("".join(e.letters for e in emissions)))


class BlockData:
    """Observations validated block by block (what ``check_X`` returns).

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_features)
        The float matrix as given (NaN = missing).
    blocks : list of ndarray
        Each block's columns in the layout its emission uses.
    owner : IndependentEmission
        The emission that validated them.
    """

    def __init__(self, values, blocks, owner):
        self.values = values
        self.blocks = blocks
        self.owner = owner
        self.shape = values.shape

    def __len__(self):
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)


class IndependentEmission(EmissionModel):
    """Emission that is a product of independent blocks over column groups.

    Given a state, the column groups are independent, so the frame
    log-likelihood is the sum of the blocks' (T, N) matrices; statistics,
    M-step, sampling, initialisation and parameter counts are done block by
    block.

    Observations are one float matrix. A block of a
    :class:`~hmm_core.emissions.CategoricalEmission` reads its column as
    integer symbols, with NaN (or -1) meaning missing; every other block gets
    its columns as floats (NaN passed through, e.g. missing Poisson counts).

    ``params`` letters: the union of the blocks' letters. A letter applies to
    every block that owns it, e.g. ``"e"`` initialises and updates both a
    categorical and a multinomial block; there is no per-block letter.

    Parameters
    ----------
    blocks : list of (columns, EmissionModel)
        ``columns`` is an int, a slice with a stop, or a sequence of ints; the
        blocks' columns must partition ``0..n_features-1``. The emission
        objects are used as given (not copied).

    Attributes
    ----------
    columns : list of tuple of int
    emissions : list of EmissionModel
    n_features : int
    """

    def __init__(self, blocks):
        self.columns, self.emissions = check_blocks(blocks)
        self.n_features = sum(len(c) for c in self.columns)
        self.letters = combined_letters(self.emissions)

    def __repr__(self):
        pairs = zip(self.columns, self.emissions, strict=True)
        blocks = ", ".join(f"({list(c)}, {e!r})" for c, e in pairs)
        return f"IndependentEmission([{blocks}])"

    def _to_file(self, writer, key):
        # The blocks' emissions carry their own settings and state.
        blocks = list(zip(self.columns, self.emissions, strict=True))
        return {"class": type(self).__name__,
                "settings": {"blocks": writer.value(blocks, f"{key}.blocks")}, "state": {}}

    def _fitted_to_file(self, writer, key, skip=()):
        return {"blocks": [e._fitted_to_file(writer, f"{key}.blocks.{k}")
                           for k, e in enumerate(self.emissions)]}

    def _fitted_from_file(self, reader, state):
        if not state:  # a stand-alone emission: its blocks came with their state
            return
        blocks = state.get("blocks", [])
        if len(blocks) != len(self.emissions):
            raise ValueError(f"{len(blocks)} emission blocks stored, the model has "
                             f"{len(self.emissions)}")
        for emission, block in zip(self.emissions, blocks, strict=True):
            emission._fitted_from_file(reader, block)

    def _block_input(self, emission, values):
        if isinstance(emission, CategoricalEmission):
            # Symbols travel as floats; NaN marks a missing frame (symbol -1).
            return np.where(np.isnan(values), -1.0, values)
        return values

    def check_X(self, X):
        """Validate every block's columns with its own emission; return :class:`BlockData`."""
        if isinstance(X, BlockData) and X.owner is self:
            return X
        values = as_float_array(X, "X", 2)
        if values.shape[0] == 0:
            raise ValueError("X is empty: expected at least one frame")
        if values.shape[1] != self.n_features:
            raise ValueError(f"X has {values.shape[1]} features but the blocks cover "
                             f"{self.n_features} columns")
        blocks = []
        for k, (cols, emission) in enumerate(zip(self.columns, self.emissions, strict=True)):
            try:
                blocks.append(emission.check_X(self._block_input(emission, values[:, cols])))
            except ValueError as exc:
                raise ValueError(f"block {k} (columns {list(cols)}): {exc}") from None
        return BlockData(values, blocks, self)

    def initialize(self, X, n_components, random_state, init_params):
        """Initialise every block from its own columns; errors name the block."""
        for k, (cols, emission, data) in enumerate(zip(self.columns, self.emissions, X.blocks,
                                                       strict=True)):
            try:
                emission.initialize(data, n_components, random_state, init_params)
            except ValueError as exc:
                # A block numbers its own columns: name the column of X instead.
                text = re.sub(r"X\[:, (\d+)\]",
                              lambda m, cols=cols: f"X[:, {cols[int(m[1])]}]", str(exc))
                raise ValueError(f"block {k} (columns {list(cols)}): {text}") from None

    def check_params(self, n_components):
        """Check every block; errors name the block."""
        for k, emission in enumerate(self.emissions):
            try:
                emission.check_params(n_components)
            except ValueError as exc:
                raise ValueError(f"block {k}: {exc}") from None

    def log_frameprob(self, X):
        """Sum of the blocks' log-likelihood matrices."""
        total = None
        for emission, data in zip(self.emissions, X.blocks, strict=True):
            frames = emission.log_frameprob(data)
            total = np.array(frames, dtype=np.float64) if total is None else total + frames
        return np.ascontiguousarray(total)

    def empty_stats(self, n_components):
        """One statistics dict per block."""
        return {"blocks": [e.empty_stats(n_components) for e in self.emissions]}

    def accumulate(self, stats, X, posteriors):
        """Each block accumulates from its own columns."""
        for emission, block_stats, data in zip(self.emissions, stats["blocks"], X.blocks,
                                               strict=True):
            emission.accumulate(block_stats, data, posteriors)

    def m_step(self, stats, params):
        """Each block updates the parameters among its letters that ``params`` names."""
        for emission, block_stats in zip(self.emissions, stats["blocks"], strict=True):
            if set(params) & set(emission.letters):
                emission.m_step(block_stats, params)

    def sample(self, states, random_state):
        """Draw every block in turn; return one float matrix (symbols as floats)."""
        out = np.empty((states.shape[0], self.n_features))
        for cols, emission in zip(self.columns, self.emissions, strict=True):
            draws = np.asarray(emission.sample(states, random_state), dtype=np.float64)
            out[:, cols] = draws.reshape(states.shape[0], len(cols))
        return out

    def n_free_parameters(self, params):
        """Sum over blocks."""
        return int(sum(e.n_free_parameters(params) for e in self.emissions))
