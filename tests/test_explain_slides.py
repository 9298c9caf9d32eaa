"""The lecture's questions, answered by the library with the slides' numbers."""

from __future__ import annotations

import numpy as np
import pytest

from linclass.explain_slides import (
    LECTURE_LABELS,
    LECTURE_SCORES,
    kl_example,
    softmax_questions,
    svm_questions,
)


def test_kl_example_is_the_cross_entropy_for_a_one_hot_truth():
    out = kl_example()
    assert out["kl"] == pytest.approx(-np.log(0.01), rel=1e-14)
    assert out["entropy"] == 0.0 and out["cross_entropy"] == pytest.approx(out["kl"])
    assert any("4.6052" in line for line in out["lines"])


def test_kl_example_with_a_soft_truth_subtracts_its_entropy():
    p_star = np.array([0.1, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0])
    out = kl_example(p_star=p_star)
    h = -(0.1 * np.log(0.1) + 0.9 * np.log(0.9))
    assert out["entropy"] == pytest.approx(h, rel=1e-12)
    assert out["kl"] == pytest.approx(out["cross_entropy"] - h, rel=1e-12)


def test_svm_questions_reproduce_the_slides():
    out = svm_questions()
    assert np.round(out["per_example"], 2).tolist() == [2.9, 0.0, 12.9]
    assert round(out["mean"], 2) == 5.27
    assert out["slack"] == pytest.approx(1.9)  # car 4.9 beats frog 2.0 by 2.9 = 1 + 1.9
    assert out["nudge"] == {"-0.5": 0.0, "0.5": 0.0}
    assert out["at_init"] == 2.0  # C - 1
    assert out["all_classes"] == pytest.approx(out["mean"] + 1.0)
    assert out["mean_over_classes"] == pytest.approx(out["mean"] / 2)


def test_svm_nudge_past_the_slack_changes_the_loss():
    s = LECTURE_SCORES.copy()
    s[1, 1] = 2.1  # car now beats frog by only 0.1: within the margin after -0.5
    out = svm_questions(s, LECTURE_LABELS)
    assert out["nudge"]["-0.5"] > 0 and out["slack"] < 0.5


def test_softmax_questions():
    out = softmax_questions()
    assert out["per_example"][0] == pytest.approx(-np.log(0.13), abs=0.01)
    assert out["at_init"] == pytest.approx(np.log(3), rel=1e-14)
    assert 0 < out["near_min"] < 1e-12 and out["near_max"] == pytest.approx(30.0, abs=1e-9)
