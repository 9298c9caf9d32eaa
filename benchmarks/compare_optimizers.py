"""Every optimizer on the same problem and the same budget: why gradient descent dominates.

Problem: softmax loss with L2 penalty (alpha 1e-4) on scikit-learn's bundled digits
(8x8 images, pixels / 16, centred with the training mean), 75/25 stratified split, seed 0.

Budget: the same number of **full-data loss evaluations** for every method, counted as rows
passed through the objective divided by the training-set size (so one SGD epoch of 43
mini-batches costs one, like one GD step or one random-search candidate; a GA generation
costs one per new individual). Gradient methods get a gradient with each evaluation, which
is what makes them strong; their evaluations cost about twice as much, which the wall time
shows. Wall time counts only the optimizer's steps (not the per-epoch measurements), is
the fastest of ``--repeats`` identical runs, and uses one BLAS thread.

Fairness of settings: each method's one main knob (learning rate, sampling scale, step
size, mutation scale) is picked from a four-point grid by the lowest *mean training loss
over the run* (the area under its loss curve: it rewards fast descent, where the final loss
alone would split near-ties between converged runs); the test set is looked at only for
the table.

Usage::

    python benchmarks/compare_optimizers.py --out benchmarks [--budget 500] [--repeats 3]

Writes ``OPTIMIZERS.md`` (tables) and ``optimizers_loss_vs_time.png`` into ``--out``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices: threads only add noise
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from linclass.grad import make_value_and_grad  # noqa: E402
from linclass.model import init_params, predict  # noqa: E402
from linclass.objective import objective_value  # noqa: E402
from linclass.optim import get_optimizer  # noqa: E402
from linclass.training import FitResult, TrainingDivergedError, fit  # noqa: E402
from linclass.training.setup import rngs  # noqa: E402

OBJECTIVE = dict(loss="softmax", penalty="l2", alpha=1e-4)
BATCH_SIZE = 32
POPULATION = 20
N_ELITE = 2

#: optimizer -> (knob, grid, fixed options). The knob is a fit argument
#: ("learning_rate") or a factory option.
METHODS: dict[str, tuple[str, list[float], dict]] = {
    "gd": ("learning_rate", [3.0, 10.0, 30.0, 100.0], {}),
    "sgd": ("learning_rate", [0.1, 0.3, 1.0, 3.0], {}),
    "momentum": ("learning_rate", [0.01, 0.03, 0.1, 0.3], {"momentum": 0.9}),
    "nesterov": ("learning_rate", [0.01, 0.03, 0.1, 0.3], {"momentum": 0.9}),
    "random_search": ("search_scale", [0.03, 0.1, 0.3, 1.0], {}),
    "random_local_search": ("step_size", [0.01, 0.03, 0.1, 0.3], {}),
    "genetic": ("mutation_scale", [0.03, 0.1, 0.3, 1.0],
                {"population_size": POPULATION, "n_elite": N_ELITE}),
}


def digits_split():
    d = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(
        d.data / 16.0, d.target, test_size=0.25, stratify=d.target, random_state=0
    )
    mean = X_tr.mean(axis=0)  # fitted on the training split only
    return X_tr - mean, X_te - mean, y_tr, y_te


def epochs_for(name: str, budget: int) -> int:
    """Epochs that spend ``budget`` full-data loss evaluations (see the module docstring)."""
    if name == "genetic":  # P to score the start, then P - n_elite per generation
        return max(1, (budget - POPULATION) // (POPULATION - N_ELITE))
    return budget


def run(name: str, knob: str, setting: float, fixed: dict, budget: int, data) -> FitResult:
    X_tr, _, y_tr, _ = data
    options = dict(fixed)
    kwargs = {}
    if knob == "learning_rate":
        kwargs["learning_rate"] = setting
    else:
        options[knob] = setting
        if knob == "mutation_scale":
            options["init_scale"] = setting  # start the population as spread as it mutates
    epochs = epochs_for(name, budget)
    optimizer: Any = name
    if "init_scale" in options:  # a factory option beyond the records: build the pair here,
        # seeded as fit(random_state=0) seeds a search
        optimizer = get_optimizer(name, **options, random_state=rngs(0)[1])
        options = {}
    return fit(
        init_params(X_tr.shape[1], 10, random_state=0), X_tr, y_tr,
        value_and_grad=make_value_and_grad("analytic", **OBJECTIVE),
        value=functools.partial(objective_value, **OBJECTIVE),
        optimizer=optimizer, optimizer_kwargs=options, batch_size=BATCH_SIZE,
        max_epochs=epochs, random_state=0, progress=False, **kwargs,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--budget", type=int, default=500,
                        help="full-data loss evaluations per method")
    parser.add_argument("--repeats", type=int, default=3,
                        help="identical runs of each chosen setting; the fastest is timed")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    data = digits_split()
    X_te, y_te = data[1], data[3]
    started = time.perf_counter()

    grid_rows, results = [], {}
    for name, (knob, grid, fixed) in METHODS.items():
        finals = {}
        for setting in grid:
            try:
                result = run(name, knob, setting, fixed, args.budget, data)
                finals[setting] = float(np.mean(result.history.train_loss))
            except TrainingDivergedError:
                finals[setting] = float("inf")
        best = min(finals, key=finals.get)
        grid_rows.append((name, knob, finals, best))
        runs = [run(name, knob, best, fixed, args.budget, data) for _ in range(args.repeats)]
        results[name] = (knob, best, min(runs, key=lambda r: r.history.wall_time[-1]))
        r = results[name][2]
        print(f"{name:20s} {knob}={best:<5g} loss {r.history.train_loss[-1]:.4f} "
              f"test {np.mean(predict(r.params, X_te) == y_te):.4f} "
              f"time {r.history.wall_time[-1]:.2f}s", flush=True)

    n_train = data[0].shape[0]
    lines = [
        "# Optimizers compared on the bundled digits",
        "",
        f"Generated by `python benchmarks/compare_optimizers.py --out {args.out} "
        f"--budget {args.budget} --repeats {args.repeats}` "
        f"({time.perf_counter() - started:.0f} s, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, one BLAS thread, on a shared machine: wall times are "
        "indicative).",
        "",
        f"Softmax + L2 (alpha 1e-4); digits / 16, centred; 75/25 stratified split, seed 0 "
        f"({n_train} training rows, 64 features, 10 classes). **Budget: {args.budget} "
        "full-data loss evaluations per method** (rows through the objective / training "
        f"rows; mini-batch methods: batch {BATCH_SIZE}). The gradient methods also get a "
        "gradient with each evaluation. Wall time counts optimizer steps only.",
        "",
        "| optimizer | setting | final train loss | train accuracy | test accuracy "
        "| wall time (s) | loss evaluations (calls) | full-data evaluations |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (knob, best, r) in results.items():
        h = r.history
        test_acc = np.mean(predict(r.params, X_te) == y_te)
        lines.append(
            f"| `{name}` | {knob}={best:g} | {h.train_loss[-1]:.4f} | {h.train_accuracy[-1]:.4f} "
            f"| {test_acc:.4f} | {h.wall_time[-1]:.2f} | {h.n_loss_evals[-1]} "
            f"| {h.n_samples[-1] / n_train:.0f} |"
        )
    lines += [
        "",
        "## How each setting was chosen",
        "",
        "Mean training loss over the run (area under the loss curve) for each value of the "
        "method's main knob (inf: diverged); the lowest was used above.",
        "",
        "| optimizer | knob | grid: mean train loss over the run | chosen |",
        "|---|---|---|---|",
    ]
    for name, knob, finals, best in grid_rows:
        cells = ", ".join(f"{k:g}: {v:.4f}" for k, v in finals.items())
        lines.append(f"| `{name}` | {knob} | {cells} | {best:g} |")
    lines += ["", "![loss vs. wall time](optimizers_loss_vs_time.png)", ""]
    (args.out / "OPTIMIZERS.md").write_text("\n".join(lines))
    p0 = init_params(data[0].shape[1], 10, random_state=0)
    start_loss = objective_value(p0, data[0], data[2], **OBJECTIVE)
    plot(results, args.out / "optimizers_loss_vs_time.png", args.budget, start_loss)
    print(f"wrote {args.out / 'OPTIMIZERS.md'} and {args.out / 'optimizers_loss_vs_time.png'}")


def plot(results: dict, path: Path, budget: int, start_loss: float) -> None:
    styles = {
        "gd": ("tab:blue", "-"), "sgd": ("tab:orange", "-"), "momentum": ("tab:green", "-"),
        "nesterov": ("tab:red", "--"), "random_search": ("tab:gray", "-"),
        "random_local_search": ("tab:purple", "-"), "genetic": ("tab:brown", "-"),
    }
    fig, ax = plt.subplots(figsize=(11, 5.5), constrained_layout=True)
    for name, (knob, best, r) in results.items():
        color, style = styles[name]
        h = r.history
        ax.plot(h.wall_time, h.train_loss, style, color=color, lw=2,
                label=f"{name} ({knob}={best:g})")
        ax.plot(h.wall_time[-1], h.train_loss[-1], "o", color=color)
    ax.axhline(start_loss, color="black", ls=":", lw=1, label="starting loss (all methods)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("wall time of optimizer steps (s, log scale)")
    ax.set_ylabel("training objective: softmax loss + L2 (log scale)")
    ax.set_title(f"Digits, same budget ({budget} full-data loss evaluations each)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
