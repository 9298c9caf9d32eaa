"""Slices through the loss landscape around the trained weights.

W has C x D numbers, so ``J(W)`` cannot be drawn; a line ``J(W + t D)`` or a plane
``J(W + a D1 + b D2)`` through it can. Random directions are scaled to the size of the
weights (``||D|| = ||W||`` per parameter), so ``t = 1`` means "as far again as W is from 0",
whatever the dataset. For the convex softmax and SVM objectives every slice is convex,
with W at (or near) the bottom.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.axes import Axes

from linclass.model import Params
from linclass.plots._style import new_axes

Objective = Callable[[Params], float]


def random_direction(params: Params, random_state: int | np.random.Generator | None = 0) -> Params:
    """A seeded Gaussian direction with ``||D[k]|| = ||params[k]||`` for each key.

    A parameter that is all zero (a fresh bias, say) gets a zero direction, so the slice
    only moves what the training moved.
    """
    rng = np.random.default_rng(random_state)
    direction = {}
    for key, value in params.items():
        d = rng.standard_normal(np.shape(value))
        norm_d, norm_p = np.linalg.norm(d), np.linalg.norm(value)
        direction[key] = d * (norm_p / norm_d) if norm_d > 0 else d
    return direction


def _shifted(params: Params, steps: list[tuple[float, Params]]) -> Params:
    """``params + sum_i t_i D_i``, as a new dict."""
    out = {k: np.array(v, dtype=float, copy=True) for k, v in params.items()}
    for t, d in steps:
        for k in out:
            out[k] += t * d[k]
    return out


def _check_direction(params: Params, d: Params) -> Params:
    if set(d) != set(params) or any(np.shape(d[k]) != np.shape(params[k]) for k in params):
        raise ValueError("a direction must have the same keys and shapes as params")
    return d


def plot_loss_landscape(
    f: Objective,
    params: Params,
    direction: Params | None = None,
    ax: Axes | None = None,
    *,
    span: float = 1.0,
    n: int = 51,
    random_state: int | np.random.Generator | None = 0,
) -> Axes:
    """1-D slice ``t -> J(W + t D)`` for ``t`` in ``[-span, span]``; the trained W is at 0.

    Args:
        f: The objective as a function of the parameters only, ``f(params) -> float``
            (e.g. ``functools.partial(objective_value, X=X, y=y, loss="softmax")``).
        params: The trained ``{"W": (n_classes, n_features), "b": (n_classes,)}``.
        direction: Same keys and shapes as params, used as given; if None, a random
            direction from :func:`random_direction`.
        ax: Axes to draw on; a new Figure if None.
        span: Half-width of the slice in units of the direction.
        n: Number of points evaluated (f is called n times).
        random_state: Seed for the random direction.

    Returns:
        The Axes.
    """
    d = _check_direction(params, direction or random_direction(params, random_state))
    ts = np.linspace(-span, span, n)
    values = np.array([f(_shifted(params, [(t, d)])) for t in ts])
    ax = new_axes(ax, (6.0, 4.0))
    ax.plot(ts, values, lw=2, color="C0")
    ax.plot([0], [f(params)], "o", color="C3", ms=8, label="trained W (t = 0)")
    ax.set_xlabel("t  (step along direction D, ‖D‖ = ‖W‖)" if direction is None else "t")
    ax.set_ylabel("J(W + t D)")
    ax.set_title("Loss along a random line through W")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return ax


def plot_loss_landscape_2d(
    f: Objective,
    params: Params,
    directions: tuple[Params, Params] | None = None,
    ax: Axes | None = None,
    *,
    span: float = 1.0,
    n: int = 25,
    random_state: int | np.random.Generator | None = 0,
) -> Axes:
    """2-D slice ``(a, b) -> J(W + a D1 + b D2)`` as filled contours; W is at the centre.

    Args:
        f: The objective ``f(params) -> float``.
        params: The trained parameters.
        directions: Two directions with params' keys and shapes; if None, two independent
            random ones (nearly orthogonal in high dimension).
        ax: Axes to draw on; a new Figure if None.
        span: Half-width of the square in units of the directions.
        n: Points per side (f is called n * n times).
        random_state: Seed for the random directions.

    Returns:
        The Axes.
    """
    if directions is None:
        rng = np.random.default_rng(random_state)
        directions = (random_direction(params, rng), random_direction(params, rng))
    d1, d2 = (_check_direction(params, d) for d in directions)
    ts = np.linspace(-span, span, n)
    values = np.array([[f(_shifted(params, [(a, d1), (b, d2)])) for a in ts] for b in ts])
    ax = new_axes(ax, (5.8, 4.8))  # about square once the colour bar has its share
    cs = ax.contourf(ts, ts, values, levels=20, cmap="viridis")
    ax.contour(ts, ts, values, levels=np.asarray(cs.levels)[::2], colors="white",
               linewidths=0.5, alpha=0.6)
    ax.figure.colorbar(cs, ax=ax, label="J")
    ax.plot([0], [0], marker="*", color="red", ms=14, mec="white", ls="none",
            label="trained W")
    ax.set_xlabel("a  (along D1)")
    ax.set_ylabel("b  (along D2)")
    ax.set_title("Loss on a random plane through W")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", framealpha=0.85)
    return ax
