"""Online EM: stepwise updates of running sufficient statistics, one chunk at a time.

Stepwise EM (Cappé & Moulines 2009; Liang & Klein 2009) keeps running
statistics ``s`` and, for each new chunk, runs the E-step under the current
parameters and moves ``s`` towards the chunk's statistics::

    s <- (1 - rho_t) * s + rho_t * stats(chunk) / n_frames(chunk)
    parameters <- M-step(s * n_eff)

The chunk's statistics are normalised *per frame*, so ``s`` estimates the
expected statistics of one frame whatever the chunk sizes (start and end
counts then count sequences per frame, which keeps their ratio to the
transition counts). The M-step sees ``s`` scaled back to ``n_eff`` frames so
that the priors (pseudo-counts) weigh as they would in a batch fit on that
many frames: ``n_eff`` is the number of frames seen with decaying steps, and
with a constant step the frames of the ``1 / rho`` chunks it effectively
remembers. The first chunk sets ``s`` (``rho_0 = 1``); after it
``rho_t = (t + 2) ** -online_decay`` (``online_decay`` in (0.5, 1] gives the
convergence of stochastic approximation), or a constant ``online_step``, which
forgets old data at a fixed rate and so follows drifting data.
"""

from __future__ import annotations

__all__ = ["partial_fit"]


def _is_fitted(model):
    try:
        model._check()
    except (ValueError, AttributeError):
        return False
    return True


def partial_fit(model, X, lengths):
    """One stepwise-EM update of ``model`` from a chunk (see the module documentation)."""
    model._check_settings()
    step_decay, step = model.online_decay, model.online_step
    if X is None:
        raise ValueError("partial_fit needs observations: X is None")
    online = model.__dict__.get("_online")
    if online is None:
        model._check_settings()
        if not _is_fitted(model):
            try:
                model.initialize(X, lengths)
            except ValueError as exc:
                raise ValueError("partial_fit on a model without parameters initialises "
                                 f"them from its first chunk, which failed: {exc}") from exc
    chunk = model.accumulate(X, lengths)
    if chunk.n_frames == 0:
        raise ValueError("partial_fit needs at least one frame")
    per_frame = chunk.scale(1.0 / chunk.n_frames)
    if online is None:
        online = {"stats": per_frame, "updates": 0, "frames": 0}
        rho = 1.0
    else:
        t = online["updates"]
        rho = float(step) if step is not None else (t + 2.0) ** -float(step_decay)
        online["stats"] = online["stats"].scale(1.0 - rho) + per_frame.scale(rho)
    online["updates"] += 1
    online["frames"] += chunk.n_frames
    n_eff = online["frames"]
    if step is not None:  # a constant step remembers about 1 / step chunks
        n_eff = min(n_eff, online["frames"] / online["updates"] / float(step))
    model._online = online
    model._m_step(online["stats"].scale(n_eff))
    model._check()
    return model
