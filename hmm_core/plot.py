"""Plots of HMMs and their decodings (optional extra: ``pip install "hmm-core[plot]"``).

- :func:`plot_posteriors`: state posteriors over time as stacked areas, the
  Viterbi path and the observations beneath;
- :func:`plot_transition_graph`: the state diagram, edge width by
  probability; :func:`to_dot` exports it to Graphviz without any dependency;
- :func:`plot_emissions`: categorical/multinomial/Poisson bars per state,
  Gaussian (and mixture) ellipses for two chosen features;
- :func:`plot_trellis`: a short sequence's states by time, transitions
  weighted by their posterior, the Viterbi path highlighted.

matplotlib is imported only when a plotting function runs. Every function
returns the :class:`matplotlib.figure.Figure` it drew on.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_emissions", "plot_posteriors", "plot_transition_graph", "plot_trellis",
           "to_dot"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("hmm_core.plot needs matplotlib; install it with "
                          "pip install 'hmm-core[plot]'") from exc
    return plt


def _colors(n):
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    return _pyplot().subplots(figsize=figsize, layout="constrained")


def _chain(model):
    """(startprob, transmat, endprob or None, default state names) of a model or chain."""
    if hasattr(model, "n_states_"):  # MarkovChain
        names = model.state_names_ or [str(i) for i in range(model.n_states_)]
        return np.asarray(model.startprob_), np.asarray(model.transmat_), None, names
    if getattr(model, "startprob_", None) is None:
        raise ValueError("the model has no chain parameters: fit it first")
    trans = np.asarray(model.transmat_)
    if trans.ndim != 2:
        raise ValueError("only first-order chains can be drawn (use model.model_ of a "
                         "HigherOrderHMM)")
    end = getattr(model, "endprob_", None)
    names = [str(i) for i in range(trans.shape[0])]
    return np.asarray(model.startprob_), trans, None if end is None else np.asarray(end), names


def _symbols(alphabet, n_symbols):
    """Labels of symbols ``0..n_symbols-1``: the alphabet's symbols, else the integers.

    ``alphabet`` is an :class:`~hmm_core.io.formats.Alphabet`, a name
    (``"DNA"``), a string of one-character symbols (``"ACGT"``), a list of
    symbols, or the ``"alphabet"`` entry of a model file's metadata.
    """
    if alphabet is None:
        return [str(k) for k in range(n_symbols)]
    from hmm_core.io.formats import Alphabet

    if isinstance(alphabet, dict):
        alphabet = Alphabet.from_json(alphabet)
    elif isinstance(alphabet, str):
        alphabet = Alphabet.parse(alphabet)
    symbols = list(getattr(alphabet, "symbols", alphabet))
    if len(symbols) != n_symbols:
        raise ValueError(f"the alphabet has {len(symbols)} symbols but the model emits "
                         f"{n_symbols}")
    return [str(s) for s in symbols]


def _is_categorical(model):
    return type(model).__name__ == "CategoricalHMM"


def _draw_symbols(ax, t, symbols, labels):
    """Categorical observations as symbols: one mark per frame on its symbol's row."""
    seen = symbols >= 0  # -1: a missing frame
    if t.size <= 120:  # few frames: the letters themselves, readable
        for x, k in zip(t[seen].tolist(), symbols[seen].tolist(), strict=True):
            ax.text(x, k, labels[k], ha="center", va="center", fontsize=8)
    else:
        ax.scatter(t[seen], symbols[seen], marker="|", s=30, color="0.25")
    ax.set_yticks(np.arange(len(labels)), labels)
    ax.set_ylim(-0.5, len(labels) - 0.5)
    ax.set_ylabel("symbol")


def _names(given, default):
    if given is None:
        return default
    if len(given) != len(default):
        raise ValueError(f"state_names has {len(given)} entries for {len(default)} states")
    return [str(s) for s in given]


# -------------------------------------------------------------- transitions
def to_dot(model, state_names=None, threshold=None, precision=2, name="hmm"):
    """Graphviz (DOT) source of the state diagram; needs no extra package.

    Parameters
    ----------
    model : BaseHMM or MarkovChain
        A fitted first-order model.
    state_names : list of str, optional
    threshold : float, optional
        Leave out edges with a probability not above it; default: edges
        whose label would read 0 at ``precision`` decimals.
    precision : int
        Decimals of the edge labels.
    name : str
        Graph name.

    Returns
    -------
    str
        Render with ``dot -Tpng``. Edge ``penwidth`` grows with probability;
        ``start`` and ``end`` are point nodes for the start and end
        probabilities.

    Examples
    --------
    >>> from hmm_core import MarkovChain
    >>> from hmm_core.plot import to_dot
    >>> chain = MarkovChain.from_params([1.0, 0.0], [[0.9, 0.1], [0.0, 1.0]],
    ...                                 state_names=["up", "down"])
    >>> print(to_dot(chain))
    digraph "hmm" {
      rankdir=LR;
      node [shape=circle];
      "__start" [shape=point];
      "__start" -> "up" [label="1.00", penwidth=5.00];
      "up" -> "up" [label="0.90", penwidth=4.60];
      "up" -> "down" [label="0.10", penwidth=1.40];
      "down" -> "down" [label="1.00", penwidth=5.00];
    }
    """
    start, trans, end, default = _chain(model)
    names = _names(state_names, default)
    if threshold is None:
        threshold = 0.5 * 10.0 ** -precision

    def quote(text):
        return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'

    def edge(a, b, p):
        return f"  {quote(a)} -> {quote(b)} [label=\"{p:.{precision}f}\", " \
               f"penwidth={1 + 4 * p:.2f}];"

    lines = [f"digraph {quote(name)} {{", "  rankdir=LR;", "  node [shape=circle];",
             '  "__start" [shape=point];']
    if end is not None:
        lines.append('  "__end" [shape=doublecircle, label="", width=0.15];')
    lines += [edge("__start", names[i], p) for i, p in enumerate(start) if p > threshold]
    for i in range(trans.shape[0]):
        lines += [edge(names[i], names[j], p) for j, p in enumerate(trans[i]) if p > threshold]
        if end is not None and end[i] > threshold:
            lines.append(edge(names[i], "__end", end[i]))
    lines.append("}")
    return "\n".join(lines)


def plot_transition_graph(model, ax=None, state_names=None, threshold=0.01):
    """Draw the state diagram: states on a circle, edge width by probability.

    Parameters
    ----------
    model : BaseHMM or MarkovChain
        A fitted first-order model.
    ax : matplotlib Axes, optional
    state_names : list of str, optional
    threshold : float
        Edges with a smaller probability are not drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Circle, FancyArrowPatch

    start, trans, _, default = _chain(model)
    names = _names(state_names, default)
    n = trans.shape[0]
    fig, ax = _axes(ax, (6, 6))
    angle = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    pos = np.column_stack([np.cos(angle), np.sin(angle)]) * (0 if n == 1 else 1)
    radius = 0.2 if n <= 6 else 1.2 / n
    colors = _colors(n)
    for i in range(n):
        for j in range(n):
            p = trans[i, j]
            if p < threshold:
                continue
            if i == j:  # self-loop: a ring outside the node
                direction = pos[i] if n > 1 else np.array([0.0, 1.0])
                centre = pos[i] + direction * radius * 1.55
                ax.add_patch(Circle(centre, radius * 0.6, fill=False, color=colors[i],
                                    lw=0.5 + 5 * p, alpha=0.8))
                ax.annotate(f"{p:.2f}", centre + direction * radius * 1.25, ha="center",
                            va="center", fontsize=9)
                continue
            arrow = FancyArrowPatch(pos[i], pos[j], connectionstyle="arc3,rad=0.15",
                                    arrowstyle="-|>", mutation_scale=14, lw=0.5 + 5 * p,
                                    color=colors[i], alpha=0.75, shrinkA=22, shrinkB=26)
            ax.add_patch(arrow)
            # Label beside the arc, on the side it bends to.
            mid = 0.5 * (pos[i] + pos[j])
            normal = np.array([pos[j][1] - pos[i][1], pos[i][0] - pos[j][0]]) * 0.12
            ax.annotate(f"{p:.2f}", mid + normal, ha="center", va="center", fontsize=9,
                        color=colors[i])
    for i in range(n):
        ax.add_patch(Circle(pos[i], radius, color=colors[i], ec="black", zorder=3))
        ax.annotate(f"{names[i]}\nstart {start[i]:.2f}", pos[i], ha="center", va="center",
                    fontsize=8, zorder=4, color="white", fontweight="bold")
    ax.set_xlim(-1.8, 1.8)
    ax.set_ylim(-1.8, 1.8)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("Transition probabilities")
    fig.canvas.draw_idle()
    return fig


# --------------------------------------------------------------- posteriors
def _one_sequence(X, lengths, sequence):
    X = np.asarray(X)
    if X.ndim == 1:
        X = X[:, None]
    if lengths is None:
        return X
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    if not 0 <= sequence < len(offsets) - 1:
        raise ValueError(f"sequence must be in 0..{len(offsets) - 2}, got {sequence}")
    return X[offsets[sequence]:offsets[sequence + 1]]


def plot_posteriors(model, X, lengths=None, sequence=0, state_names=None,
                    feature_names=None, alphabet=None):
    """Plot the posteriors over time as stacked areas, the Viterbi path and the observations.

    Parameters
    ----------
    model : BaseHMM
        A fitted model.
    X : array-like of shape (n_samples, n_features)
    lengths : array-like of int, optional
    sequence : int
        Which sequence of ``X`` to draw.
    state_names, feature_names : list of str, optional
    alphabet : Alphabet, str, list of str or dict, optional
        Symbols of a categorical model (an alphabet, a name like ``"DNA"``,
        ``"ACGT"``, a list, or a model file's ``read_user_metadata(path)
        ["alphabet"]``): its observations are drawn as these symbols, one
        mark per frame on its symbol's row, not as a line.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels sharing the time axis.
    """
    plt = _pyplot()
    X = _one_sequence(X, lengths, sequence)
    post = model.predict_proba(X)
    _, path = model.decode(X, algorithm="viterbi")
    n = post.shape[1]
    names = _names(state_names, [str(i) for i in range(n)])
    colors = _colors(n)
    fig, axes = plt.subplots(3, 1, sharex=True, figsize=(10, 6), layout="constrained",
                             gridspec_kw={"height_ratios": [3, 0.5, 2]})
    t = np.arange(len(X))
    axes[0].stackplot(t, post.T, labels=names, colors=colors, step="mid")
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel("P(state | data)")
    axes[0].legend(loc="upper right", fontsize=8, ncols=min(n, 6), title="state")
    axes[0].set_title("State posteriors")
    from matplotlib.colors import ListedColormap

    axes[1].imshow(path[None, :], aspect="auto", cmap=ListedColormap(colors),
                   vmin=-0.5, vmax=n - 0.5, interpolation="nearest",
                   extent=(-0.5, len(X) - 0.5, 0, 1))
    axes[1].set_yticks([])
    axes[1].set_ylabel("Viterbi", rotation=0, ha="right", va="center")
    if _is_categorical(model):
        labels = _symbols(alphabet if alphabet is not None else feature_names,
                          model.n_features)
        _draw_symbols(axes[2], t, np.asarray(X, dtype=np.int64)[:, 0], labels)
        axes[2].set_xlabel("time")
        axes[2].set_xlim(-0.5, len(X) - 0.5)
        return fig
    values = np.asarray(X, dtype=float)
    labels = feature_names or [f"x{k}" for k in range(values.shape[1])]
    for k in range(min(values.shape[1], 6)):
        style = {"drawstyle": "steps-mid"} if values.shape[1] == 1 else {}
        axes[2].plot(t, values[:, k], lw=0.9, label=labels[k], **style)
    if values.shape[1] > 1:
        axes[2].legend(loc="upper right", fontsize=8)
    axes[2].set_ylabel("observation")
    axes[2].set_xlabel("time")
    axes[2].set_xlim(-0.5, len(X) - 0.5)
    return fig


# ---------------------------------------------------------------- emissions
def _ellipse(ax, mean, cov, color, alpha, label=None):
    from matplotlib.patches import Ellipse

    w, v = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(v[1, -1], v[0, -1]))
    for k, scale in enumerate((1.0, 2.0)):
        ax.add_patch(Ellipse(mean, 2 * scale * np.sqrt(w[-1]), 2 * scale * np.sqrt(w[0]),
                             angle=angle, fc=color, ec=color, alpha=alpha / (k + 1),
                             label=label if k == 0 else None))
    ax.plot(*mean, "x", color="black", ms=6)


def plot_emissions(model, ax=None, features=(0, 1), state_names=None, feature_names=None,
                   X=None, alphabet=None):
    """Emission parameters: bars per state, or Gaussian ellipses for two features.

    Parameters
    ----------
    model : CategoricalHMM, MultinomialHMM, PoissonHMM, GaussianHMM or GMMHMM
        A fitted model.
    ax : matplotlib Axes, optional
    features : (int, int)
        The two features of the Gaussian ellipses (1 and 2 standard deviations;
        one ellipse per mixture component for a GMMHMM, shaded by its weight).
    state_names, feature_names : list of str, optional
        ``feature_names`` label symbols (bars) or features (ellipses).
    X : array-like, optional
        Observations to scatter behind the ellipses.
    alphabet : Alphabet, str, list of str or dict, optional
        Symbols of a categorical model, labelling its bars (``"DNA"`` gives
        A, C, G, T; see :func:`plot_posteriors`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    name = type(model).__name__
    fig, ax = _axes(ax, (7, 4.5))
    if name in ("CategoricalHMM", "MultinomialHMM", "PoissonHMM"):
        values = np.asarray(model.lambdas_ if name == "PoissonHMM" else model.emissionprob_)
        n, m = values.shape
        names = _names(state_names, [f"state {i}" for i in range(n)])
        ticks = (_symbols(alphabet, m) if alphabet is not None and name == "CategoricalHMM"
                 else feature_names or [str(k) for k in range(m)])
        width = 0.8 / n
        for i, color in enumerate(_colors(n)):
            ax.bar(np.arange(m) + (i - (n - 1) / 2) * width, values[i], width,
                   color=color, label=names[i])
        ax.set_xticks(np.arange(m), ticks)
        ax.set_ylabel("rate" if name == "PoissonHMM" else "probability")
        ax.set_xlabel("feature" if name == "PoissonHMM" else "symbol")
        ax.legend(fontsize=8)
        ax.set_title("Emission " + ("rates" if name == "PoissonHMM" else "probabilities"))
        return fig
    if name not in ("GaussianHMM", "GMMHMM"):
        raise ValueError(f"plot_emissions does not support {name}")
    i, j = features
    d = model.n_features
    if not (0 <= i < d and 0 <= j < d and i != j):
        raise ValueError(f"features must be two distinct indices in 0..{d - 1}, got "
                         f"{features}")
    idx = np.ix_([i, j], [i, j])
    n = model.n_components
    names = _names(state_names, [f"state {k}" for k in range(n)])
    colors = _colors(n)
    if X is not None:
        X = np.asarray(X, dtype=float)
        states = model.predict(X)
        ax.scatter(X[:, i], X[:, j], s=4, c=[colors[s] for s in states], alpha=0.35,
                   linewidths=0)
    if name == "GaussianHMM":
        covars = model.covars_
        for k in range(n):
            _ellipse(ax, model.means_[k, [i, j]], covars[k][idx], colors[k], 0.35, names[k])
    else:
        from hmm_core.emissions._covariance import to_full

        covars = np.asarray(model.covars_)
        kind = model.covariance_type
        full = (np.broadcast_to(covars[:, None], (n, model.n_mix, d, d)) if kind == "tied"
                else to_full(covars, kind, d))
        for k in range(n):
            for c in range(model.n_mix):
                _ellipse(ax, model.means_[k, c, [i, j]], full[k, c][idx], colors[k],
                         0.15 + 0.5 * model.weights_[k, c], names[k] if c == 0 else None)
    labels = feature_names or [f"x{k}" for k in range(d)]
    ax.set_xlabel(labels[i])
    ax.set_ylabel(labels[j])
    ax.autoscale_view()
    ax.legend(fontsize=8)
    ax.set_title("Emission densities (1 and 2 standard deviations)")
    return fig


# ------------------------------------------------------------------ trellis
def plot_trellis(model, X, ax=None, state_names=None, max_frames=60, min_weight=0.01):
    """Draw the trellis of a short sequence: posterior-weighted transitions, Viterbi path on top.

    Parameters
    ----------
    model : BaseHMM
        A fitted model.
    X : array-like of shape (n_samples, n_features)
        One sequence of at most ``max_frames`` frames.
    ax : matplotlib Axes, optional
    state_names : list of str, optional
    max_frames : int
        Longer sequences are refused (the picture would be unreadable).
    min_weight : float
        Transitions with a smaller posterior probability are not drawn.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.collections import LineCollection

    from hmm_core.functional.recursions import backward, forward

    X = np.asarray(X)
    if len(X) > max_frames:
        raise ValueError(f"the trellis of {len(X)} frames would be unreadable; pass at most "
                         f"max_frames={max_frames} frames")
    chain, _, _, frames = model._prepare(X, None)
    frames = np.asarray(frames)
    log_end = None if chain.endprob is None else chain.log_endprob
    loglik, log_alpha = forward(chain.log_startprob, chain.transmat, frames,
                                log_endprob=log_end, return_lattice=True)
    log_beta = backward(chain.log_startprob, chain.transmat, frames, log_endprob=log_end)
    if not np.isfinite(loglik[0]):
        raise ValueError("the sequence has zero probability under the model")
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.exp(log_alpha + log_beta - loglik[0])
        # xi[t, i, j] = P(z_t = i, z_t+1 = j | x)
        xi = np.exp(log_alpha[:-1, :, None] + chain.log_transmat[None]
                    + (frames[1:] + log_beta[1:])[:, None, :] - loglik[0])
    _, path = model.decode(X, algorithm="viterbi")
    T, n = gamma.shape
    names = _names(state_names, [str(i) for i in range(n)])
    fig, ax = _axes(ax, (max(6, 0.35 * T + 2), max(3, 0.6 * n + 1.5)))
    t_idx, i_idx, j_idx = np.nonzero(np.nan_to_num(xi) >= min_weight)
    weights = xi[t_idx, i_idx, j_idx]
    segments = np.stack([np.column_stack([t_idx, i_idx]), np.column_stack([t_idx + 1, j_idx])],
                        axis=1)
    ax.add_collection(LineCollection(segments, linewidths=0.3 + 4 * weights,
                                     colors=[(0.2, 0.3, 0.6, 0.15 + 0.6 * w) for w in weights],
                                     zorder=1))
    tt, ss = np.meshgrid(np.arange(T), np.arange(n), indexing="ij")
    nodes = ax.scatter(tt.ravel(), ss.ravel(), s=20 + 180 * gamma.ravel(), c=gamma.ravel(),
                       cmap="Blues", vmin=0, vmax=1, edgecolors="gray", linewidths=0.5,
                       zorder=2)
    ax.plot(np.arange(T), path, color="crimson", lw=2.2, marker="o", ms=4, zorder=3,
            label="Viterbi path")
    fig.colorbar(nodes, ax=ax, label="P(state | data)", shrink=0.8)
    ax.set_yticks(np.arange(n), names)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(-0.5, T - 0.5)
    ax.set_xlabel("time")
    ax.set_ylabel("state")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("Trellis: transitions weighted by their posterior")
    return fig
