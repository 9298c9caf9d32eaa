"""``linclass train --dataset FOLDER`` for a folder of embeddings: a linear probe.

The rows stay on disk (memory-mapped ``.npy`` or zarr, :mod:`linclass.data.embeddings`)
and the classifier reads them a chunk at a time (:mod:`linclass.backends.numpy`). The
validation rows are the seeded, stratified ``--val-fraction`` of the training rows, as for
images (:func:`linclass.cli.common.load_splits`), also left on disk. The run folder is an
image run's: model, ``metrics.json``, history, the history, confusion and landscape
pictures and the report; only the templates are missing (a row of W is not an image) and
the report says why. The rows are scored once, after training, a chunk at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import typer

from linclass.cli import common
from linclass.cli.common import DataSpec, ProbeModel
from linclass.cli.pictures import draw_pictures, evaluate_images, write_run_report
from linclass.cli.rundir import METRICS_FILE, MODEL_FILE, RunClaim, write_history
from linclass.estimators.classifier import LinearClassifier

#: What ``metrics.json`` and the model file add to the :class:`DataSpec` of such a run.
EMBEDDINGS_KIND = {"kind": "embeddings"}


def train_embeddings(folder: Path, clf: LinearClassifier, run: RunClaim, *, val_fraction: float,
                     seed: int, force: bool, say: Callable[[str], None], quiet: bool,
                     client: Any = None) -> None:
    """Fit ``clf`` on ``folder``'s training rows, score the splits, write the run.

    Args:
        folder: The embeddings folder.
        clf: The classifier the options describe (unfitted).
        run: The claimed run folder (:func:`linclass.cli.rundir.claim_run_dir`): files go
            to its staging folder, published in one step when complete.
        val_fraction: Fraction of the training rows held out for validation.
        seed: Seed of the validation split.
        force: Overwrite an existing run folder.
        say: Progress messages (stderr).
        quiet: No progress bar.
        client: A ``distributed.Client`` to train on (the rows become a Dask array read
            by the workers), or None to train here.
    """
    spec = DataSpec(str(folder), val_fraction=val_fraction, seed=seed)
    splits = common.load_splits(spec)
    ds = splits.data
    say(f"{ds.name}: {len(splits.y_train)} training, {len(splits.y_val)} validation, "
        f"{len(ds.y_test)} test rows of {ds.X_train.shape[1]} {ds.X_train.dtype} features, "
        f"{ds.n_classes} classes (on disk)")
    start = time.perf_counter()
    X_train = splits.X_train
    if client is not None:
        from linclass.backends.dask import from_store, wait_for_workers

        n_workers = wait_for_workers(client)  # within the Dask timeout policy
        X_train = from_store(ds.X_train, n_workers)[splits.X_train.rows]
        say(f"training on {n_workers} Dask workers ({X_train.numblocks[0]} partitions)")
    with common.warnings_as_lines(quiet):
        clf.fit(X_train, splits.y_train, validation_data=(splits.X_val, splits.y_val))
    fit_seconds = time.perf_counter() - start
    data = {**spec.to_dict(), **EMBEDDINGS_KIND}
    model = ProbeModel(clf, ds.class_names, {"dataset": data})
    metrics: dict[str, Any] = {
        "data": data,
        "dask_workers": None if client is None else n_workers,
        "n_train": len(splits.y_train), "n_val": len(splits.y_val), "n_test": len(ds.y_test),
        "n_features": ds.n_features,
        "class_names": ds.class_names,
        "hyperparameters": clf.get_params(), "settings": clf.settings_,
        "epochs_run": int(clf.n_iter_), "fit_seconds": fit_seconds,
    }
    y_pred = {}
    for part, X, y in (("train", splits.X_train, splits.y_train),
                       ("val", splits.X_val, splits.y_val), ("test", ds.X_test, ds.y_test)):
        metrics[f"{part}_loss"], y_pred[part] = evaluate_images(model, X, y)
        metrics[f"{part}_accuracy"] = float(np.mean(y_pred[part] == y))
    run_dir = run.staging
    clf.save(run_dir / MODEL_FILE, force=force,
             extra_meta={"dataset": data, "class_names": ds.class_names, "run": run_dir.name})
    write_history(run_dir, clf.history_, force=force)
    say("drawing pictures ...")
    test_data = (ds.y_test, y_pred["test"])
    pictures = draw_pictures(run_dir, model, clf.history_, (splits.X_train, splits.y_train),
                             test_data, force=force)
    metrics["total_seconds"] = time.perf_counter() - start
    common.write_json(run_dir / METRICS_FILE, metrics, force=force)
    html, _ = write_run_report(run_dir, metrics, model, test_data, pictures, force=force)
    run_dir = run.publish()
    typer.echo(f"train accuracy {metrics['train_accuracy']:.4f}  "
               f"val accuracy {metrics['val_accuracy']:.4f}  "
               f"test accuracy {metrics['test_accuracy']:.4f}  "
               f"({metrics['epochs_run']} epochs, {fit_seconds:.1f} s)")
    typer.echo(f"run written to {run_dir}  (report: {run_dir / html.name})")
