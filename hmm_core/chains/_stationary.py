"""Long-run behaviour of a chain: stationary distributions, matrix powers, mixing.

Functions work on a row-stochastic matrix ``T``; :class:`StationaryMixin`
gives :class:`~hmm_core.MarkovChain` the corresponding methods.
"""

from __future__ import annotations

import numpy as np

from hmm_core.chains._elimination import Unresolvable, stationary_gth

__all__ = ["StationaryMixin", "second_eigenvalue_modulus", "stationary_on_class",
           "stochastic_power"]


def stationary_on_class(T, cls):
    """Stationary distribution of the closed class ``cls`` as a length-N vector.

    Computed by the Grassmann-Taksar-Heyman elimination (see
    :mod:`~hmm_core.chains._elimination`), which reads only the off-diagonal
    probabilities of the class: every entry has a small relative error even
    when the class is nearly reducible (exit probabilities of 1e-300).

    Raises
    ------
    ValueError
        If exit probabilities of the class are so small that they underflow.
    """
    cls = np.asarray(cls)
    pi = np.zeros(T.shape[0])
    try:
        pi[cls] = stationary_gth(T[np.ix_(cls, cls)])
    except Unresolvable:
        raise ValueError(
            "transmat_ has transition probabilities too small to represent in the "
            f"stationary distribution of class {cls.tolist()} (they underflow)"
        ) from None
    return pi


def stochastic_power(T, m, start=None):
    """``start @ T**m`` (or ``T**m`` if ``start`` is None) by repeated squaring.

    Rows are renormalised to sum to one after every product.  Without this,
    round-off in the row sums roughly doubles with each squaring, which would
    cost about ``log2(m)`` bits of accuracy for large ``m`` (1e-7 at m = 1e9).
    """
    base = np.array(T, dtype=float)
    result = np.eye(base.shape[0]) if start is None else np.array(start, dtype=float)
    while m:
        if m & 1:
            result = result @ base
            result /= result.sum(axis=-1, keepdims=True)
        m >>= 1
        if m:
            base = base @ base
            base /= base.sum(axis=1, keepdims=True)
    return result


def second_eigenvalue_modulus(T):
    """Second-largest modulus among the eigenvalues of ``T`` (0 for a 1-state chain)."""
    if T.shape[0] == 1:
        return 0.0
    moduli = np.sort(np.abs(np.linalg.eigvals(T)))[::-1]
    return float(min(moduli[1], 1.0))


class StationaryMixin:
    """Stationary distributions and mixing of a fitted chain.

    Mixed into :class:`hmm_core.MarkovChain`; relies on its ``transmat_``,
    ``_check_fitted``, ``_labels`` and ``closed_classes``.
    """

    def stationary_distributions(self):
        """One stationary distribution per closed class.

        Returns
        -------
        ndarray of shape (n_closed_classes, n_states_)
            Row ``r`` is the unique stationary distribution supported on the
            ``r``-th closed class (zeros elsewhere).  Every stationary
            distribution of the chain is a convex combination of these rows.
        """
        closed = self.closed_classes()
        return np.vstack([stationary_on_class(self.transmat_, c) for c in closed])

    def stationary_distribution(self):
        """The unique stationary distribution ``pi = pi @ transmat_``.

        This is the left eigenvector of ``transmat_`` for eigenvalue 1,
        normalised to sum to one, supported on the closed class.  It is
        computed on that class by the Grassmann-Taksar-Heyman algorithm, a
        Gaussian elimination without subtractions that reads only the
        off-diagonal transition probabilities: every entry has a small
        relative error, even for nearly reducible chains (exit probabilities
        far below machine precision, where ``1 - transmat_[i, i]`` rounds to
        zero).

        Returns
        -------
        ndarray of shape (n_states_,)

        Raises
        ------
        ValueError
            If the chain has more than one closed (recurrent) class, in which
            case the stationary distribution is not unique; the message names
            the closed classes.  Use :meth:`stationary_distributions` instead.
            Also if some exit probabilities are so small that they underflow.
        """
        self._check_fitted()
        closed = self.closed_classes()
        if len(closed) > 1:
            named = ", ".join(str(self._labels(c)) for c in closed)
            raise ValueError(
                f"the chain has {len(closed)} closed (recurrent) classes {named}, so its "
                "stationary distribution is not unique; use stationary_distributions()"
            )
        return stationary_on_class(self.transmat_, closed[0])

    # ------------------------------------------------------------------ mixing
    def second_eigenvalue_modulus(self):
        """Second-largest eigenvalue modulus (SLEM) of ``transmat_``.

        Returns
        -------
        float
            ``|lambda_2|`` with eigenvalues sorted by decreasing modulus (0 for
            a one-state chain).  It is 1 for reducible chains with several
            closed classes and for periodic chains.
        """
        self._check_fitted()
        return second_eigenvalue_modulus(self.transmat_)

    def relaxation_time(self):
        """Relaxation time ``1 / (1 - SLEM)``.

        Returns
        -------
        float
            ``inf`` if the SLEM is 1 (within 1e-12).
        """
        slem = self.second_eigenvalue_modulus()
        return float("inf") if slem >= 1.0 - 1e-12 else 1.0 / (1.0 - slem)
