"""The optimizer step the playground uses, kept in one place so it can be swapped.

This is a stand-in until :mod:`linclass.optim` lands: then :func:`make_optimizer` becomes a
call to ``linclass.optim.get_optimizer(name, ...)`` and nothing else in :mod:`linclass.web`
changes. It already has that shape: a factory returning ``(init, update)`` with the state
kept explicitly by the caller, never hidden inside the optimizer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from linclass.model import Params

OPTIMIZERS = ("sgd", "momentum")

Init = Callable[[Params], Any]
Update = Callable[[Params, Params, Any], tuple[Params, Any]]

# Beyond this size a weight is treated as diverged, long before it overflows: the
# hyperplanes and templates are meaningless by then, and the page should say so.
DIVERGENCE_LIMIT = 1e6


def make_optimizer(name: str, learning_rate: float, momentum: float = 0.9) -> tuple[Init, Update]:
    """``(init, update)`` for plain gradient descent or heavy-ball momentum.

    ``sgd``: ``p <- p - lr * g``. ``momentum``: ``v <- mu v - lr g``, ``p <- p + v``.

    Args:
        name: ``"sgd"`` or ``"momentum"``.
        learning_rate: Step size ``lr``.
        momentum: ``mu``, only for ``"momentum"``.

    Returns:
        ``init(params) -> state`` and ``update(params, grads, state) -> (params, state)``;
        ``update`` returns new arrays and leaves its inputs alone.
    """
    if name == "sgd":
        def init(params: Params) -> None:
            return None

        def update(params: Params, grads: Params, state: None) -> tuple[Params, None]:
            return {k: params[k] - learning_rate * grads[k] for k in params}, None

        return init, update
    if name == "momentum":
        def init(params: Params) -> Params:
            return {k: np.zeros_like(v) for k, v in params.items()}

        def update(params: Params, grads: Params, velocity: Params) -> tuple[Params, Params]:
            velocity = {k: momentum * velocity[k] - learning_rate * grads[k] for k in params}
            return {k: params[k] + velocity[k] for k in params}, velocity

        return init, update
    raise ValueError(f"unknown optimizer {name!r}; choose one of {list(OPTIMIZERS)}")


def is_diverged(loss: float, params: Params) -> bool:
    """True when the loss or any weight is non-finite or beyond :data:`DIVERGENCE_LIMIT`."""
    if not np.isfinite(loss) or abs(loss) > DIVERGENCE_LIMIT:
        return True
    return any(not np.all(np.abs(v) <= DIVERGENCE_LIMIT) for v in params.values())
