"""The lecture's geometric viewpoint: hyperplanes cutting up space, drawn on 2-D data.

Each class k has a score ``s_k(x) = w_k . x + b_k``. Its zero set ``w_k . x + b_k = 0`` is a
line in 2-D (a hyperplane in D dimensions); ``w_k`` is the line's normal and points to the
side where the score is positive and grows. The multiclass rule ``argmax_k s_k`` splits the
plane into convex regions whose borders are pieces of the pairwise lines
``(w_i - w_j) . x + (b_i - b_j) = 0``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, to_rgba

from linclass.model import Params, check_params, predict
from linclass.plots._style import class_colors, class_labels, new_axes

_GRID = 400  # pixels per side of the region image: smooth borders, still fast


def _view(X2: np.ndarray, pad: float = 0.15) -> tuple[float, float, float, float]:
    lo, hi = X2.min(axis=0), X2.max(axis=0)
    extent = np.maximum(hi - lo, 1e-9)
    lo, hi = lo - pad * extent, hi + pad * extent
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def _draw_line(ax: Axes, w: np.ndarray, b: float, **style) -> np.ndarray | None:
    """Draw ``w . x + b = 0`` across the whole view; return a point on it (None if w = 0)."""
    ww = float(w @ w)
    if ww == 0:
        return None
    p = -b * w / ww  # the point of the line closest to the origin
    ax.axline(tuple(p), tuple(p + np.array([-w[1], w[0]])), **style)
    return p


def _arrow_base(w: np.ndarray, b: float, points: np.ndarray, view) -> np.ndarray | None:
    """Where to start the normal arrow: the line's point nearest ``points``' mean, if in view.

    With the class's own points the arrow starts on the line and points into its cluster,
    which is what "w_k points to where class k scores high" should look like.
    """
    c = points.mean(axis=0)
    p = c - (w @ c + b) / (w @ w) * w
    x0, x1, y0, y1 = view
    return p if (x0 <= p[0] <= x1 and y0 <= p[1] <= y1) else None


def _draw_borders(ax: Axes, W: np.ndarray, b: np.ndarray, view) -> None:
    """Each pairwise line ``s_i = s_j``: solid where it is a real border (both are the top
    score there), dashed and faint elsewhere."""
    x0, x1, y0, y1 = view
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    reach = float(np.hypot(x1 - x0, y1 - y0))
    t = np.linspace(-reach, reach, 2001)
    for i in range(len(W)):
        for j in range(i + 1, len(W)):
            w, c = W[i] - W[j], b[i] - b[j]
            if not w.any():
                continue
            p = centre - (w @ centre + c) / (w @ w) * w
            d = np.array([-w[1], w[0]]) / np.linalg.norm(w)
            pts = p + t[:, None] * d
            s = pts @ W.T + b
            top = s[:, i] >= s.max(axis=1) - 1e-9 * (1 + np.abs(s).max())
            ax.plot(pts[:, 0], pts[:, 1], color="0.35", lw=1, ls=(0, (4, 4)), alpha=0.6)
            ax.plot(np.where(top, pts[:, 0], np.nan), np.where(top, pts[:, 1], np.nan),
                    color="black", lw=2)


def plot_decision_regions(
    params: Params,
    X2: np.ndarray,
    y: np.ndarray,
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    *,
    pairwise: bool = False,
) -> Axes:
    """Regions coloured by the predicted class, each class's line and normal, and the data.

    Looks like the CS231n linear-classifier demo: light background = ``argmax_k s_k(x)``;
    solid line in class k's colour = ``w_k . x + b_k = 0``; arrow = ``w_k``, pointing to
    where class k's score is positive.

    Args:
        params: ``{"W": (n_classes, 2), "b": (n_classes,)}``.
        X2: ndarray of shape (n_samples, 2), the 2-D inputs.
        y: ndarray of shape (n_samples,), integer labels.
        class_names: Legend names, one per class.
        ax: Axes to draw on; a new Figure if None.
        pairwise: Also draw the lines ``s_i = s_j`` for every pair of classes: black where
            they are the real border between two predicted regions, faint dashed elsewhere
            (the multiclass borders are pieces of these, not of the lines ``s_k = 0``).

    Returns:
        The Axes.
    """
    X2 = np.asarray(X2, dtype=float)
    if X2.ndim != 2 or X2.shape[1] != 2:
        raise ValueError(f"X2 must have shape (n_samples, 2), got {X2.shape}")
    n_classes, _ = check_params(params, 2)
    names = class_labels(n_classes, class_names)
    colors = class_colors(n_classes)
    W, b = np.asarray(params["W"], float), np.asarray(params["b"], float)
    ax = new_axes(ax, (6.4, 5.6))

    view = _view(X2)
    x0, x1, y0, y1 = view
    gx, gy = np.meshgrid(np.linspace(x0, x1, _GRID), np.linspace(y0, y1, _GRID))
    region = predict(params, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    light = [to_rgba(c, 0.22) for c in colors]
    ax.imshow(region, extent=view, origin="lower", aspect="auto", interpolation="nearest",
              cmap=ListedColormap(light), vmin=-0.5, vmax=n_classes - 0.5)

    if pairwise:
        _draw_borders(ax, W, b, view)

    y = np.asarray(y)
    arrow_len = 0.12 * float(np.hypot(x1 - x0, y1 - y0))
    for k in range(n_classes):
        if _draw_line(ax, W[k], b[k], color=colors[k], lw=2.2) is None:
            continue
        own = X2[y == k]
        base = _arrow_base(W[k], b[k], own if len(own) else X2, view)
        if base is not None:
            d = arrow_len * W[k] / np.linalg.norm(W[k])
            ax.annotate("", xy=tuple(base + d), xytext=tuple(base),
                        arrowprops=dict(arrowstyle="-|>", color=colors[k], lw=2.2,
                                        mutation_scale=16))

    for k in range(n_classes):
        pts = X2[y == k]
        ax.scatter(pts[:, 0], pts[:, 1], s=28, color=colors[k], edgecolor="black",
                   linewidth=0.6, label=names[k], zorder=3)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    title = (r"Regions: $\arg\max_k\, s_k$;  lines: $s_k = w_k \cdot x + b_k = 0$;  "
             r"arrows: $w_k$")
    if pairwise:
        title += "\nblack: borders $s_i = s_j$ between predicted regions"
    ax.set_title(title, fontsize=11)
    ax.legend(loc="best", framealpha=0.85)
    return ax
