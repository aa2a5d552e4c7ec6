"""Training with the NumPy reference: categorical emission log-likelihoods and
Baum-Welch for a categorical HMM with Dirichlet priors.

See :mod:`hmm_core.testing.reference` for the conventions.
"""

import numpy as np

from hmm_core.testing._recursions import estep


def categorical_log_frameprob(X, emissionprob):
    """Log emission likelihoods of categorical symbols.

    Parameters
    ----------
    X : ndarray of int of shape (T,) or (T, 1)
        Symbols in ``[0, K)``.
    emissionprob : ndarray of shape (N, K)
        Emission probabilities, one row per state.

    Returns
    -------
    ndarray of shape (T, N)
        ``log(emissionprob[:, X].T)``; -inf where the probability is zero.
    """
    B = np.asarray(emissionprob, dtype=np.float64)
    if B.ndim != 2:
        raise ValueError(f"emissionprob must have shape (N, K), got {B.shape}")
    X = _symbols(X, B.shape[1])
    with np.errstate(divide="ignore"):
        return np.ascontiguousarray(np.log(B.T[X]))


def _symbols(X, n_symbols):
    X = np.asarray(X)
    if X.ndim == 2 and X.shape[1] == 1:
        X = X[:, 0]
    if X.ndim != 1 or not np.issubdtype(X.dtype, np.integer):
        raise ValueError("X must be a 1-D integer array (or of shape (T, 1))")
    if X.size and (X.min() < 0 or X.max() >= n_symbols):
        raise ValueError(f"symbols must lie in [0, {n_symbols})")
    return X.astype(np.intp, copy=False)


def _dirichlet_numer(counts, param, prior):
    """counts + (prior - 1) where the parameter is nonzero, clipped at 0."""
    return np.maximum(counts + (np.asarray(prior, dtype=np.float64) - 1.0) * (param > 0), 0.0)


def baum_welch_categorical(X, offsets, startprob, transmat, emissionprob, endprob=None,
                           n_iter=5, startprob_prior=1.0, transmat_prior=1.0,
                           emissionprob_prior=1.0, endprob_prior=1.0, exact=False):
    """Baum-Welch (EM) for a categorical HMM, with Dirichlet priors.

    Parameters
    ----------
    X : ndarray of int of shape (T_total,) or (T_total, 1)
        Symbols of all sequences, concatenated.
    offsets : ndarray of int of shape (n_seq + 1,)
        Sequence boundaries, as in :func:`forward`.
    startprob : ndarray of shape (N,)
        Initial-state probabilities.
    transmat : ndarray of shape (N, N)
        Transition probabilities; with an end state, each row plus
        ``endprob`` sums to 1.
    emissionprob : ndarray of shape (N, K)
        Emission probabilities.
    endprob : ndarray of shape (N,), optional
        End probabilities; None means no end state.
    n_iter : int, default 5
        Number of EM iterations.
    startprob_prior, transmat_prior, emissionprob_prior, endprob_prior : float or ndarray
        Dirichlet concentration parameters (1 means no prior). Pseudo-counts
        ``prior - 1`` are only added where the current parameter is nonzero,
        so structural zeros stay zero; numerators are clipped at 0.
    exact : bool, default False
        Passed to :func:`estep`.

    Returns
    -------
    dict
        ``'startprob'``, ``'transmat'``, ``'emissionprob'``, ``'endprob'``
        (None without end state): the parameters after ``n_iter`` M-steps;
        ``'loglik_history'``: list of the total log-likelihood computed in
        each E-step, i.e. before the corresponding M-step.

    Raises
    ------
    ValueError
        If a sequence has zero likelihood under the current parameters.
    """
    startprob, transmat, emissionprob = (np.array(a, dtype=np.float64)
                                         for a in (startprob, transmat, emissionprob))
    endprob = None if endprob is None else np.array(endprob, dtype=np.float64)
    n, n_symbols = emissionprob.shape
    for name, arr in (("startprob", startprob), ("transmat", transmat),
                      ("emissionprob", emissionprob), ("endprob", endprob)):
        if arr is not None and not np.all(np.isfinite(arr) & (arr >= 0)):
            raise ValueError(f"{name} must be finite and non-negative")
    X = _symbols(X, n_symbols)
    history = []
    for _ in range(n_iter):
        with np.errstate(divide="ignore"):
            log_start = np.log(startprob)
            log_end = None if endprob is None else np.log(endprob)
        stats = estep(log_start, transmat, categorical_log_frameprob(X, emissionprob),
                      offsets, log_end, exact=exact)
        bad = np.flatnonzero(stats["loglik"] == -np.inf)
        if bad.size:
            raise ValueError(f"sequence {bad[0]} has zero likelihood under the current "
                             f"parameters ({bad.size} impossible sequence(s))")
        history.append(float(stats["loglik"].sum()))
        # M-step. Rows (or the start vector) without any count keep their values.
        numer = _dirichlet_numer(stats["start_counts"], startprob, startprob_prior)
        if numer.sum() > 0:
            startprob = numer / numer.sum()
        numer = _dirichlet_numer(stats["trans_counts"], transmat, transmat_prior)
        total = numer.sum(axis=1)
        if endprob is not None:
            end_numer = _dirichlet_numer(stats["end_counts"], endprob, endprob_prior)
            total = total + end_numer
        rows = total > 0
        transmat[rows] = numer[rows] / total[rows, None]
        if endprob is not None:
            endprob[rows] = end_numer[rows] / total[rows]
        post = stats["posteriors"]
        counts = np.stack([np.bincount(X, weights=post[:, i], minlength=n_symbols)
                           for i in range(n)])
        numer = _dirichlet_numer(counts, emissionprob, emissionprob_prior)
        total = numer.sum(axis=1)
        rows = total > 0
        emissionprob[rows] = numer[rows] / total[rows, None]
    return {"startprob": startprob, "transmat": transmat, "emissionprob": emissionprob,
            "endprob": endprob, "loglik_history": history}
