"""Convergence monitoring for EM."""

from __future__ import annotations

import sys
import time

import numpy as np

__all__ = ["ConvergenceMonitor", "ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """EM stopped at ``n_iter`` iterations before its gain fell below ``tol``.

    A subclass of ``UserWarning``, like scikit-learn's warning of the same
    name: silence it with ``warnings.simplefilter("ignore",
    hmm_core.ConvergenceWarning)``, or raise ``n_iter``. The fitted model is
    usable; ``model.monitor_`` holds the log-likelihood of every iteration.
    """


class ConvergenceMonitor:
    """Record the log-likelihood of each EM iteration and decide when to stop.

    Parameters
    ----------
    tol : float
        Stop when the log-likelihood gain of an iteration is below ``tol``.
    n_iter : int
        Maximum number of iterations.
    verbose : bool
        Print one line per iteration to standard error.

    Attributes
    ----------
    history : list of float
        Log-likelihood of the data under the parameters at the start of each
        iteration (every value hmmlearn keeps only the last two of).
    iter : int
        Number of iterations done.
    """

    def __init__(self, tol: float, n_iter: int, verbose: bool = False):
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history: list[float] = []
        self.iter = 0
        self._last_time = time.perf_counter()

    def __repr__(self) -> str:
        return (f"ConvergenceMonitor(tol={self.tol}, n_iter={self.n_iter}, "
                f"iter={self.iter}, converged={self.converged})")

    def _reset(self) -> None:
        self.history = []
        self.iter = 0
        self._last_time = time.perf_counter()

    def report(self, log_prob: float) -> None:
        """Record the log-likelihood of one iteration.

        Parameters
        ----------
        log_prob : float
            Total log-likelihood computed in the iteration's E-step.
        """
        now = time.perf_counter()
        if self.verbose:
            delta = log_prob - self.history[-1] if self.history else float("nan")
            print(f"{self.iter + 1:>10d} {log_prob:>20.8f} {delta:>16.8f} "
                  f"{now - self._last_time:>9.3f}s", file=sys.stderr)
        self._last_time = now
        self.history.append(float(log_prob))
        self.iter += 1

    def _to_file(self, writer, key):
        """Settings and history, encoded for a model file."""
        return {"tol": writer.value(self.tol, f"{key}.tol"),
                "n_iter": writer.value(self.n_iter, f"{key}.n_iter"),
                "verbose": writer.value(self.verbose, f"{key}.verbose"),
                "iter": int(self.iter),
                "history": writer.value(np.asarray(self.history, dtype=float),
                                        f"{key}.history")}

    @classmethod
    def _from_file(cls, reader, info):
        monitor = cls(reader.value(info["tol"]), reader.value(info["n_iter"]),
                      reader.value(info["verbose"]))
        monitor.history = [float(v) for v in reader.value(info["history"])]
        monitor.iter = int(info["iter"])
        return monitor

    @property
    def converged(self) -> bool:
        """True when the last gain was below ``tol``.

        Unlike hmmlearn, merely running out of iterations is not convergence.
        """
        return len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol
