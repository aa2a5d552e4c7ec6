"""Bad input gets a ValueError naming the argument, never a crash or NaN."""

import numpy as np
import pytest

import hmm_core
from hmm_core import CategoricalHMM
from hmm_core.kernels import _baumwelch, _forward, _viterbi

LS = np.log([0.4, 0.6])
A = np.array([[0.6, 0.4], [0.2, 0.8]])
LF = np.log([[0.3, 0.4], [0.45, 0.1], [0.2, 0.2]])


@pytest.mark.parametrize("func", [hmm_core.forward, hmm_core.backward,
                                  hmm_core.posteriors, hmm_core.viterbi])
@pytest.mark.parametrize("kwargs,match", [
    ({"log_startprob": [0.0]}, "transmat must have shape"),
    ({"log_startprob": np.log([0.5, 0.6])}, "exp\\(log_startprob\\) must sum to 1"),
    ({"log_startprob": [np.nan, 0.0]}, "log_startprob must not contain NaN"),
    ({"log_startprob": [[0.0, -np.inf]]}, "log_startprob must be 1-D"),
    ({"transmat": [[0.6, 0.4], [0.2, 0.7]]}, "rows of transmat must sum to 1"),
    ({"transmat": [[1.2, -0.2], [0.2, 0.8]]}, "transmat must be non-negative"),
    ({"transmat": [[np.nan, 1.0], [0.2, 0.8]]}, "transmat must be finite"),
    ({"transmat": np.eye(3)}, "transmat must have shape \\(2, 2\\)"),
    ({"transmat": [[1.0, 0.0]]}, "transmat must be a non-empty square matrix"),
    ({"log_frameprob": LF[:, :1]}, "log_frameprob must have 2 columns"),
    ({"log_frameprob": np.empty((0, 2))}, "log_frameprob is empty"),
    ({"log_frameprob": np.where(np.eye(3, 2) > 0, np.nan, LF)}, "must not contain NaN"),
    ({"log_frameprob": np.full((3, 2), np.inf)}, "must not contain NaN or \\+inf"),
    ({"log_frameprob": LF[:, 0]}, "log_frameprob must be 2-D"),
    ({"log_frameprob": [["a", "b"]]}, "log_frameprob must be numeric"),
    ({"lengths": [2, 2]}, "lengths must sum to the number of frames in X \\(3\\)"),
    ({"lengths": [3, 0]}, "lengths must be positive"),
    ({"lengths": [-1, 4]}, "lengths must be positive"),
    ({"lengths": [1.5, 1.5]}, "lengths must hold integers"),
    ({"lengths": []}, "lengths must be a non-empty"),
    ({"log_endprob": [0.0]}, "log_endprob must have length 2"),
    ({"log_endprob": [np.nan, 0.0]}, "log_endprob holds log-probabilities"),
    ({"log_endprob": [-np.inf, -np.inf]}, "log_endprob must let at least one state end"),
    ({"log_endprob": np.log([0.5, 0.5])}, "rows of transmat plus endprob must sum to 1"),
])
def test_functional_api_rejects_bad_input(func, kwargs, match):
    args = {"log_startprob": LS, "transmat": A, "log_frameprob": LF, "lengths": None,
            "log_endprob": None}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        func(**args)


def _model():
    model = CategoricalHMM(2)
    model.startprob_ = np.array([0.4, 0.6])
    model.transmat_ = A.copy()
    model.emissionprob_ = np.array([[0.3, 0.45, 0.2, 0.05], [0.4, 0.1, 0.2, 0.3]])
    return model


@pytest.mark.parametrize("X,lengths,match", [
    ([[0], [4]], None, "symbol 4 but n_features is 4"),
    ([[0], [-2]], None, "symbols >= 0 \\(or -1 for a missing frame\\)"),
    ([[-1], [-1]], None, "every frame is missing"),
    ([[0.5], [1.0]], None, "integer symbols"),
    ([[np.nan], [1.0]], None, "integer symbols"),
    (np.empty((0, 1), dtype=int), None, "X is empty"),
    ([[0, 1], [1, 2]], None, "column of symbols"),
    ([["a"], ["b"]], None, "integer symbols"),
    ([[0], [1], [2]], [2, 2], "lengths must sum to the number of frames in X \\(3\\)"),
    ([[0], [1], [2]], [3, 0], "lengths must be positive"),
])
@pytest.mark.parametrize("method", ["score", "score_samples", "decode", "predict",
                                    "predict_proba", "score_sequences"])
def test_model_rejects_bad_observations(X, lengths, match, method):
    with pytest.raises(ValueError, match=match):
        getattr(_model(), method)(np.asarray(X), lengths)


@pytest.mark.parametrize("attribute,value,match", [
    ("startprob_", [0.5, 0.6], "startprob_ must sum to 1"),
    ("startprob_", [np.nan, 1.0], "startprob_ must be finite"),
    ("startprob_", [1.0, 0.0, 0.0], "startprob_ must have length 2"),
    ("transmat_", [[0.5, 0.6], [0.2, 0.8]], "rows of transmat_ must sum to 1"),
    ("transmat_", [[-0.5, 1.5], [0.2, 0.8]], "transmat_ must be non-negative"),
    ("transmat_", [[0.5, 0.5]], "transmat_ must be a non-empty square"),
    ("emissionprob_", [[0.3, 0.45, 0.2, 0.05], [0.4, 0.1, 0.2, 0.4]],
     "rows of emissionprob_ must sum to 1"),
    ("emissionprob_", [[0.3, 0.7], [0.4, np.nan]], "emissionprob_ must be finite"),
    ("emissionprob_", [[0.5, 0.5]], "emissionprob_ must have shape \\(2, 2\\), got \\(1, 2\\)"),
    ("endprob_", [0.5, 1.5], "endprob_ must hold probabilities"),
    ("endprob_", [0.5, 0.5], "rows of transmat_ plus endprob_ must sum to 1"),
])
def test_model_rejects_bad_parameters(attribute, value, match):
    model = _model()
    setattr(model, attribute, np.array(value))
    if attribute == "emissionprob_" and np.shape(value)[1] == 2:
        model.n_features = 2
    with pytest.raises(ValueError, match=match):
        model.score(np.array([[0], [1]]))


@pytest.mark.parametrize("kwargs,match", [
    ({"n_components": 0}, "n_components must be a positive integer"),
    ({"algorithm": "beam"}, "algorithm must be one of"),
    ({"params": "stx"}, "params has unknown letters"),
    ({"init_params": "q"}, "init_params has unknown letters"),
    ({"n_iter": -1}, "n_iter must be a non-negative integer"),
    ({"n_threads": 0}, "n_threads must not be 0"),
    ({"random_state": "seed"}, "random_state must be"),
])
def test_model_rejects_bad_settings(kwargs, match):
    X = np.array([[0], [1], [2], [1]] * 200)
    with pytest.raises(ValueError, match=match):
        CategoricalHMM(**{"n_components": 2, **kwargs}).fit(X, [400, 400])


def test_unfitted_model_says_so():
    with pytest.raises(ValueError, match="startprob_ is not set"):
        CategoricalHMM(2).score(np.array([[0]]))
    model = CategoricalHMM(2)
    model.startprob_, model.transmat_ = np.array([0.5, 0.5]), A
    with pytest.raises(ValueError, match="emissionprob_ is not set"):
        model.score(np.array([[0]]))


def test_fit_never_leaves_nan_with_degenerate_data():
    # One symbol only, more states than distinct observations.
    X = np.zeros((50, 1), dtype=int)
    model = CategoricalHMM(4, n_iter=20, random_state=0).fit(X, [25, 25])
    for name in ("startprob_", "transmat_", "emissionprob_"):
        assert np.all(np.isfinite(getattr(model, name)))
    assert np.isfinite(model.score(X))


def test_kernels_refuse_out_of_bounds_offsets():
    # The compiled kernels check their arguments themselves: whatever the
    # caller passes, they never read or write out of bounds.
    lf = np.ascontiguousarray(LF)
    out = np.empty(1)
    lt = np.log(A)
    for offsets, match in [([0, 5], "end at the number of frames"),
                           ([1, 3], "start at 0"),
                           ([0, 2, 1, 3], "strictly increasing"),
                           ([0], "at least two")]:
        offsets = np.array(offsets, dtype=np.int64)
        n_seq = max(len(offsets) - 1, 1)
        with pytest.raises(ValueError, match=match):
            _forward.forward_loglik(lf, offsets, LS, A, lt, np.zeros(2), np.empty(n_seq), 1)
        with pytest.raises(ValueError, match=match):
            _viterbi.viterbi(lf, offsets, LS, lt, np.zeros(2), np.empty(n_seq),
                             np.empty(3, dtype=np.int64), 1)
        with pytest.raises(ValueError, match=match):
            _forward.posteriors(lf, offsets, LS, A, lt, np.zeros(2), np.empty_like(lf),
                                np.empty(n_seq), 1)
    offsets = np.array([0, 3], dtype=np.int64)
    with pytest.raises(ValueError, match="log_startprob must have length 2"):
        _forward.forward_loglik(lf, offsets, LS[:1], A, lt, np.zeros(2), out, 1)
    with pytest.raises(ValueError, match="transmat must have shape"):
        _forward.forward_loglik(lf, offsets, LS, A[:1], lt, np.zeros(2), out, 1)
    with pytest.raises(ValueError, match="loglik must have length 1"):
        _forward.forward_loglik(lf, offsets, LS, A, lt, np.zeros(2), np.empty(2), 1)
    with pytest.raises(ValueError, match="path must have length 3"):
        _viterbi.viterbi(lf, offsets, LS, lt, np.zeros(2), out, np.empty(2, dtype=np.int64), 1)
    with pytest.raises(ValueError, match="chunks must run"):
        _baumwelch.estep(lf, offsets, np.array([0, 2], dtype=np.int64), LS, A, lt,
                         np.zeros(2), np.empty_like(lf), out, np.empty((1, 2)),
                         np.empty((1, 2, 2)), np.empty((1, 2)), 1)
