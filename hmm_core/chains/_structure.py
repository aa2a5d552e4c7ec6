"""Structure of a chain's transition graph: classes, recurrence, absorption, periods.

Functions work on a row-stochastic matrix ``T`` (edge ``i -> j`` iff
``T[i, j] > 0``); :class:`StructureMixin` gives :class:`~hmm_core.MarkovChain`
the corresponding methods.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

__all__ = ["StructureMixin", "absorbing_states", "class_period", "closed_classes",
           "communicating_classes"]


def adjacency(T):
    """Sparse adjacency matrix of the transition graph (edge i->j iff T[i, j] > 0)."""
    return csr_matrix(np.asarray(T) > 0)


def communicating_classes(T):
    """Strongly connected components of the transition graph, sorted by smallest state."""
    n_comp, labels = connected_components(adjacency(T), directed=True, connection="strong")
    classes = [np.flatnonzero(labels == c) for c in range(n_comp)]
    classes.sort(key=lambda c: int(c[0]))
    return classes


def is_closed(T, cls):
    """True if no positive-probability transition leaves the set ``cls``."""
    outside = np.ones(T.shape[0], dtype=bool)
    outside[cls] = False
    return not np.any(T[np.ix_(cls, outside)] > 0)


def closed_classes(T):
    """Communicating classes that are closed (the recurrent classes of a finite chain)."""
    return [c for c in communicating_classes(T) if is_closed(T, c)]


def class_period(T, cls):
    """Period of the communicating class ``cls`` (0 if it contains no cycle).

    A BFS from one state of the class assigns levels; the period is the gcd
    over all edges ``(u, v)`` inside the class of ``level[u] + 1 - level[v]``.
    """
    cls = np.asarray(cls)
    sub = adjacency(T[np.ix_(cls, cls)])
    order, pred = breadth_first_order(sub, 0, directed=True, return_predecessors=True)
    level = np.zeros(cls.size, dtype=np.int64)
    for node in order[1:]:
        level[node] = level[pred[node]] + 1
    rows, cols = sub.nonzero()
    if rows.size == 0:
        return 0
    return int(np.gcd.reduce(np.abs(level[rows] + 1 - level[cols])))


def absorbing_states(T):
    """States ``i`` with ``T[i, i] > 0`` and no other positive entry in row ``i``."""
    off = np.asarray(T, dtype=float).copy()
    np.fill_diagonal(off, 0.0)
    return np.flatnonzero((np.diag(T) > 0) & ~np.any(off > 0, axis=1))



class StructureMixin:
    """Communicating classes, recurrence, absorbing states and periods of a fitted chain.

    Mixed into :class:`hmm_core.MarkovChain`; relies on its ``transmat_``,
    ``n_states_``, ``_check_fitted``, ``_state_index`` and ``_labels``.
    """

    def communicating_classes(self):
        """Communicating classes (strongly connected components of the transition graph).

        Returns
        -------
        list of ndarray
            Sorted state indices of each class, ordered by smallest state.
        """
        self._check_fitted()
        return communicating_classes(self.transmat_)

    def closed_classes(self):
        """Closed communicating classes, i.e. the recurrent classes of the chain.

        Returns
        -------
        list of ndarray
            Sorted state indices of each closed class.
        """
        self._check_fitted()
        return closed_classes(self.transmat_)

    def recurrent_states(self):
        """Return the states that belong to a closed class.

        Returns
        -------
        ndarray of int
            Sorted recurrent states.
        """
        return np.sort(np.concatenate(self.closed_classes()))

    def transient_states(self):
        """Return the states that are in no closed class.

        Returns
        -------
        ndarray of int
            Sorted transient states (possibly empty).
        """
        return np.setdiff1d(np.arange(self.n_states_), self.recurrent_states())

    def absorbing_states(self):
        """Return the states ``i`` with ``transmat_[i, i] == 1``.

        Returns
        -------
        ndarray of int
            Sorted absorbing states (possibly empty).
        """
        self._check_fitted()
        return absorbing_states(self.transmat_)

    def is_irreducible(self):
        """Whether all states communicate (a single communicating class).

        Returns
        -------
        bool
        """
        return len(self.communicating_classes()) == 1

    def period(self, state=None):
        """Period of a state or of a communicating class.

        Parameters
        ----------
        state : int, str or array-like of int, optional
            A state (its class is used), or the states of a communicating
            class.  None is allowed for an irreducible chain.

        Returns
        -------
        int
            The gcd of the lengths of the cycles through the class.  A class with
            no cycle at all (a transient state that cannot return to itself)
            has period 0 by the convention ``gcd() = 0``.

        Raises
        ------
        ValueError
            If ``state`` is None and the chain is reducible, or the given
            states do not form a communicating class.
        """
        classes = self.communicating_classes()
        if state is None:
            if len(classes) != 1:
                raise ValueError("state must be given for a reducible chain")
            cls = classes[0]
        elif np.ndim(state) == 0:
            i = self._state_index(state, "state")
            cls = next(c for c in classes if i in c)
        else:
            want = np.unique([self._state_index(s, "state") for s in np.ravel(state)])
            cls = next((c for c in classes if np.array_equal(c, want)), None)
            if cls is None:
                raise ValueError(f"state {self._labels(want)} is not a communicating class")
        return class_period(self.transmat_, cls)

    def is_aperiodic(self):
        """Whether every closed (recurrent) class has period 1.

        This is the condition under which ``transmat_ ** n`` converges; the
        periods of transient classes are irrelevant and ignored.

        Returns
        -------
        bool
        """
        return all(class_period(self.transmat_, c) == 1 for c in self.closed_classes())

