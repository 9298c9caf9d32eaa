"""Seeded 2-D datasets for the geometric view, each with a starting ``W`` and ``b``.

Every preset lies inside :data:`VIEW` so that all its points are visible, and is fully
determined by its seed, so a reset brings back exactly the same picture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from linclass.model import Params, init_params

# The square of the plane the page draws: (x_min, x_max, y_min, y_max).
VIEW = (-3.0, 3.0, -3.0, 3.0)


@dataclass(frozen=True)
class Preset:
    """Points, labels and a starting point for the parameters.

    Attributes:
        X: ndarray of shape (n_points, 2).
        y: ndarray of shape (n_points,), int64 labels in ``[0, n_classes)``.
        n_classes: C, the number of hyperplanes drawn (a class may have no points yet).
        params: ``{"W": (C, 2), "b": (C,)}``.
        description: One sentence for the page.
        X_test, y_test: Held-out points of the same distribution (none for the
            hand-made presets): drawn hollow, scored as the test accuracy, never trained on.
    """

    X: np.ndarray
    y: np.ndarray
    n_classes: int
    params: Params
    description: str
    X_test: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    y_test: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _start(n_classes: int, seed: int) -> Params:
    # Unit-size random weights rather than init_params' tiny default, so that the
    # hyperplanes start visibly different and the arrows are long enough to see.
    return init_params(2, n_classes, scale=1.0, random_state=seed)


def three_blobs(seed: int = 0) -> Preset:
    """Three Gaussian blobs, 15 points each, linearly separable."""
    rng = np.random.default_rng(seed)
    centers = np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.6]])
    X = np.concatenate([c + 0.45 * rng.standard_normal((15, 2)) for c in centers])
    y = np.repeat(np.arange(3), 15)
    return Preset(np.clip(X, -2.8, 2.8), y, 3, _start(3, seed),
                  "Three blobs: one hyperplane per class can carve out each blob.")


def lecture(seed: int = 0) -> Preset:
    """The 3-class toy problem of the CS231n linear-classification demo, with its W and b.

    Nine points, three per class, and the demo's starting ``W = [[1, 2], [2, -4], [3, -1]]``,
    ``b = [0, 0.5, -0.5]``; coordinates are doubled to fill this page's larger view.
    The seed is unused: the example is fixed.
    """
    X = 2.0 * np.array([[0.5, 0.4], [0.8, 0.3], [0.3, 0.8],
                        [-0.4, 0.3], [-0.3, 0.7], [-0.7, 0.2],
                        [0.7, -0.4], [0.5, -0.6], [-0.4, -0.5]])
    y = np.repeat(np.arange(3), 3)
    params = {"W": np.array([[1.0, 2.0], [2.0, -4.0], [3.0, -1.0]]),
              "b": np.array([0.0, 0.5, -0.5])}
    return Preset(X, y, 3, params,
                  "The lecture's 3-class example: nine points and a hand-picked W and b.")


def xor(seed: int = 0) -> Preset:
    """Two classes in opposite quadrants: no linear classifier separates them."""
    rng = np.random.default_rng(seed)
    corners = np.array([[1.3, 1.3], [-1.3, -1.3], [1.3, -1.3], [-1.3, 1.3]])
    X = np.concatenate([c + 0.4 * rng.standard_normal((10, 2)) for c in corners])
    y = np.repeat([0, 0, 1, 1], 10)
    return Preset(np.clip(X, -2.8, 2.8), y, 2, _start(2, seed),
                  "XOR: opposite corners share a class, so no straight line separates them.")


def empty(seed: int = 0) -> Preset:
    """No points: click on the plane to add some."""
    return Preset(np.zeros((0, 2)), np.zeros(0, dtype=np.int64), 3, _start(3, seed),
                  "Empty: click to add points of the selected class.")


TEST_FRACTION = 0.3


def _split(X: np.ndarray, y: np.ndarray, n_classes: int, seed: int, description: str) -> Preset:
    """A preset from generated points: a seeded :data:`TEST_FRACTION` of them held out."""
    rng = np.random.default_rng(seed + 1)
    order = rng.permutation(len(y))
    n_test = int(round(TEST_FRACTION * len(y)))
    test, train = order[:n_test], order[n_test:]
    X = np.clip(X, -2.8, 2.8)
    return Preset(X[train], y[train].astype(np.int64), n_classes, _start(n_classes, seed),
                  description, X[test], y[test].astype(np.int64))


def circles(seed: int = 0) -> Preset:
    """A disc of one class inside a ring of the other (60 points each, 30% held out)."""
    rng = np.random.default_rng(seed)
    radius = np.concatenate([rng.uniform(0.0, 1.0, 60), rng.uniform(1.7, 2.5, 60)])
    angle = rng.uniform(0, 2 * np.pi, 120)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return _split(X, np.repeat([0, 1], 60), 2, seed,
                  "Circles: a disc inside a ring. No line separates them; x1² + x2² does.")


def spirals(seed: int = 0) -> Preset:
    """Two interleaved spirals (70 points each, 30% held out)."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.05, 1.0, (2, 70))) * 3 * np.pi
    arms = [np.column_stack([t[k] * np.cos(t[k] + k * np.pi), t[k] * np.sin(t[k] + k * np.pi)])
            for k in range(2)]
    X = np.concatenate(arms) * (2.7 / (3 * np.pi)) + 0.08 * rng.standard_normal((140, 2))
    return _split(X, np.repeat([0, 1], 70), 2, seed,
                  "Spirals: two arms wound into each other, far from linearly separable.")


def noise(seed: int = 0) -> Preset:
    """Random points with random labels: nothing to learn, so test accuracy stays at chance."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.6, 2.6, (120, 2))
    return _split(X, rng.integers(0, 3, 120), 3, seed,
                  "Noise: random labels. Training accuracy can rise; test accuracy cannot.")


PRESETS: dict[str, Callable[[int], Preset]] = {
    "three_blobs": three_blobs,
    "lecture": lecture,
    "xor": xor,
    "circles": circles,
    "spirals": spirals,
    "noise": noise,
    "empty": empty,
}
