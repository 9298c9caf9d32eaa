"""Ways to find the best W, all with one ``(init, update)`` shape.

Gradient optimizers (:mod:`~linclass.optim.gradient`) take ``update(params, grads, state)``;
derivative-free ones (:mod:`~linclass.optim.search`, :mod:`~linclass.optim.genetic`) take
``update(params, f, state)`` with ``f(params) -> float``. :func:`linclass.training.fit` drives
either kind. Learning rates are numbers or schedules (:mod:`~linclass.optim.schedules`).

The names users type (an estimator's ``optimizer=``, the CLI's ``--optimizer``) are the keys
of :data:`OPTIMIZERS` and :data:`SCHEDULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linclass.optim.genetic import GeneticState, genetic
from linclass.optim.gradient import (
    GradientOptimizer,
    MomentumState,
    SGDState,
    momentum,
    nesterov,
    sgd,
)
from linclass.optim.schedules import (
    SCHEDULES,
    LearningRate,
    Schedule,
    as_schedule,
    constant,
    cosine,
    exponential_decay,
    get_schedule,
    inverse_time,
    schedule_for_run,
    step_decay,
)
from linclass.optim.search import (
    LossValueFn,
    SearchOptimizer,
    SearchState,
    random_local_search,
    random_search,
)
from linclass.options import names

Optimizer = GradientOptimizer | SearchOptimizer

#: Optimizer factories by name. ``gd`` and ``sgd`` share one update rule; they differ only
#: in the batch the fit loop feeds them (the whole training set vs. mini-batches).
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "gd": sgd,
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": nesterov,
    "random_search": random_search,
    "random_local_search": random_local_search,
    "genetic": genetic,
}

#: Names whose every step sees the whole training set, whatever the batch size (from the
#: records of :mod:`linclass.options`, which say it once).
FULL_BATCH_OPTIMIZERS = frozenset(names("optimizer", "full_batch"))


def get_optimizer(name: str, **kwargs: Any) -> Optimizer:
    """Build an optimizer by name, e.g. ``get_optimizer("momentum", learning_rate=0.05)``.

    Args:
        name: One of :data:`OPTIMIZERS`.
        **kwargs: Passed to the factory (see each factory for its defaults).
    """
    try:
        factory = OPTIMIZERS[name]
    except KeyError:
        choices = sorted(OPTIMIZERS)
        raise ValueError(f"unknown optimizer {name!r}; choose one of {choices}") from None
    return factory(**kwargs)


__all__ = [
    "FULL_BATCH_OPTIMIZERS",
    "OPTIMIZERS",
    "SCHEDULES",
    "GeneticState",
    "GradientOptimizer",
    "LearningRate",
    "LossValueFn",
    "MomentumState",
    "Optimizer",
    "SGDState",
    "Schedule",
    "SearchOptimizer",
    "SearchState",
    "as_schedule",
    "constant",
    "cosine",
    "exponential_decay",
    "genetic",
    "get_optimizer",
    "get_schedule",
    "inverse_time",
    "momentum",
    "nesterov",
    "random_local_search",
    "random_search",
    "schedule_for_run",
    "sgd",
    "step_decay",
]
