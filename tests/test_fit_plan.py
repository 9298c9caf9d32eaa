"""The fit plan (:mod:`linclass.estimators.plan`) and the reproductions of issue 23: each
combination that returned garbage with a success exit now learns or refuses."""

from __future__ import annotations

import inspect
import json
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from linclass import LinearClassifier, LinearRegressor, TrainingDivergedError
from linclass.estimators.params import ESTIMATOR_PARAMS
from linclass.estimators.plan import check, make_plan, step_size, top_eigenvalue
from linclass.estimators.regressor import REGRESSOR_PARAMS
from linclass.options import PARAMS

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")


def test_signatures_are_the_records():
    """The parameter lists are the records' names, in one order, for every estimator."""
    assert tuple(inspect.signature(LinearClassifier).parameters) == ESTIMATOR_PARAMS
    assert tuple(inspect.signature(LinearRegressor).parameters) == REGRESSOR_PARAMS
    assert set(ESTIMATOR_PARAMS) <= set(PARAMS)
    for name, p in inspect.signature(LinearClassifier).parameters.items():
        expected = None if PARAMS[name].owned else PARAMS[name].default
        assert p.default == expected, name


def test_plan_is_pure_and_records_what_applies():
    plan = make_plan(LinearClassifier(optimizer="genetic").get_params(),
                     task="classification", n_samples=100)
    assert plan.search and plan.learning_rate is None and plan.tol is None
    assert plan.settings["population_size"] == 50 and "learning_rate" not in plan.settings
    assert "gradient" not in plan.settings and plan.settings["scaling"] == "standardize"
    stored = make_plan(LinearClassifier().get_params(), task="classification",
                       n_samples=54_000, in_memory=False)
    assert stored.scaling == "none" and stored.max_epochs == 10 and stored.batch_size == 256


def test_check_spells_the_face_words():
    values = LinearClassifier(optimizer="genetic", n_elite=60).get_params()
    with pytest.raises(ValueError, match="--n-elite must be < --population-size"):
        check(values, spell={k: p.cli_flag for k, p in PARAMS.items()})


def test_step_size_is_one_over_the_curvature_bound():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((500, 8))
    M = np.hstack([Z, np.ones((500, 1))])
    exact = np.linalg.eigvalsh(M.T @ M / 500)[-1]
    assert top_eigenvalue(Z) == pytest.approx(exact, rel=1e-3)  # power iteration, from below
    plan = make_plan(LinearClassifier(loss="squared", optimizer="sgd", penalty="none"
                                      ).get_params(), task="classification", n_samples=500)
    assert step_size(plan, exact) == pytest.approx(1 / (2 * exact))  # 1 / L, L = 2 lambda
    mom = make_plan(LinearClassifier(loss="squared").get_params(), task="classification",
                    n_samples=500)
    assert step_size(mom, 100.0) == pytest.approx(0.1 * 2 / (2 * 100 + 2e-4))


# --- 1. silent divergence with defaults -----------------------------------------------------


def test_iris_regression_with_defaults_learns():
    data = load_iris().data  # was R^2 = -6.3e42, no warning
    reg = LinearRegressor().fit(data[:, :3], data[:, 3])
    assert reg.score(data[:, :3], data[:, 3]) > 0.92
    assert reg.settings_["scaling"] == "standardize"


@pytest.mark.parametrize("centers", [3, 2])
def test_squared_loss_on_blobs_with_defaults_learns(centers):
    X, y = make_blobs(600, centers=centers, n_features=5, cluster_std=2.5, random_state=0)
    clf = LinearClassifier(loss="squared", random_state=0).fit(X, y)  # was 0.275 / 0.425
    ref = LogisticRegression().fit(X, y).score(X, y)
    assert clf.score(X, y) >= ref - 0.03


def test_a_loss_that_climbs_stops_with_the_option_to_lower():
    X, y = make_blobs(600, centers=3, n_features=5, cluster_std=2.5, random_state=0)
    clf = LinearClassifier(loss="squared", learning_rate=0.5, scaling="none", random_state=0)
    with pytest.raises(TrainingDivergedError, match=r"rose to .* from .*lower learning_rate"
                       ) as info:
        clf.fit(X, y)  # climbed from 2e7 to 2.5e163 and ended "not improving"
    assert np.isfinite(info.value.loss) and info.value.start_loss is not None
    assert not hasattr(clf, "coef_")  # no model kept


@pytest.mark.parametrize("optimizer", ["gd", "sgd"])
def test_regression_on_raw_diabetes_with_gd_and_sgd_learns(optimizer):
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)  # was R^2 -5e35 / -9e70
    assert LinearRegressor(optimizer=optimizer, random_state=0).fit(X, y).score(X, y) > 0.5


def test_cli_regress_with_the_helps_example_learns(cli, tmp_path):
    X, y = load_diabetes(return_X_y=True)
    np.savez(tmp_path / "diabetes.npz", X=X, y=y)
    result = cli(["regress", tmp_path / "diabetes.npz", "--penalty", "l1", "--alpha", "0.01",
                  "--optimizer", "gd", "--json", "--quiet"])  # was test R^2 -4.9e35, exit 0
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["test_r2"] > 0.3


# --- 2., 3. every optimizer works where it is listed -----------------------------------------


def test_lbfgs_regressor_fits_from_python_and_the_cli(cli, tmp_path):
    X, y = load_diabetes(return_X_y=True)
    reg = LinearRegressor(optimizer="lbfgs").fit(X, y)  # "takes no learning rate or schedule"
    assert reg.score(X, y) > 0.5 and "learning_rate" not in reg.settings_
    np.savez(tmp_path / "d.npz", X=X, y=y)
    result = cli(["regress", tmp_path / "d.npz", "--optimizer", "lbfgs", "--json", "--quiet"])
    assert result.exit_code == 0, result.output


def test_lbfgs_classifier_has_no_partial_fit():
    assert not hasattr(LinearClassifier(optimizer="lbfgs"), "partial_fit")
    assert hasattr(LinearClassifier(optimizer="sgd"), "partial_fit")


def test_partial_fit_learns_unscaled_rows_in_standardized_coordinates():
    X, y = make_blobs(900, centers=3, n_features=4, cluster_std=2.0, random_state=0)
    X = X * np.array([1e-1, 1.0, 1e2, 1e3]) + 500.0
    clf = LinearClassifier(optimizer="sgd", random_state=0)
    for _ in range(5):
        for block in np.array_split(np.arange(900), 9):
            clf.partial_fit(X[block], y[block], classes=[0, 1, 2])
    Z = StandardScaler().fit_transform(X)
    assert clf.score(X, y) >= LogisticRegression().fit(Z, y).score(Z, y) - 0.03


# --- 5. alpha <-> C ----------------------------------------------------------------------------


@pytest.mark.parametrize("load, factor", [(load_breast_cancer, 1.0), (load_wine, 2.0)])
def test_alpha_maps_to_logistic_regressions_C(load, factor):
    """Two classes: linclass fits two rows with W0 = -W1 at the optimum, so
    ``alpha = 1 / (C N)``; three or more: ``alpha = 1 / (2 C N)``."""
    X, y = load(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    C = 0.5
    ours = LinearClassifier(optimizer="lbfgs", alpha=1 / (factor * C * len(y)), tol=1e-10,
                            max_epochs=10_000, scaling="none").fit(X, y)
    sk = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    if len(ours.classes_) == 2:
        np.testing.assert_allclose(ours.coef_[1] - ours.coef_[0], sk.coef_[0], rtol=1e-5,
                                   atol=1e-6)
    else:
        W = ours.coef_ - ours.coef_.mean(axis=0)  # the softmax is shift-invariant
        np.testing.assert_allclose(W, sk.coef_, rtol=1e-5, atol=1e-6)


# --- 9. make run meets the README --------------------------------------------------------------


def test_make_run_meets_the_readme(cli, tmp_path):
    result = cli(["train", "--dataset", "digits", "--out", tmp_path, "--quiet"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(next(tmp_path.glob("*/metrics.json")).read_text())
    assert metrics["test_accuracy"] >= 0.95  # 0.9489 when tol stopped it at epoch 77


def test_convergence_warning_still_fires_when_the_budget_ends_early():
    X, y = load_iris(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match="max_epochs"):
        LinearClassifier(max_epochs=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LinearClassifier(random_state=0).fit(X, y)
