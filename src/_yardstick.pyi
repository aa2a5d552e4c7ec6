import numpy as np
from numpy.typing import NDArray

def dgemv_loop(a: NDArray[np.float64], x: NDArray[np.float64], n_steps: int) -> None: ...
