"""Validated chain parameters and the calls into the compiled kernels.

A :class:`ChainParams` holds start, transition and end probabilities together
with the log and transposed copies the kernels need, so a model computes them
once per parameter change rather than once per call.
"""

from __future__ import annotations

import numpy as np

from hmm_core.kernels import _baumwelch, _forward, _viterbi, backend
from hmm_core.kernels.frames import dense, split
from hmm_core.kernels.sparse import SparseTransitions
from hmm_core.kernels.validation import (
    check_endprob,
    check_probability_vector,
    check_transmat,
    log,
)

__all__ = ["ChainParams"]


class ChainParams:
    """Start, transition and (optional) end probabilities of an HMM.

    Parameters
    ----------
    startprob : array-like of shape (n_components,)
    transmat : array-like of shape (n_components, n_components)
    endprob : array-like of shape (n_components,), optional
        Probability of stopping after each state. When given, each row of
        ``transmat`` plus ``endprob`` sums to one.
    n_components : int, optional
        Expected number of states.
    suffix : str
        Appended to parameter names in error messages (``"_"`` for models).
    sparse : bool or None
        Run the kernels that visit only allowed (non-zero) transitions, at
        O(T * nnz) cost. None chooses them when at least 32 states allow at
        most 20% of all transitions.

    Notes
    -----
    Dense chains whose every transition is at least 1e-100 run in the scaled
    linear domain (exact, see ``src/_scaled.h``); other dense chains run in
    log space. ``scaled`` and ``sparse`` record the choice
    (:func:`~hmm_core.kernels.backend.chain_domain`); the path and thread
    count of each call come from :mod:`~hmm_core.kernels.backend` too.
    """

    def __init__(self, startprob, transmat, endprob=None, n_components=None, suffix="",
                 sparse=None):
        self.startprob = check_probability_vector(startprob, "startprob" + suffix, n_components)
        n = self.startprob.shape[0]
        self.endprob = (None if endprob is None
                        else check_endprob(endprob, n, "endprob" + suffix))
        self.transmat = check_transmat(transmat, n, self.endprob, "transmat" + suffix)
        self.n_components = n
        self.log_startprob = log(self.startprob)
        self.log_transmat = log(self.transmat)
        self.log_endprob = (
            np.zeros(n) if self.endprob is None else np.ascontiguousarray(log(self.endprob))
        )
        self._set_sparse(sparse)

    def _set_sparse(self, sparse):
        sparse, self.scaled = backend.chain_domain(self.transmat, sparse)
        self.sparse = SparseTransitions(self.transmat) if sparse else None

    @classmethod
    def from_logs(cls, log_startprob, transmat, log_endprob=None, sparse=None):
        """Build from the functional API's arguments (already validated)."""
        self = cls.__new__(cls)
        self.log_startprob = log_startprob
        self.startprob = np.exp(log_startprob)
        self.transmat = transmat
        self.log_transmat = log(transmat)
        self.n_components = transmat.shape[0]
        if log_endprob is None:
            self.endprob = None
            self.log_endprob = np.zeros(self.n_components)
        else:
            self.endprob = np.exp(log_endprob)
            self.log_endprob = log_endprob
        self._set_sparse(sparse)
        return self

    def _threads(self, n_threads, offsets):
        return backend.threads(n_threads, offsets, self.n_components)

    # Kernel calls: ``log_frameprob`` is (T_total, N) float64 C-contiguous, or a
    # FrameTable (rows of a table, which the scaled kernels read directly);
    # ``offsets`` is int64. Both are already validated.

    def loglik(self, log_frameprob, offsets, n_threads=None):
        """Per-sequence log-likelihoods (O(N) memory per sequence)."""
        out = np.empty(offsets.shape[0] - 1)
        if self.scaled:
            table, index = split(log_frameprob)
            plan = backend.scaled_plan(offsets, self.n_components, n_threads)
            with backend.blas_limit(self.n_components, plan.path == "lockstep"):
                _forward.scaled_loglik(table, offsets, self.log_startprob, self.transmat,
                                       self.log_endprob, out, plan.n_threads, index,
                                       plan.path, plan.groups)
            return out
        log_frameprob = dense(log_frameprob)
        if self.sparse is not None:
            _forward.sparse_loglik(log_frameprob, offsets, self.log_startprob, self.sparse,
                                   self.log_endprob, out, self._threads(n_threads, offsets))
            return out
        _forward.forward_loglik(
            log_frameprob, offsets, self.log_startprob, self.transmat, self.log_transmat,
            self.log_endprob, out, self._threads(n_threads, offsets),
        )
        return out

    def forward(self, log_frameprob, offsets, n_threads=None):
        """Per-sequence log-likelihoods and the (T, N) forward lattice."""
        log_frameprob = dense(log_frameprob)
        out = np.empty(offsets.shape[0] - 1)
        log_alpha = np.empty_like(log_frameprob)
        _forward.forward_lattice(
            log_frameprob, offsets, self.log_startprob, self.transmat, self.log_transmat,
            self.log_endprob, log_alpha, out, self._threads(n_threads, offsets),
        )
        return out, log_alpha

    def backward(self, log_frameprob, offsets, n_threads=None):
        """The (T, N) backward lattice."""
        log_frameprob = dense(log_frameprob)
        log_beta = np.empty_like(log_frameprob)
        _forward.backward_lattice(
            log_frameprob, offsets, np.ascontiguousarray(self.transmat.T), self.log_transmat,
            self.log_endprob, log_beta, self._threads(n_threads, offsets),
        )
        return log_beta

    def posteriors(self, log_frameprob, offsets, n_threads=None):
        """Per-sequence log-likelihoods and (T, N) state posteriors."""
        out = np.empty(offsets.shape[0] - 1)
        post = np.empty(log_frameprob.shape)
        if self.scaled:
            table, index = split(log_frameprob)
            plan = backend.scaled_plan(offsets, self.n_components, n_threads)
            with backend.blas_limit(self.n_components):
                _forward.scaled_posteriors(table, offsets, self.log_startprob, self.transmat,
                                           self.log_endprob, post, out, plan.n_threads, index,
                                           plan.path, plan.groups, plan.gemm)
            return out, post
        log_frameprob = dense(log_frameprob)
        if self.sparse is not None:
            _forward.sparse_posteriors(log_frameprob, offsets, self.log_startprob, self.sparse,
                                       self.log_endprob, post, out,
                                       self._threads(n_threads, offsets))
            return out, post
        _forward.posteriors(
            log_frameprob, offsets, self.log_startprob, self.transmat, self.log_transmat,
            self.log_endprob, post, out, self._threads(n_threads, offsets),
        )
        return out, post

    def viterbi(self, log_frameprob, offsets, n_threads=None):
        """Per-sequence best-path log-probabilities and the concatenated paths."""
        logprob = np.empty(offsets.shape[0] - 1)
        path = np.empty(log_frameprob.shape[0], dtype=np.int64)
        if self.sparse is not None:
            _viterbi.sparse_viterbi(dense(log_frameprob), offsets, self.log_startprob,
                                    self.sparse, self.log_endprob, logprob, path,
                                    self._threads(n_threads, offsets))
            return logprob, path
        # A categorical table is read through its index: no (T, N) matrix.
        table, index = split(log_frameprob)
        _viterbi.viterbi(
            table, offsets, self.log_startprob, self.log_transmat, self.log_endprob,
            logprob, path, self._threads(n_threads, offsets), index=index,
        )
        return logprob, path

    def estep(self, log_frameprob, offsets, n_threads=None):
        """Posteriors and expected counts summed over the batch.

        Returns
        -------
        dict
            ``loglik`` (n_seq,), ``posteriors`` (T, N), ``start_counts`` (N,),
            ``trans_counts`` (N, N), ``end_counts`` (N,), ``occupancy`` (N,):
            the posteriors summed over frames, which is the start counts plus
            the column sums of the transition counts (no pass over the (T, N)
            posteriors).
        """
        stats = self._estep(log_frameprob, offsets, n_threads)
        stats["occupancy"] = stats["start_counts"] + stats["trans_counts"].sum(axis=0)
        return stats

    def _estep(self, log_frameprob, offsets, n_threads=None):
        n = self.n_components
        chunks = backend.make_chunks(offsets, n)
        n_chunks = chunks.shape[0] - 1
        loglik = np.empty(offsets.shape[0] - 1)
        post = np.empty(log_frameprob.shape)
        start = np.empty((n_chunks, n))
        end = np.empty((n_chunks, n))
        if self.scaled:
            plan = backend.scaled_plan(offsets, n, n_threads, chunks)
            trans = np.empty((n_chunks, n, n))
            table, index = split(log_frameprob)
            with backend.blas_limit(n):
                _baumwelch.scaled_estep(table, offsets, chunks, self.log_startprob,
                                        self.transmat, self.log_endprob, post, loglik, start,
                                        trans, end, plan.n_threads, index, plan.path,
                                        plan.groups, plan.gemm)
            return {
                "loglik": loglik,
                "posteriors": post,
                "start_counts": start.sum(axis=0),
                "trans_counts": self.transmat * trans.sum(axis=0),
                "end_counts": end.sum(axis=0),
            }
        threads = backend.threads(n_threads, chunks, n, offsets[-1])
        log_frameprob = dense(log_frameprob)
        if self.sparse is not None:
            trans = np.empty((n_chunks, self.sparse.nnz))
            _baumwelch.sparse_estep(log_frameprob, offsets, chunks, self.log_startprob,
                                    self.sparse, self.log_endprob, post, loglik, start, trans,
                                    end, threads)
            return {
                "loglik": loglik,
                "posteriors": post,
                "start_counts": start.sum(axis=0),
                "trans_counts": self.sparse.to_dense(trans.sum(axis=0)),
                "end_counts": end.sum(axis=0),
            }
        trans = np.empty((n_chunks, n, n))
        _baumwelch.estep(
            log_frameprob, offsets, chunks, self.log_startprob, self.transmat,
            self.log_transmat, self.log_endprob, post, loglik, start, trans, end, threads,
        )
        return {
            "loglik": loglik,
            "posteriors": post,
            "start_counts": start.sum(axis=0),
            "trans_counts": trans.sum(axis=0),
            "end_counts": end.sum(axis=0),
        }

    def path_logprob(self, log_frameprob, offsets, path):
        """log P(x, path) of given state paths, one value per sequence."""
        log_frameprob = dense(log_frameprob)
        n_frames = log_frameprob.shape[0]
        starts = offsets[:-1]
        frame_terms = log_frameprob[np.arange(n_frames), path]
        trans_terms = np.empty(n_frames)
        trans_terms[1:] = self.log_transmat[path[:-1], path[1:]]
        trans_terms[starts] = self.log_startprob[path[starts]]
        total = np.add.reduceat(frame_terms + trans_terms, starts)
        return total + self.log_endprob[path[offsets[1:] - 1]]

