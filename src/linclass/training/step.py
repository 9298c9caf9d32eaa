"""Helpers every backend's step shares: the weighted sum of chunk results that makes a
full pass, and a value function from a ``value_and_grad``.

The step itself is a declared protocol (:class:`linclass.training.parts.Step`); the
backends implement it (:mod:`linclass.backends.numpy`, :mod:`linclass.backends.torch`,
:mod:`linclass.backends.dask`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from linclass.model import Params
from linclass.training.parts import Step, ValueAndGrad, ValueFn


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


def as_value(value_and_grad: ValueAndGrad) -> ValueFn:
    """``value`` from a ``value_and_grad`` (wasting its gradient), when no value is given."""

    def value(params: Params, X: Any, y: Any) -> float:
        return value_and_grad(params, X, y)[0]

    return value


__all__ = ["Step", "ValueAndGrad", "ValueFn", "as_value", "weighted_sum"]
