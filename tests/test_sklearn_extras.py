"""The rest of scikit-learn's linear-model surface: warm_start, n_iter_, predict_log_proba
(only where probabilities exist) and DecisionBoundaryDisplay."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.inspection import DecisionBoundaryDisplay  # noqa: E402

from linclass import LinearClassifier, LinearRegressor  # noqa: E402
from linclass.objective import objective_value  # noqa: E402


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=300, centers=3, n_features=2, random_state=0)
    return X, y


def test_warm_start_continues_from_the_coefficients(blobs):
    """Two warm fits of 5 epochs each reach a lower objective than one cold fit of 5, and
    the second fit starts where the first ended (its first epoch's loss is near the last)."""
    X, y = blobs
    kw = dict(optimizer="gd", max_epochs=5, tol=None, scaling="none", learning_rate=0.05,
              schedule="constant",
              random_state=0)
    cold = LinearClassifier(**kw).fit(X, y)
    warm = LinearClassifier(warm_start=True, **kw).fit(X, y)
    first_end = warm.history_.train_loss[-1]
    warm.fit(X, y)
    assert warm.history_.train_loss[0] < first_end  # continued, not restarted
    J = lambda c: objective_value({"W": c.coef_, "b": c.intercept_}, X, y, "softmax", "l2",  # noqa: E731
                                  alpha=c.alpha)
    assert J(warm) < J(cold)
    # ten cold epochs from the same start take the same gd steps as five plus five
    ten = LinearClassifier(**{**kw, "max_epochs": 10}).fit(X, y)
    np.testing.assert_allclose(warm.coef_, ten.coef_, rtol=1e-6, atol=1e-9)
    assert warm.n_iter_ == 5 and ten.n_iter_ == 10


def test_warm_start_lbfgs_restarts_at_the_optimum(blobs):
    X, y = blobs
    clf = LinearClassifier(optimizer="lbfgs", warm_start=True, tol=1e-8, max_epochs=500)
    clf.fit(X, y)
    first = clf.n_iter_
    clf.fit(X, y)
    assert clf.n_iter_ < first / 3  # already converged: a few iterations at most


def test_warm_start_refuses_other_classes_or_features(blobs):
    X, y = blobs
    clf = LinearClassifier(warm_start=True, max_epochs=2, tol=None).fit(X, y)
    with pytest.raises(ValueError, match="warm_start=True continues the previous fit, whose "
                                         "classes were \\[0, 1, 2\\]"):
        clf.fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(np.hstack([X, X]), y)
    reg = LinearRegressor(warm_start=True, max_epochs=2, tol=None).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="warm_start"):
        reg.fit(np.hstack([X, X]), X[:, 0])
    # without warm_start a refit with other classes is a new fit
    LinearClassifier(max_epochs=2, tol=None).fit(X, y).fit(X[y < 2], y[y < 2])


def test_regressor_warm_start_continues(blobs):
    X, _ = blobs
    t = X @ [2.0, -1.0] + 3.0
    kw = dict(optimizer="gd", max_epochs=3, tol=None, scaling="none", learning_rate=0.01,
              schedule="constant",
              random_state=0)
    reg = LinearRegressor(warm_start=True, **kw).fit(X, t)
    reg.fit(X, t)
    six = LinearRegressor(**{**kw, "max_epochs": 6}).fit(X, t)
    np.testing.assert_allclose(reg.coef_, six.coef_, rtol=1e-6)


def test_predict_log_proba_only_with_probabilities(blobs):
    X, y = blobs
    clf = LinearClassifier(optimizer="lbfgs", max_epochs=50).fit(X, y)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(clf.predict_proba(X)),
                               rtol=1e-10, atol=1e-12)
    hinge = LinearClassifier(loss="svm", optimizer="lbfgs", max_epochs=20).fit(X, y)
    assert not hasattr(hinge, "predict_log_proba") and not hasattr(hinge, "predict_proba")
    with pytest.raises(AttributeError):
        hinge.predict_log_proba(X)


@pytest.mark.parametrize("response", ["predict", "decision_function", "predict_proba"])
def test_decision_boundary_display_draws_our_responses(blobs, response):
    import matplotlib.pyplot as plt

    X, y = blobs
    clf = LinearClassifier(optimizer="lbfgs", max_epochs=100).fit(X, y)
    display = DecisionBoundaryDisplay.from_estimator(
        clf, X, response_method=response, grid_resolution=40,
        **({"class_of_interest": 1} if response != "predict" else {}))
    grid = np.c_[display.xx0.ravel(), display.xx1.ravel()]
    expected = getattr(clf, response)(grid)
    if response == "predict":
        expected = np.searchsorted(clf.classes_, expected)
    else:
        expected = expected[:, 1]
    np.testing.assert_allclose(display.response.ravel(), expected, rtol=1e-12)
    assert display.surface_ is not None
    plt.close("all")


def test_binary_decision_boundary_is_the_zero_level_of_decision_function(blobs):
    import matplotlib.pyplot as plt

    X, y = blobs
    keep = y < 2
    clf = LinearClassifier(optimizer="lbfgs", max_epochs=100).fit(X[keep], y[keep])
    display = DecisionBoundaryDisplay.from_estimator(clf, X[keep],
                                                     response_method="decision_function",
                                                     grid_resolution=30)
    grid = np.c_[display.xx0.ravel(), display.xx1.ravel()]
    np.testing.assert_allclose(display.response.ravel(), clf.decision_function(grid))
    assert np.array_equal(display.response.ravel() > 0, clf.predict(grid) == clf.classes_[1])
    plt.close("all")
