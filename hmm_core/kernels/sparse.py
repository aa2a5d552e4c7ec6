"""A transition matrix in the compressed layouts the sparse kernels read."""

from __future__ import annotations

import numpy as np

__all__ = ["SparseTransitions"]


class SparseTransitions:
    """The allowed (non-zero) transitions of a matrix, by columns and by rows.

    The forward and Viterbi steps gather the predecessors of each state (CSC:
    ``col_rows[col_ptr[j]:col_ptr[j + 1]]``, rows sorted); the backward step
    and the expected counts gather the successors (CSR:
    ``row_cols[row_ptr[i]:row_ptr[i + 1]]``). Each layout has the
    probabilities and their logs. The kernels check every index before use.

    Parameters
    ----------
    transmat : ndarray of shape (N, N)
        Validated transition probabilities (rows summing to one, or to one
        minus the end probabilities).
    """

    __slots__ = ("n_components", "nnz", "row_ptr", "row_cols", "row_prob", "row_logprob",
                 "col_ptr", "col_rows", "col_prob", "col_logprob")

    def __init__(self, transmat):
        transmat = np.ascontiguousarray(transmat, dtype=np.float64)
        n = transmat.shape[0]
        rows, cols = np.nonzero(transmat)           # row-major order: CSR
        if rows.shape[0] == 0:
            raise ValueError("transmat has no allowed transition")
        order = np.lexsort((rows, cols))            # by column, then row: CSC
        prob = transmat[rows, cols]
        with np.errstate(divide="ignore"):
            logprob = np.log(prob)
        self.n_components = n
        self.nnz = prob.shape[0]
        self.row_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=self.row_ptr[1:])
        self.row_cols = np.ascontiguousarray(cols, dtype=np.int64)
        self.row_prob = np.ascontiguousarray(prob)
        self.row_logprob = np.ascontiguousarray(logprob)
        self.col_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=n), out=self.col_ptr[1:])
        self.col_rows = np.ascontiguousarray(rows[order], dtype=np.int64)
        self.col_prob = np.ascontiguousarray(prob[order])
        self.col_logprob = np.ascontiguousarray(logprob[order])

    def to_dense(self, values):
        """Scatter per-transition values (CSR order) into an (N, N) array.

        Parameters
        ----------
        values : ndarray of shape (nnz,)

        Returns
        -------
        ndarray of shape (N, N)
        """
        n = self.n_components
        dense = np.zeros((n, n))
        rows = np.repeat(np.arange(n), np.diff(self.row_ptr))
        dense[rows, self.row_cols] = np.asarray(values)
        return dense
