"""Whether OpenMP was compiled in, and how many threads it would use."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int hmm_core_openmp_compiled(void) { return 1; }
    static int hmm_core_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int hmm_core_openmp_compiled(void) { return 0; }
    static int hmm_core_max_threads(void) { return 1; }
    #endif
    """
    int hmm_core_openmp_compiled() nogil
    int hmm_core_max_threads() nogil


def openmp_enabled():
    """Return True when the kernels were compiled with OpenMP."""
    return bool(hmm_core_openmp_compiled())


def omp_max_threads():
    """Return ``omp_get_max_threads()``, which honours OMP_NUM_THREADS and threadpoolctl."""
    return hmm_core_max_threads()
