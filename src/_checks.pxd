# Argument checks every kernel runs under the GIL before it releases it: whatever
# the caller passes, a kernel never reads or writes out of bounds.

from libc.stdint cimport int64_t


cdef inline int check_offsets(const int64_t[::1] offsets, Py_ssize_t n_frames) except -1:
    cdef Py_ssize_t s
    if offsets.shape[0] < 2:
        raise ValueError("offsets must hold at least two entries")
    if offsets[0] != 0 or offsets[offsets.shape[0] - 1] != n_frames:
        raise ValueError("offsets must start at 0 and end at the number of frames")
    for s in range(offsets.shape[0] - 1):
        if offsets[s + 1] <= offsets[s]:
            raise ValueError("offsets must be strictly increasing (no empty sequence)")
    return 0


cdef inline int check_index(const int64_t[::1] index, Py_ssize_t n_rows) except -1:
    # Frame t reads row index[t] of a (n_rows, N) table.
    cdef Py_ssize_t t
    for t in range(index.shape[0]):
        if index[t] < 0 or index[t] >= n_rows:
            raise ValueError(f"index must lie in [0, {n_rows}), got {index[t]} at {t}")
    return 0


cdef inline int check_square(Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t n,
                             str name) except -1:
    if rows != n or cols != n:
        raise ValueError(f"{name} must have shape ({n}, {n}), got ({rows}, {cols})")
    return 0


cdef inline int check_length(Py_ssize_t got, Py_ssize_t want, str name) except -1:
    if got != want:
        raise ValueError(f"{name} must have length {want}, got {got}")
    return 0


cdef inline int check_chunks(const int64_t[::1] chunks, Py_ssize_t n_seq) except -1:
    cdef Py_ssize_t c, n_chunks = chunks.shape[0] - 1
    if n_chunks < 1 or chunks[0] != 0 or chunks[n_chunks] != n_seq:
        raise ValueError("chunks must run from 0 to the number of sequences")
    for c in range(n_chunks):
        if chunks[c + 1] <= chunks[c]:
            raise ValueError("chunks must be strictly increasing")
    return 0


cdef inline int check_shape(tuple got, tuple want, str name) except -1:
    if got != want:
        raise ValueError(f"{name} must have shape {want}")
    return 0
