"""``linclass train``: fit a linear classifier and write the run's outputs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import typer
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from linclass.grad import make_value_and_grad
from linclass.model import init_params, predict
from linclass.train import gradient_descent


def _new_run_dir(out: Path) -> Path:
    """A fresh ``run-NNN`` folder under ``out``, so no earlier run is overwritten."""
    out.mkdir(parents=True, exist_ok=True)
    for i in range(1, 10_000):
        run = out / f"run-{i:03d}"
        try:
            run.mkdir()
            return run
        except FileExistsError:
            continue
    raise RuntimeError(f"no free run folder name under {out}")


def train(
    dataset: str = typer.Option("digits", help="Dataset name."),
    loss: str = typer.Option("softmax", help="softmax or svm."),
    alpha: float = typer.Option(1e-4, help="L2 regularization strength."),
    learning_rate: float = typer.Option(0.5, "--learning-rate", "--lr", help="Step size."),
    steps: int = typer.Option(300, help="Full-batch gradient steps."),
    seed: int = typer.Option(0, help="Random seed for split and initialization."),
    out: Path = typer.Option(Path("runs"), help="Folder that receives a new run folder."),
) -> None:
    """Train with full-batch gradient descent and report train/test accuracy."""
    if dataset != "digits":
        raise typer.BadParameter(f"unknown dataset {dataset!r}", param_hint="--dataset")
    digits = load_digits()
    X = digits.data / 16.0
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, digits.target, test_size=0.25, stratify=digits.target, random_state=seed
    )
    mean = X_tr.mean(axis=0)
    X_tr, X_te = X_tr - mean, X_te - mean
    vg = make_value_and_grad("analytic", loss=loss, penalty="l2", alpha=alpha)
    params = init_params(X.shape[1], 10, random_state=seed)

    def report(step: int, value: float, p: dict) -> None:
        if step % 50 == 0 or step == steps - 1:
            typer.echo(f"step {step:4d}  loss {value:.4f}")

    t0 = time.perf_counter()
    params, losses = gradient_descent(
        vg, params, X_tr, y_tr, learning_rate=learning_rate, n_steps=steps, callback=report
    )
    seconds = time.perf_counter() - t0
    acc_tr = float(np.mean(predict(params, X_tr) == y_tr))
    acc_te = float(np.mean(predict(params, X_te) == y_te))
    run = _new_run_dir(out)
    (run / "metrics.json").write_text(
        json.dumps({"train_accuracy": acc_tr, "test_accuracy": acc_te, "seconds": seconds}, indent=2)
    )
    typer.echo(f"train accuracy {acc_tr:.4f}  test accuracy {acc_te:.4f}  ({seconds:.2f} s)")
    typer.echo(f"outputs in {run}")
