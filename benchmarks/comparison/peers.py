"""Each operation as run by hmm_core, the NumPy reference and hmmlearn 0.3.3."""

from __future__ import annotations

from functools import partial

import numpy as np

import hmm_core
from hmm_core.testing import reference

from .workloads import N_SYMBOLS, sibling

LIBS = ("hmm_core", "hc_1t", "reference", "hl_log", "hl_scaling")


def _hc_model(params, n_threads=None):
    startprob, transmat, emissionprob = params
    model = hmm_core.CategoricalHMM(
        n_components=startprob.shape[0], n_features=N_SYMBOLS, init_params="",
        params="ste", n_iter=1, tol=-np.inf, n_threads=n_threads)
    model.startprob_ = startprob.copy()
    model.transmat_ = transmat.copy()
    model.emissionprob_ = emissionprob.copy()
    return model


def run_hmm_core(op, params, X, lengths, n_threads=None):
    """Run one operation with the hmm_core estimator; return (score, extra)."""
    model = _hc_model(params, n_threads)
    if op == "score":
        return model.score(X, lengths), None
    if op == "viterbi":
        logprob, path = model.decode(X, lengths, algorithm="viterbi")
        return logprob, path
    if op == "posteriors":
        loglik, post = model.score_samples(X, lengths)
        return loglik, post
    if op == "em":
        model.fit(X, lengths)
        return model.monitor_.history[0], model.transmat_
    raise ValueError(op)


def run_reference(op, params, X, lengths):
    """Run one operation with :mod:`hmm_core.reference`; return (score, extra)."""
    startprob, transmat, emissionprob = params
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    if op == "em":
        res = reference.baum_welch_categorical(
            X, offsets, startprob, transmat, emissionprob, n_iter=1)
        return res["loglik_history"][0], res["transmat"]
    log_start = np.log(startprob)
    frames = reference.categorical_log_frameprob(X, emissionprob)
    if op == "score":
        return float(reference.forward_loglik(log_start, transmat, frames, offsets).sum()), None
    if op == "viterbi":
        logprob, path = reference.viterbi(log_start, transmat, frames, offsets)
        return float(logprob.sum()), path
    if op == "posteriors":
        loglik, post = reference.posteriors(log_start, transmat, frames, offsets)
        return float(loglik.sum()), post
    raise ValueError(op)


def run_hmmlearn(op, params, X, lengths, implementation):
    """Run one operation with hmmlearn's CategoricalHMM; return (score, extra)."""
    from hmmlearn import hmm

    startprob, transmat, emissionprob = params
    model = hmm.CategoricalHMM(
        n_components=startprob.shape[0], n_features=N_SYMBOLS, implementation=implementation,
        init_params="", params="ste", n_iter=1, tol=-np.inf)
    model.startprob_ = startprob.copy()
    model.transmat_ = transmat.copy()
    model.emissionprob_ = emissionprob.copy()
    if op == "score":
        return model.score(X, lengths), None
    if op == "viterbi":
        return model.decode(X, lengths, algorithm="viterbi")
    if op == "posteriors":
        loglik, post = model.score_samples(X, lengths)
        return loglik, post
    if op == "em":
        model.fit(X, lengths)
        return float(model.monitor_.history[-1]), model.transmat_
    raise ValueError(op)


RUNNERS = {  # categorical emissions
    "hmm_core": run_hmm_core,
    "hc_1t": partial(run_hmm_core, n_threads=1),
    "reference": run_reference,
    "hl_log": partial(run_hmmlearn, implementation="log"),
    "hl_scaling": partial(run_hmmlearn, implementation="scaling"),
}


def runners(emissions: str):
    """{library: run(op, params, X, lengths)} for ``categorical`` or ``gaussian`` (diag)."""
    if emissions == "categorical":
        return RUNNERS
    if emissions != "gaussian":
        raise ValueError(emissions)
    ce = sibling("compare_emissions")
    return {
        "hmm_core": ce.run_hmm_core,
        "hc_1t": partial(ce.run_hmm_core, n_threads=1),
        "reference": ce.run_reference,
        "hl_log": partial(ce.run_hmmlearn, implementation="log"),
        "hl_scaling": partial(ce.run_hmmlearn, implementation="scaling"),
    }
