"""The loss over a 2-D slice of parameter space, with the optimizer's path drawn on it.

The slice passes through the current parameters ``θ`` along two orthonormal directions
``d1, d2``: the loss is ``J(θ + a d1 + b d2)`` on a grid of ``(a, b)``. The directions are
the path's own two main directions (the top singular vectors of ``θ_t - θ``, as in Li et
al., "Visualizing the Loss Landscape of Neural Nets", 2018), filled with seeded random ones
while the path has not yet moved in two directions. Each past ``θ_t`` is drawn at its
projection ``(<θ_t - θ, d1>, <θ_t - θ, d2>)``; the path lies off the slice where it
used other directions, so its points are close to, not exactly on, the drawn loss.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

MIN_SPAN = 1.0  # half-width of the slice before the path has gone anywhere


def directions(center: np.ndarray, path: Sequence[np.ndarray], seed: int) -> np.ndarray:
    """Two orthonormal directions, ndarray of shape (2, n_params): the path's main ones,
    completed with random ones (seeded, so the picture does not flicker between calls)."""
    rng = np.random.default_rng(seed)
    moves = np.array([p - center for p in path]).reshape(-1, center.size)
    basis: list[np.ndarray] = []
    if len(moves):
        _, s, vt = np.linalg.svd(moves, full_matrices=False)
        basis = [v for v, sv in zip(vt, s, strict=False) if sv > 1e-9 * max(s[0], 1e-300)][:2]
    while len(basis) < 2:
        v = rng.standard_normal(center.size)
        for u in basis:
            v -= (v @ u) * u
        basis.append(v / np.linalg.norm(v))
    return np.array(basis)


def loss_slice(f: Callable[[np.ndarray], float], center: np.ndarray,
               path: Sequence[np.ndarray], n: int, seed: int = 0) -> dict[str, Any]:
    """The loss on an ``n x n`` grid of the slice, and the path's projection.

    Args:
        f: ``f(theta) -> loss`` for a flat parameter vector.
        center: ndarray of shape (n_params,), the current parameters.
        path: Earlier parameter vectors, oldest first.
        n: Grid points per side (odd, so the centre is on the grid).
        seed: Seed of the random directions.

    Returns:
        ``{"a", "b"}`` (grid coordinates), ``"loss"`` (n rows of n: row i is ``b[i]``),
        ``"path"`` (``[a_t, b_t]`` per step, ending at ``[0, 0]``), ``"min"``, ``"max"``.
    """
    d = directions(center, path, seed)
    proj = [(d @ (p - center)).tolist() for p in path] + [[0.0, 0.0]]
    span = max(MIN_SPAN, 1.15 * max(abs(v) for xy in proj for v in xy))
    ticks = np.linspace(-span, span, n)
    loss = np.array([[f(center + a * d[0] + b * d[1]) for a in ticks] for b in ticks])
    loss = np.where(np.isfinite(loss), loss, np.nanmax(loss[np.isfinite(loss)], initial=0.0))
    return {"a": ticks.tolist(), "b": ticks.tolist(), "loss": loss.tolist(), "path": proj,
            "min": float(loss.min()), "max": float(loss.max())}
