"""Small helpers shared by the picture modules: a fresh Axes, class colours, class names."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or one Axes on a new headless Figure (no pyplot, no global state)."""
    if ax is not None:
        return ax
    return Figure(figsize=figsize, layout="constrained").add_subplot()


def class_colors(n_classes: int) -> np.ndarray:
    """One distinct RGBA colour per class: tab10 up to 10 classes, tab20 up to 20."""
    if n_classes <= 10:
        return colormaps["tab10"](np.arange(n_classes))
    return colormaps["tab20"](np.arange(n_classes) % 20)


def class_labels(n_classes: int, class_names: Sequence[str] | None) -> list[str]:
    """``class_names`` as strings, or ``"0", "1", ...``; checks that the count matches."""
    if class_names is None:
        return [str(k) for k in range(n_classes)]
    if len(class_names) != n_classes:
        raise ValueError(f"got {len(class_names)} class names for {n_classes} classes")
    return [str(name) for name in class_names]
