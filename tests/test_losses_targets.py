"""Squared error, probability targets and KL divergence (issue 15), against references.

References are written independently: loops like the slides, plain NumPy, SciPy's
``rel_entr``, and centered differences of the loss value in float64.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import rel_entr

from linclass.grad import gradient_check, make_value_and_grad, max_relative_error
from linclass.losses import (
    cross_entropy,
    entropy,
    kl_divergence,
    one_hot,
    softmax,
    softmax_loss,
    softmax_loss_loop,
    squared_loss,
    squared_loss_into,
    squared_loss_loop,
)
from linclass.objective import objective_value
from linclass.options import FAMILIES

SLIDE_P_HAT = np.array([0.5, 0.01, 0.01, 0.01, 0.01, 0.01, 0.15, 0.3])
SLIDE_P_STAR = one_hot(np.array([3]), 8)[0]  # the slide's ground truth: class 4 of 8


def loss_gradient_error(loss_fn, scores, y):
    """Max relative error of a loss's dL/dscores against centered differences."""
    value = functools.partial(lambda p: loss_fn(p["S"], y)[0])
    _, d = loss_fn(scores, y)
    return gradient_check(value, {"S": d}, {"S": scores.copy()})


def test_softmax_loop_reference_is_finite_at_huge_scores():
    assert softmax_loss_loop(np.array([[1e4, -1e4, 0.0]]), np.array([1])) == 20000.0
    assert softmax_loss(np.array([[1e4, -1e4, 0.0]]), np.array([1]))[0] == 20000.0


@pytest.mark.parametrize("seed", range(4))
def test_squared_matches_its_loop_for_labels_and_real_targets(seed):
    rng = np.random.default_rng(seed)
    n, C = rng.integers(1, 30), rng.integers(2, 8)
    s = 2 * rng.standard_normal((n, C))
    y = rng.integers(0, C, n)
    assert abs(squared_loss(s, y)[0] - squared_loss_loop(s, y)) < 1e-10
    T = rng.standard_normal((n, C))
    assert abs(squared_loss(s, T)[0] - squared_loss_loop(s, T)) < 1e-10
    assert_allclose(squared_loss(s, y)[0], squared_loss(s, one_hot(y, C))[0], rtol=1e-14)


def test_squared_gradients_match_centered_differences_in_float64():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((9, 4))
    assert loss_gradient_error(squared_loss, s, rng.integers(0, 4, 9)) < 1e-8
    assert loss_gradient_error(squared_loss, s, rng.standard_normal((9, 4))) < 1e-8
    assert loss_gradient_error(squared_loss, s[:, :1], rng.standard_normal(9)) < 1e-8


def test_squared_kernel_writes_the_same_gradient_in_place():
    rng = np.random.default_rng(1)
    s, y = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    value, d = squared_loss(s, y)
    work = s.copy()
    assert squared_loss_into(work, y, work) == pytest.approx(value, rel=1e-14)
    assert_allclose(work, d, rtol=1e-14)


def test_regression_targets_all_three_gradient_methods_agree():
    rng = np.random.default_rng(2)
    X, t = rng.standard_normal((25, 5)), rng.standard_normal(25)
    params = {"W": rng.standard_normal((1, 5)), "b": rng.standard_normal(1)}
    grads = {}
    for method in ("analytic", "numerical", "autodiff"):
        vg = make_value_and_grad(method, loss="squared", penalty="l2", alpha=0.1)
        value, grads[method] = vg(params, X, t)
        assert value == pytest.approx(np.mean((X @ params["W"][0] + params["b"][0] - t) ** 2)
                                      + 0.1 * np.sum(params["W"] ** 2), rel=1e-12)
    assert max_relative_error(grads["analytic"], grads["autodiff"]) < 1e-12
    assert max_relative_error(grads["analytic"], grads["numerical"]) < 1e-7


def test_squared_is_a_loss_choice_of_the_options_records():
    assert "squared" in FAMILIES["loss"]
    f = functools.partial(objective_value, loss="squared", penalty="none")
    X, y = np.eye(3), np.array([0, 1, 2])
    assert f({"W": np.eye(3), "b": np.zeros(3)}, X, y) == 0.0  # scores = one-hot targets


@pytest.mark.parametrize("bad, match", [
    (np.ones((4, 2)), "shape"),
    (np.array([1.0, np.nan, 0.0, 0.0]), "NaN"),
])
def test_squared_refuses_bad_targets(bad, match):
    with pytest.raises(ValueError, match=match):
        squared_loss(np.zeros((4, 3)) if bad.ndim == 2 else np.zeros((4, 1)), bad)


# --- probability targets --------------------------------------------------------------


def test_one_hot_probability_targets_equal_integer_labels():
    rng = np.random.default_rng(3)
    s, y = 5 * rng.standard_normal((10, 4)), rng.integers(0, 4, 10)
    v_labels, d_labels = softmax_loss(s, y)
    v_probs, d_probs = softmax_loss(s, one_hot(y, 4))
    assert v_probs == pytest.approx(v_labels, rel=1e-13)
    assert_allclose(d_probs, d_labels, atol=1e-15)


def test_soft_targets_match_a_numpy_reference_and_centered_differences():
    rng = np.random.default_rng(4)
    s = 3 * rng.standard_normal((7, 5))
    P = rng.dirichlet(np.ones(5), size=7)
    logq = s - np.log(np.exp(s).sum(axis=1, keepdims=True))  # plain NumPy, unshifted
    reference = -np.mean(np.sum(P * logq, axis=1))
    value, d = softmax_loss(s, P)
    assert value == pytest.approx(reference, rel=1e-12)
    assert_allclose(d, (np.exp(logq) - P) / 7, atol=1e-15)
    assert loss_gradient_error(softmax_loss, s, P) < 1e-7


def test_label_smoothing_at_extreme_scores_stays_finite():
    s = np.array([[1e4, -1e4, 0.0]])
    P = np.array([[0.05, 0.9, 0.05]])
    value, d = softmax_loss(s, P)
    assert np.isfinite(value) and np.all(np.isfinite(d))
    assert value == pytest.approx(0.9 * 2e4 + 0.05 * 1e4, rel=1e-12)


@pytest.mark.parametrize("P, match", [
    (np.array([[0.5, 0.6, -0.1]]), "negative"),
    (np.array([[0.5, 0.6, 0.1]]), "sum to 1"),
    (np.array([[0.5, 0.5]]), "shape"),
])
def test_bad_probability_targets_are_refused(P, match):
    with pytest.raises(ValueError, match=match):
        softmax_loss(np.zeros((1, 3)), P)


# --- KL divergence --------------------------------------------------------------------


def test_kl_of_the_slide_is_minus_log_of_the_true_class_probability():
    kl = kl_divergence(SLIDE_P_STAR, SLIDE_P_HAT)
    assert kl == pytest.approx(-np.log(0.01), rel=1e-14)  # 4.6052
    assert entropy(SLIDE_P_STAR) == 0.0
    assert cross_entropy(SLIDE_P_STAR, SLIDE_P_HAT) == pytest.approx(kl, rel=1e-14)


def test_kl_matches_scipy_rel_entr_and_is_cross_entropy_minus_entropy():
    rng = np.random.default_rng(5)
    p, q = rng.dirichlet(np.ones(6), size=4), rng.dirichlet(np.ones(6), size=4)
    p[0, 2] = 0.0
    p[0] /= p[0].sum()
    kl = kl_divergence(p, q)
    assert_allclose(kl, rel_entr(p, q).sum(axis=1), rtol=1e-12)
    assert_allclose(kl, cross_entropy(p, q) - entropy(p), rtol=1e-12)
    assert np.all(kl > 0) and kl_divergence(p[1], p[1]) == pytest.approx(0.0, abs=1e-15)


def test_mean_kl_to_softmax_has_the_soft_target_loss_gradient():
    rng = np.random.default_rng(6)
    s, P = rng.standard_normal((5, 4)), rng.dirichlet(np.ones(4), size=5)
    mean_kl = float(np.mean(kl_divergence(P, softmax(s))))
    value, _ = softmax_loss(s, P)
    assert value - mean_kl == pytest.approx(float(np.mean(entropy(P))), rel=1e-12)


def test_kl_refuses_what_is_not_a_distribution():
    with pytest.raises(ValueError, match="sum to 1"):
        kl_divergence([0.5, 0.2], [0.5, 0.5])
    with pytest.raises(ValueError, match="same shape"):
        kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])


def test_squared_loss_trains_a_classifier_on_the_fast_path_and_without_probabilities():
    from sklearn.datasets import load_digits

    from linclass import LinearClassifier

    d = load_digits()
    X, y = d.data[:900] / 16.0, d.target[:900]
    clf = LinearClassifier(loss="squared", optimizer="momentum", max_epochs=30, tol=None,
                           learning_rate=0.01, random_state=0).fit(X, y)
    assert clf.score(d.data[900:] / 16.0, d.target[900:]) > 0.85
    assert not hasattr(clf, "predict_proba")  # squared error gives no probabilities


@pytest.mark.parametrize("include_correct", [False, True])
@pytest.mark.parametrize("class_reduction", ["sum", "mean"])
@pytest.mark.parametrize("margin", [1.0, 0.4])
def test_svm_variants_match_the_loop_reference(include_correct, class_reduction, margin):
    from linclass.losses import svm_loss, svm_loss_loop

    rng = np.random.default_rng(7)
    s, y = rng.standard_normal((12, 5)), rng.integers(0, 5, 12)
    kw = dict(include_correct=include_correct, class_reduction=class_reduction)
    value, d = svm_loss(s, y, margin, **kw)
    assert value == pytest.approx(svm_loss_loop(s, y, margin, **kw), rel=1e-12)
    assert loss_gradient_error(lambda S, t: svm_loss(S, t, margin, **kw), s, y) < 1e-7
