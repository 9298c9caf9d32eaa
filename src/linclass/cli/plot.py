"""``linclass plot``: re-draw a run's pictures and report from the files in its folder."""

from __future__ import annotations

from pathlib import Path

import typer

from linclass.cli import common
from linclass.cli.common import DataSpec, cli_errors
from linclass.cli.pictures import draw_pictures, evaluate_images, write_run_report
from linclass.cli.rundir import MODEL_FILE, PICTURES, REPORT_FILES, read_history, read_metrics

EPILOG = """\
Examples:

  linclass plot runs/run-001 --force

Reads model.safetensors, history.jsonl and metrics.json; the data is loaded again from
the dataset recorded in metrics.json (the same split, limit and seed as in training)
for the confusion matrix and the loss landscape. A run on a folder of embeddings gets
the same pictures but the templates (its inputs are not images; the report says so).
"""


def plot(
    run_dir: Path = typer.Argument(..., help="A run folder written by linclass train."),
    force: bool = typer.Option(False, "--force", help="Overwrite the existing pictures and "
                               "report."),
) -> None:
    """Re-draw a run's pictures (templates, history, confusion, landscape) and report.

    Runs on a folder of embeddings get every picture but the templates: a row of W
    weighs embedding dimensions, it is not an image.
    """
    with cli_errors():
        if not run_dir.is_dir():
            raise ValueError(f"{run_dir} is not a folder")
        if not (run_dir / MODEL_FILE).is_file():
            raise ValueError(f"{run_dir} holds no {MODEL_FILE}; is it a linclass train run?")
        existing = [n for n in (*(f"{p}.png" for p in PICTURES), *REPORT_FILES)
                    if (run_dir / n).exists()]
        if existing and not force:
            raise FileExistsError(f"{run_dir} already has {', '.join(existing[:2])}"
                                  f"{', ...' if len(existing) > 2 else ''}; pass --force to "
                                  "re-draw them")
        model = common.load_run_model(run_dir / MODEL_FILE)
        metrics = read_metrics(run_dir)
        history = read_history(run_dir)
        if isinstance(model, common.ProbeModel) and "val_accuracy" not in metrics:
            raise ValueError(f"{run_dir} was trained on embeddings by an older linclass, "
                             "without a validation split; train it again to draw it")
        spec = DataSpec.from_dict(metrics.get("data") or {})
        splits = common.load_splits(spec)
        common.check_input(model, splits.data)
        _, y_pred = evaluate_images(model, splits.data.X_test, splits.data.y_test)
        test_data = (splits.data.y_test, y_pred)
        pictures = draw_pictures(run_dir, model, history, (splits.X_train, splits.y_train),
                                 test_data, force=True)
        html, _ = write_run_report(run_dir, metrics, model, test_data, pictures, force=True)
    typer.echo(f"re-drew {', '.join(p.name for p in pictures.values())} and {html}")
