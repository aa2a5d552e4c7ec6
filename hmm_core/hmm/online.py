"""Online inference: frames arrive over time, decisions are made as they come.

:class:`OnlineFilter` (``model.filter()``) keeps the normalised forward
vector: ``update(frames)`` returns the filtered state probabilities
``P(z_t | x_0..x_t)`` of each new frame and adds to the running
log-likelihood; with ``lag=L`` it also releases the fixed-lag smoothed
posteriors ``P(z_{t-L} | x_0..x_t)`` (:meth:`OnlineFilter.smoothed`), and
:meth:`OnlineFilter.finish` releases the last ones with the whole sequence
seen, so with ``L`` at least the length they are the offline posteriors.

:class:`OnlineViterbi` (``model.online_viterbi()``) keeps the Viterbi
scores and the back-pointers of the frames not decided yet: a frame's state
is emitted as soon as every surviving path agrees on it (those states are
then those of the offline Viterbi path), or, with ``lag=L``, also once it
is ``L`` frames old (the state on the best path so far).

Both run the compiled block kernels (``hmm_core.kernels._blocks``). Both
pickle, and ``save(path)`` writes the model file with the state in its
metadata (floats as exact hexadecimal strings): ``OnlineFilter.load(path)``
(or ``OnlineViterbi.load``) continues exactly where the saved one stopped.
"""

from __future__ import annotations

import numpy as np

from hmm_core.functional._blockrun import _exp_rows
from hmm_core.io.modelfile import load_model, read_metadata
from hmm_core.kernels import _blocks
from hmm_core.kernels.frames import FrameTable

__all__ = ["OnlineFilter", "OnlineViterbi"]

# Key of the user metadata holding a saved filter's state.
_KEY = "hmm_core.online"


def _hex(values):
    """Floats as exact hexadecimal strings (JSON has no inf and rounds decimals)."""
    arr = np.asarray(values, dtype=np.float64)
    return {"shape": list(arr.shape), "hex": [float(v).hex() for v in arr.reshape(-1)]}


def _unhex(entry):
    values = np.array([float.fromhex(v) for v in entry["hex"]], dtype=np.float64)
    return values.reshape(entry["shape"])


class _Saved:
    """``save(path)`` / ``load(path)`` through a model file carrying the state."""

    _state_floats: tuple = ()
    _state_other: tuple = ()

    def save(self, path):
        """Write the model and this object's state to a model file.

        Parameters
        ----------
        path : str or path-like
            The model file (``.npz``); :meth:`load` continues from it exactly.
        """
        state = {"class": type(self).__name__, "lag": self.lag}
        for name in self._state_floats:
            state[name] = _hex(getattr(self, name))
        for name in self._state_other:
            value = getattr(self, name)
            state[name] = value.tolist() if isinstance(value, np.ndarray) else value
        self._frames.model.save(path, metadata={_KEY: state})

    @classmethod
    def load(cls, path):
        """Read an object written by :meth:`save`, ready to continue.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        OnlineFilter or OnlineViterbi
            The saved object, its model read from the same file.
        """
        state = (read_metadata(path).get("user") or {}).get(_KEY)
        if not isinstance(state, dict) or state.get("class") != cls.__name__:
            raise ValueError(f"{path} holds no saved {cls.__name__}")
        self = cls(load_model(path), state["lag"])
        for name in self._state_floats:
            setattr(self, name, _unhex(state[name]))
        self._restore(state)
        return self


def _check_lag(lag, allow_none):
    if lag is None and allow_none:
        return None
    if (isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0):
        raise ValueError(f"lag must be a non-negative integer, got {lag!r}")
    return int(lag)


class _Frames:
    """Emission likelihoods of incoming frames, as the block kernels take them."""

    def __init__(self, model):
        self.model = model
        self.chain = model._check()
        emission = model._get_emission()
        # Categorical models without tied states read a fixed table: frames
        # are checked against it directly (a few microseconds a call).
        self.table = None
        if hasattr(emission, "frame_table") and model._emission_map() is None:
            table = emission._log_table
            self.table = (table.shape[0] - 1, *_exp_rows(table))

    def __getstate__(self):
        return {"model": self.model}

    def __setstate__(self, state):
        self.__init__(state["model"])

    def scaled(self, frames):
        """``(emit, shift, index)`` of the frames."""
        if self.table is not None:
            index = self._symbols(frames)
            if index is not None:
                return self.table[1], self.table[2], index
        table = self._log(frames)
        if isinstance(table, FrameTable):
            emit, shift = _exp_rows(table.table)
            return emit, shift, table.index
        emit, shift = _exp_rows(table)
        return emit, shift, np.arange(emit.shape[0], dtype=np.int64)

    def dense(self, frames):
        table = self._log(frames)
        return table.dense() if isinstance(table, FrameTable) else np.ascontiguousarray(table)

    def _symbols(self, frames):
        arr = np.asarray(frames)
        if arr.dtype.kind not in "iu" or arr.ndim not in (1, 2):
            return None
        if arr.ndim == 2 and arr.shape[1] != 1:
            raise ValueError(f"frames must be a column of symbols, shape (n, 1) or (n,), "
                             f"got shape {arr.shape}")
        if arr.size == 0:
            raise ValueError("frames is empty: expected at least one frame")
        arr = arr.reshape(-1)
        n_symbols = self.table[0]
        low, high = arr.min(), arr.max()
        if low < -1 or high >= n_symbols:
            raise ValueError(f"frames must hold symbols in 0..{n_symbols - 1} (or -1 for a "
                             f"missing frame), found {low if low < -1 else high}")
        index = arr.astype(np.int64)
        return np.where(index < 0, n_symbols, index) if low < 0 else index

    def single(self, frames):
        """Table row of one symbol given as a (1, 1) or (1,) integer array, else None."""
        if (self.table is None or frames.dtype.kind not in "iu"
                or frames.shape not in ((1, 1), (1,))):
            return None
        value = frames.item()
        if value < -1 or value >= self.table[0]:
            raise ValueError(f"frames must hold symbols in 0..{self.table[0] - 1} (or -1 for "
                             f"a missing frame), found {value}")
        return value if value >= 0 else self.table[0]

    def _log(self, frames):
        model = self.model
        X = model._get_emission().check_X(frames)
        return model._log_frameprob(X)


class OnlineFilter(_Saved):
    """Forward filtering and fixed-lag smoothing of frames that arrive over time.

    Made by ``model.filter(lag)``; the model's parameters are read when the
    filter is made (later changes to the model are not seen). Blocks of
    frames run in one compiled call; a single symbol of a categorical model,
    given as a (1, 1) or (1,) integer array with ``lag=0``, takes a compiled
    step of a few microseconds. The filter runs in the scaled linear domain
    (normalised forward vectors), exact for chains whose transitions are
    all at least ``SCALED_MIN_TRANSITION`` or zero.

    Parameters
    ----------
    model : BaseHMM
        A model with set parameters.
    lag : int, default=0
        Frames of delay of the smoothed posteriors (0: the filtered ones).

    Attributes
    ----------
    loglik : float
        ``log P(x_0..x_t)`` of the frames so far (without the end probabilities).
    n_frames : int
        Frames seen.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core import CategoricalHMM
    >>> model = CategoricalHMM(n_components=2, n_features=2)
    >>> model.startprob_ = np.array([0.5, 0.5])
    >>> model.transmat_ = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> model.emissionprob_ = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> filt = model.filter(lag=2)
    >>> filt.update([[0], [1], [1]]).shape
    (3, 2)
    >>> filt.smoothed().shape   # frame 0, now two frames old
    (1, 2)
    """

    _state_floats = ("_alpha", "_window_alpha", "_window_emit", "_before", "_pending",
                     "_loglik")

    def __init__(self, model, lag=0):
        self.lag = _check_lag(lag, False)
        self._frames = _Frames(model)
        n = self._frames.chain.n_components
        self.loglik = 0.0
        self.n_frames = 0
        self._alpha = np.zeros(n)
        self._empty = np.empty((0, n))
        # the last `lag` frames: forward vectors, emission rows, and the forward
        # vector before them; smoothed rows waiting to be taken
        self._window_alpha = np.empty((0, n))
        self._window_emit = np.empty((0, n))
        self._before = np.zeros(n)
        self._ready = []

    def update(self, frames):
        """Take new frames; return their filtered state probabilities.

        Parameters
        ----------
        frames : array-like of shape (n_new, n_features)
            Observations in the model's format (a column of symbols for a
            categorical model).

        Returns
        -------
        ndarray of shape (n_new, n_components)
            ``P(z_t = i | x_0..x_t)`` of each new frame; all zero once the
            frames seen are impossible under the model (``loglik`` -inf).
        """
        if type(frames) is np.ndarray and frames.size == 1 and not self.lag:
            row = self._frames.single(frames)
            if row is not None and self.loglik > -np.inf:
                return self._one(row)
        chain = self._frames.chain
        emit, shift, index = self._frames.scaled(frames)
        out = np.zeros((index.shape[0], chain.n_components))
        if self.loglik == -np.inf:
            self.n_frames += index.shape[0]
            return out
        part = _blocks.forward_block(emit, shift, index, chain.transmat, self._alpha,
                                     self.n_frames == 0, chain.startprob, out)
        self.n_frames += index.shape[0]
        self.loglik += part
        if part == -np.inf:
            out[:] = 0.0
            self._window_alpha = self._window_alpha[:0]
            return out
        if self.lag:
            self._smooth(out, emit[index])
        return out

    # saved state: floats exactly, the rest as JSON
    @property
    def _loglik(self):
        return self.loglik

    @_loglik.setter
    def _loglik(self, value):
        self.loglik = float(value)

    @property
    def _pending(self):
        return np.concatenate(self._ready) if self._ready else self._empty

    @_pending.setter
    def _pending(self, value):
        self._ready = [value.reshape(-1, self._empty.shape[1])] if value.size else []

    _state_other = ("n_frames",)

    def _restore(self, state):
        self.n_frames = int(state["n_frames"])
        n = self._empty.shape[1]
        self._window_alpha = self._window_alpha.reshape(-1, n)
        self._window_emit = self._window_emit.reshape(-1, n)

    def _one(self, row):
        # one symbol: the compiled step with its arrays bound once
        step = self.__dict__.get("_step")
        if step is None:
            chain, table = self._frames.chain, self._frames.table
            step = self._step = _blocks.FilterStep(table[1], table[2], chain.transmat,
                                                   chain.startprob, self._alpha)
        out, part = step.step(row, self.n_frames == 0)
        self.n_frames += 1
        self.loglik += part
        return out

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_step", None)
        return state

    def _smooth(self, alphas, emits):
        chain, lag = self._frames.chain, self.lag
        window_alpha = np.concatenate([self._window_alpha, alphas])
        window_emit = np.concatenate([self._window_emit, emits])
        before = self._before
        n_old = window_alpha.shape[0] - lag
        if n_old > 0:
            trans_t = np.ascontiguousarray(chain.transmat.T)
            sink = np.zeros((chain.n_components, chain.n_components))
            rows = np.arange(window_alpha.shape[0], dtype=np.int64)
            for k in range(n_old):
                # frame k's posterior given everything up to k + lag
                stop = k + lag + 1
                beta = np.ones(chain.n_components) / chain.n_components
                post = np.empty((stop - k, chain.n_components))
                _blocks.backward_block(window_emit, rows[k:stop], chain.transmat, trans_t,
                                       window_alpha[k:stop],
                                       before if k == 0 else window_alpha[k - 1],
                                       self.n_frames - window_alpha.shape[0] + k == 0,
                                       beta, post, sink)
                self._ready.append(post[:1])
            before = window_alpha[n_old - 1].copy()
            window_alpha, window_emit = window_alpha[n_old:], window_emit[n_old:]
        self._window_alpha = np.ascontiguousarray(window_alpha)
        self._window_emit = np.ascontiguousarray(window_emit)
        self._before = before

    def smoothed(self):
        """Take the fixed-lag smoothed posteriors released since the last call.

        Returns
        -------
        ndarray of shape (n_released, n_components)
            ``P(z_t = i | x_0..x_{t+lag})`` of the frames now ``lag`` frames
            old, oldest first (with ``lag=0``: nothing; use ``update``'s value).
        """
        ready, self._ready = self._ready, []
        if not ready:
            return self._empty.copy()
        return np.concatenate(ready)

    def finish(self):
        """End of the sequence: the posteriors of the frames still held back.

        The end probabilities enter here, so ``smoothed()`` followed by
        ``finish()`` over a whole sequence with ``lag`` at least its length
        gives the offline posteriors.

        Returns
        -------
        ndarray of shape (n_held, n_components)
            Smoothed posteriors not yet taken with :meth:`smoothed`,
            followed by those of the frames still in the lag window.
        """
        chain = self._frames.chain
        released = self.smoothed()
        window = self._window_alpha
        if window.shape[0] == 0 or self.loglik == -np.inf:
            return released
        beta = np.ones(chain.n_components) if chain.endprob is None else chain.endprob.copy()
        beta /= beta.sum()
        post = np.empty_like(window)
        _blocks.backward_block(self._window_emit, np.arange(window.shape[0], dtype=np.int64),
                               chain.transmat, np.ascontiguousarray(chain.transmat.T), window,
                               self._before, self.n_frames == window.shape[0], beta, post,
                               np.zeros((chain.n_components, chain.n_components)))
        self._window_alpha = window[:0]
        self._window_emit = self._window_emit[:0]
        return np.concatenate([released, post])

    @property
    def probabilities(self):
        """Filtered state probabilities of the last frame, (n_components,)."""
        return self._alpha.copy() if self.n_frames else self._frames.chain.startprob.copy()


class OnlineViterbi(_Saved):
    """Viterbi decoding of frames that arrive over time.

    Made by ``model.online_viterbi(lag)``. ``update`` returns the states of
    the frames decided by that update: every surviving path agrees on them,
    so they are those of the offline Viterbi path of any continuation (ties
    to the lowest state, as offline). With ``lag=L`` a frame ``L`` frames
    old is decided anyway, as the state on the best path so far.

    Parameters
    ----------
    model : BaseHMM
        A model with set parameters (at most 256 states).
    lag : int, optional
        Commit every frame at most this many frames old; None waits for
        the paths to agree.

    Examples
    --------
    >>> import numpy as np
    >>> from hmm_core import CategoricalHMM
    >>> model = CategoricalHMM(n_components=2, n_features=2)
    >>> model.startprob_ = np.array([0.5, 0.5])
    >>> model.transmat_ = np.array([[0.99, 0.01], [0.01, 0.99]])
    >>> model.emissionprob_ = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> online = model.online_viterbi()
    >>> decided = online.update([[0], [0], [1], [1]])
    >>> np.concatenate([decided, online.finish()]).tolist()
    [1, 1, 1, 1]
    """

    def __init__(self, model, lag=None):
        self.lag = _check_lag(lag, True)
        self._frames = _Frames(model)
        chain = self._frames.chain
        if chain.n_components > 256:
            raise ValueError("online Viterbi supports at most 256 states")
        self._packed = _blocks.viterbi_pack(chain.log_transmat)
        n_pad = self._packed.shape[1]
        self._delta = None
        self._bp = np.empty((0, n_pad), dtype=np.uint8)   # rows of undecided frames
        self.n_frames = 0
        self.n_decided = 0

    _state_other = ("n_frames", "n_decided", "_bp")

    @property
    def _scores(self):
        return np.zeros(0) if self._delta is None else self._delta

    @_scores.setter
    def _scores(self, value):
        self._delta = value if value.size else None

    _state_floats = ("_scores",)

    def _restore(self, state):
        self.n_frames, self.n_decided = int(state["n_frames"]), int(state["n_decided"])
        self._bp = np.array(state["_bp"], dtype=np.uint8).reshape(-1, self._packed.shape[1])

    def update(self, frames):
        """Take new frames; return the states decided by them (oldest first).

        Parameters
        ----------
        frames : array-like of shape (n_new, n_features)

        Returns
        -------
        ndarray of int64
            States of frames ``n_decided`` onwards that are now decided.
        """
        chain = self._frames.chain
        lf = self._frames.dense(frames)
        n_pad = self._packed.shape[1]
        bp = np.zeros((lf.shape[0], n_pad), dtype=np.uint8)
        if self._delta is None:
            self._delta = np.full(n_pad, -np.inf)
            self._delta[:chain.n_components] = chain.log_startprob + lf[0]
            _blocks.viterbi_block(lf[1:], self._packed, self._delta, bp[1:])
        else:
            _blocks.viterbi_block(lf, self._packed, self._delta, bp)
        self._bp = np.concatenate([self._bp, bp])
        self.n_frames += lf.shape[0]
        return self._decide()

    def _decide(self):
        n = self._frames.chain.n_components
        alive = np.flatnonzero(self._delta[:n] > -np.inf)
        held = self._bp.shape[0]
        if alive.size == 0 or held == 0:
            return np.empty(0, dtype=np.int64)
        # trace every surviving path back; frames before the point where they merge are decided
        states = alive
        merged = held - 1 if alive.size == 1 else -1
        for t in range(held - 1 if merged < 0 else 0, 0, -1):
            states = np.unique(self._bp[t, states])
            if states.size == 1:
                merged = t - 1
                break
        forced = held - 1 - self.lag if self.lag is not None else -1
        if merged < 0 and forced < 0:
            return np.empty(0, dtype=np.int64)
        if merged >= forced:
            last = merged
            state = int(states[0])
        else:
            last = forced
            state = int(np.argmax(self._delta[:n]))
            for t in range(held - 1, last, -1):
                state = int(self._bp[t, state])
        path = np.empty(last + 1, dtype=np.int64)
        _blocks.viterbi_trace(np.ascontiguousarray(self._bp[1:last + 1]), state, path[1:])
        path[0] = self._bp[1, path[1]] if last >= 1 else state
        self._bp = self._bp[last + 1:]
        self.n_decided += last + 1
        return path

    def finish(self):
        """End of the sequence: the states of the frames not decided yet.

        Returns
        -------
        ndarray of int64
            With the end probabilities, the rest of the best path; -1 for every
            undecided frame when no path is possible.
        """
        chain = self._frames.chain
        held = self._bp.shape[0]
        if held == 0:
            return np.empty(0, dtype=np.int64)
        scores = self._delta[:chain.n_components] + chain.log_endprob
        state = int(np.argmax(scores))
        if not scores[state] > -np.inf:
            path = np.full(held, -1, dtype=np.int64)
        else:
            path = np.empty(held, dtype=np.int64)
            first = _blocks.viterbi_trace(np.ascontiguousarray(self._bp[1:]), state, path[1:])
            path[0] = first if held > 1 else state
        self._bp = self._bp[held:]
        self.n_decided += held
        return path
