"""The whole training set's objective and gradient for a solver, read a chunk at a time.

Because ``J`` is a mean over rows plus a penalty, the full-set value and gradient are a
weighted sum over row chunks ``c`` of ``n_c`` rows:

    J = sum_c (n_c / N) J_c,        dJ/dW = sum_c (n_c / N) dJ_c/dW

The chunks are the loop's own: :meth:`linclass.training.workspace.Workspace.walk` turns
them into features (stored rows that are not float, uint8 or float16, are cast to float32
chunk by chunk by :func:`~linclass.training.arrays.float_rows`) and
:class:`~linclass.training.step.Step` computes each one, on the in-place kernel when the
objective has one. What :class:`FullPass` adds for a solver that is not the fit loop
(:mod:`linclass.training.solve`, the Dask partitions of :mod:`linclass.backends.dask`):

* the sum is accumulated in float64 (SciPy's L-BFGS state is float64, and chunkings must
  agree to rounding);
* its inputs were not checked by :func:`linclass.training.fit`, so a chunk whose fast
  loss is not finite runs the checked objective, whose error (``X contains NaN or inf``)
  is raised naming the chunk's rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from linclass.model import Params, predict
from linclass.objective import fast_path
from linclass.training.arrays import float_rows
from linclass.training.sampler import CHUNK_ROWS
from linclass.training.step import Step, ValueAndGrad, ValueFn
from linclass.training.workspace import Transform, Workspace


class FullPass:
    """``(J, grads)`` and ``(J, accuracy)`` of params on a whole set, chunk by chunk.

    Args:
        X: Array-like of shape (n_samples, ...) that slices into ndarrays (an ndarray, a
            memory map, a zarr array).
        y: ndarray of shape (n_samples,), integer labels in ``[0, n_classes)``.
        value_and_grad: ``(params, X, y) -> (J, grads)`` (any gradient method), or None
            for evaluation only.
        value: ``(params, X, y) -> J``.
        transform: Optional ``transform(rows) -> features``, applied per chunk (default:
            :func:`float_rows`).
        chunk_rows: Rows read at a time.
    """

    def __init__(self, X: Any, y: np.ndarray, value_and_grad: ValueAndGrad | None,
                 value: ValueFn, transform: Transform | None = None,
                 chunk_rows: int = CHUNK_ROWS) -> None:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        self.X, self.y = X, np.asarray(y)
        self.value_and_grad, self.value = value_and_grad, value
        self.work = Workspace(float_rows if transform is None else transform, None,
                              min(int(chunk_rows), max(self.n_samples, 1)))
        in_place = None if value_and_grad is None else fast_path(value_and_grad)
        self.step = Step(self.work, value_and_grad, value, in_place)
        self._ready: bool | None = None

    @property
    def n_samples(self) -> int:
        """N, the rows of the set."""
        return int(self.y.shape[0])

    def _chunks(self) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, float]]:
        """``(start, stop, features, labels, n_c / N)`` of each chunk, in row order."""
        start = 0
        for F, y_c, weight in self.work.walk(self.X, self.y):
            stop = start + y_c.shape[0]
            yield start, stop, F, y_c, weight
            start = stop

    def _fast(self, params: Params, F: np.ndarray) -> bool:
        """Whether the unchecked kernels may run: labels in range (checked once), and
        buffers of the features' dtype (made once)."""
        if self.step.in_place is None:
            return False
        if self._ready is None:
            y = self.y
            self._ready = bool(y.size and y.dtype.kind in "iu" and y.min() >= 0
                               and y.max() < params["W"].shape[0])
        if self._ready and (self.work.S is None
                            or self.work.S.dtype != np.result_type(F.dtype, params["W"].dtype)):
            self.work.allocate(params, np.result_type(F.dtype, params["W"].dtype))
        return self._ready

    def _named(self, start: int, stop: int, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ValueError as e:
            raise ValueError(f"rows {start}:{stop} of X: {e}") from None

    def __call__(self, params: Params) -> tuple[float, Params]:
        """``(J, {"W": dJ/dW, "b": dJ/db})`` on the whole set; gradients in float64."""
        total = 0.0
        acc = {k: np.zeros(v.shape, np.float64) for k, v in params.items()}
        for start, stop, F, y_c, weight in self._chunks():
            loss = math.nan
            if self._fast(params, F):
                loss, grads = self.step.block(params, F, y_c)
            if not math.isfinite(loss):  # no kernel, or NaN/divergence: the checked path
                loss, grads = self._named(start, stop, self.value_and_grad, params, F, y_c)
            total += weight * float(loss)
            for k, g in grads.items():
                acc[k] += weight * g
        return total, acc

    def evaluate(self, params: Params) -> tuple[float, float]:
        """``(J, accuracy)`` of ``params`` on the whole set (one product per chunk)."""
        total, correct = 0.0, 0
        for start, stop, F, y_c, weight in self._chunks():
            m = stop - start
            loss = math.nan
            fast = self._fast(params, F)  # makes the buffers on the first chunk
            in_place, S = self.step.in_place, self.work.S
            if fast and in_place is not None and S is not None:
                pred = self.work.predictions[:m]
                loss = in_place.value(params, F, y_c, S[:m], None, pred)
            if not math.isfinite(loss):
                loss = self._named(start, stop, self.value, params, F, y_c)
                pred = predict(params, F)
            total += weight * float(loss)
            correct += int(np.count_nonzero(pred == y_c))
        return total, correct / self.n_samples


__all__ = ["CHUNK_ROWS", "FullPass", "Transform", "ValueFn"]
