"""Build facts and the thread count the kernels use."""

from __future__ import annotations

import platform
import sys

import numpy as np
import scipy

from hmm_core.kernels import _openmp_helpers

__all__ = ["effective_n_threads", "openmp_enabled", "show_config"]


def openmp_enabled() -> bool:
    """Return True when the kernels were compiled with OpenMP.

    Returns
    -------
    bool
        False means every kernel runs on one thread.
    """
    return _openmp_helpers.openmp_enabled()


def effective_n_threads(n_threads: int | None = None) -> int:
    """Number of threads a kernel call will use.

    Parameters
    ----------
    n_threads : int or None
        ``None`` (the default) uses ``omp_get_max_threads()``, which honours
        ``OMP_NUM_THREADS`` and threadpoolctl limits. A positive value is used
        as is; a negative value counts back from the maximum (``-1`` = all).

    Returns
    -------
    int
        At least 1.
    """
    if n_threads is not None and not isinstance(n_threads, (int, np.integer)):
        raise ValueError(f"n_threads must be an integer or None, got {n_threads!r}")
    if n_threads == 0:
        raise ValueError("n_threads must not be 0")
    max_threads = _openmp_helpers.omp_max_threads()
    if n_threads is None:
        return max(1, max_threads)
    if n_threads < 0:
        return max(1, max_threads + int(n_threads) + 1)
    return int(n_threads)


def show_config(print_out: bool = True) -> dict:
    """Report how hmm_core was built and what it will use at run time.

    Parameters
    ----------
    print_out : bool, default=True
        Print the report as well as returning it.

    Returns
    -------
    dict
        ``openmp`` (compiled in or not), ``max_threads``, and versions.
    """
    from hmm_core._version import __version__

    info = {
        "hmm_core": __version__,
        "openmp": openmp_enabled(),
        "max_threads": _openmp_helpers.omp_max_threads(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "machine": platform.machine(),
    }
    if print_out:
        for key, value in info.items():
            print(f"{key:>12}: {value}")
    return info
