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

States are eliminated one at a time inside blocks of :data:`BLOCK` states;
eliminating a block from the rest is a product of nonnegative matrices, so
large chains use matrix-matrix products.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BLOCK", "Unresolvable", "solve_exit_form", "stationary_gth"]

#: States eliminated one by one before a block update of the remaining states.
BLOCK = 64
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
    Inputs are not modified.
    """
    W, v, rhs = np.array(W, dtype=float), np.array(v, dtype=float), np.array(rhs, dtype=float)
    b = W.shape[0]
    for k in range(b):
        d = _pivot(v[k] + W[k, k + 1:].sum())
        # Scaled by the pivot first: a ratio <= 1, so products cannot overflow.
        W[k, k + 1:] /= d
        rhs[k] /= d
        col = W[k + 1:, k]
        W[k + 1:, k + 1:] += np.outer(col, W[k, k + 1:])
        v[k + 1:] += col * (v[k] / d)
        rhs[k + 1:] += np.outer(col, rhs[k])
    for k in range(b - 2, -1, -1):
        rhs[k] += W[k, k + 1:] @ rhs[k + 1:]
    return rhs


def solve_exit_form(W, v, rhs, block=BLOCK):
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
    block : int
        States eliminated one by one before a block update.

    Returns
    -------
    ndarray of shape (m, r)

    Raises
    ------
    Unresolvable
        If a pivot is zero or not finite (no way out of some state, or rates
        that underflow).
    """
    W = np.array(W, dtype=float)
    v = np.array(v, dtype=float)
    rhs = np.array(rhs, dtype=float)
    m = W.shape[0]
    steps = []
    for lo in range(0, m, block):
        hi = min(lo + block, m)
        # The block's exits: to the outside, and to the states not yet eliminated.
        out = W[lo:hi, hi:]
        local = np.hstack([out, v[lo:hi, None], rhs[lo:hi]])
        solved = _solve_dense(W[lo:hi, lo:hi], v[lo:hi] + out.sum(axis=1), local)
        to_rest = solved[:, :m - hi]
        if hi < m:
            into = W[hi:, lo:hi]
            W[hi:, hi:] += into @ to_rest
            v[hi:] += into @ solved[:, m - hi]
            rhs[hi:] += into @ solved[:, m - hi + 1:]
        steps.append((lo, hi, to_rest, solved[:, m - hi + 1:]))
    X = np.empty_like(rhs)
    for lo, hi, to_rest, own in reversed(steps):
        X[lo:hi] = own + to_rest @ X[hi:] if hi < m else own
    return X


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


def stationary_gth(P, block=BLOCK):
    """Stationary distribution of an irreducible stochastic matrix.

    Only the off-diagonal entries of ``P`` are read (the diagonal is implied by
    the rows summing to one).

    Parameters
    ----------
    P : ndarray of shape (m, m)
        Transition matrix of an irreducible chain.
    block : int
        States eliminated one by one before a block update.

    Returns
    -------
    ndarray of shape (m,)
        Nonnegative, summing to one.

    Raises
    ------
    Unresolvable
        If some exit probabilities underflow.
    """
    A = np.array(P, dtype=float)
    m = A.shape[0]
    steps = []
    lo = 0
    # Leading blocks are censored out (the chain watched only on later states).
    while m - lo > block:
        hi = lo + block
        out = A[lo:hi, hi:]
        local = np.hstack([out, np.eye(hi - lo)])
        solved = _solve_dense(A[lo:hi, lo:hi], out.sum(axis=1), local)
        into = A[hi:, lo:hi]
        A[hi:, hi:] += into @ solved[:, :m - hi]
        steps.append((lo, hi, solved[:, m - hi:]))
        lo = hi
    pi = np.zeros(m)
    pi[lo:] = _gth_dense(A[lo:, lo:])
    for lo, hi, visits in reversed(steps):
        # Flow into the block from later states, times the expected visits per entry.
        pi[lo:hi] = (pi[hi:] @ A[hi:, lo:hi]) @ visits
        top = pi[lo:].max()
        if top > _HUGE:
            pi[lo:] /= top
    total = pi.sum()
    if not (total > 0 and np.isfinite(total)):
        raise Unresolvable
    return pi / total
