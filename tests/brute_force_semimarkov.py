"""Brute-force enumeration of every segmentation of a short sequence (T <= 8)."""

import itertools

import numpy as np
from scipy.special import logsumexp


def compositions(n_frames):
    """Every way to cut n_frames into ordered positive durations."""
    for cuts in itertools.product([False, True], repeat=n_frames - 1):
        durations, run = [], 1
        for cut in cuts:
            if cut:
                durations.append(run)
                run = 1
            else:
                run += 1
        durations.append(run)
        yield durations


def segmentations(log_frameprob, log_startprob, log_transmat, log_duration, log_last):
    """Yield (log joint probability, states, durations) of every segmentation."""
    n_frames, n = log_frameprob.shape
    max_d = log_duration.shape[1]
    for durations in compositions(n_frames):
        if max(durations) > max_d:
            continue
        for states in itertools.product(range(n), repeat=len(durations)):
            if any(a == b for a, b in zip(states[:-1], states[1:], strict=True)):
                continue
            logp, t = log_startprob[states[0]], 0
            for k, (j, d) in enumerate(zip(states, durations, strict=True)):
                if k:
                    logp += log_transmat[states[k - 1], j]
                table = log_last if k == len(durations) - 1 else log_duration
                logp += table[j, d - 1] + log_frameprob[t:t + d, j].sum()
                t += d
            yield logp, states, durations


def enumerate_all(log_frameprob, log_startprob, log_transmat, log_duration, log_last):
    """Log-likelihood, posteriors, expected counts and the best segmentation."""
    n_frames, n = log_frameprob.shape
    max_d = log_duration.shape[1]
    items = list(segmentations(log_frameprob, log_startprob, log_transmat, log_duration,
                               log_last))
    logps = np.array([it[0] for it in items])
    ll = logsumexp(logps) if len(items) else -np.inf
    out = {"loglik": ll, "posteriors": np.zeros((n_frames, n)), "start": np.zeros(n),
           "trans": np.zeros((n, n)), "durations": np.zeros((n, max_d)),
           "last": np.zeros((n, max_d)), "viterbi": (-np.inf, None)}
    if ll == -np.inf:
        return out
    best = int(np.argmax(logps))
    states, durations = items[best][1], items[best][2]
    out["viterbi"] = (logps[best], np.repeat(states, durations))
    for logp, states, durations in items:
        w = np.exp(logp - ll)
        out["start"][states[0]] += w
        t = 0
        for k, (j, d) in enumerate(zip(states, durations, strict=True)):
            if k:
                out["trans"][states[k - 1], j] += w
            key = "last" if k == len(durations) - 1 else "durations"
            out[key][j, d - 1] += w
            out["posteriors"][t:t + d, j] += w
            t += d
    return out
