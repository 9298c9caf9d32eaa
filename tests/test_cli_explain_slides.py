"""``linclass explain --slide``: the lecture's other worked examples, with their numbers."""

import json

import pytest


def test_kl_slide(cli):
    result = cli(["explain", "--slide", "kl"])
    assert result.exit_code == 0, result.output
    assert "4.6052 - 0.0000 = 4.6052" in result.output and "-log(0.01)" in result.output


def test_svm_and_softmax_questions(cli):
    svm = cli(["explain", "--slide", "svm-questions"])
    assert svm.exit_code == 0, svm.output
    for text in ("2.90, 0.00, 12.90", "5.27", "6.27 = 5.27 + 1", "2.63 = 5.27 / 2",
                 "C - 1 = 2.00"):
        assert text in svm.output
    soft = json.loads(cli(["explain", "--slide", "softmax-questions", "--json"]).stdout)
    assert abs(soft["at_init"] - 1.0986) < 1e-4


@pytest.mark.parametrize("fd_method", ["forward", "centered"])
def test_numerical_gradient_walkthrough(cli, fd_method):
    out = json.loads(cli(["explain", "--slide", "numerical-gradient", "--loss", "softmax",
                          "--fd-method", fd_method, "--h", "0.001", "--json"]).stdout)
    assert out["method"] == fd_method and out["h"] == 0.001 and len(out["steps"]) == 3
    for step in out["steps"]:
        assert abs(step["numerical"] - step["analytic"]) < 1e-3


def test_kink_and_bad_arguments(cli):
    result = cli(["explain", "--slide", "kink"])
    assert result.exit_code == 0 and "0.5000" in result.output
    assert cli(["explain", "--slide", "kink", "--h", "0"]).exit_code != 0
    assert cli(["explain", "--slide", "kl", "--scores", "1,2"]).exit_code != 0
    assert cli(["explain", "--slide", "nope"]).exit_code != 0
