"""``--scheduler ADDRESS`` / ``--workers N``: where ``linclass train`` runs its Dask work.

Either option makes the training rows a Dask array (:func:`linclass.backends.dask.
from_store`) trained on a ``distributed.Client``: one connected to a running scheduler
(``tcp://host:8786``; any deployment: SSH, Kubernetes, ...), or a ``LocalCluster`` of N
worker processes started for the run and closed after it.

Every wait on the cluster is bounded by the Dask backend's timeout policy
(:class:`linclass.backends.dask.DaskTimeouts`): a scheduler that does not answer, one
without workers or a cluster that loses them all ends the run with one ``error:`` line
naming the address and the setting to change, never a hang. ``--workers`` is refused
above what the machine can hold (:func:`check_workers`). Dask's own log lines are hidden
while the command runs (its failures reach the user as the command's ``error:`` line);
set ``DASK_LOGGING__DISTRIBUTED=info`` to see them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

import typer


def _scheduler_address(value: str | None) -> str | None:
    """Option callback: a scheduler address Dask can reach, checked before any work."""
    if value is None:
        return None
    from linclass.backends.dask import check_address

    try:
        return check_address(value)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


def _worker_count(value: int | None) -> int | None:
    """Option callback: a ``--workers`` count the machine can hold (:func:`check_workers`)."""
    if value is not None:
        check_workers(value)
    return value


SCHEDULER_OPTION = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                callback=_scheduler_address,
                                help="Train on the Dask cluster at this scheduler address, "
                                "tcp://HOST:PORT or tls://HOST:PORT (needs Dask: the dask "
                                "extra; embeddings folders only).")
WORKERS_OPTION = typer.Option(None, "--workers", min=1, max=1024, callback=_worker_count,
                              help="Train on a local Dask cluster of N worker processes, "
                              "at most 4 per CPU (needs Dask: the dask extra; embeddings "
                              "folders only).")

#: ``--workers`` at most this many worker processes per CPU of the machine ...
WORKERS_PER_CPU = 4
#: ... and each with at least this much of the memory available now.
MIN_WORKER_MEMORY = 256 * 2**20
#: Dask's logging setting that, when the user sets it, keeps Dask's log lines on.
LOGGING_ENV = "DASK_LOGGING__DISTRIBUTED"


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _available_memory() -> int | None:
    try:
        import psutil  # a dependency of distributed
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def check_workers(n: int) -> None:
    """Refuse a ``--workers`` count the machine cannot hold: more than
    :data:`WORKERS_PER_CPU` processes per CPU, or less than :data:`MIN_WORKER_MEMORY` of
    the available memory each.

    Raises:
        typer.BadParameter: Naming the limit.
    """
    cpus = _cpus()
    limit = WORKERS_PER_CPU * cpus
    if n > limit:
        raise typer.BadParameter(f"{n} worker processes on {cpus} CPU(s): give at most "
                                 f"{limit} ({WORKERS_PER_CPU} per CPU)")
    memory = _available_memory()
    if memory is not None and memory // n < MIN_WORKER_MEMORY:
        most = max(1, memory // MIN_WORKER_MEMORY)
        raise typer.BadParameter(
            f"{n} worker processes would have {memory / n / 2**20:.0f} MiB each of the "
            f"{memory / 2**20:.0f} MiB available; each needs {MIN_WORKER_MEMORY // 2**20} "
            f"MiB: give at most {most}")


#: A Dask preload (the text of a module) run in each worker process of ``--workers``: a
#: Ctrl-C in the terminal reaches every process of its group, and a worker would print
#: its own traceback; the command ends its workers itself when it is interrupted.
WORKER_PRELOAD = """
import signal


def dask_setup(worker):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
"""


@contextlib.contextmanager
def quiet_dask_logging() -> Iterator[None]:
    """Hide Dask's log lines (its scheduler's, nannies' and workers', here and in the
    worker processes started meanwhile) unless the user set :data:`LOGGING_ENV`; the
    levels and the environment are restored after."""
    if LOGGING_ENV in os.environ:
        yield
        return
    # every logger of theirs: Dask's configuration gives some their own level
    # (distributed.client: warning), which their parent's would not override; and asyncio:
    # the tasks of a client closed mid-computation, "never retrieved"
    names = {"distributed", "dask", "asyncio"}
    names |= {name for name in logging.root.manager.loggerDict
              if name.split(".")[0] in ("distributed", "dask")}
    loggers = [logging.getLogger(name) for name in sorted(names)]
    levels = [logger.level for logger in loggers]
    os.environ[LOGGING_ENV] = "critical"  # read by worker processes as they start
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        os.environ.pop(LOGGING_ENV, None)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A ``distributed.Client`` with at least one worker for the options, or None when
    neither is given.

    Raises:
        typer.BadParameter: Both options given, a malformed or unsupported scheduler
            address, too many workers for the machine, or Dask not installed.
        linclass.backends.dask.ClusterError: No scheduler answers at the address, or it
            has no workers (within the policy's timeouts).
    """
    if scheduler is None and workers is None:
        yield None
        return
    if scheduler is not None and workers is not None:
        raise typer.BadParameter("give --scheduler or --workers, not both")
    try:
        from distributed import LocalCluster
    except ImportError:
        raise typer.BadParameter("--scheduler and --workers need Dask: "
                                 "pip install 'linclass[dask]'") from None
    from linclass.backends.dask import (
        bounded_client,
        check_address,
        connect_client,
        wait_for_workers,
    )

    if scheduler is not None:
        try:
            address = check_address(scheduler)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--scheduler") from None
        with quiet_dask_logging(), connect_client(address) as client:
            yield client
        return
    assert workers is not None
    check_workers(workers)
    with quiet_dask_logging(), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address=None, preload=[WORKER_PRELOAD],
                         # its HTTP server (always started) on a free port: 8787 in use
                         # (another cluster's dashboard) is not worth a warning line
                         scheduler_kwargs={"dashboard_address": ":0"}) as cluster, \
            bounded_client(cluster) as client:
        wait_for_workers(client)
        yield client
