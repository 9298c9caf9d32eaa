"""Training in standardized coordinates: the same objective, a better-conditioned path.

Gradient steps see the raw numbers: a column in metres next to one in millimetres, or
pixels in 0..255, give a loss surface whose curvatures differ by orders of magnitude, and
no single learning rate suits them all. Standardizing the features fixes that, but it
changes the model a user asked for. Here the *parameters* are changed instead, which
leaves the objective exactly as it is:

    W = diag(s) W~ diag(1 / sigma),     b = t + s * b~ - W mu

with ``mu``, ``sigma`` the features' column means and spreads and ``s``, ``t`` a target
scale and shift (regression; 1 and 0 for classifiers). Then ``W x + b = s * (W~ x~ + b~)
+ t`` with ``x~ = (x - mu) / sigma``: the optimizer moves ``(W~, b~)``, which see
standardized features and targets, while the loss and the penalty are still computed on
``(W, b)`` and the raw data, unchanged. By the chain rule

    dJ/dW~ = diag(s) (dJ/dW - dJ/db mu^T) diag(1 / sigma),     dJ/db~ = s * dJ/db,

an O(C D) map per step next to the O(B C D) products of a batch. The optimizer is handed
``c J`` with ``c = 1 / mean(s^2)`` so that a regression on targets of any size has a loss
near 1 at the start (the minimizer is the same).

:class:`ScaledStep` wraps any step (NumPy's, torch's) in this map; arrays are combined with
``*``, ``-`` and ``@`` only, so tensors work as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from linclass.model import Params
from linclass.sparsity import issparse
from linclass.training.sampler import chunk_slices


@dataclass(frozen=True)
class Reparam:
    """The map between the optimizer's coordinates ``(W~, b~)`` and the model's ``(W, b)``.

    Attributes:
        mu: ndarray of shape (n_features,), the column means.
        inv_sigma: ndarray of shape (n_features,), one over the column spreads (1 for
            constant columns, whose weight the data cannot move).
        out_scale: ndarray of shape (n_outputs,), ``s`` (the target spread of a regressor).
        out_shift: ndarray of shape (n_outputs,), ``t`` (the target mean of a regressor).
    """

    mu: np.ndarray
    inv_sigma: np.ndarray
    out_scale: np.ndarray
    out_shift: np.ndarray

    @property
    def loss_scale(self) -> float:
        """``c``: what the optimizer's loss is multiplied by (1 for classifiers)."""
        return float(1.0 / np.mean(self.out_scale.astype(np.float64) ** 2))

    def astype(self, dtype: np.dtype) -> Reparam:
        """The same map in ``dtype`` (the params' float type)."""
        return Reparam(*(np.asarray(a, dtype=dtype) for a in (
            self.mu, self.inv_sigma, self.out_scale, self.out_shift)))

    def to_model(self, theta: Params, c: Params | None = None) -> Params:
        """``(W, b)`` from ``(W~, b~)``. ``c``: this map's arrays as the caller holds them
        (tensors on a device); the NumPy arrays by default."""
        c = c or self.arrays()
        W = (theta["W"] * c["out_scale"][:, None]) * c["inv_sigma"][None, :]
        b = c["out_shift"] + c["out_scale"] * theta["b"] - W @ c["mu"]
        return {"W": W, "b": b}

    def to_theta(self, params: Params) -> Params:
        """``(W~, b~)`` from ``(W, b)`` (a warm start, a ``partial_fit`` continuing)."""
        W, b = params["W"], params["b"]
        s = self.out_scale.astype(W.dtype)
        theta_W = W / self.inv_sigma.astype(W.dtype)[None, :] / s[:, None]
        theta_b = (b - self.out_shift.astype(W.dtype) + W @ self.mu.astype(W.dtype)) / s
        return {"W": theta_W, "b": theta_b}

    def grads_to_theta(self, grads: Params, c: Params | None = None) -> Params:
        """``(dJ/dW~, dJ/db~)`` times ``c`` (:attr:`loss_scale`) from ``(dJ/dW, dJ/db)``."""
        c = c or self.arrays()
        k = self.loss_scale
        gW = (grads["W"] - grads["b"][:, None] * c["mu"][None, :]) * c["inv_sigma"][None, :]
        return {"W": gW * (c["out_scale"][:, None] * k), "b": grads["b"] * (c["out_scale"] * k)}

    def arrays(self) -> Params:
        """The map's arrays by name (what :meth:`to_model` combines)."""
        return {"mu": self.mu, "inv_sigma": self.inv_sigma, "out_scale": self.out_scale,
                "out_shift": self.out_shift}


#: Bytes of float64 rows :func:`column_stats` converts at a time: a chunk and its shifted
#: copy stay small next to the data (65,536 rows of 784 floats were a 411 MB copy, more
#: than the whole of Fashion-MNIST in float64).
STATS_CHUNK_BYTES = 4 * 2**20


def column_stats(X: Any, *, chunk_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations of ``X`` (n, D), in float64, a chunk of rows at
    a time (``chunk_rows``; None: about :data:`STATS_CHUNK_BYTES` of float64 rows), with
    shifted sums, so large means lose no precision. Columns whose sums overflow
    (values near 1e308, whose squares are inf) are computed again scaled by their largest
    magnitude, so a huge column gets its true spread instead of inf (and a zero weight).

    Returns:
        ``(mu, std)``, each ndarray of shape (D,).
    """
    if issparse(X):  # sums over the stored values: the matrix stays sparse
        mu = np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()
        square = np.asarray(X.multiply(X).mean(axis=0, dtype=np.float64)).ravel()
        return mu, np.sqrt(np.maximum(square - mu**2, 0.0))
    if chunk_rows is None:
        width = max(1, int(np.prod(X.shape[1:], dtype=np.int64)))
        chunk_rows = max(1, STATS_CHUNK_BYTES // (8 * width))
    with np.errstate(over="ignore", invalid="ignore"):
        mu, std = _shifted_stats(X, chunk_rows, None)
        bad = ~(np.isfinite(mu) & np.isfinite(std))
        if bad.any():
            scale = np.zeros(mu.shape)
            for s in chunk_slices(X.shape[0], chunk_rows):
                block = np.abs(np.asarray(X[s], dtype=np.float64))
                scale = np.maximum(scale, block.max(axis=0, initial=0.0))
            scale = np.where(bad & np.isfinite(scale) & (scale > 0), scale, 1.0)
            mu_s, std_s = _shifted_stats(X, chunk_rows, scale)
            mu, std = np.where(bad, mu_s * scale, mu), np.where(bad, std_s * scale, std)
    return mu, std


def _shifted_stats(X: Any, chunk_rows: int, scale: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of ``X / scale`` (``X`` when ``scale`` is None), shifted sums."""
    n = X.shape[0]
    first = np.asarray(X[: min(n, chunk_rows)], dtype=np.float64)
    shift = (first if scale is None else first / scale).mean(axis=0)
    del first  # only its mean is kept: a chunk at a time is all this holds
    total = np.zeros_like(shift)
    square = np.zeros_like(shift)
    for s in chunk_slices(n, chunk_rows):
        rows = X[s]
        block = np.asarray(rows, dtype=np.float64)
        if scale is not None:  # the rare second pass over overflowing columns
            block = block / scale - shift
        elif block is rows or isinstance(X, np.ndarray) and np.shares_memory(block, X):
            block = block - shift  # a view of X: shifted into a copy of the chunk
        else:
            block -= shift  # converted already: shifted in place
        total += block.sum(axis=0)
        square += np.einsum("ij,ij->j", block, block)
        del rows, block  # freed before the next chunk is read
    mean_dev = total / n
    var = np.maximum(square / n - mean_dev**2, 0.0)
    return shift + mean_dev, np.sqrt(var)


def standardizing(X: Any, targets: np.ndarray | None = None, *,
                  sigma_floor: float = 0.0,
                  stats: tuple[np.ndarray, np.ndarray] | None = None) -> Reparam:
    """The :class:`Reparam` that standardizes the columns of ``X`` (and the regression
    ``targets``, when given).

    Args:
        X: array-like of shape (n_samples, n_features).
        targets: ndarray of shape (n_samples,) for a regressor, or None.
        sigma_floor: Smallest spread used: a column that barely varies is scaled up no
            more than this allows (any positive spread gives the same objective; a floor
            keeps the penalty's curvature in the new coordinates bounded).
        stats: :func:`column_stats` of ``X`` when already computed (a sweep's settings
            share them: one pass over ``X``, not one per setting).
    """
    mu, std = column_stats(X) if stats is None else stats
    sigma = np.where(std > 0, np.maximum(std, sigma_floor), 1.0)
    if targets is None:
        scale, shift = np.ones(1), np.zeros(1)
    else:
        t = np.asarray(targets, dtype=np.float64)
        spread = float(t.std())
        scale = np.array([spread if spread > 0 else 1.0])
        shift = np.array([float(t.mean())])
    return Reparam(mu, 1.0 / sigma, scale, shift)


class ScaledStep:
    """A step in ``(W~, b~)`` coordinates around a step in ``(W, b)`` (module docstring).

    Args:
        inner: The model-space step (any backend's :class:`~linclass.training.parts.Step`).
        reparam: The map.
    """

    def __init__(self, inner: Any, reparam: Reparam) -> None:
        self.inner, self.reparam = inner, reparam
        self.c = inner.put(reparam.arrays())
        self.loss_scale = reparam.loss_scale

    def put(self, tree: Any) -> Any:
        return self.inner.put(tree)

    def host(self, tree: Any) -> Any:
        return self.inner.host(tree)

    def finite(self, params: Params) -> bool:
        return bool(self.inner.finite(params))

    def model(self, theta: Params) -> Params:
        """``(W, b)`` of the optimizer's ``(W~, b~)``, as the inner step holds arrays."""
        return self.reparam.to_model(theta, self.c)

    def _scaled(self, out: tuple[float, Params]) -> tuple[float, Params]:
        loss, grads = out
        return self.loss_scale * loss, self.reparam.grads_to_theta(grads, self.c)

    def batch(self, params: Params, X: Any, y: Any, rows: np.ndarray) -> tuple[float, Params]:
        return self._scaled(self.inner.batch(self.model(params), X, y, rows))

    def full(self, params: Params, X: Any, y: Any) -> tuple[float, Params]:
        return self._scaled(self.inner.full(self.model(params), X, y))

    def loss(self, params: Params, X: Any, y: Any) -> float:
        return self.loss_scale * float(self.inner.loss(self.model(params), X, y))

    def evaluate(self, params: Params, X: Any, y: Any, **kwargs: Any) -> tuple[float, float]:
        """The model's objective (unscaled: the history reports the user's J) and accuracy."""
        return self.inner.evaluate(self.model(params), X, y, **kwargs)


__all__ = ["STATS_CHUNK_BYTES", "Reparam", "ScaledStep", "column_stats", "standardizing"]
