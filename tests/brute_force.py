"""Brute-force HMM quantities by enumerating every state path (test helper).

Only for tiny problems (N^T paths, e.g. N <= 3 and T <= 7). Everything is
computed in probability space with plain products, then logged (-inf for 0).
"""

import itertools

import numpy as np

MAX_PATHS = 100_000


def _log(x):
    return float(np.log(x)) if x > 0 else -np.inf


def brute_force(startprob, transmat, frameprob, endprob=None):
    """Enumerate all state paths of one sequence.

    Parameters
    ----------
    startprob : array_like of shape (N,)
        Initial-state probabilities.
    transmat : array_like of shape (N, N)
        Transition probabilities.
    frameprob : array_like of shape (T, N)
        Emission likelihood of every frame under every state (probability space).
    endprob : array_like of shape (N,), optional
        End probabilities; None means every state may end (ones).

    Returns
    -------
    result : dict
        ``'loglik'`` float, ``log P(x)``;
        ``'posteriors'`` (T, N), ``P(z_t = i | x)`` (all zero if ``P(x) = 0``);
        ``'viterbi_path'`` (T,) int64, a most probable path, ties broken like the
        Viterbi recursion (lowest last state, then lowest predecessor, going
        backwards); all -1 if ``P(x) = 0``;
        ``'viterbi_logprob'`` float, its log joint probability;
        ``'map_path'`` (T,) int64, ``argmax`` of the posteriors per frame;
        ``'map_logprob'`` float, ``log P(x, map_path)``;
        ``'xi_sum'`` (N, N), ``sum_t P(z_t = i, z_{t+1} = j | x)`` (zero if
        ``P(x) = 0``);
        ``'path_logprobs'`` dict mapping every path (tuple of ints) to
        ``log P(x, path)``.
    """
    startprob = np.asarray(startprob, dtype=np.float64)
    transmat = np.asarray(transmat, dtype=np.float64)
    frameprob = np.asarray(frameprob, dtype=np.float64)
    n_frames, n = frameprob.shape
    endprob = np.ones(n) if endprob is None else np.asarray(endprob, dtype=np.float64)
    if startprob.shape != (n,) or transmat.shape != (n, n) or endprob.shape != (n,):
        raise ValueError("inconsistent shapes")
    if n**n_frames > MAX_PATHS:
        raise ValueError(f"{n}^{n_frames} paths is too many to enumerate")

    probs = {}
    for path in itertools.product(range(n), repeat=n_frames):
        p = startprob[path[0]] * frameprob[0, path[0]]
        for t in range(1, n_frames):
            p *= transmat[path[t - 1], path[t]] * frameprob[t, path[t]]
        probs[path] = p * endprob[path[-1]]

    total = sum(probs.values())
    posteriors = np.zeros((n_frames, n))
    xi_sum = np.zeros((n, n))
    if total > 0:
        for path, p in probs.items():
            w = p / total
            posteriors[np.arange(n_frames), path] += w
            for t in range(n_frames - 1):
                xi_sum[path[t], path[t + 1]] += w

    # Viterbi ties: the recursion picks the lowest last state, then the lowest
    # predecessor, and so on, i.e. the smallest path read backwards.
    best = max(probs.values())
    if best > 0:
        viterbi_path = min((path for path, p in probs.items() if p == best),
                           key=lambda path: path[::-1])
        viterbi_path = np.array(viterbi_path, dtype=np.int64)
    else:
        viterbi_path = np.full(n_frames, -1, dtype=np.int64)

    map_path = posteriors.argmax(axis=1).astype(np.int64)
    return {
        "loglik": _log(total),
        "posteriors": posteriors,
        "viterbi_path": viterbi_path,
        "viterbi_logprob": _log(best),
        "map_path": map_path,
        "map_logprob": _log(probs[tuple(map_path.tolist())]),
        "xi_sum": xi_sum,
        "path_logprobs": {path: _log(p) for path, p in probs.items()},
    }
