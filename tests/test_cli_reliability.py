"""The command line never shows a traceback: huge numbers, bad gradcheck steps and
thresholds, and Ctrl-C or SIGTERM at any moment of start-up (issue 19, item 5)."""

import signal
import subprocess
import sys
import time

import pytest

from conftest import cli_invoke


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
