import numpy as np
from numpy.typing import NDArray

_F = NDArray[np.float64]
_I = NDArray[np.int64]

def forward(
    log_frameprob: _F,
    offsets: _I,
    log_startprob: _F,
    log_transmat: _F,
    log_duration: _F,
    log_last: _F,
    loglik: _F,
    n_threads: int,
) -> None: ...
def estep(
    log_frameprob: _F,
    offsets: _I,
    chunks: _I,
    log_startprob: _F,
    log_transmat: _F,
    log_duration: _F,
    log_last: _F,
    out_posteriors: _F,
    loglik: _F,
    start_counts: _F,
    trans_counts: _F,
    duration_counts: _F,
    last_counts: _F,
    n_threads: int,
) -> None: ...
def viterbi(
    log_frameprob: _F,
    offsets: _I,
    log_startprob: _F,
    log_transmat: _F,
    log_duration: _F,
    log_last: _F,
    logprob: _F,
    path: _I,
    n_threads: int,
) -> None: ...
