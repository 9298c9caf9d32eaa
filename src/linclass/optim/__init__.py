"""Ways to find the best W, all with one ``(init, update)`` shape.

Gradient optimizers (:mod:`~linclass.optim.gradient`) take ``update(params, grads, state)``;
derivative-free ones (:mod:`~linclass.optim.search`, :mod:`~linclass.optim.genetic`) take
``update(params, f, state)`` with ``f(params) -> float``. :func:`linclass.training.fit` drives
either kind. Learning rates are numbers or schedules (:mod:`~linclass.optim.schedules`).

The names users type (an estimator's ``optimizer=``, the CLI's ``--optimizer``) are the
records of :data:`linclass.options.OPTIMIZERS`; each record says where its factory is.
:func:`build` is the one way from a name and the record's option values to an optimizer:
the estimators' fits (through :func:`linclass.training.fit`), the fit loop and the
playground all call it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from linclass.optim.genetic import GeneticState, genetic
from linclass.optim.gradient import (
    GradientOptimizer,
    MomentumState,
    Rate,
    SGDState,
    UpdateRule,
    chain,
    descend,
    momentum,
    nesterov,
    scale_by_schedule,
    sgd,
    trace,
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
from linclass.options import OPTIMIZERS as RECORDS
from linclass.options import check_optimizer_values, names, optimizer_record, resolved

if TYPE_CHECKING:  # SciPy's optimize loads with the solver's first use, not here
    from linclass.optim.lbfgs import Lbfgs

Optimizer = GradientOptimizer | SearchOptimizer


def factory(name: str) -> Callable[..., Any]:
    """The function optimizer ``name``'s record names (``"module:function"``)."""
    module, _, function = optimizer_record(name).factory.partition(":")
    return getattr(importlib.import_module(module), function)


#: The ``(init, update)`` factories by record name (the solvers, which run their own
#: loop, are not among them). ``gd`` and ``sgd`` share one update rule; they differ only
#: in the batch the fit loop feeds them (the whole training set vs. mini-batches).
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    name: factory(name) for name, record in RECORDS.items() if not record.has("solver")}

#: Names whose every step sees the whole training set, whatever the batch size (from the
#: records of :mod:`linclass.options`, which say it once).
FULL_BATCH_OPTIMIZERS = frozenset(names("optimizer", "full_batch"))

#: Record parameters that are not the factory's: the schedule is folded into the
#: learning rate, and the fit loop cuts the batches.
_NOT_FACTORY_ARGS = frozenset({"schedule", "batch_size"})


def build(
    name: str,
    values: Mapping[str, Any] | None = None,
    rng: int | np.random.Generator | None = None,
    *,
    total_steps: int | None = None,
    spell: Mapping[str, str] | None = None,
) -> Optimizer | Lbfgs:
    """The optimizer ``name`` with its record's options: the one builder of every face.

    Args:
        name: The record's name (``"momentum"``).
        values: Its options by record name (``{"learning_rate": 0.1, "momentum": 0.9,
            "schedule": "cosine"}``); missing or None: the record's default, and for
            ``learning_rate`` the record's default rate. ``learning_rate`` may also be a
            schedule callable (then with no ``schedule`` name).
        rng: Seed or generator of a search (its candidates); unused by gradient methods.
        total_steps: Updates in the whole run, over which a named ``schedule`` decays
            (needed unless the schedule is ``"constant"``).
        spell: How the face spells each option, for the messages (``{"momentum":
            "--momentum"}``).

    Returns:
        The ``(init, update)`` pair; for a solver (``lbfgs``), its object
        (:class:`~linclass.optim.lbfgs.Lbfgs`), which runs its own iterations.

    Raises:
        ValueError: An unknown name, an option the record does not take, a value out of
            its range, a broken rule of the record (``n_elite must be < population_size``),
            or a schedule name with a schedule callable.
    """
    record = optimizer_record(name)
    values = dict(values or {})
    check_optimizer_values(name, values, spell)
    if record.has("solver"):  # its own iterations: an object, not an (init, update) pair
        return factory(name)(**{k: resolved(k, values.get(k)) for k in record.params})
    kwargs = {k: resolved(k, values.get(k)) for k in record.params
              if k not in _NOT_FACTORY_ARGS and k != "learning_rate"}
    if "learning_rate" in record.params:
        kwargs["learning_rate"] = _learning_rate(record.learning_rate, values, total_steps)
    if record.has("search"):
        kwargs["random_state"] = rng
    return OPTIMIZERS[name](**kwargs)


def _learning_rate(default: float | None, values: Mapping[str, Any],
                   total_steps: int | None) -> LearningRate:
    """The rate the factory gets: the number or schedule given (the record's default when
    None), with a named schedule (the record's default when None) fitted to
    ``total_steps``. A schedule callable is taken as it is."""
    rate = values.get("learning_rate")
    rate = default if rate is None else rate
    assert rate is not None, "a record that takes a learning rate has a default one"
    if callable(rate):
        if values.get("schedule") not in (None, "constant"):
            raise ValueError("give either a schedule name or a schedule callable, not both")
        return rate
    schedule = resolved("schedule", values.get("schedule"))
    if schedule == "constant":
        return rate
    if total_steps is None:
        raise ValueError(f"schedule {schedule!r} decays over the run: give total_steps "
                         "(or schedule='constant')")
    return schedule_for_run(schedule, float(rate), total_steps)


def get_optimizer(name: str, **kwargs: Any) -> Optimizer:
    """The factory of ``name`` called as it is, e.g. ``get_optimizer("momentum",
    learning_rate=0.05)`` (the factory's own defaults; :func:`build` applies the
    record's).

    Args:
        name: One of :data:`OPTIMIZERS`.
        **kwargs: Passed to the factory, by the record's names.
    """
    try:
        make = OPTIMIZERS[name]
    except KeyError:
        choices = sorted(OPTIMIZERS)
        raise ValueError(f"unknown optimizer {name!r}; choose one of {choices}") from None
    return make(**kwargs)


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
    "Rate",
    "SGDState",
    "Schedule",
    "SearchOptimizer",
    "SearchState",
    "UpdateRule",
    "as_schedule",
    "build",
    "chain",
    "constant",
    "cosine",
    "descend",
    "exponential_decay",
    "factory",
    "genetic",
    "get_optimizer",
    "get_schedule",
    "inverse_time",
    "momentum",
    "nesterov",
    "random_local_search",
    "random_search",
    "scale_by_schedule",
    "schedule_for_run",
    "sgd",
    "step_decay",
    "trace",
]
