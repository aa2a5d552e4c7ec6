"""Structure of the hidden chain: topologies and tied parameters.

Topologies
    A topology is a mask of allowed transitions (plus the states allowed to
    start and, with an end state, to end). :func:`left_right`, :func:`ergodic`
    and :func:`from_mask` give a model that structure: its ``startprob_``,
    ``transmat_`` (and ``endprob_``) become uniform over the allowed entries,
    and every later random initialisation (``"s"``/``"t"`` in ``init_params``,
    each ``n_init`` restart) draws only over the allowed entries. EM keeps a
    zero probability at zero, so the structure survives training.

Tying
    ``emission_ties`` maps each state to an emission class: tied states share
    one emission distribution. ``transmat_ties`` gives groups of transitions
    that share one probability (the estimator is described in
    :func:`tied_map_rows`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Topology", "check_emission_ties", "check_mask", "check_transmat_ties",
           "ergodic", "ergodic_mask", "from_mask", "left_right", "left_right_mask",
           "pool_columns", "tied_map_rows"]


class Topology(NamedTuple):
    """Allowed starts, transitions and ends of a chain.

    Parameters
    ----------
    start : ndarray of bool, shape (N,)
        States a sequence may start in.
    transmat : ndarray of bool, shape (N, N)
        Allowed transitions.
    end : ndarray of bool, shape (N,)
        States a sequence may end in (an explicit end state).
    """

    start: np.ndarray
    transmat: np.ndarray
    end: np.ndarray


def _positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def ergodic_mask(n_components):
    """Every transition allowed.

    Parameters
    ----------
    n_components : int

    Returns
    -------
    ndarray of bool, shape (n_components, n_components)
    """
    n = _positive_int(n_components, "n_components")
    return np.ones((n, n), dtype=bool)


def left_right_mask(n_components, n_skips=0):
    """Left-to-right (Bakis) transitions: self-loop, next state, and skips.

    State ``i`` may go to ``i, i + 1, ..., i + 1 + n_skips`` (within range);
    the last state only loops on itself.

    Parameters
    ----------
    n_components : int
    n_skips : int, default 0
        Number of states that may be skipped in one step.

    Returns
    -------
    ndarray of bool, shape (n_components, n_components)
    """
    n = _positive_int(n_components, "n_components")
    n_skips = _positive_int(n_skips, "n_skips", minimum=0)
    step = np.subtract.outer(np.arange(n), np.arange(n))  # step[i, j] = i - j
    return (step <= 0) & (step >= -(1 + n_skips))


def _bool_array(value, name, shape):
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be a boolean or numeric array, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if arr.dtype != bool and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (non-zero means allowed)")
    return arr != 0


def check_mask(mask, n_components=None, start_mask=None, end_mask=None, name="mask"):
    """Validate a topology; every state must have a way out.

    Parameters
    ----------
    mask : array-like of shape (n_components, n_components)
        Allowed transitions (non-zero or True means allowed).
    n_components : int, optional
        Expected number of states; inferred from ``mask`` when None.
    start_mask, end_mask : array-like of shape (n_components,), optional
        States allowed to start (default all) and to end (default none). A
        state that may end needs no allowed transition.
    name : str
        Name of ``mask`` in error messages.

    Returns
    -------
    Topology
    """
    shape = np.shape(mask)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {shape}")
    n = shape[0] if n_components is None else n_components
    trans = _bool_array(mask, name, (n, n))
    start = (np.ones(n, dtype=bool) if start_mask is None
             else _bool_array(start_mask, "start_mask", (n,)))
    end = (np.zeros(n, dtype=bool) if end_mask is None
           else _bool_array(end_mask, "end_mask", (n,)))
    if not start.any():
        raise ValueError("start_mask must allow at least one state to start")
    stuck = np.flatnonzero(~trans.any(axis=1) & ~end)
    if stuck.size:
        raise ValueError(f"{name} leaves state {stuck[0]} with no way out: its row allows no "
                         "transition (and the state may not end)")
    if end_mask is not None and not end.any():
        raise ValueError("end_mask must allow at least one state to end")
    return Topology(start, trans, end)


def uniform_chain(topology, end_state):
    """startprob, transmat, endprob (or None) uniform over the allowed entries."""
    start = topology.start / topology.start.sum()
    trans = topology.transmat.astype(float)
    end = topology.end.astype(float) if end_state else np.zeros(len(start))
    totals = trans.sum(axis=1) + end
    return start, trans / totals[:, None], (end / totals if end_state else None)


def random_chain(topology, end_state, random_state):
    """Dirichlet(1/N) draws over the allowed entries (as the unstructured init).

    With an end state, the end of a row gets ``1 / (n_allowed + 1)``, as the
    unstructured initialisation gives ``1 / (N + 1)``.
    """
    n = len(topology.start)
    alpha = 1.0 / n
    start = np.zeros(n)
    start[topology.start] = random_state.dirichlet(np.full(topology.start.sum(), alpha))
    trans = np.zeros((n, n))
    end = np.zeros(n)
    for i in range(n):
        allowed = np.flatnonzero(topology.transmat[i])
        may_end = end_state and topology.end[i]
        if may_end:
            end[i] = 1.0 / (allowed.size + 1)
        if allowed.size:
            trans[i, allowed] = random_state.dirichlet(np.full(allowed.size, alpha))
            trans[i] *= 1.0 - end[i]
    return start, trans, (end if end_state else None)


def from_mask(model, mask, start_mask=None, end_mask=None):
    """Give ``model`` the topology ``mask``.

    Sets ``startprob_``, ``transmat_`` (and ``endprob_`` when
    ``model.end_state``) uniform over the allowed entries and records the
    topology, so that a random initialisation during :meth:`fit` draws only
    over allowed entries. Keep ``"s"`` and ``"t"`` out of ``init_params`` to
    start EM from the uniform values instead. The topology is not a
    constructor parameter: ``get_params`` does not carry it.

    Parameters
    ----------
    model : BaseHMM
    mask : array-like of shape (n_components, n_components)
        Allowed transitions.
    start_mask : array-like of shape (n_components,), optional
        States allowed to start; default all.
    end_mask : array-like of shape (n_components,), optional
        States allowed to end when ``model.end_state``; default all.

    Returns
    -------
    model
        The same model, modified in place.
    """
    n = _positive_int(model.n_components, "n_components")
    if end_mask is None:
        end_mask = np.ones(n, dtype=bool)
    topology = check_mask(mask, n, start_mask, end_mask if model.end_state else None)
    if not model.end_state:
        topology = topology._replace(end=np.zeros(n, dtype=bool))
    model._topology = topology
    model.startprob_, model.transmat_, model.endprob_ = uniform_chain(topology,
                                                                      model.end_state)
    return model


def left_right(model, n_skips=0):
    """Left-to-right (Bakis) topology: start in state 0, end from the last state.

    Parameters
    ----------
    model : BaseHMM
    n_skips : int, default 0
        States that may be skipped in one step (see :func:`left_right_mask`).

    Returns
    -------
    model
        The same model, modified in place (see :func:`from_mask`).

    Examples
    --------
    >>> from hmm_core import CategoricalHMM
    >>> from hmm_core.topology import left_right
    >>> model = left_right(CategoricalHMM(3, end_state=True), n_skips=1)
    >>> model.transmat_.round(3)
    array([[0.333, 0.333, 0.333],
           [0.   , 0.5  , 0.5  ],
           [0.   , 0.   , 0.5  ]])
    """
    n = _positive_int(model.n_components, "n_components")
    first, last = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    first[0] = last[-1] = True
    return from_mask(model, left_right_mask(n, n_skips), start_mask=first, end_mask=last)


def ergodic(model):
    """Fully connected topology (every start, transition and end allowed).

    Parameters
    ----------
    model : BaseHMM

    Returns
    -------
    model
        The same model, modified in place (see :func:`from_mask`).
    """
    return from_mask(model, ergodic_mask(model.n_components))


# --------------------------------------------------------------------- tying


def _int_array(value, name, shape):
    arr = np.asarray(value)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr))
                and np.all(arr == np.round(arr))):
            raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_emission_ties(ties, n_components, name="emission_ties"):
    """State -> emission class map; classes are ``0..n_classes - 1``, each used.

    Parameters
    ----------
    ties : array-like of int, shape (n_components,)
        Emission class of each state.
    n_components : int
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray of int64, shape (n_components,)
    """
    arr = _int_array(ties, name, (n_components,))
    if arr.min() < 0:
        raise ValueError(f"{name} must hold emission classes >= 0, found {arr.min()}")
    if arr.max() >= n_components:
        # Checked before the classes are enumerated: there are at most n_components.
        raise ValueError(f"{name} must hold emission classes below n_components="
                         f"{n_components} (each class needs a state), found {arr.max()}")
    unused = np.setdiff1d(np.arange(arr.max() + 1), arr)
    if unused.size:
        raise ValueError(f"{name} must use every class 0..{arr.max()}; class {unused[0]} "
                         "has no state")
    return arr


def check_transmat_ties(ties, n_components, name="transmat_ties"):
    """(N, N) tie groups: -1 for an untied entry, a group id >= 0 otherwise.

    Parameters
    ----------
    ties : array-like of int, shape (n_components, n_components)
    n_components : int
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray of int64, shape (n_components, n_components)
    """
    arr = _int_array(ties, name, (n_components, n_components))
    if arr.min() < -1:
        raise ValueError(f"{name} must hold -1 (untied) or group ids >= 0, found {arr.min()}")
    return arr


def pool_columns(values, groups, n_groups):
    """Sum the columns of ``values`` that share a group.

    Parameters
    ----------
    values : ndarray of shape (T, N)
    groups : ndarray of int, shape (N,)
        Group of each column, ``0..n_groups - 1``.
    n_groups : int

    Returns
    -------
    ndarray of shape (T, n_groups)
    """
    order = np.argsort(groups, kind="stable")
    starts = np.searchsorted(groups[order], np.arange(n_groups))
    return np.add.reduceat(values[:, order], starts, axis=1)


def tied_map_rows(counts, prior, current, ties):
    """Transition M-step with groups of transitions that share one probability.

    The estimator, for transition counts ``n`` (``counts``; with an end state
    the last column holds the end counts, which are never tied):

    1. ``m_ij = max(n_ij + prior_ij - 1, 0)`` where ``current_ij > 0``, else 0
       (the Dirichlet MAP numerator; structural zeros stay zero), and row
       totals ``M_i = sum_j m_ij``;
    2. a group ``g`` gets ``p_g = sum_{(i,j) in g} m_ij / sum_{(i,j) in g} M_i``:
       its pooled count over the pooled visits of the rows it sits in
       (a group with no visits keeps the mean of its current values);
    3. in row ``i`` the tied entries take their ``p_g``, summing to ``s_i``, and
       the untied entries share ``1 - s_i`` in proportion to their ``m_ij``
       (to their current values when the row has no untied count);
    4. a row where this is impossible (``s_i >= 1`` with untied mass, or
       ``s_i != 1`` with no untied entry) is divided by its sum instead.

    This is the constrained maximum (a posteriori) estimate whenever each row
    holds at most one entry of a group from other rows' groups -- e.g. tied
    self-loops of several states -- or a group's entries share one row, or
    groups tie whole rows. With several cross-row groups in one row it is an
    approximation (the exact estimate has no closed form), and step 4 may
    leave a group's entries unequal.

    Parameters
    ----------
    counts : ndarray of shape (N, N) or (N, N + 1)
    prior : float or ndarray broadcastable to ``counts``
    current : ndarray, shape of ``counts``
    ties : ndarray of int of shape (N, N)

    Returns
    -------
    ndarray, shape of ``counts``
    """
    allowed = current > 0
    m = np.where(allowed, np.maximum(counts + (np.asarray(prior, float) - 1.0) * allowed,
                                     0.0), 0.0)
    ties = np.asarray(ties)
    if m.shape[1] > ties.shape[1]:  # end column: never tied
        ties = np.column_stack([ties, np.full(ties.shape[0], -1)])
    tied = ties >= 0
    if not tied.any():
        return _normalise_rows(m, current)
    rows = np.broadcast_to(np.arange(m.shape[0])[:, None], m.shape)
    ids = ties[tied]
    n_groups = int(ids.max()) + 1
    totals = m.sum(axis=1)
    pooled = np.bincount(ids, weights=m[tied], minlength=n_groups)
    visits = np.bincount(ids, weights=totals[rows[tied]], minlength=n_groups)
    fallback = (np.bincount(ids, weights=current[tied], minlength=n_groups)
                / np.maximum(np.bincount(ids, minlength=n_groups), 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(visits > 0, pooled / visits, fallback)
    out = np.where(tied, p[np.maximum(ties, 0)], 0.0)
    share = out.sum(axis=1)
    free = np.where(tied, 0.0, m)
    free_total = free.sum(axis=1)
    # Rows without untied counts spread their rest like their current values.
    idle = np.where(tied, 0.0, current)
    use_idle = free_total <= 0
    free = np.where(use_idle[:, None], idle, free)
    free_total = free.sum(axis=1)
    ok = (share < 1) & (free_total > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out += np.where(ok[:, None], free * ((1 - share) / free_total)[:, None], 0.0)
    exact = (free_total <= 0) & (np.abs(share - 1.0) <= 1e-12)  # tied entries fill the row
    bad = ~ok & ~exact
    if bad.any():  # step 4, with untied entries as fractions of their row
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(totals[:, None] > 0, m / totals[:, None], current)
        out[bad] = _normalise_rows(np.where(tied, out, frac)[bad], current[bad])
    return out


def _normalise_rows(numer, current):
    totals = numer.sum(axis=-1, keepdims=True)
    empty = totals <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        updated = numer / np.where(empty, 1.0, totals)
    return np.where(empty, current, updated)


def check_ties_against_zeros(transmat, ties, name="transmat_ties"):
    """A tie group must not mix structural zeros with allowed transitions."""
    tied = ties >= 0
    if not tied.any():
        return
    ids = ties[tied]
    n_groups = ids.max() + 1
    nonzero = np.bincount(ids, weights=(transmat[tied] > 0), minlength=n_groups)
    sizes = np.bincount(ids, minlength=n_groups)
    mixed = np.flatnonzero((nonzero > 0) & (nonzero < sizes))
    if mixed.size:
        raise ValueError(f"{name} group {mixed[0]} ties transitions that transmat_ forbids "
                         "(probability 0) with allowed ones")


def n_free_transitions(transmat, endprob, ties):
    """Free transition parameters with tying: distinct values minus independent row sums.

    The distinct values are the untied non-zero entries (and end
    probabilities) plus one per tie group; each row says its values sum to
    one, and the number of independent such constraints is the rank of the
    row-by-value incidence matrix.
    """
    n = transmat.shape[0]
    ids = np.where(ties >= 0, ties, -1)
    value = np.full((n, n), -1, dtype=np.int64)
    n_groups = int(ids.max()) + 1 if (ids >= 0).any() else 0
    free = (transmat > 0) & (ids < 0)
    value[ids >= 0] = ids[ids >= 0]
    value[free] = n_groups + np.arange(free.sum())
    n_values = n_groups + int(free.sum())
    columns = [value]
    if endprob is not None:
        ends = np.full((n, 1), -1, dtype=np.int64)
        ends[endprob > 0, 0] = n_values + np.arange(int((endprob > 0).sum()))
        n_values += int((endprob > 0).sum())
        columns.append(ends)
    value = np.hstack(columns)
    incidence = np.zeros((n, n_values))
    rows, cols = np.nonzero(value >= 0)
    np.add.at(incidence, (rows, value[rows, cols]), 1.0)
    # Groups that only tie structural zeros carry no free value.
    used = incidence.any(axis=0)
    if not (transmat[ties >= 0] > 0).all():
        zero_groups = np.unique(ties[(ties >= 0) & (transmat == 0)])
        used[zero_groups] = False
    incidence = incidence[:, used]
    return int(incidence.shape[1] - np.linalg.matrix_rank(incidence))
