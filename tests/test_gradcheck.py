"""The three-way gradient comparison: its report, its kink-free point, its CLI exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from sklearn.datasets import load_digits
from typer.testing import CliRunner

from linclass.cli.gradcheck import gradcheck
from linclass.grad.compare import _HINGES, DEFAULT_THRESHOLDS, check_point, compare_gradients
from linclass.losses import LOSSES
from linclass.regularizers import PENALTIES


@pytest.fixture(scope="module")
def digits_slice():
    bunch = load_digits()
    return bunch.data[:40] / 16.0, bunch.target[:40]


@pytest.fixture
def broken_analytic(monkeypatch):
    """An analytic gradient with a 1% mistake in W, as a hand derivation might have."""

    from linclass.objective import Objective

    right = Objective.__call__

    def wrong(self, *args):
        value, grads = right(self, *args)
        return value, {"W": 1.01 * grads["W"], "b": grads["b"]}

    # make_value_and_grad("analytic") is an Objective: a mistake in its chain rule.
    monkeypatch.setattr(Objective, "__call__", wrong)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("penalty", sorted(PENALTIES))
def test_all_three_methods_agree(digits_slice, loss, penalty):
    X, y = digits_slice
    report = compare_gradients(X, y, loss=loss, penalty=penalty, alpha=0.01, n_classes=10)
    assert report.passed, report.to_table()
    assert report.errors["analytic-autodiff"] < 1e-9
    assert set(report.errors) == set(DEFAULT_THRESHOLDS)
    assert report.n_params == report.n_probed == 10 * 64 + 10
    assert not report.numerical_extrapolated
    # The lecture's trade-off: numerical is by far the slowest.
    exact = max(report.seconds["analytic"], report.seconds["autodiff"])
    assert report.seconds["numerical"] > 10 * exact


def test_broken_analytic_gradient_fails(digits_slice, broken_analytic):
    X, y = digits_slice
    report = compare_gradients(X, y, loss="softmax", penalty="l2", alpha=0.01, n_classes=10)
    assert not report.passed
    assert report.errors["analytic-numerical"] > 1e-3
    assert report.errors["analytic-autodiff"] > 1e-3
    assert report.errors["numerical-autodiff"] < 1e-5  # the two honest methods still agree


def test_sampled_coordinates_extrapolate_the_numerical_time(digits_slice):
    X, y = digits_slice
    report = compare_gradients(X, y, loss="svm", penalty="l1", alpha=0.01, n_samples=20)
    assert report.n_probed == 20 + 10  # 20 of W; b has only 10 entries, so all of them
    assert report.numerical_extrapolated
    assert report.passed


def test_report_table_and_dict(digits_slice):
    X, y = digits_slice
    report = compare_gradients(X, y, loss="softmax", penalty="none", n_samples=5)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is True
    assert set(data["seconds"]) == {"analytic", "numerical", "autodiff"}
    table = report.to_table()
    pairs = ("analytic-numerical", "analytic-autodiff", "numerical-autodiff")
    for word in (*pairs, "extrapolated", "PASSED"):
        assert word in table


def test_impossible_threshold_fails_and_unknown_pair_is_refused(digits_slice):
    X, y = digits_slice
    report = compare_gradients(X, y, n_samples=5, thresholds={"analytic-numerical": 1e-20})
    assert not report.passed
    assert [ok for *_, ok in report.rows()] == [False, True, True]
    with pytest.raises(ValueError, match="unknown threshold pairs"):
        compare_gradients(X, y, thresholds={"analytic-magic": 1.0})


@pytest.mark.parametrize("loss", ["svm", "ova_hinge"])
def test_check_point_redraws_a_point_on_a_kink(loss):
    """Pick the margin so that seed 0's point has one hinge exactly on its kink."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (30, 5))
    y = np.arange(30) % 3
    first, seed = check_point(X, y, 3, loss=loss, penalty="l1", random_state=0)
    assert seed == 0
    S = X @ first["W"].T + first["b"]
    t = -np.ones_like(S)
    t[np.arange(30), y] = 1
    # svm hinge s_j - s_y + margin is 0 for (i=0, j=1) when margin = s_y - s_j; the
    # one-vs-all hinge margin - t s is 0 for (i=0, k=1) when margin = t s.
    margin = S[0, y[0]] - S[0, 1] if loss == "svm" else t[0, 1] * S[0, 1]
    params, seed = check_point(X, y, 3, loss=loss, penalty="l1", random_state=0, margin=margin)
    assert seed > 0
    hinges = _HINGES[loss](X @ params["W"].T + params["b"], y, margin=margin)
    assert np.abs(hinges).min() > 10 * 1e-5  # clear of the kink by 10 steps h
    assert np.abs(params["W"]).min() > 1e-4  # no weight at the kink of |W|


def test_check_point_gives_up_with_a_clear_error():
    X = np.eye(2)
    y = np.array([0, 1])
    first, _ = check_point(X, y, 2, loss="svm", penalty="none", random_state=0)
    S = X @ first["W"].T + first["b"]
    margin = S[0, 0] - S[0, 1]  # seed 0 has a hinge on its kink, and only seed 0 is allowed
    with pytest.raises(RuntimeError, match="no kink-free check point"):
        check_point(X, y, 2, loss="svm", penalty="none", random_state=0, max_tries=1, margin=margin)


# --- the CLI ------------------------------------------------------------------------------


@pytest.fixture
def cli():
    """A tiny app wired the way the lead wires the real one: ``app.command()(gradcheck)``."""
    app = typer.Typer()
    app.command()(gradcheck)

    @app.callback()
    def _root() -> None:
        """Test app."""

    def invoke(*args: str):
        return CliRunner().invoke(app, ["gradcheck", *args])

    return invoke


def test_cli_passes_and_exits_0(cli):
    result = cli("--loss", "svm", "--penalty", "elasticnet", "--n", "30", "--samples", "30")
    assert result.exit_code == 0, result.output
    for word in ("analytic-numerical", "analytic-autodiff", "numerical-autodiff", "PASSED"):
        assert word in result.output


def test_cli_impossible_threshold_exits_1(cli):
    result = cli("--n", "20", "--samples", "5", "--threshold", "1e-20")
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output


def test_cli_broken_analytic_gradient_exits_1(cli, broken_analytic):
    result = cli("--n", "20", "--samples", "10")
    assert result.exit_code == 1, result.output
    assert "NO" in result.output


@pytest.mark.parametrize(
    "args",
    [("--loss", "hinge"), ("--penalty", "l3"), ("--dataset", "nope"), ("--alpha", "-1")],
)
def test_cli_bad_options_exit_2(cli, args):
    result = cli("--n", "10", "--samples", "3", *args)
    assert result.exit_code == 2, result.output
