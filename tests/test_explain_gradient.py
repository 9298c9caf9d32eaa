"""The numerical-gradient walk-through and the kink, checked against the analytic gradient."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from linclass.explain_gradient import kink_example, numerical_walkthrough
from linclass.grad.compare import DEFAULT_THRESHOLDS, compare_gradients
from linclass.model import init_params


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.data[:80] / 16.0, d.target[:80]


@pytest.mark.parametrize("loss", ["softmax", "svm", "squared"])
@pytest.mark.parametrize("method, tol", [("forward", 1e-3), ("centered", 1e-6)])
def test_walkthrough_steps_agree_with_the_analytic_gradient(digits, loss, method, tol):
    X, y = digits
    params = init_params(64, 10, scale=0.05, random_state=1)
    W0 = params["W"].copy()
    out = numerical_walkthrough(params, X, y, loss=loss, method=method, n_coords=4)
    assert len(out["steps"]) == 4 and out["h"] == 1e-4
    for step in out["steps"]:
        assert abs(step["numerical"] - step["analytic"]) <= tol * max(1.0, abs(step["analytic"]))
        if method == "forward":  # the slide's arithmetic, from the printed values
            assert step["numerical"] == pytest.approx((step["loss_plus"] - out["loss"]) / 1e-4,
                                                      rel=1e-9, abs=1e-12)
    assert np.array_equal(params["W"], W0)
    assert out["steps"][0]["analytic"] == 0.0  # pixel (0, 0) of every digit is blank


def test_kink_one_sided_slopes_disagree():
    out = kink_example()
    assert out["analytic"] == 0.0
    assert out["forward"] == pytest.approx(1.0) and out["backward"] == pytest.approx(0.0,
                                                                                   abs=1e-9)
    assert out["centered"] == pytest.approx(0.5)
    assert out["plain_errors"]["centered"] == pytest.approx(1.0)


def test_gradcheck_reports_the_plain_error_beside_the_floored_one(digits):
    X, y = digits
    report = compare_gradients(X, y, loss="svm", penalty="l2", alpha=0.01, n_classes=10)
    assert set(report.plain_errors) == set(DEFAULT_THRESHOLDS)
    for pair, floored in report.errors.items():
        assert report.plain_errors[pair] >= floored  # the floor only ever lowers it
    assert "plain" in report.to_table() and "hence the floor" in report.to_table()
