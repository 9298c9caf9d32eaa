"""``linclass explain``: the slides' numbers, and a model's scores for an image."""

import json

from PIL import Image

from linclass.data import load_dataset

SLIDE = ["--scores", "3.2,5.1,-1.7", "--label", "0", "--classes", "cat,car,frog"]


def test_svm_prints_the_hinge_terms_of_the_slide(cli):
    result = cli(["explain", *SLIDE, "--loss", "svm"])
    assert result.exit_code == 0, result.output
    assert "max(0, 5.1 - 3.2 + 1) = 2.9" in result.output
    assert "max(0, -1.7 - 3.2 + 1) = 0" in result.output
    assert "L_i = 2.9 + 0 = 2.9" in result.output


def test_softmax_prints_exp_normalize_and_minus_log(cli):
    result = cli(["explain", *SLIDE, "--loss", "softmax"])
    assert result.exit_code == 0, result.output
    for number in ("24.5", "164.0", "0.18", "0.13", "0.87"):
        assert number in result.output
    assert "-log(0.13) = 2.04" in result.output
    out = json.loads(cli(["explain", *SLIDE, "--json"]).stdout)
    assert abs(out["total"] - 2.0404) < 1e-3


def test_model_and_image(cli, cli_run, tmp_path):
    image = tmp_path / "digit.png"
    Image.fromarray(load_dataset("digits").X_test[0]).save(image)
    model = cli_run / "model.safetensors"
    result = cli(["explain", "--model", model, "--image", image])
    assert result.exit_code == 0, result.output
    assert "predicted" in result.output and "-log" in result.output
    out = json.loads(cli(["explain", "--model", model, "--image", image, "--label", "3",
                          "--loss", "svm", "--json"]).stdout)
    assert out["label"] == 3 and len(out["terms"]) == 9 and out["predicted_name"]


def test_bad_arguments(cli, cli_run, one_line_error, tmp_path):
    assert cli(["explain"]).exit_code == 2
    assert cli(["explain", "--scores", "1,2"]).exit_code == 2  # no --label
    assert cli(["explain", "--scores", "1,x", "--label", "0"]).exit_code == 2
    assert cli(["explain", "--scores", "1,2", "--label", "2"]).exit_code == 2
    assert cli(["explain", *SLIDE, "--loss", "hinge"]).exit_code == 2
    assert cli(["explain", "--model", cli_run / "model.safetensors"]).exit_code == 2
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 10)
    one_line_error(cli(["explain", "--model", bad, "--image", bad]), "bad.safetensors")
