"""Numerical vs analytic vs autodiff gradients on a Fashion-MNIST-sized model.

W is 10 x 784 (+ 10 biases: 7,850 parameters), the batch is 256 images. For every loss x
penalty it records the median time per gradient and the max relative error against the
analytic gradient, then writes ``benchmarks/GRADIENTS.md``.

Numerical differentiation is timed on a sample of coordinates and extrapolated to all
7,850 (each coordinate costs the same two objective evaluations); once, for softmax + L2,
the full numerical gradient is also computed, to show that the extrapolation holds.

BLAS runs single-threaded here (unless the environment says otherwise): these products are
small, and on a shared machine a multi-threaded OpenBLAS spends far longer waiting for
cores than computing (measured: 0.5 ms single-threaded, ~40 ms with 2 threads under load).

Run: ``PYTHONPATH=src python benchmarks/gradient_methods.py``
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS

import functools  # noqa: E402
import gzip  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from linclass.grad import make_value_and_grad, max_relative_error, numerical_gradient  # noqa: E402
from linclass.grad.compare import SCALE_FLOOR, check_point, compare_gradients  # noqa: E402
from linclass.objective import objective_value  # noqa: E402

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
OUT = Path(__file__).with_name("GRADIENTS.md")
BATCH, SAMPLES, ALPHA, SEED = 256, 200, 1e-3, 0
LOSSES = ("softmax", "svm", "ova_hinge", "ova_logistic")
PENALTIES = ("none", "l1", "l2", "elasticnet")


def read_idx(path: Path, count: int) -> np.ndarray:
    """First ``count`` items of a gzipped IDX file (big-endian header, then uint8 payload)."""
    with gzip.open(path, "rb") as f:
        magic = int.from_bytes(f.read(4), "big")
        ndim = magic & 0xFF
        dims = [int.from_bytes(f.read(4), "big") for _ in range(ndim)]
        item = int(np.prod(dims[1:], dtype=np.int64))
        data = np.frombuffer(f.read(count * item), dtype=np.uint8)
    return data.reshape(count, *dims[1:])


def load_batch() -> tuple[np.ndarray, np.ndarray, str]:
    """256 Fashion-MNIST training images as float rows in [0, 1], or random ones."""
    images = FASHION_DIR / "train-images-idx3-ubyte.gz"
    labels = FASHION_DIR / "train-labels-idx1-ubyte.gz"
    if images.exists() and labels.exists():
        X = read_idx(images, BATCH).reshape(BATCH, -1) / 255.0
        y = read_idx(labels, BATCH).astype(np.int64)
        return X, y, f"first {BATCH} Fashion-MNIST training images"
    rng = np.random.default_rng(SEED)
    X = rng.integers(0, 256, (BATCH, 784)).astype(np.uint8) / 255.0
    return X, rng.integers(0, 10, BATCH), f"{BATCH} random uint8 images (Fashion-MNIST not found)"


def seconds_per_evaluation(X: np.ndarray, y: np.ndarray, count: int = 500) -> float:
    """Mean time of one objective evaluation, what numerical differentiation repeats.

    A mean, not a median: a numerical gradient pays for every evaluation, slow ones included.
    """
    params, _ = check_point(X, y, 10, loss="softmax", penalty="l2", random_state=SEED)
    t0 = time.perf_counter()
    for _ in range(count):
        objective_value(params, X, y, "softmax", "l2", ALPHA)
    return (time.perf_counter() - t0) / count


def full_numerical_check(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Seconds for the full 7,850-coordinate centered difference, and its error vs analytic."""
    params, _ = check_point(X, y, 10, loss="softmax", penalty="l2", random_state=SEED)
    objective = dict(loss="softmax", penalty="l2", alpha=ALPHA)
    analytic = make_value_and_grad("analytic", **objective)(params, X, y)[1]
    f = functools.partial(objective_value, X=X, y=y, **objective)
    t0 = time.perf_counter()
    numeric = numerical_gradient(f, params)
    seconds = time.perf_counter() - t0
    largest = max(float(np.abs(g).max()) for g in analytic.values())
    return seconds, max_relative_error(analytic, numeric, SCALE_FLOOR * largest)


def main() -> None:
    X, y, source = load_batch()
    reports = {
        (loss, penalty): compare_gradients(
            X, y, loss=loss, penalty=penalty, alpha=ALPHA, random_state=SEED,
            n_samples=SAMPLES, n_classes=10, repeats=21,
        )
        for loss in LOSSES
        for penalty in PENALTIES
    }
    t_eval = seconds_per_evaluation(X, y)
    full_seconds, full_error = full_numerical_check(X, y)
    n_params = next(iter(reports.values())).n_params
    n_probed = next(iter(reports.values())).n_probed

    lines = [
        "# Three ways to compute a gradient, measured",
        "",
        f"Model W 10 x 784 + b 10 = {n_params:,} parameters; batch: {source}; alpha = {ALPHA:g};",
        f"float64; one random kink-free point per loss (seed {SEED}). Written by",
        "`benchmarks/gradient_methods.py` on "
        f"{platform.machine()} with {os.cpu_count()} CPU cores shared with other jobs, "
        f"NumPy {np.__version__}, BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}. "
        "Times are medians (21 calls; numerical: one pass over the sampled coordinates); "
        "expect noise of tens of percent.",
        "",
        "## Softmax + L2: the lecture's trade-off",
        "",
        "| method | time per gradient | max rel. error vs analytic | |",
        "|---|---:|---:|---|",
    ]
    r = reports[("softmax", "l2")]
    lines += [
        f"| analytic | {r.seconds['analytic'] * 1e3:.2f} ms | (reference) "
        "| exact, fast, derived by hand |",
        f"| autodiff | {r.seconds['autodiff'] * 1e3:.2f} ms | {r.errors['analytic-autodiff']:.1e} "
        "| exact and automatic |",
        f"| numerical, centered | {r.seconds['numerical']:.1f} s (extrapolated from {n_probed} "
        f"coordinates) | {r.errors['analytic-numerical']:.1e} | approximate and slow |",
        f"| numerical, centered, all {n_params:,} | {full_seconds:.1f} s (measured) "
        f"| {full_error:.1e} | the extrapolation checked |",
        "",
        f"Numerical differentiation costs one (forward difference) or two (centered) objective "
        f"evaluations per parameter. One evaluation of this objective takes {t_eval * 1e3:.2f} ms "
        "on average, "
        f"so a forward-difference gradient over {n_params:,} parameters is about "
        f"{(n_params + 1) * t_eval:.1f} s and a centered one about {2 * n_params * t_eval:.1f} s, "
        f"against {r.seconds['analytic'] * 1e3:.2f} ms analytic: "
        f"{r.seconds['numerical'] / r.seconds['analytic']:,.0f} times slower, for a worse answer.",
        "",
        "## Every loss x penalty",
        "",
        f"Numerical errors are over {n_probed} sampled coordinates ({SAMPLES} of W, all of b);",
        "errors are `|a - n| / max(|a|, |n|, "
        f"{SCALE_FLOOR:g} * max|analytic|)` (see `linclass.grad.compare.SCALE_FLOOR`).",
        "",
        "| loss | penalty | analytic ms | autodiff ms | numerical s (extrap.) "
        "| autodiff vs analytic | numerical vs analytic |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for (loss, penalty), r in reports.items():
        lines.append(
            f"| {loss} | {penalty} | {r.seconds['analytic'] * 1e3:.2f} "
            f"| {r.seconds['autodiff'] * 1e3:.2f} | {r.seconds['numerical']:.1f} "
            f"| {r.errors['analytic-autodiff']:.1e} | {r.errors['analytic-numerical']:.1e} |"
        )
    OUT.write_text("\n".join(lines) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    main()
