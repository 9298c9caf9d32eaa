"""A mini-batch's objective in reused buffers.

A fit loop on the fast path (:func:`linclass.objective.fast_path`) computes, every step,

    F = features(X[rows]),    J, dJ/dW, dJ/db = fast(params, F, y[rows])

A :class:`Workspace` does that in buffers made once: the rows are gathered into one, cast
(or transformed) into another, and the scores and gradients written into a third and
fourth, so a step allocates nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from linclass.model import Params

Transform = Callable[..., np.ndarray]
Affine = tuple[np.ndarray, np.ndarray]


def accepts_out(transform: Transform) -> bool:
    """Whether ``transform(rows, out=buffer)`` works, so that a step can reuse a buffer."""
    try:
        return "out" in inspect.signature(transform).parameters
    except (TypeError, ValueError):  # a callable without a signature
        return False


class Workspace:
    """Buffers for the objective of blocks of at most ``rows`` rows of ``X``.

    Args:
        X: The stored rows, ndarray of shape (n, ...) (e.g. uint8 images).
        y: Labels, ndarray of shape (n,).
        transform: ``transform(X_rows) -> features`` or None (X holds the features).
        affine: ``(a, c)`` when the features are ``a * X + c`` (then a block is only
            cast, and ``transform.cast`` does it), else None.
        rows: The most rows of a block.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, transform: Transform | None,
                 affine: Affine | None, rows: int) -> None:
        self.X, self.y, self.transform, self.affine, self.rows = X, y, transform, affine, rows
        self.transform_out = transform is not None and accepts_out(transform)
        self.X_buf = np.empty((rows, *X.shape[1:]), dtype=X.dtype)
        self.y_buf = np.empty(rows, dtype=y.dtype)
        self.F_buf: np.ndarray | None = None
        self.S: np.ndarray | None = None
        self.grads: Params | None = None

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(features(X[rows]), y[rows])`` in the buffers."""
        m = rows.shape[0]
        # mode="clip" lets np.take write straight into out (mode="raise" buffers).
        X_b = np.take(self.X, rows, axis=0, out=self.X_buf[:m], mode="clip")
        y_b = np.take(self.y, rows, out=self.y_buf[:m], mode="clip")
        return self.features(X_b), y_b

    def features(self, X_rows: np.ndarray) -> np.ndarray:
        """``transform(X_rows)``, written into a reused buffer when the transform allows
        (with ``affine``: the rows cast to float, which the folded step multiplies)."""
        if self.transform is None:
            return X_rows
        m = X_rows.shape[0]
        if self.affine is not None:
            if self.F_buf is None:
                self.F_buf = np.empty((self.rows, self.affine[0].shape[0]), np.float32)
            return self.transform.cast(X_rows, out=self.F_buf[:m])
        if not self.transform_out:
            return self.transform(X_rows)
        if self.F_buf is None:  # the first call shows the features' width and dtype
            first = self.transform(X_rows)
            self.F_buf = np.empty((self.rows, *first.shape[1:]), dtype=first.dtype)
            return first
        return self.transform(X_rows, out=self.F_buf[:m])

    def allocate(self, params: Params, dtype: np.dtype) -> None:
        """Make the score and gradient buffers (``dtype``: that of the scores)."""
        self.S = np.empty((self.rows, params["W"].shape[0]), dtype=dtype)
        self.grads = {k: np.empty_like(v) for k, v in params.items()}

    def value_and_grad(self, fast: Callable[..., float], params: Params, F: np.ndarray,
                       y_b: np.ndarray) -> float:
        """``J`` of the block by the buffered objective; the gradients land in ``grads``."""
        return fast(params, F, y_b, self.grads, self.S[: y_b.shape[0]], affine=self.affine)
