"""``linclass gradcheck``: the three gradient methods compared on a slice of a dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from linclass.cli.common import positive
from linclass.grad.compare import (
    DEFAULT_THRESHOLDS,
    SCALE_FLOOR,
    GradcheckReport,
    compare_gradients,
)
from linclass.losses import DEFAULT_LOSS, RECORDS
from linclass.regularizers import PENALTIES

EPILOG = ("Examples:\n\n  linclass gradcheck --loss svm --penalty l2\n\n"
          "  linclass gradcheck --dataset fashion-mnist --n 32 --samples 200\n")

_DEFAULTS_TEXT = ", ".join(f"{k} {v:g}" for k, v in DEFAULT_THRESHOLDS.items())


def _load(dataset: str, data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Training images as float rows in [0, 1], labels and the class count."""
    from linclass.cli.common import load_data

    try:
        ds = load_data(dataset, data_dir)
    except (ValueError, KeyError, OSError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--dataset") from exc
    X = ds.X_train.reshape(len(ds.X_train), -1)
    X = X / 255.0 if X.dtype == np.uint8 else X.astype(np.float64)
    return X, ds.y_train, len(ds.class_names)


def _print(report: GradcheckReport, console: Console) -> None:
    errors = Table(
        title=f"gradcheck: loss={report.loss} penalty={report.penalty} alpha={report.alpha:g} "
        f"N={report.n_examples} seed={report.seed}"
    )
    for col in ("pair", "max relative error", "threshold", "ok"):
        errors.add_column(col, justify="left" if col == "pair" else "right")
    for pair, err, limit, ok in report.rows():
        errors.add_row(pair, f"{err:.2e}", f"{limit:.0e}", "[green]yes[/]" if ok else "[red]NO[/]")
    console.print(errors)

    timing = Table(title=f"time per gradient ({report.n_params} parameters)")
    for col in ("method", "seconds", "note"):
        timing.add_column(col, justify="right" if col == "seconds" else "left")
    for method, seconds in report.seconds.items():
        note = ""
        if method == "numerical" and report.numerical_extrapolated:
            note = f"extrapolated from {report.n_probed} probed coordinates"
        timing.add_row(method, f"{seconds:.3e}", note)
    console.print(timing)
    console.print(
        f"relative errors: |a - b| / max(|a|, |b|, {SCALE_FLOOR:g} x largest |analytic| entry)"
    )
    console.print("[green]PASSED[/]" if report.passed else "[red]FAILED[/]")


def gradcheck(
    loss: str = typer.Option(DEFAULT_LOSS, help=f"One of {', '.join(RECORDS)}."),
    penalty: str = typer.Option("l2", help=f"One of {', '.join(PENALTIES)}."),
    alpha: float = typer.Option(1e-3, help="Regularization strength."),
    l1_ratio: float = typer.Option(0.5, help="Elastic-net mix."),
    dataset: str = typer.Option("digits", help="Dataset name."),
    data: Path | None = typer.Option(None, "--data", help="Folder holding a named "
                                     "dataset's files."),
    n: int = typer.Option(64, min=1, help="Use the first N training examples."),
    seed: int = typer.Option(0, help="Seed of the check point and of the probed coordinates."),
    samples: int | None = typer.Option(
        None, min=1, help="Probe this many coordinates per array numerically (default: all)."
    ),
    threshold: float | None = typer.Option(
        None, max=1.0, callback=positive,
        help=f"One max relative error in (0, 1] for every pair (default: {_DEFAULTS_TEXT}).",
    ),
    h: float = typer.Option(1e-5, min=1e-15, max=1.0, callback=positive,
                            help="Finite-difference step, in [1e-15, 1]."),
) -> None:
    """Compare numerical, analytic and autodiff gradients; exit 1 if any pair disagrees."""
    if loss not in RECORDS:
        raise typer.BadParameter(f"choose one of {sorted(RECORDS)}", param_hint="--loss")
    if penalty not in PENALTIES:
        raise typer.BadParameter(f"choose one of {sorted(PENALTIES)}", param_hint="--penalty")
    X, y, n_classes = _load(dataset, data)
    thresholds = None if threshold is None else dict.fromkeys(DEFAULT_THRESHOLDS, threshold)
    try:
        report = compare_gradients(
            X[:n], y[:n], loss=loss, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio,
            random_state=seed, n_samples=samples, h=h, thresholds=thresholds, n_classes=n_classes,
        )
    except ValueError as exc:  # a bad alpha, l1_ratio or h, with the core's message
        raise typer.BadParameter(str(exc)) from exc
    _print(report, Console())
    if not report.passed:
        raise typer.Exit(code=1)
