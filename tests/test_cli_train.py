"""``linclass train``: the run folder, its pictures and report, and refusals."""

import csv
import json

import pytest

PNG = b"\x89PNG\r\n\x1a\n"
RUN_FILES = ["model.safetensors", "metrics.json", "history.csv", "history.jsonl",
             "templates.png", "history.png", "confusion.png", "landscape.png",
             "report.html", "report.md"]


def test_a_run_folder_holds_model_history_metrics_pictures_and_report(cli_run):
    for name in RUN_FILES:
        assert (cli_run / name).stat().st_size > 0, name
    for name in ("templates", "history", "confusion", "landscape"):
        data = (cli_run / f"{name}.png").read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, name  # a real picture, not a stub
    metrics = json.loads((cli_run / "metrics.json").read_text())
    assert metrics["data"]["dataset"] == "digits" and metrics["epochs_run"] == 3
    for part in ("train", "val", "test"):
        assert 0.7 < metrics[f"{part}_accuracy"] <= 1.0
        assert metrics[f"{part}_loss"] > 0
    rows = list(csv.DictReader((cli_run / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    lines = (cli_run / "history.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["step_loss"] for line in lines)
    html = (cli_run / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "Test accuracy" in html
    md = (cli_run / "report.md").read_text()
    assert "![Templates](templates.png)" in md and "Per-class results" in md


def test_runs_are_numbered_and_never_overwritten(cli, tmp_path):
    args = ["train", "--epochs", "1", "--quiet", "--out", tmp_path]
    for expected in ("run-001", "run-002"):
        result = cli(args)
        assert result.exit_code == 0, result.output
        assert "test accuracy" in result.output and expected in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-001", "run-002"]


def test_a_named_run_needs_force_to_be_replaced(cli, one_line_error, tmp_path):
    args = ["train", "--epochs", "1", "--quiet", "--out", tmp_path, "--name", "mine"]
    assert cli(args).exit_code == 0
    before = (tmp_path / "mine" / "model.safetensors").read_bytes()
    one_line_error(cli(args), "already holds a run", "--force")
    assert (tmp_path / "mine" / "model.safetensors").read_bytes() == before
    # With --force, a HOG run replaces it and no stale raw-pixel templates survive.
    result = cli([*args, "--force", "--features", "hog"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "mine" / "templates.png").exists()
    assert "not raw pixels" in (tmp_path / "mine" / "report.html").read_text()


def test_divergence_writes_nothing_and_names_the_learning_rate(cli, one_line_error, tmp_path):
    result = cli(["train", "--quiet", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "2",
                  "--out", tmp_path])
    one_line_error(result, "lower --lr (it was 1e+06)", "--lr 1e+06")
    assert "learning_rate" not in result.output  # the CLI names its own flag
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("args", [
    ["--loss", "hinge2"], ["--optimizer", "adam"], ["--lr", "0"], ["--lr", "abc"],
    ["--features", "pixels"], ["--val-fraction", "1.5"], ["--epochs", "0"], ["--alpha", "-1"],
])
def test_bad_arguments_are_usage_errors(cli, tmp_path, args):
    result = cli(["train", "--quiet", "--out", tmp_path, *args])
    assert result.exit_code == 2, result.output
    assert not any(tmp_path.iterdir())


def test_unknown_dataset_and_too_small_limit_are_clear_errors(cli, one_line_error, tmp_path):
    one_line_error(cli(["train", "--quiet", "--dataset", "nope", "--out", tmp_path]),
                   "no such dataset name or path", "fashion-mnist")
    one_line_error(cli(["train", "--quiet", "--limit", "5", "--out", tmp_path]),
                   "--limit: 5 is too small for 10 classes", "at least 20")


def test_help_shows_examples(cli):
    for command in ("train", "evaluate", "predict", "search", "explain", "plot", "gradcheck",
                    "playground"):
        result = cli([command, "--help"])
        assert result.exit_code == 0 and "Examples" in result.output, command
        assert "linclass " + command in result.output, command


def test_warnings_name_the_cli_flags(cli, tmp_path):
    """A run that ends on its budget says so once, in flags: --epochs, --tol none."""
    result = cli(["train", "--dataset", "digits", "--epochs", "2", "--out", tmp_path])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1, result.stderr
    assert "raise --epochs" in warned[0] and "set --tol none" in warned[0], warned[0]
    assert "max_epochs" not in result.stderr and "LinearClassifier" not in result.stderr


def test_a_warning_of_any_command_is_one_line(cli, cli_run, monkeypatch):
    """Commands without a --quiet of their own (evaluate) get the app's: one line each,
    once, in the CLI's words."""
    import warnings

    from linclass.cli import evaluate

    table = evaluate.per_class_table

    def warning_table(*args, **kwargs):
        for _ in range(2):
            warnings.warn("set tol=None or raise max_epochs", UserWarning, stacklevel=1)
        return table(*args, **kwargs)

    monkeypatch.setattr(evaluate, "per_class_table", warning_table)
    result = cli(["evaluate", "--model", cli_run / "model.safetensors"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["warning: set --tol none or raise --epochs"]
