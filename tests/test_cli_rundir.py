"""Run folders appear complete or not at all, are replaced only by a complete run, and are
never shared by two runs (issue 19, items 4, 7, 8 and 9)."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import safetensors

from linclass.cli import rundir
from linclass.cli.rundir import claim_run_dir
from linclass.io.fileio import atomic_write_bytes

TRAIN = ["train", "--dataset", "digits", "--epochs", "1", "--quiet"]


def listing(folder):
    """Every entry under ``folder``, hidden ones included, as sorted relative paths."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def model_seed(run):
    with safetensors.safe_open(run / "model.safetensors", "numpy") as f:
        return json.loads(f.metadata()["linclass"])["dataset"]["seed"]


# --- the claim itself ---------------------------------------------------------------------


def test_a_claimed_run_is_written_aside_and_appears_in_one_step(tmp_path):
    with claim_run_dir(tmp_path, None, force=False) as run:
        (run.staging / "a.txt").write_text("x")
        assert run.staging.name == "run-001" and not run.path.exists()
        assert run.publish() == tmp_path / "run-001"
    assert listing(tmp_path) == ["run-001", "run-001/a.txt"]


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left")],
                         ids=["Ctrl-C", "disk full"])
def test_an_unpublished_claim_leaves_nothing(tmp_path, error):
    with pytest.raises(type(error)):
        with claim_run_dir(tmp_path / "out", "mine", force=False) as run:
            (run.staging / "model.safetensors").write_text("half")
            raise error
    assert not (tmp_path / "out").exists()  # not even the --out folder it created


def test_a_name_is_held_by_one_claim_at_a_time(tmp_path):
    with claim_run_dir(tmp_path, "same", force=True):
        with pytest.raises(FileExistsError, match="another linclass run is writing"):
            claim_run_dir(tmp_path, "same", force=True)
        with claim_run_dir(tmp_path, None, force=False) as other:  # auto names move on
            assert other.path.name == "run-001"
    with claim_run_dir(tmp_path, "same", force=False) as run:
        assert run.path.name == "same"


def test_automatic_names_skip_numbers_that_are_held(tmp_path):
    with claim_run_dir(tmp_path, None, force=False) as a, \
            claim_run_dir(tmp_path, None, force=False) as b:
        assert (a.path.name, b.path.name) == ("run-001", "run-002")


def test_force_replaces_only_once_the_new_run_is_complete(tmp_path):
    with claim_run_dir(tmp_path, "r", force=False) as run:
        (run.staging / "model.safetensors").write_text("old")
        run.publish()
    with pytest.raises(OSError, match="No space"):
        with claim_run_dir(tmp_path, "r", force=True) as run:
            (run.staging / "model.safetensors").write_text("new, half")
            assert (tmp_path / "r" / "model.safetensors").read_text() == "old"
            raise OSError(errno.ENOSPC, "No space left on device")
    assert listing(tmp_path) == ["r", "r/model.safetensors"]
    assert (tmp_path / "r" / "model.safetensors").read_text() == "old"


def test_a_crash_between_the_two_renames_of_a_replacement_is_undone(tmp_path, monkeypatch):
    with claim_run_dir(tmp_path, "r", force=False) as run:
        (run.staging / "metrics.json").write_text("old")
        run.publish()
    real, calls = os.replace, []

    def crash_on_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if killed after moving the old run aside
        real(src, dst)

    monkeypatch.setattr(rundir.os, "replace", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        with claim_run_dir(tmp_path, "r", force=True) as run:
            (run.staging / "metrics.json").write_text("new")
            run.publish()
    monkeypatch.setattr(rundir.os, "replace", real)
    assert not (tmp_path / "r").exists()  # the moment the crash left behind ...
    with claim_run_dir(tmp_path, "other", force=False):  # ... which the next run repairs
        pass
    assert listing(tmp_path) == ["r", "r/metrics.json"]
    assert (tmp_path / "r" / "metrics.json").read_text() == "old"


def test_a_named_folder_with_foreign_files_is_never_replaced(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="notes.txt"):
        claim_run_dir(tmp_path, "r", force=True)
    assert listing(tmp_path) == ["r", "r/notes.txt"]


def test_temporary_files_of_killed_writers_are_removed_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".m.bin.{dead}.abc.tmp"
    live = tmp_path / f".m.bin.{os.getpid()}.abc.tmp"
    stale.write_bytes(b"half")
    live.write_bytes(b"being written")
    atomic_write_bytes(tmp_path / "m.bin", b"whole")
    assert listing(tmp_path) == [live.name, "m.bin"]


# --- the command line ---------------------------------------------------------------------


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left")],
                         ids=["Ctrl-C", "disk full"])
def test_an_interrupted_or_failed_train_leaves_no_run_folder(cli, tmp_path, monkeypatch, error):
    import linclass.cli.train as train_cli

    def fail(*args, **kwargs):  # after the model and history are written
        raise error

    monkeypatch.setattr(train_cli, "draw_pictures", fail)
    result = cli([*TRAIN, "--out", tmp_path])
    code = 130 if isinstance(error, KeyboardInterrupt) else 1  # 130: as at start-up
    assert result.exit_code == code and "error: " in result.stderr, result.output
    assert listing(tmp_path) == []


def test_force_on_a_full_disk_keeps_the_earlier_run_whole(cli, tmp_path, monkeypatch):
    import linclass.cli.train as train_cli

    assert cli([*TRAIN, "--out", tmp_path, "--name", "r"]).exit_code == 0
    before = {name: (tmp_path / "r" / name).read_bytes() for name in listing(tmp_path / "r")}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(train_cli, "write_run_report", full)
    result = cli([*TRAIN, "--out", tmp_path, "--name", "r", "--force", "--seed", "1"])
    assert result.exit_code == 1 and "No space" in result.stderr
    assert listing(tmp_path) == ["r"] + [f"r/{name}" for name in sorted(before)]
    assert all((tmp_path / "r" / n).read_bytes() == data for n, data in before.items())


def test_a_class_folder_name_that_is_not_utf8_fails_before_any_run_folder(cli, tmp_path):
    from PIL import Image

    data = tmp_path / "data"
    for name in ("cat", os.fsdecode(b"caf\xe9")):
        try:
            (data / name).mkdir(parents=True)
        except (OSError, UnicodeEncodeError):
            pytest.skip("this file system refuses non-UTF-8 names")
        for i in range(6):
            Image.new("L", (8, 8), 40 * i).save(data / name / f"{i}.png")
    result = cli([*TRAIN, "--dataset", data, "--out", tmp_path / "runs"])
    assert result.exit_code == 1 and "not valid UTF-8" in result.stderr, result.output
    assert not (tmp_path / "runs").exists()


def _train_process(out, *args):
    code = "import sys; from linclass.console import main; sys.argv[0] = 'linclass'; main()"
    return subprocess.Popen([sys.executable, "-c", code, *TRAIN, "--out", str(out), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_staging(out, proc, timeout=60):
    """Wait until the run has started writing its files (a staging folder exists)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.startswith(".run-001.staging-") for p in out.glob(".*")):
            return
        time.sleep(0.01)
    pytest.fail(f"the run never started writing: {proc.communicate()}")


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_train_leaves_no_debris_once_the_next_run_is_done(cli, tmp_path, sig):
    out = tmp_path / "runs"
    out.mkdir()
    proc = _train_process(out)
    _wait_for_staging(out, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    assert not (out / "run-001").exists()  # never a half-written run folder
    if sig == signal.SIGTERM:  # handled like Ctrl-C: it cleans up itself
        assert err.strip().splitlines()[-1] == "error: interrupted"
        assert listing(out) == []
    assert cli([*TRAIN, "--out", out]).exit_code == 0
    assert [p for p in listing(out) if "/" not in p] == ["run-001"]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_two_trains_with_the_same_name_never_mix_their_files(tmp_path):
    procs = [_train_process(tmp_path, "--name", "same", "--seed", str(seed)) for seed in (1, 2)]
    results = [(p.wait(timeout=150), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert "another linclass run is writing" in loser or "already holds a run" in loser
    run = tmp_path / "same"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"]["seed"] == model_seed(run)
    assert [p for p in listing(tmp_path) if "/" not in p] == ["same"]
