from typing import Any

import numpy as np
from numpy.typing import NDArray

_F = NDArray[np.float64]
_I = NDArray[np.int64]

SCALED_MIN_TRANSITION: float

def forward_loglik(
    log_frameprob: _F,
    offsets: _I,
    log_startprob: _F,
    transmat: _F,
    log_transmat: _F,
    log_endprob: _F,
    loglik: _F,
    n_threads: int,
) -> None: ...
def forward_lattice(
    log_frameprob: _F,
    offsets: _I,
    log_startprob: _F,
    transmat: _F,
    log_transmat: _F,
    log_endprob: _F,
    log_alpha: _F,
    loglik: _F,
    n_threads: int,
) -> None: ...
def backward_lattice(
    log_frameprob: _F,
    offsets: _I,
    transmat_t: _F,
    log_transmat: _F,
    log_endprob: _F,
    log_beta: _F,
    n_threads: int,
) -> None: ...
def posteriors(
    log_frameprob: _F,
    offsets: _I,
    log_startprob: _F,
    transmat: _F,
    log_transmat: _F,
    log_endprob: _F,
    out_posteriors: _F,
    loglik: _F,
    n_threads: int,
) -> None: ...
def split_scratch_bytes(n_frames: int, n_components: int) -> int: ...
def scaled_loglik(
    log_frameprob: _F,
    offsets: _I,
    log_startprob: _F,
    transmat: _F,
    log_endprob: _F,
    out: _F,
    n_threads: int,
    index: _I | None = ...,
    path: str = ...,
    groups: tuple[_I, _I, _I, _I] | None = ...,
) -> None: ...
def scaled_posteriors(
    log_frameprob: _F,
    offsets: _I,
    log_startprob: _F,
    transmat: _F,
    log_endprob: _F,
    out_posteriors: _F,
    out_loglik: _F,
    n_threads: int,
    index: _I | None = ...,
    path: str = ...,
    groups: tuple[_I, _I, _I, _I] | None = ...,
    gemm: bool = ...,
) -> None: ...
def sparse_loglik(
    log_frameprob: _F,
    offsets: _I,
    log_startprob: _F,
    transitions: Any,
    log_endprob: _F,
    out: _F,
    n_threads: int,
) -> None: ...
def sparse_posteriors(
    log_frameprob: _F,
    offsets: _I,
    log_startprob: _F,
    transitions: Any,
    log_endprob: _F,
    out_posteriors: _F,
    loglik: _F,
    n_threads: int,
) -> None: ...
