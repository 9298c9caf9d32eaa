"""``linclass train``: fit a linear classifier on images and write the run's folder."""

from __future__ import annotations

import contextlib
import faulthandler
import sys
import time
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import typer

from linclass.cli import common
from linclass.cli.cluster import SCHEDULER_OPTION, WORKERS_OPTION, dask_client
from linclass.cli.common import DataSpec, cli_errors
from linclass.cli.options import FEATURES, TRAINING, record_options
from linclass.cli.pictures import draw_pictures, evaluate_images, write_run_report
from linclass.cli.rundir import (
    METRICS_FILE,
    MODEL_FILE,
    claim_run_dir,
    write_history,
)
from linclass.cli.train_embeddings import train_embeddings
from linclass.data import Dataset
from linclass.data.embeddings import check_unchanged, is_embeddings_folder
from linclass.estimators.image import ImageClassifier
from linclass.training import TrainingDivergedError

EPILOG = """\
Examples:

  linclass train --dataset digits --out runs/

  linclass train --dataset fashion-mnist --loss svm --epochs 5 --name fmnist-svm

  linclass train --dataset digits --features hog --standardize --optimizer sgd --lr 0.05

  linclass train --dataset my_images/ --image-size 32 --limit 500 --quiet

  linclass train --dataset scans/ --color-mode gray --skip-bad   (BMP, TIFF, WebP, ...)

  linclass train --dataset digits --optimizer genetic --population-size 30

  linclass train --dataset digits --features hog --hog-pixels-per-cell 2

  linclass train --dataset my_embeddings/ --optimizer lbfgs   (X_train.npy ... or .zarr)

  linclass train --dataset my_embeddings/ --optimizer lbfgs --workers 4

Writes OUT/NAME/: model.safetensors, metrics.json, history.csv, history.jsonl,
templates.png (raw pixels only), history.png, confusion.png, landscape.png,
report.html and report.md.
"""


@record_options(*TRAINING, *FEATURES)
def train(
    dataset: str = typer.Option("digits", callback=common.utf8_text,
                                help=common.dataset_help()),
    data: Path | None = common.DATA_OPTION,
    image_size: str | None = common.IMAGE_SIZE_OPTION,
    color_mode: Literal["auto", "gray", "rgb"] = common.COLOR_MODE_OPTION,
    skip_bad: bool = common.SKIP_BAD_OPTION,
    features: str = common.FEATURES_OPTION,
    standardize: bool = common.STANDARDIZE_OPTION,
    seed: int = common.SEED_OPTION,
    val_fraction: float = common.VAL_FRACTION_OPTION,
    limit: int | None = common.LIMIT_OPTION,
    out: Path = common.OUT_OPTION,
    name: str | None = common.NAME_OPTION,
    force: bool = common.FORCE_OPTION,
    quiet: bool = common.QUIET_OPTION,
    scheduler: str | None = SCHEDULER_OPTION,
    workers: int | None = WORKERS_OPTION,
    *,
    options: dict[str, Any],
) -> None:
    """Train a linear classifier f(x) = Wx + b on images and write a run folder.

    The training images are split into a training part and a validation part
    (--val-fraction); the test images are only used once, after training.
    """
    pipeline, clf = common.build_model(options, features, standardize, seed=seed, quiet=quiet)
    clf.set_params(validation_fraction=val_fraction)  # what metrics.json's hyperparameters say
    lr = options["learning_rate"]
    with cli_errors() as scope:
        run = scope.enter_context(claim_run_dir(out, name, force=force))
        if is_embeddings_folder(Path(dataset)):  # a linear probe on rows left on disk
            if (features != "raw" or standardize or limit is not None or image_size
                    or color_mode != "auto" or skip_bad):
                raise common.fail("--features, --standardize, --limit, --image-size, "
                                  "--color-mode and --skip-bad are for images, not for a "
                                  "folder of embeddings")
            say = (lambda msg: None) if quiet else (lambda msg: typer.echo(msg, err=True))
            if not faulthandler.is_enabled():  # a file truncated under its memory map: SIGBUS
                with contextlib.suppress(Exception):  # then at least says where
                    faulthandler.enable(cast(Any, sys.__stderr__))  # (none: no report)
            try:
                with dask_client(scheduler, workers) as client:
                    return train_embeddings(Path(dataset), clf, run, val_fraction=val_fraction,
                                            seed=seed, force=force, say=say, quiet=quiet,
                                            client=client)
            except TrainingDivergedError:
                check_unchanged(dataset)  # NaN written after the up-front check: say so
                raise
        if scheduler is not None or workers is not None:
            raise common.fail("--scheduler and --workers train on a folder of embeddings")
        spec = DataSpec(dataset, None if data is None else str(data), limit, val_fraction, seed,
                        common.parse_image_size(image_size), color_mode, skip_bad)
        say = (lambda msg: None) if quiet else (lambda msg: typer.echo(msg, err=True))
        say(f"loading {dataset} ...")
        splits = common.load_splits(spec)
        ds = cast(Dataset, splits.data)  # images: a folder of embeddings went above
        say(f"{ds.name}: {len(splits.y_train)} training, {len(splits.y_val)} validation, "
            f"{len(ds.y_test)} test images of shape {ds.image_shape}, {ds.n_classes} classes")
        model = ImageClassifier(pipeline, clf, ds.class_names)
        start = time.perf_counter()
        try:
            with common.warnings_as_lines(quiet):
                model.fit(splits.X_train, splits.y_train, progress=False if quiet else None,
                          validation_data=(splits.X_val, splits.y_val))
        except TrainingDivergedError as exc:
            started = f"--lr {lr:g}" if lr is not None else "the default --lr"
            raise common.fail(f"{common.diverged_message(exc)}; this run started at "
                              f"{started}, nothing was written") from None
        clf = model.classifier_
        fit_seconds = time.perf_counter() - start

        metrics = {
            "data": spec.to_dict(),
            "dataset_source": ds.source,
            "n_train": len(splits.y_train), "n_val": len(splits.y_val), "n_test": len(ds.y_test),
            "image_shape": list(ds.image_shape),
            "class_names": ds.class_names,
            "features": "+".join(model.features_.extractor.kinds),
            "standardize": standardize,
            "hyperparameters": clf.get_params(),
            "settings": clf.settings_,
            "epochs_run": int(clf.n_iter_),
            "fit_seconds": fit_seconds,
        }
        y_pred = {}
        for part, images, y in (("train", splits.X_train, splits.y_train),
                                ("val", splits.X_val, splits.y_val),
                                ("test", ds.X_test, ds.y_test)):
            metrics[f"{part}_loss"], y_pred[part] = evaluate_images(model, images, y)
            metrics[f"{part}_accuracy"] = float(np.mean(y_pred[part] == y))

        run_dir = run.staging  # published below, in one step, once everything is written
        model.save(run_dir / MODEL_FILE, force=force,
                   extra_meta={"dataset": spec.to_dict(), "run": run_dir.name})
        write_history(run_dir, clf.history_, force=force)
        say("drawing pictures ...")
        test_data = (ds.y_test, y_pred["test"])
        pictures = draw_pictures(run_dir, model, clf.history_, (splits.X_train, splits.y_train),
                                 test_data, force=force)
        metrics["total_seconds"] = time.perf_counter() - start
        common.write_json(run_dir / METRICS_FILE, metrics, force=force)
        html, _ = write_run_report(run_dir, metrics, model, test_data, pictures, force=force)
        run_dir = run.publish()
        html = run_dir / html.name
    typer.echo(f"train accuracy {metrics['train_accuracy']:.4f}  "
               f"val accuracy {metrics['val_accuracy']:.4f}  "
               f"test accuracy {metrics['test_accuracy']:.4f}  "
               f"({metrics['epochs_run']} epochs, {fit_seconds:.1f} s)")
    typer.echo(f"run written to {run_dir}  (report: {html})")
