"""``linclass regress``: fit a :class:`~linclass.estimators.regressor.LinearRegressor` on a table.

The table's raw features and target go to the estimator as they are: its fit plan trains
in standardized coordinates (``--scaling auto``) and hands back the line in raw units, so
``--alpha`` means what it means in Python (``LinearRegressor(alpha=...)``: the penalty on
the raw weights) and the saved model predicts the raw target from raw features.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

from linclass.cli import common
from linclass.cli.common import cli_errors
from linclass.cli.options import TRAINING, check_owned, record_options
from linclass.data.errors import DataError
from linclass.data.tabular import load_regression
from linclass.estimators.regressor import REGRESSOR_PARAMS, LinearRegressor
from linclass.io.fileio import check_writable

EPILOG = """\
Examples:

  linclass regress houses.csv --target price --out houses.safetensors

  linclass regress diabetes.npz --penalty l1 --alpha 0.01 --optimizer gd --json

A CSV has a header row and numbers only (target: --target, default the last column); an
.npz holds X (n_samples, n_features) and y (n_samples,).
"""

#: The training options that a regressor has (its loss is always the squared error, and it
#: runs on NumPy).
REGRESSION = tuple(n for n in TRAINING if n in REGRESSOR_PARAMS)


@record_options(*REGRESSION)
def regress(
    data: Path = typer.Argument(..., help="A .csv or .npz regression table."),
    target: str | None = typer.Option(None, help="CSV: the target column.",
                                      show_default="the last column"),
    test_fraction: float = typer.Option(0.2, min=0.0, max=0.9,
                                        help="Rows held out for the test score."),
    seed: int = typer.Option(0, min=0, max=2**32 - 1, help="Seed of the test split, "
                             "initialization and batch order."),
    out: Path | None = typer.Option(None, help="Write the model to this .safetensors file."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --out file."),
    quiet: bool = common.QUIET_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    *,
    options: dict[str, Any],
) -> None:
    """Fit a linear regressor (squared error + penalty) and report R^2 and MSE."""
    check_owned(options, {"penalty": options["penalty"], "optimizer": options["optimizer"],
                          "gradient": options["gradient"]})
    settings = {k: v for k, v in options.items() if v is not None or k == "tol"}
    with cli_errors():
        if out is not None:  # before any work, not after the fit
            if not out.parent.is_dir():
                raise ValueError(f"{out.parent} is not a folder (--out)")
            check_writable(out, force=force)
        table = load_regression(data, target)
        X_train, X_test, y_train, y_test = (
            train_test_split(table.X, table.y, test_size=test_fraction, random_state=seed)
            if test_fraction > 0 else (table.X, table.X[:0], table.y, table.y[:0]))
        if len(y_train) < 2 or (test_fraction > 0 and len(y_test) < 2):
            raise DataError(data, f"{len(table.y)} rows are too few: --test-fraction "
                            f"{test_fraction:g} leaves {len(y_train)} to fit and {len(y_test)} "
                            "to test, and R^2 needs at least 2 of each; add rows or pass "
                            "--test-fraction 0")
        # No progress bar: the fit loop's shows a classifier's accuracy, always 0 here.
        reg = LinearRegressor(**settings, random_state=seed, verbose=False)
        with common.warnings_as_lines(quiet):
            reg.fit(X_train, y_train)
        if not quiet:
            typer.echo(f"fitted in {reg.n_iter_} epochs, training objective "
                       f"{reg.history_.train_loss[-1]:.4g} (mean squared error + penalty)",
                       err=True)
        metrics: dict[str, Any] = {"data": str(data), "target": table.target_name,
                                   "n_train": len(y_train), "n_test": len(y_test),
                                   "settings": reg.settings_, "epochs_run": int(reg.n_iter_),
                                   "coef": dict(zip(table.feature_names, reg.coef_.tolist(),
                                                    strict=True)),
                                   "intercept": reg.intercept_}
        for part, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
            if len(y) >= 2:
                pred = reg.predict(X)
                metrics[f"{part}_r2"] = float(r2_score(y, pred))
                metrics[f"{part}_mse"] = float(mean_squared_error(y, pred))
        if out is not None:
            metrics["model"] = str(reg.save(out, force=force))
    if as_json:
        typer.echo(json.dumps(common.json_safe(metrics), indent=2))
        return
    for part in ("train", "test"):
        if f"{part}_r2" in metrics:
            r2, mse = metrics[f"{part}_r2"], metrics[f"{part}_mse"]
            typer.echo(f"{part}: R^2 {r2:.4f}   MSE {mse:.4g}")
    if out is not None:
        typer.echo(f"model written to {metrics['model']}")
