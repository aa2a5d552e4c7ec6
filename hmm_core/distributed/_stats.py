"""Additive E-step statistics of a partition, and the M-step from their sum.

The distributed fit needs two things of a model: the E-step statistics of
one chunk of data, which add across chunks, and one M-step from their sum.
A model that offers them (``model.accumulate(X, lengths)`` returning
statistics that support ``+``, and ``model.m_step(stats)``) is used as is.
For models without them, :class:`PartitionStats` computes the same
quantities from the model's own E-step (:meth:`_estep`) and emission
statistics, and :func:`m_step` applies the model's own M-step rules, so a
distributed fit performs exactly the arithmetic of a local ``fit``, up to
the order in which partitions are summed.
"""

from __future__ import annotations

import numpy as np

from hmm_core.emissions._covariance import merge_moments
from hmm_core.emissions.base import dirichlet_map_rows
from hmm_core.structure import topology as _topology

__all__: list[str] = []


def _add(a, b, key=None):
    """Sum two statistics trees (dicts, lists, arrays; ``None`` is zero)."""
    if a is None:
        return b
    if b is None:
        return a
    if key == "moments":  # weighted means and scatters merge, they do not add
        return merge_moments(a, b)
    if isinstance(a, dict):
        return {k: _add(a[k], b[k], k) for k in a}
    if isinstance(a, list):
        return [_add(x, y) for x, y in zip(a, b, strict=True)]
    return a + b


class PartitionStats:
    """E-step statistics of some sequences: counts, emission statistics, log-likelihood.

    Instances add (``s1 + s2``, ``sum([...])``) and pickle small: nothing
    here has one entry per frame.
    """

    def __init__(self, loglik, n_sequences, n_frames, start_counts, trans_counts,
                 end_counts, emission, occupancy, impossible=None):
        self.loglik = float(loglik)
        self.n_sequences, self.n_frames = int(n_sequences), int(n_frames)
        self.start_counts, self.trans_counts = start_counts, trans_counts
        self.end_counts, self.emission, self.occupancy = end_counts, emission, occupancy
        # (partition name, index of its first impossible sequence), or None
        self.impossible = impossible

    def __add__(self, other):
        if isinstance(other, (int, float)) and other == 0:
            return self
        return PartitionStats(
            self.loglik + other.loglik, self.n_sequences + other.n_sequences,
            self.n_frames + other.n_frames, self.start_counts + other.start_counts,
            self.trans_counts + other.trans_counts, _add(self.end_counts, other.end_counts),
            _add(self.emission, other.emission), self.occupancy + other.occupancy,
            self.impossible or other.impossible)

    __radd__ = __add__


def accumulate(model, X, lengths, name=None):
    """E-step statistics of ``(X, lengths)`` under the model's current parameters.

    Parameters
    ----------
    model : BaseHMM
    X : array-like
    lengths : array-like of int
    name : str, optional
        The partition's name, recorded with an impossible sequence.

    Returns
    -------
    object
        Statistics that add: the model's own (``model.accumulate``) when it
        has them, else a :class:`PartitionStats`.
    """
    if hasattr(model, "accumulate") and hasattr(model, "m_step"):
        return model.accumulate(X, lengths)
    chain = model._check()
    X, offsets = model._validate(X, lengths)
    X = model._get_emission().recheck_X(X)
    stats = model._estep(chain, model._frames(X, None), offsets)
    loglik = np.asarray(stats["loglik"])
    bad = np.flatnonzero(~np.isfinite(loglik))
    n = model.n_components
    if bad.size:  # nothing else is meaningful; the client raises
        return PartitionStats(-np.inf, loglik.size, X.shape[0], np.zeros(n), np.zeros((n, n)),
                              None, None, np.zeros(n), (name, int(bad[0])))
    occupancy = stats.get("occupancy")
    if occupancy is None:
        occupancy = np.ones(len(stats["posteriors"])) @ stats["posteriors"]
    emission_stats = None
    if set(model.params) & set(model._emission_letters):
        emission = model._get_emission()
        posteriors = stats["posteriors"]
        ties = model._emission_map()
        n_classes = model._n_emission_components()
        if ties is not None:
            posteriors = _topology.pool_columns(posteriors, ties, n_classes)
        emission_stats = emission.empty_stats(n_classes)
        emission.accumulate(emission_stats, X, posteriors)
    end = stats.get("end_counts")
    return PartitionStats(loglik.sum(), loglik.size, X.shape[0], stats["start_counts"],
                          stats["trans_counts"], end, emission_stats, occupancy)


def check_possible(model, stats):
    """Raise the local fit's error when some sequence has zero probability."""
    impossible = getattr(stats, "impossible", None)
    if impossible is None and np.isfinite(stats.loglik):
        return
    where = "" if impossible is None else f" (partition {impossible[0]}, its sequence " \
                                           f"{impossible[1]})"
    raise ValueError(f"a sequence{where} has zero probability under the current parameters "
                     "(check structural zeros and n_features); EM cannot proceed")


def occupancy_of(stats):
    """Expected visits of each state: the start counts plus the transitions into it."""
    occupancy = getattr(stats, "occupancy", None)
    if occupancy is None:
        occupancy = stats.start_counts + stats.trans_counts.sum(axis=0)
    return occupancy


def m_step(model, stats):
    """One M-step from summed statistics, as one local ``fit`` iteration does.

    Parameters
    ----------
    model : BaseHMM
    stats : object
        The sum of :func:`accumulate`'s results over all partitions.
    """
    if not isinstance(stats, PartitionStats):
        model.m_step(stats)
        return
    params = model.params
    if "s" in params:
        model.startprob_ = dirichlet_map_rows(stats.start_counts, model.startprob_prior,
                                              model.startprob_)
    if "t" in params:
        model._m_step_transitions({"trans_counts": stats.trans_counts,
                                   "end_counts": stats.end_counts})
    if stats.emission is not None:
        model._get_emission().m_step(stats.emission, params)
