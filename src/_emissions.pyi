import numpy as np
from numpy.typing import NDArray

def diag_log_density(
    X: NDArray[np.float64],
    means: NDArray[np.float64],
    variances: NDArray[np.float64],
    out: NDArray[np.float64],
    n_threads: int,
) -> None: ...
def diag_moments(
    X: NDArray[np.float64],
    W: NDArray[np.float64],
    count: NDArray[np.float64],
    mean: NDArray[np.float64],
    scatter: NDArray[np.float64],
    n_threads: int = ...,
    center: NDArray[np.float64] | None = ...,
) -> None: ...
def group_sum(
    posteriors: NDArray[np.float64],
    index: NDArray[np.int64],
    out: NDArray[np.float64],
) -> None: ...
