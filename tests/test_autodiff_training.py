"""Training with autodiff gradients reaches the accuracy that analytic gradients reach.

A tiny full-batch gradient descent loop, written inline on purpose: the general training
loop lives elsewhere, and this test is only about the gradient method being interchangeable.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from linclass.grad import make_value_and_grad
from linclass.model import init_params, predict


@pytest.fixture(scope="module")
def digits():
    bunch = load_digits()
    X = bunch.data / 16.0
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, bunch.target, test_size=0.25, stratify=bunch.target, random_state=0
    )
    mean = X_tr.mean(axis=0)  # the mean image, from the training split only
    return X_tr - mean, X_te - mean, y_tr, y_te


def gradient_descent(method: str, loss: str, digits, steps: int = 200, lr: float = 0.5):
    X_tr, X_te, y_tr, y_te = digits
    vg = make_value_and_grad(method, loss=loss, penalty="l2", alpha=1e-4)
    params = init_params(X_tr.shape[1], 10, random_state=0)
    for _ in range(steps):
        _, grads = vg(params, X_tr, y_tr)
        params = {k: params[k] - lr * grads[k] for k in params}
    return params, float(np.mean(predict(params, X_te) == y_te))


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_autodiff_training_matches_analytic(digits, loss):
    params_a, acc_a = gradient_descent("analytic", loss, digits)
    params_d, acc_d = gradient_descent("autodiff", loss, digits)
    assert acc_a > 0.9  # the lecture's linear classifier does learn the digits
    assert acc_d == acc_a
    # Same gradients up to rounding, so the same trajectory, not just the same accuracy.
    np.testing.assert_allclose(params_d["W"], params_a["W"], rtol=1e-6, atol=1e-9)
