"""``linclass train --dataset FOLDER`` for a folder of embeddings: a linear probe.

The rows stay on disk (memory-mapped ``.npy`` or zarr, :mod:`linclass.data.embeddings`)
and the classifier reads them a chunk at a time (:mod:`linclass.training.stream`). There
are no images, so no feature extraction and no pictures: the run folder gets the model,
``metrics.json`` and the history. The test rows are scored once, after training, also a
chunk at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import typer

from linclass.cli import common
from linclass.cli.rundir import METRICS_FILE, MODEL_FILE, RunClaim, write_history
from linclass.data.embeddings import load_embeddings
from linclass.estimators.classifier import LinearClassifier
from linclass.training.arrays import chunk_rows, float_rows


def chunked_accuracy(clf: LinearClassifier, X: Any, y: np.ndarray) -> float:
    """Accuracy of ``clf`` on rows read a chunk at a time.

    Args:
        clf: A fitted classifier.
        X: Array of shape (n_samples, n_features), in memory or on disk.
        y: ndarray of shape (n_samples,), labels as ``clf.classes_`` holds them.

    Returns:
        The fraction of rows predicted right.
    """
    step, correct = chunk_rows(X), 0
    for start in range(0, y.shape[0], step):
        pred = clf.predict(float_rows(X[start : start + step]))
        correct += int(np.count_nonzero(pred == y[start : start + step]))
    return correct / max(1, y.shape[0])


def train_embeddings(folder: Path, clf: LinearClassifier, run: RunClaim, *, force: bool,
                     say: Callable[[str], None], quiet: bool, client: Any = None) -> None:
    """Fit ``clf`` on ``folder``'s training rows, score the test rows, write the run.

    Args:
        folder: The embeddings folder.
        clf: The classifier the options describe (unfitted).
        run: The claimed run folder (:func:`linclass.cli.rundir.claim_run_dir`): files go
            to its staging folder, published in one step when complete.
        force: Overwrite an existing run folder.
        say: Progress messages (stderr).
        quiet: No progress bar.
        client: A ``distributed.Client`` to train on (the rows become a Dask array read
            by the workers), or None to train here.
    """
    ds = load_embeddings(folder)
    say(f"{ds.name}: {len(ds.y_train)} training, {len(ds.y_test)} test rows of "
        f"{ds.n_features} {ds.X_train.dtype} features, {ds.n_classes} classes (on disk)")
    start = time.perf_counter()
    X_train = ds.X_train
    if client is not None:
        from linclass.backends.dask import from_store

        X_train = from_store(X_train, len(client.scheduler_info()["workers"]))
        say(f"training on {len(client.scheduler_info()['workers'])} Dask workers "
            f"({X_train.numblocks[0]} partitions)")
    with common.warnings_as_lines(quiet):
        clf.fit(X_train, ds.y_train)
    fit_seconds = time.perf_counter() - start
    metrics = {
        "data": {"dataset": str(folder), "kind": "embeddings"},
        "dask_workers": None if client is None else len(client.scheduler_info()["workers"]),
        "n_train": len(ds.y_train), "n_test": len(ds.y_test), "n_features": ds.n_features,
        "class_names": ds.class_names,
        "hyperparameters": clf.get_params(), "settings": clf.settings_,
        "epochs_run": int(clf.n_iter_), "fit_seconds": fit_seconds,
        "train_loss": float(clf.history_.train_loss[-1]),
        "train_accuracy": float(clf.history_.train_accuracy[-1]),
        "test_accuracy": chunked_accuracy(clf, ds.X_test, ds.y_test),
    }
    run_dir = run.staging
    clf.save(run_dir / MODEL_FILE, force=force, extra_meta={"dataset": metrics["data"],
                                                            "run": run_dir.name})
    write_history(run_dir, clf.history_, force=force)
    metrics["total_seconds"] = time.perf_counter() - start
    common.write_json(run_dir / METRICS_FILE, metrics, force=force)
    run_dir = run.publish()
    typer.echo(f"train accuracy {metrics['train_accuracy']:.4f}  test accuracy "
          f"{metrics['test_accuracy']:.4f}  ({metrics['epochs_run']} epochs, "
          f"{fit_seconds:.1f} s)\nrun written to {run_dir}")
