"""Feature transforms of the 2-D view: the lecture's "input and representation" component.

A linear classifier draws straight boundaries in whatever space it is given. On
``[x1, x2]`` no line separates XOR or a disc inside a ring; on ``[x1, x2, x1 x2]`` or
``[x1, x2, x1^2, x2^2]`` a hyperplane does, and seen back in the plane its boundary is a
curve. The model itself is unchanged: ``W`` simply gets one column per feature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: The extra features offered, by the name the page shows, in page order.
EXTRA_FEATURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "x1²": lambda X: X[:, 0] ** 2,
    "x2²": lambda X: X[:, 1] ** 2,
    "x1·x2": lambda X: X[:, 0] * X[:, 1],
}

BASE_FEATURES = ("x1", "x2")


def check_extras(extras: Sequence[str]) -> tuple[str, ...]:
    """The extras in page order, each known and named once; ValueError naming the bad one."""
    for name in extras:
        if name not in EXTRA_FEATURES:
            raise ValueError(f"unknown feature {name!r}; choose from {list(EXTRA_FEATURES)}")
    if len(set(extras)) != len(extras):
        raise ValueError(f"features must not repeat, got {list(extras)}")
    return tuple(n for n in EXTRA_FEATURES if n in extras)


def feature_names(extras: Sequence[str]) -> list[str]:
    """The columns of the transformed input, ``["x1", "x2", *extras]``."""
    return [*BASE_FEATURES, *extras]


def transform(X: np.ndarray, extras: Sequence[str]) -> np.ndarray:
    """``[x1, x2, *extras]`` per point: ndarray of shape (n_points, 2 + len(extras))."""
    X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
    return np.column_stack([X, *(EXTRA_FEATURES[n](X) for n in extras)])
