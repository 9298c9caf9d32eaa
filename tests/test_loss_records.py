"""The loss records: every table of every face and backend is derived from them, and each
record's writings of its loss (function, in-place kernel, loop reference, namespace value,
autodiff, torch) agree; the Crammer-Singer hinge, added as its math and one record, is
checked on every one of them."""

from __future__ import annotations

import typing

import numpy as np
import pytest
from numpy.testing import assert_allclose

from linclass.explain import EXPLAINED_LOSSES, explain_scores
from linclass.grad import make_value_and_grad, max_relative_error, numerical_gradient
from linclass.grad.autodiff_objective import LOSSES as AUTODIFF_LOSSES
from linclass.grad.compare import check_point, compare_gradients
from linclass.losses import (
    CRAMMER_SINGER,
    LOSS_KERNELS,
    LOSSES,
    NUMPY_OPS,
    RECORDS,
    crammer_singer_kinks,
    crammer_singer_loss,
    crammer_singer_loss_into,
    crammer_singer_loss_loop,
    svm_loss,
)
from linclass.objective import objective_value
from linclass.options import FAMILIES, LOSS_CURVATURE, PARAMS, names

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")

NAMES = tuple(RECORDS)


def _kwargs(record, margin=0.7):
    return {"margin": margin} if "margin" in record.params else {}


def _scores(n=23, c=5, seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, c)) * scale, rng.integers(0, c, size=n)


# --- every derived table lists every record ------------------------------------------------


def test_options_family_and_curvature_come_from_the_records():
    assert tuple(FAMILIES["loss"]) == NAMES == names("loss")
    assert PARAMS["loss"].choices == NAMES
    for name, record in RECORDS.items():
        chosen = FAMILIES["loss"][name]
        assert (chosen.help, chosen.params, chosen.tags, chosen.lecture) == (
            record.help, record.params, record.tags, record.lecture)
        assert LOSS_CURVATURE[name] == record.curvature
    assert set(names("loss", "margin")) == {n for n, r in RECORDS.items() if "margin" in r.params}


def test_losses_tables_autodiff_and_explain_list_every_record():
    assert tuple(LOSSES) == tuple(AUTODIFF_LOSSES) == tuple(EXPLAINED_LOSSES) == NAMES
    assert set(LOSS_KERNELS) == {n for n, r in RECORDS.items() if r.kernel is not None}


def test_torch_has_every_record():
    pytest.importorskip("torch")
    from linclass.backends.torch import FUSED_LOSS_KERNELS
    from linclass.backends.torch import LOSS_KERNELS as TORCH_KERNELS

    assert tuple(TORCH_KERNELS) == NAMES
    for name, record in RECORDS.items():
        if record.torch_kernel is not None:
            assert TORCH_KERNELS[name] is FUSED_LOSS_KERNELS[record.torch_kernel]


def test_cli_choices_list_every_record():
    from typer.testing import CliRunner

    from linclass.cli import app
    from linclass.cli.explain import explain

    loss_type = typing.get_type_hints(explain)["loss"]
    assert set(typing.get_args(typing.get_args(loss_type)[0])) == set(NAMES)
    runner = CliRunner()
    for command in ("train", "gradcheck", "explain"):
        out = runner.invoke(app, [command, "--help"], terminal_width=400,
                            env={"COLUMNS": "400", "NO_COLOR": "1"}).output
        flat = "".join(out.split())  # rich wraps long choice lists anywhere
        for name in NAMES:
            assert name in flat, (command, name)


def test_playground_lists_every_record_with_its_label():
    from starlette.testclient import TestClient

    from linclass.web import create_app
    from linclass.web.app import LOSS_LABELS

    assert LOSS_LABELS == {n: r.label for n, r in RECORDS.items()}
    options = TestClient(create_app()).get("/api/options").json()
    assert list(options["families"]["loss"]) == list(NAMES)
    assert options["views"]["2d"]["losses"] == list(NAMES)


# --- every record's writings agree ---------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_function_loop_value_and_kernel_agree(name):
    record = RECORDS[name]
    S, y = _scores()
    kw = _kwargs(record)
    value, dS = record.function(S, y, **kw)
    assert record.loop(S, y, **kw) == pytest.approx(value, rel=1e-12)
    _, T = record.targets_of(S, y)
    assert float(record.value(NUMPY_OPS, S, T, **kw)) == pytest.approx(value, rel=1e-12)
    if record.kernel is not None:
        work = S.copy()
        assert record.kernel(work, y, work, **kw) == pytest.approx(value, rel=1e-14)
        assert_allclose(work, dS, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("name", NAMES)
def test_torch_autograd_on_the_value_matches_the_fused_kernel(name):
    """The derivation a new loss gets (autograd on its value) agrees with the hand-fused
    kernels of the losses that have one, in float64."""
    torch = pytest.importorskip("torch")
    from linclass.backends.torch import LOSS_KERNELS as TORCH_KERNELS
    from linclass.backends.torch import autograd_kernel

    record = RECORDS[name]
    S, y = _scores(seed=3)
    # Keep away from kinks, where a subgradient is a choice.
    if record.kinks is not None:
        assert np.abs(record.kinks(S, y, **_kwargs(record))).min() > 1e-6
    St, yt = torch.from_numpy(S), torch.from_numpy(y)
    T = torch.zeros_like(St).scatter_(1, yt[:, None], 1.0)
    fused = TORCH_KERNELS[name](St.clone(), yt, T, **_kwargs(record))
    auto = autograd_kernel(record)(St.clone(), yt, T, **_kwargs(record))
    value, dS = record.function(S, y, **_kwargs(record))
    for L, G in (fused, auto):
        assert float(L) == pytest.approx(value, rel=1e-12)
        assert_allclose(G.numpy(), dS, rtol=1e-10, atol=1e-14)


# --- the Crammer-Singer hinge ----------------------------------------------------------------


def test_crammer_singer_on_the_lecture_example():
    # The cat image: scores cat 3.2, car 5.1, frog -1.7, label cat: max(0, 1 + 5.1 - 3.2).
    S, y = np.array([[3.2, 5.1, -1.7]]), np.array([0])
    value, dS = crammer_singer_loss(S, y)
    assert value == pytest.approx(2.9)
    assert_allclose(dS, [[-1.0, 1.0, 0.0]])
    # The Weston-Watkins SVM adds frog's hinge too, here 0; with frog at 3.0 it differs.
    S2 = np.array([[3.2, 5.1, 3.0]])
    assert crammer_singer_loss(S2, y)[0] == pytest.approx(2.9)
    assert svm_loss(S2, y)[0] == pytest.approx(2.9 + 0.8)
    # Inactive when the correct score clears the best wrong one by the margin.
    value, dS = crammer_singer_loss(np.array([[9.0, 5.1, 3.0]]), y)
    assert value == 0.0 and not dS.any()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("margin", [0.5, 1.0, 3.0])
def test_crammer_singer_loop_equals_vectorized(seed, margin):
    S, y = _scores(n=31, c=6, seed=seed)
    value, dS = crammer_singer_loss(S, y, margin)
    assert crammer_singer_loss_loop(S, y, margin) == pytest.approx(value, rel=1e-13)
    # Kernel may overwrite its scores; float32 stays float32.
    work = S.astype(np.float32)
    assert crammer_singer_loss_into(work, y, work, margin) == pytest.approx(value, rel=1e-5)
    assert_allclose(work, dS, rtol=1e-6, atol=1e-7)
    # Each active row pushes one wrong class up and the true class down by 1/N.
    assert_allclose(dS.sum(axis=1), 0.0, atol=1e-15)


def test_crammer_singer_kinks_are_the_hinge_and_the_wrong_class_ties():
    S, y = np.array([[1.0, 2.0, 2.0], [0.0, -1.0, 5.0]]), np.array([0, 2])
    kinks = crammer_singer_kinks(S, y, margin=1.0)
    assert_allclose(kinks, [2.0, -4.0, 0.0, 1.0])  # hinges, then top-two wrong gaps


def test_crammer_singer_gradients_agree_analytic_numerical_autodiff_torch():
    """The gradient check in float64: analytic vs numerical vs autodiff (the record's value
    on Tensors) vs torch (autograd on the same value), at a kink-free point."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:64] / 16.0, y[:64]
    objective = dict(loss=CRAMMER_SINGER.name, penalty="l2", alpha=1e-3, margin=0.8)
    report = compare_gradients(X, y, n_classes=10, **objective)
    assert report.passed, report.to_table()
    assert report.errors["analytic-autodiff"] < 1e-12
    assert report.errors["analytic-numerical"] < 1e-6

    params, _ = check_point(X, y, 10, loss=CRAMMER_SINGER.name, penalty="l2",
                            random_state=0, margin=0.8)
    J, analytic = make_value_and_grad("analytic", **objective)(params, X, y)
    numerical = numerical_gradient(
        lambda p: objective_value(p, X, y, **objective), params, h=1e-5)
    auto = make_value_and_grad("autodiff", **objective)(params, X, y)[1]
    assert max_relative_error(analytic, auto) < 1e-12
    assert max_relative_error(analytic, numerical) < 1e-6

    torch = pytest.importorskip("torch")
    from linclass.backends.torch import TorchStep
    from linclass.objective import Objective

    step = TorchStep(Objective(**objective), torch.device("cpu"), torch.float64, None, None)
    got_J, got = step.block(step.put(params), torch.from_numpy(X), torch.from_numpy(y))
    assert got_J == pytest.approx(J, rel=1e-12)
    assert max_relative_error(analytic, {k: v.numpy() for k, v in got.items()}) < 1e-12


def test_crammer_singer_fits_and_is_explained():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from linclass import LinearClassifier

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    accuracy = {loss: LinearClassifier(loss=loss, optimizer="lbfgs", random_state=0)
                .fit(X_tr, y_tr).score(X_te, y_te) for loss in (CRAMMER_SINGER.name, "svm")}
    assert accuracy[CRAMMER_SINGER.name] > 0.93  # measured 0.960; the SVM 0.951
    assert accuracy[CRAMMER_SINGER.name] >= accuracy["svm"] - 0.02
    out = explain_scores(np.array([3.2, 5.1, -1.7]), 0, CRAMMER_SINGER.name, ["cat", "car", "frog"])
    assert out["total"] == pytest.approx(2.9)
    assert out["lines"][-1] == "L_i = 2.9000"
