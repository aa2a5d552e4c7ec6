"""Tests for hmm_core.markov_chain (observable Markov chains)."""

import csv
import importlib.resources
import itertools
import time
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from hmm_core.chains.markov_chain import HigherOrderMarkovChain, MarkovChain, UnvisitedStateWarning

TWO_STATE = np.array([[0.6, 0.4], [0.2, 0.8]])
WEATHER = np.array([[0.9, 0.1], [0.5, 0.5]])  # Sunny, Rainy
THREE_STATE = np.array([[0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.25, 0.25, 0.5]])
SEATTLE_STATES = ["sun", "fog", "rain", "drizzle", "snow"]


def gamblers_ruin(p, n=4):
    """States 0..n, absorbing at 0 and n, win (move up) with probability p."""
    T = np.zeros((n + 1, n + 1))
    T[0, 0] = T[n, n] = 1.0
    for i in range(1, n):
        T[i, i + 1], T[i, i - 1] = p, 1.0 - p
    return T


def ruin_formulas(p, n=4):
    """Hand formulas: P(reach n from i) and E[duration from i] for i = 1..n-1."""
    i = np.arange(1, n)
    if p == 0.5:
        return i / n, i * (n - i)
    q = 1.0 - p
    r = q / p
    win = (1 - r**i) / (1 - r**n)
    return win, i / (q - p) - n / (q - p) * win


def seattle_weather():
    path = importlib.resources.files("hmm_core") / "data" / "seattle-weather.csv"
    with path.open("r", newline="") as fh:
        return [row["weather"] for row in csv.DictReader(fh)]


# --------------------------------------------------------------------------- stationary / mixing
def test_two_state_stationary_and_second_eigenvalue():
    mc = MarkovChain.from_params([0.5, 0.5], TWO_STATE)
    pi = mc.stationary_distribution()
    assert_allclose(pi, [1 / 3, 2 / 3], atol=1e-14)
    assert_allclose(pi @ TWO_STATE, pi, atol=1e-14)
    assert mc.second_eigenvalue_modulus() == pytest.approx(0.4, abs=1e-12)
    assert mc.relaxation_time() == pytest.approx(1 / 0.6, rel=1e-12)
    assert mc.is_irreducible() and mc.is_aperiodic() and mc.period() == 1
    assert_allclose(mc.stationary_distributions(), [[1 / 3, 2 / 3]], atol=1e-14)


def test_weather_one_step_and_huge_n_steps():
    mc = MarkovChain.from_params([1.0, 0.0], WEATHER, state_names=["sunny", "rainy"])
    assert_allclose(mc.predict_distribution([1.0, 0.0], 1), [0.9, 0.1])
    assert_allclose(mc.predict_distribution("sunny", 1), [0.9, 0.1])
    assert_allclose(mc.predict_distribution(1, 0), [0.0, 1.0])
    pi = mc.stationary_distribution()
    assert_allclose(pi, [5 / 6, 1 / 6], atol=1e-14)
    t0 = time.perf_counter()
    far = mc.predict_distribution([1.0, 0.0], 10**9)
    elapsed = time.perf_counter() - t0
    assert_allclose(far, pi, atol=1e-13)
    assert elapsed < 0.5  # ~30 squarings of a 2x2 matrix, not 1e9 products
    assert_allclose(mc.n_step_transmat(10**9), np.vstack([pi, pi]), atol=1e-13)


def test_n_step_transmat_matches_repeated_products():
    mc = MarkovChain.from_params(None, THREE_STATE)
    assert_allclose(mc.n_step_transmat(0), np.eye(3))
    assert_allclose(mc.n_step_transmat(5), np.linalg.matrix_power(THREE_STATE, 5), atol=1e-14)
    p = np.array([0.2, 0.3, 0.5])
    assert_allclose(mc.predict_distribution(p, 7), p @ np.linalg.matrix_power(THREE_STATE, 7))


def test_periodic_chain():
    cycle = MarkovChain.from_params(None, np.roll(np.eye(3), 1, axis=1))
    assert cycle.period(0) == 3
    assert cycle.period([0, 1, 2]) == 3
    assert cycle.period() == 3
    assert not cycle.is_aperiodic()
    assert cycle.second_eigenvalue_modulus() == pytest.approx(1.0)
    assert cycle.relaxation_time() == np.inf
    assert_allclose(cycle.stationary_distribution(), np.full(3, 1 / 3))
    # a 4-cycle with a chord 0->2 has cycles of length 4 and 3 -> period 1
    T = np.roll(np.eye(4), 1, axis=1)
    T[0] = [0, 0.5, 0.5, 0]
    assert MarkovChain.from_params(None, T).period(1) == 1
    # bipartite random walk on a 4-cycle -> period 2
    walk = 0.5 * (np.roll(np.eye(4), 1, axis=1) + np.roll(np.eye(4), -1, axis=1))
    assert MarkovChain.from_params(None, walk).period(2) == 2
    with pytest.raises(ValueError, match="not a communicating class"):
        cycle.period([0, 1])


def test_two_closed_classes_named_in_error():
    T = np.array(
        [
            [0.5, 0.5, 0, 0, 0],
            [0.5, 0.5, 0, 0, 0],
            [0, 0, 0.3, 0.7, 0],
            [0, 0, 1.0, 0, 0],
            [0.2, 0, 0.3, 0, 0.5],
        ]
    )
    mc = MarkovChain.from_params(None, T)
    with pytest.raises(ValueError, match=r"2 closed \(recurrent\) classes \[0, 1\], \[2, 3\]"):
        mc.stationary_distribution()
    named = MarkovChain.from_params(None, T, state_names=list("abcde"))
    with pytest.raises(ValueError, match=r"\['a', 'b'\], \['c', 'd'\]"):
        named.stationary_distribution()
    assert [c.tolist() for c in mc.communicating_classes()] == [[0, 1], [2, 3], [4]]
    assert [c.tolist() for c in mc.closed_classes()] == [[0, 1], [2, 3]]
    assert_array_equal(mc.recurrent_states(), [0, 1, 2, 3])
    assert_array_equal(mc.transient_states(), [4])
    assert mc.absorbing_states().size == 0
    assert not mc.is_irreducible()
    assert mc.period(4) == 1  # self-loop
    pis = mc.stationary_distributions()
    assert_allclose(pis, [[0.5, 0.5, 0, 0, 0], [0, 0, 1 / 1.7, 0.7 / 1.7, 0]], atol=1e-14)
    assert_allclose(pis @ T, pis, atol=1e-14)
    assert mc.second_eigenvalue_modulus() == pytest.approx(1.0)
    assert mc.relaxation_time() == np.inf


def test_transient_state_without_cycle_has_period_zero():
    T = np.array([[0.0, 1.0], [0.0, 1.0]])
    mc = MarkovChain.from_params(None, T)
    assert mc.period(0) == 0
    assert mc.period(1) == 1
    assert mc.is_aperiodic()  # only the closed class {1} matters


# --------------------------------------------------------------------------- absorbing chains
@pytest.mark.parametrize("p", [0.5, 0.4])
def test_gamblers_ruin_against_formulas(p):
    T = gamblers_ruin(p)
    mc = MarkovChain.from_params(None, T)
    assert_array_equal(mc.absorbing_states(), [0, 4])
    assert_array_equal(mc.transient_states(), [1, 2, 3])
    win, duration = ruin_formulas(p)
    B = mc.absorption_probabilities()
    assert B.shape == (3, 2)
    assert_allclose(B[:, 1], win, atol=1e-12)
    assert_allclose(B[:, 0], 1 - win, atol=1e-12)
    steps = mc.expected_steps_to_absorption()
    assert list(steps) == [1, 2, 3]
    assert_allclose([steps[i] for i in (1, 2, 3)], duration, atol=1e-12)
    Q = T[1:4, 1:4]
    assert_allclose(mc.fundamental_matrix(), np.linalg.inv(np.eye(3) - Q), atol=1e-12)


@pytest.mark.parametrize("p", [0.5, 0.4])
def test_gamblers_ruin_against_monte_carlo(p):
    """Simulate many walks (vectorised, independent of the library's algebra).

    Each estimate is a mean of n i.i.d. samples; we accept deviations up to 5
    standard errors (two-sided normal tail ~6e-7 per comparison), using the
    binomial SE for probabilities and the sample SD / sqrt(n) for durations.
    """
    T = gamblers_ruin(p)
    mc = MarkovChain.from_params(None, T)
    rng = np.random.default_rng(12345)
    n = 20_000
    cum = np.cumsum(T, axis=1)
    B = mc.absorption_probabilities()
    steps = mc.expected_steps_to_absorption()
    for row, start in enumerate((1, 2, 3)):
        state = np.full(n, start)
        duration = np.zeros(n)
        for _ in range(10_000):
            alive = (state != 0) & (state != 4)
            if not alive.any():
                break
            u = rng.random(alive.sum())
            state[alive] = (u[:, None] >= cum[state[alive]]).sum(axis=1)
            duration[alive] += 1
        assert not ((state != 0) & (state != 4)).any()
        p_win = np.mean(state == 4)
        se_win = np.sqrt(B[row, 1] * (1 - B[row, 1]) / n)
        assert abs(p_win - B[row, 1]) < 5 * se_win
        se_dur = duration.std(ddof=1) / np.sqrt(n)
        assert abs(duration.mean() - steps[start]) < 5 * se_dur


def test_absorbing_errors():
    with pytest.raises(ValueError, match="no absorbing states"):
        MarkovChain.from_params(None, TWO_STATE).fundamental_matrix()
    with pytest.raises(ValueError, match="no transient states"):
        MarkovChain.from_params(None, np.eye(2)).absorption_probabilities()
    T = np.array([[1, 0, 0, 0], [0.5, 0, 0.5, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=float)
    with pytest.raises(ValueError, match=r"not an absorbing chain.*\[2, 3\]"):
        MarkovChain.from_params(None, T).expected_steps_to_absorption()


def test_sample_stays_in_absorbing_state():
    mc = MarkovChain.from_params(None, gamblers_ruin(0.5))
    x = mc.sample(50, random_state=3, start=2)
    assert x[0] == 2
    hit = np.flatnonzero((x == 0) | (x == 4))[0]
    assert np.all(x[hit:] == x[hit])
    assert np.all(np.abs(np.diff(x[: hit + 1])) == 1)


# --------------------------------------------------------------------------- fitting / scoring
def test_fit_recovers_transmat_from_200k_steps():
    true = MarkovChain.from_params([1 / 3, 1 / 3, 1 / 3], THREE_STATE)
    x = true.sample(200_000, random_state=2024)
    mc = MarkovChain().fit(x)
    assert mc.n_states_ == 3
    # each row is a multinomial MLE; allow 5 binomial standard errors per entry
    n_from = mc.transition_counts_.sum(axis=1, keepdims=True)
    se = np.sqrt(THREE_STATE * (1 - THREE_STATE) / n_from)
    assert np.all(np.abs(mc.transmat_ - THREE_STATE) < 5 * se)
    assert_allclose(mc.transmat_, THREE_STATE, atol=0.01)
    # same sample is reproducible through an integer random_state
    assert_array_equal(true.sample(100, random_state=7), true.sample(100, random_state=7))


def test_fit_counts_lengths_pseudocount_and_names():
    X = np.array([0, 1, 1, 0, 2, 2, 1])
    mc = MarkovChain().fit(X, lengths=[4, 3])
    # transitions within sequences only: 0->1, 1->1, 1->0 | 2->2, 2->1 (not 0->2)
    assert_array_equal(mc.transition_counts_, [[0, 1, 0], [1, 1, 0], [0, 1, 1]])
    assert_allclose(mc.startprob_, [0.5, 0, 0.5])
    assert_allclose(mc.transmat_, [[0, 1, 0], [0.5, 0.5, 0], [0, 0.5, 0.5]])
    smooth = MarkovChain(pseudocount=1.0).fit(X.reshape(-1, 1), lengths=[4, 3])
    assert_allclose(smooth.transmat_[0], [1 / 4, 2 / 4, 1 / 4])
    assert_allclose(smooth.startprob_, [2 / 5, 1 / 5, 2 / 5])
    named = MarkovChain(state_names=["a", "b", "c"]).fit(
        ["a", "b", "b", "a", "c", "c", "b"], lengths=[4, 3]
    )
    assert_allclose(named.transmat_, mc.transmat_)
    assert named.score(["a", "b"]) == pytest.approx(mc.score([0, 1]))
    assert_allclose(named.predict_distribution("b"), [0.5, 0.5, 0])


def test_unvisited_state_gets_uniform_row_with_warning():
    with pytest.warns(UnvisitedStateWarning, match=r"\[2, 3\]"):
        mc = MarkovChain(n_states=4, unvisited="uniform").fit([0, 1, 0, 1, 2])
    assert_allclose(mc.transmat_[2], np.full(4, 0.25))
    assert_allclose(mc.transmat_[3], np.full(4, 0.25))
    with pytest.warns(UnvisitedStateWarning, match="'z'"):
        MarkovChain(state_names=["x", "y", "z"]).fit(["x", "y", "x"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MarkovChain(n_states=4, pseudocount=0.5).fit([0, 1, 0, 1, 2])


def test_score_by_hand_and_impossible_is_minus_inf():
    mc = MarkovChain.from_params([0.25, 0.75], WEATHER)
    x = [0, 0, 1, 1, 0]
    expected = np.log(0.25) + np.log(0.9) + np.log(0.1) + np.log(0.5) + np.log(0.5)
    assert mc.score(x) == pytest.approx(expected)
    per = mc.score_sequences(x + [1, 1], lengths=[5, 2])
    assert_allclose(per, [expected, np.log(0.75) + np.log(0.5)])
    assert mc.score(x + [1, 1], lengths=[5, 2]) == pytest.approx(per.sum())
    blocked = MarkovChain.from_params([1.0, 0.0], [[1.0, 0.0], [0.5, 0.5]])
    per = blocked.score_sequences([0, 1, 0, 0, 1, 1], lengths=[2, 2, 2])
    assert per[0] == -np.inf and per[2] == -np.inf and np.isfinite(per[1])
    assert not np.isnan(per).any()
    assert blocked.score([0, 1, 0, 0, 1, 1], lengths=[2, 2, 2]) == -np.inf


# --------------------------------------------------------------------------- higher order
def _second_order_data(seed=0, n=4000):
    """Sample a sequence from a known 2nd-order chain on 3 states (inverse CDF)."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(3), size=(3, 3))
    probs[0, 0] = [0.6, 0.4, 0.0]  # a structural zero: (0, 0) is never followed by 2
    cum = np.cumsum(probs, axis=2)
    x = [0, 1]
    for u in rng.random(n - 2):
        x.append(int(np.searchsorted(cum[x[-2], x[-1]], u, side="right")))
    return np.array(x), probs


def _context_se(y, probs_by_context, contexts):
    """Binomial standard error of each fitted next-state probability."""
    counts = np.array([np.sum((y[:-2] == a) & (y[1:-1] == b)) for a, b in contexts])
    return np.sqrt(probs_by_context * (1 - probs_by_context) / counts[:, None])


def test_order_one_matches_markov_chain():
    x = MarkovChain.from_params(None, THREE_STATE).sample(500, random_state=1)
    lengths = [200, 250, 50]
    h = HigherOrderMarkovChain(order=1, pseudocount=0.5).fit(x, lengths)
    m = MarkovChain(pseudocount=0.5).fit(x, lengths)
    assert_allclose(h.context_probs_, m.transmat_)
    assert_allclose(h.startprob_, m.startprob_)
    assert_allclose(h.score_sequences(x, lengths), m.score_sequences(x, lengths))
    assert_allclose(h.predict_distribution([2], 4), m.predict_distribution(2, 4))


def test_second_order_equals_expanded_pair_chain():
    x, _ = _second_order_data()
    lengths = [1000, 1500, 1500]
    N = 3
    h = HigherOrderMarkovChain(order=2).fit(x, lengths)
    assert h.contexts_.shape == (h.context_probs_.shape[0], 2)
    assert h.contexts_.shape[0] <= N**2

    # (a) a first-order chain fitted on pair states x_t * N + x_{t+1}
    pairs, pair_lengths, offset = [], [], 0
    for n in lengths:
        seq = x[offset : offset + n]
        pairs.append(seq[:-1] * N + seq[1:])
        pair_lengths.append(n - 1)
        offset += n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnvisitedStateWarning)
        m = MarkovChain(n_states=N**2).fit(np.concatenate(pairs), pair_lengths)
    assert_allclose(
        h.score_sequences(x, lengths), m.score_sequences(np.concatenate(pairs), pair_lengths)
    )

    # (b) explicit expansion from the fitted conditionals, scored on fresh data
    T = np.zeros((N**2, N**2))
    start = np.zeros(N**2)
    for a, b in itertools.product(range(N), repeat=2):
        T[a * N + b, b * N : b * N + N] = h.predict_distribution([a, b])
        start[a * N + b] = h.startprob_[a] * h.predict_distribution([a])[b]
    expanded = MarkovChain.from_params(start, T)
    y = np.array([0, 1, 2, 2, 1, 0, 0, 0, 1, 2, 1, 1, 0, 2])
    y_pairs = y[:-1] * N + y[1:]
    assert h.score(y) == pytest.approx(expanded.score(y_pairs))
    # multi-step prediction agrees with the expanded chain marginalised on the last state
    for n_steps in (1, 2, 5):
        pair_dist = expanded.predict_distribution(2 * N + 1, n_steps).reshape(N, N)
        assert_allclose(
            h.predict_distribution([0, 2, 1], n_steps), pair_dist.sum(axis=0), atol=1e-12
        )


def test_higher_order_fit_recovers_and_samples():
    """Fitted conditionals lie within 5 binomial standard errors of the truth."""
    x, probs = _second_order_data(seed=5, n=30_000)
    h = HigherOrderMarkovChain(order=2).fit(x)
    assert h.contexts_.shape == (9, 2)
    true = probs[h.contexts_[:, 0], h.contexts_[:, 1]]
    assert np.all(np.abs(h.context_probs_ - true) <= 5 * _context_se(x, true, h.contexts_))
    # one training sequence starting (0, 1): the start model is degenerate
    y = h.sample(20_000, random_state=0)
    assert y[:2].tolist() == [0, 1]
    refit = HigherOrderMarkovChain(order=2).fit(y)
    assert_array_equal(refit.contexts_, h.contexts_)
    se = _context_se(y, h.context_probs_, h.contexts_)
    assert np.all(np.abs(refit.context_probs_ - h.context_probs_) <= 5 * se)
    # (0, 0) -> 2 has probability 0: never sampled
    assert not np.any((y[:-2] == 0) & (y[1:-1] == 0) & (y[2:] == 2))
    assert np.isfinite(h.score(y))
    # a forced start that the start model deems impossible scores -inf, never NaN
    z = h.sample(50, random_state=1, start=[0, 0])
    assert z[:2].tolist() == [0, 0]
    assert h.score(z) == -np.inf


def test_higher_order_start_model_and_unseen_context():
    h = HigherOrderMarkovChain(order=3, state_names=["a", "b"]).fit(
        ["a", "b", "b", "a", "b", "a", "a", "b"], lengths=[5, 3]
    )
    assert_allclose(h.startprob_, [1.0, 0.0])
    assert_allclose(h.predict_distribution([]), [1.0, 0.0])
    assert_allclose(h.predict_distribution(["a"]), [0.5, 0.5])  # P(x1 | x0=a)
    assert_allclose(h.predict_distribution(["a", "b"]), [0.0, 1.0])  # only one such prefix
    # unseen 3-context -> uniform; score of a length-2 sequence uses start terms only
    assert_allclose(h.predict_distribution(["a", "a", "a"]), [0.5, 0.5])
    assert h.score(["a", "b"]) == pytest.approx(np.log(0.5))
    assert h.score(["b"]) == -np.inf
    assert_allclose(h.predict_distribution(["b", "a"], n_steps=0), [1.0, 0.0])


# --------------------------------------------------------------------------- real data
def test_seattle_weather_forecast_converges_to_stationary():
    weather = seattle_weather()
    assert set(weather) == set(SEATTLE_STATES)
    mc = MarkovChain(state_names=SEATTLE_STATES).fit(weather)
    assert mc.is_irreducible() and mc.is_aperiodic()
    pi = mc.stationary_distribution()
    assert pi.sum() == pytest.approx(1.0) and np.all(pi > 0)
    assert_allclose(pi @ mc.transmat_, pi, atol=1e-12)
    # MLE on one sequence: pi equals the empirical frequencies up to O(1/n)
    freq = np.bincount([SEATTLE_STATES.index(w) for w in weather], minlength=5) / len(weather)
    assert_allclose(pi, freq, atol=5 / len(weather))
    # total-variation distance to pi never increases and decays like SLEM**n
    dist = [np.abs(mc.predict_distribution("sun", n) - pi).sum() for n in range(0, 101)]
    assert np.all(np.diff(dist) <= 1e-12)
    assert dist[100] < 1e-8
    slem = mc.second_eigenvalue_modulus()
    assert 0 < slem < 1
    assert dist[60] <= 10 * slem**60
    assert_allclose(mc.predict_distribution("rain", 10**9), pi, atol=1e-12)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("startprob", "transmat", "match"),
    [
        (None, [[0.5, 0.5]], "transmat must be a non-empty square"),
        (None, [[np.nan, 1.0], [0.5, 0.5]], "transmat contains NaN"),
        (None, [[1.5, -0.5], [0.5, 0.5]], "transmat contains negative"),
        (None, [[0.5, 0.6], [0.5, 0.5]], r"transmat rows must sum to 1; row\(s\) \[0\]"),
        ([0.5, 0.5, 0.0], TWO_STATE, "startprob must have length 2"),
        ([0.5, 0.6], TWO_STATE, "startprob must sum to 1"),
        ([1.2, -0.2], TWO_STATE, "startprob contains negative"),
        ([np.nan, 1.0], TWO_STATE, "startprob contains NaN"),
    ],
)
def test_from_params_validation(startprob, transmat, match):
    with pytest.raises(ValueError, match=match):
        MarkovChain.from_params(startprob, transmat)


@pytest.mark.parametrize(
    ("X", "lengths", "match"),
    [
        ([], None, "X is empty"),
        ([[0, 1], [1, 0]], None, r"X must be 1-D or have shape \(n_samples, 1\)"),
        ([0, 1, np.nan], None, "X contains NaN"),
        ([0, 1.5], None, "X must contain integer states"),
        ([0, -1], None, "X contains negative state"),
        ([0, 1, 5], None, "X contains state 5 outside the range 0..2"),
        (["sun", "rain"], None, "X contains strings but no state_names"),
        ([0, 1, 2], [2, 2], "lengths sum to 4 but X has 3 samples"),
        ([0, 1, 2], [3, 0], "lengths must be positive"),
        ([0, 1, 2], [4, -1], "lengths must be positive"),
        ([0, 1, 2], [], "lengths must be a non-empty"),
    ],
)
def test_bad_sequences(X, lengths, match):
    mc = MarkovChain.from_params(None, THREE_STATE)
    with pytest.raises(ValueError, match=match):
        mc.score(X, lengths)
    if "outside" not in match:
        with pytest.raises(ValueError, match=match):
            MarkovChain().fit(X, lengths)


def test_bad_arguments():
    mc = MarkovChain.from_params(None, TWO_STATE, state_names=["x", "y"])
    with pytest.raises(ValueError, match="n_steps must be >= 0"):
        mc.predict_distribution(0, -1)
    with pytest.raises(ValueError, match="m must be >= 0"):
        mc.n_step_transmat(-2)
    with pytest.raises(ValueError, match="start must have length 2"):
        mc.predict_distribution([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="start 'q' is not a known state name"):
        mc.predict_distribution("q")
    with pytest.raises(ValueError, match="start contains state 7 outside"):
        mc.sample(3, start=7)
    with pytest.raises(ValueError, match="X contains unknown state name 'q'"):
        mc.score(["x", "q"])
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        mc.sample(0)
    with pytest.raises(ValueError, match="pseudocount must be finite and >= 0"):
        MarkovChain(pseudocount=-1)
    with pytest.raises(ValueError, match="n_states must be >= 1"):
        MarkovChain(n_states=0)
    with pytest.raises(ValueError, match="state_names has 3 entries but n_states is 2"):
        MarkovChain(n_states=2, state_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="not fitted"):
        MarkovChain().score([0, 1])
    with pytest.raises(ValueError, match="order must be >= 1"):
        HigherOrderMarkovChain(order=0)
    h = HigherOrderMarkovChain(order=2).fit([0, 1, 0, 1, 1])
    with pytest.raises(ValueError, match="n_steps must be >= 0"):
        h.predict_distribution([0, 1], n_steps=-1)
    with pytest.raises(ValueError, match="history contains state 3 outside"):
        h.predict_distribution([0, 3])
    with pytest.raises(ValueError, match="lengths sum to 6 but X has 5"):
        h.score([0, 1, 0, 1, 1], lengths=[3, 3])
