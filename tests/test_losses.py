import numpy as np
import pytest
from numpy.testing import assert_allclose

from linclass.losses import (
    get_loss,
    log_softmax,
    ova_hinge_loss,
    ova_logistic_loss,
    softmax,
    softmax_loss,
    softmax_loss_loop,
    svm_loss,
    svm_loss_loop,
)

# The lecture's worked example: rows are the cat, car and frog images; columns the scores
# for classes (cat, car, frog).
LECTURE_SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
LECTURE_LABELS = np.array([0, 1, 2])


def per_example(loss_fn, scores, y):
    return [loss_fn(scores[i : i + 1], y[i : i + 1])[0] for i in range(len(y))]


def test_svm_lecture_example_per_image_and_mean():
    losses = per_example(svm_loss, LECTURE_SCORES, LECTURE_LABELS)
    assert_allclose(losses, [2.9, 0.0, 12.9], atol=1e-12)
    mean, _ = svm_loss(LECTURE_SCORES, LECTURE_LABELS)
    assert round(mean, 2) == 5.27


def test_softmax_lecture_example_exp_normalize_log():
    s = LECTURE_SCORES[:1]
    e = np.exp(s[0])
    assert [round(e[0], 1), round(e[1], 1), round(e[2], 2)] == [24.5, 164.0, 0.18]
    p = softmax(s)[0]
    assert_allclose(np.round(p, 2), [0.13, 0.87, 0.00])
    loss, _ = softmax_loss(s, np.array([0]))
    assert_allclose(loss, -np.log(p[0]), rtol=1e-12)  # L_i = -log(0.13) for the cat label


@pytest.mark.parametrize("C", [2, 3, 10, 100])
def test_near_zero_weights_give_C_minus_1_and_log_C(C):
    s = np.zeros((7, C))
    y = np.arange(7) % C
    assert_allclose(svm_loss(s, y)[0], C - 1)
    assert_allclose(softmax_loss(s, y)[0], np.log(C))


def test_summing_hinge_over_all_classes_adds_exactly_the_margin():
    for margin in (1.0, 0.5, 2.0):
        base = svm_loss_loop(LECTURE_SCORES, LECTURE_LABELS, margin)
        all_classes = svm_loss_loop(LECTURE_SCORES, LECTURE_LABELS, margin, include_correct=True)
        assert_allclose(all_classes - base, margin, atol=1e-12)


def test_mean_over_classes_only_scales_the_loss():
    rng = np.random.default_rng(0)
    for C in (3, 5):
        s, y = rng.standard_normal((20, C)), rng.integers(0, C, 20)
        total = svm_loss_loop(s, y)
        mean = svm_loss_loop(s, y, class_reduction="mean")
        assert_allclose(mean * (C - 1), total, rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_vectorized_matches_loop_reference(seed):
    rng = np.random.default_rng(seed)
    n, C = rng.integers(1, 40), rng.integers(2, 12)
    s = 3 * rng.standard_normal((n, C))
    y = rng.integers(0, C, n)
    assert abs(svm_loss(s, y)[0] - svm_loss_loop(s, y)) < 1e-10
    assert abs(svm_loss(s, y, margin=0.3)[0] - svm_loss_loop(s, y, margin=0.3)) < 1e-10
    assert abs(softmax_loss(s, y)[0] - softmax_loss_loop(s, y)) < 1e-10


@pytest.mark.parametrize("name", ["svm", "softmax", "ova_hinge", "ova_logistic"])
@pytest.mark.parametrize("big", [1e4, -1e4])
def test_extreme_scores_stay_finite(name, big):
    rng = np.random.default_rng(0)
    s = rng.choice([big, -big, 0.0], size=(8, 5))
    y = rng.integers(0, 5, 8)
    loss, d = get_loss(name)(s, y)
    assert np.isfinite(loss) and np.all(np.isfinite(d))


def test_softmax_rows_sum_to_one_and_shift_invariance():
    rng = np.random.default_rng(2)
    s = rng.standard_normal((10, 6)) * 1e4
    assert_allclose(softmax(s).sum(axis=1), 1.0, rtol=1e-12)
    y = rng.integers(0, 6, 10)
    s2 = rng.standard_normal((10, 6))
    l1, g1 = softmax_loss(s2, y)
    l2, g2 = softmax_loss(s2 + 123.0, y)
    assert_allclose(l1, l2, rtol=1e-12)
    assert_allclose(g1, g2, atol=1e-14)
    assert_allclose(np.exp(log_softmax(s2)), softmax(s2), rtol=1e-12)


def test_softmax_gradient_rows_sum_to_zero():
    rng = np.random.default_rng(3)
    _, d = softmax_loss(rng.standard_normal((5, 4)), np.array([0, 1, 2, 3, 0]))
    assert_allclose(d.sum(axis=1), 0.0, atol=1e-15)


def test_ova_losses_match_their_formula():
    rng = np.random.default_rng(4)
    s, y = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    t = np.where(np.arange(3)[None, :] == y[:, None], 1.0, -1.0)
    assert_allclose(ova_hinge_loss(s, y)[0], np.maximum(0, 1 - t * s).sum() / 6)
    assert_allclose(ova_logistic_loss(s, y)[0], np.log1p(np.exp(-t * s)).sum() / 6)


@pytest.mark.parametrize(
    "s, y, match",
    [
        (np.zeros((3, 4)), np.array([0, 1, 4]), r"\[0, 3\]"),
        (np.zeros((3, 4)), np.array([0, -1, 2]), r"\[0, 3\]"),
        (np.zeros((3, 4)), np.array([0, 1]), "shape"),
        (np.zeros(4), np.array([0]), "2-D"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), "integers"),
        (np.array([[0.0, np.nan]]), np.array([0]), "NaN"),
        (np.array([[0.0, np.inf]]), np.array([0]), "NaN or inf"),
        (np.zeros((0, 3)), np.zeros(0, dtype=int), "0 samples"),
    ],
)
@pytest.mark.parametrize("fn", [svm_loss, softmax_loss])
def test_bad_arguments_raise_value_error(fn, s, y, match):
    with pytest.raises(ValueError, match=match):
        fn(s, y)


def test_unknown_loss_name_lists_choices():
    with pytest.raises(ValueError, match="softmax"):
        get_loss("hinge2")
