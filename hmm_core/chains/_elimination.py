"""Subtraction-free elimination for stationary distributions and absorbing chains.

Both computations solve linear systems with the matrix ``I - P`` (``P`` a
stochastic matrix or its transient block). Forming ``1 - P[i, i]`` loses
every digit the small exit probabilities carry: with ``P[i, i] = 1 - 1e-17``
the difference is zero. Here such a matrix is described instead by its
off-diagonal rates ``W[i, j] = P[i, j]`` (``i != j``) and its exit rates ``v``
(the probability of leaving the set of unknowns), so that its diagonal is
``v[i] + sum_j W[i, j]``, a sum of the small entries themselves.

Gaussian elimination keeps this form with additions only: eliminating
state ``k`` adds ``W[i, k] * W[k, j] / D[k]`` to ``W[i, j]`` and
``W[i, k] * v[k] / D[k]`` to ``v[i]``, and the new diagonal is again a sum of
rates. With a nonnegative right-hand side every quantity formed is a sum of
nonnegative terms, so each entry of the result has a small relative error,
however close the chain is to reducible. For the stationary distribution
this is the algorithm of Grassmann, Taksar and Heyman (Operations Research
33, 1985, 1107-1116); for general right-hand sides it is the elimination of
diagonally dominant M-matrices from their off-diagonal entries and row sums
(Alfa, Xue and Ye, Mathematics of Computation 71, 2002, 217-236).

Large systems are split in halves: eliminating the first half from the
second is again a sum of products of nonnegative matrices, done with
matrix-matrix products; systems of up to :data:`LEAF` states are eliminated
one state at a time.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LEAF", "Unresolvable", "solve_exit_form", "stationary_gth"]

#: Systems up to this size are eliminated state by state; larger ones are split
#: in halves, the first eliminated from the second by matrix products.
LEAF = 16
#: Partial results are rescaled when they pass this size, so none overflows.
_HUGE = 2.0**500


class Unresolvable(ArithmeticError):
    """The exit rates of some state are too small for floating point (they underflow)."""


def _pivot(value):
    if not (value > 0 and np.isfinite(value)):
        raise Unresolvable
    return value


def _solve_dense(W, v, rhs):
    """Solve ``(diag(v + offdiag row sums of W) - W) X = rhs`` state by state.

    ``W`` (b, b) holds nonnegative rates (its diagonal is ignored), ``v`` (b,)
    nonnegative exit rates and ``rhs`` (b, r) a nonnegative right-hand side.
    """
    b = W.shape[0]
    # One array [W | v | rhs]: the exit rates are eliminated like any other column.
    aug = np.hstack([W, v[:, None], rhs]).astype(float)
    for k in range(b):
        row = aug[k, k + 1:]
        # Divided by the pivot first: the rates of row k become ratios <= 1, whose
        # products cannot overflow.
        row /= _pivot(row[:b - k].sum())
        aug[k + 1:, k + 1:] += np.outer(aug[k + 1:, k], row)
    X = aug[:, b + 1:]
    for k in range(b - 2, -1, -1):
        X[k] += aug[k, k + 1:b] @ X[k + 1:]
    return X


def solve_exit_form(W, v, rhs, leaf=LEAF):
    """Solve ``A X = rhs`` for ``A`` given by off-diagonal rates and exit rates.

    Parameters
    ----------
    W : ndarray of shape (m, m)
        Nonnegative off-diagonal rates; ``A[i, j] = -W[i, j]`` for ``i != j``.
        The diagonal of ``W`` is ignored.
    v : ndarray of shape (m,)
        Nonnegative exit rates; ``A[i, i] = v[i] + sum_{j != i} W[i, j]``.
    rhs : ndarray of shape (m, r)
        Nonnegative right-hand side.
    leaf : int
        Systems up to this size are eliminated state by state.

    Returns
    -------
    ndarray of shape (m, r)

    Raises
    ------
    Unresolvable
        If a pivot is zero or not finite (no way out of some state, or rates
        that underflow).
    """
    W = np.asarray(W, dtype=float)
    v = np.asarray(v, dtype=float)
    rhs = np.asarray(rhs, dtype=float)
    m = W.shape[0]
    if m <= leaf:
        return _solve_dense(W, v, rhs)
    h = m // 2
    # Eliminate the first half: its exits go outside or to the second half.
    out = W[:h, h:]
    solved = solve_exit_form(W[:h, :h], v[:h] + out.sum(axis=1),
                             np.hstack([out, v[:h, None], rhs[:h]]), leaf)
    to_rest, into = solved[:, :m - h], W[h:, :h]
    rest = solve_exit_form(W[h:, h:] + into @ to_rest, v[h:] + into @ solved[:, m - h],
                           rhs[h:] + into @ solved[:, m - h + 1:], leaf)
    return np.vstack([solved[:, m - h + 1:] + to_rest @ rest, rest])


def _gth_dense(P):
    """Unnormalised stationary vector of an irreducible chain, one state at a time."""
    A = np.array(P, dtype=float)
    m = A.shape[0]
    sums = np.empty(m)
    for n in range(m - 1, 0, -1):
        # 1 - A[n, n] is formed from the exits, never by subtraction.
        s = sums[n] = _pivot(A[n, :n].sum())
        A[:n, :n] += np.outer(A[:n, n], A[n, :n] / s)
    pi = np.zeros(m)
    pi[0] = 1.0
    for n in range(1, m):
        t = pi[:n] @ A[:n, n]
        if t > sums[n] * _HUGE:
            pi[:n] *= sums[n] / t
            pi[n] = 1.0
        else:
            pi[n] = t / sums[n]
    return pi


def _stationary_unnormalised(P, leaf):
    m = P.shape[0]
    if m <= leaf:
        return _gth_dense(P)
    h = m // 2
    # Censor the first half: the chain watched only on the second half.
    out = P[:h, h:]
    solved = solve_exit_form(P[:h, :h], out.sum(axis=1), np.hstack([out, np.eye(h)]), leaf)
    into = P[h:, :h]
    rest = _stationary_unnormalised(P[h:, h:] + into @ solved[:, :m - h], leaf)
    rest /= rest.max()
    # Flow into the first half, times the expected visits per entry.
    first = (rest @ into) @ solved[:, m - h:]
    pi = np.concatenate([first, rest])
    return pi / pi.max()


def stationary_gth(P, leaf=LEAF):
    """Stationary distribution of an irreducible stochastic matrix.

    Only the off-diagonal entries of ``P`` are read (the diagonal is implied by
    the rows summing to one).

    Parameters
    ----------
    P : ndarray of shape (m, m)
        Transition matrix of an irreducible chain.
    leaf : int
        Chains up to this size are eliminated state by state.

    Returns
    -------
    ndarray of shape (m,)
        Nonnegative, summing to one.

    Raises
    ------
    Unresolvable
        If some exit probabilities underflow.
    """
    pi = _stationary_unnormalised(np.asarray(P, dtype=float), leaf)
    total = pi.sum()
    if not (total > 0 and np.isfinite(total)):
        raise Unresolvable
    return pi / total
