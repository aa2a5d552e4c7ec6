"""Vectorised inverse-CDF draws, bit-identical to hmm_core's scalar rule.

hmm_core has always drawn an outcome of a probability row ``p`` from a
uniform ``u`` in ``[0, 1)`` as ``searchsorted(cumsum(p), u * sum(p),
"right")``: the number of cumulative sums at or below the rounded product
``u * total``. Because rounding is monotone, that number is the count of
*thresholds* at or below ``u``, where threshold ``k`` is the smallest double
``u`` with ``fl(u * total) >= cumsum(p)[k]`` (:func:`thresholds`). Comparing
``u`` with thresholds reproduces every draw exactly, so a seeded sample
does not change.

:class:`RowSampler` makes the comparison cheap for many draws: a lookup
table over ``Q`` equal cells of ``[0, 1)`` answers directly for the cells
that hold no threshold, and an exact search settles the few others.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RowSampler", "thresholds"]

# Cells of [0, 1) in a row's lookup table, and the table's size limit.
_MIN_CELLS, _MAX_CELLS = 2**10, 2**16
_MAX_TABLE = 2**22
# Fewer draws than this search directly (building the table costs more).
_TABLE_FROM = 2**14


def thresholds(probs) -> np.ndarray:
    """Smallest uniforms at which each row's draw moves past each outcome.

    Parameters
    ----------
    probs : array-like of shape (n_rows, n_outcomes)
        Non-negative rows (they need not sum to one: the draw scales ``u`` by
        the row total).

    Returns
    -------
    ndarray of shape (n_rows, n_outcomes - 1)
        Non-decreasing along each row; the outcome of ``u`` in row ``r`` is
        ``count(thresholds[r] <= u)``. A row of zeros has no outcome (its
        thresholds are ``inf``: every draw gives outcome 0).
    """
    cdf = np.cumsum(np.asarray(probs, dtype=np.float64), axis=1)
    total = cdf[:, -1:]
    bound = cdf[:, :-1]
    empty = (total <= 0)[:, 0]
    total = np.where(total > 0, total, 1.0)
    guess = np.clip(bound / total, 0.0, 1.0)
    # fl(u * total) is monotone in u: step the guess to the smallest u that
    # reaches the bound (one or two ulps at most).
    for _ in range(64):
        short = guess * total < bound
        if not short.any():
            break
        guess = np.where(short, np.nextafter(guess, 2.0), guess)
    for _ in range(64):
        lower = np.nextafter(guess, -1.0)
        down = (lower >= 0.0) & (lower * total >= bound)
        if not down.any():
            break
        guess = np.where(down, lower, guess)
    guess[empty] = np.inf
    return guess


class RowSampler:
    """Outcomes of many ``(row, uniform)`` pairs of one table of rows.

    Parameters
    ----------
    probs : array-like of shape (n_rows, n_outcomes)
        Rows of probabilities, as for :func:`thresholds`.
    """

    def __init__(self, probs):
        self.thresholds = thresholds(probs)
        n_rows, inner = self.thresholds.shape
        # Rows side by side for the exact search: complex numbers sort by
        # real part (the row), then imaginary part (the threshold).
        rows = np.repeat(np.arange(n_rows), inner)
        self._keys = rows + 1j * self.thresholds.ravel()
        self._inner = inner
        self.table = None  # built for the first large batch

    def _build_table(self):
        n_rows, inner = self.thresholds.shape
        cells = _MIN_CELLS
        while (cells < _MAX_CELLS and cells < 8 * max(inner, 1)
               and 2 * cells * n_rows <= _MAX_TABLE):
            cells *= 2
        self.cells = cells
        grid = np.arange(cells + 1) / cells
        low = np.empty((n_rows, cells), dtype=np.int64)
        high = np.empty((n_rows, cells), dtype=np.int64)
        for r in range(n_rows):
            low[r] = np.searchsorted(self.thresholds[r], grid[:-1], "right")
            high[r] = np.searchsorted(self.thresholds[r], grid[1:], "left")
        # A cell with no threshold strictly inside has one outcome; -1 asks
        # for the exact search.
        dtype = np.int16 if inner < 2**15 else np.int32
        self.table = np.where(high > low, -1, low).astype(dtype).ravel()

    def draw(self, rows, uniforms) -> np.ndarray:
        """Outcome of each uniform in its row.

        Parameters
        ----------
        rows : ndarray of int of shape (n,)
        uniforms : ndarray of float64 of shape (n,)
            Values in ``[0, 1)``.

        Returns
        -------
        ndarray of intp of shape (n,)
        """
        rows = np.asarray(rows, dtype=np.intp)
        if rows.shape[0] < _TABLE_FROM:
            return self.exact(rows, uniforms)
        if self.table is None:
            self._build_table()
        cell = (uniforms * self.cells).astype(np.intp)
        out = self.table.take(rows * self.cells + cell).astype(np.intp)
        unsure = np.flatnonzero(out < 0)
        if unsure.size:
            out[unsure] = self.exact(rows[unsure], uniforms[unsure])
        return out

    def exact(self, rows, uniforms) -> np.ndarray:
        """Outcomes by search (for uniforms in cells that hold a threshold).

        Parameters
        ----------
        rows : ndarray of int of shape (n,)
        uniforms : ndarray of float64 of shape (n,)

        Returns
        -------
        ndarray of intp of shape (n,)
        """
        found = np.searchsorted(self._keys, rows + 1j * uniforms, "right")
        return (found - rows * self._inner).astype(np.intp)
