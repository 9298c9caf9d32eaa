"""Ways to compute the gradient of the objective, all behind one interface.

``value_and_grad(params, X, y) -> (loss, grads)``: analytic (the hand-derived chain rule in
:mod:`linclass.objective`), numerical (finite differences of the objective's value) and
automatic differentiation. Any two can be checked against each other and any optimizer can
use any of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from linclass.grad.check import gradient_check, max_relative_error, relative_error
from linclass.grad.numerical import numerical_gradient, sample_coords
from linclass.losses import DEFAULT_LOSS
from linclass.objective import Objective, objective_value

Params = dict[str, np.ndarray]
ValueAndGrad = Callable[[Params, np.ndarray, np.ndarray], tuple[float, Params]]

GRADIENT_METHODS = ("analytic", "numerical", "autodiff")


def _numerical_value_and_grad(
    params: Params, X: np.ndarray, y: np.ndarray, *, h: float, fd_method: str, **objective: Any
) -> tuple[float, Params]:
    f = functools.partial(_bound_value, X=X, y=y, objective=objective)
    return f(params), numerical_gradient(f, params, h=h, method=fd_method)


def _bound_value(params: Params, *, X: np.ndarray, y: np.ndarray, objective: dict) -> float:
    return objective_value(params, X, y, **objective)


def make_value_and_grad(
    method: str = "analytic",
    *,
    loss: str = DEFAULT_LOSS,
    penalty: str | None = "l2",
    alpha: float = 0.0,
    l1_ratio: float = 0.5,
    h: float = 1e-5,
    fd_method: str = "centered",
    **loss_kwargs: Any,
) -> ValueAndGrad:
    """A ``value_and_grad(params, X, y)`` for the chosen gradient method.

    Args:
        method: ``"analytic"``, ``"numerical"`` or ``"autodiff"``.
        loss: Loss name (see :data:`linclass.losses.RECORDS`).
        penalty: Penalty name or None.
        alpha: Regularization strength.
        l1_ratio: Elastic-net mix.
        h: Finite-difference step (numerical only).
        fd_method: ``"centered"`` or ``"forward"`` (numerical only).
        **loss_kwargs: Passed to the loss (e.g. ``margin``).

    Returns:
        A function ``(params, X, y) -> (J, {"W": dJ/dW, "b": dJ/db})``.
    """
    objective = dict(loss=loss, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, **loss_kwargs)
    if method == "analytic":
        return Objective(**objective)
    if method == "numerical":
        return functools.partial(_numerical_value_and_grad, h=h, fd_method=fd_method, **objective)
    if method == "autodiff":
        from linclass.grad.autodiff_objective import autodiff_value_and_grad

        return functools.partial(autodiff_value_and_grad, **objective)
    raise ValueError(f"unknown gradient method {method!r}; choose one of {GRADIENT_METHODS}")


__all__ = [
    "GRADIENT_METHODS",
    "ValueAndGrad",
    "gradient_check",
    "make_value_and_grad",
    "max_relative_error",
    "numerical_gradient",
    "relative_error",
    "sample_coords",
]
