"""Your own emission model: exponential waiting times, fitted, scored, sampled, saved, loaded.

Run ``python examples/custom_emission.py``. An emission model is a subclass
of :class:`hmm_core.emissions.EmissionModel` that turns frames into log
likelihoods per state and posteriors back into parameters; a model class
names it, and :func:`hmm_core.register` lets model files store both (a file
names them by module and class; loading needs them imported and registered,
and never runs code the file chooses).

The data: waiting times between events (say, requests to a server) that
switch between a busy regime (short waits) and a quiet one (long waits).
Each state ``k`` emits ``x ~ Exponential(rate_k)``, density
``rate_k * exp(-rate_k * x)``. The EM update of a rate is the posterior
mass of the state over the posterior-weighted sum of its waiting times.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

import hmm_core
from hmm_core.emissions import EmissionModel
from hmm_core.hmm.base import BaseHMM, emission_attribute


class ExponentialEmission(EmissionModel):
    """One exponential rate per state, for one non-negative feature.

    Parameters
    ----------
    rates_prior : float
        Pseudo-time added to every state's total waiting time (0: maximum
        likelihood), which keeps a rate finite for a state that sees only
        zeros.
    """

    letters = "r"  # the params / init_params letter of the rates

    def __init__(self, rates_prior=0.0):
        self.rates_prior = rates_prior
        self.rates_ = None

    def check_X(self, X):
        """Validate one column of finite, non-negative waiting times."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != 1:
            raise ValueError(f"X must have shape (n_samples, 1), got {X.shape}")
        if not np.all(np.isfinite(X)) or np.any(X < 0):
            raise ValueError("X must hold finite, non-negative waiting times")
        return X

    def initialize(self, X, n_components, random_state, init_params):
        """Spread the initial rates around the inverse of the mean wait."""
        if "r" in init_params or self.rates_ is None:
            base = 1.0 / max(X.mean(), 1e-12)
            self.rates_ = base * np.exp(random_state.uniform(-1.0, 1.0, n_components))

    def check_params(self, n_components):
        """The rates are finite and positive, one per state."""
        if self.rates_ is None:
            raise hmm_core.NotFittedError("rates_ is not set: fit the model or assign it")
        rates = np.asarray(self.rates_, dtype=float)
        if rates.shape != (n_components,) or not np.all(np.isfinite(rates) & (rates > 0)):
            raise ValueError(f"rates_ must hold {n_components} positive rates, got {rates}")
        self.rates_ = rates

    def log_frameprob(self, X):
        """``log rate - rate * x`` for every frame and state."""
        return np.ascontiguousarray(np.log(self.rates_) - X * self.rates_)

    def empty_stats(self, n_components):
        """Posterior mass and posterior-weighted waiting time of each state."""
        return {"mass": np.zeros(n_components), "time": np.zeros(n_components)}

    def accumulate(self, stats, X, posteriors):
        """Add this chunk's sums (called with every chunk of every iteration)."""
        stats["mass"] += posteriors.sum(axis=0)
        stats["time"] += X[:, 0] @ posteriors

    def m_step(self, stats, params):
        """Rate = mass / time; a state without mass keeps its rate."""
        if "r" in params:
            time = stats["time"] + self.rates_prior
            seen = (stats["mass"] > 0) & (time > 0)
            self.rates_ = np.where(seen, stats["mass"] / np.where(seen, time, 1.0), self.rates_)

    def sample(self, states, random_state):
        """One waiting time per frame, from its state's rate."""
        return random_state.exponential(1.0 / self.rates_[states])[:, None]

    def n_free_parameters(self, params):
        """One rate per state (for AIC and BIC)."""
        return len(self.rates_) if "r" in params else 0


class ExponentialHMM(BaseHMM):
    """Hidden Markov model with exponential emissions (waiting times).

    Parameters
    ----------
    rates_prior : float
        See :class:`ExponentialEmission`.
    params, init_params : str
        Letters among ``s`` (start), ``t`` (transitions), ``r`` (rates).
    """

    _emission_class = ExponentialEmission
    _emission_letters = "r"
    rates_ = emission_attribute("rates_", "Exponential rate of each state.")

    def __init__(self, n_components=1, rates_prior=0.0, startprob_prior=1.0,
                 transmat_prior=1.0, algorithm="viterbi", random_state=None, n_iter=10,
                 tol=1e-2, verbose=False, params="str", init_params="str", end_state=False,
                 endprob_prior=1.0, n_init=1, n_threads=None, callback=None):
        self._set_params_from(locals())

    @property
    def rates_prior(self):
        """Pseudo-time of the rate update (stored on the emission)."""
        return self._get_emission().rates_prior

    @rates_prior.setter
    def rates_prior(self, value):
        self._get_emission().rates_prior = value


# Model files store registered classes only: register both, once, where they are defined.
hmm_core.register(ExponentialEmission)
hmm_core.register(ExponentialHMM)


def main(n_frames=3000, seed=0):
    """Simulate, fit, score, decode, sample, save and load; print what happens."""
    truth = ExponentialHMM(2, init_params="")
    truth.startprob_ = np.array([0.5, 0.5])
    truth.transmat_ = np.array([[0.98, 0.02], [0.03, 0.97]])
    truth.rates_ = np.array([5.0, 0.5])  # busy: mean wait 0.2; quiet: mean wait 2
    X, states = truth.sample(n_frames, random_state=seed)

    model = ExponentialHMM(2, n_iter=200, tol=1e-6, random_state=seed).fit(X)
    order = np.argsort(-model.rates_)  # busy state first
    print("true rates  ", truth.rates_)
    print("fitted rates", np.round(model.rates_[order], 3))
    print("fitted transitions\n", np.round(model.transmat_[np.ix_(order, order)], 3))
    print(f"log-likelihood {model.score(X):.2f} after {model.monitor_.iter} iterations")
    agree = np.mean(order[states] == model.predict(X))  # labels as the truth's
    print(f"Viterbi path agrees with the simulated states on {agree:.1%} of frames")
    X_new, _ = model.sample(5, random_state=1)
    print("five new waiting times", np.round(X_new[:, 0], 3))

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "waits.npz")
        model.save(path)
        loaded = hmm_core.load(path)
        print(f"saved and loaded: {type(loaded).__name__}, same score: "
              f"{np.isclose(loaded.score(X), model.score(X), rtol=0, atol=1e-9)}")
    return model


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000, help="waiting times to simulate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation and fit")
    args = parser.parse_args()
    main(args.frames, args.seed)
