"""Hyper-parameter search results as a heat map (grid search) or a scatter (random search)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.patches import Rectangle

from linclass.plots._style import new_axes

_MAX_GRID_CELLS = 400  # beyond this a grid is unreadable; draw points instead


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")  # a missing or failed run (e.g. diverged) is shown as such


def plot_search_heatmap(
    results: Sequence[Mapping[str, Any]],
    x: str = "learning_rate",
    y: str = "alpha",
    value: str = "val_accuracy",
    ax: Axes | None = None,
    *,
    higher_is_better: bool | None = None,
) -> Axes:
    """Search results over two hyper-parameters, with the best setting marked.

    If the results fill a grid (every x with every y) each cell is coloured by ``value``
    (the mean over repeats) and labelled with it; cells are equally spaced and labelled
    with the searched values, so a log-spaced grid reads like log axes. Otherwise (random
    search) each trial is a coloured point on log axes (symlog if a value is 0), since
    learning rates and penalty strengths are searched over orders of magnitude. Runs whose
    value is missing or not finite (diverged) are drawn grey with a cross.

    Args:
        results: One dict per trial, holding at least the keys ``x``, ``y`` and ``value``.
        x: Key of the hyper-parameter on the horizontal axis.
        y: Key of the hyper-parameter on the vertical axis.
        value: Key of the score to colour by.
        ax: Axes to draw on; a new Figure if None.
        higher_is_better: Which end is "best"; by default lower is better when ``value``
            names a loss and higher otherwise.

    Returns:
        The Axes.
    """
    if not results:
        raise ValueError("no search results to plot")
    missing = [k for k in (x, y) if any(k not in r for r in results)]
    if missing:
        raise ValueError(f"every result needs the keys {x!r} and {y!r}; missing {missing}")
    if higher_is_better is None:
        higher_is_better = "loss" not in value.lower()
    xs = np.array([_as_float(r[x]) for r in results])
    ys = np.array([_as_float(r[y]) for r in results])
    # A parameter no run has (the learning rate of lbfgs or genetic): one column, "none".
    absent = not np.isfinite(xs).any()
    if absent:
        xs = np.zeros_like(xs)
    vs = np.array([_as_float(r.get(value)) for r in results])
    ux, uy = np.unique(xs), np.unique(ys)
    pairs = {(a, b) for a, b in zip(xs, ys, strict=True)}
    is_grid = len(pairs) == len(ux) * len(uy) <= _MAX_GRID_CELLS

    ax = new_axes(ax, (6.4, 5.0))
    finite = np.isfinite(vs)
    vmin, vmax = (np.min(vs[finite]), np.max(vs[finite])) if finite.any() else (0.0, 1.0)
    cmap = "viridis" if higher_is_better else "viridis_r"
    if is_grid:
        # Cells in index space, labelled with the searched values: a log-spaced grid looks
        # as it would on log axes, and a 0 (no penalty) still gets a cell of its own.
        grid = np.full((len(uy), len(ux)), np.nan)
        for i, b in enumerate(uy):
            for j, a in enumerate(ux):
                cell = vs[(xs == a) & (ys == b)]
                if np.isfinite(cell).any():
                    grid[i, j] = np.nanmean(cell)
        cmap_obj = colormaps[cmap].with_extremes(bad="0.85")
        mappable: ScalarMappable = ax.imshow(np.ma.masked_invalid(grid), origin="lower",
                                             cmap=cmap_obj, vmin=vmin, vmax=vmax, aspect="auto")
        for i in range(len(uy)):
            for j in range(len(ux)):
                v = grid[i, j]
                if not np.isfinite(v):
                    ax.text(j, i, "×", ha="center", va="center", fontsize=14, color="0.4")
                    continue
                good = (v - vmin) / ((vmax - vmin) or 1) > 0.6
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=9,
                        color="black" if good == higher_is_better else "white")
        if finite.any():
            bi, bj = (int(k) for k in np.unravel_index(
                np.nanargmax(grid if higher_is_better else -grid), grid.shape))
            ax.add_patch(Rectangle((bj - 0.5, bi - 0.5), 1, 1, fill=False, edgecolor="red",
                                   lw=3, zorder=3))
            best_xy = (ux[bj], uy[bi])
        ax.set_xticks(range(len(ux)), ["none"] if absent else [f"{v:.3g}" for v in ux])
        ax.set_yticks(range(len(uy)), [f"{v:.3g}" for v in uy])
    else:
        mappable = ax.scatter(xs[finite], ys[finite], c=vs[finite], cmap=cmap, vmin=vmin,
                              vmax=vmax, s=60, edgecolor="black", linewidth=0.5)
        if (~finite).any():
            ax.scatter(xs[~finite], ys[~finite], marker="x", color="0.4", s=50,
                       label="failed / diverged")
            ax.legend(loc="best", framealpha=0.85)
        if finite.any():
            best = np.flatnonzero(finite)[np.argmax(vs[finite] * (1 if higher_is_better else -1))]
            best_xy = (xs[best], ys[best])
            ax.scatter(*best_xy, marker="*", s=400, facecolor="none", edgecolor="red", lw=2,
                       zorder=3)
        # Hyper-parameters are searched over orders of magnitude; symlog keeps a 0 visible.
        for axis, v in (("x", xs), ("y", ys)):
            positive = v[v > 0]
            if positive.size and (v >= 0).all() and positive.max() / positive.min() > 20:
                set_scale = ax.set_xscale if axis == "x" else ax.set_yscale
                if (v > 0).all():
                    set_scale("log")
                else:
                    set_scale("symlog", linthresh=positive.min())
    ax.figure.colorbar(mappable, ax=ax, label=value)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    failed = int((~finite).sum())
    title = f"Search: {value} ({'grid' if is_grid else 'random'}, {len(results)} runs)"
    if finite.any():
        where = f"{y}={best_xy[1]:.3g}" if absent else f"{x}={best_xy[0]:.3g}, {y}={best_xy[1]:.3g}"
        title += f"\nbest {where} (red)"
    if failed:
        title += f"; {failed} failed or diverged (×)"
    ax.set_title(title, fontsize=11)
    return ax
