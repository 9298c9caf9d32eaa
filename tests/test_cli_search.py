"""``linclass search``: grid and random search on the validation split."""

import csv
import json

from helpers import search_table
from linclass.estimators.image import ImageClassifier


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
                  "--epochs", "1", "--jobs", "2", "--sweep", "processes", "--quiet", "--out",
                  tmp_path, "--name", "r"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "r" / "search.csv").open()))
    assert len(rows) == 3 and all(0.01 <= float(r["learning_rate"]) <= 1e9 for r in rows)


def test_bad_arguments_and_all_diverged(cli, one_line_error, tmp_path):
    for args in (["--lr", "0.1,abc"], ["--lr", "0"], ["--random", "2", "--lr", "0.1"],
                 ["--random", "2", "--lr-range", "1"], ["--jobs", "0"], ["--sweep", "both"],
                 ["--sweep", "heads", "--optimizer", "genetic"],
                 ["--sweep", "heads", "--gradient", "numerical"]):
        assert cli(["search", "--quiet", "--out", tmp_path, *args]).exit_code == 2, args
    result = cli(["search", "--lr", "1e9", "--alpha", "1e-2", "--optimizer", "sgd", "--epochs", "1",
                  "--jobs", "1", "--quiet", "--out", tmp_path])
    one_line_error(result, "diverged")
    assert not any(tmp_path.iterdir())


def test_heads_give_the_table_of_one_fit_per_setting_in_fewer_passes(cli, tmp_path):
    """The stacked heads (the default) and one fit per worker process train the same
    settings to the same numbers; the heads read the data once per epoch for all."""
    tables, passes = {}, {}
    for sweep in ("heads", "processes"):
        result = cli(["search", "--lr", "0.05,0.5", "--alpha", "0,1e-2", "--epochs", "4",
                      "--limit", "600", "--jobs", "1", "--sweep", sweep, "--quiet", "--out",
                      tmp_path, "--name", sweep])
        assert result.exit_code == 0, result.output
        tables[sweep], metrics = search_table(tmp_path / sweep)
        assert metrics["sweep"] == sweep
        passes[sweep] = metrics["passes"]
        assert f"{passes[sweep]} passes over the training data" in result.output
    assert tables["heads"] == tables["processes"]
    assert passes["heads"] == 4 + 4 + 2 and passes["processes"] == 4 * 4 * 2


def test_searches_without_a_learning_rate(cli, tmp_path):
    """lbfgs's alphas run as one warm-started path, each point scored as its own fit
    would be; genetic (no rate, no heads) in processes. Both print "-" for the rate (a
    traceback before) and draw one heat-map column."""
    result = cli(["search", "--optimizer", "lbfgs", "--alpha", "1e-4,1e-1", "--epochs", "60",
                  "--limit", "500", "--quiet", "--out", tmp_path, "--name", "path"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "path" / "metrics.json").read_text())
    assert metrics["sweep"] == "path" and metrics["best"]["learning_rate"] is None
    assert (tmp_path / "path" / "search.png").read_bytes().startswith(b"\x89PNG")
    assert "│             - │" in result.output or " - " in result.output
    model = ImageClassifier.load(tmp_path / "path" / "best.safetensors")
    assert model.classifier_.optimizer == "lbfgs" and metrics["best_test_accuracy"] > 0.8
    result = cli(["search", "--optimizer", "genetic", "--alpha", "1e-4,1e-2", "--epochs", "2",
                  "--limit", "300", "--jobs", "1", "--quiet", "--out", tmp_path, "--name", "g"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "g" / "metrics.json").read_text())["sweep"] == "processes"


# --- a killed search takes its workers with it (issue 19, item 6) --------------------------

import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


def _children(pid):
    """Live (not zombie) processes whose parent is ``pid``, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_workers_die_with_a_killed_search(tmp_path, sig):
    code = "import sys; from linclass.console import main; sys.argv[0] = 'linclass'; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "search", "--dataset", "digits", "--limit", "300",
         "--lr", "0.01,0.02,0.03,0.04", "--alpha", "0", "--epochs", "100000", "--tol", "none",
         "--jobs", "2", "--sweep", "processes", "--quiet", "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(workers := _children(proc.pid)) < 2 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    assert len(workers) == 2, workers
    time.sleep(0.5)  # the trials are running
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)  # returns only once no worker holds the pipes
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_alive, workers)), workers
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith(".")]  # no run folder
    if sig == signal.SIGTERM:  # handled: it cleans up after itself (SIGKILL's lock file is
        assert proc.returncode in (1, 130), err  # removed by the next run, see test_cli_rundir)
        assert err.strip().splitlines() == ["error: interrupted"], err
        assert not any(tmp_path.iterdir())


def test_worker_warnings_are_one_line_in_the_cli_words(cli, tmp_path, capfd):
    """Trials in worker processes that end on their epoch budget: one ``warning:`` line
    naming --epochs and --tol none, not each worker's ConvergenceWarning with its source
    line (those went to the terminal, past click's capture: capfd sees them)."""
    result = cli(["search", "--lr", "0.01,0.1", "--alpha", "0", "--epochs", "2", "--limit",
                  "300", "--jobs", "2", "--sweep", "processes", "--out", tmp_path, "--name", "r"])
    assert result.exit_code == 0, result.output
    terminal = capfd.readouterr().err
    assert "ConvergenceWarning" not in terminal + result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1, result.stderr
    assert "raise --epochs" in warned[0] and "--tol none" in warned[0]
    assert "max_epochs" not in result.output and "tol=None" not in result.output
