"""Drawing state paths, vectorised, with the draws of the scalar rule.

A path is drawn from one stream of uniforms: the first picks the start
state, the ``t``-th moves from state ``s`` to the outcome of ``u_t`` in row
``s`` of ``transmat`` (see :mod:`hmm_core.emissions._inverse_cdf`: each
outcome is the one ``searchsorted(cumsum(row), u * row_total, "right")``
gives, so a seeded path is the same as hmm_core's earlier scalar loop drew).

The chain is sequential, yet every step is a map of all states at once.
The thresholds of all rows cut ``[0, 1)`` into intervals on which that map
is constant (:class:`StepMaps`), so the path is a sequence of table
lookups. The frames are cut into blocks that run side by side: each block
first follows every possible start state (its lanes; lanes that meet stay
together, and a block whose lanes have all met follows one lane), which
gives its end state for any start; the true starts then follow block by
block, and a last pass fills in every state. The work is a few array
operations per frame, for any number of states up to :data:`MAX_MAPPED`;
larger chains, and short paths (where the tables cost more than they
save), step one frame at a time.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

from hmm_core.emissions._inverse_cdf import thresholds

__all__: list[str] = []

#: Largest number of states whose step maps are tabulated (N^3 entries at most).
MAX_MAPPED = 64
_CELLS = 2**16        # lookup cells of [0, 1) for the interval of a uniform
_STEPS = 2048         # frames per block
_BLOCKS = 1024        # blocks side by side
_MEETINGS = (8, 32, 128, 512, 1024)  # steps at which met lanes are merged
_GROUP_TABLE = 2**21  # entries of the table of grouped steps
_SCALAR_BELOW = 32768  # shorter paths step one frame at a time


class StepMaps:
    """The next state of every state, as a function of the uniform's interval.

    Parameters
    ----------
    transmat : ndarray of shape (n, n)
        Rows with positive totals (a zero row never continues; its map entry
        is state 0 and the caller must not step from it).
    """

    def __init__(self, transmat):
        limits = thresholds(transmat)
        n = limits.shape[0]
        self.n = n
        finite = limits[np.isfinite(limits)]
        self.edges = np.unique(finite[finite < 1.0])
        maps = np.zeros((self.edges.size + 1, n), dtype=np.intp)
        for i in range(n):
            maps[1:, i] = np.searchsorted(limits[i], self.edges, "right")
        self.maps = maps
        self.flat = maps.ravel()
        grid = np.arange(_CELLS + 1) / _CELLS
        low = np.searchsorted(self.edges, grid[:-1], "right")
        high = np.searchsorted(self.edges, grid[1:], "left")
        self._lookup = np.where(high > low, -1, low).astype(np.int32)
        # Maps of ``group`` steps at once, for every sequence of intervals:
        # as many steps per lookup as a table of _GROUP_TABLE entries allows.
        size = maps.shape[0]
        self.group, grouped = 1, maps.astype(np.int16)
        while self.group < 8 and (size ** (2 * self.group)) * n <= _GROUP_TABLE:
            rows = grouped.shape[0]
            # [a * rows + b, i]: group a, then group b
            grouped = np.ascontiguousarray(np.transpose(grouped[:, grouped], (1, 0, 2)))
            grouped = grouped.reshape(rows * rows, n)
            self.group *= 2
        self.grouped = grouped.ravel()

    def intervals(self, uniforms) -> np.ndarray:
        """Interval index of each uniform (row of :attr:`maps`), as intp."""
        found = self._lookup.take((uniforms * _CELLS).astype(np.intp)).astype(np.intp)
        unsure = np.flatnonzero(found < 0)
        if unsure.size:
            found[unsure] = np.searchsorted(self.edges, uniforms[unsure], "right")
        return found

    def group_codes(self, steps) -> np.ndarray:
        """Row offsets in :attr:`grouped` of consecutive groups of ``steps`` (rows)."""
        size, g = self.maps.shape[0], self.group
        codes = steps[0::g].astype(np.int64)
        for r in range(1, g):
            codes = codes * size + steps[r::g]
        return codes * self.n


def _transpose(a, out):
    """``out[:] = a.T`` in tiles (a plain strided copy is several times slower)."""
    tile = 128
    rows, cols = a.shape
    for r in range(0, rows, tile):
        for c in range(0, cols, tile):
            out[c:c + tile, r:r + tile] = a[r:r + tile, c:c + tile].T
    return out


def _block_ends(maps, steps):
    """End state of every block for every start state, shape (blocks, n).

    ``steps[j]`` holds the intervals of step ``j`` of every block.
    """
    n, blocks = maps.n, steps.shape[1]
    codes = maps.group_codes(steps)
    table = maps.grouped
    lanes = np.broadcast_to(np.arange(n, dtype=np.int16), (blocks, n))
    many = np.arange(blocks)           # blocks still following n lanes
    one = np.empty(0, dtype=np.intp)   # blocks whose lanes met
    lane = np.empty(0, dtype=np.int16)
    meetings = [m // maps.group for m in _MEETINGS]
    for j in range(codes.shape[0]):
        if j in meetings and many.size:
            met = (lanes == lanes[:, :1]).all(axis=1)
            if met.any():
                one = np.concatenate([one, many[met]])
                lane = np.concatenate([lane, lanes[met, 0]])
                many, lanes = many[~met], lanes[~met]
        row = codes[j]
        if many.size == blocks:
            lanes = table.take(row[:, None] + lanes)
        elif many.size:
            lanes = table.take(row[many][:, None] + lanes)
        if one.size:
            lane = table.take(row[one] + lane)
    ends = np.empty((blocks, n), dtype=np.intp)
    ends[many] = lanes
    ends[one] = lane[:, None]
    return ends


def _blocks(maps, intervals, state, out):
    """States of ``out.size`` frames (a whole number of blocks) after ``state``."""
    n = maps.n
    n_blocks = out.size // _STEPS
    steps = _transpose(intervals.astype(np.int32).reshape(n_blocks, _STEPS),
                       np.empty((_STEPS, n_blocks), dtype=np.int32))
    ends = _block_ends(maps, steps).tolist()
    starts = np.empty(n_blocks, dtype=np.intp)
    for b in range(n_blocks):
        starts[b] = state
        state = ends[b][state]
    filled = np.empty((_STEPS, n_blocks), dtype=np.int16)
    current = starts
    for j in range(_STEPS):
        current = maps.flat.take(steps[j] * n + current)
        filled[j] = current
    _transpose(filled, out.reshape(n_blocks, _STEPS))
    return int(out[-1])


def draw_path(startprob, transmat, n_samples, random_state, currstate=None):
    """A path of ``n_samples`` states (see the module documentation).

    Parameters
    ----------
    startprob : ndarray of shape (n,)
    transmat : ndarray of shape (n, n)
        Rows are renormalised by the draw (an end probability is left out).
    n_samples : int
    random_state : numpy.random.RandomState
        Draws ``n_samples`` uniforms in order (the first for the start).
    currstate : int, optional
        The first state; its uniform is drawn and unused.

    Returns
    -------
    ndarray of int64 of shape (n_samples,)
    """
    n = transmat.shape[0]
    path = np.empty(n_samples, dtype=np.int64)
    first = random_state.random_sample(1)
    if currstate is None:
        start_cdf = np.cumsum(startprob)
        state = int(np.searchsorted(start_cdf, first[0] * start_cdf[-1], "right"))
    else:
        state = int(currstate)
    path[0] = state
    done = 1
    if n <= MAX_MAPPED and n_samples > _SCALAR_BELOW:
        maps = StepMaps(transmat)
        table = maps.maps.tolist()
        chunk = _STEPS * _BLOCKS
        while done < n_samples:
            size = min(chunk, n_samples - done)
            uniforms = random_state.random_sample(size)
            intervals = maps.intervals(uniforms)
            whole = size // _STEPS * _STEPS if size >= _SCALAR_BELOW else 0
            if whole:
                state = _blocks(maps, intervals[:whole], state, path[done:done + whole])
            rest = intervals[whole:].tolist()
            for t, interval in enumerate(rest, start=done + whole):
                state = table[interval][state]
                path[t] = state
            done += size
        return path
    limits = [row.tolist() for row in thresholds(transmat)]
    chunk = 2**20
    while done < n_samples:
        uniforms = random_state.random_sample(min(chunk, n_samples - done)).tolist()
        for t, u in enumerate(uniforms, start=done):
            state = bisect_right(limits[state], u)
            path[t] = state
        done += len(uniforms)
    return path


def dead_ends(transmat, startprob, n_samples, currstate=None):
    """States a path of ``n_samples`` frames could have to leave but cannot.

    A state whose transition row is all zero (its end probability is 1)
    cannot be continued. It is an error only when the chain can reach it
    before the last frame.

    Parameters
    ----------
    transmat : ndarray of shape (n, n)
    startprob : ndarray of shape (n,)
    n_samples : int
    currstate : int, optional

    Returns
    -------
    tuple of (int, int) or None
        The first such state and the earliest frame it can occupy.
    """
    stuck = transmat.sum(axis=1) <= 0
    if not stuck.any() or n_samples < 2:
        return None
    n = transmat.shape[0]
    reach = np.zeros(n, dtype=bool)  # the states the chain can occupy at ``frame``
    if currstate is None:
        reach[startprob > 0] = True
    else:
        reach[int(currstate)] = True
    step = transmat > 0
    seen = set()
    for frame in range(n_samples - 1):
        hit = np.flatnonzero(reach & stuck)
        if hit.size:
            return int(hit[0]), frame
        key = reach.tobytes()
        if key in seen or not reach.any():  # the sets repeat from here on
            return None
        seen.add(key)
        reach = step[reach].any(axis=0)
    return None
