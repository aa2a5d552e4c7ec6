"""Shared pieces of the property tests (tests/test_properties_*.py).

Settings: every property uses :func:`props`, the ``hmm_core-props`` profile
(no deadline) with its own number of examples, scaled by the environment
variable ``HMM_CORE_PROPS_SCALE`` (e.g. 10 for a long local run; the default
keeps the whole set to a couple of minutes on two cores).

Outcome checks: :func:`attempt` runs a call under a time limit and lets only
``ValueError``/``TypeError`` out, with a message that names one of the given
arguments; the ``check_*`` functions state what a result may hold (no NaN,
posteriors in [0, 1] summing to one per frame of a possible sequence, ...).

Strategies: hostile values (:data:`EXTREME_FLOATS`, :func:`hostile_arrays`,
:func:`hostile_lengths`, :func:`hostile_settings`), random chains and frame
scores (:func:`chains`, :func:`frame_scores`), and random valid models of
every family with an independent computation of their frame scores
(:func:`random_model`, :func:`reference_frames`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import warnings

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import gammaln, logsumexp, xlogy

settings.register_profile(
    "hmm_core-props", deadline=None, print_blob=True, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much])
SCALE = float(os.environ.get("HMM_CORE_PROPS_SCALE", "1"))
#: Seconds one call may take before it counts as a hang.
TIME_LIMIT = float(os.environ.get("HMM_CORE_PROPS_TIME_LIMIT", "20"))


def props(max_examples):
    """Hypothesis settings of a property: the profile, ``max_examples`` scaled."""
    return settings(settings.get_profile("hmm_core-props"),
                    max_examples=max(1, int(round(max_examples * SCALE))), deadline=None)


# --------------------------------------------------------------------- outcomes
class Hang(BaseException):
    """Raised in the test by the time limit (a BaseException: no ``except Exception`` eats it)."""


def _alarm(signum, frame):
    raise Hang()


@contextlib.contextmanager
def time_limit(seconds=None):
    """Fail the test if the block runs longer than ``seconds`` (SIGALRM; main thread only)."""
    seconds = TIME_LIMIT if seconds is None else seconds
    if signal.getitimer(signal.ITIMER_REAL)[0] > 0:  # inside another limit: that one rules
        yield
        return
    try:
        previous = signal.signal(signal.SIGALRM, _alarm)
    except ValueError:  # not the main thread: no limit
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except Hang:
        raise AssertionError(f"the call ran for more than {seconds} s (a hang)") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: Bytes of address space a call may add before allocations fail (MemoryError, not the OOM killer).
MEMORY_LIMIT = int(float(os.environ.get("HMM_CORE_PROPS_MEMORY_LIMIT", 3e9)))


def _address_space():
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


@contextlib.contextmanager
def memory_limit(extra=None):
    """Cap the address space at its current size plus ``extra`` bytes (Linux; else no cap)."""
    try:
        import resource
    except ImportError:  # not on this platform
        yield
        return
    current = _address_space()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if current is None:
        yield
        return
    cap = current + (MEMORY_LIMIT if extra is None else extra)
    for limit in (soft, hard):  # inside another limit: the lower one rules
        if limit != resource.RLIM_INFINITY:
            cap = min(cap, limit)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    # The library's memory budget follows the cap, so that requests between the cap
    # and the machine's memory are refused by its estimate rather than MemoryError.
    budget = os.environ.get("HMM_CORE_MEMORY_LIMIT")
    if budget is None:
        os.environ["HMM_CORE_MEMORY_LIMIT"] = str(cap - current)
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        if budget is None:
            os.environ.pop("HMM_CORE_MEMORY_LIMIT", None)


def check_error(exc, names):
    """``exc`` is a ValueError or TypeError of hmm_core or Python whose message names one of
    ``names``."""
    kind = type(exc)
    assert isinstance(exc, (ValueError, TypeError)), (
        f"{kind.__module__}.{kind.__name__} escaped: {exc}")
    assert not kind.__module__.startswith("numpy"), (
        f"numpy's {kind.__name__} escaped: {exc}")
    message = str(exc)
    assert any(name in message for name in names), (
        f"{kind.__name__} message {message!r} names none of {sorted(names)}")


def attempt(call, names, seconds=None):
    """Run ``call()``; return ``(result, None)`` or ``(None, exc)`` for an allowed error.

    Anything but a ValueError/TypeError naming one of ``names`` fails the
    test, and so does running past the time limit.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with time_limit(seconds), memory_limit():
                return call(), None
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001 - the property is about which ones escape
            check_error(exc, names)
            return None, exc


def must_succeed(call, seconds=None):
    """Run ``call()`` under the time limit, warnings silenced; any exception fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with time_limit(seconds), memory_limit():
            return call()


# --------------------------------------------------------------- result checks
def offsets_of(lengths, n_frames):
    if lengths is None:
        return np.array([0, n_frames])
    return np.concatenate(([0], np.cumsum(np.asarray(lengths, dtype=np.int64))))


def frame_upper_bound(frames, offsets):
    """Per sequence, the sum of row maxima of the frame scores: no log-likelihood exceeds it."""
    frames = np.asarray(frames, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rows = frames.max(axis=1)
        return np.array([rows[a:b].sum() for a, b in zip(offsets[:-1], offsets[1:],
                                                          strict=True)])


def check_loglik(loglik, upper=None, what="log-likelihood"):
    """No NaN; ``+inf`` only where the frames' upper bound overflows too."""
    loglik = np.asarray(loglik, dtype=np.float64)
    assert not np.isnan(loglik).any(), f"NaN {what}: {loglik}"
    if upper is None:
        assert not (loglik == np.inf).any(), f"+inf {what}: {loglik}"
    else:
        bounded = np.broadcast_to(np.asarray(upper) < 1e300, loglik.shape)
        assert not (loglik[bounded] == np.inf).any(), f"+inf {what} with bounded frames"


def check_posteriors(post, loglik, offsets, n_components):
    """In [0, 1], no NaN; rows sum to one for a possible sequence, zero for an impossible one."""
    post = np.asarray(post)
    assert post.shape == (offsets[-1], n_components), post.shape
    assert not np.isnan(post).any(), "NaN posteriors"
    assert post.min() >= 0.0 and post.max() <= 1.0 + 1e-12, (post.min(), post.max())
    rows = post.sum(axis=1)
    possible = np.repeat(np.asarray(loglik) > -np.inf, np.diff(offsets))
    assert np.all(np.abs(rows[possible] - 1.0) < 1e-9), rows[possible]
    assert np.all(post[~possible] == 0.0), "impossible sequence with non-zero posteriors"


def frame_magnitude(frames, offsets):
    """Per sequence, the sum of the largest finite |score| of every frame: the scale of the
    rounding error of any sum of frame scores (cancellation between +-1e300 frames)."""
    frames = np.asarray(frames, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rows = np.where(np.isfinite(frames), np.abs(frames), 0.0).max(axis=1)
        return np.array([rows[a:b].sum() for a, b in zip(offsets[:-1], offsets[1:],
                                                          strict=True)])


def check_paths(logprob, path, offsets, n_components, loglik=None, magnitude=0.0):
    """A path of states for each possible sequence, -1 for an impossible one.

    With ``loglik``, the path is no more probable than all paths, up to rounding
    (relative, plus ``magnitude`` times a few ulps: see :func:`frame_magnitude`).
    """
    logprob = np.asarray(logprob)
    path = np.asarray(path)
    assert path.shape == (offsets[-1],) and path.dtype.kind == "i", (path.shape, path.dtype)
    assert not np.isnan(logprob).any(), "NaN path log-probability"
    possible = np.repeat(logprob > -np.inf, np.diff(offsets))
    assert np.all((path[possible] >= 0) & (path[possible] < n_components))
    assert np.all(path[~possible] == -1)
    if loglik is not None:
        loglik = np.asarray(loglik)
        finite = np.isfinite(loglik) & np.isfinite(logprob)
        slack = 1e-9 * np.abs(loglik) + 1e-9 + 1e-14 * np.broadcast_to(magnitude, loglik.shape)
        with np.errstate(over="ignore"):  # near finfo.max the bound is +inf: it still holds
            bound = loglik[finite] + slack[finite]
        assert np.all(logprob[finite] <= bound), (logprob, loglik)
        assert np.all(logprob[loglik == -np.inf] == -np.inf)


def check_stochastic(arr, name, axis=-1, plus=None):
    """No NaN, non-negative, sums to one along ``axis`` (plus ``plus``, e.g. endprob)."""
    arr = np.asarray(arr, dtype=np.float64)
    assert not np.isnan(arr).any(), f"NaN in {name}"
    assert np.all(np.isfinite(arr)) and arr.min() >= 0, f"{name} out of range"
    sums = arr.sum(axis=axis)
    if plus is not None:
        sums = sums + np.asarray(plus)
    assert np.all(np.abs(sums - 1.0) < 1e-8), f"{name} sums to {sums}"


# ------------------------------------------------------------------ strategies
#: Finite doubles at and near the edges of the range.
EXTREME_FLOATS = [float(np.finfo(float).min), -1e308, -1e300, -1e200, -745.2, -5e-324, 0.0,
                  5e-324, 1e-300, 1e200, 1e300, 1e308, float(np.finfo(float).max)]
#: Extreme but hostile-free values for log frame scores (all <= 0).
NEGATIVE_EXTREMES = [float(np.finfo(float).min), -1e308, -1e300, -1e200, -745.2, -5e-324]


@st.composite
def stochastic(draw, shape, zeros=True, total=1.0):
    """Rows summing to ``total`` with random structural zeros (one non-zero per row kept)."""
    values = draw(hnp.arrays(np.float64, shape, elements=st.floats(0.05, 1.0)))
    if zeros:
        mask = draw(hnp.arrays(np.bool_, shape))
        keep = draw(hnp.arrays(np.int64, shape[:-1] or (),
                               elements=st.integers(0, shape[-1] - 1)))
        np.put_along_axis(mask, np.expand_dims(np.asarray(keep), -1), False, axis=-1)
        values = np.where(mask, 0.0, values)
    return values / values.sum(axis=-1, keepdims=True) * np.asarray(total)[..., None]


@st.composite
def chains(draw, n, end=None, zeros=True):
    """``(startprob, transmat, endprob or None)`` of a random valid chain."""
    start = draw(stochastic((n,), zeros))
    end = draw(st.booleans()) if end is None else end
    endprob = None
    if end:
        endprob = draw(hnp.arrays(np.float64, (n,), elements=st.sampled_from(
            [0.0, 0.05, 0.3, 0.6, 1.0] if zeros else [0.05, 0.3, 0.6])))
        if not (endprob > 0).any():
            endprob[draw(st.integers(0, n - 1))] = 0.5
        trans = draw(stochastic((n, n), zeros, total=1.0 - endprob))
        # A state that always ends has an all-zero transition row.
    else:
        trans = draw(stochastic((n, n), zeros))
    return start, trans, endprob


def log(a):
    with np.errstate(divide="ignore"):
        return np.log(a)


@st.composite
def lengths_for(draw, max_seq=4, max_len=8):
    return draw(st.lists(st.integers(1, max_len), min_size=1, max_size=max_seq))


def frame_scores(n_frames, n, extremes=(), impossible=True, low=-30.0):
    """(T, N) log frame scores in [low, 0], some ``-inf``, some from ``extremes``."""
    choices = [st.floats(low, 0.0)]
    if impossible:
        choices.append(st.just(-np.inf))
    if extremes:
        choices.append(st.sampled_from(list(extremes)))
    return hnp.arrays(np.float64, (n_frames, n), elements=st.one_of(*choices))


# --------------------------------------------------------------- hostile values
def _ragged():
    return [[0.0, 1.0], [1.0]]


def hostile_arrays(shape, dtype_ok=True):
    """Values that are not a numeric float array of ``shape``: each must be refused by name."""
    n = shape[-1] if shape else 1
    values = [None, "x", "abc", {}, _ragged(), np.zeros(shape, dtype=object),
              np.zeros(shape, dtype=np.complex128), np.float64(0.5), np.zeros((2,) * 3 + shape),
              np.zeros((0,) + tuple(shape[1:])), np.zeros(tuple(s + 1 for s in shape)),
              np.array(["a"] * n), np.full(shape, np.nan), np.full(shape, np.inf)]
    return st.sampled_from(values)


#: lengths that are not positive integers summing to the number of frames.
HOSTILE_LENGTHS = [
    [0], [-1], [0, 0], [-3, 6], [1.5], [np.nan], [np.inf], [1e300], [-1e300], "3", "abc",
    [[3]], [], np.array([], dtype=np.int64), [None], [object()], {}, 3.5, True,
    [True, True], np.array([1, 1], dtype=np.bool_), [1 + 0j], ["1", "2"], [10**30],
    [2**63 - 1], np.array([2**64 - 1], dtype=np.uint64),
]
#: lengths whose int64 sum wraps around (to 2 or 3, say, or to a negative number): the
#: subject of a property kept apart until the library refuses them by name.
OVERFLOW_LENGTHS = [
    [2**62, 2**62, 2**62, 2**62 + 3], [2**63 - 1, 2**63 - 1, 5], [2**62, 2**62, 2**62, 2**62 + 2],
    np.array([2**64 - 1, 4], dtype=np.uint64), np.array([2**63, 2**63 + 3], dtype=np.uint64),
    np.array([2**64 - 1, 3], dtype=np.uint64), [2**63 - 1, 2**63 - 1, 4],
]


def hostile_lengths():
    return st.sampled_from(HOSTILE_LENGTHS)


#: Hostile values of a constructor setting.
HOSTILE_SETTINGS = ["x", "", None, np.array([1, 2]), np.array([]), -1, -10**6, 0, np.nan,
                    np.inf, -np.inf, 10**30, 1e308, -1e-300, True, False, 2.5, [], {}, (1,),
                    object(), np.float64(np.nan), np.int64(-5), 1 + 2j]


# ---------------------------------------------------------------------- models
KINDS = ("categorical", "gaussian-spherical", "gaussian-diag", "gaussian-full",
         "gaussian-tied", "gmm-spherical", "gmm-diag", "gmm-full", "gmm-tied", "poisson",
         "multinomial", "independent")


def random_spd(rng, d, scale=1.0):
    a = rng.normal(size=(d, d))
    return scale * (a @ a.T / d + 0.5 * np.eye(d))


def random_model(kind, n, rng, d=2, end=None, zeros=0.0, n_mix=2, n_symbols=3, n_trials=5,
                 **settings):
    """A model of family ``kind`` with every parameter set to random valid values."""
    from hmm_core import (
        GMMHMM,
        CategoricalHMM,
        GaussianHMM,
        IndependentHMM,
        MultinomialHMM,
        PoissonHMM,
    )
    from hmm_core.emissions import CategoricalEmission
    from hmm_core.emissions.poisson import PoissonEmission

    def rows(shape):
        p = rng.random_sample(shape) + 0.05
        if zeros:
            mask = rng.random_sample(shape) < zeros
            keep = np.argmax(rng.random_sample(shape), axis=-1)
            np.put_along_axis(mask, np.expand_dims(keep, -1), False, axis=-1)
            p = np.where(mask, 0.0, p)
        return p / p.sum(axis=-1, keepdims=True)

    if kind == "categorical":
        model = CategoricalHMM(n, **settings)
        model.emissionprob_ = rows((n, n_symbols))
    elif kind.startswith("gaussian"):
        cov = kind.split("-")[1]
        model = GaussianHMM(n, covariance_type=cov, **settings)
        model.means_ = rng.normal(0, 3, (n, d))
        model.covars_ = {"spherical": lambda: rng.uniform(0.3, 2, n),
                         "diag": lambda: rng.uniform(0.3, 2, (n, d)),
                         "full": lambda: np.array([random_spd(rng, d) for _ in range(n)]),
                         "tied": lambda: random_spd(rng, d)}[cov]()
    elif kind.startswith("gmm"):
        cov = kind.split("-")[1]
        model = GMMHMM(n, n_mix=n_mix, covariance_type=cov, **settings)
        model.weights_ = rows((n, n_mix))
        model.means_ = rng.normal(0, 3, (n, n_mix, d))
        model.covars_ = {
            "spherical": lambda: rng.uniform(0.3, 2, (n, n_mix)),
            "diag": lambda: rng.uniform(0.3, 2, (n, n_mix, d)),
            "full": lambda: np.array([[random_spd(rng, d) for _ in range(n_mix)]
                                      for _ in range(n)]),
            "tied": lambda: np.array([random_spd(rng, d) for _ in range(n)])}[cov]()
    elif kind == "poisson":
        model = PoissonHMM(n, **settings)
        model.lambdas_ = rng.uniform(0.2, 8, (n, d))
    elif kind == "multinomial":
        model = MultinomialHMM(n, n_trials=n_trials, **settings)
        model.emissionprob_ = rows((n, n_symbols))
    elif kind == "independent":
        model = IndependentHMM([(0, CategoricalEmission()), ([1], PoissonEmission())], n,
                               **settings)
        blocks = model.emissions_
        blocks[0].emissionprob_ = rows((n, n_symbols))
        blocks[1].lambdas_ = rng.uniform(0.2, 8, (n, 1))
    else:
        raise ValueError(kind)
    model.startprob_ = rows((n,))
    end = bool(rng.randint(2)) if end is None else end
    if end:
        endprob = rng.uniform(0.05, 0.5, n)
        model.transmat_ = rows((n, n)) * (1 - endprob)[:, None]
        model.endprob_ = endprob
    else:
        model.transmat_ = rows((n, n))
    return model


def random_data(kind, rng, n_frames, d=2, n_symbols=3, n_trials=5, missing=0.0):
    """Valid observations for a model of family ``kind`` (NaN/-1 marks a missing value)."""
    if kind == "categorical":
        X = rng.randint(0, n_symbols, (n_frames, 1))
        if missing:
            X[rng.random_sample(n_frames) < missing] = -1
            if (X < 0).all():
                X[0] = 0
        return X
    if kind.startswith(("gaussian", "gmm")):
        X = rng.normal(0, 3, (n_frames, d))
    elif kind == "poisson":
        X = rng.poisson(3, (n_frames, d)).astype(float)
    elif kind == "multinomial":
        return rng.multinomial(n_trials, np.full(n_symbols, 1.0 / n_symbols), n_frames)
    elif kind == "independent":
        X = np.column_stack([rng.randint(0, n_symbols, n_frames),
                             rng.poisson(3, n_frames)]).astype(float)
    if missing:
        X[rng.random_sample(X.shape) < missing] = np.nan
        # Every column keeps an observed value (a wholly missing column is refused).
        X[0, np.isnan(X).all(axis=0)] = 1.0
    return X


def _mvn_logpdf(x, mean, cov):
    """Log density of a normal, marginal over the NaN entries of ``x`` (0 if all are)."""
    seen = ~np.isnan(x)
    if not seen.any():
        return 0.0
    diff = x[seen] - mean[seen]
    c = cov[np.ix_(seen, seen)]
    sign, logdet = np.linalg.slogdet(2 * np.pi * c)
    return -0.5 * (logdet + diff @ np.linalg.solve(c, diff))


def _poisson_logpmf(x, lam):
    """Sum over features of Poisson log-pmfs, NaN entries skipped; (T, N)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = xlogy(x[:, None, :], lam[None]) - lam[None] - gammaln(x[:, None, :] + 1)
    return np.where(np.isnan(x)[:, None, :], 0.0, terms).sum(axis=2)


def reference_frames(model, X):
    """(T, N) log frame probabilities of ``model``, computed independently of hmm_core."""
    from hmm_core import (
        GMMHMM,
        CategoricalHMM,
        GaussianHMM,
        IndependentHMM,
        MultinomialHMM,
        PoissonHMM,
    )
    n = model.n_components
    if isinstance(model, CategoricalHMM):
        x = np.asarray(X).reshape(-1)
        table = np.vstack([log(model.emissionprob_).T, np.zeros((1, n))])
        return table[np.where(x < 0, -1, x)]
    if isinstance(model, GaussianHMM):
        X = np.asarray(X, dtype=float)
        covs = model.covars_
        return np.array([[_mvn_logpdf(x, model.means_[i], covs[i]) for i in range(n)]
                         for x in X])
    if isinstance(model, GMMHMM):
        X = np.asarray(X, dtype=float)
        out = np.empty((len(X), n))
        d = X.shape[1]
        cov = {"spherical": lambda i, m: model.covars_[i, m] * np.eye(d),
               "diag": lambda i, m: np.diag(model.covars_[i, m]),
               "full": lambda i, m: model.covars_[i, m],
               "tied": lambda i, m: model.covars_[i]}[model.covariance_type]
        for t, x in enumerate(X):
            for i in range(n):
                comps = [log(model.weights_[i, m]) + _mvn_logpdf(x, model.means_[i, m], cov(i, m))
                         for m in range(model.n_mix)]
                out[t, i] = logsumexp(comps)
        return out
    if isinstance(model, PoissonHMM):
        return _poisson_logpmf(np.asarray(X, dtype=float), model.lambdas_)
    if isinstance(model, MultinomialHMM):
        X = np.asarray(X, dtype=float)
        coef = gammaln(X.sum(axis=1) + 1) - gammaln(X + 1).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = xlogy(X[:, None, :], model.emissionprob_[None]).sum(axis=2)
        return coef[:, None] + terms
    if isinstance(model, IndependentHMM):
        X = np.asarray(X, dtype=float)
        cat, pois = model.emissions_
        sym = X[:, 0]
        table = np.vstack([log(cat.emissionprob_).T, np.zeros((1, n))])
        first = table[np.where(np.isnan(sym), -1, sym).astype(int)]
        return first + _poisson_logpmf(X[:, 1:], pois.lambdas_)
    raise TypeError(type(model).__name__)
