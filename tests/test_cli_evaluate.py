"""``linclass evaluate``: accuracy, per-class table, confusion matrix; bad model files."""

import json
import pickle

import pytest

from linclass.data import load_dataset


def test_tables_and_json_agree_with_the_run(cli, cli_run, tmp_path):
    metrics = json.loads((cli_run / "metrics.json").read_text())
    model = cli_run / "model.safetensors"
    result = cli(["evaluate", "--model", model])  # dataset read from the model file
    assert result.exit_code == 0, result.output
    assert f"{100 * metrics['test_accuracy']:.2f}%" in result.output
    assert "precision" in result.output and "confusion matrix" in result.output

    result = cli(["evaluate", "--model", model, "--dataset", "digits", "--json"])
    report = json.loads(result.stdout)
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])
    n_test = len(load_dataset("digits").y_test)
    assert report["n"] == n_test and sum(map(sum, report["confusion"])) == n_test
    assert [r["class"] for r in report["per_class"]] == [str(k) for k in range(10)]

    plot = tmp_path / "cm.png"
    result = cli(["evaluate", "--model", model, "--split", "train", "--plot", plot])
    assert result.exit_code == 0 and plot.read_bytes().startswith(b"\x89PNG")
    assert cli(["evaluate", "--model", model, "--plot", plot]).exit_code == 1  # no --force


def test_bad_model_files_are_one_line_errors(cli, cli_run, one_line_error, tmp_path):
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps({"W": [[1.0]]}))
    one_line_error(cli(["evaluate", "--model", pickled]), "pickle")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes((cli_run / "model.safetensors").read_bytes()[:-100])
    one_line_error(cli(["evaluate", "--model", truncated]), str(truncated))
    one_line_error(cli(["evaluate", "--model", tmp_path / "missing.safetensors"]),
                   "no such model file")


def test_wrong_dataset_and_bad_arguments(cli, cli_run, one_line_error):
    model = cli_run / "model.safetensors"
    one_line_error(cli(["evaluate", "--model", model, "--dataset", "nope"]), "nope")
    assert cli(["evaluate"]).exit_code == 2  # --model is required
    assert cli(["evaluate", "--model", model, "--split", "dev"]).exit_code == 2  # no such split


def test_split_train_scores_only_the_rows_the_model_was_fitted_on(cli, cli_run):
    """--split train is the run's training part, not its validation images too: the same
    rows, count and accuracy as metrics.json's train numbers."""
    metrics = json.loads((cli_run / "metrics.json").read_text())
    result = cli(["evaluate", "--model", cli_run / "model.safetensors", "--split", "train",
                  "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == metrics["n_train"]
    assert report["accuracy"] == pytest.approx(metrics["train_accuracy"])
    val = json.loads(cli(["evaluate", "--model", cli_run / "model.safetensors", "--split",
                          "val", "--json"]).stdout)
    assert val["n"] == metrics["n_val"] and val["accuracy"] == pytest.approx(
        metrics["val_accuracy"])


def test_split_train_needs_the_recorded_dataset(cli, cli_run):
    result = cli(["evaluate", "--model", cli_run / "model.safetensors", "--split", "train",
                  "--dataset", "fashion-mnist"])
    assert result.exit_code == 2 and "own split" in result.output
