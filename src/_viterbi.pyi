import numpy as np
from numpy.typing import NDArray

def viterbi(
    log_frameprob: NDArray[np.float64],
    offsets: NDArray[np.int64],
    log_startprob: NDArray[np.float64],
    log_transmat: NDArray[np.float64],
    log_endprob: NDArray[np.float64],
    logprob: NDArray[np.float64],
    path: NDArray[np.int64],
    n_threads: int,
) -> None: ...
