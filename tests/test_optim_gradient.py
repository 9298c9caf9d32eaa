"""SGD, momentum and Nesterov as (init, update) pairs: hand-computed steps and descent."""

import numpy as np
import pytest

from linclass.optim import (
    MomentumState,
    SGDState,
    get_optimizer,
    momentum,
    nesterov,
    sgd,
    step_decay,
)


def scalar_params(x: float) -> dict:
    return {"W": np.array([[x]]), "b": np.array([0.0])}


def quadratic_grads(params: dict) -> dict:
    """Gradient of f(W, b) = (W^2 + b^2) / 2, i.e. the params themselves."""
    return {k: v.copy() for k, v in params.items()}


def two_steps(optimizer) -> list[float]:
    init, update = optimizer
    params = scalar_params(1.0)
    state = init(params)
    xs = []
    for _ in range(2):
        params, state = update(params, quadratic_grads(params), state)
        xs.append(float(params["W"][0, 0]))
    return xs


def test_sgd_step_is_x_minus_lr_g():
    # x1 = 1 - 0.1 * 1 = 0.9; x2 = 0.9 - 0.1 * 0.9 = 0.81
    assert two_steps(sgd(0.1)) == pytest.approx([0.9, 0.81], abs=1e-15)


def test_momentum_two_steps_by_hand():
    # f(x) = x^2 / 2, g = x, x0 = 1, lr = 0.1, mu = 0.9, v0 = 0
    # step 1: g = 1;   v = 0.9 * 0 - 0.1 * 1 = -0.1;               x = 1 - 0.1 = 0.9
    # step 2: g = 0.9; v = 0.9 * (-0.1) - 0.1 * 0.9 = -0.18;       x = 0.9 - 0.18 = 0.72
    assert two_steps(momentum(0.1, momentum=0.9)) == pytest.approx([0.9, 0.72], abs=1e-15)


def test_nesterov_two_steps_by_hand():
    # x <- x - mu v_prev + (1 + mu) v, with v = mu v_prev - lr g, g taken at the stored x
    # step 1: g = 1;    v = -0.1;                   x = 1 - 0 + 1.9 * (-0.1) = 0.81
    # step 2: g = 0.81; v = -0.09 - 0.081 = -0.171; x = 0.81 + 0.09 + 1.9 * (-0.171) = 0.5751
    assert two_steps(nesterov(0.1, momentum=0.9)) == pytest.approx([0.81, 0.5751], abs=1e-15)


def test_momentum_state_is_explicit():
    init, update = momentum(0.1, momentum=0.9)
    params = scalar_params(1.0)
    state = init(params)
    assert isinstance(state, MomentumState) and state.count == 0
    np.testing.assert_array_equal(state.velocity["W"], [[0.0]])
    params, state = update(params, quadratic_grads(params), state)
    assert state.count == 1
    np.testing.assert_allclose(state.velocity["W"], [[-0.1]])
    np.testing.assert_allclose(state.velocity["b"], [0.0])


@pytest.mark.parametrize("factory", [momentum, nesterov])
def test_zero_momentum_is_plain_sgd(factory):
    assert two_steps(factory(0.1, momentum=0.0)) == pytest.approx(two_steps(sgd(0.1)), abs=1e-15)


def test_learning_rate_schedule_is_read_at_the_update_count():
    init, update = sgd(step_decay(1.0, step_size=1, factor=0.5))
    params = scalar_params(1.0)
    state = init(params)
    assert isinstance(state, SGDState) and state.learning_rate == 1.0
    rates = []
    for _ in range(3):
        params, state = update(params, {"W": np.ones((1, 1)), "b": np.zeros(1)}, state)
        rates.append(state.learning_rate)
    assert rates == [1.0, 0.5, 0.25]
    # x = 1 - (1 + 0.5 + 0.25)
    assert params["W"][0, 0] == pytest.approx(-0.75)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov"])
def test_update_is_in_place_and_keeps_float32(name):
    init, update = get_optimizer(name, learning_rate=0.1)
    W = np.ones((3, 4), dtype=np.float32)
    params = {"W": W, "b": np.zeros(3, dtype=np.float32)}
    state = init(params)
    grads = {"W": np.full((3, 4), 0.5, dtype=np.float32), "b": np.ones(3, dtype=np.float32)}
    new, state = update(params, grads, state)
    assert new["W"] is W and W.dtype == np.float32 and new["b"].dtype == np.float32
    assert np.all(W < 1)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov"])
def test_each_gradient_optimizer_descends_a_convex_quadratic(name):
    # f = 1/2 sum a_k x_k^2 with curvatures from 0.1 to 1: ill-conditioned but convex.
    a = np.linspace(0.1, 1.0, 8).reshape(2, 4)
    init, update = get_optimizer(name, learning_rate=0.5)
    params = {"W": np.ones((2, 4)), "b": np.ones(2)}
    state = init(params)

    def f(p):
        return 0.5 * float(np.sum(a * p["W"] ** 2) + np.sum(p["b"] ** 2))

    start = f(params)
    for _ in range(50):
        params, state = update(params, {"W": a * params["W"], "b": params["b"].copy()}, state)
    assert f(params) < 0.05 * start


def test_momentum_beats_sgd_on_an_ill_conditioned_valley():
    a = np.array([[0.01, 1.0]])

    def run(opt):
        init, update = opt
        params = {"W": np.ones((1, 2)), "b": np.zeros(1)}
        state = init(params)
        for _ in range(100):
            params, state = update(params, {"W": a * params["W"], "b": np.zeros(1)}, state)
        return float(np.sum(a * params["W"] ** 2))

    assert run(momentum(0.5, momentum=0.9)) < run(sgd(0.5)) / 10


@pytest.mark.parametrize("mu", [-0.1, 1.0, 1.5])
def test_momentum_outside_0_1_is_refused(mu):
    with pytest.raises(ValueError, match="mu"):
        momentum(0.1, momentum=mu)
    with pytest.raises(ValueError, match="mu"):
        nesterov(0.1, momentum=mu)


@pytest.mark.parametrize("lr", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_learning_rate_is_refused(lr):
    with pytest.raises(ValueError, match="learning rate"):
        sgd(lr)


def test_unknown_optimizer_name_lists_the_choices():
    with pytest.raises(ValueError, match="random_local_search"):
        get_optimizer("adam")
