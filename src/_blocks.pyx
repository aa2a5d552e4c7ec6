"""Recursions over one block of a long sequence, carrying their vector across blocks.

A sequence too long for its (T, N) lattices is run a block of frames at a
time. Each function here starts from the vector the previous block left
(the normalised forward vector, the normalised backward vector or the
Viterbi scores) and returns the one the next block needs, so blocks chained
in order compute the whole-sequence recursion:

- ``forward_block``: scaled forward pass (linear domain, one normalisation
  per frame); also the step of an online filter;
- ``backward_block``: scaled backward pass over a block whose forward
  vectors were recomputed, giving the posteriors and the expected
  transitions (a rank-one update per frame, multiplied by the transition
  matrix once at the end);
- ``viterbi_block``: Viterbi scores with or without the back-pointers of
  the block, and ``viterbi_trace`` to follow them back (``_blocks.h``).

Emission likelihoods come as rows of a linear-domain table ``emit`` (K, N)
scaled by ``exp(shift)`` per row, frame ``t`` reading row ``index[t]``: a
categorical model passes its symbol table once, other models one row per
frame. The scaled functions suit chains whose every transition is at least
``SCALED_MIN_TRANSITION`` (as the scaled kernels of ``_forward``); the
caller runs other chains in log space.
"""

import numpy as np

cimport cython

from libc.math cimport INFINITY, log
from libc.stdint cimport int64_t, uint8_t

from _checks cimport check_index, check_length, check_square

cdef extern from "_simd.h" nogil:
    void hmm_vecmat(const double* x, const double* a, double* out, Py_ssize_t n)
    void hmm_outer_acc(const double* x, const double* a, const double* y, double scale,
                       double* acc, Py_ssize_t n)

cdef extern from "_blocks.h" nogil:
    Py_ssize_t hmm_vit_padded(Py_ssize_t n)
    void hmm_viterbi_pack(const double* log_a, Py_ssize_t n, double* out)
    void hmm_blk_viterbi_run(const double* frames, Py_ssize_t n_frames, const double* log_a,
                             double* delta, double* next, void* bp, Py_ssize_t bp_stride,
                             Py_ssize_t n, int size, int simd)


cdef cython_buffer(Py_ssize_t n):
    return np.zeros(n)


cdef inline void _check_emit(const double[:, ::1] emit, const double[::1] shift,
                             const int64_t[::1] index, Py_ssize_t n) except *:
    cdef Py_ssize_t k = emit.shape[0]
    if emit.shape[1] != n:
        raise ValueError(f"emit must have {n} columns, got {emit.shape[1]}")
    check_length(shift.shape[0], k, "shift")
    check_index(index, k)


def forward_block(
    const double[:, ::1] emit,        # IN (K, N) emission likelihoods / exp(shift)
    const double[::1] shift,          # IN (K,) log scale of each row
    const int64_t[::1] index,         # IN (B,) row of each frame
    const double[:, ::1] transmat,    # IN (N, N)
    double[::1] alpha,                # IN/OUT (N,) normalised forward vector
    bint first,                       # IN the block starts the sequence
    const double[::1] startprob,      # IN (N,) used when first
    double[:, ::1] out,               # OUT (B, N) or (0, N): forward vector of each frame
):
    """Advance the normalised forward vector over a block; return its log-likelihood.

    The return value is ``log P(x_block | x_before)`` (``log P(x_block)`` when
    ``first``), or -inf when the block is impossible given what came before
    (``alpha`` is then left as it was).
    """
    cdef Py_ssize_t n = transmat.shape[0], n_frames = index.shape[0]
    cdef Py_ssize_t t, i, j, r
    cdef double total = 0.0, scale = 1.0, c, a
    cdef bint keep = out.shape[0] > 0
    check_square(transmat.shape[0], transmat.shape[1], n, "transmat")
    check_length(alpha.shape[0], n, "alpha")
    check_length(startprob.shape[0], n, "startprob")
    if keep:
        check_length(out.shape[0], n_frames, "out")
        check_length(out.shape[1], n, "out columns")
    _check_emit(emit, shift, index, n)
    if n_frames == 0:
        return 0.0
    v = cython_buffer(n)
    cdef double[::1] nxt = v
    cdef double[::1] cur = cython_buffer(n)
    cur[:] = alpha
    with nogil:
        for t in range(n_frames):
            r = index[t]
            if shift[r] == -INFINITY:
                total = -INFINITY
                break
            if first and t == 0:
                for j in range(n):
                    nxt[j] = startprob[j] * emit[r, j]
            else:
                hmm_vecmat(&cur[0], &transmat[0, 0], &nxt[0], n)
                for j in range(n):
                    nxt[j] *= emit[r, j]
            c = 0.0
            for j in range(n):
                c += nxt[j]
            if not c > 0.0:
                total = -INFINITY
                break
            a = 1.0 / c
            for j in range(n):
                cur[j] = nxt[j] * a
            if keep:
                for j in range(n):
                    out[t, j] = cur[j]
            # one log per many frames: the scales multiply while far from underflow
            total += shift[r]
            if c < 1e-100:
                total += log(c)
            else:
                scale *= c
                if scale < 1e-200:
                    total += log(scale)
                    scale = 1.0
    if total != -INFINITY:
        alpha[:] = cur
        total += log(scale)
    return total


def backward_block(
    const double[:, ::1] emit,        # IN (K, N)
    const int64_t[::1] index,         # IN (B,)
    const double[:, ::1] transmat,    # IN (N, N)
    const double[:, ::1] transmat_t,  # IN (N, N) transposed
    const double[:, ::1] alphas,      # IN (B, N) forward vectors of the block (forward_block)
    const double[::1] alpha_before,   # IN (N,) forward vector of the frame before the block
    bint first,                       # IN the block starts the sequence (no frame before)
    double[::1] beta,                 # IN/OUT (N,) backward vector of the last frame -> of
                                      #        the frame before the block
    double[:, ::1] post,              # OUT (B, N) posteriors
    double[:, ::1] trans_counts,      # IN/OUT (N, N) += expected transitions into the block,
                                      #        or (0, 0): posteriors only
):
    """Backward pass over a block: posteriors, and the expected transitions
    into the block's frames (from the frame before it, unless ``first``).

    Backward vectors are scaled to sum to one, posteriors normalised per frame.
    """
    cdef Py_ssize_t n = transmat.shape[0], n_frames = index.shape[0]
    cdef Py_ssize_t t, i, j, r, k = emit.shape[0]
    cdef double s, z, a
    check_square(transmat.shape[0], transmat.shape[1], n, "transmat")
    check_length(alphas.shape[0], n_frames, "alphas")
    check_length(alphas.shape[1], n, "alphas columns")
    check_length(alpha_before.shape[0], n, "alpha_before")
    check_length(beta.shape[0], n, "beta")
    check_length(post.shape[0], n_frames, "post")
    check_length(post.shape[1], n, "post columns")
    check_square(transmat_t.shape[0], transmat_t.shape[1], n, "transmat_t")
    cdef bint counts = trans_counts.shape[0] > 0
    if counts:
        check_square(trans_counts.shape[0], trans_counts.shape[1], n, "trans_counts")
    if emit.shape[1] != n:
        raise ValueError(f"emit must have {n} columns, got {emit.shape[1]}")
    check_index(index, k)
    cdef double[::1] w = cython_buffer(n)
    cdef double[::1] nb = cython_buffer(n)
    cdef const double* prev
    with nogil:
        for t in range(n_frames - 1, -1, -1):
            s = 0.0
            for j in range(n):
                post[t, j] = alphas[t, j] * beta[j]
                s += post[t, j]
            if s > 0.0:
                a = 1.0 / s
                for j in range(n):
                    post[t, j] = post[t, j] * a
            if t == 0 and first:
                break
            r = index[t]
            for j in range(n):
                w[j] = emit[r, j] * beta[j]
            # unnormalised backward vector of frame t - 1: A w
            hmm_vecmat(&w[0], &transmat_t[0, 0], &nb[0], n)
            prev = &alphas[t - 1, 0] if t > 0 else &alpha_before[0]
            z = 0.0
            s = 0.0
            for i in range(n):
                z += prev[i] * nb[i]
                s += nb[i]
            if counts and z > 0.0:
                # xi(i, j) = prev_i A_ij w_j / z
                hmm_outer_acc(prev, &transmat[0, 0], &w[0], 1.0 / z, &trans_counts[0, 0], n)
            if s > 0.0:
                a = 1.0 / s
                for i in range(n):
                    beta[i] = nb[i] * a


def viterbi_pack(const double[:, ::1] log_transmat):
    """The log transition matrix in the layout of ``viterbi_block``."""
    cdef Py_ssize_t n = log_transmat.shape[0]
    check_square(log_transmat.shape[0], log_transmat.shape[1], n, "log_transmat")
    packed = np.empty((n, hmm_vit_padded(n)))
    cdef double[:, ::1] view = packed
    hmm_viterbi_pack(&log_transmat[0, 0], n, &view[0, 0])
    return packed


def viterbi_block(
    const double[:, ::1] log_frameprob,  # IN (B, N)
    const double[:, ::1] log_a_packed,   # IN (N, n_pad) from viterbi_pack
    double[::1] delta,                   # IN/OUT (n_pad,) scores of the frame before -> last
    uint8_t[:, ::1] backpointers,        # OUT (B, n_pad) or (0, n_pad): keep none
    bint simd=True,
):
    """Advance the Viterbi scores over a block (each frame one step from ``delta``).

    Back-pointers (uint8, so at most 256 states) are stored per frame when
    ``backpointers`` has ``B`` rows.
    """
    cdef Py_ssize_t n = log_frameprob.shape[1], n_frames = log_frameprob.shape[0]
    cdef Py_ssize_t n_pad = hmm_vit_padded(n)
    cdef Py_ssize_t stride = n_pad
    if n > 256:
        raise ValueError("viterbi_block keeps uint8 back-pointers: at most 256 states")
    check_length(log_a_packed.shape[0], n, "log_a_packed")
    check_length(log_a_packed.shape[1], n_pad, "log_a_packed columns")
    check_length(delta.shape[0], n_pad, "delta")
    check_length(backpointers.shape[1], n_pad, "backpointers columns")
    if backpointers.shape[0] == 0:
        row = np.empty((1, n_pad), dtype=np.uint8)
        stride = 0
    else:
        check_length(backpointers.shape[0], n_frames, "backpointers")
        row = backpointers
    if n_frames == 0:
        return
    cdef uint8_t[:, ::1] bp = row
    cdef double[::1] scratch = cython_buffer(n_pad)
    with nogil:
        hmm_blk_viterbi_run(&log_frameprob[0, 0], n_frames, &log_a_packed[0, 0], &delta[0],
                            &scratch[0], &bp[0, 0], stride, n, 1, simd)


def viterbi_trace(
    const uint8_t[:, ::1] backpointers,  # IN (B, n_pad) from viterbi_block
    int64_t last,                        # IN state of the block's last frame
    int64_t[::1] path,                   # OUT (B,)
):
    """Follow a block's back-pointers from its last state; return the state
    of the frame before the block."""
    cdef Py_ssize_t t, n_frames = backpointers.shape[0]
    cdef int64_t state = last
    check_length(path.shape[0], n_frames, "path")
    with nogil:
        for t in range(n_frames - 1, -1, -1):
            path[t] = state
            state = backpointers[t, state]
    return state


@cython.auto_pickle(False)  # rebuilt, not pickled (OnlineFilter.__getstate__)
cdef class FilterStep:
    """One frame of the forward filter with its arrays bound once (a call costs
    about a microsecond): the step of ``OnlineFilter.update`` for a single frame."""

    cdef const double[:, ::1] emit
    cdef const double[::1] shift
    cdef const double[:, ::1] transmat
    cdef const double[::1] startprob
    cdef double[::1] alpha
    cdef double[::1] nxt

    def __init__(self, const double[:, ::1] emit, const double[::1] shift,
                 const double[:, ::1] transmat, const double[::1] startprob,
                 double[::1] alpha):
        cdef Py_ssize_t n = transmat.shape[0]
        check_square(transmat.shape[0], transmat.shape[1], n, "transmat")
        check_length(emit.shape[1], n, "emit columns")
        check_length(shift.shape[0], emit.shape[0], "shift")
        check_length(startprob.shape[0], n, "startprob")
        check_length(alpha.shape[0], n, "alpha")
        self.emit, self.shift, self.transmat = emit, shift, transmat
        self.startprob, self.alpha = startprob, alpha
        self.nxt = np.zeros(n)

    def step(self, Py_ssize_t row, bint first):
        """Advance ``alpha`` by a frame reading row ``row``; return
        ``(probabilities (1, N), log-likelihood increment)``."""
        cdef Py_ssize_t n = self.transmat.shape[0], j
        cdef double c = 0.0, a
        if row < 0 or row >= self.emit.shape[0]:
            raise ValueError(f"row {row} is outside 0..{self.emit.shape[0] - 1}")
        out = np.zeros((1, n))
        cdef double[:, ::1] view = out
        if self.shift[row] == -INFINITY:
            return out, -INFINITY
        if first:
            for j in range(n):
                self.nxt[j] = self.startprob[j] * self.emit[row, j]
        else:
            hmm_vecmat(&self.alpha[0], &self.transmat[0, 0], &self.nxt[0], n)
            for j in range(n):
                self.nxt[j] *= self.emit[row, j]
        for j in range(n):
            c += self.nxt[j]
        if not c > 0.0:
            return out, -INFINITY
        a = 1.0 / c
        for j in range(n):
            self.alpha[j] = self.nxt[j] * a
            view[0, j] = self.alpha[j]
        return out, log(c) + self.shift[row]
