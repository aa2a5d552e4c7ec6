"""Seattle weather, 2012-2015: how many regimes the data support (variational Bayes)
and how daily temperatures evolve within each regime (an autoregressive HMM).

Run ``python examples/weather_vb_autoregressive.py``. The data ship with
hmm_core (``hmm_core.demo.load_seattle_weather``).

1. A :class:`~hmm_core.VariationalGaussianHMM` with more states than needed
   over (log precipitation, max and min temperature): the states that the
   posterior leaves (almost) empty are switched off, so the fit itself says
   how many regimes the data support.
2. An :class:`~hmm_core.AutoregressiveHMM` of order 1 over the daily max and
   min temperatures: each regime is a linear dynamical rule
   ``x_t = A x_{t-1} + b + noise``, whose persistence (the largest
   eigenvalue of ``A``) and noise level describe the regime's weather.
"""

from __future__ import annotations

import argparse

import numpy as np

from hmm_core import AutoregressiveHMM, VariationalGaussianHMM
from hmm_core.cli.demo import load_seattle_weather


def variational_regimes(table, n_states, n_iter, seed):
    """Fit an over-specified VB model; print the states it keeps."""
    X = np.column_stack([np.log1p(table["precipitation"]), table["temp_max"],
                         table["temp_min"]])
    model = VariationalGaussianHMM(n_components=n_states, covariance_type="full",
                                   n_iter=n_iter, random_state=seed, n_init=3).fit(X)
    occupancy = model.beta_posterior_ - model.beta_prior_  # expected days per state
    kept = np.flatnonzero(occupancy > 0.01 * len(X))
    print(f"Variational Gaussian HMM with {n_states} states: lower bound "
          f"{model.monitor_.history[-1]:.1f} after {model.monitor_.iter} iterations")
    print(f"  states kept (more than 1% of the days): {len(kept)} of {n_states}")
    print("  state  days   precip(mm)  temp_max  temp_min")
    for k in kept[np.argsort(model.means_[kept, 1])]:
        print(f"  {k:>5}  {occupancy[k]:5.0f}  {np.expm1(model.means_[k, 0]):10.2f}"
              f"  {model.means_[k, 1]:8.1f}  {model.means_[k, 2]:8.1f}")
    return model


def temperature_dynamics(table, n_regimes, n_iter, seed):
    """Fit an order-1 autoregressive HMM on (temp_max, temp_min); print each regime."""
    X = np.column_stack([table["temp_max"], table["temp_min"]])
    model = AutoregressiveHMM(n_components=n_regimes, n_lags=1, covariance_type="full",
                              n_iter=n_iter, tol=1e-4, random_state=seed, n_init=2).fit(X)
    states = model.predict(X)
    print(f"\nAutoregressive HMM (lag 1) with {n_regimes} temperature regimes: "
          f"log-likelihood {model.score(X):.1f} ({model.monitor_.iter} EM iterations)")
    print("  regime  share  persistence  steady temp_max  noise sd(temp_max)")
    for k in range(n_regimes):
        A, b = model.coefs_[k], model.intercepts_[k]
        persistence = np.max(np.abs(np.linalg.eigvals(A)))
        steady = np.linalg.solve(np.eye(2) - A, b) if persistence < 1 else [np.nan] * 2
        print(f"  {k:>6}  {np.mean(states == k):5.2f}  {persistence:11.2f}"
              f"  {steady[0]:15.1f}  {np.sqrt(model.covars_[k][0, 0]):18.2f}")
    return model


def main(argv=None):
    """Run the example; see ``--help``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=8, help="states of the VB model")
    parser.add_argument("--regimes", type=int, default=3, help="autoregressive regimes")
    parser.add_argument("--n-iter", type=int, default=200, help="iterations")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    table = load_seattle_weather()
    variational_regimes(table, args.states, args.n_iter, args.seed)
    temperature_dynamics(table, args.regimes, args.n_iter, args.seed)


if __name__ == "__main__":
    main()
