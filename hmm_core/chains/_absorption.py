"""Absorbing chains: fundamental matrix, expected steps and absorption probabilities."""

from __future__ import annotations

import numpy as np

__all__ = ["AbsorptionMixin"]


class AbsorptionMixin:
    """Absorption analysis of a fitted chain.

    Mixed into :class:`hmm_core.MarkovChain`; relies on its ``transmat_``,
    ``_labels`` and the structure methods (``absorbing_states``,
    ``transient_states``, ``recurrent_states``).
    """

    def _absorbing_blocks(self):
        """Return (transient, absorbing, I - Q, R) after checking this is an absorbing chain."""
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
        i_minus_q = np.eye(transient.size) - T[np.ix_(transient, transient)]
        return transient, absorbing, i_minus_q, T[np.ix_(transient, absorbing)]

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
        _, _, i_minus_q, _ = self._absorbing_blocks()
        return np.linalg.solve(i_minus_q, np.eye(i_minus_q.shape[0]))

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
        transient, _, i_minus_q, _ = self._absorbing_blocks()
        t = np.linalg.solve(i_minus_q, np.ones(transient.size))
        return {int(s): float(v) for s, v in zip(transient, t, strict=True)}

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
        _, _, i_minus_q, R = self._absorbing_blocks()
        return np.linalg.solve(i_minus_q, R)
