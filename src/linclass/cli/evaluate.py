"""``linclass evaluate``: accuracy, per-class precision/recall/F1 and the confusion matrix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from linclass.cli import common
from linclass.cli.common import cli_errors
from linclass.cli.pictures import evaluate_images, predicted_indices, units
from linclass.data import load_embeddings
from linclass.data.embeddings import is_embeddings_folder
from linclass.io.report import per_class_table
from linclass.plots import confusion_counts, plot_confusion_matrix, save_figure

EPILOG = """\
Examples:

  linclass evaluate --model runs/run-001/model.safetensors

  linclass evaluate --model fmnist.safetensors --dataset fashion-mnist --json

  linclass evaluate --model runs/run-001/model.safetensors --split train --plot cm.png

  linclass evaluate --model runs/probe/model.safetensors --dataset my_embeddings/

The dataset defaults to the one the model was trained on (recorded in the model file).
"""


def _image_size(recorded: dict) -> tuple[int, int] | None:
    """The ``--image-size`` the model was trained with (folder datasets), if any."""
    size = recorded.get("image_size")
    return None if size is None else (int(size[0]), int(size[1]))


def evaluate(
    model_file: Path = typer.Option(..., "--model", help="A model file written by train or "
                                    "search."),
    dataset: str | None = typer.Option(None, help=common.dataset_help() + " Or a folder of "
                                       "embeddings, for a model trained on one.",
                                       show_default="the model's training dataset"),
    data: Path | None = common.DATA_OPTION,
    split: Literal["test", "train", "val"] = typer.Option(
        "test", help="Which images to score; train and val are the training run's own split "
        "(its seeded validation fraction, recorded in the model file): train is the images "
        "the model was fitted on, val the ones it held out."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of "
                                 "tables."),
    plot: Path | None = typer.Option(None, help="Also draw the confusion matrix to this PNG."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --plot file."),
) -> None:
    """Score a saved model on a dataset split: accuracy, per-class table, confusion matrix."""
    with cli_errors():
        model = common.load_run_model(model_file)
        recorded = getattr(model, "meta", {}).get("dataset") or {}
        if dataset is None:
            if not recorded.get("dataset"):
                raise typer.BadParameter("the model file does not say which dataset it was "
                                         "trained on; pass --dataset", param_hint="--dataset")
            dataset = recorded["dataset"]
            data = data if data is not None else recorded.get("data_dir")
        if plot is not None:
            common.check_png_target(plot, force=force)
        if split != "test":
            if not recorded.get("dataset") or recorded.get("dataset") != dataset:
                raise typer.BadParameter(f"--split {split} is the training run's own split "
                                         "of its dataset: it needs the model's recorded "
                                         "dataset (drop --dataset)", param_hint="--split")
            spec = common.DataSpec.from_dict({**recorded, "data_dir": data})
            splits = common.load_splits(spec)
            ds = splits.data
            images, y = ((splits.X_train, splits.y_train) if split == "train"
                         else (splits.X_val, splits.y_val))
        elif isinstance(model, common.ProbeModel):
            if not is_embeddings_folder(Path(dataset)):
                raise ValueError(f"the model was trained on a folder of embeddings; {dataset} "
                                 "is not one (it holds no X_train.npy or X_train.zarr)")
            ds = load_embeddings(dataset)
            images, y = ds.X_test, ds.y_test
        else:
            same = recorded.get("dataset") == dataset  # then its folder options, as trained
            ds = common.load_data(dataset, data, _image_size(recorded),
                                  recorded.get("color_mode", "auto") if same else "auto",
                                  bool(recorded.get("skip_bad")) if same else False)
            images, y = ds.images(split), ds.labels(split)
        common.check_input(model, ds)
        names = common.class_names_of(model)
        if len(names) != ds.n_classes:
            raise ValueError(f"the model has {len(names)} classes but {ds.name} has "
                             f"{ds.n_classes}")
        if isinstance(model, common.ProbeModel):  # rows on disk: scored a chunk at a time
            y_pred = evaluate_images(model, images, y)[1]
        else:
            y_pred = predicted_indices(model, model.transform(images))
        accuracy = float(np.mean(y_pred == y))
        rows = per_class_table(y, y_pred, names)
        counts = confusion_counts(y, y_pred, len(names))
        if plot is not None:
            ax = plot_confusion_matrix(y, y_pred, names)
            ax.set_title(f"Confusion matrix, {ds.name} {split} set\n({len(y)} "
                         f"{units(model)}, accuracy {100 * accuracy:.1f}%)")
            save_figure(ax, plot, force=force)
    if as_json:
        typer.echo(json.dumps(common.json_safe({
            "model": str(model_file), "dataset": ds.name, "split": split, "n": len(y),
            "accuracy": accuracy, "class_names": names, "per_class": rows,
            "confusion": counts, "confusion_note": "rows: true class, columns: predicted",
        }), indent=2))
        return
    _print_tables(Console(), ds.name, split, accuracy, rows, counts, names, units(model))
    if plot is not None:
        typer.echo(f"confusion matrix drawn to {plot}")


def _print_tables(console: Console, dataset: str, split: str, accuracy: float,
                  rows: list[dict], counts: np.ndarray, names: list[str], unit: str) -> None:
    n = int(counts.sum())
    console.print(f"[bold]{dataset}[/] {split} set: {n} {unit}, accuracy "
                  f"[bold]{100 * accuracy:.2f}%[/] ({int(np.trace(counts))} correct)")
    table = Table(title="per class")
    for col in ("class", "precision", "recall", "F1", "support"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for r in rows:
        table.add_row(r["class"], f"{r['precision']:.3f}", f"{r['recall']:.3f}",
                      f"{r['f1']:.3f}", str(r["support"]))
    console.print(table)
    # Columns are headed by class numbers: ten names like "Ankle boot" side by side do
    # not fit a terminal; the rows say which number is which class.
    cm = Table(title="confusion matrix (rows: true class, columns: predicted class number)")
    cm.add_column("true class")
    for k in range(len(names)):
        cm.add_column(str(k), justify="right")
    for i, name in enumerate(names):
        cm.add_row(f"{i} {name}", *(f"[bold]{v}[/]" if i == j else (str(v) if v else ".")
                                    for j, v in enumerate(counts[i])))
    console.print(cm)
