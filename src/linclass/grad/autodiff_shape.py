"""Autodiff operations that change shape: reductions, indexing (gather), reshape, transpose.

Kept apart from :mod:`linclass.grad.autodiff` only to keep files small; :class:`ShapeOps` is
a mixin of :class:`~linclass.grad.autodiff.Tensor` and relies on its ``_result`` (make an
output node) and ``_accumulate`` (add a gradient into an input). The pattern is the same:
forward result, its backward closure right below it.

Each backward undoes the forward's shape change: a reduction broadcasts the output's
gradient back over the reduced axes, a gather scatters it back to the gathered entries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

import numpy as np

if TYPE_CHECKING:
    from linclass.grad.autodiff import Tensor

Axis = int | tuple[int, ...] | None
Index = Any  # whatever ndarray.__getitem__ takes: ints, slices, integer arrays


def _expand(grad: np.ndarray, axis: Axis, keepdims: bool, shape: tuple[int, ...]) -> np.ndarray:
    """Undo a reduction's shape: put reduced axes back (length 1) and broadcast to ``shape``."""
    if not keepdims and axis is not None:
        grad = np.expand_dims(grad, axis)
    return np.broadcast_to(grad, shape)


class ShapeOps:
    """Reductions, indexing and shape operations of :class:`~linclass.grad.autodiff.Tensor`."""

    # What the operations below rely on; Tensor, the one class this is mixed into, sets them.
    data: np.ndarray
    grad: np.ndarray | None
    requires_grad: bool
    _backward: Callable[[np.ndarray], None]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def _result(self, data: np.ndarray, *parents: Self) -> Tensor:
        """A new output node computed from ``parents`` (Tensor implements it)."""
        raise NotImplementedError

    def _accumulate(self, t: Self, grad: np.ndarray) -> None:
        """Add ``grad`` into the input ``t``'s gradient (Tensor implements it)."""
        raise NotImplementedError

    # --- reductions -------------------------------------------------------------------

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """``sum_k x_k`` over ``axis`` (all axes if None)."""
        out = self._result(self.data.sum(axis=axis, keepdims=keepdims), self)

        def _backward(g: np.ndarray) -> None:  # every summed entry gets the output's gradient once
            self._accumulate(self, _expand(g, axis, keepdims, self.shape))

        out._backward = _backward
        return out

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """``1/n sum_k x_k`` over ``axis``: a sum and a constant scale, so no rule of its own."""
        total = self.sum(axis=axis, keepdims=keepdims)
        return total * (total.data.size / self.data.size)  # sum / (entries per mean)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Largest entry along ``axis``. The gradient goes to the maximal entry; ties share it
        equally (any split is a valid subgradient, and the stable softmax shift cancels it)."""
        out = self._result(self.data.max(axis=axis, keepdims=keepdims), self)

        def _backward(g: np.ndarray) -> None:
            winners = self.data == self.data.max(axis=axis, keepdims=True)
            share = winners / winners.sum(axis=axis, keepdims=True)
            self._accumulate(self, share * _expand(g, axis, keepdims, self.shape))

        out._backward = _backward
        return out

    # --- indexing and shape -----------------------------------------------------------

    def __getitem__(self, index: Index) -> Tensor:
        """NumPy indexing, including the gather ``S[rows, y]`` of correct-class scores."""
        parts = index if isinstance(index, tuple) else (index,)
        if any(isinstance(i, ShapeOps) for i in parts):  # ShapeOps: Tensor without a cycle
            raise TypeError("index with ndarrays or ints, not Tensors")
        out = self._result(self.data[index], self)

        def _backward(g: np.ndarray) -> None:  # scatter back; add.at sums repeats, += would not
            full = np.zeros_like(self.data)
            np.add.at(full, index, g)
            self._accumulate(self, full)

        out._backward = _backward
        return out

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        """Same entries, new shape (``reshape(4, 6)`` or ``reshape((4, 6))``)."""
        dims = [n for part in shape for n in (part if isinstance(part, tuple) else (part,))]
        out = self._result(self.data.reshape(dims), self)

        def _backward(g: np.ndarray) -> None:
            self._accumulate(self, g.reshape(self.shape))

        out._backward = _backward
        return out

    def transpose(self, *axes: int) -> Tensor:
        """Permute axes (reverse them if none are given), as ``ndarray.transpose``."""
        order = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        order = order or tuple(reversed(range(self.ndim)))
        out = self._result(self.data.transpose(order), self)

        def _backward(g: np.ndarray) -> None:  # the inverse permutation undoes the transpose
            self._accumulate(self, g.transpose(np.argsort(order)))

        out._backward = _backward
        return out

    @property
    def T(self) -> Tensor:
        return self.transpose()
