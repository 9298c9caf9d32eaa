"""The CLI offers what the library can do, with the CLI's names in its errors (issue: every
lecture method through every face)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")

TRAIN = ["train", "--quiet", "--dataset", "digits", "--limit", "200", "--epochs", "2"]


def _metrics(run) -> dict:
    return json.loads((run / "metrics.json").read_text())


@pytest.mark.parametrize("args, flag", [
    (["--optimizer", "genetic", "--lr", "0.1"], "--lr applies to optimizer gd, sgd, momentum"),
    (["--optimizer", "random_search", "--schedule", "step"], "--schedule applies to optimizer"),
    (["--loss", "softmax", "--margin", "2"], "--margin applies to loss svm, ova_hinge"),
    (["--penalty", "l2", "--l1-ratio", "0.3"], "--l1-ratio applies to penalty elasticnet"),
    (["--optimizer", "gd", "--batch-size", "8"], "--batch-size applies to optimizer sgd"),
    (["--optimizer", "sgd", "--population-size", "8"], "--population-size applies to optimizer "
     "genetic"),
    (["--features", "raw", "--hog-pixels-per-cell", "2"], "--hog-pixels-per-cell applies to "
     "features hog"),
    (["--optimizer", "genetic", "--population-size", "3", "--n-elite", "3"],
     "--n-elite must be < --population-size"),
    (["--lr", "0"], "--lr"), (["--epochs", str(2**63)], "--epochs"),
    (["--batch-size", str(10**30)], "--batch-size"), (["--momentum", "1"], "--momentum"),
    (["--tol", "abc"], "--tol"),
])
def test_options_that_do_not_apply_or_are_out_of_range_are_usage_errors(cli, tmp_path, args,
                                                                         flag):
    result = cli([*TRAIN, "--out", tmp_path, *args])
    assert result.exit_code == 2, result.output
    assert flag in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not any(tmp_path.iterdir())


def test_search_optimizer_trains_with_its_own_options(cli, tmp_path):
    result = cli([*TRAIN, "--out", tmp_path, "--name", "g", "--optimizer", "genetic",
                  "--population-size", "6", "--n-elite", "1", "--mutation-scale", "0.05"])
    assert result.exit_code == 0, result.output
    s = _metrics(tmp_path / "g")["settings"]
    assert (s["optimizer"], s["population_size"], s["n_elite"], s["mutation_scale"]) == (
        "genetic", 6, 1, 0.05)
    assert "learning_rate" not in s and "population_size 6" in (
        tmp_path / "g" / "report.md").read_text()


def test_margin_l1_ratio_tol_patience_and_hog_reach_the_model(cli, tmp_path):
    result = cli(["train", "--quiet", "--dataset", "digits", "--limit", "300", "--out", tmp_path,
                  "--name", "h", "--loss", "svm", "--margin", "2", "--penalty", "elasticnet",
                  "--l1-ratio", "0.25", "--tol", "none", "--patience", "3", "--epochs", "4",
                  "--features", "hog", "--hog-pixels-per-cell", "2", "--hog-orientations", "6"])
    assert result.exit_code == 0, result.output
    m = _metrics(tmp_path / "h")
    s = m["settings"]
    assert (s["margin"], s["l1_ratio"], s["tol"], s["patience"]) == (2.0, 0.25, None, 3)
    assert m["epochs_run"] == 4  # --tol none: the budget is run out
    from linclass import ImageClassifier

    model = ImageClassifier.load(tmp_path / "h" / "model.safetensors")
    ext = model.features_.extractor
    assert ext.hog_pixels_per_cell == (2, 2) and ext.hog_orientations == 6
    # 8x8 digits, 2x2 cells, 2x2 blocks: 3 x 3 blocks x 4 cells x 6 orientations
    assert model.classifier_.n_features_in_ == 3 * 3 * 4 * 6


def test_limit_is_stratified_and_seeded(cli, tmp_path):
    for name in ("a", "b"):
        result = cli(["train", "--quiet", "--dataset", "digits", "--limit", "30", "--epochs", "1",
                      "--val-fraction", "0.34", "--out", tmp_path, "--name", name])
        assert result.exit_code == 0, result.output
    m = _metrics(tmp_path / "a")
    assert m["n_train"] + m["n_val"] == 30
    from linclass import ImageClassifier

    a = ImageClassifier.load(tmp_path / "a" / "model.safetensors").classifier_
    b = ImageClassifier.load(tmp_path / "b" / "model.safetensors").classifier_
    assert list(a.classes_) == list(range(10))  # 30 images: every class, three of each
    np.testing.assert_array_equal(a.coef_, b.coef_)


def _mixed_folder(root):
    rng = np.random.default_rng(0)
    for c, name in enumerate(("cat", "dog", "frog")):
        for i in range(8):
            size = (10 + i, 12 + 2 * c)  # every image a different size
            pixels = (rng.random(size[::-1]) * 80 + 80 * c).astype(np.uint8)
            (root / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels, "L").save(root / name / f"{i}.png")
    return root


def test_image_size_resizes_a_mixed_folder_for_train_and_predict(cli, tmp_path, one_line_error):
    folder = _mixed_folder(tmp_path / "imgs")
    out = tmp_path / "runs"
    one_line_error(cli([*TRAIN[:2], "--dataset", folder, "--out", out]),
                   "pass --image-size to resize")
    result = cli(["train", "--quiet", "--dataset", folder, "--image-size", "12", "--out", out,
                  "--name", "r", "--epochs", "3"])
    assert result.exit_code == 0, result.output
    assert _metrics(out / "r")["image_shape"] == [12, 12]
    result = cli(["predict", "--model", out / "r" / "model.safetensors",
                  folder / "cat" / "3.png"])
    assert result.exit_code == 0, result.output
    assert cli(["train", "--quiet", "--dataset", folder, "--image-size", "0x5", "--out", out]
               ).exit_code == 2


def test_evaluate_the_validation_split(cli, cli_run):
    result = cli(["evaluate", "--model", cli_run / "model.safetensors", "--split", "val",
                  "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    metrics = _metrics(cli_run)
    assert report["split"] == "val" and report["n"] == metrics["n_val"]
    assert report["accuracy"] == pytest.approx(metrics["val_accuracy"])


def test_errors_name_the_options_of_the_face(cli, one_line_error, tmp_path):
    from linclass.data import DataError, load_dataset

    with pytest.raises(DataError, match="data_dir=DIR") as e:
        load_dataset("mnist")
    assert "--data" not in str(e.value)
    one_line_error(cli(["train", "--quiet", "--dataset", "mnist", "--out", tmp_path]),
                   "--data DIR")
    r = cli(["gradcheck", "--dataset", "mnist", "--data", tmp_path])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_convergence_warning_is_one_line(cli, tmp_path):
    result = cli(["train", "--dataset", "digits", "--epochs", "2", "--out", tmp_path])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("warning:")]
    assert len(lines) == 1 and "budget of 2 epochs" in lines[0]
    assert "ConvergenceWarning" not in result.stderr


@pytest.mark.parametrize("library,cli_words", [
    ("raise max_epochs (or the learning rate), or set tol=None",
     "raise --epochs (or the learning rate), or set --tol none"),
    ("by more than tol=0.001 per epoch", "by more than --tol 0.001 per epoch"),
    ("LinearClassifier stopped", "the fit stopped"),
    ("for `patience` epochs; learning_rate, random_state", "for --patience epochs; --lr, --seed"),
    ("the training loss; penalty l2; data_dir=DIR", "the training loss; penalty l2; --data DIR"),
])
def test_library_words_become_cli_flags(library, cli_words):
    """Bare English words (loss, penalty) stay; Python names and name=value become flags."""
    from linclass.cli.options import in_cli_words

    assert in_cli_words(library) == cli_words
