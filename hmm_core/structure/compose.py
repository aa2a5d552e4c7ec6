"""Composition of models: concatenation (word models into a sentence) and union.

The result is an ordinary model over the disjoint union of the parts'
states, with ``init_params=""`` so that fitting it (embedded training)
starts from the composed parameters. The parts' topologies are kept as the
result's topology, so a random re-initialisation respects them. Parts are
copied: a model used twice gives two independent copies.

Only categorical parts (``CategoricalHMM`` with a common ``n_features``) are
supported: other emission families need a way to stack emission parameters.
"""

from __future__ import annotations

import numpy as np

from hmm_core.models.categorical import CategoricalHMM
from hmm_core.structure.topology import Topology

__all__ = ["concatenate", "union"]

_PRIORS = ("startprob_prior", "transmat_prior", "endprob_prior", "emissionprob_prior")


def _parts(models):
    models = list(models) if not isinstance(models, CategoricalHMM) else [models]
    if not models:
        raise ValueError("models must hold at least one model")
    for i, model in enumerate(models):
        if not isinstance(model, CategoricalHMM):
            raise TypeError(f"models[{i}] is a {type(model).__name__}; only CategoricalHMM "
                            "parts can be composed")
        model._check()
    n_features = {m.emissionprob_.shape[1] for m in models}
    if len(n_features) > 1:
        raise ValueError(f"models must share n_features, got {sorted(n_features)}")
    return models


def _block_offsets(sizes):
    return np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)


def _assemble(models, startprob, transmat, endprob):
    """A CategoricalHMM holding the composed chain and the stacked emissions."""
    # Emission classes: each part's classes (its states, or its emission ties).
    classes, rows, n_classes = [], [], 0
    for m in models:
        ties = m._emission_map()
        own = np.arange(m.n_components) if ties is None else ties
        classes.append(own + n_classes)
        rows.append(m.emissionprob_)
        n_classes += int(own.max()) + 1
    emission_ties = np.concatenate(classes)
    tied = any(m.emission_ties is not None for m in models)
    # Transition ties: each part's groups, renumbered; exits between parts untied.
    transmat_ties = None
    if any(m.transmat_ties is not None for m in models):
        n = transmat.shape[0]
        transmat_ties = np.full((n, n), -1, dtype=np.int64)
        offsets = _block_offsets([m.n_components for m in models])
        next_id = 0
        for m, a, b in zip(models, offsets[:-1], offsets[1:], strict=True):
            ties = m._transmat_ties()
            if ties is not None and (ties >= 0).any():
                transmat_ties[a:b, a:b] = np.where(ties >= 0, ties + next_id, -1)
                next_id += int(ties.max()) + 1
    params = models[0].get_params()
    for name in _PRIORS:  # per-state priors do not fit the composed shape
        if np.ndim(params[name]) > 0:
            params[name] = 1.0
    params.update(n_components=transmat.shape[0], init_params="", end_state=endprob is not None,
                  n_features=rows[0].shape[1], emission_ties=emission_ties if tied else None,
                  transmat_ties=transmat_ties)
    result = CategoricalHMM(**params)
    result.startprob_, result.transmat_, result.endprob_ = startprob, transmat, endprob
    result.emissionprob_ = np.vstack(rows)
    result._topology = Topology(startprob > 0, transmat > 0,
                                np.zeros(len(startprob), bool) if endprob is None
                                else endprob > 0)
    result._check()
    return result


def concatenate(models):
    """Chain models one after another (e.g. word models into a sentence model).

    Leaving part ``i`` through its end probability enters part ``i + 1``
    through that part's start distribution: ``transmat[s, s'] =
    endprob_i[s] * startprob_{i+1}[s']``. The result starts like the first
    part and, if the last part has ``endprob_``, ends like it; without it the
    result has no end state (a sequence may then stop in any state, as for
    any model without one).

    Parameters
    ----------
    models : sequence of CategoricalHMM
        Fitted (or fully assigned) parts; every part but the last needs
        ``endprob_``.

    Returns
    -------
    CategoricalHMM
        With ``sum(n_components)`` states, part ``i`` occupying a contiguous
        block in order, and ``init_params=""``.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core import CategoricalHMM
    >>> from hmm_core.compose import concatenate
    >>> word = CategoricalHMM(1, end_state=True)
    >>> word.startprob_, word.transmat_, word.endprob_ = [1.0], [[0.5]], [0.5]
    >>> word.emissionprob_ = [[0.2, 0.8]]
    >>> concatenate([word, word]).transmat_
    array([[0.5, 0.5],
           [0. , 0.5]])
    """
    models = _parts(models)
    for i, m in enumerate(models[:-1]):
        if m.endprob_ is None:
            raise ValueError(f"models[{i}] has no endprob_, so it cannot lead into the next "
                             "model (use end_state=True for every part but the last)")
    sizes = [m.n_components for m in models]
    offsets = _block_offsets(sizes)
    n = int(offsets[-1])
    startprob = np.zeros(n)
    startprob[: sizes[0]] = models[0].startprob_
    transmat = np.zeros((n, n))
    for i, m in enumerate(models):
        a, b = offsets[i], offsets[i + 1]
        transmat[a:b, a:b] = m.transmat_
        if i + 1 < len(models):
            c = offsets[i + 2]
            transmat[a:b, b:c] = np.outer(m.endprob_, models[i + 1].startprob_)
    endprob = None
    if models[-1].endprob_ is not None:
        endprob = np.zeros(n)
        endprob[offsets[-2]:] = models[-1].endprob_
    return _assemble(models, startprob, transmat, endprob)


def union(models, weights=None):
    """Mixture of models: pick part ``i`` with probability ``weights[i]``, then run it.

    ``P(x) = sum_i weights[i] P_i(x)``.

    Parameters
    ----------
    models : sequence of CategoricalHMM
        Either all have ``endprob_`` or none has.
    weights : array-like of shape (n_models,), optional
        Non-negative, summing to one; default uniform.

    Returns
    -------
    CategoricalHMM
        Block-diagonal transitions, ``startprob_`` the weighted
        concatenation of the parts' start distributions, ``init_params=""``.
    """
    models = _parts(models)
    if weights is None:
        weights = np.full(len(models), 1.0 / len(models))
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (len(models),):
        raise ValueError(f"weights must have one entry per model ({len(models)}), got shape "
                         f"{weights.shape}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("weights must be finite and non-negative")
    if abs(weights.sum() - 1.0) > 1e-6:
        raise ValueError(f"weights must sum to 1, got {weights.sum():.10g}")
    with_end = [m.endprob_ is not None for m in models]
    if any(with_end) and not all(with_end):
        raise ValueError("models must either all have endprob_ or none: a union cannot mix "
                         "models with and without an end state")
    offsets = _block_offsets([m.n_components for m in models])
    n = int(offsets[-1])
    startprob = np.concatenate([w * m.startprob_ for w, m in zip(weights, models, strict=True)])
    transmat = np.zeros((n, n))
    for m, a, b in zip(models, offsets[:-1], offsets[1:], strict=True):
        transmat[a:b, a:b] = m.transmat_
    endprob = np.concatenate([m.endprob_ for m in models]) if all(with_end) else None
    return _assemble(models, startprob, transmat, endprob)
