"""``--scheduler ADDRESS`` / ``--workers N``: where ``linclass train`` runs its Dask work.

Either option makes the training rows a Dask array (:func:`linclass.backends.dask.
from_store`) trained on a ``distributed.Client``: one connected to a running scheduler
(``tcp://host:8786``; any deployment: SSH, Kubernetes, ...), or a ``LocalCluster`` of N
worker processes started for the run and closed after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import typer

SCHEDULER_OPTION = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                help="Train on the Dask cluster at this scheduler address "
                                "(needs Dask: the dask extra; embeddings folders only).")
WORKERS_OPTION = typer.Option(None, "--workers", min=1, max=1024,
                              help="Train on a local Dask cluster of N worker processes "
                              "(needs Dask: the dask extra; embeddings folders only).")


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A ``distributed.Client`` for the options, or None when neither is given.

    Raises:
        typer.BadParameter: Both options given, or Dask not installed.
    """
    if scheduler is None and workers is None:
        yield None
        return
    if scheduler is not None and workers is not None:
        raise typer.BadParameter("give --scheduler or --workers, not both")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise typer.BadParameter("--scheduler and --workers need Dask: "
                                 "pip install 'linclass[dask]'") from None
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client
