"""Seeded 2-D datasets for the geometric view, each with a starting ``W`` and ``b``.

Every preset lies inside :data:`VIEW` so that all its points are visible, and is fully
determined by its seed, its noise and its test fraction, so a reset (or a shared link)
brings back exactly the same picture. A generator draws all the points of a preset; then
:func:`make` jitters them by the noise (a stream of its own, so moving the noise slider
moves the same points further, it does not draw new ones) and holds out the test fraction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from linclass.model import Params, init_params

# The square of the plane the page draws: (x_min, x_max, y_min, y_max).
VIEW = (-3.0, 3.0, -3.0, 3.0)
CLIP = 2.8  # generated points stay this far inside the view, so none is drawn cut in half
#: Largest noise (the standard deviation of the jitter, in data units) and test fraction.
MAX_NOISE = 1.0
MAX_TEST_FRACTION = 0.9  # at least a tenth of the points stay to train on


@dataclass(frozen=True)
class Preset:
    """Points, labels and a starting point for the parameters.

    Attributes:
        X: ndarray of shape (n_points, 2).
        y: ndarray of shape (n_points,), int64 labels in ``[0, n_classes)``.
        n_classes: C, the number of hyperplanes drawn (a class may have no points yet).
        params: ``{"W": (C, 2), "b": (C,)}``.
        description: One sentence for the page.
        X_test, y_test: Held-out points of the same distribution (by default none for
            the hand-made presets): drawn hollow, scored as the test accuracy, never
            trained on.
        noise: Standard deviation of the Gaussian jitter added to every point.
        test_fraction: The share of the points held out.
    """

    X: np.ndarray
    y: np.ndarray
    n_classes: int
    params: Params
    description: str
    X_test: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    y_test: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    noise: float = 0.0
    test_fraction: float = 0.0


def _start(n_classes: int, seed: int) -> Params:
    # Unit-size random weights rather than init_params' tiny default, so that the
    # hyperplanes start visibly different and the arrows are long enough to see.
    return init_params(2, n_classes, scale=1.0, random_state=seed)


@dataclass(frozen=True)
class Source:
    """How a preset's points are made, before noise and the split.

    Attributes:
        points: ``points(seed) -> (X, y)``, all the points, X of shape (n, 2).
        n_classes: C.
        description: One sentence for the page.
        test_fraction: The share held out unless the learner chooses another.
        params: ``params(seed)``, the starting parameters (random by default).
    """

    points: Callable[[int], tuple[np.ndarray, np.ndarray]]
    n_classes: int
    description: str
    test_fraction: float = 0.0
    params: Callable[[int], Params] | None = None


def _three_blobs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.6]])
    X = np.concatenate([c + 0.45 * rng.standard_normal((15, 2)) for c in centers])
    return X, np.repeat(np.arange(3), 15)


# The CS231n linear-classification demo's toy problem and W, b; coordinates doubled to
# fill this page's larger view. The seed is unused: the example is fixed.
_LECTURE_X = 2.0 * np.array([[0.5, 0.4], [0.8, 0.3], [0.3, 0.8],
                             [-0.4, 0.3], [-0.3, 0.7], [-0.7, 0.2],
                             [0.7, -0.4], [0.5, -0.6], [-0.4, -0.5]])


def _lecture(seed: int) -> tuple[np.ndarray, np.ndarray]:
    return _LECTURE_X.copy(), np.repeat(np.arange(3), 3)


def _lecture_params(seed: int) -> Params:
    return {"W": np.array([[1.0, 2.0], [2.0, -4.0], [3.0, -1.0]]),
            "b": np.array([0.0, 0.5, -0.5])}


def _xor(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    corners = np.array([[1.3, 1.3], [-1.3, -1.3], [1.3, -1.3], [-1.3, 1.3]])
    X = np.concatenate([c + 0.4 * rng.standard_normal((10, 2)) for c in corners])
    return X, np.repeat([0, 0, 1, 1], 10)


def _circles(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    radius = np.concatenate([rng.uniform(0.0, 1.0, 60), rng.uniform(1.7, 2.5, 60)])
    angle = rng.uniform(0, 2 * np.pi, 120)
    return (np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]),
            np.repeat([0, 1], 60))


def _spirals(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.05, 1.0, (2, 70))) * 3 * np.pi
    arms = [np.column_stack([t[k] * np.cos(t[k] + k * np.pi), t[k] * np.sin(t[k] + k * np.pi)])
            for k in range(2)]
    X = np.concatenate(arms) * (2.7 / (3 * np.pi)) + 0.08 * rng.standard_normal((140, 2))
    return X, np.repeat([0, 1], 70)


def _noise(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.6, 2.6, (120, 2))
    return X, rng.integers(0, 3, 120)


def _empty(seed: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)


SOURCES: dict[str, Source] = {
    "three_blobs": Source(_three_blobs, 3, "Three blobs: one hyperplane per class can carve "
                          "out each blob."),
    "lecture": Source(_lecture, 3, "The lecture's 3-class example: nine points and a "
                      "hand-picked W and b.", params=_lecture_params),
    "xor": Source(_xor, 2, "XOR: opposite corners share a class, so no straight line "
                  "separates them."),
    "circles": Source(_circles, 2, "Circles: a disc inside a ring. No line separates them; "
                      "x1² + x2² does.", test_fraction=0.3),
    "spirals": Source(_spirals, 2, "Spirals: two arms wound into each other, far from "
                      "linearly separable.", test_fraction=0.3),
    "noise": Source(_noise, 3, "Noise: random labels. Training accuracy can rise; test "
                    "accuracy cannot.", test_fraction=0.3),
    "empty": Source(_empty, 3, "Empty: click to add points of the selected class."),
}


def make(name: str, seed: int = 0, noise: float = 0.0,
         test_fraction: float | None = None) -> Preset:
    """The preset ``name`` drawn with ``seed``, jittered by ``noise``, ``test_fraction``
    of it held out.

    Args:
        name: A key of :data:`SOURCES`.
        seed: Seeds the points, the jitter (a stream of its own) and the split.
        noise: Standard deviation of the Gaussian jitter added to each point, in
            ``[0, MAX_NOISE]``.
        test_fraction: Share held out, in ``[0, MAX_TEST_FRACTION]``; None for the
            preset's own (0.3 for the generated presets, 0 for the hand-made ones).

    Raises:
        ValueError: An unknown name, or a noise or fraction out of range.
    """
    if name not in SOURCES:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(SOURCES)}")
    src = SOURCES[name]
    fraction = src.test_fraction if test_fraction is None else float(test_fraction)
    if not 0.0 <= noise <= MAX_NOISE:
        raise ValueError(f"noise must lie in [0, {MAX_NOISE:g}], got {noise:g}")
    if not 0.0 <= fraction <= MAX_TEST_FRACTION:
        raise ValueError(f"test_fraction must lie in [0, {MAX_TEST_FRACTION:g}], "
                         f"got {fraction:g}")
    X, y = src.points(seed)
    jitter = np.random.default_rng([seed, 1]).standard_normal(X.shape)
    X = np.clip(X + noise * jitter, -CLIP, CLIP)
    y = np.asarray(y, dtype=np.int64)
    n_test = int(round(fraction * len(y)))
    # The split draws its own permutation; with nothing held out the order is the
    # generator's (the points of a class stay together in the table).
    order = np.random.default_rng(seed + 1).permutation(len(y)) if n_test else np.arange(len(y))
    test, train = order[:n_test], order[n_test:]
    params = (src.params or partial(_start, src.n_classes))(seed)
    return Preset(X[train], y[train], src.n_classes, params, src.description,
                  X[test], y[test], float(noise), fraction)


#: ``PRESETS[name](seed, noise=0.0, test_fraction=None)``: each preset, by the name the
#: page and the API use.
PRESETS: dict[str, Callable[..., Preset]] = {name: partial(make, name) for name in SOURCES}
