"""Per-epoch time of ``LinearClassifier`` on a user's float rows against the uint8 image
path, and what ``dtype="float32"`` changes; writes DTYPE.md.

Run from the repository root (Fashion-MNIST must be installed)::

    PYTHONPATH=src .venv/bin/python benchmarks/dtype_speed.py --rounds 5

Contenders, all with the default mini-batch settings and ``max_epochs=6, tol=None``:

- uint8 images through ``ImageClassifier`` (raw pixels: each batch gathered as uint8 and
  cast to float32, the preprocessing folded into W);
- the same pixels as a float64 array ``X / 255`` (what a user of NumPy has) with the
  defaults (float64 training, as scikit-learn keeps float64) and with ``dtype="float32"``;
- a float32 array with the defaults.

An epoch's time is the median of the differences of ``history_.wall_time`` (optimizer steps
only; the per-epoch evaluation and the set-up are left out). Every contender runs once per
round, the rounds interleaved, so a busy machine slows all of them alike. The "BLAS pass"
is the two float32 products of one epoch over the whole set (``X W^T`` and ``S^T X``, one
call each, one BLAS thread, best of three): the floor the issue's ratios refer to.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, median  # noqa: E402
from linclass.io.fileio import atomic_write_text  # noqa: E402


def blas_pass(X: np.ndarray, n_classes: int) -> float:
    """Seconds of ``S = X W^T`` and ``G = S^T X`` on the whole float32 set, one BLAS
    thread (as the mini-batch loop runs), best of three."""
    from threadpoolctl import threadpool_limits

    W = np.random.default_rng(0).standard_normal((n_classes, X.shape[1])).astype(np.float32)
    S = np.empty((X.shape[0], n_classes), np.float32)
    G = np.empty_like(W)
    best = np.inf
    with threadpool_limits(1, user_api="blas"):
        for _ in range(3):
            start = time.perf_counter()
            np.matmul(X, W.T, out=S)
            np.matmul(S.T, X, out=G)
            best = min(best, time.perf_counter() - start)
    return float(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("DTYPE.md"))
    args = parser.parse_args()

    from linclass import ImageClassifier, LinearClassifier, load_dataset

    data = load_dataset("fashion-mnist")
    images, y = data.X_train, data.y_train
    X64 = images.reshape(len(images), -1) / 255.0
    X32 = X64.astype(np.float32)
    test64 = data.X_test.reshape(len(data.X_test), -1) / 255.0
    kw = dict(max_epochs=args.epochs, tol=None, random_state=0)
    contenders = {
        "uint8 images, `ImageClassifier` (raw pixels)":
            (lambda: ImageClassifier(classifier=LinearClassifier(**kw)), images, data.X_test),
        "float64 array, defaults (float64 training)":
            (lambda: LinearClassifier(**kw), X64, test64),
        'float64 array, `dtype="float32"`':
            (lambda: LinearClassifier(dtype="float32", **kw), X64, test64),
        "float32 array, defaults": (lambda: LinearClassifier(**kw), X32, test64),
    }
    load_before = os.getloadavg()[0]
    epochs: dict[str, list[float]] = {k: [] for k in contenders}
    fits: dict[str, list[float]] = {k: [] for k in contenders}
    models: dict[str, Any] = {}
    passes = []
    for r in range(args.rounds):
        passes.append(blas_pass(X32, data.n_classes))
        for name, (make, X, _) in contenders.items():
            model = make()
            start = time.perf_counter()
            model.fit(X, y)
            fits[name].append(time.perf_counter() - start)
            clf = getattr(model, "classifier_", model)
            epochs[name].append(float(np.median(np.diff(clf.history_.wall_time))))
            models[name] = model
        print(f"round {r + 1}: " + ", ".join(f"{v[-1]:.3f}" for v in epochs.values()), flush=True)

    two = median(passes)
    base = median(epochs[next(iter(contenders))])
    ref = models["float64 array, defaults (float64 training)"]
    lines = [
        "# dtype: a user's float rows against the uint8 image path",
        "",
        f"`python benchmarks/dtype_speed.py --rounds {args.rounds}`: Fashion-MNIST, 60,000 "
        f"x 784, the default mini-batch settings, {args.epochs} epochs, {args.rounds} "
        "interleaved rounds (medians). Epoch = optimizer steps only (`history_.wall_time`).",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine_info().items()) + f". Load "
        f"average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after (a shared "
        "machine: seconds are indicative, the ratios compare runs made side by side).",
        "",
        "| rows | s / epoch | × uint8 path | × BLAS pass | fit s | test acc | "
        "max abs coef diff vs float64 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (_, _, X_test) in contenders.items():
        model = models[name]
        e = median(epochs[name])
        clf = getattr(model, "classifier_", model)
        diff = "" if "uint8" in name else \
            f"{np.abs(clf.coef_.astype(np.float64) - ref.coef_).max():.1e}"
        lines.append(f"| {name} | {e:.4f} | {e / base:.2f} | {e / two:.2f} | "
                     f"{median(fits[name]):.2f} | {model.score(X_test, data.y_test):.4f} | "
                     f"{diff} |")
    lines += ["", f"BLAS pass (two float32 products over the whole set, one thread): "
              f"{two:.4f} s.", ""]
    atomic_write_text(args.out, "\n".join(lines) + "\n", force=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
