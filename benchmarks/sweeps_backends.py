"""Sweeps on the torch backend and on Dask, side by side in one run -> SWEEPS_BACKENDS.md.

    python benchmarks/sweeps_backends.py                   # torch on the cpu, Dask
    python benchmarks/sweeps_backends.py --device cuda     # torch on a GPU
    SWEEP_BACKEND_ROWS=54000 python benchmarks/sweeps_backends.py

1. **torch**: the 4 x 4 learning-rate x alpha grid of ``sweeps.py`` (mini-batch momentum,
   Fashion-MNIST pixels / 255 in float64, the CV estimator's 10 % hold-out), as
   ``LinearClassifierCV(backend="torch", refit=False)`` against one
   ``LinearClassifier(backend="torch")`` fit of one setting on the same rows, and against
   the NumPy heads. Times are medians over ``--rounds`` interleaved rounds.
2. **Dask**: a 16-head sweep on a Dask array of the same rows on a LocalCluster of two
   worker processes, full-batch (gd) and local SGD (momentum), each against one fit of the
   same optimizer on the same array: the time and the partition tasks of each (counted in
   the task stream).

The load average is written beside the times.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import load_data, machine_info, median, unit_float  # noqa: E402

LRS = [0.003, 0.01, 0.03, 0.1]
ALPHAS = [1e-6, 1e-5, 1e-4, 1e-3]
ROWS = int(os.environ.get("SWEEP_BACKEND_ROWS", 20_000))


def _data() -> tuple[np.ndarray, np.ndarray]:
    d = load_data("fashion-mnist", n_train=ROWS)
    return unit_float(d.X_train), d.y_train


def torch_case(rounds: int, epochs: int, device: str) -> dict[str, Any]:
    from linclass import LinearClassifier
    from linclass.estimators.cv import LinearClassifierCV

    X, y = _data()
    common = dict(optimizer="momentum", max_epochs=epochs, tol=None, random_state=0)
    on = dict(backend="torch", device=device)
    one_t, torch_t, numpy_t = [], [], []
    n_fit = len(y) - int(np.ceil(0.1 * len(y)))
    # torch's import and first kernels out of the times
    LinearClassifier(max_epochs=1, **on).fit(X[:512], y[:512])
    for _ in range(rounds):
        start = time.perf_counter()
        LinearClassifier(alpha=1e-4, learning_rate=0.01, **common, **on).fit(X[:n_fit],
                                                                             y[:n_fit])
        one_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        cv = LinearClassifierCV(alphas=ALPHAS, learning_rates=LRS, refit=False, **common,
                                **on).fit(X, y)
        torch_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        ref = LinearClassifierCV(alphas=ALPHAS, learning_rates=LRS, refit=False,
                                 **common).fit(X, y)
        numpy_t.append(time.perf_counter() - start)
    return dict(rows=len(y), epochs=epochs, device=device, rounds=rounds,
                one=median(one_t), torch=median(torch_t), numpy=median(numpy_t),
                passes=int(cv.n_passes_), best=(cv.alpha_, cv.learning_rate_),
                best_numpy=(ref.alpha_, ref.learning_rate_),
                best_score=float(np.max(cv.cv_results_["mean_test_score"])),
                best_score_numpy=float(np.max(ref.cv_results_["mean_test_score"])))


def dask_case(epochs: int) -> dict[str, Any]:
    import dask.array as da
    import distributed

    from linclass.model import init_params
    from linclass.objective import Objective
    from linclass.training import fit
    from linclass.training.heads import Heads
    from linclass.training.sweep import fit_heads

    X, y = _data()
    n_parts = 8
    Xd = da.from_array(X, chunks=(-(-len(y) // n_parts), X.shape[1]))
    rates = np.repeat(np.array([0.1, 0.3, 1.0, 3.0]), 4)
    alphas = np.tile(np.array(ALPHAS), 4)
    start = init_params(X.shape[1], 10, random_state=0)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        fit(start, Xd, y, value_and_grad=Objective("softmax", "l2", 1e-4), optimizer="gd",
            learning_rate=0.3, max_epochs=1, tol=None, progress=False)  # warm the workers
        with distributed.get_task_stream(client) as one_stream:
            t = time.perf_counter()
            fit(start, Xd, y, value_and_grad=Objective("softmax", "l2", 1e-4),
                optimizer="gd", learning_rate=0.3, max_epochs=epochs, tol=None,
                progress=False)
            one = time.perf_counter() - t
        with distributed.get_task_stream(client) as sweep_stream:
            t = time.perf_counter()
            result = fit_heads(start, Xd, y, Heads("softmax", "l2", alphas, rates),
                               optimizer="gd", max_epochs=epochs, tol=None)
            sweep = time.perf_counter() - t
        local = dict(optimizer="momentum", batch_size=256, max_epochs=epochs, tol=None,
                     random_state=0)
        with distributed.get_task_stream(client) as one_local_stream:
            t = time.perf_counter()
            fit(start, Xd, y, value_and_grad=Objective("softmax", "l2", 1e-4),
                learning_rate=0.01, progress=False, **local)
            one_local = time.perf_counter() - t
        with distributed.get_task_stream(client) as local_stream:
            t = time.perf_counter()
            local_result = fit_heads(start, Xd, y, Heads("softmax", "l2", alphas, rates / 30),
                                     **local)
            sweep_local = time.perf_counter() - t
    here = fit_heads(start, X, y, Heads("softmax", "l2", alphas, rates), optimizer="gd",
                     max_epochs=epochs, tol=None)
    heads_tasks = sum("_partition_heads" in str(s["key"]) for s in sweep_stream.data)
    one_tasks = sum("_partition_pass" in str(s["key"]) for s in one_stream.data)
    return dict(rows=len(y), epochs=epochs, partitions=n_parts, heads=len(rates), one=one,
                sweep=sweep, passes=result.n_passes, heads_tasks=heads_tasks,
                one_tasks=one_tasks, one_local=one_local, sweep_local=sweep_local,
                local_passes=local_result.n_passes,
                local_tasks=sum("_local_heads_epoch" in str(s["key"])
                                for s in local_stream.data),
                one_local_tasks=sum("_local_epoch" in str(s["key"])
                                    for s in one_local_stream.data),
                max_diff=float(np.abs(result.params["W"] - here.params["W"]).max()
                               / np.abs(here.params["W"]).max()))


def write(t: dict[str, Any] | None, d: dict[str, Any] | None, path: Path) -> None:
    info = machine_info()
    lines = ["# Sweeps on the torch backend and on Dask", "",
             "Written by `benchmarks/sweeps_backends.py` (one sitting; load average "
             f"{os.getloadavg()[0]:.1f} at the end). Machine: {info.get('cpu', '?')}, "
             f"{info.get('cores', '?')} cores.", ""]
    if t is not None:
        lines += [
            f"## torch ({t['device']}): 4 x 4 grid, momentum, {t['rows']} Fashion-MNIST rows, "
            f"{t['epochs']} epochs", "",
            f"| | seconds (median of {t['rounds']}) | vs one torch fit |", "|---|---|---|",
            f"| one `LinearClassifier(backend=\"torch\")` fit | {t['one']:.2f} | 1.00x |",
            f"| 16 heads, `LinearClassifierCV(backend=\"torch\")` | {t['torch']:.2f} | "
            f"{t['torch'] / t['one']:.2f}x |",
            f"| 16 heads, NumPy (`LinearClassifierCV()`) | {t['numpy']:.2f} | "
            f"{t['numpy'] / t['one']:.2f}x |", "",
            f"Best setting (alpha, learning rate): torch {t['best']}, NumPy "
            f"{t['best_numpy']} (the two use different batch orders: torch's randperm, "
            f"NumPy's permutation); best hold-out accuracy {t['best_score']:.4f} and "
            f"{t['best_score_numpy']:.4f}; {t['passes']} passes over the rows.", ""]
    if d is not None:
        lines += [
            f"## Dask: {d['heads']} full-batch heads (gd), {d['rows']} rows in "
            f"{d['partitions']} partitions, 2 worker processes, {d['epochs']} epochs", "",
            "| | seconds | partition tasks | per epoch |", "|---|---|---|---|",
            f"| one `gd` fit | {d['one']:.2f} | {d['one_tasks']} | "
            f"{d['one_tasks'] / d['epochs']:.1f} |",
            f"| {d['heads']} heads, `fit_heads` | {d['sweep']:.2f} | {d['heads_tasks']} | "
            f"{d['heads_tasks'] / d['passes']:.1f} per pass, {d['passes']} passes |",
            f"| one `momentum` fit (local SGD, batch 256) | {d['one_local']:.2f} | "
            f"{d['one_local_tasks']} local epochs | "
            f"{d['one_local_tasks'] / d['epochs']:.1f} |",
            f"| {d['heads']} heads, local SGD | {d['sweep_local']:.2f} | "
            f"{d['local_tasks']} local epochs | {d['local_tasks'] / d['epochs']:.1f} (and "
            f"{d['local_passes'] - d['epochs']} measuring pass) |", "",
            f"The heads' weights against the NumPy heads: largest difference "
            f"{d['max_diff']:.1e} of the largest weight. (The one fit also evaluates each "
            "epoch; the heads, with tol=None, are measured once at the end.)", ""]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "SWEEPS_BACKENDS.md")
    args = parser.parse_args()
    t = None if args.skip_torch else torch_case(args.rounds, args.epochs, args.device)
    d = None if args.skip_dask else dask_case(args.epochs)
    if t is None or d is None:  # a partial run prints, and keeps the written table
        print(t, d)
        return
    write(t, d, args.out)
    print(args.out.read_text())


if __name__ == "__main__":
    main()
