"""L-BFGS (linclass.optim.lbfgs, run by linclass.training.runner): the optimum scikit-learn's
LogisticRegression finds, the tolerance stop, float64 state over float32 data, chunking,
and clear refusals."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from linclass import LinearClassifier
from linclass.model import init_params
from linclass.objective import objective_value
from linclass.optim.lbfgs import _layout, flatten, minimize_lbfgs, unflatten
from linclass.options import choice
from linclass.training import Spec, fit, make_parts, partial_fit


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def test_the_record_marks_it_beyond_the_lecture():
    record = choice("optimizer", "lbfgs")
    assert not record.lecture and record.has("solver") and record.has("full_batch")
    assert "learning_rate" not in record.params


def test_flatten_round_trips_and_is_float64():
    params = {"W": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([7, 8], np.float32)}
    layout = _layout(params)
    x = flatten(params, layout)
    assert x.dtype == np.float64 and x.tolist() == [0, 1, 2, 3, 4, 5, 7, 8]
    back = unflatten(x, layout, np.float32)
    assert all(back[k].dtype == np.float32 and np.array_equal(back[k], params[k]) for k in params)


def test_minimize_lbfgs_solves_a_quadratic():
    """J = |W - A|^2 + |b - c|^2 has its minimum at (A, c)."""
    A, c = np.array([[1.0, -2.0], [3.0, 0.5]]), np.array([0.25, -1.0])

    def fun(p):
        return (float(np.sum((p["W"] - A) ** 2) + np.sum((p["b"] - c) ** 2)),
                {"W": 2 * (p["W"] - A), "b": 2 * (p["b"] - c)})

    start = {"W": np.zeros((2, 2)), "b": np.zeros(2)}
    result = minimize_lbfgs(fun, start, max_iter=50, tol=1e-10)
    assert result.converged and result.n_iter < 50
    np.testing.assert_allclose(result.params["W"], A, atol=1e-8)
    np.testing.assert_allclose(result.params["b"], c, atol=1e-8)
    assert np.array_equal(start["W"], np.zeros((2, 2)))  # not modified


@pytest.mark.parametrize("C", [0.1, 10.0])
def test_same_optimum_as_sklearn_logistic_regression(digits, C, obj):
    """linclass minimizes mean CE + alpha |W|^2, scikit-learn C * sum CE + |W|^2 / 2 (W
    only, as here), so alpha = 1 / (2 C N) gives the same minimizer."""
    X, y = digits
    alpha = 1.0 / (2 * C * len(y))
    clf = LinearClassifier(optimizer="lbfgs", alpha=alpha, tol=1e-9, max_epochs=3000,
                           random_state=0).fit(X, y)
    with threadpool_limits(1):
        sk = LogisticRegression(C=C, tol=1e-9, max_iter=3000).fit(X, y)
    assert clf.history_.epoch[-1] == clf.n_iter_ < 3000  # the tolerance stopped it
    scale = np.abs(sk.coef_).max()
    np.testing.assert_allclose(clf.coef_, sk.coef_, atol=1e-4 * scale)
    np.testing.assert_allclose(clf.intercept_ - clf.intercept_.mean(),
                               sk.intercept_ - sk.intercept_.mean(), atol=1e-4 * scale)
    J = functools.partial(objective_value, X=X, y=y, loss="softmax", penalty="l2", alpha=alpha)
    ours, theirs = J({"W": clf.coef_, "b": clf.intercept_}), J({"W": sk.coef_, "b": sk.intercept_})
    assert ours <= theirs + 1e-9
    assert np.mean(clf.predict(X) == sk.predict(X)) == 1.0


@pytest.fixture(scope="module")
def obj(softmax_objective):
    return softmax_objective(1e-2)


def test_tolerance_stop_and_budget(digits, obj):
    X, y = digits
    params = init_params(64, 10, random_state=0)
    loose = fit(params, X, y, optimizer="lbfgs", tol=1e-2, max_epochs=500, **obj)
    tight = fit(params, X, y, optimizer="lbfgs", tol=1e-6, max_epochs=500, **obj)
    budget = fit(params, X, y, optimizer="lbfgs", tol=None, max_epochs=5, **obj)
    assert loose.stopped_reason == tight.stopped_reason == "converged"
    assert loose.n_iter < tight.n_iter < 500
    step = make_parts(Spec(X, y, obj["value_and_grad"], obj["value"], None, None, None, True,
                           tight.params), "numpy").step
    grads = step.full(tight.params, X, y)[1]
    assert np.abs(np.concatenate([g.ravel() for g in grads.values()])).max() <= 1e-6
    assert budget.stopped_reason == "max_epochs" and budget.n_iter == 5
    assert budget.history.epoch == [1, 2, 3, 4, 5]
    assert tight.history.train_loss[-1] < budget.history.train_loss[-1]
    assert tight.history.n_loss_evals[-1] >= tight.n_iter  # line searches count


def test_float32_data_float64_state(digits, obj):
    X, y = digits
    X32 = X.astype(np.float32)
    params = init_params(64, 10, random_state=0)
    r32 = fit(params, X32, y, optimizer="lbfgs", tol=1e-5, max_epochs=500, **obj)
    r64 = fit(params, X, y, optimizer="lbfgs", tol=1e-5, max_epochs=500, **obj)
    assert r32.params["W"].dtype == np.float32 and r32.state.x.dtype == np.float64
    np.testing.assert_allclose(r32.params["W"], r64.params["W"], atol=1e-3)


def test_chunked_pass_equals_one_pass(digits, obj):
    """Chunks of 7 rows give the same fit as one chunk (the weights sum the mean)."""
    X, y = digits
    params = init_params(64, 10, random_state=0)
    one = fit(params, X, y, optimizer="lbfgs", **obj, max_epochs=20, tol=None,
              chunk_rows=len(y))
    many = fit(params, X, y, optimizer="lbfgs", **obj, max_epochs=20, tol=None, chunk_rows=7)
    np.testing.assert_allclose(many.params["W"], one.params["W"], rtol=1e-9, atol=1e-12)


def test_every_gradient_method_reaches_the_same_optimum(digits):
    X, y = digits[0][:150, :16], digits[1][:150]
    coefs = {m: LinearClassifier(optimizer="lbfgs", gradient=m, alpha=1e-2, tol=1e-6,
                                 max_epochs=300, random_state=0).fit(X, y).coef_
             for m in ("analytic", "autodiff", "numerical")}
    np.testing.assert_allclose(coefs["autodiff"], coefs["analytic"], atol=1e-6)
    np.testing.assert_allclose(coefs["numerical"], coefs["analytic"], atol=1e-3)


def test_nan_in_a_chunk_is_named(digits, obj):
    """Rows the loop did not check (a Dask partition's) go through the checked step,
    whose error names the chunk."""
    X, y = digits[0].copy(), digits[1]
    X[300, 5] = np.nan
    params = init_params(64, 10, random_state=0)
    step = make_parts(Spec(X, y, obj["value_and_grad"], obj["value"], None, None, None, True,
                           params, chunk_rows=128, checked=True), "numpy").step
    with pytest.raises(ValueError, match=r"rows 256:384 of X: X contains NaN"):
        step.full(params, X, y)
    with pytest.raises(ValueError, match=r"rows 256:384 of X: X contains NaN"):
        step.evaluate(params, X, y)


@pytest.mark.parametrize("kwargs,match", [
    (dict(learning_rate=0.1), "takes no learning rate"),
    (dict(schedule="cosine"), "takes no learning rate or schedule"),
    (dict(early_stopping=True, X_val=np.zeros((2, 64)), y_val=np.zeros(2, int)),
     "early_stopping does not apply"),
    (dict(optimizer_kwargs={"mu": 0.9}), r"no option\(s\) \['mu'\]"),
])
def test_refusals(digits, kwargs, match, obj):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        fit(init_params(64, 10), X, y, optimizer="lbfgs", **obj, **kwargs)


def test_partial_fit_is_refused(digits, obj):
    X, y = digits
    with pytest.raises(ValueError, match="runs whole fits only"):
        partial_fit(init_params(64, 10), X, y, optimizer="lbfgs", **obj)


def test_estimator_refuses_a_learning_rate():
    with pytest.raises(ValueError, match="learning_rate applies to optimizer"):
        LinearClassifier(optimizer="lbfgs", learning_rate=0.1).fit(np.eye(4), [0, 1, 0, 1])
