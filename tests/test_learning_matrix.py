"""Every combination learns: the learning conformance matrix.

Each estimator x loss x penalty x optimizer, with default settings (nothing tuned), on
small problems that look like users' data:

* ``standardized``: digits, columns scaled to mean 0 and variance 1;
* ``raw16``: digits as they come (0..16);
* ``raw255``: digits as 8-bit pixels (0..255);
* ``mixed``: a 10-feature problem whose columns sit on scales from 1e-2 to 1e3 with
  offsets up to 1e3;
* regression: diabetes with its raw targets (25..346), iris petal width from raw
  centimetres, and columns on mixed scales.

Each fit must reach a floor against a reference on held-out rows: scikit-learn's
``LogisticRegression`` / ``Ridge`` on standardized features, or linclass's own converged
L-BFGS with the same loss and penalty (for the losses scikit-learn does not have).
Accuracy within 0.03, R^2 within 0.02; the derivative-free searches get their own, lower
floor (well above chance). A combination that cannot learn must be refused before any
work; none may end with a finite-but-useless model.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_diabetes, load_digits, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from linclass import LinearClassifier, LinearRegressor
from linclass.options import names

LOSSES = names("loss")
PENALTIES = names("penalty")
GRADIENT_OPTIMIZERS = tuple(o for o in names("optimizer", "gradient"))
SEARCHES = names("optimizer", "search")
ACCURACY_MARGIN = 0.03
R2_MARGIN = 0.02


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


# --- problems -----------------------------------------------------------------------------


@functools.cache
def classification(name: str):
    """``(X_train, X_test, y_train, y_test)`` of a named problem."""
    if name == "mixed":
        X, y = make_classification(900, n_features=10, n_informative=6, n_classes=3,
                                   n_clusters_per_class=1, class_sep=1.5, random_state=0)
        scales = np.logspace(-2, 3, 10)
        X = X * scales + np.linspace(0, 1e3, 10)
    else:
        X, y = load_digits(return_X_y=True)
        X, y = X[:900], y[:900]
        if name == "standardized":
            X = StandardScaler().fit_transform(X)
        elif name == "raw255":
            X = np.round(X * (255 / 16))
    return train_test_split(X, y, test_size=0.33, random_state=0, stratify=y)


@functools.cache
def regression(name: str):
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)  # targets 25..346
    elif name == "iris":
        data = load_iris().data
        X, y = data[:, :3], data[:, 3]  # centimetres
    else:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((400, 6)) * np.logspace(-2, 3, 6) + 50.0
        y = X @ (1.0 / np.logspace(-2, 3, 6)) * 30 + 200 + rng.standard_normal(400) * 5
    return train_test_split(X, y, test_size=0.33, random_state=0)


@functools.cache
def reference_accuracy(problem: str, loss: str, penalty: str) -> float:
    """The floor's reference: linclass's L-BFGS run to convergence on the same objective
    (same loss, penalty and alpha, the raw features), and for the softmax loss also
    scikit-learn's ``LogisticRegression`` on standardized features (the lower of the two:
    the objectives differ in where the penalty applies)."""
    X_tr, X_te, y_tr, y_te = classification(problem)
    converged = _quiet(LinearClassifier(loss=loss, penalty=penalty, optimizer="lbfgs",
                                        max_epochs=1500, tol=1e-7, random_state=0).fit,
                       X_tr, y_tr)
    ours = converged.score(X_te, y_te)
    if loss != "softmax":
        return ours
    sk = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X_tr, y_tr)
    return min(sk.score(X_te, y_te), ours)


@functools.cache
def reference_r2(problem: str, penalty: str) -> float:
    """scikit-learn's exact counterpart of ``LinearRegressor(penalty=...)`` at the default
    alpha (:func:`linclass.estimators.regressor.sklearn_alpha`, inverted), on the raw
    features: ``LinearRegression``, ``Ridge``, ``Lasso`` or ``ElasticNet``."""
    X_tr, X_te, y_tr, y_te = regression(problem)
    alpha, n = 1e-4, len(y_tr)
    model = {"none": LinearRegression(),
             "l2": Ridge(alpha=alpha * n),
             "l1": Lasso(alpha=alpha / 2, max_iter=100_000, tol=1e-10),
             # alpha (1 + r) = a, 2 r / (1 + r) = 0.5 -> r = 1/3, a = 0.75 alpha
             "elasticnet": ElasticNet(alpha=0.75 * alpha, l1_ratio=1 / 3, max_iter=100_000,
                                      tol=1e-10)}[penalty]
    return model.fit(X_tr, y_tr).score(X_te, y_te)


# --- classifiers: every loss x gradient optimizer on every problem -------------------------


#: (loss, problem): every loss on the two hard problems (0..255 pixels, mixed scales), and
#: the smooth extremes on the easy ones too (kept small: the suite's time budget).
GRID = ([(loss, p) for loss in LOSSES for p in ("raw255", "mixed")]
        + [(loss, p) for loss in ("softmax", "squared") for p in ("standardized", "raw16")])


@pytest.mark.parametrize("optimizer", [*GRADIENT_OPTIMIZERS, "lbfgs"])
@pytest.mark.parametrize("loss, problem", GRID)
def test_every_loss_and_optimizer_learns_with_defaults(problem, optimizer, loss):
    X_tr, X_te, y_tr, y_te = classification(problem)
    clf = _quiet(LinearClassifier(loss=loss, optimizer=optimizer, random_state=0).fit,
                 X_tr, y_tr)
    accuracy = clf.score(X_te, y_te)
    floor = reference_accuracy(problem, loss, "l2") - ACCURACY_MARGIN
    assert accuracy >= floor, (problem, optimizer, loss, accuracy, floor, clf.settings_)


@pytest.mark.parametrize("penalty", [p for p in PENALTIES if p != "l2"])
@pytest.mark.parametrize("optimizer", [*GRADIENT_OPTIMIZERS, "lbfgs"])
@pytest.mark.parametrize("problem", ["mixed"])
def test_every_penalty_learns_with_defaults(penalty, optimizer, problem):
    X_tr, X_te, y_tr, y_te = classification(problem)
    clf = _quiet(LinearClassifier(penalty=penalty, optimizer=optimizer, random_state=0).fit,
                 X_tr, y_tr)
    floor = reference_accuracy(problem, "softmax", penalty) - ACCURACY_MARGIN
    assert clf.score(X_te, y_te) >= floor


@pytest.mark.parametrize("scaling", ["auto", "none"])
@pytest.mark.parametrize("gradient", ["numerical", "autodiff"])
def test_numerical_and_autodiff_gradients_learn_like_the_analytic_one(gradient, scaling):
    X, y = load_iris(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.33, random_state=0,
                                              stratify=y)
    kw = dict(optimizer="gd", max_epochs=150, random_state=0, scaling=scaling, tol=None)
    analytic = LinearClassifier(**kw).fit(X_tr, y_tr)
    other = LinearClassifier(gradient=gradient, **kw).fit(X_tr, y_tr)
    # 150 steps of the record's rate on raw centimetres (scaling="none") oscillate, which
    # amplifies the finite differences' rounding to 4e-4; standardized, they agree to 1e-5.
    tight = scaling == "auto" or gradient == "autodiff"
    np.testing.assert_allclose(other.coef_, analytic.coef_, rtol=1e-5 if tight else 1e-3,
                               atol=1e-7 if tight else 1e-5)
    if scaling == "auto":  # 150 plain steps on raw centimetres are too few
        assert other.score(X_te, y_te) >= 0.9


def test_scaling_changes_the_path_not_the_objective():
    """Standardized coordinates minimize the user's own objective: the history's J is the
    objective of ``coef_`` and ``intercept_`` on the raw rows, and L-BFGS in standardized
    coordinates ends at least as low as in plain ones (which converge slower)."""
    from linclass.objective import objective_value

    for problem in ("raw255", "mixed"):
        X_tr, _, y_tr, _ = classification(problem)
        fits = [_quiet(LinearClassifier(optimizer="lbfgs", alpha=1e-2, scaling=s,
                                        max_epochs=3000, tol=1e-10, random_state=0).fit,
                       X_tr, y_tr) for s in ("auto", "none")]
        for fit in fits:
            J = objective_value({"W": fit.coef_, "b": fit.intercept_}, X_tr,
                                np.searchsorted(fit.classes_, y_tr), **fit.objective_params())
            assert fit.history_.train_loss[-1] == pytest.approx(J, rel=1e-9)
        assert fits[0].history_.train_loss[-1] <= fits[1].history_.train_loss[-1] * (1 + 1e-6)
        assert fits[0].settings_["scaling"] == "standardize"
        assert fits[1].settings_["scaling"] == "none"


# --- the derivative-free searches: a lower floor, on a small problem -----------------------


@functools.cache
def small_problem(scale: float):
    X, y = make_classification(240, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, class_sep=2.0,
                               random_state=1)
    X = X * scale + 3 * scale
    return train_test_split(X, y, test_size=0.33, random_state=0, stratify=y)


@pytest.mark.parametrize("loss, scale", [("softmax", 1.0), ("svm", 100.0), ("squared", 100.0)])
@pytest.mark.parametrize("optimizer", SEARCHES)
def test_searches_are_well_above_chance(optimizer, loss, scale):
    X_tr, X_te, y_tr, y_te = small_problem(scale)
    clf = LinearClassifier(loss=loss, optimizer=optimizer, random_state=0).fit(X_tr, y_tr)
    assert clf.score(X_te, y_te) >= 0.7  # chance is 1/3; lbfgs gets about 0.9


# --- regressors: every penalty x optimizer on raw targets ----------------------------------


@pytest.mark.parametrize("problem, penalty", [
    *(("diabetes", p) for p in PENALTIES), ("mixed", "l2"), ("mixed", "elasticnet"),
    ("iris", "none")])
@pytest.mark.parametrize("optimizer", [*GRADIENT_OPTIMIZERS, "lbfgs"])
def test_regressor_learns_raw_targets_with_defaults(problem, optimizer, penalty):
    X_tr, X_te, y_tr, y_te = regression(problem)
    reg = _quiet(LinearRegressor(penalty=penalty, optimizer=optimizer, random_state=0).fit,
                 X_tr, y_tr)
    r2 = reg.score(X_te, y_te)
    assert r2 >= reference_r2(problem, penalty) - R2_MARGIN, (problem, optimizer, penalty, r2)


@pytest.mark.parametrize("optimizer", SEARCHES)
def test_regressor_searches_are_well_above_the_mean(optimizer):
    X_tr, X_te, y_tr, y_te = regression("iris")
    reg = LinearRegressor(optimizer=optimizer, random_state=0).fit(X_tr, y_tr)
    assert reg.score(X_te, y_te) >= 0.3  # predicting the mean scores 0; Ridge 0.93


def test_regressor_matches_least_squares_when_converged():
    X_tr, _, y_tr, _ = regression("diabetes")
    reg = LinearRegressor(penalty="none", optimizer="lbfgs", tol=1e-10, max_epochs=5000
                          ).fit(X_tr, y_tr)
    ref = LinearRegression().fit(X_tr, y_tr)
    np.testing.assert_allclose(reg.coef_, ref.coef_, rtol=1e-4)  # s1..s6 are collinear
    assert reg.intercept_ == pytest.approx(ref.intercept_, rel=1e-7)


# --- the torch backend (CPU) ---------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["gd", "momentum"])
@pytest.mark.parametrize("loss", LOSSES)
def test_torch_backend_learns_like_numpy(loss, optimizer):
    pytest.importorskip("torch")
    X_tr, X_te, y_tr, y_te = classification("raw255")
    clf = _quiet(LinearClassifier(loss=loss, optimizer=optimizer, backend="torch",
                                  random_state=0).fit, X_tr, y_tr)
    assert clf.score(X_te, y_te) >= reference_accuracy("raw255", loss, "l2") - ACCURACY_MARGIN


# --- beyond the fixed problems: Hypothesis draws sizes, scales and label sets -------------


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(n_samples=st.integers(60, 400), n_features=st.integers(3, 30),
       n_classes=st.integers(2, 5), log_scale=st.floats(-1, 4), spread=st.floats(0, 3),
       offset=st.floats(-1e3, 1e3), labels=st.sampled_from(["int", "str", "negative"]))
def test_defaults_learn_on_drawn_problems(n_samples, n_features, n_classes, log_scale,
                                          spread, offset, labels):
    X, y = make_classification(n_samples, n_features=n_features,
                               n_informative=3,
                               n_redundant=0, n_classes=n_classes, n_clusters_per_class=1,
                               class_sep=2.0, random_state=n_samples)
    # Columns up to three orders of magnitude apart, offsets up to 1e3. (Features far below
    # 1 everywhere are another matter: alpha penalizes the large weights they need, so the
    # objective's own minimizer is near zero there, as scikit-learn's is.)
    X = X * np.logspace(log_scale, log_scale + spread, n_features) + offset
    y = {"int": y, "str": np.array([f"c{k}" for k in y]), "negative": y - 7}[labels]
    ours = _quiet(LinearClassifier(random_state=0).fit, X, y)
    ref = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, y)
    assert ours.score(X, y) >= ref.score(X, y) - 0.05
