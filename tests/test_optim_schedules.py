"""Learning-rate schedules: values at chosen steps, vectorised evaluation, registry."""

import math

import numpy as np
import pytest

from linclass.optim import (
    SCHEDULES,
    as_schedule,
    constant,
    cosine,
    exponential_decay,
    get_schedule,
    inverse_time,
    schedule_for_run,
    step_decay,
)


@pytest.mark.parametrize(
    "schedule, expected",
    [
        (constant(0.3), {0: 0.3, 7: 0.3, 10_000: 0.3}),
        # 0.1 * 0.5 ** floor(t / 10)
        (step_decay(0.1, step_size=10, factor=0.5), {0: 0.1, 9: 0.1, 10: 0.05, 25: 0.025}),
        # 0.1 * exp(-0.01 t)
        (
            exponential_decay(0.1, decay_rate=0.01),
            {0: 0.1, 100: 0.1 / math.e, 200: 0.1 * math.e**-2},
        ),
        # 0.1 / (1 + 0.5 t)
        (inverse_time(0.1, decay_rate=0.5), {0: 0.1, 2: 0.05, 6: 0.025}),
        # 0.01 + 0.09 * (1 + cos(pi t / 100)) / 2, flat after 100
        (cosine(0.1, total_steps=100, final_value=0.01), {0: 0.1, 50: 0.055, 100: 0.01, 500: 0.01}),
    ],
)
def test_schedule_values_at_chosen_steps(schedule, expected):
    for step, value in expected.items():
        assert schedule(step) == pytest.approx(value, rel=1e-12)
        assert isinstance(schedule(step), float)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_evaluate_on_an_array_of_steps_for_plotting(name):
    schedule = get_schedule(name)
    steps = np.arange(0, 3000, 7)
    values = schedule(steps)
    assert values.shape == steps.shape
    np.testing.assert_allclose(values, [schedule(int(t)) for t in steps])
    assert np.all(np.diff(values) <= 0)  # every schedule here is non-increasing
    assert values[0] == pytest.approx(0.1)


def test_get_schedule_passes_arguments_and_rejects_unknown_names():
    assert get_schedule("step", init_value=1.0, step_size=2, factor=0.1)(4) == pytest.approx(0.01)
    assert get_schedule("constant", init_value=0.2)(99) == 0.2
    with pytest.raises(ValueError, match="cosine"):
        get_schedule("warmup")


def test_as_schedule_wraps_numbers_and_passes_callables_through():
    assert as_schedule(0.25)(1000) == 0.25
    s = cosine(0.1)
    assert as_schedule(s) is s


@pytest.mark.parametrize(
    "make",
    [
        lambda: constant(0.0),
        lambda: step_decay(0.1, step_size=0),
        lambda: step_decay(0.1, factor=1.5),
        lambda: exponential_decay(0.1, decay_rate=-1.0),
        lambda: inverse_time(float("nan")),
        lambda: cosine(0.1, total_steps=0),
    ],
)
def test_bad_schedule_arguments_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_schedule_for_run_fits_the_decay_to_the_run_length():
    T = 300
    assert schedule_for_run("constant", 0.2, T)(T) == 0.2
    assert schedule_for_run("cosine", 0.2, T)(T) == pytest.approx(0.0, abs=1e-15)
    assert schedule_for_run("exponential", 0.2, T)(T) == pytest.approx(0.002)
    assert schedule_for_run("inverse_time", 0.2, T)(T) == pytest.approx(0.02)
    step = schedule_for_run("step", 0.2, T)
    assert [step(0), step(99), step(100), step(200), step(299)] == pytest.approx(
        [0.2, 0.2, 0.02, 0.002, 0.002]
    )
    with pytest.raises(ValueError):
        schedule_for_run("nope", 0.1, T)
