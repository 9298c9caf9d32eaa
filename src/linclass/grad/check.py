"""Gradient checking: how far apart two gradients are, in relative terms.

    rel(a, n) = |a - n| / max(|a|, |n|, tiny)

Relative error is the right scale because gradient entries range over orders of
magnitude; ``tiny`` keeps 0 vs 0 at 0 rather than NaN. In float64 a correct analytic
gradient against a centered difference gives about 1e-7 or less on smooth losses.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from linclass.grad.numerical import numerical_gradient, sample_coords

Params = dict[str, np.ndarray]

TINY = 1e-12


def relative_error(a: np.ndarray, n: np.ndarray, tiny: float = TINY) -> np.ndarray:
    """Element-wise ``|a - n| / max(|a|, |n|, tiny)``; NaN entries in either are ignored (0)."""
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    err = np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), tiny)
    return np.where(np.isnan(a) | np.isnan(n), 0.0, err)


def max_relative_error(a: Params, b: Params, tiny: float = TINY) -> float:
    """Largest relative error over every entry of every array in two gradient dicts."""
    if set(a) != set(b):
        raise ValueError(f"gradient dicts have different keys: {sorted(a)} vs {sorted(b)}")
    return max(float(relative_error(a[k], b[k], tiny).max(initial=0.0)) for k in a)


def gradient_check(
    f: Callable[[Params], float],
    analytic: Params,
    params: Params,
    *,
    n_samples: int | None = None,
    h: float = 1e-5,
    method: str = "centered",
    random_state: int | np.random.Generator | None = 0,
) -> float:
    """Compare an analytic gradient with a numerical one; return the max relative error.

    Args:
        f: ``f(params) -> float``, the function whose gradient ``analytic`` claims to be.
        analytic: ``{name: ndarray}`` gradient at ``params``.
        params: Point of evaluation (left unchanged).
        n_samples: Probe only this many random coordinates per array (for big W).
        h: Finite-difference step.
        method: ``"centered"`` or ``"forward"``.
        random_state: Seed for the coordinate sample.

    Returns:
        ``max |a - n| / max(|a|, |n|, tiny)`` over the probed coordinates.
    """
    coords = sample_coords(params, n_samples, random_state)
    numeric = numerical_gradient(f, params, h=h, method=method, coords=coords)
    return max_relative_error(analytic, numeric)
