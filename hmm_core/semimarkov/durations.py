"""Duration distributions of a semi-Markov model, on 1..max_duration.

Three families: ``"nonparametric"`` (any table), ``"poisson"`` (d - 1 is
Poisson with mean ``lambda``) and ``"negative_binomial"`` (d - 1 is negative
binomial with ``n`` successes and success probability ``p``, scipy's
parametrisation). The parametric families are shifted to start at 1 and
truncated at ``max_duration``: their table is renormalised over 1..D, so every
table is a distribution on the durations the model can use.

The M-step of a parametric family maximises the expected complete-data
log-likelihood of the truncated family numerically, starting from the current
parameters, and keeps the current parameters unless the new ones score at
least as well: EM never decreases the likelihood.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

from hmm_core.emissions.base import dirichlet_map_rows

__all__ = ["FAMILIES", "check_duration_params", "duration_log_table", "expand_censored",
           "fit_durations", "initial_durations", "log_survival"]

#: Family name -> number of parameters per state (0: the table itself).
FAMILIES = {"nonparametric": 0, "poisson": 1, "negative_binomial": 2}


def _raw_logpmf(family, params, max_duration):
    """(N, D) log P(d - 1 = k) of the untruncated family, k = 0..D - 1."""
    k = np.arange(max_duration)[None, :]
    if family == "poisson":
        return stats.poisson.logpmf(k, params[:, :1])
    return stats.nbinom.logpmf(k, params[:, :1], params[:, 1:2])


def duration_log_table(family, params, max_duration):
    """Log duration probabilities of a parametric family, renormalised over 1..D.

    Parameters
    ----------
    family : {"poisson", "negative_binomial"}
    params : ndarray of shape (n_components, n_params)
        Poisson: the mean ``lambda`` of d - 1. Negative binomial: ``n`` and ``p``.
    max_duration : int

    Returns
    -------
    ndarray of shape (n_components, max_duration)
        Column ``d - 1`` is ``log P(duration = d)``.
    """
    raw = _raw_logpmf(family, np.asarray(params, dtype=float), max_duration)
    return raw - special.logsumexp(raw, axis=1, keepdims=True)


def log_survival(log_table):
    """``log P(duration >= d)`` for d = 1..D, from a log duration table.

    Parameters
    ----------
    log_table : ndarray of shape (n_components, max_duration)

    Returns
    -------
    ndarray of shape (n_components, max_duration)
    """
    tail = np.logaddexp.accumulate(log_table[:, ::-1], axis=1)[:, ::-1]
    return np.minimum(tail, 0.0)   # the first entry is 1 up to rounding


def check_duration_params(family, params, n_components):
    """Validate parametric duration parameters (``ValueError`` naming ``duration_params_``).

    Parameters
    ----------
    family : str
    params : array-like
    n_components : int

    Returns
    -------
    ndarray of float64 of shape (n_components, n_params)
    """
    width = FAMILIES[family]
    arr = np.array(params, dtype=float)
    if arr.shape != (n_components, width):
        raise ValueError(f"duration_params_ must have shape ({n_components}, {width}) for "
                         f"{family} durations, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("duration_params_ must be finite (no NaN or inf)")
    if family == "poisson" and (arr[:, 0] <= 0).any():
        raise ValueError("duration_params_ (Poisson means) must be positive")
    if family == "negative_binomial" and ((arr[:, 0] <= 0).any() or (arr[:, 1] <= 0).any()
                                          or (arr[:, 1] > 1).any()):
        raise ValueError("duration_params_ must hold n > 0 and 0 < p <= 1 per state")
    return arr


def initial_durations(family, n_components, max_duration, random_state):
    """Starting durations: uniform tables, or parametric means spread over 1..D.

    Parameters
    ----------
    family : str
    n_components, max_duration : int
    random_state : numpy.random.RandomState

    Returns
    -------
    table : ndarray of shape (n_components, max_duration)
    params : ndarray of shape (n_components, n_params) or None
    """
    if family == "nonparametric":
        return np.full((n_components, max_duration), 1.0 / max_duration), None
    means = random_state.uniform(0.1, 0.5, size=n_components) * max(max_duration - 1, 1)
    if family == "poisson":
        params = means[:, None]
    else:
        n = np.full(n_components, 2.0)
        params = np.column_stack([n, n / (n + means)])
    return np.exp(duration_log_table(family, params, max_duration)), params


def expand_censored(last_counts, table):
    """Expected durations of right-censored segments, by their observed length.

    A last segment seen for ``l`` frames lasts ``d >= l`` frames with
    probability ``p(d) / P(duration >= l)`` under the current table.

    Parameters
    ----------
    last_counts : ndarray of shape (n_components, max_duration)
        Expected censored segments by observed length.
    table : ndarray of shape (n_components, max_duration)
        Duration probabilities of the E-step.

    Returns
    -------
    ndarray of shape (n_components, max_duration)
        Expected counts of their full durations.
    """
    tail = np.cumsum(table[:, ::-1], axis=1)[:, ::-1]        # P(duration >= l)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(tail > 0, last_counts / tail, 0.0)  # (N, l)
    # sum over l <= d of weight[l], times p(d)
    return np.cumsum(weight, axis=1) * table


def _truncated_loglik(family, params, counts, max_duration):
    table = duration_log_table(family, params[None, :], max_duration)[0]
    used = counts > 0
    return float(np.dot(counts[used], table[used]))


def _fit_one(family, counts, current, max_duration):
    """Parameters of one state maximising sum_d counts[d] log p(d), from ``current``."""
    big = 10.0 * max_duration + 10.0

    if family == "poisson":
        def unpack(theta):
            return np.array([np.exp(np.clip(theta[0], -30.0, np.log(big)))])
        theta0 = np.log(current)
        bounds = [(-30.0, np.log(big))]
    else:
        def unpack(theta):
            n = np.exp(np.clip(theta[0], -10.0, np.log(big)))
            return np.array([n, special.expit(np.clip(theta[1], -30.0, 30.0))])
        theta0 = np.array([np.log(current[0]), special.logit(min(current[1], 1 - 1e-12))])
        bounds = [(-10.0, np.log(big)), (-30.0, 30.0)]

    def objective(theta):
        value = -_truncated_loglik(family, unpack(theta), counts, max_duration)
        return value if np.isfinite(value) else 1e300

    theta0 = np.clip(theta0, [b[0] for b in bounds], [b[1] for b in bounds])
    result = optimize.minimize(objective, theta0, method="L-BFGS-B", bounds=bounds,
                               options={"ftol": 1e-13, "gtol": 1e-10, "maxiter": 500})
    proposal = unpack(result.x)
    before = _truncated_loglik(family, current, counts, max_duration)
    after = _truncated_loglik(family, proposal, counts, max_duration)
    return proposal if after >= before else current


def fit_durations(family, counts, table, params, prior):
    """One M-step of the durations from expected duration counts.

    Parameters
    ----------
    family : str
    counts : ndarray of shape (n_components, max_duration)
        Expected number of segments of each state and duration.
    table : ndarray of shape (n_components, max_duration)
        Current duration probabilities.
    params : ndarray of shape (n_components, n_params) or None
        Current parametric parameters.
    prior : float or array-like
        Dirichlet concentration of a nonparametric table (1 = none).

    Returns
    -------
    table : ndarray of shape (n_components, max_duration)
    params : ndarray or None
        A state without expected segments keeps its durations.
    """
    if family == "nonparametric":
        return dirichlet_map_rows(counts, prior, table), None
    max_duration = table.shape[1]
    params = np.array(params, dtype=float)
    for j in range(counts.shape[0]):
        if counts[j].sum() > 0:
            params[j] = _fit_one(family, counts[j], params[j], max_duration)
    return np.exp(duration_log_table(family, params, max_duration)), params
