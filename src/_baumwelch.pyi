import numpy as np
from numpy.typing import NDArray

def posteriors(
    log_frameprob: NDArray[np.float64],
    offsets: NDArray[np.int64],
    log_startprob: NDArray[np.float64],
    transmat: NDArray[np.float64],
    log_transmat: NDArray[np.float64],
    log_endprob: NDArray[np.float64],
    out_posteriors: NDArray[np.float64],
    loglik: NDArray[np.float64],
    n_threads: int,
) -> None: ...
def estep(
    log_frameprob: NDArray[np.float64],
    offsets: NDArray[np.int64],
    chunks: NDArray[np.int64],
    log_startprob: NDArray[np.float64],
    transmat: NDArray[np.float64],
    log_transmat: NDArray[np.float64],
    log_endprob: NDArray[np.float64],
    out_posteriors: NDArray[np.float64],
    loglik: NDArray[np.float64],
    start_counts: NDArray[np.float64],
    trans_counts: NDArray[np.float64],
    end_counts: NDArray[np.float64],
    n_threads: int,
) -> None: ...
