"""Gradient check in float64: analytic (chain rule) vs centered and forward differences."""

import functools

import numpy as np
import pytest
from numpy.testing import assert_allclose

from linclass.grad import (
    gradient_check,
    make_value_and_grad,
    max_relative_error,
    numerical_gradient,
    relative_error,
    sample_coords,
)
from linclass.objective import objective_value, value_and_grad

PENALTIES = ["none", "l1", "l2", "elasticnet"]


def problem(seed=0, n=30, d=7, c=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, c, n)
    # Weights away from 0 so that L1's |w| is differentiable at the point.
    W = rng.choice([-1, 1], size=(c, d)) * rng.uniform(0.05, 0.5, size=(c, d))
    params = {"W": W, "b": 0.1 * rng.standard_normal(c)}
    return params, X, y


def svm_margins_away_from_kinks(params, X, y, margin=1.0, eps=1e-3):
    S = X @ params["W"].T + params["b"]
    m = S - S[np.arange(len(y)), y][:, None] + margin
    m[np.arange(len(y)), y] = 1.0
    return np.abs(m).min() > eps


@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss, tol", [("softmax", 1e-7), ("svm", 1e-6),
                                        ("ova_hinge", 1e-6), ("ova_logistic", 1e-7)])
def test_analytic_matches_centered_differences(loss, tol, penalty):
    for seed in range(20):
        params, X, y = problem(seed)
        if loss != "svm" or svm_margins_away_from_kinks(params, X, y):
            break
    _, grads = value_and_grad(params, X, y, loss, penalty, alpha=0.05)
    f = functools.partial(objective_value, X=X, y=y, loss=loss, penalty=penalty, alpha=0.05)
    err = gradient_check(f, grads, params)
    assert err < tol, f"{loss}+{penalty}: max relative error {err:.2e}"


def test_forward_difference_is_first_order_and_worse_than_centered():
    params, X, y = problem(1)
    _, grads = value_and_grad(params, X, y, "softmax", "l2", 0.01)
    f = functools.partial(objective_value, X=X, y=y, loss="softmax", penalty="l2", alpha=0.01)
    forward = gradient_check(f, grads, params, method="forward", h=1e-5)
    centered = gradient_check(f, grads, params, method="centered", h=1e-5)
    assert centered < forward < 1e-2


def test_lecture_slide_forward_difference_by_hand():
    # (f(W + h) - f(W)) / h on the first coordinate, as the slide does it with h = 1e-4.
    params, X, y = problem(2)
    f = functools.partial(objective_value, X=X, y=y, loss="softmax", penalty="none")
    h = 1e-4
    bumped = {k: v.copy() for k, v in params.items()}
    bumped["W"][0, 0] += h
    by_hand = (f(bumped) - f(params)) / h
    coords = {"W": np.array([0]), "b": np.array([], dtype=int)}
    g = numerical_gradient(f, params, h=h, method="forward", coords=coords)
    assert_allclose(g["W"][0, 0], by_hand, rtol=1e-12)
    assert np.isnan(g["W"][0, 1])  # unprobed coordinates are marked, not zero


def test_numerical_gradient_leaves_params_unchanged():
    params, X, y = problem(3)
    before = {k: v.copy() for k, v in params.items()}
    f = functools.partial(objective_value, X=X, y=y)
    numerical_gradient(f, params)
    for k in params:
        assert_allclose(params[k], before[k], rtol=0, atol=0)


def test_sampled_gradient_check_on_big_W():
    rng = np.random.default_rng(4)
    X = rng.random((64, 784))
    y = rng.integers(0, 10, 64)
    params = {"W": 1e-3 * rng.standard_normal((10, 784)), "b": np.zeros(10)}
    _, grads = value_and_grad(params, X, y, "softmax", "l2", 1e-3)
    f = functools.partial(objective_value, X=X, y=y, loss="softmax", penalty="l2", alpha=1e-3)
    coords = sample_coords(params, 50, random_state=0)
    assert len(coords["W"]) == 50 and len(coords["b"]) == 10
    assert gradient_check(f, grads, params, n_samples=50) < 1e-6


def test_gradient_check_detects_a_wrong_gradient():
    params, X, y = problem(5)
    _, grads = value_and_grad(params, X, y, "softmax", "l2", 0.1)
    grads["W"] = grads["W"].copy()
    grads["W"][1, 2] *= 1.01
    f = functools.partial(objective_value, X=X, y=y, loss="softmax", penalty="l2", alpha=0.1)
    assert gradient_check(f, grads, params) > 1e-3


def test_relative_error_definition():
    assert_allclose(relative_error(np.array([1.0, 0.0]), np.array([1.1, 0.0])), [0.1 / 1.1, 0.0])
    assert max_relative_error({"W": np.ones(2)}, {"W": np.ones(2)}) == 0.0
    with pytest.raises(ValueError, match="keys"):
        max_relative_error({"W": np.ones(2)}, {"b": np.ones(2)})


def test_bias_is_not_penalised():
    params, X, y = problem(6)
    _, g0 = value_and_grad(params, X, y, "softmax", "l2", 0.0)
    _, g1 = value_and_grad(params, X, y, "softmax", "l2", 10.0)
    assert_allclose(g0["b"], g1["b"], rtol=1e-14)


def test_numerical_method_through_shared_interface():
    params, X, y = problem(7, n=10, d=3, c=3)
    a = make_value_and_grad("analytic", loss="softmax", penalty="l2", alpha=0.1)
    n = make_value_and_grad("numerical", loss="softmax", penalty="l2", alpha=0.1)
    (la, ga), (ln, gn) = a(params, X, y), n(params, X, y)
    assert_allclose(la, ln, rtol=1e-14)
    assert max_relative_error(ga, gn) < 1e-7


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alpha=-1.0), "alpha"),
        (dict(loss="nope"), "unknown loss"),
        (dict(penalty="nope"), "unknown penalty"),
    ],
)
def test_bad_objective_arguments(kwargs, match):
    params, X, y = problem(8)
    with pytest.raises(ValueError, match=match):
        value_and_grad(params, X, y, **kwargs)


def test_non_finite_inputs_and_mismatched_shapes():
    params, X, y = problem(9)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        value_and_grad(params, X, y)
    with pytest.raises(ValueError, match="y must have shape"):
        value_and_grad(params, X[:, :], y[:-1])
    with pytest.raises(ValueError, match="features"):
        value_and_grad(params, np.zeros((3, 2)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="gradient method"):
        make_value_and_grad("symbolic")
