"""Sequences as users hold them: lists of arrays, DataFrames, split results, convergence."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from hmm_core import (
    CategoricalHMM,
    ConvergenceWarning,
    GaussianHMM,
    HigherOrderHMM,
    sequences_from_frame,
    split_sequences,
)
from hmm_core.kernels.validation import as_concatenated

pytestmark = pytest.mark.filterwarnings("ignore::hmm_core.ConvergenceWarning")


def _categorical_sequences(seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randint(0, 3, size=(n, 1)) for n in (7, 3, 11, 5)]


def _gaussian_sequences(seed=0):
    rng = np.random.RandomState(seed)
    return [np.concatenate([rng.normal(0, 1, (n, 2)), rng.normal(4, 1, (n, 2))])
            for n in (20, 9, 14)]


@pytest.mark.parametrize("make", [_categorical_sequences, _gaussian_sequences])
def test_a_list_of_sequences_is_x_with_lengths(make):
    sequences = make()
    X, lengths = np.concatenate(sequences), [len(s) for s in sequences]
    cls = CategoricalHMM if sequences[0].dtype.kind == "i" else GaussianHMM
    by_lengths = cls(2, random_state=1, n_iter=5).fit(X, lengths)
    by_list = cls(2, random_state=1, n_iter=5).fit(sequences)
    assert_array_equal(by_list.transmat_, by_lengths.transmat_)
    assert by_list.score(sequences) == by_lengths.score(X, lengths)
    assert_array_equal(by_list.score_sequences(sequences),
                       by_lengths.score_sequences(X, lengths))
    assert_array_equal(by_list.predict(sequences), by_lengths.predict(X, lengths))
    assert_array_equal(by_list.predict_proba(sequences), by_lengths.predict_proba(X, lengths))
    for algorithm in ("viterbi", "map"):
        logprob, path = by_list.decode(sequences, algorithm=algorithm)
        expected_logprob, expected_path = by_lengths.decode(X, lengths, algorithm=algorithm)
        assert logprob == expected_logprob
        assert_array_equal(path, expected_path)
    assert_array_equal(by_list.decode_sequences(sequences)[0],
                       by_lengths.decode_sequences(X, lengths)[0])
    assert by_list.bic(sequences) == by_lengths.bic(X, lengths)
    assert by_list.aic(tuple(sequences)) == by_lengths.aic(X, lengths)


def test_any_iterable_or_mapping_of_arrays_is_a_list_of_sequences():
    sequences = _categorical_sequences()
    X, lengths = np.concatenate(sequences), [len(s) for s in sequences]
    model = CategoricalHMM(2, random_state=0, n_iter=3).fit(X, lengths)
    expected = model.score_sequences(X, lengths)
    by_id = {f"s{k}": s for k, s in enumerate(sequences)}
    for source in (iter(sequences), (s for s in sequences), tuple(sequences), by_id,
                   by_id.values(), [pd.DataFrame(s) for s in sequences],
                   [s[:, 0] for s in sequences]):  # 1-D symbols, as one X may be
        assert_array_equal(model.score_sequences(source), expected)
    # A generator is read once, even where the method needs X twice (bic).
    assert model.bic(s for s in sequences) == model.bic(X, lengths)
    # Higher-order models validate through the same path.
    second = HigherOrderHMM(CategoricalHMM(2, random_state=0, n_iter=2), order=2)
    second.fit(sequences)
    assert_array_equal(second.predict(sequences), second.predict(X, lengths))


def test_hmmlearn_array_likes_and_chunks_are_left_alone():
    rows = [[0.0, 1.0], [1.0, 2.0]]
    assert as_concatenated(rows) == (rows, None)  # nested lists: rows of one X
    chunks = [(np.zeros((3, 1)), [3]), (np.ones((2, 1)), None)]  # (X, lengths) chunks
    assert as_concatenated(chunks) == (chunks, None)
    X = np.zeros((4, 1))
    assert as_concatenated(X, [2, 2])[0] is X
    one_shot = iter(chunks)
    back, _ = as_concatenated(one_shot)
    assert list(back) == chunks  # the item peeked at is given back


@pytest.mark.parametrize(("X", "lengths", "message"), [
    ([[0.0, 1.0], [1.0]], None, "ragged .* pass a list of arrays, one per sequence"),
    ([[0], [1, 2], [3]], None, "or concatenate them into X and pass their lengths="),
    ([np.zeros((3, 1)), np.zeros((2, 1))], [3, 2], "lengths must be None when X is a list"),
    ([np.zeros((3, 1)), np.zeros((0, 1))], None, "sequence 1 of X is empty"),
    ([np.zeros((3, 1)), np.zeros((2, 2))], None, r"sequence 1 of X has frames of shape"),
    ([np.zeros((3, 1)), np.zeros(2)], None, "sequence 1 of X is 1-D but sequence 0 is 2-D"),
    (iter([np.zeros((3, 1)), "abc"]), None, "sequence 1 of X is a str, not an array"),
])
def test_malformed_lists_say_how_to_pass_sequences(X, lengths, message):
    model = GaussianHMM(2, random_state=0)
    with pytest.raises(ValueError, match=message):
        model.fit(X, lengths)


def test_split_sequences_takes_lengths_or_the_sequences():
    sequences = _categorical_sequences()
    model = CategoricalHMM(2, random_state=0, n_iter=3).fit(sequences)
    paths = split_sequences(model.predict(sequences), sequences)
    assert [len(p) for p in paths] == [len(s) for s in sequences]
    for path, sequence in zip(paths, sequences, strict=True):
        assert_array_equal(path, model.predict(sequence))
    posteriors = split_sequences(model.predict_proba(sequences), [7, 3, 11, 5])
    assert [p.shape for p in posteriors] == [(7, 2), (3, 2), (11, 2), (5, 2)]
    by_id = split_sequences(np.arange(3), {"a": np.zeros(1), "b": np.zeros(2)})
    assert [p.tolist() for p in by_id] == [[0], [1, 2]]
    with pytest.raises(ValueError, match="sum to 5 but the values have 4 rows"):
        split_sequences(np.arange(4), [2, 3])
    with pytest.raises(ValueError, match="positive"):
        split_sequences(np.arange(4), [4, 0])


def test_sequences_from_an_unsorted_frame_keep_first_appearance():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                          "run": [7, 3, 7, 9, 3, 7],
                          "y": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    sequences, rows = sequences_from_frame(frame, "run", return_rows=True)
    assert list(sequences) == [7, 3, 9]
    assert sequences[7].tolist() == [[1.0, 0.1], [3.0, 0.3], [6.0, 0.6]]
    assert sequences[3].tolist() == [[2.0, 0.2], [5.0, 0.5]]
    assert rows.tolist() == [0, 2, 5, 1, 4, 3]
    one = sequences_from_frame(frame, "run", "y")
    assert one[3].tolist() == [0.2, 0.5]
    # The result feeds a model, and rows put per-frame results back in row order.
    model = GaussianHMM(2, random_state=0, n_iter=3).fit(sequences)
    states = np.empty(len(frame), dtype=np.int64)
    states[rows] = model.predict(sequences)
    for run, group in frame.groupby("run"):
        assert_array_equal(states[group.index], model.predict(sequences[run]))
    with pytest.raises(ValueError, match="no column 'z'"):
        sequences_from_frame(frame, "run", ["x", "z"])
    with pytest.raises(ValueError, match="no column 'id'"):
        sequences_from_frame(frame, "id")
    with pytest.raises(ValueError, match="missing values"):
        sequences_from_frame(pd.DataFrame({"id": ["a", None], "x": [1, 2]}), "id")


def test_pandas_is_imported_only_when_used(tmp_path):
    code = ("import sys, hmm_core, numpy as np; "
            "hmm_core.CategoricalHMM(2, n_iter=2).fit([np.zeros(3, int), np.ones(2, int)]); "
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, cwd=tmp_path, check=True, env={**os.environ})
    assert out.stdout.strip() == "False"


def test_em_that_runs_out_of_iterations_warns():
    assert issubclass(ConvergenceWarning, UserWarning)
    sequences = _gaussian_sequences()
    with pytest.warns(ConvergenceWarning, match="n_iter=1 iterations without converging"):
        model = GaussianHMM(2, random_state=0, n_iter=1).fit(sequences)
    assert not model.monitor_.converged
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = GaussianHMM(2, random_state=0, n_iter=200, tol=1e-2).fit(sequences)
    assert model.monitor_.converged


def test_categorical_plots_use_the_alphabet_and_draw_symbols():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from hmm_core import plot

    rng = np.random.RandomState(0)
    X = rng.randint(0, 4, size=(60, 1))
    model = CategoricalHMM(2, random_state=0, n_iter=3).fit(X)
    fig = plot.plot_posteriors(model, X, alphabet="DNA")
    observations = fig.axes[2]
    assert [t.get_text() for t in observations.get_yticklabels()] == list("ACGT")
    assert not observations.get_lines()  # symbols, not a line
    assert [t.get_text() for t in observations.texts[:3]] == ["ACGT"[x] for x in X[:3, 0]]
    long = rng.randint(0, 4, size=(400, 1))
    fig = plot.plot_posteriors(model, long, alphabet=["A", "C", "G", "T"])
    assert not fig.axes[2].get_lines() and fig.axes[2].collections
    fig = plot.plot_emissions(model, alphabet={"symbols": list("ACGT"), "name": "DNA"})
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list("ACGT")
    with pytest.raises(ValueError, match="the alphabet has 2 symbols but the model emits 4"):
        plot.plot_emissions(model, alphabet="AB")


def test_markov_chains_and_state_labels_take_lists_too():
    from hmm_core import HigherOrderMarkovChain, MarkovChain

    sequences = [np.array([0, 1, 1, 2]), np.array([2, 0, 1]), np.array([1, 1, 0, 2, 2])]
    X, lengths = np.concatenate(sequences), [len(s) for s in sequences]
    for make in (MarkovChain, lambda: HigherOrderMarkovChain(order=2)):
        by_list, by_lengths = make().fit(sequences), make().fit(X, lengths)
        assert_array_equal(by_list.startprob_, by_lengths.startprob_)
        assert_array_equal(by_list.score_sequences(sequences),
                           by_lengths.score_sequences(X, lengths))
    named = MarkovChain(state_names=["x", "y"]).fit([np.array(["x", "y", "x"]),
                                                     np.array(["y", "y"])])
    assert_array_equal(named.transmat_, [[0, 1], [0.5, 0.5]])
    # fit's states= follows X: one array of labels per sequence.
    labels = [np.array([0, 0, 1, 1]), np.array([1, 0, 0]), np.array([0, 1, 1, 0, 0])]
    by_list = CategoricalHMM(2).fit(sequences, states=labels)
    by_lengths = CategoricalHMM(2).fit(X, lengths, states=np.concatenate(labels))
    assert_array_equal(by_list.transmat_, by_lengths.transmat_)
    assert_array_equal(by_list.emissionprob_, by_lengths.emissionprob_)
