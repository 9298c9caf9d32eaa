"""Train small linear classifiers and write every picture and an example report for each.

    PYTHONPATH=src MPLBACKEND=Agg python benchmarks/make_example_pictures.py --out /tmp/pics

Runs (each in its own folder under --out, with its PNGs, report.html and report.md):

- ``digits``: softmax on scikit-learn's 8x8 digits, plus a small learning-rate x penalty
  grid search and a comparison of learning-rate schedules;
- ``fashion``: softmax on a 10k subset of Fashion-MNIST, if the files are in
  ``/usr/share/datasets/fashion-mnist`` (skipped otherwise);
- ``blobs``: three 2-D blobs, softmax and SVM, for the decision regions.

The descent loop is written inline (``params[k] -= lr * grads[k]``) on purpose: this
script shows the pictures and must not depend on the optimizers being written elsewhere.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import math
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.datasets import load_digits, make_blobs
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from linclass.grad import make_value_and_grad
from linclass.io.report import per_class_table, write_report
from linclass.model import init_params, predict
from linclass.objective import objective_value
from linclass.plots import (
    plot_confusion_matrix,
    plot_decision_regions,
    plot_history,
    plot_loss_landscape,
    plot_loss_landscape_2d,
    plot_schedule,
    plot_search_heatmap,
    plot_templates,
    save_figure,
)

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def fit(X, y, X_val, y_val, *, loss="softmax", alpha=1e-4, lr=0.5, steps=300, record=True):
    """Full-batch gradient descent; one step is one epoch, so every step is recorded."""
    vg = make_value_and_grad("analytic", loss=loss, penalty="l2", alpha=alpha)
    params = init_params(X.shape[1], int(y.max()) + 1, random_state=0)
    hist = {k: [] for k in ("step_loss", "epoch_train_acc", "epoch_val_acc", "epoch_val_loss")}
    for _ in range(steps):
        value, grads = vg(params, X, y)
        if not np.isfinite(value):
            return None, hist  # diverged: the search shows it as a failed cell
        hist["step_loss"].append(value)
        for k in params:
            params[k] -= lr * grads[k]
        if record:  # end-of-epoch metrics, measured after the epoch's update
            hist["epoch_train_acc"].append(accuracy(params, X, y))
            hist["epoch_val_acc"].append(accuracy(params, X_val, y_val))
            hist["epoch_val_loss"].append(vg(params, X_val, y_val)[0])
    return params, hist


def accuracy(params, X, y) -> float:
    return float(np.mean(predict(params, X) == y))


def image_run(out: Path, name: str, title: str, data, image_shape, class_names, *, lr, steps,
              alpha, force: bool, extra_figures=None) -> None:
    """Train on one image dataset and write its pictures and report to ``out / name``."""
    X_tr, y_tr, X_val, y_val, X_te, y_te = data
    run = out / name
    run.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    params, hist = fit(X_tr, y_tr, X_val, y_val, alpha=alpha, lr=lr, steps=steps)
    seconds = time.perf_counter() - t0
    y_pred = predict(params, X_te)
    f = functools.partial(objective_value, X=X_tr, y=y_tr, loss="softmax", penalty="l2",
                          alpha=alpha)
    figures = {
        "templates": plot_templates(params["W"], image_shape, class_names),
        "history": plot_history(hist),
        "confusion": plot_confusion_matrix(y_te, y_pred, class_names),
        "landscape": plot_loss_landscape(f, params),
        "landscape_2d": plot_loss_landscape_2d(f, params, n=21),
        **(extra_figures or {}),
    }
    paths = {}
    for key, fig in figures.items():
        paths[key] = save_figure(fig, run / f"{key}.png", force=force)
        print(f"  {paths[key]}  ({paths[key].stat().st_size // 1024} KB)")
    summary = {
        "dataset": f"{title}: {len(y_tr)} train / {len(y_val)} validation / {len(y_te)} test, "
                   f"{X_tr.shape[1]} raw pixels, mean-centred",
        "model": "linear, f(x) = Wx + b",
        "loss": "softmax cross-entropy",
        "penalty": "l2",
        "optimizer": "full-batch gradient descent",
        "hyper-parameters": {"learning_rate": lr, "alpha": alpha, "steps": steps},
        "train_accuracy": accuracy(params, X_tr, y_tr),
        "val_accuracy": accuracy(params, X_val, y_val),
        "test_accuracy": accuracy(params, X_te, y_te),
        "final_loss": hist["step_loss"][-1],
        "wall_time": seconds,
    }
    html_path, _ = write_report(
        run, title=f"Softmax linear classifier on {title}", summary=summary,
        tables={"per-class (test set)": per_class_table(y_te, y_pred, class_names)},
        figures=paths, force=force,
    )
    print(f"  {html_path}  test accuracy {summary['test_accuracy']:.3f}")


def digits_data():
    d = load_digits()
    X = d.data / 16.0
    X_tr, X_rest, y_tr, y_rest = train_test_split(X, d.target, test_size=0.4,
                                                  stratify=d.target, random_state=0)
    X_val, X_te, y_val, y_te = train_test_split(X_rest, y_rest, test_size=0.5,
                                                stratify=y_rest, random_state=0)
    mean = X_tr.mean(axis=0)  # fitted on train only
    return X_tr - mean, y_tr, X_val - mean, y_val, X_te - mean, y_te


def _idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def fashion_data(n_train: int = 8000, n_val: int = 2000):
    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        return None
    X = _idx(FASHION_DIR / "train-images-idx3-ubyte.gz", 16).reshape(-1, 784) / 255.0
    y = _idx(FASHION_DIR / "train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    X_te = _idx(FASHION_DIR / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784) / 255.0
    y_te = _idx(FASHION_DIR / "t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    idx = np.random.default_rng(0).permutation(len(y))[: n_train + n_val]
    tr, val = idx[:n_train], idx[n_train:]
    mean = X[tr].mean(axis=0)
    return X[tr] - mean, y[tr], X[val] - mean, y[val], X_te - mean, y_te


def search_figure(data) -> Figure:
    """A small grid search on digits: 100 steps per setting."""
    X_tr, y_tr, X_val, y_val, *_ = data
    results = []
    for lr in (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0):
        for alpha in (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0):
            params, _ = fit(X_tr, y_tr, X_val, y_val, alpha=alpha, lr=lr, steps=100,
                            record=False)
            acc = accuracy(params, X_val, y_val) if params is not None else float("nan")
            results.append({"learning_rate": lr, "alpha": alpha, "val_accuracy": acc})
    return plot_search_heatmap(results).figure


def schedule_figure(steps: int = 300) -> Figure:
    ax = plot_schedule(0.5, steps, label="constant 0.5")
    plot_schedule(lambda s: 0.5 * 0.99**s, steps, ax, label="exponential 0.5 * 0.99^step")
    plot_schedule(lambda s: 0.5 * 0.1 ** (s // 100), steps, ax, label="step: x0.1 every 100")
    plot_schedule(lambda s: 0.25 * (1 + math.cos(math.pi * s / steps)), steps, ax,
                  label="cosine from 0.5 to 0")
    ax.set_yscale("linear")
    return ax.figure


def blobs_run(out: Path, force: bool) -> None:
    """Three 2-D blobs: the geometric viewpoint for softmax and for the SVM."""
    run = out / "blobs"
    run.mkdir(parents=True, exist_ok=True)
    centres = [[-2.0, 2.5], [2.5, 1.5], [0.5, -2.5]]
    X, y = make_blobs(n_samples=150, centers=centres, cluster_std=1.0, random_state=0)
    X_val, y_val = make_blobs(n_samples=150, centers=centres, cluster_std=1.0, random_state=1)
    names = ["class A", "class B", "class C"]
    fig = Figure(figsize=(11.0, 5.2), layout="constrained")
    ax_s, ax_v = fig.subplots(1, 2)
    results = {}
    for loss, ax in (("softmax", ax_s), ("svm", ax_v)):
        params, hist = fit(X, y, X_val, y_val, loss=loss, alpha=1e-3, lr=0.1, steps=300)
        plot_decision_regions(params, X, y, names, ax, pairwise=True)
        ax.set_title(f"{loss}: train accuracy {accuracy(params, X, y):.0%}\n"
                     r"lines $w_k \cdot x + b_k = 0$, arrows $w_k$, black: borders",
                     fontsize=11)
        results[loss] = (params, hist)
    params, hist = results["softmax"]
    paths = {
        "decision_regions": save_figure(fig, run / "decision_regions.png", force=force),
        "decision_regions_softmax": save_figure(
            plot_decision_regions(params, X, y, names),
            run / "decision_regions_softmax.png", force=force),
        "history": save_figure(plot_history(hist), run / "history.png", force=force),
    }
    for p in paths.values():
        print(f"  {p}  ({p.stat().st_size // 1024} KB)")
    write_report(
        run, title="Softmax and SVM on three 2-D blobs",
        summary={"dataset": "3 Gaussian blobs in 2-D, 150 train / 150 validation points",
                 "loss": "softmax and svm",
                 "optimizer": "full-batch gradient descent",
                 "hyper-parameters": {"learning_rate": 0.1, "alpha": 1e-3, "steps": 300},
                 "train_accuracy": accuracy(params, X, y),
                 "val_accuracy": accuracy(params, X_val, y_val)},
        tables={"per-class (validation set, softmax)":
                per_class_table(y_val, predict(params, X_val), names)},
        figures=paths,
        captions={"decision_regions": "Geometric viewpoint, softmax (left) and multiclass "
                  "SVM (right) on the same points. Coloured lines: sₖ = wₖ·x + bₖ = 0; "
                  "arrows: wₖ, pointing to where class k's score is positive. Black: the "
                  "real borders between predicted regions, pieces of the pairwise lines "
                  "sᵢ = sⱼ (dashed), not of the lines sₖ = 0. The SVM stops once every "
                  "margin is met; softmax keeps pushing the scores apart.",
                  "decision_regions_softmax": "The softmax model alone, as in the CS231n "
                  "demo: each point gets the class argmaxₖ sₖ."},
        force=force,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the pictures")
    parser.add_argument("--force", action="store_true", help="overwrite earlier pictures")
    args = parser.parse_args()
    # These matrices are small: on a busy machine multi-threaded BLAS spends its time
    # waiting for cores (20x slower here on 2 shared cores), so use one thread.
    with threadpool_limits(limits=1, user_api="blas"):
        run_all(args.out, args.force)


def run_all(out: Path, force: bool) -> None:
    print("digits")
    digits = digits_data()
    image_run(out, "digits", "scikit-learn digits (8x8)", digits, (8, 8),
              [str(k) for k in range(10)], lr=0.5, steps=300, alpha=1e-4, force=force,
              extra_figures={"search": search_figure(digits), "schedule": schedule_figure()})
    fashion = fashion_data()
    if fashion is None:
        print(f"fashion: skipped, no files in {FASHION_DIR}")
    else:
        print("fashion")
        image_run(out, "fashion", "Fashion-MNIST (10k subset)", fashion, (28, 28),
                  FASHION_NAMES, lr=0.5, steps=300, alpha=1e-4, force=force)
    print("blobs")
    blobs_run(out, force)


if __name__ == "__main__":
    main()
