"""airspeed velocity (asv) suite: peak memory of out-of-core EM against corpus size.

``fit`` on a callable source of ``(X, lengths)`` chunks (``CategoricalHMM``,
N = 16, 32 symbols, chunks of 10^5 frames, 2 iterations; see
``outofcore_memory.py``, which prints the same figures as a table). The
figure is the growth of the peak RSS over the fit, in a fresh subprocess: it
should not grow with the corpus. With ``HMM_CORE_BENCH_SMALL=1`` the corpora
shrink to 10^4 and 10^5 frames.
"""

import os

from .outofcore_memory import run_case

SMALL = os.environ.get("HMM_CORE_BENCH_SMALL") == "1"
CHUNK = 10_000 if SMALL else 100_000


class OutOfCoreFitMemory:
    """Peak RSS growth (bytes) of a streamed ``fit`` for each corpus size (frames)."""

    params = [[10_000, 100_000] if SMALL else [100_000, 1_000_000, 10_000_000]]
    param_names = ["frames"]
    timeout = 1200

    def track_streamed_fit_peak_rss(self, frames):
        return run_case("streamed", frames, CHUNK)["peak_bytes"]

    track_streamed_fit_peak_rss.unit = "bytes"
