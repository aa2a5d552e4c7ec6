"""The benchmarks' yardstick: one BLAS matrix-vector product per time step.

Not part of the API. ``dgemv_loop`` measures what one ``x <- x @ a`` costs on
this machine when nothing else is done per step, the machine limit the
forward pass is compared with (``benchmarks/compare.py``).
"""

import numpy as np

from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dgemv

from _checks cimport check_length, check_square


def dgemv_loop(
    const double[:, ::1] a,     # IN (N, N)
    double[::1] x,              # IN/OUT (N,) the start vector, then the result
    Py_ssize_t n_steps,
):
    """Repeat ``x <- x @ a`` ``n_steps`` times with BLAS ``dgemv``, GIL released."""
    cdef int n = a.shape[0], one = 1
    cdef double alpha = 1.0, beta = 0.0
    cdef double[::1] other = np.empty(n)
    cdef double* cur = &x[0]
    cdef double* nxt = &other[0]
    cdef double* tmp
    cdef char no = b'N'
    cdef Py_ssize_t t
    check_square(a.shape[0], a.shape[1], n, "a")
    check_length(x.shape[0], n, "x")
    with nogil:
        for t in range(n_steps):
            # a is row-major, i.e. a^T in BLAS's column-major view: y = a^T x = x @ a
            dgemv(&no, &n, &n, &alpha, <double*> &a[0, 0], &n, cur, &one, &beta, nxt, &one)
            tmp = cur
            cur = nxt
            nxt = tmp
    if cur != &x[0]:
        memcpy(&x[0], cur, n * sizeof(double))
