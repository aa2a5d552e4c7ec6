"""Properties of the functional API (forward, backward, posteriors, viterbi, kbest_viterbi).

Random chains and frame scores, exact and extreme values, every dtype and
memory layout, and hostile arguments: results never hold NaN, posteriors
are probabilities, small cases agree with the NumPy reference and with brute
force, and a bad argument raises ValueError or TypeError naming it.
"""

import numpy as np
from _props import (
    EXTREME_FLOATS,
    HOSTILE_LENGTHS,
    attempt,
    chains,
    check_loglik,
    check_paths,
    check_posteriors,
    frame_magnitude,
    frame_scores,
    frame_upper_bound,
    hostile_arrays,
    lengths_for,
    log,
    must_succeed,
    offsets_of,
    props,
)
from brute_force import brute_force
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import hmm_core
from hmm_core.testing import reference

RTOL = 1e-10
# Log-likelihoods near 0 have no relative accuracy: rounding of the start vector.
ATOL = 1e-12


@st.composite
def problems(draw, extremes=(), max_n=4, max_seq=4, max_len=8, zeros=True, low=-30.0):
    """A valid problem: (log_startprob, transmat, frames, lengths, log_endprob)."""
    n = draw(st.integers(1, max_n))
    lengths = draw(lengths_for(max_seq, max_len))
    start, trans, end = draw(chains(n, zeros=zeros))
    frames = draw(frame_scores(sum(lengths), n, extremes, impossible=zeros, low=low))
    return log(start), trans, frames, lengths, (None if end is None else log(end))


def _run_all(log_start, trans, frames, lengths, log_end, k=3, **kw):
    """Every entry point on one problem; must not raise."""
    out = {}
    out["forward"] = hmm_core.forward(log_start, trans, frames, lengths, log_end, **kw)
    out["lattice"] = hmm_core.forward(log_start, trans, frames, lengths, log_end,
                                      return_lattice=True, **kw)
    kw_nosparse = {key: v for key, v in kw.items() if key != "sparse"}
    out["backward"] = hmm_core.backward(log_start, trans, frames, lengths, log_end,
                                        **kw_nosparse)
    out["posteriors"] = hmm_core.posteriors(log_start, trans, frames, lengths, log_end, **kw)
    out["viterbi"] = hmm_core.viterbi(log_start, trans, frames, lengths, log_end, **kw)
    out["kbest"] = hmm_core.kbest_viterbi(log_start, trans, frames, k, lengths, log_end)
    return out


def _check_all(out, frames, lengths, n, k=3):
    """The invariants every result must satisfy, whatever the (valid) input."""
    offsets = offsets_of(lengths, len(frames))
    upper = frame_upper_bound(frames, offsets)
    ll = out["forward"]
    check_loglik(ll, upper)
    ll2, alpha = out["lattice"]
    check_loglik(ll2, upper)
    assert not np.isnan(alpha).any(), "NaN in the forward lattice"
    assert not np.isnan(out["backward"]).any(), "NaN in the backward lattice"
    assert not (out["backward"] == np.inf).any() or (upper >= 1e300).any()
    ll3, post = out["posteriors"]
    check_loglik(ll3, upper)
    check_posteriors(post, ll3, offsets, n)
    vit, path = out["viterbi"]
    check_loglik(vit, upper, "Viterbi log-probability")
    check_paths(vit, path, offsets, n, ll, frame_magnitude(frames, offsets))
    # The three likelihoods and the possible/impossible verdicts agree.
    assert np.array_equal(ll == -np.inf, ll3 == -np.inf)
    assert np.array_equal(ll == -np.inf, vit == -np.inf)
    kb_logprob, kb_paths = out["kbest"]
    assert kb_logprob.shape == (k, len(offsets) - 1) and kb_paths.shape == (k, offsets[-1])
    assert not np.isnan(kb_logprob).any(), "NaN k-best log-probability"
    assert np.all(kb_logprob[:-1] >= kb_logprob[1:]), "k-best not in order"
    for r in range(k):
        check_paths(kb_logprob[r], kb_paths[r], offsets, n)


# ------------------------------------------------------------------- agreement
@props(360)
@given(problems())
def test_recursions_agree_with_the_exact_reference(problem):
    log_start, trans, frames, lengths, log_end = problem
    n = trans.shape[0]
    out = must_succeed(lambda: _run_all(log_start, trans, frames, lengths, log_end))
    _check_all(out, frames, lengths, n)
    offsets = offsets_of(lengths, len(frames))
    ref_ll, ref_post = reference.posteriors(log_start, trans, frames, offsets, log_end,
                                            exact=True)
    assert_allclose(out["forward"], ref_ll, rtol=RTOL, atol=ATOL)
    assert_allclose(out["posteriors"][0], ref_ll, rtol=RTOL, atol=ATOL)
    assert_allclose(out["posteriors"][1], ref_post, rtol=RTOL, atol=ATOL)
    ref_alpha = reference.forward(log_start, trans, frames, offsets, log_end, exact=True)[1]
    assert_allclose(out["lattice"][1], ref_alpha, rtol=RTOL, atol=ATOL)
    ref_beta = reference.backward(log_start, trans, frames, offsets, log_end, exact=True)
    assert_allclose(out["backward"], ref_beta, rtol=RTOL, atol=ATOL)
    ref_vit, _ = reference.viterbi(log_start, trans, frames, offsets, log_end)
    vit, path = out["viterbi"]
    assert_allclose(vit, ref_vit, rtol=RTOL, atol=ATOL)
    # The returned path really has the returned probability.
    scored = reference.map_path_logprob(log_start, trans, frames, offsets, path, log_end)
    assert_allclose(scored, vit, rtol=RTOL, atol=ATOL)
    kb_logprob, kb_paths = out["kbest"]
    assert_allclose(kb_logprob[0], vit, rtol=RTOL, atol=ATOL)
    for r in range(kb_paths.shape[0]):
        scored = reference.map_path_logprob(log_start, trans, frames, offsets, kb_paths[r],
                                            log_end)
        assert_allclose(scored, kb_logprob[r], rtol=RTOL, atol=ATOL)


@props(240)
@given(problems(max_n=3, max_seq=2, max_len=5, low=-20.0))
def test_recursions_agree_with_brute_force(problem):
    log_start, trans, frames, lengths, log_end = problem
    n = trans.shape[0]
    k = 4
    out = must_succeed(lambda: _run_all(log_start, trans, frames, lengths, log_end, k=k))
    offsets = offsets_of(lengths, len(frames))
    start, end = np.exp(log_start), (None if log_end is None else np.exp(log_end))
    for s, (a, b) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
        bf = brute_force(start, trans, np.exp(frames[a:b]), end)
        assert_allclose(out["forward"][s], bf["loglik"], rtol=RTOL, atol=ATOL)
        assert_allclose(out["posteriors"][1][a:b], bf["posteriors"], rtol=RTOL, atol=ATOL)
        assert_allclose(out["viterbi"][0][s], bf["viterbi_logprob"], rtol=RTOL, atol=ATOL)
        best = sorted(bf["path_logprobs"].values(), reverse=True)[:k]
        best += [-np.inf] * (k - len(best))
        assert_allclose(out["kbest"][0][:, s], best, rtol=RTOL, atol=ATOL)
    _check_all(out, frames, lengths, n, k)


@props(150)
@given(problems(max_n=5))
def test_sparse_and_dense_paths_agree(problem):
    log_start, trans, frames, lengths, log_end = problem
    assume(trans.any())  # a chain whose every state ends at once: a separate property
    for name in ("forward", "posteriors", "viterbi"):
        call = getattr(hmm_core, name)
        dense = must_succeed(lambda c=call: c(log_start, trans, frames, lengths, log_end,
                                              sparse=False))
        sparse = must_succeed(lambda c=call: c(log_start, trans, frames, lengths, log_end,
                                               sparse=True))
        for d, s in zip(np.atleast_1d(dense) if name == "forward" else dense,
                        np.atleast_1d(sparse) if name == "forward" else sparse, strict=True):
            if name == "viterbi" and np.asarray(d).dtype.kind == "i":
                continue  # ties may break differently; the log-probabilities agree
            assert_allclose(s, d, rtol=RTOL, atol=ATOL, err_msg=name)


# ------------------------------------------------------------- extreme values
@props(360)
@given(problems(extremes=[v for v in EXTREME_FLOATS if abs(v) <= 1e300]))
def test_extreme_finite_frames_never_give_nan(problem):
    """Frame scores up to +-1e300 (the sums stay finite), zeros and denormals.

    Scores near the ends of the range (finfo.min, +-1e308), whose sums overflow, are a
    separate property.
    """
    log_start, trans, frames, lengths, log_end = problem
    out = must_succeed(lambda: _run_all(log_start, trans, frames, lengths, log_end))
    _check_all(out, frames, lengths, trans.shape[0])


@props(180)
@given(problems(), st.sampled_from(["all", "row", "column"]), st.data())
def test_impossible_rows_and_columns_give_impossible_sequences(problem, where, data):
    log_start, trans, frames, lengths, log_end = problem
    frames = frames.copy()
    if where == "all":
        frames[:] = -np.inf
    elif where == "row":
        frames[data.draw(st.integers(0, len(frames) - 1))] = -np.inf
    else:
        frames[:, data.draw(st.integers(0, frames.shape[1] - 1))] = -np.inf
    out = must_succeed(lambda: _run_all(log_start, trans, frames, lengths, log_end))
    _check_all(out, frames, lengths, trans.shape[0])
    if where == "all":
        assert np.all(out["forward"] == -np.inf)


# --------------------------------------------------------- dtypes and layouts
def _variants(frames, data):
    """The same frame scores in another dtype or memory layout (value-preserving)."""
    kind = data.draw(st.sampled_from(["fortran", "strided", "list", "float32", "float16",
                                      "int", "uint64", "bool", "negative-view"]))
    if kind == "fortran":
        return np.asfortranarray(frames), frames
    if kind == "strided":
        big = np.zeros((frames.shape[0] * 2, frames.shape[1] * 3))
        big[::2, ::3] = frames
        return big[::2, ::3], frames
    if kind == "list":
        return frames.tolist(), frames
    if kind in ("float32", "float16"):
        cast = frames.astype(kind)
        return cast, cast.astype(np.float64)
    if kind == "int":
        dtype = data.draw(st.sampled_from([np.int8, np.int16, np.int32, np.int64]))
        ints = np.maximum(np.round(np.nan_to_num(frames, neginf=-100)), -100).astype(dtype)
        return ints, ints.astype(np.float64)
    if kind == "uint64":
        big = np.zeros(frames.shape, dtype=np.uint64)
        big[data.draw(st.integers(0, frames.shape[0] - 1))] = np.uint64(2**64 - 1)
        return big, big.astype(np.float64)
    if kind == "bool":
        flags = np.isfinite(frames)
        return flags, flags.astype(np.float64)
    # A view running backwards (negative strides).
    rev = frames[::-1, ::-1].copy()
    return rev[::-1, ::-1], frames


@props(360)
@given(problems(), st.data())
def test_frames_in_any_dtype_or_layout_give_the_float64_result(problem, data):
    log_start, trans, frames, lengths, log_end = problem
    given_frames, as_float = _variants(frames, data)
    out = must_succeed(lambda: _run_all(log_start, trans, given_frames, lengths, log_end))
    expected = must_succeed(lambda: _run_all(log_start, trans, as_float, lengths, log_end))
    _check_all(out, as_float, lengths, trans.shape[0])
    for name in ("forward", "backward"):
        assert np.array_equal(out[name], expected[name], equal_nan=True)
    for name in ("lattice", "posteriors", "viterbi", "kbest"):
        for got, want in zip(out[name], expected[name], strict=True):
            assert np.array_equal(got, want, equal_nan=True), name


# --------------------------------------------------------- hostile arguments
def _hostile(name, n, n_frames, data):
    """A hostile value for argument ``name`` of a problem with ``n`` states."""
    shapes = {"log_startprob": (n,), "transmat": (n, n), "log_frameprob": (n_frames, n),
              "log_endprob": (n,)}
    if name in shapes:
        special = {
            "log_startprob": [np.full(n, 0.5), np.full(n, -np.inf), np.zeros(n + 1),
                              np.zeros((n, 1)), np.full(n, np.finfo(float).min)],
            "transmat": [np.full((n, n), 2.0), -np.eye(n), np.zeros((n, n)),
                         np.eye(n)[:, :max(n - 1, 1)], np.full((n, n), 1e308)],
            "log_frameprob": [np.full((n_frames, n), np.nan), np.zeros((n_frames, n + 1)),
                              np.zeros((n_frames, n, 1)), np.float64(0.0),
                              np.zeros((0, n)), np.full((n_frames, n), np.inf)],
            "log_endprob": [np.full(n, 0.5), np.full(n, -np.inf), np.zeros(n + 2),
                            np.full(n, np.nan)],
        }[name]
        return data.draw(st.one_of(hostile_arrays(shapes[name]), st.sampled_from(special)))
    if name == "lengths":
        return data.draw(st.one_of(st.sampled_from(HOSTILE_LENGTHS),
                                   st.just([n_frames + 1]), st.just([n_frames, 1])))
    if name == "n_threads":
        return data.draw(st.sampled_from([0, -1, -(10**6), 2.5, "x", np.nan, True, [2],
                                          10**30, 2**63]))
    if name == "sparse":
        return data.draw(st.sampled_from(["x", "auto", 2, np.nan, [True], 0.5]))
    if name == "k":  # (a huge k, 2**31 paths per sequence: a separate property)
        return data.draw(st.sampled_from([0, -1, 2.5, "3", None, np.nan, [2], True, False,
                                          np.float64(2.0)]))
    raise AssertionError(name)


ARGUMENTS = ("log_startprob", "transmat", "log_frameprob", "lengths", "log_endprob",
             "n_threads", "sparse", "k")


def _call_everything(args):
    """Every entry point with ``args``; returns the outcomes that succeeded."""
    a = dict(args)
    k = a.pop("k")
    threads = {"n_threads": a.pop("n_threads")}
    sparse = {"sparse": a.pop("sparse")}
    pos = (a["log_startprob"], a["transmat"], a["log_frameprob"], a["lengths"],
           a["log_endprob"])
    return [
        ("forward", lambda: hmm_core.forward(*pos, **threads, **sparse)),
        ("lattice", lambda: hmm_core.forward(*pos, return_lattice=True, **threads, **sparse)),
        ("backward", lambda: hmm_core.backward(*pos, **threads)),
        ("posteriors", lambda: hmm_core.posteriors(*pos, **threads, **sparse)),
        ("viterbi", lambda: hmm_core.viterbi(*pos, **threads, **sparse)),
        ("kbest", lambda: hmm_core.kbest_viterbi(pos[0], pos[1], pos[2], k, pos[3], pos[4])),
    ]


@props(750)
@given(problems(max_n=3, max_seq=3, max_len=5), st.data())
def test_hostile_arguments_raise_value_errors_naming_them(problem, data):
    log_start, trans, frames, lengths, log_end = problem
    n = trans.shape[0]
    args = {"log_startprob": log_start, "transmat": trans, "log_frameprob": frames,
            "lengths": lengths, "log_endprob": log_end, "n_threads": None, "sparse": None,
            "k": 2}
    hostile = data.draw(st.lists(st.sampled_from(ARGUMENTS), min_size=1, max_size=2,
                                 unique=True))
    for name in hostile:
        args[name] = _hostile(name, n, len(frames), data)
    names = set(hostile)
    # The number of states comes from log_startprob, and an end state changes what
    # transmat's rows must sum to: the other argument of the pair may be named instead.
    if "log_startprob" in names:
        names |= {"transmat", "log_frameprob", "log_endprob"}
    if "log_endprob" in names:
        names.add("transmat")
    for label, call in _call_everything(args):
        result, exc = attempt(call, names)
        if exc is not None:
            continue
        # Accepted: the result must still be sound.
        if label == "forward":
            check_loglik(result, upper=np.inf)
        elif label == "posteriors":
            assert not np.isnan(result[0]).any() and not np.isnan(result[1]).any()
        elif label in ("viterbi", "kbest"):
            assert not np.isnan(result[0]).any()
        elif label in ("lattice", "backward"):
            values = result[1] if label == "lattice" else result
            assert not np.isnan(values).any()


@props(180)
@given(problems(max_n=3, max_seq=3, max_len=5), st.data())
def test_valid_spellings_of_lengths_are_accepted(problem, data):
    log_start, trans, frames, lengths, log_end = problem
    spelling = data.draw(st.sampled_from(["tuple", "float", "int8", "uint64", "int32",
                                          "array"]))
    given_lengths = {"tuple": tuple(lengths),
                     "float": np.array(lengths, dtype=float),
                     "int8": np.array(lengths, dtype=np.int8),
                     "uint64": np.array(lengths, dtype=np.uint64),
                     "int32": np.array(lengths, dtype=np.int32),
                     "array": np.array(lengths)}[spelling]
    got = must_succeed(lambda: hmm_core.posteriors(log_start, trans, frames, given_lengths,
                                                   log_end))
    want = hmm_core.posteriors(log_start, trans, frames, lengths, log_end)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@props(180)
@given(problems(max_n=3, max_seq=2, max_len=4), st.integers(1, 12))
def test_kbest_lists_at_most_every_path(problem, k):
    log_start, trans, frames, lengths, log_end = problem
    assume(trans.shape[0] ** max(lengths) <= 200)
    logprob, paths = must_succeed(lambda: hmm_core.kbest_viterbi(log_start, trans, frames, k,
                                                                 lengths, log_end))
    offsets = offsets_of(lengths, len(frames))
    for s, (a, b) in enumerate(zip(offsets[:-1], offsets[1:], strict=True)):
        found = {tuple(paths[r, a:b]) for r in range(k) if logprob[r, s] > -np.inf}
        assert len(found) == int(np.sum(logprob[:, s] > -np.inf)), "a path listed twice"
