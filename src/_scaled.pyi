import numpy as np
from numpy.typing import NDArray

MIN_TRANSITION: float

def split_scratch_bytes(n_frames: int, n_components: int) -> int: ...
def loglik(
    log_frameprob: NDArray[np.float64],
    offsets: NDArray[np.int64],
    log_startprob: NDArray[np.float64],
    transmat: NDArray[np.float64],
    log_endprob: NDArray[np.float64],
    out: NDArray[np.float64],
    n_threads: int,
    index: NDArray[np.int64] | None = ...,
    path: str = ...,
    groups: tuple | None = ...,
) -> None: ...
def posteriors(
    log_frameprob: NDArray[np.float64],
    offsets: NDArray[np.int64],
    log_startprob: NDArray[np.float64],
    transmat: NDArray[np.float64],
    log_endprob: NDArray[np.float64],
    out_posteriors: NDArray[np.float64],
    out_loglik: NDArray[np.float64],
    n_threads: int,
    index: NDArray[np.int64] | None = ...,
    path: str = ...,
    groups: tuple | None = ...,
    gemm: bool = ...,
) -> None: ...
def estep(
    log_frameprob: NDArray[np.float64],
    offsets: NDArray[np.int64],
    chunks: NDArray[np.int64],
    log_startprob: NDArray[np.float64],
    transmat: NDArray[np.float64],
    log_endprob: NDArray[np.float64],
    out_posteriors: NDArray[np.float64],
    out_loglik: NDArray[np.float64],
    start_counts: NDArray[np.float64],
    xi_sums: NDArray[np.float64],
    end_counts: NDArray[np.float64],
    n_threads: int,
    index: NDArray[np.int64] | None = ...,
    path: str = ...,
    groups: tuple | None = ...,
    gemm: bool = ...,
) -> None: ...
def group_sum(
    posteriors: NDArray[np.float64],
    index: NDArray[np.int64],
    out: NDArray[np.float64],
) -> None: ...
