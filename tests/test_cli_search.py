"""``linclass search``: grid and random search on the validation split."""

import csv
import json

from linclass.image_classifier import ImageClassifier


def test_grid_search_writes_table_heat_map_and_best_model(cli, tmp_path):
    result = cli(["search", "--lr", "0.1,1", "--alpha", "0,1e-3", "--epochs", "2", "--jobs", "1",
                  "--quiet", "--out", tmp_path])
    assert result.exit_code == 0, result.output
    run = tmp_path / "search-001"
    rows = list(csv.DictReader((run / "search.csv").open()))
    assert {(float(r["learning_rate"]), float(r["alpha"])) for r in rows} == {
        (0.1, 0.0), (1.0, 0.0), (0.1, 1e-3), (1.0, 1e-3)}
    assert (run / "search.png").read_bytes().startswith(b"\x89PNG")
    metrics = json.loads((run / "metrics.json").read_text())
    best = max(float(r["val_accuracy"]) for r in rows)
    assert metrics["best"]["val_accuracy"] == best and 0.5 < metrics["best_test_accuracy"] <= 1
    model = ImageClassifier.load(run / "best.safetensors")
    assert model.classifier_.learning_rate == metrics["best"]["learning_rate"]
    assert "data:image/png;base64," in (run / "report.html").read_text()
    assert "best: --lr" in result.output and "test accuracy" in result.output


def test_random_search_in_worker_processes_and_diverged_trials(cli, tmp_path):
    result = cli(["search", "--random", "3", "--lr-range", "0.01,1e9", "--optimizer", "sgd",
                  "--epochs", "1", "--jobs", "2", "--quiet", "--out", tmp_path, "--name", "r"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "r" / "search.csv").open()))
    assert len(rows) == 3 and all(0.01 <= float(r["learning_rate"]) <= 1e9 for r in rows)


def test_bad_arguments_and_all_diverged(cli, one_line_error, tmp_path):
    for args in (["--lr", "0.1,abc"], ["--lr", "0"], ["--random", "2", "--lr", "0.1"],
                 ["--random", "2", "--lr-range", "1"], ["--jobs", "0"]):
        assert cli(["search", "--quiet", "--out", tmp_path, *args]).exit_code == 2, args
    result = cli(["search", "--lr", "1e9", "--alpha", "1e-2", "--optimizer", "sgd", "--epochs", "1",
                  "--jobs", "1", "--quiet", "--out", tmp_path])
    one_line_error(result, "diverged")
    assert not any(tmp_path.iterdir())
