"""Adversarial cases of ``linclass train --scheduler/--workers`` (issue 29, items 3, 4, 9,
14): addresses that never answer, clusters without or losing workers, a lost or stalled
scheduler, damaged data, interrupts. Each case runs the console script in a process of
its own and is handled when it ends, within its bound, with one ``error:`` line (or a
usage error) and no traceback or Dask log line, or trains as it should.

    python tests/adversarial/dask_family.py            # every case (~10 minutes)
    python tests/adversarial/dask_family.py refused    # some

The fast regression tests of these are in tests/test_reliability_dask.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from runtime_harness import Command, env, main, one_error_line, run_cli, scratch, usage_error

from helpers import blackhole, http_port, write_embeddings

TMP = scratch("dask")
FAST = {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "5s",
        "DASK_LINCLASS__WORKER_TIMEOUT": "5s"}


def embeddings(name: str, n: int = 400, d: int = 8, kind: str = "npy") -> Path:
    folder = TMP / name
    if folder.exists():
        return folder
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n + 200, d))
    y = np.argmax(X @ rng.normal(size=(4, d)).T, axis=1)
    parts = {"X_train": X[:n].astype(np.float32), "y_train": y[:n],
             "X_test": X[n:].astype(np.float32), "y_test": y[n:]}
    return write_embeddings(folder, parts, kind, chunk_rows=64)


def small() -> Path:
    return embeddings("small")


def big() -> Path:  # sgd epochs long enough to be interrupted in the middle
    return embeddings("big", n=20000, d=32)


def train(dataset: Path, *extra: str) -> list[str]:
    return ["train", "--dataset", str(dataset), "--out", str(TMP / "runs"), *extra]


LONG_SGD = ("--optimizer", "sgd", "--epochs", "3000", "--tol", "none")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env(), start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGCONT)
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@contextlib.contextmanager
def external_cluster(n_workers: int) -> Iterator[tuple[str, subprocess.Popen,
                                                        list[subprocess.Popen]]]:
    """A scheduler and ``n_workers`` workers without nannies (a dead one stays dead), as
    separate processes, like a cluster somebody else runs."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _spawn("scheduler", "--host", "127.0.0.1", "--port", str(port),
                       "--dashboard-address", ":0")
    workers = [_spawn("worker", address, "--no-nanny", "--nthreads", "1")
               for _ in range(n_workers)]
    try:
        _wait_workers(address, n_workers)
        yield address, scheduler, workers
    finally:
        for p in [*workers, scheduler]:
            _stop(p)


def _wait_workers(address: str, n: int, timeout: float = 60) -> None:
    import distributed

    deadline = time.monotonic() + timeout
    while True:
        try:
            with distributed.Client(address, timeout=5) as c:
                c.wait_for_workers(n, timeout=max(1, deadline - time.monotonic()))
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = _children(todo.pop())
        found += kids
        todo += kids
    return found


def _worker_processes(pid: int) -> list[int]:
    """The Dask worker processes of a ``--workers`` run (started by its nannies)."""
    procs = []
    for p in _descendants(pid):
        with contextlib.suppress(OSError):
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
            if b"spawn_main" in cmd:  # not the resource tracker
                procs.append(p)
    return procs


# --- the cases ----------------------------------------------------------------------------


def case_blackhole():
    with blackhole() as address:
        run = run_cli(train(small(), "--quiet", "--scheduler", address), 120, FAST)
    return one_error_line(run, "no Dask scheduler answered", address,
                          "distributed.comm.timeouts.connect", within=60)


def case_http_port():
    with http_port() as address:
        run = run_cli(train(small(), "--quiet", "--scheduler", address), 120, FAST)
    return one_error_line(run, address, "distributed.comm.timeouts.connect", within=60)


def case_refused_fails_fast():
    address = f"tcp://127.0.0.1:{free_port()}"
    run = run_cli(train(small(), "--quiet", "--scheduler", address), 120)  # Dask's 30 s
    return one_error_line(run, "refused", address, within=30)


def case_unknown_host():
    run = run_cli(train(small(), "--quiet", "--scheduler", "tcp://no-such-host.invalid:8786"),
                  120, FAST)
    return one_error_line(run, "no-such-host.invalid", within=60)


def case_zero_workers():
    port = free_port()
    scheduler = _spawn("scheduler", "--host", "127.0.0.1", "--port", str(port),
                       "--dashboard-address", ":0")
    try:
        time.sleep(4)
        run = run_cli(train(small(), "--quiet", "--scheduler", f"tcp://127.0.0.1:{port}"),
                      120, FAST)
    finally:
        _stop(scheduler)
    return one_error_line(run, "has no workers", "linclass.worker-timeout",
                          "DASK_LINCLASS__WORKER_TIMEOUT", within=60)


def case_ucx():
    return usage_error(run_cli(train(small(), "--scheduler", "ucx://127.0.0.1:8786")),
                       "'ucx' protocol is not supported", "tcp://HOST:PORT")


def case_inproc_malformed():
    return usage_error(run_cli(train(small(), "--scheduler", "inproc://x")),
                       "inproc://IP/PID/N")


def case_inproc_of_no_scheduler():
    run = run_cli(train(small(), "--quiet", "--scheduler", "inproc://10.0.0.1/1/1"))
    return one_error_line(run, "inproc://10.0.0.1/1/1", within=60)


def case_no_port():
    return usage_error(run_cli(train(small(), "--scheduler", "localhost")), "no host and port")


def case_port_out_of_range():
    return usage_error(run_cli(train(small(), "--scheduler", "tcp://127.0.0.1:70000")),
                       "no host and port")


def case_http_scheme():
    return usage_error(run_cli(train(small(), "--scheduler", "http://127.0.0.1:8787")),
                       "'http' protocol is not supported")


def case_workers_1000():
    run = run_cli(train(small(), "--workers", "1000"))
    ok, detail = usage_error(run, "--workers", "give at most", "per CPU")
    if ok and run.seconds > 40:
        return False, f"refused after {run.seconds:.0f} s"
    return ok, detail


def case_workers_0():
    return usage_error(run_cli(train(small(), "--workers", "0")), "--workers")


def case_bad_timeout_setting():
    with blackhole() as address:
        run = run_cli(train(small(), "--quiet", "--scheduler", address), 120,
                      {"DASK_LINCLASS__WORKER_TIMEOUT": "soon"})
    return one_error_line(run, "linclass.worker-timeout", "duration", within=60)


def case_only_worker_killed_mid_sgd():
    with external_cluster(1) as (address, _, workers):
        cmd = Command(train(big(), "--scheduler", address, *LONG_SGD), FAST)
        if not cmd.wait_for("training on", 90):
            return False, "never started: " + cmd.finish(5).stderr[-200:]
        time.sleep(3)
        workers[0].kill()
        run = cmd.finish(120)
    return one_error_line(run, "no workers", "linclass.worker-timeout", within=90)


def case_scheduler_killed_mid_fit():
    with external_cluster(1) as (address, scheduler, _):
        cmd = Command(train(big(), "--scheduler", address, *LONG_SGD), FAST)
        if not cmd.wait_for("training on", 90):
            return False, "never started: " + cmd.finish(5).stderr[-200:]
        time.sleep(3)
        scheduler.kill()
        run = cmd.finish(120)
    return one_error_line(run, address, "the fit stopped", within=90)


def case_scheduler_stalled_mid_fit():
    with external_cluster(1) as (address, scheduler, _):
        cmd = Command(train(big(), "--scheduler", address, *LONG_SGD), FAST)
        if not cmd.wait_for("training on", 90):
            return False, "never started: " + cmd.finish(5).stderr[-200:]
        time.sleep(3)
        os.kill(scheduler.pid, signal.SIGSTOP)
        run = cmd.finish(120)
    return one_error_line(run, "stopped answering", "distributed.comm.timeouts.connect",
                          within=90)


def case_nan_partition():
    folder = TMP / "nan"
    if not folder.exists():
        shutil.copytree(big(), folder)
        X = np.load(folder / "X_train.npy")
        X[15000, 3] = np.nan
        np.save(folder / "X_train.npy", X)
    run = run_cli(train(folder, "--workers", "2", "--optimizer", "sgd", "--epochs", "5"), 180)
    return one_error_line(run, "partition", "NaN", within=150)


def _corrupt_zarr() -> Path:
    folder = TMP / "corrupt"
    if not folder.exists():
        shutil.copytree(embeddings("zarr", kind="zarr"), folder)
        chunk = sorted(p for p in (folder / "X_train.zarr").rglob("*") if p.is_file()
                       and p.name != "zarr.json")[2]
        data = bytearray(chunk.read_bytes())
        data[10:34] = b"garbage!" * 3
        chunk.write_bytes(bytes(data))
    return folder


def case_corrupt_zarr_on_workers():
    run = run_cli(train(_corrupt_zarr(), "--quiet", "--workers", "1", "--epochs", "2"), 180)
    return one_error_line(run, "could not be read", "zarr", within=150)


def case_corrupt_zarr_in_process():
    run = run_cli(train(_corrupt_zarr(), "--quiet", "--epochs", "2"), 120)
    return one_error_line(run, "could not be read", "zarr", within=90)


def _interrupted(run, within: float = 60) -> tuple[bool, str]:
    return one_error_line(run, "error: interrupted", rc=130, within=within)


def case_ctrl_c_local_cluster():
    cmd = Command(train(big(), "--workers", "2", *LONG_SGD))
    if not cmd.wait_for("training on", 120):
        return False, "never started: " + cmd.finish(5).stderr[-200:]
    time.sleep(3)
    start = time.monotonic()
    cmd.signal(signal.SIGINT)
    run = cmd.finish(120)
    ok, detail = _interrupted(run, within=1e9)
    if ok and time.monotonic() - start > 40:
        return False, f"exited {time.monotonic() - start:.0f} s after Ctrl-C"
    return ok, detail


def case_ctrl_c_external_cluster():
    with external_cluster(1) as (address, _, _):
        cmd = Command(train(big(), "--scheduler", address, *LONG_SGD))
        if not cmd.wait_for("training on", 90):
            return False, "never started: " + cmd.finish(5).stderr[-200:]
        time.sleep(3)
        cmd.signal(signal.SIGINT)
        run = cmd.finish(90)
    return _interrupted(run, within=1e9)


def case_ctrl_c_while_connecting():
    with blackhole() as address:
        cmd = Command(train(small(), "--scheduler", address))  # Dask's 30 s
        cmd.wait_for("loading", 2)
        time.sleep(12)
        cmd.signal(signal.SIGINT)
        run = cmd.finish(60)
    return _interrupted(run, within=1e9)


def case_worker_killed_and_restarted():
    """A nanny restarts the killed worker: the fit finishes, with no Dask log lines."""
    cmd = Command(train(big(), "--workers", "2", "--optimizer", "sgd", "--epochs", "40",
                        "--tol", "none"))
    if not cmd.wait_for("training on", 120):
        return False, "never started: " + cmd.finish(5).stderr[-200:]
    time.sleep(3)
    victims = _worker_processes(cmd.proc.pid)
    if not victims:
        cmd.signal(signal.SIGKILL)
        return False, "no worker process found"
    os.kill(victims[0], signal.SIGKILL)
    run = cmd.finish(300)
    logs = [line for line in run.lines if " - distributed." in line]
    ok = run.rc == 0 and not logs and "Traceback" not in run.stderr
    return ok, (f"exit {run.rc}, {len(logs)} Dask log lines, {run.seconds:.0f} s"
                + ("" if ok else f": {run.stderr[-300:]}"))


def case_worker_given_up_on():
    """allowed-failures 0: a worker killed while it computes ends the fit (one line)."""
    cmd = Command(train(big(), "--workers", "2", *LONG_SGD),
                  {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    if not cmd.wait_for("training on", 120):
        return False, "never started: " + cmd.finish(5).stderr[-200:]
    deadline = time.monotonic() + 120
    while cmd.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(1.5)
        for p in _worker_processes(cmd.proc.pid)[:1]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
    run = cmd.finish(60)
    return one_error_line(run, "allowed-failures", within=1e9)


def case_non_utf8_name_before_the_cluster():
    run = run_cli(train(small(), "--workers", "2", "--name", "r\udcff"))
    ok, detail = usage_error(run, "--name", "UTF-8")
    if ok and run.seconds > 40:
        return False, f"refused after {run.seconds:.0f} s"
    return ok, detail


def case_both_options():
    return usage_error(run_cli(train(small(), "--workers", "2", "--scheduler",
                                     "tcp://127.0.0.1:1")), "not both")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    sys.exit(main("dask", CASES))
