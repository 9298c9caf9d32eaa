import json

from typer.testing import CliRunner

from linclass.cli import app

runner = CliRunner()


def test_train_writes_a_new_run_folder_each_time(tmp_path):
    for expected in ("run-001", "run-002"):
        result = runner.invoke(app, ["train", "--out", str(tmp_path), "--steps", "50"])
        assert result.exit_code == 0, result.output
        assert "test accuracy" in result.output
        metrics = json.loads((tmp_path / expected / "metrics.json").read_text())
        assert 0.8 < metrics["test_accuracy"] <= 1.0


def test_unknown_dataset_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["train", "--dataset", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2
