import numpy as np
from numpy.typing import NDArray

def forward_loglik(
    log_frameprob: NDArray[np.float64],
    offsets: NDArray[np.int64],
    log_startprob: NDArray[np.float64],
    transmat: NDArray[np.float64],
    log_transmat: NDArray[np.float64],
    log_endprob: NDArray[np.float64],
    loglik: NDArray[np.float64],
    n_threads: int,
) -> None: ...
def forward_lattice(
    log_frameprob: NDArray[np.float64],
    offsets: NDArray[np.int64],
    log_startprob: NDArray[np.float64],
    transmat: NDArray[np.float64],
    log_transmat: NDArray[np.float64],
    log_endprob: NDArray[np.float64],
    log_alpha: NDArray[np.float64],
    loglik: NDArray[np.float64],
    n_threads: int,
) -> None: ...
def backward_lattice(
    log_frameprob: NDArray[np.float64],
    offsets: NDArray[np.int64],
    transmat_t: NDArray[np.float64],
    log_transmat: NDArray[np.float64],
    log_endprob: NDArray[np.float64],
    log_beta: NDArray[np.float64],
    n_threads: int,
) -> None: ...
def _dgemv_loop(a: NDArray[np.float64], x: NDArray[np.float64], n_steps: int) -> None: ...
