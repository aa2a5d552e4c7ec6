"""Absorbing chains: fundamental matrix, expected steps and absorption probabilities.

Every quantity solves a system with ``I - Q`` (``Q`` the transitions among
transient states). Its diagonal ``1 - Q[i, i]`` is not formed by subtraction
(which loses the digits of small exit probabilities, all of them once
``Q[i, i]`` rounds to 1) but as the sum of the probabilities of leaving
state ``i``; the system is then solved by a subtraction-free elimination
(:mod:`~hmm_core.chains._elimination`), so every entry of the results has a
small relative error, even for expected absorption times of 1e12 steps or more.
"""

from __future__ import annotations

import numpy as np

from hmm_core.chains._elimination import Unresolvable, solve_exit_form

__all__ = ["AbsorptionMixin"]


class AbsorptionMixin:
    """Absorption analysis of a fitted chain.

    Mixed into :class:`hmm_core.MarkovChain`; relies on its ``transmat_``,
    ``_labels`` and the structure methods (``absorbing_states``,
    ``transient_states``, ``recurrent_states``).
    """

    def _absorbing_blocks(self):
        """Return (transient, absorbing, Q with a zero diagonal, R) of an absorbing chain."""
        absorbing = self.absorbing_states()
        if absorbing.size == 0:
            raise ValueError("the chain has no absorbing states")
        transient = self.transient_states()
        if transient.size == 0:
            raise ValueError("the chain has no transient states")
        other = np.setdiff1d(self.recurrent_states(), absorbing)
        if other.size:
            raise ValueError(
                f"not an absorbing chain: recurrent states {self._labels(other)} are not "
                "absorbing, so some transient states are never absorbed"
            )
        T = self.transmat_
        off = T[np.ix_(transient, transient)]
        np.fill_diagonal(off, 0.0)
        return transient, absorbing, off, T[np.ix_(transient, absorbing)]

    def _solve_transient(self, rhs):
        """``(I - Q)^-1 B`` with the diagonal of ``I - Q`` taken from the exit probabilities.

        ``rhs`` names ``B``: ``"identity"``, ``"ones"`` (a column) or ``"R"``
        (the transitions from transient to absorbing states).
        """
        transient, _, off, R = self._absorbing_blocks()
        m = transient.size
        rhs = np.eye(m) if rhs == "identity" else np.ones((m, 1)) if rhs == "ones" else R
        try:
            return transient, solve_exit_form(off, R.sum(axis=1), rhs)
        except Unresolvable:
            raise ValueError(
                "transmat_ has absorption probabilities too small to represent the "
                "absorption quantities (they underflow)"
            ) from None

    def fundamental_matrix(self):
        """Fundamental matrix ``N = (I - Q)^-1`` of an absorbing chain.

        Returns
        -------
        ndarray of shape (n_transient, n_transient)
            ``N[i, j]`` is the expected number of visits to transient state
            ``transient_states()[j]`` starting from ``transient_states()[i]``.

        Raises
        ------
        ValueError
            If there are no absorbing states, no transient states, or some
            recurrent state is not absorbing.
        """
        return self._solve_transient("identity")[1]

    def expected_steps_to_absorption(self):
        """Expected number of steps until absorption, ``N @ 1``.

        Returns
        -------
        dict
            Maps each transient state (int index) to its expected number of
            steps before absorption.

        Raises
        ------
        ValueError
            As for :meth:`fundamental_matrix`.
        """
        transient, t = self._solve_transient("ones")
        return {int(s): float(v) for s, v in zip(transient, t[:, 0], strict=True)}

    def absorption_probabilities(self):
        """Probability of ending in each absorbing state, ``B = N @ R``.

        Returns
        -------
        ndarray of shape (n_transient, n_absorbing)
            Rows follow :meth:`transient_states`, columns :meth:`absorbing_states`.

        Raises
        ------
        ValueError
            As for :meth:`fundamental_matrix`.
        """
        return self._solve_transient("R")[1]
