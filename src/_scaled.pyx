"""Likelihood, posteriors and the E-step in the scaled linear domain.

For transition matrices whose every entry is at least ``MIN_TRANSITION``
(1e-100): then a step is a vector-matrix multiply-add with no transcendental
function, and the result still equals exact log-space arithmetic (see the
bound in ``_scaled.h``). ``ChainParams`` routes other matrices to the
log-domain kernels of ``_forward`` and ``_baumwelch``.

Sequences are concatenated along the first axis; ``offsets[s]:offsets[s + 1]``
are the frames of sequence ``s``; work is parallel over sequences.
"""

import numpy as np

from cython.parallel cimport prange, threadid
from libc.stdint cimport int64_t
from scipy.linalg.cython_blas cimport dgemm

from _checks cimport check_length, check_offsets, check_square

cdef extern from "_scaled.h" nogil:
    ctypedef void (*hmm_dgemm_t)(char*, char*, int*, int*, int*, double*, double*, int*,
                                 double*, int*, double*, double*, int*)
    ctypedef struct hmm_frames:
        const double* log_frameprob
        const int64_t* index
        const double* table_b
        const double* table_shift
    double HMM_SCALED_MIN_TRANSITION
    int HMM_GEMM_MIN_STATES
    Py_ssize_t hmm_scaled_work_size(Py_ssize_t n)
    Py_ssize_t hmm_stride(Py_ssize_t n)
    void hmm_table_exp(const double* table, Py_ssize_t n_rows, Py_ssize_t n, double* table_b,
                       double* table_shift)
    double hmm_scaled_forward(const hmm_frames* frames, Py_ssize_t n_frames, Py_ssize_t n,
                              const double* log_startprob, const double* transmat,
                              const double* log_endprob, double* alpha, double* work)
    double hmm_scaled_posteriors(const hmm_frames* frames, Py_ssize_t n_frames,
                                 Py_ssize_t n, const double* log_startprob,
                                 const double* transmat, const double* transmat_t,
                                 const double* log_endprob, double* post,
                                 double* start_counts, double* xi_sums, double* end_counts,
                                 double* work, hmm_dgemm_t dgemm)

MIN_TRANSITION = HMM_SCALED_MIN_TRANSITION
GEMM_MIN_STATES = HMM_GEMM_MIN_STATES


def _padded(matrix):
    """(w, w) copy of an (N, N) matrix, zero past row and column N (w = hmm_stride(N))."""
    n = matrix.shape[0]
    w = hmm_stride(n)
    out = np.zeros((w, w))
    out[:n, :n] = matrix
    return out


cdef class _Source:
    """The frames of a call: (T, N) log-likelihoods, or a (K, N) table and a (T,) index."""
    cdef const double[:, ::1] log_frameprob
    cdef const int64_t[::1] index
    cdef double[:, ::1] table_b
    cdef double[::1] table_shift
    cdef Py_ssize_t n_frames, n

    def __init__(self, const double[:, ::1] log_frameprob, const int64_t[::1] index):
        cdef Py_ssize_t t, n_rows = log_frameprob.shape[0]
        self.log_frameprob = log_frameprob
        self.index = index
        self.n = log_frameprob.shape[1]
        self.n_frames = n_rows
        if index is None:
            return
        self.n_frames = index.shape[0]
        for t in range(self.n_frames):
            if index[t] < 0 or index[t] >= n_rows:
                raise ValueError(f"index must lie in [0, {n_rows}), got {index[t]} at {t}")
        self.table_b = np.empty((n_rows, hmm_stride(self.n)))
        self.table_shift = np.empty(n_rows)
        hmm_table_exp(&log_frameprob[0, 0], n_rows, self.n, &self.table_b[0, 0],
                      &self.table_shift[0])

    cdef inline hmm_frames at(self, Py_ssize_t start) noexcept nogil:
        cdef hmm_frames f
        if self.index is None:
            f.log_frameprob = &self.log_frameprob[start, 0]
            f.index = NULL
            f.table_b = NULL
            f.table_shift = NULL
        else:
            f.log_frameprob = &self.log_frameprob[0, 0]
            f.index = &self.index[start]
            f.table_b = &self.table_b[0, 0]
            f.table_shift = &self.table_shift[0]
        return f


cdef double _forward_one(_Source src, Py_ssize_t start, Py_ssize_t n_frames,
                         const double* log_startprob, const double* transmat,
                         const double* log_endprob, double* work) noexcept nogil:
    cdef hmm_frames f = src.at(start)
    return hmm_scaled_forward(&f, n_frames, src.n, log_startprob, transmat, log_endprob,
                              NULL, work)


cdef double _posteriors_one(_Source src, Py_ssize_t start, Py_ssize_t n_frames,
                            const double* log_startprob, const double* transmat,
                            const double* transmat_t, const double* log_endprob,
                            double* post, double* start_counts, double* xi_sums,
                            double* end_counts, double* work,
                            hmm_dgemm_t gemm) noexcept nogil:
    cdef hmm_frames f = src.at(start)
    return hmm_scaled_posteriors(&f, n_frames, src.n, log_startprob, transmat, transmat_t,
                                 log_endprob, post, start_counts, xi_sums, end_counts,
                                 work, gemm)


cdef int _check_model(_Source src, const int64_t[::1] offsets,
                      const double[::1] log_startprob, const double[:, ::1] transmat,
                      const double[::1] log_endprob) except -1:
    cdef Py_ssize_t n = src.n
    cdef Py_ssize_t i, j
    check_offsets(offsets, src.n_frames)
    check_length(log_startprob.shape[0], n, "log_startprob")
    check_length(log_endprob.shape[0], n, "log_endprob")
    check_square(transmat.shape[0], transmat.shape[1], n, "transmat")
    for i in range(n):
        for j in range(n):
            # written so that NaN fails too
            if not transmat[i, j] >= HMM_SCALED_MIN_TRANSITION:
                raise ValueError("the scaled kernels need every transition >= 1e-100")
    return 0


def _setup(log_frameprob, index, offsets, log_startprob, transmat, log_endprob, n_threads):
    """Checks shared by the wrappers; returns the frame source, the padded
    matrix and its transpose, and one row of scratch per thread."""
    cdef _Source src = _Source(log_frameprob, index)
    _check_model(src, offsets, log_startprob, transmat, log_endprob)
    a = np.asarray(transmat)
    work = np.empty((n_threads, hmm_scaled_work_size(src.n)))
    return src, _padded(a), _padded(a.T), work


def loglik(
    const double[:, ::1] log_frameprob,   # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N) every entry >= MIN_TRANSITION
    const double[::1] log_endprob,        # IN (N,) zeros when there is no end state
    double[::1] out,                      # OUT (n_seq,)
    int n_threads,
    const int64_t[::1] index=None,        # IN (T_total,) table rows, or None
):
    """Per-sequence log-likelihoods; O(N) memory per sequence."""
    cdef _Source src
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s
    cdef double[:, ::1] work, transmat_p
    n_threads = max(1, n_threads)
    src, transmat_p, _, work = _setup(log_frameprob, index, offsets, log_startprob, transmat,
                                      log_endprob, n_threads)
    check_length(out.shape[0], n_seq, "out")
    with nogil:
        for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
            out[s] = _forward_one(src, offsets[s], offsets[s + 1] - offsets[s],
                                  &log_startprob[0], &transmat_p[0, 0], &log_endprob[0],
                                  &work[threadid(), 0])


def posteriors(
    const double[:, ::1] log_frameprob,   # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N) every entry >= MIN_TRANSITION
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] out_posteriors,        # OUT (T_total, N)
    double[::1] out_loglik,               # OUT (n_seq,)
    int n_threads,
    const int64_t[::1] index=None,        # IN (T_total,) table rows, or None
):
    """State posteriors for every frame, and per-sequence log-likelihoods."""
    cdef _Source src
    cdef Py_ssize_t n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t s
    cdef double[:, ::1] work, transmat_p, transmat_t
    n_threads = max(1, n_threads)
    src, transmat_p, transmat_t, work = _setup(log_frameprob, index, offsets, log_startprob,
                                               transmat, log_endprob, n_threads)
    check_length(out_loglik.shape[0], n_seq, "out_loglik")
    if out_posteriors.shape[0] != src.n_frames or out_posteriors.shape[1] != src.n:
        raise ValueError(f"out_posteriors must have shape {(src.n_frames, src.n)}")
    with nogil:
        for s in prange(n_seq, schedule="dynamic", num_threads=n_threads):
            out_loglik[s] = _posteriors_one(
                src, offsets[s], offsets[s + 1] - offsets[s],
                &log_startprob[0], &transmat_p[0, 0], &transmat_t[0, 0], &log_endprob[0],
                &out_posteriors[offsets[s], 0], NULL, NULL, NULL, &work[threadid(), 0], NULL)


def estep(
    const double[:, ::1] log_frameprob,   # IN (T_total, N), or (K, N) table with index
    const int64_t[::1] offsets,           # IN (n_seq + 1,)
    const int64_t[::1] chunks,            # IN (n_chunks + 1,) sequence index bounds
    const double[::1] log_startprob,      # IN (N,)
    const double[:, ::1] transmat,        # IN (N, N) every entry >= MIN_TRANSITION
    const double[::1] log_endprob,        # IN (N,)
    double[:, ::1] out_posteriors,        # OUT (T_total, N)
    double[::1] out_loglik,               # OUT (n_seq,)
    double[:, ::1] start_counts,          # OUT (n_chunks, N)
    double[:, :, ::1] xi_sums,            # OUT (n_chunks, N, N) times transmat = counts
    double[:, ::1] end_counts,            # OUT (n_chunks, N)
    int n_threads,
    const int64_t[::1] index=None,        # IN (T_total,) table rows, or None
):
    """Posteriors plus expected counts, one set of sums per chunk of sequences.

    The expected transition counts of a chunk are ``transmat * xi_sums[c]``.
    Chunks are fixed by the caller from the lengths alone, so the summed
    statistics do not depend on the thread count.
    """
    cdef _Source src
    cdef Py_ssize_t n, n_seq = offsets.shape[0] - 1
    cdef Py_ssize_t n_chunks = chunks.shape[0] - 1
    cdef Py_ssize_t c, s, tid
    cdef double[:, ::1] work, transmat_p, transmat_t
    n_threads = max(1, n_threads)
    src, transmat_p, transmat_t, work = _setup(log_frameprob, index, offsets, log_startprob,
                                               transmat, log_endprob, n_threads)
    n = src.n
    check_length(out_loglik.shape[0], n_seq, "out_loglik")
    if out_posteriors.shape[0] != src.n_frames or out_posteriors.shape[1] != n:
        raise ValueError(f"out_posteriors must have shape {(src.n_frames, n)}")
    if n_chunks < 1 or chunks[0] != 0 or chunks[n_chunks] != n_seq:
        raise ValueError("chunks must run from 0 to the number of sequences")
    for c in range(n_chunks):
        if chunks[c + 1] <= chunks[c]:
            raise ValueError("chunks must be strictly increasing")
    if (start_counts.shape[0], start_counts.shape[1]) != (n_chunks, n):
        raise ValueError(f"start_counts must have shape {(n_chunks, n)}")
    if (end_counts.shape[0], end_counts.shape[1]) != (n_chunks, n):
        raise ValueError(f"end_counts must have shape {(n_chunks, n)}")
    if (xi_sums.shape[0], xi_sums.shape[1], xi_sums.shape[2]) != (n_chunks, n, n):
        raise ValueError(f"xi_sums must have shape {(n_chunks, n, n)}")
    start_counts[:, :] = 0.0
    xi_sums[:, :, :] = 0.0
    end_counts[:, :] = 0.0
    with nogil:
        for c in prange(n_chunks, schedule="dynamic", num_threads=n_threads):
            tid = threadid()
            for s in range(chunks[c], chunks[c + 1]):
                out_loglik[s] = _posteriors_one(
                    src, offsets[s], offsets[s + 1] - offsets[s],
                    &log_startprob[0], &transmat_p[0, 0], &transmat_t[0, 0],
                    &log_endprob[0], &out_posteriors[offsets[s], 0],
                    &start_counts[c, 0], &xi_sums[c, 0, 0], &end_counts[c, 0],
                    &work[tid, 0], <hmm_dgemm_t> dgemm)


def group_sum(
    const double[:, ::1] posteriors,      # IN (T, N)
    const int64_t[::1] index,             # IN (T,) table row of each frame
    double[:, ::1] out,                   # OUT (K, N) accumulated: out[index[t]] += posteriors[t]
):
    """Sum posterior rows by table row (the emission counts of a FrameTable)."""
    cdef Py_ssize_t n_frames = index.shape[0], n = posteriors.shape[1]
    cdef Py_ssize_t n_rows = out.shape[0]
    cdef Py_ssize_t t, j, row
    if posteriors.shape[0] != n_frames:
        raise ValueError(f"posteriors must have {n_frames} rows, got {posteriors.shape[0]}")
    check_length(out.shape[1], n, "out columns")
    for t in range(n_frames):
        if index[t] < 0 or index[t] >= n_rows:
            raise ValueError(f"index must lie in [0, {n_rows}), got {index[t]} at {t}")
    with nogil:
        for t in range(n_frames):
            row = index[t]
            for j in range(n):
                out[row, j] += posteriors[t, j]
