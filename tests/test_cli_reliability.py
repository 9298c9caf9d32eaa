"""The command line never shows a traceback: huge numbers, bad gradcheck steps and
thresholds, and Ctrl-C or SIGTERM at any moment of start-up (issue 19, item 5); one error
path for every user error: Ctrl-C is status 130 in a command as at start-up, Dask giving
up on a worker or losing its scheduler and a damaged zarr chunk are one error line, and
names or paths that are not UTF-8 are refused before the fit (issue 29, items 9, 14)."""

import signal
import subprocess
import sys
import time

import pytest

from conftest import cli_invoke

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")


def assert_usage_error(result, option):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and option in result.output, result.output


@pytest.mark.parametrize("args, option", [
    (["train", "--epochs", str(2**63)], "--epochs"),
    (["train", "--epochs", str(10**30)], "--epochs"),
    (["train", "--batch-size", str(2**63)], "--batch-size"),
    (["train", "--batch-size", str(10**30)], "--batch-size"),
    (["search", "--random", str(2**63)], "--random"),
    (["search", "--random", str(10**30)], "--random"),
    (["search", "--epochs", str(10**30)], "--epochs"),
])
def test_huge_counts_are_usage_errors(tmp_path, args, option):
    assert_usage_error(cli_invoke([*args, "--out", tmp_path]), option)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("args, option", [
    (["--threshold", "nan"], "--threshold"), (["--threshold", "-1"], "--threshold"),
    (["--threshold", "0"], "--threshold"), (["--threshold", "inf"], "--threshold"),
    (["--h", "1e-320"], "--h"), (["--h", "0"], "--h"), (["--h", "-1e-5"], "--h"),
    (["--h", "nan"], "--h"), (["--h", "inf"], "--h"),
])
def test_gradcheck_refuses_thresholds_and_steps_that_check_nothing(args, option):
    assert_usage_error(cli_invoke(["gradcheck", *args]), option)


def _start_and_signal(args, sig, delay):
    """Start ``linclass ARGS`` as the console script does, and send ``sig`` ``delay``
    seconds after its entry point is imported (the heavy imports come after that)."""
    code = ("import sys, linclass.console as c; sys.argv[0] = 'linclass'; "
            "print('ready', file=sys.stderr, flush=True); c.main()")
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline() == "ready\n"
    time.sleep(delay)
    proc.send_signal(sig)
    return proc


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_start_up_is_one_line_not_a_traceback(tmp_path, sig):
    # Signals at several moments of start-up: during the imports (the first second or
    # so), option parsing and data loading; one thread per process, all at once.
    from concurrent.futures import ThreadPoolExecutor

    delays = (0.01, 0.2, 0.5, 0.9, 1.4)
    with ThreadPoolExecutor(len(delays)) as pool:
        procs = list(pool.map(lambda d: _start_and_signal(
            ["train", "--dataset", "digits", "--quiet", "--out", str(tmp_path / str(d))],
            sig, d), delays))
    for proc in procs:
        _, err = proc.communicate(timeout=50)
        assert "Traceback" not in err, err
        if proc.returncode == 0:
            continue  # finished before the signal: nothing to report
        # A signal before Python has installed any handler ends the process silently
        # (-sig), and one that lands as it exits may leave no line; either is fine: what
        # must never appear is a traceback, or any line but the one error line.
        assert proc.returncode in (1, 130, -int(sig)), (proc.returncode, err)
        lines = err.strip().splitlines()
        assert not lines or lines[-1] in ("error: interrupted", "Aborted!"), err


def _interrupt_inside_class_creation():
    # What Python 3.11 does with an interrupt that lands in ``__set_name__`` (an enum being
    # built as typer sets a command up): a RuntimeError whose cause is the interrupt.
    class Named:
        def __set_name__(self, owner, name):
            raise KeyboardInterrupt

    type("Built", (), {"member": Named()})


@pytest.mark.parametrize("wrapped", [True, False], ids=["as a cause", "bare"])
def test_an_interrupt_wrapped_in_another_exception_is_one_line(monkeypatch, capsys, wrapped):
    # A fresh-clone run once showed a traceback here: the SIGINT landed inside class
    # creation and reached main() as the cause of a RuntimeError.
    import linclass.cli
    from linclass import console

    def app():
        if wrapped:
            _interrupt_inside_class_creation()
        raise KeyboardInterrupt

    monkeypatch.setattr(linclass.cli, "app", app)
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    with pytest.raises(SystemExit) as exit_:
        console.main()
    assert exit_.value.code == 130
    assert capsys.readouterr().err == "error: interrupted\n"


def test_other_errors_still_reach_the_caller(monkeypatch):
    import linclass.cli
    from linclass import console

    monkeypatch.setattr(linclass.cli, "app", _raising(RuntimeError("a real bug")))
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    with pytest.raises(RuntimeError, match="a real bug"):
        console.main()


# --- one error path for every user error (issue 29, items 9 and 14) -------------------------


def _raising(exc):
    def boom(*args, **kwargs):
        raise exc

    return boom


def test_ctrl_c_in_a_command_exits_130_as_at_start_up(cli, tmp_path, monkeypatch):
    from linclass.cli import common
    from linclass.status import INTERRUPTED_STATUS

    monkeypatch.setattr(common, "load_splits", _raising(KeyboardInterrupt()))
    result = cli(["train", "--quiet", "--out", tmp_path])
    assert result.exit_code == INTERRUPTED_STATUS == 130, result.output
    assert result.stderr.strip().splitlines() == ["error: interrupted"]


def _cluster_failures():
    distributed = pytest.importorskip("distributed")
    from distributed.client import FutureCancelledError

    return [
        (distributed.KilledWorker("('_local_epoch-1', 0)", None, 0), "allowed-failures"),
        (FutureCancelledError("k", "scheduler-connection-lost"), "cancelled the fit's work"),
    ]


@pytest.mark.parametrize("case", range(2), ids=["worker given up on", "scheduler lost"])
def test_dask_giving_up_is_one_error_line(cli, one_line_error, tmp_path, monkeypatch, case):
    from linclass.cli import common

    exc, words = _cluster_failures()[case]
    monkeypatch.setattr(common, "load_splits", _raising(exc))
    one_line_error(cli(["train", "--quiet", "--out", tmp_path]), words, "no partial model")


def test_a_damaged_zarr_chunk_is_one_error_line(cli, one_line_error, tmp_path):
    zarr = pytest.importorskip("zarr")
    import numpy as np

    folder = tmp_path / "emb"
    folder.mkdir()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    for name, a in {"X_train": X[:200], "y_train": y[:200], "X_test": X[200:],
                    "y_test": y[200:]}.items():
        z = zarr.create_array(store=str(folder / f"{name}.zarr"), shape=a.shape,
                              chunks=(64, *a.shape[1:]), dtype=a.dtype)
        z[:] = a
    chunk = sorted(p for p in (folder / "X_train.zarr").rglob("*")
                   if p.is_file() and p.name != "zarr.json")[1]
    data = bytearray(chunk.read_bytes())
    data[10:34] = b"garbage!" * 3
    chunk.write_bytes(bytes(data))
    one_line_error(cli(["train", "--quiet", "--dataset", folder, "--out", tmp_path / "runs"]),
                   "could not be read", "zarr")


@pytest.mark.parametrize("option", ["--name", "--dataset", "--data"])
def test_names_and_paths_that_are_not_utf8_are_refused_before_the_fit(cli, tmp_path,
                                                                      monkeypatch, option):
    from linclass.estimators.image import ImageClassifier

    monkeypatch.setattr(ImageClassifier, "fit", _raising(AssertionError("fitted")))
    bad = "r\udcff" if option == "--name" else str(tmp_path / "d\udcffir")
    result = cli(["train", "--quiet", "--out", tmp_path / "runs", option, bad])
    assert result.exit_code == 2 and option in result.output, result.output
    assert "UTF-8" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()
