"""Emission log-likelihoods given as rows of a small table.

A categorical model's (T, N) log-likelihood matrix has one distinct row per
symbol. Handing the kernels the (K, N) table and a (T,) index instead saves
materialising T x N values and lets the scaled kernels exponentiate K rows
once per call instead of T.
"""

from __future__ import annotations

import numpy as np


class FrameTable:
    """Frame ``t`` has emission log-likelihoods ``table[index[t]]``.

    Parameters
    ----------
    table : ndarray of shape (n_rows, n_components)
        Log-likelihood rows, C-contiguous float64.
    index : ndarray of shape (n_samples,)
        Row of ``table`` for each frame, int64 in ``[0, n_rows)``.
    """

    __slots__ = ("table", "index")

    def __init__(self, table, index):
        self.table = np.ascontiguousarray(table, dtype=np.float64)
        self.index = np.ascontiguousarray(index, dtype=np.int64)

    @property
    def shape(self):
        """``(n_samples, n_components)``, as for the dense matrix."""
        return (self.index.shape[0], self.table.shape[1])

    def dense(self):
        """The (n_samples, n_components) matrix."""
        return np.take(self.table, self.index, axis=0)  # much faster than fancy indexing

    def __array__(self, dtype=None, copy=None):
        frames = self.dense()
        return frames if dtype is None else frames.astype(dtype, copy=False)

    def take_columns(self, columns):
        """The table with its columns picked by ``columns`` (tied states)."""
        return FrameTable(self.table[:, columns], self.index)


def split(frames):
    """``(array, index)``: the table and its index, or the dense matrix and None."""
    if isinstance(frames, FrameTable):
        return frames.table, frames.index
    return frames, None


def dense(frames):
    """The dense (T, N) matrix of a FrameTable or an array."""
    return frames.dense() if isinstance(frames, FrameTable) else frames
