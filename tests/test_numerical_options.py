"""``gradient="numerical"`` takes its formula and step from the records, in every face."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_digits

from linclass import LinearClassifier, LinearRegressor
from linclass.options import PARAMS, owners

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")


@pytest.fixture(scope="module")
def small():
    d = load_digits()
    return d.data[:60] / 16.0, d.target[:60] % 3


def test_the_records_belong_to_the_numerical_choice():
    for name in ("numerical_method", "numerical_h"):
        assert owners(name, "gradient") == ("numerical",) and PARAMS[name].owned


def fit(X, y, **kw):
    return LinearClassifier(optimizer="gd", max_epochs=3, tol=None, random_state=0, **kw).fit(X, y)


def test_formula_and_step_reach_the_gradient(small):
    X, y = small
    exact = fit(X, y).coef_
    centered = fit(X, y, gradient="numerical")
    forward = fit(X, y, gradient="numerical", numerical_method="forward", numerical_h=1e-3)
    assert_allclose(centered.coef_, exact, atol=1e-9)  # O(h^2): as good as exact here
    err = np.abs(forward.coef_ - exact).max()
    assert 1e-6 < err < 1e-3  # O(h): visibly off, still close
    assert forward.settings_["numerical_method"] == "forward"
    assert forward.settings_["numerical_h"] == 1e-3
    assert centered.settings_["numerical_h"] == PARAMS["numerical_h"].default
    assert "numerical_h" not in fit(X, y).settings_


def test_options_without_the_numerical_gradient_are_refused(small):
    X, y = small
    with pytest.raises(ValueError, match="numerical_h applies to gradient numerical"):
        fit(X, y, numerical_h=1e-4)
    with pytest.raises(ValueError, match="numerical_h"):
        fit(X, y, gradient="numerical", numerical_h=0.0)
    with pytest.raises(ValueError, match="numerical_method"):
        fit(X, y, gradient="numerical", numerical_method="backward")


def test_the_regressor_takes_them_too(small):
    X, y = small[0], small[1].astype(float)
    reg = LinearRegressor(optimizer="gd", learning_rate=0.05, max_epochs=3, tol=None,
                          random_state=0, gradient="numerical", numerical_method="forward",
                          numerical_h=1e-4).fit(X, y)
    assert reg.settings_["numerical_method"] == "forward"


def test_cli_train_with_a_one_sided_numerical_gradient(cli, tmp_path):
    args = ["train", "--quiet", "--out", tmp_path, "--limit", "40", "--optimizer", "gd",
            "--epochs", "1", "--gradient", "numerical", "--numerical-method", "forward",
            "--numerical-h", "0.0001"]
    result = cli(args)
    assert result.exit_code == 0, result.output
    bad = cli(["train", "--quiet", "--out", tmp_path / "x", "--numerical-h", "0.001"])
    assert bad.exit_code == 2 and "--numerical-h applies to gradient numerical" in bad.output
