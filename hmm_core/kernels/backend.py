"""Which kernel runs a call, and on how many threads.

Every threshold that picks a kernel, a path through it or a thread count
lives here. The compiled kernels make no such choice themselves: the caller
(:mod:`~hmm_core.kernels.chain`) asks this module and passes the answer on
as arguments (the domain by the function it calls; the path, the lockstep
groups, the use of BLAS and the thread count as parameters).

The thresholds were measured on this project's benchmark machine; tests
change them (``monkeypatch.setattr(backend, "LOCKSTEP_MIN_STATES", 1)``) to
force a path on small problems. None of them changes a result beyond
rounding: every path computes the same quantities exactly.
"""

from __future__ import annotations

import contextlib
import functools
from typing import NamedTuple

import numpy as np

from hmm_core.kernels import _forward
from hmm_core.kernels.config import effective_n_threads

__all__ = [
    "ScaledPlan",
    "blas_limit",
    "chain_domain",
    "checkpoint_block",
    "lockstep_groups",
    "make_chunks",
    "scaled_plan",
    "threads",
    "uses_checkpoints",
    "uses_lockstep",
    "uses_split",
]

# ---- domain of a chain

# The sparse kernels pay an indirect load per transition; below this share of
# allowed transitions (and from this many states) they beat the dense ones.
SPARSE_MAX_DENSITY = 0.2
SPARSE_MIN_STATES = 32

# The scaled linear-domain kernels equal exact log-space arithmetic only when
# every transition is at least this (the bound in src/_scaled.h; the kernels
# refuse other matrices).
SCALED_MIN_TRANSITION = _forward.SCALED_MIN_TRANSITION

# ---- threads

# Below this many multiply-adds (frames x N^2) a call runs on one thread:
# waking a second thread costs more than it saves.
PARALLEL_MIN_WORK = 200_000

# ---- paths of the scaled kernels

# With two threads or more, a lone sequence of at least SPLIT_MIN_FRAMES
# frames gets its forward and backward passes on SPLIT_THREADS threads at once
# (src/_split.h): for the likelihood each covers half of the frames, for the
# posteriors all of them; unless the backward rows would take more than
# SPLIT_MAX_BYTES. (On one thread the one-pass kernel is faster; the two agree
# to rounding, and the posteriors of up to 16 states bit for bit.)
SPLIT_MIN_FRAMES = 2048
SPLIT_MAX_BYTES = 1 << 28
SPLIT_THREADS = 2

# Batches of at least LOCKSTEP_MIN_SEQUENCES sequences of at least
# LOCKSTEP_MIN_STATES states advance in groups, one dgemm per step
# (src/_lockstep.h). Groups hold about N sequences (between 32 and 128: larger
# products run faster, measured here, up to where two threads lose their
# share), and there are at least two when the batch has 64 sequences or more.
# The groups depend only on the lengths and N, never on the thread count.
LOCKSTEP_MIN_STATES = 24
LOCKSTEP_MIN_SEQUENCES = 8
LOCKSTEP_GROUP = None   # rows per group; None: as above

# From this many states the E-step sums its expected transitions (and the
# two-thread path recomputes beta) with BLAS dgemm, a block of frames at a
# time; below, plain loops are faster.
GEMM_MIN_STATES = 24

# ---- E-step chunks

# Memory allowed for per-chunk E-step accumulators (bytes).
CHUNK_BUDGET = 64 * 2**20
MAX_CHUNKS = 64


def chain_domain(transmat: np.ndarray, sparse: bool | None = None) -> tuple[bool, bool]:
    """Which kernels suit a transition matrix.

    Parameters
    ----------
    transmat : ndarray of shape (N, N)
        Validated transition probabilities.
    sparse : bool or None
        True or False forces the sparse kernels on or off; None chooses them
        when at least ``SPARSE_MIN_STATES`` states allow at most
        ``SPARSE_MAX_DENSITY`` of all transitions.

    Returns
    -------
    sparse : bool
        Run the kernels that visit only allowed transitions.
    scaled : bool
        Run the dense kernels in the scaled linear domain (every transition
        at least ``SCALED_MIN_TRANSITION``); otherwise in log space.
    """
    if sparse is not None and not isinstance(sparse, (bool, np.bool_)):
        raise ValueError(f"sparse must be True, False or None, got {sparse!r}")
    n = transmat.shape[0]
    if sparse is None:
        density = np.count_nonzero(transmat) / (n * n)
        sparse = n >= SPARSE_MIN_STATES and density <= SPARSE_MAX_DENSITY
    elif sparse and not np.any(transmat):
        # No allowed transition (every state ends after one frame): nothing for
        # the sparse layout to hold; the dense kernels give the same answer.
        sparse = False
    scaled = not sparse and bool(np.all(transmat >= SCALED_MIN_TRANSITION))
    return bool(sparse), scaled


def threads(n_threads: int | None, bounds: np.ndarray, n_components: int,
            n_frames: int | None = None) -> int:
    """Threads worth using for ``len(bounds) - 1`` independent units of work.

    Parameters
    ----------
    n_threads : int or None
        What the caller asked for (see :func:`~hmm_core.effective_n_threads`).
    bounds : ndarray of int64
        Bounds of the units (sequence offsets, or chunk bounds).
    n_components : int
        Number of states.
    n_frames : int, optional
        Frames in all units; ``bounds[-1]`` when omitted.

    Returns
    -------
    int
        1 for a single unit or less than ``PARALLEL_MIN_WORK`` of work, else
        the threads asked for, at most one per unit.
    """
    wanted = effective_n_threads(n_threads)
    n_units = bounds.shape[0] - 1
    n_frames = bounds[-1] if n_frames is None else n_frames
    if n_units < 2 or n_frames * n_components * n_components < PARALLEL_MIN_WORK:
        return 1
    return max(1, min(wanted, n_units))


def uses_split(offsets: np.ndarray, n_components: int, n_threads: int = 2) -> bool:
    """Whether a scaled call on this batch takes the two-thread path (one long sequence).

    Parameters
    ----------
    offsets : ndarray of int64
        Sequence bounds.
    n_components : int
        Number of states.
    n_threads : int, default=2
        Threads available.

    Returns
    -------
    bool
    """
    if offsets.shape[0] != 2 or n_threads < 2:
        return False
    n_frames = int(offsets[1] - offsets[0])
    return (SPLIT_MIN_FRAMES <= n_frames
            and _forward.split_scratch_bytes(n_frames, n_components) <= SPLIT_MAX_BYTES)


def uses_lockstep(offsets: np.ndarray, n_components: int) -> bool:
    """Whether a scaled call on this batch advances groups of sequences in lockstep.

    Parameters
    ----------
    offsets : ndarray of int64
        Sequence bounds.
    n_components : int
        Number of states.

    Returns
    -------
    bool
    """
    return (n_components >= LOCKSTEP_MIN_STATES
            and offsets.shape[0] - 1 >= LOCKSTEP_MIN_SEQUENCES)


def lockstep_groups(offsets: np.ndarray, n_components: int):
    """The lockstep path's groups: sequences by decreasing length, cut in groups.

    Parameters
    ----------
    offsets : ndarray of int64
        Sequence bounds.
    n_components : int
        Number of states.

    Returns
    -------
    order : ndarray of int64
        Sequences sorted by decreasing length (stable).
    starts, lengths : ndarray of int64
        First frame and length of each sequence, in that order.
    bounds : ndarray of int64
        Group ``g`` holds positions ``bounds[g]:bounds[g + 1]`` of ``order``.
    """
    offsets = np.asarray(offsets)
    lengths = np.diff(offsets)
    order = np.argsort(-lengths, kind="stable")
    n_seq = order.shape[0]
    size = LOCKSTEP_GROUP or min(max(n_components, 32), 128)
    n_groups = max(-(-n_seq // size), min(2, n_seq // 32))
    bounds = np.arange(n_groups + 1, dtype=np.int64) * n_seq // n_groups
    return (order, np.ascontiguousarray(offsets[:-1][order]),
            np.ascontiguousarray(lengths[order]), bounds)


class ScaledPlan(NamedTuple):
    """How a scaled kernel call runs.

    Attributes
    ----------
    path : {"sequences", "split", "lockstep"}
        One sequence per thread at a time; one long sequence on two threads;
        or groups of sequences advanced in lockstep.
    n_threads : int
        Threads for the call.
    groups : tuple or None
        :func:`lockstep_groups` for the lockstep path.
    gemm : bool
        Sum expected transitions (and recompute beta on the two-thread path)
        with BLAS dgemm.
    """

    path: str
    n_threads: int
    groups: tuple | None
    gemm: bool


def scaled_plan(offsets: np.ndarray, n_components: int, n_threads: int | None = None,
                chunks: np.ndarray | None = None) -> ScaledPlan:
    """Choose the path and thread count of a scaled kernel call.

    Parameters
    ----------
    offsets : ndarray of int64
        Sequence bounds.
    n_components : int
        Number of states.
    n_threads : int or None
        What the caller asked for.
    chunks : ndarray of int64, optional
        E-step chunk bounds (:func:`make_chunks`): the E-step may use a thread
        per chunk.

    Returns
    -------
    ScaledPlan
    """
    wanted = effective_n_threads(n_threads)
    gemm = n_components >= GEMM_MIN_STATES
    if uses_split(offsets, n_components, wanted):
        return ScaledPlan("split", min(SPLIT_THREADS, wanted), None, gemm)
    n_work = threads(n_threads, offsets, n_components)
    if chunks is not None:
        n_work = max(threads(n_threads, chunks, n_components, offsets[-1]), n_work)
    if uses_lockstep(offsets, n_components):
        return ScaledPlan("lockstep", n_work, lockstep_groups(offsets, n_components), gemm)
    return ScaledPlan("sequences", n_work, None, gemm)


def make_chunks(offsets: np.ndarray, n_components: int) -> np.ndarray:
    """Split sequences into E-step chunks of roughly equal frame counts.

    The split depends only on the lengths and the number of states, never on
    the thread count, so the summed statistics are the same for any thread count.

    Parameters
    ----------
    offsets : ndarray of int64
        Sequence bounds.
    n_components : int
        Number of states.

    Returns
    -------
    ndarray of int64
        Chunk ``c`` holds sequences ``chunks[c]:chunks[c + 1]``.
    """
    n_seq = offsets.shape[0] - 1
    per_chunk_bytes = 8 * n_components * (n_components + 2)
    n_chunks = int(min(n_seq, MAX_CHUNKS, max(1, CHUNK_BUDGET // per_chunk_bytes)))
    targets = np.linspace(0, offsets[-1], n_chunks + 1)[1:-1]
    bounds = np.searchsorted(offsets, targets, side="left")
    bounds = np.unique(np.concatenate(([0], bounds, [n_seq])).astype(np.int64))
    return np.ascontiguousarray(bounds[(bounds >= 0) & (bounds <= n_seq)])


def blas_limit(n_components: int, calls_gemm: bool = True):
    """One BLAS thread while the kernels call ``dgemm`` from their own loop
    (the E-step's transition sums, and every step of the lockstep path).

    The products are small (N x N x 64): a threaded BLAS spends more on waking
    its threads than it saves (4.5 s against 1.2 s for a 20,000-step E-step at
    N = 256 here), and inside our parallel loop it would oversubscribe.

    Parameters
    ----------
    n_components : int
        Number of states.
    calls_gemm : bool, default=True
        Whether the call may use dgemm at all.

    Returns
    -------
    context manager
    """
    if (not calls_gemm or n_components < GEMM_MIN_STATES
            or _blas_controller() is None):
        return contextlib.nullcontext()
    return _blas_controller().limit(limits=1, user_api="blas")


@functools.cache
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return None
    return ThreadpoolController()


# ---- long sequences run block by block (hmm_core.functional.checkpointed)

# A request whose (T, N) frame scores would take more than this many bytes
# runs its long sequences block by block (forward vectors checkpointed at
# block starts, each block recomputed) instead of holding whole lattices.
CHECKPOINT_MIN_BYTES = 1 << 30
# Blocks hold at least this many frames (fewer calls) and their (B, N)
# arrays at most BLOCK_BUDGET bytes together.
BLOCK_MIN_FRAMES = 1 << 14
BLOCK_BUDGET = 32 * 2**20


def checkpoint_block(n_frames: int, n_components: int) -> int:
    """Frames per block of a sequence run block by block.

    About ``sqrt(n_frames)`` (so checkpoints and a block take about the same
    memory), at least ``BLOCK_MIN_FRAMES`` and within ``BLOCK_BUDGET`` for
    the block's five (B, N) float arrays.

    Parameters
    ----------
    n_frames : int
        Length of the sequence.
    n_components : int
        Number of states.

    Returns
    -------
    int
    """
    cap = max(1, BLOCK_BUDGET // (5 * 8 * max(1, n_components)))
    size = max(int(np.ceil(np.sqrt(max(1, n_frames)))), BLOCK_MIN_FRAMES)
    return int(max(1, min(size, cap, max(1, n_frames))))


def uses_checkpoints(n_frames: int, n_components: int) -> bool:
    """Whether a request over ``n_frames`` frames runs block by block.

    Parameters
    ----------
    n_frames : int
        Frames in the request.
    n_components : int
        Number of states.

    Returns
    -------
    bool
        True when its (T, N) float64 frame scores alone would exceed
        ``CHECKPOINT_MIN_BYTES``.
    """
    return 8 * int(n_frames) * int(n_components) > CHECKPOINT_MIN_BYTES
