"""explain_scores: the lecture's worked examples, agreement with the library, bad input."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from linclass.explain import EXPLAINED_LOSSES, explain_scores
from linclass.losses import LOSSES
from linclass.options import names

NAMES = ["cat", "car", "frog"]
# The lecture's cat image: scores for cat, car, frog.
CAT = np.array([3.2, 5.1, -1.7])


def test_svm_cat_example_matches_the_slide():
    out = explain_scores(CAT, 0, "svm", NAMES)
    assert [t["name"] for t in out["terms"]] == ["car", "frog"]
    assert_allclose([t["term"] for t in out["terms"]], [2.9, 0.0], atol=1e-12)
    assert out["total"] == pytest.approx(2.9)
    assert out["terms"][0]["formula"] == "max(0, 5.10 - 3.20 + 1)"
    assert out["lines"][-1] == "L_i = 2.9000"
    assert out["predicted"] == 1


def test_softmax_cat_example_matches_the_slide():
    out = explain_scores(CAT, 0, "softmax", NAMES)
    assert out["shift"] == 0.0
    assert_allclose(out["exp"], [24.5, 164.0, 0.18], rtol=0.02)
    assert_allclose(out["probabilities"], [0.13, 0.87, 0.00], atol=0.005)
    assert out["total"] == pytest.approx(2.04, abs=0.005)
    assert sum(out["probabilities"]) == pytest.approx(1.0)


@pytest.mark.parametrize("loss", EXPLAINED_LOSSES)
@pytest.mark.parametrize("label", [0, 1, 2])
def test_total_is_the_library_loss(loss, label):
    rng = np.random.default_rng(label)
    s = rng.normal(size=4) * 3
    kwargs = {"margin": 0.5} if loss in names("loss", "margin") else {}
    out = explain_scores(s, label, loss, margin=0.5)
    expected, _ = LOSSES[loss](s[None, :], np.array([label]), **kwargs)
    assert out["total"] == pytest.approx(expected)
    assert out["class_names"] == ["0", "1", "2", "3"]
    assert all(isinstance(line, str) for line in out["lines"])


def test_softmax_large_scores_shift_and_stay_finite():
    out = explain_scores(np.array([1e4, 0.0, -1e4]), 1, "softmax")
    assert out["shift"] == 1e4
    assert np.all(np.isfinite(out["exp"]))
    assert out["total"] == pytest.approx(1e4)


@pytest.mark.parametrize(
    "scores, label, loss, names, match",
    [
        (CAT, 3, "svm", None, "label must lie"),
        (CAT, -1, "svm", None, "label must lie"),
        (CAT, 1.0, "svm", None, "label must be an integer"),
        (CAT, True, "svm", None, "label must be an integer"),
        (CAT, 0, "hinge", None, "unknown loss"),
        (np.array([1.0, np.nan]), 0, "svm", None, "NaN"),
        (np.array([1.0]), 0, "svm", None, "at least 2"),
        (CAT, 0, "svm", ["a", "b"], "class names"),
    ],
)
def test_bad_input_is_refused(scores, label, loss, names, match):
    with pytest.raises(ValueError, match=match):
        explain_scores(scores, label, loss, names)
