"""``linclass predict``: classes and top-k probabilities (or scores) for image files."""

import json

import numpy as np
import pytest
from PIL import Image

from linclass.data import load_dataset


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Four digits test images as PNG files, 8x8 grey, and their labels."""
    folder = tmp_path_factory.mktemp("images")
    ds = load_dataset("digits")
    for i in range(4):
        Image.fromarray(ds.X_test[i]).save(folder / f"img{i}.png")
    return folder, ds.y_test[:4]


def test_folder_and_files_give_the_same_top_k(cli, cli_run, images):
    folder, labels = images
    model = cli_run / "model.safetensors"
    result = cli(["predict", "--model", model, folder, "--json", "--top-k", "3"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["kind"] == "probability" and len(out["predictions"]) == 4
    for p in out["predictions"]:
        probs = [t["probability"] for t in p["top"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1
        assert p["class"] == p["top"][0]["class"]
    predicted = [int(p["class"]) for p in out["predictions"]]
    assert np.mean(np.array(predicted) == labels) >= 0.5
    text = cli(["predict", "--model", model, folder / "img0.png"]).output
    assert "probabilities:" in text and "img0.png" in text and "%" in text


@pytest.mark.usefixtures("quick_pictures")  # the run trains; its pictures are not looked at
def test_svm_models_show_scores_not_probabilities(cli, images, tmp_path):
    folder, _ = images
    assert cli(["train", "--loss", "svm", "--epochs", "1", "--quiet", "--out", tmp_path,
                "--name", "svm"]).exit_code == 0
    result = cli(["predict", "--model", tmp_path / "svm" / "model.safetensors", folder,
                  "--json", "--top-k", "2"])
    out = json.loads(result.stdout)
    assert out["kind"] == "score" and "score" in out["predictions"][0]["top"][0]


def test_bad_images_and_models_are_one_line_errors(cli, cli_run, images, one_line_error,
                                                   tmp_path):
    model = cli_run / "model.safetensors"
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    one_line_error(cli(["predict", "--model", model, bad]), "broken.png",
                   "not an image in a format Pillow reads")
    one_line_error(cli(["predict", "--model", model, tmp_path / "gone.png"]), "gone.png")
    not_a_model = tmp_path / "model.safetensors"
    not_a_model.write_bytes(b"\x80\x04garbage")
    one_line_error(cli(["predict", "--model", not_a_model, images[0]]), "pickle")
    assert cli(["predict", "--model", model]).exit_code == 2  # no images given
    assert cli(["predict", "--model", model, images[0], "--top-k", "0"]).exit_code == 2
