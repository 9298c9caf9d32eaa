"""The objective written as autodiff expressions equals the hand-derived one.

Analytic and autodiff are independent derivations, so in float64 they must agree to
rounding (< 1e-9 relative), for every loss x penalty, at random points away from hinge
kinks; both must also agree with centered differences. At a kink they must still agree,
because both use the subgradient 0 there.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from numpy.testing import assert_allclose

from linclass.grad import (
    gradient_check,
    make_value_and_grad,
    max_relative_error,
    numerical_gradient,
)
from linclass.grad.autodiff import Tensor
from linclass.grad.autodiff_objective import autodiff_value_and_grad
from linclass.grad.compare import SCALE_FLOOR, check_point
from linclass.losses import LOSSES
from linclass.objective import objective_value, value_and_grad
from linclass.regularizers import PENALTIES

N, D, C = 30, 7, 4


def problem(loss: str, penalty: str, seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """Gaussian X, labels covering every class, and a point with no hinge near its kink."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D))
    y = np.arange(N) % C
    params, _ = check_point(X, y, C, loss=loss, penalty=penalty, random_state=seed)
    return params, X, y


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("penalty", sorted(PENALTIES))
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("seed", [0, 1])
def test_autodiff_equals_analytic(loss, penalty, alpha, seed):
    params, X, y = problem(loss, penalty, seed)
    value_a, grad_a = value_and_grad(params, X, y, loss, penalty, alpha, l1_ratio=0.3)
    value_d, grad_d = autodiff_value_and_grad(params, X, y, loss, penalty, alpha, l1_ratio=0.3)
    assert value_d == pytest.approx(value_a, rel=1e-12)
    assert max_relative_error(grad_a, grad_d) < 1e-9
    assert grad_d["W"].shape == (C, D) and grad_d["b"].shape == (C,)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("penalty", sorted(PENALTIES))
def test_autodiff_equals_numerical(loss, penalty):
    params, X, y = problem(loss, penalty)
    objective = dict(loss=loss, penalty=penalty, alpha=0.1)
    _, grads = autodiff_value_and_grad(params, X, y, **objective)
    f = functools.partial(objective_value, X=X, y=y, **objective)
    # Relative to each entry or to SCALE_FLOOR of the largest, as linclass gradcheck does:
    # an entry that is exactly 0 (the Crammer-Singer hinge's +1 and -1 per row cancel in
    # a class's dJ/db here) against a difference's rounding noise 1e-11 would read as 1.
    tiny = SCALE_FLOOR * max(float(np.abs(g).max()) for g in grads.values())
    assert max_relative_error(grads, numerical_gradient(f, params), tiny) < 1e-6


@pytest.mark.parametrize("margin", [0.5, 2.0])
@pytest.mark.parametrize("loss", ["svm", "ova_hinge"])
def test_margin_is_passed_to_the_loss(loss, margin):
    params, X, y = problem(loss, "none")
    analytic = value_and_grad(params, X, y, loss, "none", margin=margin)
    autodiff = autodiff_value_and_grad(params, X, y, loss, "none", margin=margin)
    assert autodiff[0] == pytest.approx(analytic[0], rel=1e-12)
    assert max_relative_error(analytic[1], autodiff[1]) < 1e-9


@pytest.mark.parametrize("loss", ["svm", "ova_hinge"])
def test_same_subgradient_exactly_at_the_kinks(loss):
    """W = 0 puts every L1 term at its kink; the biases put hinges exactly on theirs."""
    X = np.random.default_rng(0).standard_normal((4, 3))
    y = np.array([0, 1, 2, 0])
    # svm: s_1 - s_0 + 1 = 0 for y = 0; ova: 1 - t s = 0 for s = +-1.
    params = {"W": np.zeros((3, 3)), "b": np.array([1.0, 0.0, -1.0])}
    analytic = value_and_grad(params, X, y, loss, "l1", 0.5)
    autodiff = autodiff_value_and_grad(params, X, y, loss, "l1", 0.5)
    assert autodiff[0] == analytic[0]
    for k in ("W", "b"):
        assert_allclose(autodiff[1][k], analytic[1][k], rtol=0, atol=1e-15)


@pytest.mark.parametrize("loss", ["softmax", "ova_logistic"])
def test_extreme_scores_stay_finite(loss):
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([0, 1])
    params = {"W": np.array([[-1e4, 1e4], [1e4, -1e4]]), "b": np.zeros(2)}
    value_a, grad_a = value_and_grad(params, X, y, loss, "none")
    value_d, grad_d = autodiff_value_and_grad(params, X, y, loss, "none")
    assert np.isfinite(value_d) and all(np.all(np.isfinite(g)) for g in grad_d.values())
    assert value_d == pytest.approx(value_a, rel=1e-12)
    assert max_relative_error(grad_a, grad_d) < 1e-9


@pytest.mark.parametrize(("l1_ratio", "same_as"), [(0.0, "l2"), (1.0, "l1")])
def test_elastic_net_ends_are_l1_and_l2(l1_ratio, same_as):
    params, X, y = problem("softmax", "l1")
    mixed = autodiff_value_and_grad(params, X, y, "softmax", "elasticnet", 0.2, l1_ratio=l1_ratio)
    pure = autodiff_value_and_grad(params, X, y, "softmax", same_as, 0.2)
    assert mixed[0] == pytest.approx(pure[0], rel=1e-14)
    assert max_relative_error(mixed[1], pure[1]) < 1e-14


def test_bias_is_never_penalised():
    params, X, y = problem("softmax", "l2")
    plain = autodiff_value_and_grad(params, X, y, "softmax", "none")
    penalised = autodiff_value_and_grad(params, X, y, "softmax", "l2", 5.0)
    assert_allclose(penalised[1]["b"], plain[1]["b"], rtol=0, atol=0)


def test_params_are_left_unchanged():
    params, X, y = problem("svm", "l2")
    before = {k: v.copy() for k, v in params.items()}
    _, grads = autodiff_value_and_grad(params, X, y, "svm", "l2", 0.1)
    for k in params:
        assert_allclose(params[k], before[k], rtol=0, atol=0)
        assert not np.shares_memory(grads[k], params[k])


def test_make_value_and_grad_selects_autodiff():
    params, X, y = problem("ova_logistic", "elasticnet")
    objective = dict(loss="ova_logistic", penalty="elasticnet", alpha=0.1, l1_ratio=0.7)
    analytic = make_value_and_grad("analytic", **objective)(params, X, y)
    autodiff = make_value_and_grad("autodiff", **objective)(params, X, y)
    assert autodiff[0] == pytest.approx(analytic[0], rel=1e-12)
    assert max_relative_error(analytic[1], autodiff[1]) < 1e-9


def test_a_new_loss_needs_no_derivative():
    """The point of autodiff: a squared hinge written with tensors is differentiated for free."""

    def squared_hinge(S: Tensor, y: np.ndarray) -> Tensor:
        others = np.ones(S.shape)
        others[np.arange(len(y)), y] = 0.0
        correct = S[np.arange(len(y)), y].reshape(len(y), 1)
        return ((S - correct + 1.0).maximum(0.0).square() * others).sum() / len(y)

    params, X, y = problem("svm", "l2")
    _, grads = autodiff_value_and_grad(params, X, y, squared_hinge, "l2", 0.1)

    def f(p: dict) -> float:
        W, b = Tensor(p["W"]), Tensor(p["b"])
        S = X @ W.T + b
        return float((squared_hinge(S, y) + 0.1 * W.square().sum()).data)

    assert gradient_check(f, grads, params) < 1e-6


def test_float32_params_give_float32_gradients_close_to_analytic():
    params, X, y = problem("softmax", "l2")
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    X32 = X.astype(np.float32)
    analytic = value_and_grad(p32, X32, y, "softmax", "l2", 0.1)
    autodiff = autodiff_value_and_grad(p32, X32, y, "softmax", "l2", 0.1)
    assert autodiff[1]["W"].dtype == np.float32
    assert autodiff[0] == pytest.approx(analytic[0], rel=1e-5)
    for k in ("W", "b"):
        assert_allclose(autodiff[1][k], analytic[1][k], rtol=1e-4, atol=1e-6)


def _bad_inputs():
    params, X, y = problem("softmax", "l2")
    ok = dict(params=params, X=X, y=y, loss="softmax", penalty="l2", alpha=0.1)
    yield "label out of range", {**ok, "y": np.full(N, C)}
    yield "float labels", {**ok, "y": y.astype(float)}
    yield "NaN in X", {**ok, "X": np.where(np.eye(N, D, dtype=bool), np.nan, X)}
    yield "1-D X", {**ok, "X": X[0]}
    yield "wrong feature count", {**ok, "X": X[:, :-1]}
    yield "negative alpha", {**ok, "alpha": -1.0}
    yield "unknown loss", {**ok, "loss": "hinge"}
    yield "unknown penalty", {**ok, "penalty": "l3"}
    yield "bad l1_ratio", {**ok, "penalty": "elasticnet", "l1_ratio": 1.5}
    yield "missing b", {**ok, "params": {"W": params["W"]}}


BAD_INPUTS = list(_bad_inputs())


@pytest.mark.parametrize(("case", "kwargs"), BAD_INPUTS, ids=[case for case, _ in BAD_INPUTS])
def test_bad_inputs_are_refused_like_the_analytic_objective(case, kwargs):
    with pytest.raises(ValueError) as analytic:
        value_and_grad(**kwargs)
    with pytest.raises(ValueError) as autodiff:
        autodiff_value_and_grad(**kwargs)
    assert str(autodiff.value) == str(analytic.value), case
