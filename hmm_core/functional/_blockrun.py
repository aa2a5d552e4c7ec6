"""One long sequence run block by block with checkpoints (bounded memory).

:class:`BlockRun` holds a validated chain and a source of frame scores that
it reads a block at a time. The forward pass keeps only the forward vector
of the frame before each block (the checkpoints, ``T / B`` vectors of N
floats); a backward pass then visits the blocks last to first, recomputes
each block's forward vectors from its checkpoint and runs the backward
recursion over it. Viterbi is two passes the same way: the scores at the
checkpoints first, then each block's back-pointers (B x N bytes) recomputed
from its checkpoint and followed back from the state the next block chose.
Memory is O((T / B + B) N) whatever the length; the work is about twice
(Viterbi) or 1.5 times (posteriors, E-step) the one-pass algorithms.

Chains the scaled kernels accept (every transition at least
``SCALED_MIN_TRANSITION``) run in the scaled linear domain (``_blocks``);
others in log space through the lattice kernels of ``_forward``, a block
being a sequence whose first frame is the frame before it with scores 0 and
start scores its forward vector. Viterbi always runs in log space and gives
the scores and the path of the one-call kernel bit for bit.
"""

from __future__ import annotations

import numpy as np

from hmm_core.kernels import _blocks, _forward, backend
from hmm_core.kernels.frames import FrameTable

__all__ = ["BlockRun"]

_EMPTY = np.empty((0, 0))


class _Source:
    """Frame scores of ``[start, stop)`` from an array or a callable."""

    def __init__(self, frames, n_frames, n_components):
        self.n_components = n_components
        if callable(frames):
            if n_frames is None:
                raise ValueError("n_frames is required when frames is a callable")
            self.get, self.n_frames = frames, int(n_frames)
        else:
            if not hasattr(frames, "shape"):
                frames = np.asarray(frames, dtype=np.float64)
            if len(frames.shape) != 2 or frames.shape[1] != n_components:
                raise ValueError(f"log_frameprob must have shape (n_samples, {n_components}), "
                                 f"got {tuple(frames.shape)}")
            self.get, self.n_frames = (lambda a, b: frames[a:b]), int(frames.shape[0])
        if self.n_frames < 1:
            raise ValueError("the sequence must have at least one frame")
        self._table = None

    def dense(self, start, stop):
        """(stop - start, N) float64 C-contiguous log-likelihoods (NaN and +inf refused)."""
        return self._checked(self.get(start, stop), start, stop)

    def _checked(self, frames, start, stop):
        if isinstance(frames, FrameTable):
            frames = frames.dense()
        frames = np.ascontiguousarray(frames, dtype=np.float64)
        if frames.shape != (stop - start, self.n_components):
            raise ValueError(f"frames {start}:{stop} have shape {frames.shape}, expected "
                             f"({stop - start}, {self.n_components})")
        if not (frames < np.inf).all():
            raise ValueError(f"frames {start}:{stop} hold NaN or +inf")
        return frames

    def scaled(self, start, stop):
        """``(emit, shift, index)`` of ``_blocks.forward_block`` for the frames."""
        frames = self.get(start, stop)
        if isinstance(frames, FrameTable):
            if self._table is None or self._table[0] is not frames.table:
                self._table = (frames.table, *_exp_rows(frames.table))
            return self._table[1], self._table[2], frames.index
        emit, shift = _exp_rows(self._checked(frames, start, stop))
        return emit, shift, np.arange(stop - start, dtype=np.int64)


def _exp_rows(log_rows):
    """Rows as ``emit * exp(shift)`` with each row's maximum as shift (0 rows for -inf)."""
    log_rows = np.ascontiguousarray(log_rows, dtype=np.float64)
    if not (log_rows < np.inf).all():
        raise ValueError("frame log-likelihoods hold NaN or +inf")
    shift = log_rows.max(axis=1)
    finite = shift > -np.inf
    emit = np.exp(log_rows - np.where(finite, shift, 0.0)[:, None])
    emit[~finite] = 0.0
    return np.ascontiguousarray(emit), shift


class BlockRun:
    """A validated chain over one sequence read in blocks.

    Parameters
    ----------
    chain : ChainParams
    frames : array-like of shape (n_frames, n_components) or callable
        The frame log-likelihoods, or ``frames(start, stop)`` returning those
        of frames ``start:stop`` (an array or a FrameTable).
    n_frames : int, optional
        Required with a callable.
    block_size : int, optional
        Frames per block; :func:`~hmm_core.kernels.backend.checkpoint_block`
        when None.
    """

    def __init__(self, chain, frames, n_frames=None, block_size=None):
        self.chain = chain
        n = chain.n_components
        self.source = _Source(frames, n_frames, n)
        self.n_frames = self.source.n_frames
        if block_size is None:
            block_size = backend.checkpoint_block(self.n_frames, n)
        if int(block_size) < 1:
            raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
        self.block_size = int(block_size)
        self.starts = np.arange(0, self.n_frames, self.block_size, dtype=np.int64)
        self.scaled = bool(chain.scaled)

    def _stop(self, k):
        return int(min(self.starts[k] + self.block_size, self.n_frames))

    # ------------------------------------------------------------ forward
    def forward(self):
        """``(loglik, checkpoints)``: the forward vector of the frame before each block
        (normalised in the scaled domain, log in log space); checkpoints None when -inf."""
        n, chain = self.chain.n_components, self.chain
        cps = np.zeros((self.starts.shape[0], n))
        if self.scaled:
            alpha, total = np.zeros(n), 0.0
            for k, start in enumerate(self.starts):
                cps[k] = alpha
                emit, shift, index = self.source.scaled(int(start), self._stop(k))
                part = _blocks.forward_block(emit, shift, index, chain.transmat, alpha, k == 0,
                                             chain.startprob, _EMPTY.reshape(0, n))
                if part == -np.inf:
                    return -np.inf, None
                total += part
            if chain.endprob is not None:
                with np.errstate(divide="ignore"):
                    total += np.log(alpha @ chain.endprob)
            return (float(total), cps) if total > -np.inf else (-np.inf, None)
        carry, offset = None, 0.0
        for k, start in enumerate(self.starts):
            if k:
                cps[k] = carry
            lattice, shifted = _log_forward(self._block_frames(k, int(start)),
                                            chain.log_startprob if k == 0 else carry, chain)
            top = lattice[-1].max()
            if not top > -np.inf:
                return -np.inf, None
            carry, offset = lattice[-1] - top, offset + shifted + top
        with np.errstate(divide="ignore"):
            total = offset + float(np.logaddexp.reduce(carry + chain.log_endprob))
        return (total, cps) if total > -np.inf else (-np.inf, None)

    def _block_frames(self, k, start):
        frames = self.source.dense(start, self._stop(k))
        if k:  # the frame before the block, scores 0, carries the checkpoint
            frames = np.vstack([np.zeros((1, frames.shape[1])), frames])
        return frames

    def loglik(self):
        """``log P(x)``."""
        return self.forward()[0]

    # ------------------------------------------------------------ backward
    def posteriors(self, out=None, on_block=None, counts=True):
        """Posteriors written block by block into ``out`` (last block first).

        Parameters
        ----------
        out : writable array-like of shape (n_frames, N), optional
        on_block : callable, optional
            Called as ``on_block(start, stop, posteriors)`` for every block.
        counts : bool, default=True
            Sum the expected transitions (``trans_counts`` stays zero otherwise).

        Returns
        -------
        dict
            ``loglik``, ``start_counts``, ``trans_counts``, ``end_counts``
            (N,) / (N, N) arrays, all zero for an impossible sequence.
        """
        n = self.chain.n_components
        loglik, cps = self.forward()
        stats = {"loglik": loglik, "start_counts": np.zeros(n),
                 "trans_counts": np.zeros((n, n)), "end_counts": np.zeros(n)}
        if cps is None:
            for k in range(self.starts.shape[0] - 1, -1, -1):
                start, stop = int(self.starts[k]), self._stop(k)
                post = np.zeros((stop - start, n))
                self._emit(out, on_block, start, stop, post)
            return stats
        run = self._scaled_backward if self.scaled else self._log_backward
        run(cps, loglik, out, on_block, stats, counts)
        return stats

    def _emit(self, out, on_block, start, stop, post):
        if out is not None:
            out[start:stop] = post
        if on_block is not None:
            on_block(start, stop, post)

    def _scaled_backward(self, cps, loglik, out, on_block, stats, counts):
        chain, n = self.chain, self.chain.n_components
        beta = np.ones(n) if chain.endprob is None else chain.endprob.copy()
        beta /= beta.sum()
        trans = np.zeros((n, n) if counts else (0, 0))
        trans_t = np.ascontiguousarray(chain.transmat.T)
        last = self.starts.shape[0] - 1
        for k in range(last, -1, -1):
            start, stop = int(self.starts[k]), self._stop(k)
            emit, shift, index = self.source.scaled(start, stop)
            alpha = cps[k].copy()
            alphas = np.empty((stop - start, n))
            _blocks.forward_block(emit, shift, index, chain.transmat, alpha, k == 0,
                                  chain.startprob, alphas)
            post = np.empty((stop - start, n))
            _blocks.backward_block(emit, index, chain.transmat, trans_t, alphas, cps[k], k == 0,
                                   beta, post, trans)
            self._edges(k, last, post, stats)
            self._emit(out, on_block, start, stop, post)
        if counts:
            stats["trans_counts"] = trans

    def _edges(self, k, last, post, stats):
        if k == last:
            stats["end_counts"] = post[-1].copy()
        if k == 0:
            stats["start_counts"] = post[0].copy()

    def _log_backward(self, cps, loglik, out, on_block, stats, counts):
        chain, n = self.chain, self.chain.n_components
        log_beta = chain.log_endprob.copy()
        trans = np.zeros((n, n))
        last = self.starts.shape[0] - 1
        for k in range(last, -1, -1):
            start = int(self.starts[k])
            frames = self._block_frames(k, start)
            la = _log_forward(frames, chain.log_startprob if k == 0 else cps[k], chain)[0]
            lb = _log_backward(frames, log_beta, chain)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                gamma = _softmax_rows(la + lb)
                if counts:
                    trans += _log_xi(la, lb, frames, chain.log_transmat)
            post = gamma[1:] if k else gamma
            self._edges(k, last, post, stats)
            self._emit(out, on_block, start, self._stop(k), np.ascontiguousarray(post))
            log_beta = lb[0]
        stats["trans_counts"] = trans

    # ------------------------------------------------------------ Viterbi
    def viterbi(self, out=None):
        """``(logprob, path)``: the best path written block by block into ``out``.

        Parameters
        ----------
        out : writable int64 array-like of shape (n_frames,), optional
            Allocated when None.
        """
        chain, n = self.chain, self.chain.n_components
        if n > 256:
            raise ValueError("block-by-block Viterbi supports at most 256 states")
        packed = _blocks.viterbi_pack(chain.log_transmat)
        n_pad = packed.shape[1]
        path = np.empty(self.n_frames, dtype=np.int64) if out is None else out
        cps = np.empty((self.starts.shape[0], n_pad))
        no_bp = np.empty((0, n_pad), dtype=np.uint8)
        delta = None
        for k, start in enumerate(self.starts):
            frames = self.source.dense(int(start), self._stop(k))
            if k == 0:
                delta = self._viterbi_first(frames, n_pad)
                frames = frames[1:]
            cps[k] = delta
            _blocks.viterbi_block(frames, packed, delta, no_bp)
        scores = delta[:n] + chain.log_endprob
        state = int(np.argmax(scores))
        logprob = float(scores[state])
        if not logprob > -np.inf:
            for k in range(self.starts.shape[0]):
                path[int(self.starts[k]):self._stop(k)] = -1
            return -np.inf, path
        for k in range(self.starts.shape[0] - 1, -1, -1):
            start, stop = int(self.starts[k]), self._stop(k)
            frames = self.source.dense(start, stop)
            if k == 0:
                frames = frames[1:]
                start += 1
            delta = cps[k].copy()
            bp = np.empty((stop - start, n_pad), dtype=np.uint8)
            _blocks.viterbi_block(frames, packed, delta, bp)
            block = np.empty(stop - start, dtype=np.int64)
            state = int(_blocks.viterbi_trace(bp, state, block))
            path[start:stop] = block
        if self.starts.shape[0]:
            path[0] = state
        return logprob, path

    def _viterbi_first(self, frames, n_pad):
        delta = np.full(n_pad, -np.inf)
        delta[:self.chain.n_components] = self.chain.log_startprob + frames[0]
        return delta


# Log-space lattices run in pieces of this many frames, each from the vector
# the previous one left shifted to its maximum: an absolute log alpha of
# magnitude m keeps only m * 1e-16 absolute precision, so pieces stay short.
LOG_PIECE = 128


def _log_forward(frames, first, chain):
    """Forward lattice of ``frames`` from start scores ``first``, each piece shifted,
    and the sum of the shifts."""
    out = np.empty_like(frames)
    shifted = 0.0
    offsets = np.zeros(2, dtype=np.int64)
    zeros = np.zeros((1, frames.shape[1]))
    for a in range(0, frames.shape[0], LOG_PIECE):
        b = min(a + LOG_PIECE, frames.shape[0])
        if a == 0:
            piece, start = frames[:b], np.ascontiguousarray(first)
        else:
            top = out[a - 1].max()
            if not top > -np.inf:
                out[a:] = -np.inf
                return out, shifted
            piece, start = np.vstack([zeros, frames[a:b]]), out[a - 1] - top
            shifted += top
        offsets[1] = piece.shape[0]
        lattice = np.empty_like(piece)
        _forward.forward_lattice(piece, offsets, np.ascontiguousarray(start), chain.transmat,
                                 chain.log_transmat, np.zeros(chain.n_components), lattice,
                                 np.empty(1), 1)
        out[a:b] = lattice if a == 0 else lattice[1:]
    return out, shifted


def _log_backward(frames, last, chain):
    """Backward lattice of ``frames`` ending in ``last``, each piece shifted."""
    out = np.empty_like(frames)
    out[-1] = last
    offsets = np.zeros(2, dtype=np.int64)
    trans_t = np.ascontiguousarray(chain.transmat.T)
    b = frames.shape[0] - 1
    while b > 0:
        a = max(0, b - LOG_PIECE)
        top = out[b].max()
        end = out[b] - top if top > -np.inf else out[b]
        offsets[1] = b + 1 - a
        lattice = np.empty((b + 1 - a, frames.shape[1]))
        _forward.backward_lattice(np.ascontiguousarray(frames[a:b + 1]), offsets, trans_t,
                                  chain.log_transmat, np.ascontiguousarray(end), lattice, 1)
        out[a:b] = lattice[:-1]
        b = a
    return out


def _softmax_rows(log_rows):
    top = log_rows.max(axis=1, keepdims=True)
    ok = top > -np.inf
    rows = np.exp(log_rows - np.where(ok, top, 0.0))
    sums = rows.sum(axis=1, keepdims=True)
    return np.where(ok & (sums > 0), rows / np.where(sums > 0, sums, 1.0), 0.0)


def _log_xi(la, lb, frames, log_transmat, rows=256):
    """Expected transitions between consecutive rows, each step normalised."""
    n = log_transmat.shape[0]
    total = np.zeros((n, n))
    for a in range(1, la.shape[0], rows):
        b = min(a + rows, la.shape[0])
        right = frames[a:b] + lb[a:b]
        cube = la[a - 1:b - 1, :, None] + log_transmat[None] + right[:, None, :]
        flat = cube.reshape(b - a, n * n)
        total += _softmax_rows(flat).sum(axis=0).reshape(n, n)
    return total
