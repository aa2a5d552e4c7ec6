"""Plots render to PNG with the Agg backend, without warnings; to_dot needs no matplotlib."""

import sys
import warnings

import numpy as np
import pytest

from hmm_core import GMMHMM, CategoricalHMM, GaussianHMM, MarkovChain, PoissonHMM, plot

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def _categorical():
    model = CategoricalHMM(2, n_features=3)
    model.startprob_ = np.array([0.6, 0.4])
    model.transmat_ = np.array([[0.9, 0.1], [0.2, 0.8]])
    model.emissionprob_ = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    X, _ = model.sample(120, random_state=0)
    return model, X


def _gaussian(cls=GaussianHMM, **kwargs):
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal([0, 0, 0], 1, (60, 3)), rng.normal([4, 2, -1], 0.7, (60, 3)),
                        rng.normal([0, 0, 0], 1, (60, 3))])
    return cls(2, random_state=0, n_iter=10, **kwargs).fit(X, [90, 90]), X


def _render(tmp_path, name, draw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = draw()
        path = tmp_path / f"{name}.png"
        fig.savefig(path, dpi=60)
    plt.close(fig)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 2000
    return path


def test_posteriors_plot(tmp_path):
    model, X = _categorical()
    _render(tmp_path, "post_cat", lambda: plot.plot_posteriors(model, X, state_names=["a", "b"]))
    gauss, Xg = _gaussian()
    fig = _render(tmp_path, "post_gauss",
                  lambda: plot.plot_posteriors(gauss, Xg, lengths=[90, 90], sequence=1))
    assert fig.exists()
    with pytest.raises(ValueError, match="sequence"):
        plot.plot_posteriors(gauss, Xg, lengths=[90, 90], sequence=2)


def test_transition_graph_and_dot(tmp_path):
    model, _ = _categorical()
    _render(tmp_path, "graph", lambda: plot.plot_transition_graph(model))
    chain = MarkovChain.from_params(None, np.full((5, 5), 0.2), state_names=list("vwxyz"))
    _render(tmp_path, "graph5", lambda: plot.plot_transition_graph(chain, threshold=0.0))
    fig, ax = plt.subplots()
    assert plot.plot_transition_graph(model, ax=ax) is fig
    plt.close(fig)
    dot = plot.to_dot(model, state_names=["hot", 'say "hi"'])
    assert dot.startswith('digraph "hmm" {') and dot.endswith("}")
    assert '"hot" -> "say \\"hi\\"" [label="0.10", penwidth=1.40];' in dot
    assert '"__start" -> "hot" [label="0.60"' in dot
    model.end_state = True
    model.endprob_ = np.array([0.1, 0.0])
    model.transmat_ = np.array([[0.8, 0.1], [0.2, 0.8]])
    assert '"hot" -> "__end" [label="0.10"' in plot.to_dot(model, state_names=["hot", "cold"])
    with pytest.raises(ValueError, match="state_names"):
        plot.to_dot(model, state_names=["one"])


def test_emission_plots(tmp_path):
    model, _ = _categorical()
    _render(tmp_path, "bars", lambda: plot.plot_emissions(model, feature_names=list("xyz")))
    for kind in ("spherical", "diag", "full", "tied"):
        gauss, X = _gaussian(covariance_type=kind)
        _render(tmp_path, f"ellipses_{kind}",
                lambda g=gauss, x=X: plot.plot_emissions(g, features=(0, 2), X=x))
        gmm, X = _gaussian(GMMHMM, n_mix=2, covariance_type=kind)
        _render(tmp_path, f"gmm_{kind}", lambda g=gmm: plot.plot_emissions(g, features=(1, 0)))
    counts = PoissonHMM(2, random_state=0).fit(np.random.RandomState(0).poisson(3, (50, 3)))
    _render(tmp_path, "rates", lambda: plot.plot_emissions(counts))
    with pytest.raises(ValueError, match="features"):
        plot.plot_emissions(gauss, features=(0, 0))


def test_trellis(tmp_path):
    model, X = _categorical()
    _render(tmp_path, "trellis", lambda: plot.plot_trellis(model, X[:25]))
    gauss, Xg = _gaussian()
    _render(tmp_path, "trellis_gauss", lambda: plot.plot_trellis(gauss, Xg[80:100]))
    with pytest.raises(ValueError, match="unreadable"):
        plot.plot_trellis(model, X)


def test_missing_matplotlib_gives_a_clear_error(monkeypatch):
    model, X = _categorical()
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'hmm-core\[plot\]'"):
        plot.plot_posteriors(model, X)
    assert plot.to_dot(model).startswith("digraph")
