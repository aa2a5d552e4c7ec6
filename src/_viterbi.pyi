from typing import Any

import numpy as np
from numpy.typing import NDArray

_F = NDArray[np.float64]
_I = NDArray[np.int64]

def viterbi(
    log_frameprob: _F,
    offsets: _I,
    log_startprob: _F,
    log_transmat: _F,
    log_endprob: _F,
    logprob: _F,
    path: _I,
    n_threads: int,
    simd: bool = ...,
    index: _I | None = ...,
) -> None: ...
def sparse_viterbi(
    log_frameprob: _F,
    offsets: _I,
    log_startprob: _F,
    transitions: Any,
    log_endprob: _F,
    logprob: _F,
    path: _I,
    n_threads: int,
) -> None: ...
