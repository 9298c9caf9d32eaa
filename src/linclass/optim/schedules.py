"""Learning-rate schedules: closures ``schedule(step) -> float``.

``step`` counts optimizer updates from 0 (not epochs): the optimizer asks its schedule for
the rate of update number ``step``. A schedule also accepts an array of steps and then
returns an array, which is all it takes to plot one::

    steps = np.arange(1000)
    plt.plot(steps, cosine(0.1, total_steps=1000)(steps))

The decays are the ones the CS231n notes list: step decay, exponential decay
``a0 exp(-k t)`` and 1/t decay ``a0 / (1 + k t)``; cosine annealing is the modern default.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Schedule = Callable[[int], float]
LearningRate = float | Schedule


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def _check_non_negative(name: str, value: float) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def constant(value: float = 0.1) -> Schedule:
    """``lr(t) = value`` for every step."""
    value = _check_positive("learning rate", value)

    def schedule(step):
        return value + 0.0 * np.asarray(step, dtype=float)  # same shape as step

    return schedule


def step_decay(init_value: float = 0.1, *, step_size: int = 1000, factor: float = 0.5) -> Schedule:
    """Piecewise constant: ``lr(t) = init_value * factor ** floor(t / step_size)``.

    Args:
        init_value: Rate of the first ``step_size`` updates.
        step_size: Updates between two drops (e.g. a few epochs' worth of steps).
        factor: Multiplier at each drop, in (0, 1].
    """
    init_value = _check_positive("init_value", init_value)
    if int(step_size) < 1:
        raise ValueError(f"step_size must be >= 1, got {step_size}")
    if not 0 < factor <= 1:
        raise ValueError(f"factor must lie in (0, 1], got {factor}")

    def schedule(step):
        return init_value * factor ** (np.asarray(step) // int(step_size))

    return schedule


def exponential_decay(init_value: float = 0.1, *, decay_rate: float = 1e-3) -> Schedule:
    """``lr(t) = init_value * exp(-decay_rate * t)``.

    Args:
        init_value: Rate at step 0.
        decay_rate: k in ``exp(-k t)``, >= 0; the rate halves every ``ln 2 / k`` steps.
    """
    init_value = _check_positive("init_value", init_value)
    decay_rate = _check_non_negative("decay_rate", decay_rate)

    def schedule(step):
        return init_value * np.exp(-decay_rate * np.asarray(step))

    return schedule


def inverse_time(init_value: float = 0.1, *, decay_rate: float = 1e-3) -> Schedule:
    """1/t decay: ``lr(t) = init_value / (1 + decay_rate * t)``.

    Args:
        init_value: Rate at step 0.
        decay_rate: k in ``1 / (1 + k t)``, >= 0; the rate halves at ``t = 1 / k``.
    """
    init_value = _check_positive("init_value", init_value)
    decay_rate = _check_non_negative("decay_rate", decay_rate)

    def schedule(step):
        return init_value / (1.0 + decay_rate * np.asarray(step))

    return schedule


def cosine(
    init_value: float = 0.1, *, total_steps: int = 1000, final_value: float = 0.0
) -> Schedule:
    """Cosine annealing from ``init_value`` to ``final_value`` over ``total_steps``, then flat:
    ``lr(t) = final + (init - final) * (1 + cos(pi * min(t, T) / T)) / 2``.

    Args:
        init_value: Rate at step 0.
        total_steps: T, the step at which the rate reaches ``final_value``.
        final_value: Rate from step T on, >= 0.
    """
    init_value = _check_positive("init_value", init_value)
    final_value = _check_non_negative("final_value", final_value)
    if int(total_steps) < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    T = int(total_steps)

    def schedule(step):
        t = np.minimum(np.asarray(step), T)
        return final_value + (init_value - final_value) * 0.5 * (1.0 + np.cos(np.pi * t / T))

    return schedule


def schedule_for_run(name: str, init_value: float, total_steps: int) -> Schedule:
    """A schedule by name whose decay is set by the length of the run, so that a user who
    types ``--schedule cosine`` need not count steps per epoch.

    Over ``total_steps`` updates: ``constant`` stays at ``init_value``; ``step`` drops by
    10x at each third of the run; ``exponential`` decays to ``init_value / 100`` at the
    end; ``inverse_time`` reaches ``init_value / 10`` at the end (1/t falls fastest early);
    ``cosine`` anneals to 0.

    Args:
        name: One of :data:`SCHEDULES`.
        init_value: Rate at step 0.
        total_steps: Updates in the whole run, >= 1.
    """
    T = max(int(total_steps), 1)
    by_name = {
        "constant": lambda: constant(init_value),
        "step": lambda: step_decay(init_value, step_size=-(-T // 3), factor=0.1),
        "exponential": lambda: exponential_decay(init_value, decay_rate=np.log(100.0) / T),
        "inverse_time": lambda: inverse_time(init_value, decay_rate=9.0 / T),
        "cosine": lambda: cosine(init_value, total_steps=T),
    }
    if name not in by_name:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    return by_name[name]()


def as_schedule(learning_rate: LearningRate) -> Schedule:
    """A schedule from a number (made :func:`constant`) or a schedule (passed through)."""
    if callable(learning_rate):
        return learning_rate
    return constant(learning_rate)


SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "constant": constant,
    "step": step_decay,
    "exponential": exponential_decay,
    "inverse_time": inverse_time,
    "cosine": cosine,
}


def get_schedule(name: str, **kwargs: float) -> Schedule:
    """Build a schedule by the name users type (see :data:`SCHEDULES`).

    Example: ``get_schedule("step", init_value=0.1, step_size=500, factor=0.5)``.
    """
    try:
        factory = SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}") from None
    if name == "constant" and "init_value" in kwargs:  # one spelling for the starting rate
        kwargs["value"] = kwargs.pop("init_value")
    return factory(**kwargs)
