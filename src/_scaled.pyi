import numpy as np
from numpy.typing import NDArray

MIN_TRANSITION: float
GEMM_MIN_STATES: int
SPLIT_MIN_FRAMES: int
SPLIT_MAX_BYTES: int

LOCKSTEP_MIN_STATES: int
LOCKSTEP_MIN_SEQUENCES: int
LOCKSTEP_GROUP: int | None

def uses_split(offsets: NDArray[np.int64], n_components: int, n_threads: int = ...) -> bool: ...
def uses_lockstep(offsets: NDArray[np.int64], n_components: int) -> bool: ...

def loglik(
    log_frameprob: NDArray[np.float64],
    offsets: NDArray[np.int64],
    log_startprob: NDArray[np.float64],
    transmat: NDArray[np.float64],
    log_endprob: NDArray[np.float64],
    out: NDArray[np.float64],
    n_threads: int,
    index: NDArray[np.int64] | None = ...,
    lockstep: bool | None = ...,
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
    lockstep: bool | None = ...,
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
    lockstep: bool | None = ...,
) -> None: ...
def group_sum(
    posteriors: NDArray[np.float64],
    index: NDArray[np.int64],
    out: NDArray[np.float64],
) -> None: ...
