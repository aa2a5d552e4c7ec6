"""Wet and dry spells in Seattle, 2012-2015, with an explicit-duration HMM.

Run ``python examples/weather_spells.py``. The data ship with hmm_core
(``hmm_core.demo.load_seattle_weather``): one weather category a day (sun,
fog, drizzle, rain, snow).

An HMM can only give a regime a geometric duration: the most likely spell
always lasts one day. A :class:`~hmm_core.SemiMarkovHMM` learns the
distribution of spell lengths itself. Here two regimes (named "wet" and "dry"
by their rain probability) get negative binomial durations of up to
``--max-duration`` days (``--duration`` picks another family), the last spell
of the record is right-censored (it went on after the data end), and the
script prints each regime's weather, its spell-length distribution against
the geometric one of a two-state :class:`~hmm_core.CategoricalHMM` fitted to
the same days, both models' log-likelihood and BIC, and the decoded spells of
the last month. On these four years both models find long, season-like
regimes and fit about equally well: the learned durations show how far from
geometric the spells are (many one-day interruptions, a long tail).
"""

from __future__ import annotations

import argparse

import numpy as np

from hmm_core import CategoricalHMM, SemiMarkovHMM
from hmm_core.cli.demo import WEATHER_SYMBOLS, load_seattle_weather


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-duration", type=int, default=200)
    parser.add_argument("--duration", default="negative_binomial",
                        choices=("nonparametric", "poisson", "negative_binomial"))
    parser.add_argument("--n-iter", type=int, default=100)
    parser.add_argument("--n-init", type=int, default=3)
    args = parser.parse_args(argv)

    table = load_seattle_weather()
    codes = {name: k for k, name in enumerate(WEATHER_SYMBOLS)}
    X = np.array([codes[w] for w in table["weather"]])[:, None]
    print(f"{len(X)} days, {table['date'][0]} to {table['date'][-1]}\n")

    model = SemiMarkovHMM(2, emission="categorical", max_duration=args.max_duration,
                          duration=args.duration,
                          censor_last=True, n_iter=args.n_iter, n_init=args.n_init,
                          tol=1e-4, random_state=0).fit(X)
    hmm = CategoricalHMM(2, n_iter=args.n_iter, n_init=args.n_init, tol=1e-4,
                         random_state=0).fit(X)

    wet = int(np.argmax(model.emission_.emissionprob_[:, codes["rain"]]))
    names = {wet: "wet", 1 - wet: "dry"}
    days = np.arange(1, args.max_duration + 1)
    print("Regime   " + "".join(f"{n:>9}" for n in WEATHER_SYMBOLS)
          + "   mean spell   most likely spell")
    for j in (wet, 1 - wet):
        probs = model.emission_.emissionprob_[j]
        table_j = model.durationprob_[j]
        print(f"{names[j]:>6}   " + "".join(f"{p:9.3f}" for p in probs)
              + f"   {table_j @ days:7.1f} d   {days[np.argmax(table_j)]:9d} d")

    # The HMM's regimes, matched by their rain probability, and their geometric spells.
    hmm_wet = int(np.argmax(hmm.emissionprob_[:, codes["rain"]]))
    print("\nP(spell lasts d days): semi-Markov (learned) vs HMM (geometric)")
    print("   d" + "".join(f"{names[j] + ' HSMM':>11}{names[j] + ' HMM':>10}"
                            for j in (wet, 1 - wet)))
    for d in (1, 2, 3, 5, 7, 10, 15, 20):
        if d > args.max_duration:
            break
        cells = []
        for j, h in ((wet, hmm_wet), (1 - wet, 1 - hmm_wet)):
            stay = hmm.transmat_[h, h]
            cells.append(f"{model.durationprob_[j, d - 1]:11.3f}"
                         f"{(1 - stay) * stay ** (d - 1):10.3f}")
        print(f"{d:4d}" + "".join(cells))

    print(f"\nBIC (lower is better): semi-Markov {model.bic(X):.1f}, HMM {hmm.bic(X):.1f}")
    print(f"log-likelihood: semi-Markov {model.score(X):.1f}, HMM {hmm.score(X):.1f}")

    segments = model.decode_segments(X)
    ends = segments.start + segments.duration
    recent = ends > len(X) - 30
    print("\nSpells of the last month (Viterbi segmentation)")
    for start, end, state in zip(segments.start[recent], ends[recent], segments.state[recent],
                                 strict=True):
        print(f"  {table['date'][start]} to {table['date'][end - 1]}: {names[state]} "
              f"({end - start} days)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
