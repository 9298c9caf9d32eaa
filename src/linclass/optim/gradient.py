"""Gradient-based optimizers as ``(init, update)`` pairs with explicit state, composed from
shared pieces.

Each factory returns a :class:`GradientOptimizer`::

    init, update = momentum(learning_rate=0.05, momentum=0.9)
    state = init(params)
    for X_batch, y_batch in batches:
        loss, grads = value_and_grad(params, X_batch, y_batch)
        params, state = update(params, grads, state)

``update`` changes the arrays of ``params`` (and the state's buffers) in place, so that a
step allocates almost nothing, and returns them for readability. The state is a NamedTuple
holding everything the optimizer remembers; nothing hides in a per-parameter cache.

As in optax, an optimizer is a composition (:func:`chain`) of two kinds of piece:

* the *rate* (:func:`scale_by_schedule`): the learning rate of update ``count``, a number
  or a schedule ``schedule(step) -> float`` (see :mod:`linclass.optim.schedules`); every
  state records ``count`` and the ``learning_rate`` of the latest update;
* the *rule* (:class:`UpdateRule`), the step on the arrays given their gradients and that
  rate, with the buffers it keeps per array: :func:`descend` (``x -= lr g``, none) and
  :func:`trace` (a velocity, with a Nesterov flag).

So ``sgd = chain(rate, descend())``, ``momentum = chain(rate, trace(mu))`` and
``nesterov = chain(rate, trace(mu, nesterov=True))``; a new rule (RMSProp, say: a buffer
``cache`` and a decay) is one :class:`UpdateRule` and one factory here.

The rules use in-place operators only (``*=``, ``-=``, ``+=``), which torch tensors have
too, so the torch backend runs these same optimizers on its tensors. The rate is a Python
float for a scalar schedule; a schedule may also return an array broadcastable against
the params (one rate per stacked head), which the rules use as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from linclass.optim.schedules import LearningRate, Schedule, as_schedule

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


# --- the pieces -----------------------------------------------------------------------------


class Rate(NamedTuple):
    """The rate piece: the learning rate of each update.

    Attributes:
        schedule: ``schedule(count)``, the rate of update ``count``.
        scalar: True when the schedule gives one number (the update then takes it as a
            Python float, which NumPy arrays and torch tensors both multiply by); False
            for an array of rates broadcastable against the params.
    """

    schedule: Schedule
    scalar: bool


def scale_by_schedule(learning_rate: LearningRate) -> Rate:
    """The rate piece of a number (constant) or a schedule ``schedule(step) -> rate``."""
    schedule = as_schedule(learning_rate)
    return Rate(schedule, np.ndim(schedule(0)) == 0)


#: ``step(params, grads, rate, *buffers)``: the update of every array, in place.
StepFn = Callable[..., None]


class UpdateRule(NamedTuple):
    """The rule piece: the step on the params given their gradients and the rate, and the
    buffers it keeps per array.

    Attributes:
        buffers: Names of the state fields it keeps, each a dict of arrays shaped like the
            params (zero at init), passed to ``step`` in this order.
        step: ``step(params, grads, rate, *buffers)``, changing the params' arrays and the
            buffers' in place with in-place operators only. It loops over the arrays
            itself: one Python call per update, not one per array, keeps a step as cheap
            as the hand-written loops it replaced.
    """

    buffers: tuple[str, ...]
    step: StepFn


def descend() -> UpdateRule:
    """``x <- x - rate g``: plain gradient descent, no buffer."""

    def step(params: Params, grads: Params, rate: Any) -> None:
        for k, p in params.items():
            p -= rate * grads[k]

    return UpdateRule((), step)


def _check_momentum(mu: float) -> float:
    if not 0.0 <= mu < 1.0:
        raise ValueError(f"momentum (mu) must lie in [0, 1), got {mu}")
    return float(mu)


def trace(decay: float, *, nesterov: bool = False) -> UpdateRule:
    """A velocity ``v`` per array in the CS231n notes' form, ``v <- mu v - rate g``.

    Without ``nesterov``, ``x <- x + v``. With it, the notes' form that needs the gradient
    only at the stored parameters::

        v_prev = v
        v <- mu v - rate g
        x <- x - mu v_prev + (1 + mu) v

    The stored ``x`` is then the "look-ahead" point ``x_true + mu v``, so the gradient fed
    to the update is the gradient at the look-ahead, which is what makes it Nesterov.

    Args:
        decay: The momentum mu ("friction"), in [0, 1); 0 gives plain SGD.
        nesterov: Take the Nesterov step.
    """
    mu = _check_momentum(decay)

    if nesterov:
        ahead = 1.0 + mu

        def step(params: Params, grads: Params, rate: Any, velocity: Params) -> None:
            for k, p in params.items():
                v = velocity[k]
                p -= mu * v  # undo the old look-ahead ...
                v *= mu
                v -= rate * grads[k]
                p += ahead * v  # ... step, and look ahead along the new velocity
    else:

        def step(params: Params, grads: Params, rate: Any, velocity: Params) -> None:
            for k, p in params.items():
                v = velocity[k]
                v *= mu
                v -= rate * grads[k]
                p += v

    return UpdateRule(("velocity",), step)


def _zeros_like(p: Any) -> Any:
    """Zeros of ``p``'s shape and dtype, in ``p``'s kind of array: a NumPy array, or a
    tensor on ``p``'s device (anything with ``new_zeros``, as torch tensors have)."""
    new_zeros = getattr(p, "new_zeros", None)
    return np.zeros_like(p) if new_zeros is None else new_zeros(p.shape)


def chain(rate: Rate, rule: UpdateRule, state: type[Any]) -> GradientOptimizer:
    """The optimizer that takes ``rule``'s step at ``rate``'s learning rate.

    Args:
        rate: :func:`scale_by_schedule`'s piece.
        rule: The step (:func:`descend`, :func:`trace`, ...).
        state: The state's NamedTuple, with fields ``count``, ``learning_rate`` and the
            rule's buffers, in that order (what the rest of the code reads by name).
    """
    fields = ("count", "learning_rate", *rule.buffers)
    if tuple(state._fields) != fields:
        raise TypeError(f"{state.__name__} must have the fields {fields}, has {state._fields}")
    schedule, scalar, step = rate.schedule, rate.scalar, rule.step

    def rate_of(count: int) -> Any:
        return float(schedule(count)) if scalar else schedule(count)

    def init(params: Params) -> Any:
        buffers = [{k: _zeros_like(p) for k, p in params.items()} for _ in rule.buffers]
        return state(0, rate_of(0), *buffers)

    # The common cases without generic unpacking: a step pays one call of the rule over
    # the hand-written loops of before, no more.
    if not rule.buffers:
        def update(params: Params, grads: Params, st: Any) -> tuple[Params, Any]:
            r = float(schedule(st.count)) if scalar else schedule(st.count)
            step(params, grads, r)
            return params, state(st.count + 1, r)
    elif len(rule.buffers) == 1:
        def update(params: Params, grads: Params, st: Any) -> tuple[Params, Any]:
            r = float(schedule(st.count)) if scalar else schedule(st.count)
            buffer = st[2]
            step(params, grads, r, buffer)
            return params, state(st.count + 1, r, buffer)
    else:
        def update(params: Params, grads: Params, st: Any) -> tuple[Params, Any]:
            r = float(schedule(st.count)) if scalar else schedule(st.count)
            buffers = st[2:]
            step(params, grads, r, *buffers)
            return params, state(st.count + 1, r, *buffers)

    return GradientOptimizer(init, update)


# --- the optimizers -------------------------------------------------------------------------


def sgd(learning_rate: LearningRate = 0.1) -> GradientOptimizer:
    """Plain (stochastic) gradient descent: ``x <- x - lr(t) * g``.

    Full-batch gradient descent is the same rule fed with the gradient of the whole
    training set; the fit loop decides which batch the gradient comes from.

    Args:
        learning_rate: Step size, a number or a schedule ``schedule(step) -> float``.
    """
    return chain(scale_by_schedule(learning_rate), descend(), SGDState)


def momentum(learning_rate: LearningRate = 0.05, momentum: float = 0.9) -> GradientOptimizer:
    """SGD with momentum (CS231n notes): ``v <- mu v - lr(t) g``, then ``x <- x + v``.

    The velocity ``v`` integrates past gradients, so steps grow along directions where
    gradients agree and cancel where they oscillate.

    Args:
        learning_rate: Step size, a number or a schedule.
        momentum: mu ("friction"), in [0, 1); 0 gives plain SGD.
    """
    return chain(scale_by_schedule(learning_rate), trace(momentum), MomentumState)


def nesterov(learning_rate: LearningRate = 0.05, momentum: float = 0.9) -> GradientOptimizer:
    """Nesterov momentum in the CS231n notes' form (:func:`trace` with ``nesterov=True``),
    which needs the gradient only at the stored (look-ahead) parameters.

    Args:
        learning_rate: Step size, a number or a schedule.
        momentum: mu, in [0, 1).
    """
    return chain(scale_by_schedule(learning_rate), trace(momentum, nesterov=True),
                 MomentumState)
