"""Markov chains on hard inputs: nearly reducible chains, rare absorption, hostile sizes.

Stationary distributions and absorption quantities are compared with exact
rational arithmetic (``fractions.Fraction``) on the chain the floats
describe: the off-diagonal probabilities as given, each diagonal entry one
minus the rest of its row.
"""

import warnings
from fractions import Fraction

import numpy as np
import pytest
from numpy.testing import assert_allclose

import hmm_core
from hmm_core.chains._elimination import solve_exit_form, stationary_gth
from hmm_core.chains._validation import MAX_TABLE_BYTES
from hmm_core.chains.higher_order_chain import table_bytes
from hmm_core.chains.markov_chain import HigherOrderMarkovChain, MarkovChain, UnvisitedStateWarning
from hmm_core.io.modelfile import read_metadata


# --------------------------------------------------------------------------- exact oracles
def _exact_rows(T):
    """Rows of Fractions: off-diagonal entries of ``T`` exactly, diagonal = 1 - the rest."""
    m = len(T)
    rows = [[Fraction(float(T[i][j])) for j in range(m)] for i in range(m)]
    for i in range(m):
        rows[i][i] = 1 - sum(rows[i][j] for j in range(m) if j != i)
    return rows


def _exact_solve(A, B):
    """Solve ``A X = B`` (lists of Fractions) by Gauss-Jordan elimination."""
    m = len(A)
    A = [row[:] + brow[:] for row, brow in zip(A, B, strict=True)]
    for c in range(m):
        p = next(r for r in range(c, m) if A[r][c] != 0)
        A[c], A[p] = A[p], A[c]
        A[c] = [a / A[c][c] for a in A[c]]
        for r in range(m):
            if r != c and A[r][c] != 0:
                f = A[r][c]
                A[r] = [a - f * b for a, b in zip(A[r], A[c], strict=True)]
    return [row[m:] for row in A]


def exact_stationary(T):
    """Stationary distribution of an irreducible chain, exactly (as floats)."""
    P = _exact_rows(T)
    m = len(P)
    # pi (I - P) = 0 and sum(pi) = 1, transposed, the last balance equation replaced.
    A = [[(1 if i == j else 0) - P[j][i] for j in range(m)] for i in range(m)]
    A[-1] = [Fraction(1)] * m
    b = [[Fraction(0)] for _ in range(m - 1)] + [[Fraction(1)]]
    return np.array([float(x[0]) for x in _exact_solve(A, b)])


def exact_absorption(T, transient, absorbing):
    """Exact fundamental matrix, expected steps and absorption probabilities."""
    P = _exact_rows(T)
    A = [[(1 if i == j else 0) - P[i][j] for j in transient] for i in transient]
    n = len(transient)
    eye = [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]
    N = _exact_solve(A, eye)
    steps = [sum(row) for row in N]
    R = [[P[i][a] for a in absorbing] for i in transient]
    B = _exact_solve(A, R)
    to_float = lambda rows: np.array([[float(x) for x in row] for row in rows])  # noqa: E731
    return to_float(N), np.array([float(s) for s in steps]), to_float(B)


def old_stationary(P):
    """The former method: balance equations with one replaced by the normalisation."""
    m = P.shape[0]
    A = P.T - np.eye(m)
    A[-1, :] = 1.0
    b = np.zeros(m)
    b[-1] = 1.0
    return np.linalg.solve(A, b)


def nearly_reducible(e):
    return [[1 - e, e], [2 * e, 1 - 2 * e]]


def random_chain(rng, m, density=0.4, tiny=None):
    """A random irreducible chain; ``tiny`` scales a random subset of the entries."""
    P = rng.random((m, m)) * (rng.random((m, m)) < density)
    P[np.arange(m), (np.arange(m) + 1) % m] += 0.1  # a cycle through all states
    if tiny is not None:
        scale = np.where(rng.random((m, m)) < 0.5, tiny, 1.0)
        np.fill_diagonal(scale, 1.0)
        P *= scale
        np.fill_diagonal(P, 0.0)
        P[np.arange(m), np.arange(m)] = 1.0 - P.sum(axis=1).clip(max=1.0)
    return P / P.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------- stationary
@pytest.mark.parametrize("e", [0.1, 1e-8, 1e-12, 1e-16, 1e-17, 1e-100, 1e-300])
def test_nearly_reducible_two_state_chain_is_exact(e):
    mc = MarkovChain.from_params([0.5, 0.5], nearly_reducible(e))
    pi = mc.stationary_distribution()
    assert_allclose(pi, exact_stationary(nearly_reducible(e)), rtol=4e-16, atol=0)
    assert_allclose(pi, [2 / 3, 1 / 3], rtol=1e-15)
    assert_allclose(mc.stationary_distributions(), [pi], rtol=0, atol=0)


@pytest.mark.parametrize("tiny", [1e-9, 1e-17, 1e-150, 1e-300])
@pytest.mark.parametrize("seed", range(4))
def test_stationary_matches_exact_arithmetic_with_tiny_rates(seed, tiny):
    rng = np.random.default_rng(seed)
    T = random_chain(rng, int(rng.integers(3, 8)), tiny=tiny)
    mc = MarkovChain.from_params(None, T)
    assert mc.is_irreducible()
    expected = exact_stationary(T)
    assert_allclose(mc.stationary_distribution(), expected, rtol=1e-13, atol=0)


def test_reducible_chain_with_tiny_rates_per_closed_class():
    e = 1e-300
    # Two nearly reducible closed classes {0, 1} and {3, 4}, transient state 2.
    T = np.array([[1 - e, e, 0, 0, 0],
                  [3 * e, 1 - 3 * e, 0, 0, 0],
                  [0.25, 0, 0.5, 0.25, 0],
                  [0, 0, 0, 0.5, 0.5],
                  [0, 0, 0, 1e-200, 1 - 1e-200]])
    mc = MarkovChain.from_params(None, T)
    rows = mc.stationary_distributions()
    first = exact_stationary(T[:2, :2])
    second = exact_stationary(T[3:, 3:])
    assert_allclose(rows, [[*first, 0, 0, 0], [0, 0, 0, *second]], rtol=1e-15, atol=0)
    assert rows[1, 3] == pytest.approx(1e-200 / 0.5, rel=1e-15)
    with pytest.raises(ValueError, match="not unique"):
        mc.stationary_distribution()
    # One closed class with transient states: zero on the transient ones.
    single = MarkovChain.from_params(None, [[0.5, 0.5, 0], [0, 1 - e, e], [0, e, 1 - e]])
    assert_allclose(single.stationary_distribution(), [0, 0.5, 0.5], rtol=1e-15, atol=0)


@pytest.mark.parametrize("m", [2, 5, 17, 40])
def test_well_conditioned_chains_keep_their_stationary_distribution(m):
    rng = np.random.default_rng(m)
    T = rng.dirichlet(np.ones(m), size=m)
    mc = MarkovChain.from_params(None, T)
    assert_allclose(mc.stationary_distribution(), old_stationary(T), rtol=1e-12, atol=0)
    assert_allclose(mc.stationary_distribution(), exact_stationary(T), rtol=1e-14, atol=0)


def test_large_chains_split_in_halves_with_the_same_result():
    rng = np.random.default_rng(5)
    T = random_chain(rng, 150, density=0.1)
    pi = MarkovChain.from_params(None, T).stationary_distribution()
    assert_allclose(pi, old_stationary(T), rtol=1e-11, atol=0)
    assert_allclose(pi, stationary_gth(T, leaf=150), rtol=1e-13, atol=0)
    for leaf in (1, 3, 64):
        assert_allclose(stationary_gth(T, leaf=leaf), pi, rtol=1e-13, atol=0)
    small = random_chain(rng, 9, tiny=1e-250)
    for leaf in (1, 2, 4):
        assert_allclose(stationary_gth(small, leaf=leaf), exact_stationary(small),
                        rtol=1e-13, atol=0)


def test_stationary_never_negative_or_nan_and_sums_to_one():
    rng = np.random.default_rng(11)
    for _ in range(20):
        T = random_chain(rng, int(rng.integers(2, 12)), tiny=10.0 ** -rng.integers(1, 300))
        pi = MarkovChain.from_params(None, T).stationary_distribution()
        assert np.all(pi >= 0) and np.all(np.isfinite(pi))
        assert pi.sum() == pytest.approx(1.0, abs=1e-15)


def test_underflowing_rates_give_a_value_error():
    tiny = 5e-324  # the smallest subnormal: 1 / tiny overflows
    mc = MarkovChain.from_params(None, [[1.0, tiny, 0], [0, 1.0, tiny], [tiny, 0, 1.0]])
    pi = mc.stationary_distribution()  # three equal exits: uniform, exactly
    assert_allclose(pi, [1 / 3] * 3, rtol=1e-15)
    # Exit 1 -> 3 is the smallest subnormal; 3 splits it in halves, which round to 0.
    T = [[0, 1, 0, 0], [0, 1 - tiny, 0, tiny], [0, 1, 0, 0], [0.5, 0, 0.5, 0]]
    chain = MarkovChain.from_params(None, T)
    assert chain.is_irreducible()
    with pytest.raises(ValueError, match="transmat_ has transition probabilities too small"):
        chain.stationary_distribution()


# --------------------------------------------------------------------------- absorption
def _absorbing_chain(rates):
    """Transient 0, 1 and absorbing 2, 3; ``rates`` = (stay-exits of 0, of 1)."""
    a, b = rates
    return np.array([[1 - a - b, a, b, 0],
                     [b, 1 - 2 * b - a, a, b],
                     [0, 0, 1, 0],
                     [0, 0, 0, 1]])


@pytest.mark.parametrize("e", [1e-3, 1e-12, 1e-16, 1e-100, 1e-300])
def test_rare_absorption_is_exact(e):
    T = [[1 - e, e], [0, 1]]
    mc = MarkovChain.from_params(None, T)
    assert mc.expected_steps_to_absorption() == {0: pytest.approx(1 / e, rel=1e-15)}
    assert_allclose(mc.fundamental_matrix(), [[1 / e]], rtol=1e-15)
    assert_allclose(mc.absorption_probabilities(), [[1.0]], rtol=1e-15)


@pytest.mark.parametrize("rates", [(0.2, 0.1), (1e-12, 3e-13), (1e-20, 1e-30),
                                   (0.5, 1e-200), (1e-300, 1e-250)])
def test_absorption_matches_exact_arithmetic(rates):
    T = _absorbing_chain(rates)
    mc = MarkovChain.from_params(None, T)
    transient, absorbing = mc.transient_states(), mc.absorbing_states()
    N, steps, B = exact_absorption(T, transient.tolist(), absorbing.tolist())
    assert_allclose(mc.fundamental_matrix(), N, rtol=1e-14, atol=0)
    got = mc.expected_steps_to_absorption()
    assert_allclose([got[int(s)] for s in transient], steps, rtol=1e-14, atol=0)
    assert_allclose(mc.absorption_probabilities(), B, rtol=1e-14, atol=0)


@pytest.mark.parametrize("seed", range(4))
def test_random_absorbing_chains_match_exact_arithmetic(seed):
    rng = np.random.default_rng(100 + seed)
    n_t, n_a = int(rng.integers(2, 7)), int(rng.integers(1, 3))
    m = n_t + n_a
    T = np.zeros((m, m))
    T[:n_t] = rng.random((n_t, m)) * (rng.random((n_t, m)) < 0.6)
    T[:n_t, n_t:] *= 10.0 ** -rng.integers(0, 200, size=(n_t, n_a))
    T[:n_t, n_t] += 1e-150  # every transient state can be absorbed
    T[:n_t] /= T[:n_t].sum(axis=1, keepdims=True)
    T[n_t:, n_t:] = np.eye(n_a)
    mc = MarkovChain.from_params(None, T)
    transient, absorbing = mc.transient_states(), mc.absorbing_states()
    assert transient.tolist() == list(range(n_t))
    N, steps, B = exact_absorption(T, transient.tolist(), absorbing.tolist())
    assert_allclose(mc.fundamental_matrix(), N, rtol=1e-13, atol=0)
    got = mc.expected_steps_to_absorption()
    assert_allclose([got[i] for i in range(n_t)], steps, rtol=1e-13, atol=0)
    assert_allclose(mc.absorption_probabilities(), B, rtol=1e-13, atol=0)


def test_large_absorbing_chain_matches_a_dense_solve():
    rng = np.random.default_rng(7)
    n_t, n_a = 140, 3
    T = np.zeros((n_t + n_a, n_t + n_a))
    T[:n_t] = rng.random((n_t, n_t + n_a)) * (rng.random((n_t, n_t + n_a)) < 0.1)
    T[:n_t, n_t:] += 0.01
    T[:n_t] /= T[:n_t].sum(axis=1, keepdims=True)
    T[n_t:, n_t:] = np.eye(n_a)
    mc = MarkovChain.from_params(None, T)
    Q, R = T[:n_t, :n_t], T[:n_t, n_t:]
    N = np.linalg.inv(np.eye(n_t) - Q)
    assert_allclose(mc.fundamental_matrix(), N, rtol=1e-11)
    assert_allclose(mc.absorption_probabilities(), N @ R, rtol=1e-11)
    steps = mc.expected_steps_to_absorption()
    assert_allclose([steps[i] for i in range(n_t)], N.sum(axis=1), rtol=1e-11)
    off = Q.copy()
    np.fill_diagonal(off, 0)
    for leaf in (1, 5, 200):
        assert_allclose(solve_exit_form(off, R.sum(axis=1), R, leaf=leaf), N @ R,
                        rtol=1e-11)


# --------------------------------------------------------------------------- hostile sizes
CHAINS = [MarkovChain, HigherOrderMarkovChain]


@pytest.mark.parametrize("cls", CHAINS)
@pytest.mark.parametrize("lengths", [
    np.array([2**62, 2**62, -2**63 + 2], dtype=np.int64),    # a negative length
    np.array([2**63 - 1, 2**63 - 1, 4], dtype=np.int64),     # the int64 sum wraps to 2
    np.array([2**64 - 1, 3], dtype=np.uint64),               # wraps when cast to int64
    [1e30, 2.0],
    [1, 1, 1],
])
def test_lengths_whose_sum_overflows_are_rejected(cls, lengths):
    with pytest.raises(ValueError, match="lengths"):
        cls().fit(np.array([0, 1]), lengths=lengths)
    fitted = cls().fit(np.array([0, 1, 1, 0]))
    with pytest.raises(ValueError, match="lengths"):
        fitted.score_sequences(np.array([0, 1]), lengths)


def test_huge_order_is_rejected_at_once():
    x = np.random.default_rng(0).integers(0, 3, 40)
    with pytest.raises(ValueError, match=r"order must be at most .* \(40\); got order=1000000000"):
        HigherOrderMarkovChain(order=10**9).fit(x)
    with pytest.raises(ValueError, match=r"\(25\); got order=26"):
        HigherOrderMarkovChain(order=26).fit(x, lengths=[15, 25])
    chain = HigherOrderMarkovChain(order=25).fit(x, lengths=[15, 25])  # as long as the longest
    assert chain.contexts_.shape == (0, 25)
    assert np.isfinite(chain.score(x[:25]))


def test_tables_over_the_memory_budget_are_rejected_before_allocating():
    x = np.random.default_rng(0).integers(0, 4, 200_000)
    with pytest.raises(ValueError, match=r"order=5000 with 4 states needs an estimated "
                                         r"[\d,]+ bytes"):
        HigherOrderMarkovChain(order=5000).fit(x)
    many = np.arange(300_000) % 100_000  # 100000 states: 4 * 8e10 bytes of tables
    with pytest.raises(ValueError, match=r"n_states=100000 needs an estimated 320,000,000,000 "):
        MarkovChain().fit(many)
    with pytest.raises(ValueError, match="n_states=1000000000001"):
        MarkovChain().fit([0, 10**12])
    with pytest.raises(ValueError, match="bytes"):
        HigherOrderMarkovChain(order=3, n_states=100_000).fit(many)


def test_table_estimate_bounds_what_a_fit_keeps():
    x = np.random.default_rng(1).integers(0, 3, 5000)
    lengths = [1000, 2500, 1500]
    for k in (1, 2, 6):
        chain = HigherOrderMarkovChain(order=k).fit(x, lengths)
        kept = sum(c.nbytes + p.nbytes for c, p in chain._tables)
        assert kept <= table_bytes(np.array(lengths), 3, k) <= MAX_TABLE_BYTES


# --------------------------------------------------------------------------- unvisited states
def _ruin_trajectories(p=0.4, n=4, count=400, seed=0):
    """Gambler's ruin walks from the middle, each stopped when it is absorbed."""
    rng = np.random.default_rng(seed)
    walks = []
    for _ in range(count):
        s, walk = n // 2, [n // 2]
        while 0 < s < n:
            s += 1 if rng.random() < p else -1
            walk.append(s)
        walks.append(walk)
    return np.concatenate(walks), [len(w) for w in walks]


def test_trajectories_that_stop_at_absorption_keep_absorbing_states():
    x, lengths = _ruin_trajectories()
    chain = MarkovChain(n_states=5, unvisited="absorbing")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chain.fit(x, lengths)
    assert chain.absorbing_states().tolist() == [0, 4]
    assert_allclose(chain.transmat_[[0, 4]], [[1, 0, 0, 0, 0], [0, 0, 0, 0, 1]])
    assert chain.transition_counts_[[0, 4]].sum() == 0
    p_win = chain.absorption_probabilities()[:, 1]
    q = 0.6 / 0.4
    assert p_win[1] == pytest.approx((1 - q**2) / (1 - q**4), abs=0.05)
    assert np.isfinite(chain.score(x, lengths))
    # The default keeps them absorbing too.
    default = MarkovChain(n_states=5).fit(x, lengths)
    assert_allclose(default.transmat_, chain.transmat_)
    # unvisited="uniform" gives uniform rows, says so, and names the way to keep them absorbing.
    with pytest.warns(UnvisitedStateWarning, match=r"\[0, 4\] only end sequences: "
                                                   "unvisited='absorbing'"):
        uniform = MarkovChain(n_states=5, unvisited="uniform").fit(x, lengths)
    assert_allclose(uniform.transmat_[[0, 4]], np.full((2, 5), 0.2))
    assert uniform.absorbing_states().size == 0


def test_states_never_seen_stay_uniform_with_a_warning():
    with pytest.warns(UnvisitedStateWarning, match=r"state\(s\) \[3\] have no") as caught:
        chain = MarkovChain(n_states=4, unvisited="absorbing").fit([0, 1, 0, 1, 2])
    assert "only end sequences" not in str(caught[0].message)
    assert_allclose(chain.transmat_[2], [0, 0, 1, 0])
    assert_allclose(chain.transmat_[3], np.full(4, 0.25))
    named = MarkovChain(state_names=["x", "y", "z"], unvisited="absorbing")
    with pytest.warns(UnvisitedStateWarning, match="'z'"):
        named.fit(["x", "y", "x", "y"], lengths=[3, 1])
    assert named.absorbing_states().size == 0
    assert_allclose(named.transmat_, [[0, 1, 0], [1, 0, 0], [1 / 3] * 3])
    # A positive pseudocount leaves no state without data: no warning, any setting.
    for mode in ("uniform", "absorbing", "error"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            smooth = MarkovChain(n_states=4, pseudocount=0.5, unvisited=mode).fit([0, 1, 2])
        assert_allclose(smooth.transmat_[3], np.full(4, 0.25))
        assert_allclose(smooth.transmat_[2], np.full(4, 0.25))


def test_unvisited_error_names_both_kinds_of_state():
    chain = MarkovChain(n_states=4, unvisited="error")
    with pytest.raises(ValueError, match=r"X has no transition out of state\(s\) \[2\] "
                                         r"\(they only end sequences\) and \[3\] "
                                         r"\(they never occur\); unvisited='error'"):
        chain.fit([0, 1, 0, 1, 2])
    assert not hasattr(chain, "transmat_") and not hasattr(chain, "n_states_")
    named = MarkovChain(state_names=["a", "b", "c"], unvisited="error")
    with pytest.raises(ValueError, match=r"\['c'\] \(they never occur\)"):
        named.fit(["a", "b", "a"])
    with pytest.raises(ValueError, match=r"\['b'\] \(they only end sequences\);"):
        named.fit(["a", "c", "a", "c", "b", "c", "b"], lengths=[5, 2])
    fitted = named.fit(["a", "b", "c", "a"])
    assert_allclose(fitted.transmat_[1], [0, 0, 1])


@pytest.mark.parametrize("bad", ["Uniform", "none", None, 1, ["uniform"]])
def test_unvisited_must_be_a_known_mode(bad):
    with pytest.raises(ValueError, match=r"unvisited must be one of \('uniform', 'absorbing', "
                                         r"'error'\); got"):
        MarkovChain(unvisited=bad)
    chain = MarkovChain()
    with pytest.raises(ValueError, match="unvisited must be one of"):
        chain.set_params(unvisited=bad)


def test_unvisited_round_trips_through_params_clone_and_model_files(tmp_path):
    sklearn_base = pytest.importorskip("sklearn.base")
    chain = MarkovChain(n_states=5, unvisited="uniform")
    assert chain.get_params()["unvisited"] == "uniform"
    assert repr(chain) == "MarkovChain(n_states=5, unvisited='uniform')"
    assert sklearn_base.clone(chain).unvisited == "uniform"
    assert chain.set_params(unvisited="error").unvisited == "error"
    assert MarkovChain().get_params()["unvisited"] == "absorbing"
    assert repr(MarkovChain()) == "MarkovChain(n_states=None)"
    x, lengths = _ruin_trajectories(count=50)
    for mode in ("absorbing", "uniform"):
        path = tmp_path / f"{mode}.npz"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnvisitedStateWarning)
            MarkovChain(n_states=5, unvisited=mode).fit(x, lengths).save(path)
        loaded = hmm_core.load(path)
        assert loaded.unvisited == mode
        stored = read_metadata(path)["model"]["params"]
        # The default is not written: files of chains without the setting read in 0.1.0.
        assert ("unvisited" in stored) == (mode != "absorbing")
    unfitted = tmp_path / "unfitted.npz"
    MarkovChain(unvisited="error").save(unfitted)
    assert hmm_core.load(unfitted).unvisited == "error"
