from typing import Any

import numpy as np
from numpy.typing import NDArray

_F = NDArray[np.float64]
_I = NDArray[np.int64]

def estep(
    log_frameprob: _F,
    offsets: _I,
    chunks: _I,
    log_startprob: _F,
    transmat: _F,
    log_transmat: _F,
    log_endprob: _F,
    out_posteriors: _F,
    loglik: _F,
    start_counts: _F,
    trans_counts: _F,
    end_counts: _F,
    n_threads: int,
) -> None: ...
def scaled_estep(
    log_frameprob: _F,
    offsets: _I,
    chunks: _I,
    log_startprob: _F,
    transmat: _F,
    log_endprob: _F,
    out_posteriors: _F,
    loglik: _F,
    start_counts: _F,
    xi_sums: _F,
    end_counts: _F,
    n_threads: int,
    index: _I | None = ...,
    path: str = ...,
    groups: tuple[_I, _I, _I, _I] | None = ...,
    gemm: bool = ...,
) -> None: ...
def sparse_estep(
    log_frameprob: _F,
    offsets: _I,
    chunks: _I,
    log_startprob: _F,
    transitions: Any,
    log_endprob: _F,
    out_posteriors: _F,
    loglik: _F,
    start_counts: _F,
    trans_counts: _F,
    end_counts: _F,
    n_threads: int,
) -> None: ...
