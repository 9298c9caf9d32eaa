"""One timeout policy for Dask (linclass.backends.dask.DaskTimeouts) and its refusals
(issue 29, items 3, 4, 9, 14): an address that accepts and never answers, an HTTP port, a
refused port, a scheduler without workers, a cluster losing all its workers or its
scheduler mid-computation, a computation beyond its bound, malformed or unsupported
addresses, and --workers counts the machine cannot hold. Every wait ends within its
setting, with an error naming the address and the setting; the CLI says it in one line.

The slower cases (external scheduler and worker processes killed or stopped, Ctrl-C of a
whole process group) are in tests/adversarial/dask_family.py.
"""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from helpers import blackhole, http_port

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

from linclass.backends.dask import (  # noqa: E402
    ClusterError,
    DaskTimeouts,
    WorkerLostError,
    _compute,
    check_address,
    connect_client,
)

FAST = {"distributed.comm.timeouts.connect": "1s", "linclass.worker-timeout": "1s"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fast():
    with dask.config.set(FAST):
        yield


def _in_process_cluster(n_workers):
    return distributed.LocalCluster(n_workers=n_workers, processes=False, threads_per_worker=1,
                                    dashboard_address=None)


# --- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize("address, expected", [
    ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786"),
    ("127.0.0.1:8786", "tcp://127.0.0.1:8786"),
    ("tls://scheduler.example:8786", "tls://scheduler.example:8786"),
    ("tcp://[::1]:8786", "tcp://[::1]:8786"),
    ("inproc://10.0.0.1/123/1", "inproc://10.0.0.1/123/1"),
])
def test_addresses_dask_reaches_are_accepted(address, expected):
    assert check_address(address) == expected


@pytest.mark.parametrize("address, words", [
    ("ucx://127.0.0.1:8786", "'ucx' protocol is not supported"),
    ("http://127.0.0.1:8787", "'http' protocol is not supported"),
    ("inproc://x", "inproc://IP/PID/N"),
    ("inproc://", "inproc://IP/PID/N"),
    ("localhost", "no host and port"),
    ("tcp://127.0.0.1:0", "no host and port"),
    ("tcp://127.0.0.1:70000", "no host and port"),
    ("tcp://:8786", "no host and port"),
    ("tcp://host:port", "no host and port"),
])
def test_other_addresses_are_refused_before_any_connection(address, words):
    with pytest.raises(ValueError, match=words):
        check_address(address)


# --- reaching a scheduler -------------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("server", [blackhole, http_port], ids=["silent", "http"])
def test_a_server_that_never_answers_as_a_scheduler_is_an_error_in_bounded_time(fast, server):
    with server() as address:
        start = time.monotonic()
        with pytest.raises(ClusterError, match="no Dask scheduler answered") as info:
            connect_client(address)
        assert time.monotonic() - start < 10
    assert address in str(info.value)
    assert "distributed.comm.timeouts.connect" in str(info.value)
    assert "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT" in str(info.value)


@pytest.mark.timeout(60)
def test_a_refused_port_fails_at_once_not_after_the_connect_timeout():
    address = f"tcp://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    with dask.config.set({"distributed.comm.timeouts.connect": "30s"}):
        with pytest.raises(ClusterError, match="refused"):
            connect_client(address)
    assert time.monotonic() - start < 5


@pytest.mark.timeout(60)
def test_a_scheduler_without_workers_is_an_error_naming_the_setting(fast):
    with _in_process_cluster(0) as cluster:
        start = time.monotonic()
        with pytest.raises(ClusterError, match="has no workers") as info:
            connect_client(cluster.scheduler_address)
        assert time.monotonic() - start < 10
    assert "linclass.worker-timeout" in str(info.value)
    assert cluster.scheduler_address in str(info.value)


def test_an_inproc_address_of_no_scheduler_here_is_refused():
    with pytest.raises(ClusterError, match="in this process"):
        connect_client("inproc://10.0.0.1/1/1")


@pytest.mark.parametrize("key, value", [("linclass.worker-timeout", "soon"),
                                        ("linclass.worker-timeout", -1),
                                        ("distributed.comm.timeouts.connect", "0s"),
                                        ("linclass.compute-timeout", "forever")])
def test_a_setting_that_is_no_duration_is_named(key, value):
    with dask.config.set({key: value}), pytest.raises(ValueError, match=key):
        DaskTimeouts.from_config()


def test_the_policy_reads_its_settings():
    with dask.config.set({"distributed.comm.timeouts.connect": "7s",
                          "linclass.worker-timeout": "2m", "linclass.compute-timeout": None}):
        assert DaskTimeouts.from_config() == DaskTimeouts(7.0, 120.0, None)


# --- during a computation -------------------------------------------------------------------


def _slow(i, seconds=2.0):
    time.sleep(seconds)
    return i


@pytest.mark.timeout(60)
def test_a_cluster_that_loses_every_worker_mid_compute_raises_instead_of_hanging(fast):
    with _in_process_cluster(1) as cluster, distributed.Client(cluster):
        assert _compute(*[dask.delayed(_slow)(i, 0.01) for i in range(2)]) == (0, 1)
        threading.Timer(0.5, lambda: cluster.scale(0)).start()
        start = time.monotonic()
        with pytest.raises(WorkerLostError, match="no workers") as info:
            _compute(*[dask.delayed(_slow)(i) for i in range(3)])
        assert time.monotonic() - start < 15
    assert "linclass.worker-timeout" in str(info.value) and "no partial model" in str(info.value)


@pytest.mark.timeout(60)
def test_a_scheduler_lost_mid_compute_is_a_cluster_error(fast):
    with _in_process_cluster(1) as cluster, distributed.Client(cluster):
        threading.Timer(0.5, lambda: cluster.sync(cluster.scheduler.close)).start()
        with pytest.raises(ClusterError, match="cancelled the fit's work") as info:
            _compute(*[dask.delayed(_slow)(i) for i in range(3)])
    assert isinstance(info.value.__cause__, distributed.client.FutureCancelledError)


@pytest.mark.timeout(60)
def test_a_computation_beyond_its_bound_is_stopped(fast):
    with _in_process_cluster(1) as cluster, distributed.Client(cluster), \
            dask.config.set({"linclass.compute-timeout": "1s"}):
        with pytest.raises(ClusterError, match="longer than 1 s") as info:
            _compute(dask.delayed(_slow)(0, 5.0))
    assert "linclass.compute-timeout" in str(info.value)


def test_task_errors_come_through_unchanged(fast):
    def bad(i):
        raise ValueError(f"partition {i} is bad")

    with _in_process_cluster(1) as cluster, distributed.Client(cluster):
        with pytest.raises(ValueError, match="partition 1 is bad"):
            _compute(dask.delayed(_slow)(0, 0.01), dask.delayed(bad)(1))


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def emb(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    folder = tmp_path / "emb"
    folder.mkdir()
    for name, a in {"X_train": X[:200], "y_train": y[:200], "X_test": X[200:],
                    "y_test": y[200:]}.items():
        np.save(folder / f"{name}.npy", a)
    return folder


def _train(emb, *extra):
    return ["train", "--quiet", "--dataset", emb, "--out", emb.parent / "runs", *extra]


@pytest.mark.timeout(60)
def test_cli_a_silent_scheduler_port_is_one_error_line(cli, one_line_error, emb, fast):
    with blackhole() as address:
        result = cli(_train(emb, "--scheduler", address))
    one_line_error(result, "no Dask scheduler answered", address,
                   "distributed.comm.timeouts.connect")
    assert not (emb.parent / "runs").exists() or not any((emb.parent / "runs").iterdir())


@pytest.mark.timeout(60)
def test_cli_a_scheduler_without_workers_is_one_error_line(cli, one_line_error, emb, fast):
    with _in_process_cluster(0) as cluster:
        result = cli(_train(emb, "--scheduler", cluster.scheduler_address))
    one_line_error(result, "has no workers", "linclass.worker-timeout")


@pytest.mark.parametrize("address, words", [("ucx://127.0.0.1:8786", "not supported"),
                                            ("inproc://x", "inproc://IP/PID/N")])
def test_cli_unsupported_addresses_are_usage_errors(cli, emb, address, words):
    result = cli(_train(emb, "--scheduler", address))
    assert result.exit_code == 2 and "--scheduler" in result.output, result.output
    assert words in " ".join(result.output.replace("│", " ").split())
    assert "Traceback" not in result.output and not (emb.parent / "runs").exists()


def test_cli_refuses_more_workers_than_the_machine_holds_before_starting_any(cli, emb,
                                                                              monkeypatch):
    from linclass.cli import cluster

    started = []
    monkeypatch.setattr(distributed, "LocalCluster", lambda *a, **k: started.append(k))
    monkeypatch.setattr(cluster, "_cpus", lambda: 2)
    result = cli(_train(emb, "--workers", "1000"))
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "--workers" in text, result.output
    assert "1000 worker processes on 2 CPU(s): give at most 8" in text
    monkeypatch.setattr(cluster, "_available_memory", lambda: 1024 * 2**20)  # 1 GiB free
    result = cli(_train(emb, "--workers", "8"))
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "give at most 4" in text, result.output
    assert started == [] and not (emb.parent / "runs").exists()


def test_cli_quiets_dask_logging_while_it_runs_and_restores_it(monkeypatch):
    import logging
    import os

    from linclass.cli.cluster import LOGGING_ENV, quiet_dask_logging

    monkeypatch.delenv(LOGGING_ENV, raising=False)
    before = logging.getLogger("distributed").level
    with quiet_dask_logging():
        assert logging.getLogger("distributed").level == logging.CRITICAL
        assert os.environ[LOGGING_ENV] == "critical"  # for the worker processes it starts
    assert logging.getLogger("distributed").level == before and LOGGING_ENV not in os.environ
    monkeypatch.setenv(LOGGING_ENV, "info")  # the user asked to see them
    with quiet_dask_logging():
        assert logging.getLogger("distributed").level == before
