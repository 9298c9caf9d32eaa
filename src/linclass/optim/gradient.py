"""Gradient-based optimizers as ``(init, update)`` pairs with explicit state.

Each factory returns a :class:`GradientOptimizer`::

    init, update = momentum(learning_rate=0.05, mu=0.9)
    state = init(params)
    for X_batch, y_batch in batches:
        loss, grads = value_and_grad(params, X_batch, y_batch)
        params, state = update(params, grads, state)

``update`` changes the arrays of ``params`` (and the state's velocity) in place, so that a
step allocates almost nothing, and returns them for readability. The state is a NamedTuple
holding everything the optimizer remembers; nothing hides in a per-parameter cache. The
learning rate is a number or a schedule ``schedule(step) -> float`` (see
:mod:`linclass.optim.schedules`) evaluated at ``state.count``, the number of updates done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from linclass.optim.schedules import LearningRate, as_schedule

Params = dict[str, np.ndarray]


class GradientOptimizer(NamedTuple):
    """An ``(init, update)`` pair for optimizers that follow a gradient.

    Attributes:
        init: ``init(params) -> state``.
        update: ``update(params, grads, state) -> (params, state)``; params change in place.
    """

    init: Callable[[Params], Any]
    update: Callable[[Params, Params, Any], tuple[Params, Any]]


class SGDState(NamedTuple):
    """State of plain SGD.

    Attributes:
        count: Updates done so far; the schedule's step for the next update.
        learning_rate: Rate of the latest update (before any update: of the first one),
            kept so that histories and error messages can name it.
    """

    count: int  # type: ignore[assignment]  # optax's name; it shadows tuple.count()
    learning_rate: float


class MomentumState(NamedTuple):
    """State of momentum and Nesterov momentum: SGD's fields plus a velocity per array.

    Attributes:
        count: Updates done so far.
        learning_rate: Rate of the latest update.
        velocity: ``{"W": (n_classes, n_features), "b": (n_classes,)}``, zero at init.
    """

    count: int  # type: ignore[assignment]  # optax's name; it shadows tuple.count()
    learning_rate: float
    velocity: Params


def _check_mu(mu: float) -> float:
    if not 0.0 <= mu < 1.0:
        raise ValueError(f"mu (momentum) must lie in [0, 1), got {mu}")
    return float(mu)


def _zeros_like(p: Any) -> Any:
    """Zeros of ``p``'s shape and dtype, in ``p``'s kind of array: a NumPy array, or a
    tensor on ``p``'s device (anything with ``new_zeros``, as torch tensors have)."""
    new_zeros = getattr(p, "new_zeros", None)
    return np.zeros_like(p) if new_zeros is None else new_zeros(p.shape)


def _momentum_init(lr: Callable[[int], float]) -> Callable[[Params], MomentumState]:
    """The ``init`` shared by momentum and Nesterov: zero velocity, count 0."""

    def init(params: Params) -> MomentumState:
        velocity = {name: _zeros_like(p) for name, p in params.items()}
        return MomentumState(count=0, learning_rate=float(lr(0)), velocity=velocity)

    return init


def sgd(learning_rate: LearningRate = 0.1) -> GradientOptimizer:
    """Plain (stochastic) gradient descent: ``x <- x - lr(t) * g``.

    Full-batch gradient descent is the same rule fed with the gradient of the whole
    training set; the fit loop decides which batch the gradient comes from.

    Args:
        learning_rate: Step size, a number or a schedule ``schedule(step) -> float``.
    """
    lr = as_schedule(learning_rate)

    def init(params: Params) -> SGDState:
        return SGDState(count=0, learning_rate=float(lr(0)))

    def update(params: Params, grads: Params, state: SGDState) -> tuple[Params, SGDState]:
        rate = float(lr(state.count))
        for name, p in params.items():
            p -= rate * grads[name]
        return params, SGDState(state.count + 1, rate)

    return GradientOptimizer(init, update)


def momentum(learning_rate: LearningRate = 0.05, mu: float = 0.9) -> GradientOptimizer:
    """SGD with momentum (CS231n notes): ``v <- mu v - lr(t) g``, then ``x <- x + v``.

    The velocity ``v`` integrates past gradients, so steps grow along directions where
    gradients agree and cancel where they oscillate.

    Args:
        learning_rate: Step size, a number or a schedule.
        mu: Momentum ("friction"), in [0, 1); 0 gives plain SGD.
    """
    lr = as_schedule(learning_rate)
    mu = _check_mu(mu)

    init = _momentum_init(lr)

    def update(params: Params, grads: Params, state: MomentumState) -> tuple[Params, MomentumState]:
        rate = float(lr(state.count))
        for name, p in params.items():
            v = state.velocity[name]
            v *= mu
            v -= rate * grads[name]
            p += v
        return params, MomentumState(state.count + 1, rate, state.velocity)

    return GradientOptimizer(init, update)


def nesterov(learning_rate: LearningRate = 0.05, mu: float = 0.9) -> GradientOptimizer:
    """Nesterov momentum in the CS231n notes' form, which needs the gradient only at the
    stored parameters::

        v_prev = v
        v <- mu v - lr(t) g
        x <- x - mu v_prev + (1 + mu) v

    The stored ``x`` is the "look-ahead" point ``x_true + mu v``, so the gradient fed to
    ``update`` is the gradient at the look-ahead, which is what makes it Nesterov.

    Args:
        learning_rate: Step size, a number or a schedule.
        mu: Momentum, in [0, 1).
    """
    lr = as_schedule(learning_rate)
    mu = _check_mu(mu)

    init = _momentum_init(lr)

    def update(params: Params, grads: Params, state: MomentumState) -> tuple[Params, MomentumState]:
        rate = float(lr(state.count))
        for name, p in params.items():
            v = state.velocity[name]
            p -= mu * v  # undo the old look-ahead ...
            v *= mu
            v -= rate * grads[name]
            p += (1.0 + mu) * v  # ... step, and look ahead along the new velocity
        return params, MomentumState(state.count + 1, rate, state.velocity)

    return GradientOptimizer(init, update)
