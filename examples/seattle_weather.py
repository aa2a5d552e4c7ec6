"""Seattle weather, 2012-2015: a Markov chain over the daily categories and a
Gaussian HMM that finds weather regimes in precipitation and temperatures.

Run ``python examples/seattle_weather.py --out weather-plots`` (needs
matplotlib for the plots; ``--no-plots`` skips them). The data ship with
hmm_core (``hmm_core.demo.load_seattle_weather``).

1. A first-order :class:`~hmm_core.MarkovChain` over the observed categories
   (sun, fog, drizzle, rain, snow): transition matrix, stationary
   distribution (the long-run climate) and a forecast from the last day.
2. A :class:`~hmm_core.GaussianHMM` over (log precipitation, max and min
   temperature) whose hidden states are regimes such as "cold and wet
   winter" or "dry summer"; the regimes are ordered by temperature.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from hmm_core import GaussianHMM, MarkovChain
from hmm_core.cli.demo import WEATHER_SYMBOLS, load_seattle_weather


def markov_chain(table, days_ahead):
    """Fit the chain over the categories; print the matrix, climate and a forecast."""
    names = list(WEATHER_SYMBOLS)
    chain = MarkovChain(state_names=names, pseudocount=0.5).fit(list(table["weather"]))
    print("Markov chain over the daily weather (row: today, column: tomorrow)")
    print(" " * 9 + "".join(f"{n:>9}" for n in names))
    for name, row in zip(names, chain.transmat_, strict=True):
        print(f"{name:>9}" + "".join(f"{p:9.3f}" for p in row))
    climate = chain.stationary_distribution()
    observed = np.array([np.mean(table["weather"] == n) for n in names])
    print("\nStationary distribution (long-run share of days) vs observed share")
    for name, p, q in zip(names, climate, observed, strict=True):
        print(f"  {name:>8}: {p:6.3f}   observed {q:6.3f}")
    last = str(table["weather"][-1])
    print(f"\nForecast from the last day ({table['date'][-1]}, {last}):")
    for steps in (1, 2, days_ahead):
        dist = chain.predict_distribution(last, n_steps=steps)
        best = names[int(np.argmax(dist))]
        print(f"  {steps:>3} day(s) ahead: " + ", ".join(
            f"{n} {p:.2f}" for n, p in zip(names, dist, strict=True)) + f"  -> {best}")
    return chain


def weather_features(table):
    """(n_days, 3): log(1 + precipitation), temp_max, temp_min."""
    return np.column_stack([np.log1p(table["precipitation"]), table["temp_max"],
                            table["temp_min"]])


def gaussian_regimes(table, n_regimes, n_iter, seed):
    """Fit a full-covariance Gaussian HMM; print the regimes ordered by temperature."""
    X = weather_features(table)
    model = GaussianHMM(n_components=n_regimes, covariance_type="full", n_iter=n_iter,
                        tol=1e-4, random_state=seed, n_init=2).fit(X)
    order = np.argsort(model.means_[:, 1])  # coldest regime first
    _, states = model.decode(X)
    print(f"\nGaussian HMM with {n_regimes} weather regimes "
          f"({model.monitor_.iter} EM iterations, log-likelihood {model.score(X):.1f})")
    print("  regime  precip(mm)  temp_max  temp_min  mean stay(days)  share of days")
    for rank, k in enumerate(order):
        stay = 1.0 / max(1.0 - model.transmat_[k, k], 1e-12)
        share = np.mean(states == k)
        print(f"  {rank:>6}  {np.expm1(model.means_[k, 0]):10.2f}  {model.means_[k, 1]:8.1f}"
              f"  {model.means_[k, 2]:8.1f}  {stay:15.1f}  {share:13.2f}")
    months = np.array([int(d.split("/")[1]) for d in table["date"]])
    ranked = np.argsort(order)[states]  # regime of each day, by temperature rank
    common = [int(np.bincount(ranked[months == m], minlength=n_regimes).argmax())
              for m in range(1, 13)]
    print("  most common regime by month (Jan..Dec): " + " ".join(map(str, common)))
    return model, X, order


def save_plots(out, chain, model, X, order):
    """Transition graph of the chain; posteriors, graph and ellipses of the HMM."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    from hmm_core import plot

    os.makedirs(out, exist_ok=True)
    names = [f"regime {int(np.argsort(order)[k])}" for k in range(model.n_components)]
    figures = {
        "weather_chain_graph.png": plot.plot_transition_graph(chain),
        "weather_regime_posteriors.png": plot.plot_posteriors(
            model, X[:365], state_names=names,
            feature_names=["log1p precipitation", "temp max", "temp min"]),
        "weather_regime_graph.png": plot.plot_transition_graph(model, state_names=names),
        "weather_regime_ellipses.png": plot.plot_emissions(
            model, features=(1, 0), X=X, state_names=names,
            feature_names=["log1p precipitation", "temp max", "temp min"]),
    }
    for name, fig in figures.items():
        fig.savefig(os.path.join(out, name), dpi=90)
        plt.close(fig)
    with open(os.path.join(out, "weather_chain.dot"), "w", encoding="utf-8") as handle:
        handle.write(plot.to_dot(chain) + "\n")
    print(f"\nPlots written to {out}/: " + ", ".join(sorted(figures)) + ", weather_chain.dot")


def main(argv=None):
    """Run the example; see ``--help``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regimes", type=int, default=4, help="hidden weather regimes")
    parser.add_argument("--n-iter", type=int, default=200, help="EM iterations")
    parser.add_argument("--days-ahead", type=int, default=30, help="longest forecast")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="weather-plots", help="directory for the plots")
    parser.add_argument("--no-plots", action="store_true", help="skip the plots")
    args = parser.parse_args(argv)
    table = load_seattle_weather()
    chain = markov_chain(table, args.days_ahead)
    model, X, order = gaussian_regimes(table, args.regimes, args.n_iter, args.seed)
    if not args.no_plots:
        save_plots(args.out, chain, model, X, order)


if __name__ == "__main__":
    main()
