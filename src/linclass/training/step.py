"""The objective of one step: on a mini-batch, on the whole set a chunk at a time, or its
value alone; by the in-place objective (the fast path) or by the checked function.

Both paths compute the same numbers (tests compare them); the fast path only skips the
per-step input checks, which :func:`linclass.training.loop.fit` has made once, and writes
into the :class:`~linclass.training.workspace.Workspace`'s buffers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from linclass.model import Params, predict
from linclass.objective import FastObjective
from linclass.training.workspace import Workspace

ValueAndGrad = Callable[[Params, np.ndarray, np.ndarray], tuple[float, Params]]
ValueFn = Callable[[Params, np.ndarray, np.ndarray], float]


def weighted_sum(parts: Iterable[tuple[float, Params, float]]) -> tuple[float, Params]:
    """``sum_c w_c (J_c, grads_c)`` over ``(J_c, grads_c, w_c)``; copies out of any reused
    gradient buffer. Exact for a mean over rows plus a penalty when the weights are
    ``n_c / N`` (they sum to 1, so the penalty comes out once)."""
    total = 0.0
    grads: Params = {}
    for loss, g, weight in parts:
        total += weight * loss
        for k, v in g.items():
            grads[k] = grads[k] + weight * v if k in grads else weight * v
    return total, grads


class Step:
    """``(J, grads)`` and ``J`` of blocks of stored rows.

    Args:
        work: Turns stored rows into features (and lends buffers).
        value_and_grad: The checked ``(params, X, y) -> (J, grads)``, or None for
            derivative-free optimizers.
        value: The checked ``(params, X, y) -> J``.
        in_place: The in-place twin of ``value_and_grad`` (None: always the checked one).
    """

    def __init__(self, work: Workspace, value_and_grad: ValueAndGrad | None, value: ValueFn,
                 in_place: FastObjective | None) -> None:
        self.work, self.value_and_grad, self.value, self.in_place = (
            work, value_and_grad, value, in_place)

    # --- where the params live: in host memory, as they are (a backend's step moves them) --

    def put(self, tree: Any) -> Any:
        """Params (or an optimizer state) as this backend holds them: unchanged."""
        return tree

    def host(self, tree: Any) -> Any:
        """Params (or an optimizer state) as NumPy arrays: unchanged."""
        return tree

    def finite(self, params: Params) -> bool:
        """True when every entry of the params is finite."""
        return all(np.isfinite(v).all() for v in params.values())

    def block(self, params: Params, F: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """``(J, grads)`` of one block of features (the grads may live in a reused buffer)."""
        if self.in_place is None:
            assert self.value_and_grad is not None
            return self.value_and_grad(params, F, y)
        w = self.work
        assert w.grads is not None and w.S is not None  # allocated with the fast path
        loss = self.in_place(params, F, y, w.grads, w.S[: y.shape[0]], affine=w.affine)
        return loss, w.grads

    def batch(self, params: Params, X: np.ndarray, y: np.ndarray, rows: np.ndarray
              ) -> tuple[float, Params]:
        """``(J, grads)`` of the mini-batch ``rows``."""
        return self.block(params, *self.work.take(X, y, rows))

    def full(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """``(J, grads)`` of the whole set, a chunk at a time."""
        return weighted_sum((*self.block(params, F, y_c), w)
                            for F, y_c, w in self.work.walk(X, y))

    def loss(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """``J`` of the whole set (what the search optimizers minimize)."""
        return self.evaluate(params, X, y, accuracy=False)[0]

    def evaluate(self, params: Params, X: np.ndarray, y: np.ndarray, *, accuracy: bool = True,
                 predictions: list[np.ndarray] | None = None) -> tuple[float, float]:
        """Objective and accuracy on a whole set; one product per chunk serves both on the
        fast path. ``predictions``, when given, receives each chunk's predicted classes."""
        loss, correct, n, w = 0.0, 0, y.shape[0], self.work
        want_pred = accuracy or predictions is not None
        for F, y_c, weight in w.walk(X, y):
            m = y_c.shape[0]
            if self.in_place is not None:
                assert w.S is not None  # allocated with the fast path
                pred = w.predictions[:m] if want_pred else None
                loss += weight * self.in_place.value(params, F, y_c, w.S[:m], w.affine, pred)
            else:  # the checked path: its workspace never folds, F are the features
                loss += weight * self.value(params, F, y_c)
                pred = predict(params, F) if want_pred else None
            if accuracy:
                correct += int(np.count_nonzero(pred == y_c))
            if predictions is not None:
                predictions.append(np.array(pred, copy=True))
        return loss, (correct / n if accuracy and n else float("nan"))


def as_value(value_and_grad: ValueAndGrad) -> ValueFn:
    """``value`` from a ``value_and_grad`` (wasting its gradient), when no value is given."""

    def value(params: Params, X: np.ndarray, y: np.ndarray) -> float:
        return value_and_grad(params, X, y)[0]

    return value


__all__ = ["Step", "ValueAndGrad", "ValueFn", "as_value", "weighted_sum"]
