"""Numerical gradients by finite differences, as the lecture computes them by hand.

Forward difference (the slide's ``(f(W + h) - f(W)) / h``) costs one extra evaluation per
parameter and is accurate to ``O(h)``; the centered difference
``(f(W + h) - f(W - h)) / 2h`` costs two and is accurate to ``O(h^2)``, so it is the default.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Params = dict[str, np.ndarray]
ScalarFn = Callable[[Params], float]
Coords = dict[str, np.ndarray]

METHODS = ("centered", "forward")


def sample_coords(
    params: Params, n_samples: int | None, random_state: int | np.random.Generator | None = 0
) -> Coords:
    """Flat indices to probe in each parameter array: all of them, or a random sample.

    Args:
        params: The parameter dict.
        n_samples: Coordinates to draw per array (all when None or larger than the array).
        random_state: Seed or generator for the sample.

    Returns:
        ``{name: ndarray of flat indices}``.
    """
    rng = np.random.default_rng(random_state)
    coords = {}
    for name, value in params.items():
        if n_samples is None or n_samples >= value.size:
            coords[name] = np.arange(value.size)
        else:
            coords[name] = np.sort(rng.choice(value.size, size=n_samples, replace=False))
    return coords


def numerical_gradient(
    f: ScalarFn,
    params: Params,
    *,
    h: float = 1e-5,
    method: str = "centered",
    coords: Coords | None = None,
) -> Params:
    """Finite-difference gradient of a scalar function of the params dict.

    Each probed coordinate is nudged in place and restored, so ``params`` is unchanged on
    return. Coordinates not in ``coords`` are left as NaN in the result, so that nothing can
    mistake an unprobed entry for a zero derivative.

    Args:
        f: ``f(params) -> float``, e.g. the objective with X and y bound.
        params: ``{"W": ..., "b": ...}`` (any arrays); use float64 for checking.
        h: Step size.
        method: ``"centered"`` (default) or ``"forward"``.
        coords: Flat indices per array to probe (see :func:`sample_coords`); all if None.

    Returns:
        Dict of arrays shaped like ``params`` holding ``dfdp``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown finite-difference method {method!r}; choose one of {METHODS}")
    if not h > 0:
        raise ValueError(f"step h must be > 0, got {h}")
    f0 = float(f(params)) if method == "forward" else 0.0
    grads: Params = {}
    for name, value in params.items():
        flat = value.flat  # writes through to params[name], contiguous or not
        g = np.full(value.size, np.nan if coords is not None else 0.0)
        for k in (coords[name] if coords is not None else range(value.size)):
            old = flat[k]
            flat[k] = old + h
            f_plus = float(f(params))
            if method == "centered":
                flat[k] = old - h
                f_minus = float(f(params))
                g[k] = (f_plus - f_minus) / (2 * h)
            else:
                g[k] = (f_plus - f0) / h
            flat[k] = old
        grads[name] = g.reshape(value.shape)
    return grads
