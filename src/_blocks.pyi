import numpy as np
from numpy.typing import NDArray
from typing_extensions import disjoint_base

_F = NDArray[np.float64]
_I = NDArray[np.int64]
_U8 = NDArray[np.uint8]

def forward_block(
    emit: _F,
    shift: _F,
    index: _I,
    transmat: _F,
    alpha: _F,
    first: bool,
    startprob: _F,
    out: _F,
) -> float: ...
def backward_block(
    emit: _F,
    index: _I,
    transmat: _F,
    transmat_t: _F,
    alphas: _F,
    alpha_before: _F,
    first: bool,
    beta: _F,
    post: _F,
    trans_counts: _F,
) -> None: ...
def viterbi_pack(log_transmat: _F) -> _F: ...
def viterbi_block(
    log_frameprob: _F,
    log_a_packed: _F,
    delta: _F,
    backpointers: _U8,
    simd: bool = ...,
) -> None: ...
def viterbi_trace(backpointers: _U8, last: int, path: _I) -> int: ...

@disjoint_base
class FilterStep:
    def __init__(
        self, emit: _F, shift: _F, transmat: _F, startprob: _F, alpha: _F
    ) -> None: ...
    def step(self, row: int, first: bool) -> tuple[_F, float]: ...
