"""Reverse-mode automatic differentiation over NumPy arrays, the lecture's third way.

A :class:`Tensor` wraps an ndarray and remembers the tensors it was computed from
(``_prev``) and how to send its gradient back to them (``_backward(g)``, called with
``g = dL/d(out)``, the node's complete gradient). Each operation
writes its forward result and, right below it, the local chain rule
``d(out)/d(input) * dL/d(out)``, as micrograd's ``Value`` does for scalars. ``backward()``
orders the graph topologically and runs those closures from the output back to the
inputs, so every node's gradient is complete before it is passed on.

Broadcasting: when an input was stretched to the output's shape (``(3, 1) + (1, 4)``), each
of its entries was used several times, so its gradient is the *sum* over the stretched axes
(:func:`unbroadcast`).

Calling ``backward()`` more than once on the same graph is allowed and behaves like
PyTorch with ``retain_graph=True``: every call *adds* ``d(out)/d(leaf)`` to each leaf's
``grad`` (so two calls give twice the gradient, and two losses built from one weight tensor
give the sum of their gradients). Intermediate results hold scratch gradients that are reset
at the start of each call, so nothing is counted twice. Use :meth:`Tensor.zero_grad` on the
leaves between optimization steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from linclass.grad.autodiff_shape import ShapeOps


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a gradient over the axes along which an input of ``shape`` was broadcast.

    Args:
        grad: ndarray of the broadcast (output) shape.
        shape: Shape of the input before broadcasting.

    Returns:
        ndarray of shape ``shape``: ``grad`` summed over added leading axes and over axes
        where the input had length 1.
    """
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape)))) if grad.ndim > len(shape) else grad
    stretched = tuple(k for k, n in enumerate(shape) if n == 1 and grad.shape[k] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


class Tensor(ShapeOps):
    """An ndarray that records the operations applied to it, for reverse-mode gradients.

    Attributes:
        data: The value, an ndarray (integers and Python numbers become float64).
        grad: ``d(out)/d(self)``, an ndarray like ``data``; None until a backward pass
            reaches this tensor. On a leaf it is the sum over every ``backward()`` since
            :meth:`zero_grad`; on an intermediate result, that of the latest call only.
        requires_grad: False for constants (inputs X, masks): no gradient is kept for them.
    """

    # Make ``ndarray (op) Tensor`` defer to the Tensor's reflected operator (``X @ W.T``).
    __array_ufunc__ = None

    def __init__(
        self,
        data: Any,
        _prev: tuple[Tensor, ...] = (),
        *,
        requires_grad: bool = True,
    ) -> None:
        data = np.asarray(data)
        # dtype.kind, not np.issubdtype: this runs once per node, and issubdtype is slow.
        self.data = data if data.dtype.kind == "f" else data.astype(np.float64)
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad
        self._prev = tuple(p for p in _prev if p.requires_grad)
        self._backward: Callable[[np.ndarray], None] = lambda g: None

    def __repr__(self) -> str:
        return (
            f"Tensor(shape={self.shape}, dtype={self.data.dtype}, "
            f"requires_grad={self.requires_grad})"
        )

    def _lift(self, other: Any) -> Tensor:
        """Wrap a constant; Python numbers take this tensor's dtype so float32 stays float32."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float)):
            other = np.asarray(other, dtype=self.data.dtype)
        return Tensor(other, requires_grad=False)

    def _result(self, data: np.ndarray, *parents: Tensor) -> Tensor:
        return Tensor(data, parents, requires_grad=any(p.requires_grad for p in parents))

    def _accumulate(self, t: Tensor, grad: np.ndarray) -> None:
        """Add ``grad`` into ``t.grad`` (summed back to t's shape); skip constants."""
        if t.requires_grad:
            assert t.grad is not None, "backward() zeroes every node's grad first"
            t.grad += unbroadcast(grad, t.shape)

    # --- element-wise arithmetic with broadcasting --------------------------------------

    def __add__(self, other: Any) -> Tensor:
        other = self._lift(other)
        out = self._result(self.data + other.data, self, other)

        def _backward(g: np.ndarray) -> None:  # d(a + b)/da = d(a + b)/db = 1
            self._accumulate(self, g)
            self._accumulate(other, g)

        out._backward = _backward
        return out

    def __mul__(self, other: Any) -> Tensor:
        other = self._lift(other)
        out = self._result(self.data * other.data, self, other)

        def _backward(g: np.ndarray) -> None:  # d(ab)/da = b, d(ab)/db = a
            self._accumulate(self, other.data * g)
            self._accumulate(other, self.data * g)

        out._backward = _backward
        return out

    def __truediv__(self, other: Any) -> Tensor:
        other = self._lift(other)
        out = self._result(self.data / other.data, self, other)

        def _backward(g: np.ndarray) -> None:  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
            self._accumulate(self, g / other.data)
            self._accumulate(other, -g * self.data / other.data**2)

        out._backward = _backward
        return out

    def __neg__(self) -> Tensor:
        return self * -1

    def __sub__(self, other: Any) -> Tensor:
        return self + (-self._lift(other))

    def __radd__(self, other: Any) -> Tensor:
        return self + other

    def __rmul__(self, other: Any) -> Tensor:
        return self * other

    def __rsub__(self, other: Any) -> Tensor:
        return self._lift(other) - self

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._lift(other) / self

    def __pow__(self, p: float) -> Tensor:
        if not isinstance(p, (int, float)):
            raise TypeError(f"only a constant exponent is supported, got {type(p).__name__}")
        out = self._result(self.data**p, self)

        def _backward(g: np.ndarray) -> None:  # d(x^p)/dx = p x^(p-1)
            self._accumulate(self, p * self.data ** (p - 1) * g)

        out._backward = _backward
        return out

    # --- matrix product ---------------------------------------------------------------

    def __matmul__(self, other: Any) -> Tensor:
        other = self._lift(other)
        if self.ndim < 2 or other.ndim < 2:
            raise ValueError(
                f"matmul needs operands of at least 2 dims, got {self.shape} @ {other.shape}"
            )
        out = self._result(self.data @ other.data, self, other)

        def _backward(g: np.ndarray) -> None:  # C = AB: dL/dA = G B^T, dL/dB = A^T G
            # Guarded: for X @ W.T the constant X is the big operand, its product is wasted.
            if self.requires_grad:
                self._accumulate(self, g @ np.swapaxes(other.data, -1, -2))
            if other.requires_grad:
                self._accumulate(other, np.swapaxes(self.data, -1, -2) @ g)

        out._backward = _backward
        return out

    def __rmatmul__(self, other: Any) -> Tensor:
        return self._lift(other) @ self

    # --- element-wise functions -------------------------------------------------------

    def exp(self) -> Tensor:
        out = self._result(np.exp(self.data), self)

        def _backward(g: np.ndarray) -> None:  # d(e^x)/dx = e^x, already computed as out.data
            self._accumulate(self, out.data * g)

        out._backward = _backward
        return out

    def log(self) -> Tensor:
        out = self._result(np.log(self.data), self)

        def _backward(g: np.ndarray) -> None:  # d(log x)/dx = 1/x
            self._accumulate(self, g / self.data)

        out._backward = _backward
        return out

    def abs(self) -> Tensor:
        out = self._result(np.abs(self.data), self)

        def _backward(g: np.ndarray) -> None:  # d|x|/dx = sign(x); 0 at 0, as regularizers.l1 uses
            self._accumulate(self, np.sign(self.data) * g)

        out._backward = _backward
        return out

    __abs__ = abs

    def square(self) -> Tensor:
        out = self._result(np.square(self.data), self)

        def _backward(g: np.ndarray) -> None:  # d(x^2)/dx = 2x
            self._accumulate(self, 2 * self.data * g)

        out._backward = _backward
        return out

    def maximum(self, c: float | np.ndarray) -> Tensor:
        """``max(x, c)`` against a constant ``c``, e.g. the hinge ``max(0, margin)``.

        The subgradient at a tie ``x == c`` is 0 (strict ``x > c``), the same convention as
        :func:`linclass.losses.svm_loss`, so autodiff and analytic agree even at a kink.
        """
        if isinstance(c, Tensor):
            raise TypeError("maximum takes a constant, not a Tensor")
        out = self._result(np.maximum(self.data, c), self)

        def _backward(g: np.ndarray) -> None:  # d max(x, c)/dx = 1[x > c]
            self._accumulate(self, (self.data > c) * g)

        out._backward = _backward
        return out

    # --- the backward pass -----------------------------------------------------------

    def backward(self, grad: np.ndarray | None = None) -> None:
        """Accumulate ``d(self)/d(leaf)`` into ``leaf.grad`` for every leaf this depends on.

        Args:
            grad: Seed ``dL/d(self)``, shaped like ``data``. Omit it for a scalar output,
                where the seed is ``dL/dL = 1``.

        Raises:
            ValueError: No seed for a non-scalar output, or a seed of the wrong shape.
            RuntimeError: This tensor does not depend on anything that requires a gradient.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that depends on no requires_grad tensor")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() needs a scalar output or a seed grad; got shape {self.shape}"
                )
            grad = np.ones_like(self.data)
        grad = np.asarray(grad, dtype=self.data.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"seed grad has shape {grad.shape}, expected {self.shape}")

        def topo_order(root: Tensor) -> list[Tensor]:
            """Inputs before the results computed from them (iterative DFS, no recursion
            limit on long chains)."""
            order, seen, stack = [], set(), [(root, False)]
            while stack:
                node, done = stack.pop()
                if done:
                    order.append(node)
                elif id(node) not in seen:
                    seen.add(id(node))
                    stack.append((node, True))
                    stack.extend((p, False) for p in node._prev)
            return order

        order = topo_order(self)
        for node in order:
            if node._prev or node.grad is None:  # scratch for intermediates, kept for leaves
                node.grad = np.zeros_like(node.data)
        self.grad = self.grad + grad
        for node in reversed(order):
            assert node.grad is not None  # zeroed above
            node._backward(node.grad)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (call on leaves between optimization steps)."""
        self.grad = None
