"""A warm-started L-BFGS regularization path against one fit and against independent fits,
on Fashion-MNIST raw pixels -> SWEEPS_PATH.md.

    python benchmarks/sweeps_path.py                       # 2,000 rows, 3 rounds
    python benchmarks/sweeps_path.py --limit 60000 --rounds 3

Contenders, each timed whole (data validation, coordinates and every fit included):

* ``one fit``: ``LinearClassifier(optimizer="lbfgs", alpha=1e-4).fit`` (the default alpha);
* ``path``: :func:`linclass.estimator_path` over 10 alphas, strongest first, each point
  started at the previous minimizer;
* ``independent``: ``LinearClassifier(optimizer="lbfgs", alpha=a).fit`` for each of the
  same 10 alphas, each from its own start.

The rounds are interleaved (the order of the three rotates each round) and the median is
reported, because this machine's two cores are shared. Goals: the path takes at most 3x
one fit, and every point's objective is within 1e-6 relative of the independent fit's.
``run(...)`` returns everything as a dict, so that the sweeps report can include it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
#: The path's strengths: two decades down to the default alpha (1e-4), which brackets the
#: best test accuracy on a few thousand rows.
ALPHAS = tuple(float(a) for a in np.logspace(-2, -4, 10))
#: What the path's speed is held to, as a multiple of one fit.
GOAL_RATIO = 3.0
#: How close each point's objective must be to the independent fit's (relative).
GOAL_REL = 1e-6


def load(limit: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST rows as ``pixels / 255`` in float64 (the first ``limit`` training
    images: the IDX files are in random class order, so a prefix is a fair subset)."""
    from linclass import load_dataset

    ds = load_dataset("fashion-mnist")
    X, y = ds.flat("train"), ds.labels("train")
    if limit is not None and limit < X.shape[0]:
        X, y = X[:limit], y[:limit]
    return X / 255.0, y, ds.flat("test") / 255.0, ds.labels("test")


def objective(est: Any, X: np.ndarray, y: np.ndarray) -> float:
    """J of a fitted classifier on its training set, in float64."""
    from linclass.objective import objective_value

    return float(objective_value({"W": est.coef_, "b": est.intercept_}, X, est._encode(y),
                                 **est.objective_params()))


def run(limit: int | None = 2_000, rounds: int = 3, tol: float = 1e-6,
        alphas: tuple[float, ...] = ALPHAS, one_alpha: float = 1e-4,
        max_epochs: int = 5000, report: Callable[[dict[str, Any]], None] | None = None
        ) -> dict[str, Any]:
    """Time the three contenders (module docstring) and compare the path's points.

    Args:
        limit: Training rows (None: all 60,000).
        rounds: Interleaved rounds; the median of each contender is reported.
        tol: L-BFGS's gradient tolerance, for every fit.
        alphas: The path's strengths.
        one_alpha: The strength of the single fit.
        max_epochs: L-BFGS's iteration budget per fit.
        report: Called with the result so far after every round (a long run then leaves
            its completed rounds behind).

    Returns:
        ``{"meta": ..., "contenders": [...], "points": [...], "goals": {...}}``: seconds
        per round, medians and iterations per contender; per alpha the path's and the
        independent fit's iterations, objectives and test accuracy.
    """
    from sklearn.exceptions import ConvergenceWarning

    from linclass import LinearClassifier, estimator_path

    X, y, X_te, y_te = load(limit)

    def make(alpha: float) -> LinearClassifier:
        return LinearClassifier(optimizer="lbfgs", alpha=alpha, tol=tol,
                                max_epochs=max_epochs, random_state=0)

    contenders: dict[str, Callable[[], Any]] = {
        "one fit": lambda: make(one_alpha).fit(X, y),
        "path": lambda: estimator_path(make(one_alpha), X, y, list(alphas)),
        "independent": lambda: [make(a).fit(X, y) for a in alphas],
    }
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    last: dict[str, Any] = {}
    meta = dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                machine=platform.machine(), cores=os.cpu_count(),
                load_before=os.getloadavg()[0], n_train=int(len(y)),
                subset=limit is not None and limit < 60_000, rounds=0, tol=tol,
                alphas=list(alphas), one_alpha=one_alpha, max_epochs=max_epochs)
    names = list(contenders)
    result: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for r in range(rounds):
            for name in names[r % 3:] + names[: r % 3]:  # rotate the order each round
                start = time.perf_counter()
                last[name] = contenders[name]()
                seconds[name].append(time.perf_counter() - start)
                print(f"round {r + 1} {name}: {seconds[name][-1]:.1f} s", flush=True)
            meta.update(rounds=r + 1, load_after=os.getloadavg()[0])
            result = summarize(meta, seconds, last, X, y, X_te, y_te)
            if report is not None:
                report(result)
    return result


def summarize(meta: dict[str, Any], seconds: dict[str, list[float]], last: dict[str, Any],
              X: np.ndarray, y: np.ndarray, X_te: np.ndarray, y_te: np.ndarray
              ) -> dict[str, Any]:
    """:func:`run`'s result from the rounds so far (the points from the latest round)."""
    the_path, fits = last["path"], last["independent"]
    points = []
    for k, alpha in enumerate(meta["alphas"]):
        reference = objective(fits[k], X, y)
        points.append(dict(
            alpha=alpha, path_iter=int(the_path.n_iter[k]), independent_iter=int(fits[k].n_iter_),
            path_objective=float(the_path.objectives[k]), independent_objective=reference,
            rel=float((the_path.objectives[k] - reference) / reference),
            converged=bool(the_path.converged[k]),
            test_accuracy=float(the_path.estimators[k].score(X_te, y_te))))
    iterations = {"one fit": int(last["one fit"].n_iter_), "path": the_path.total_iter,
                  "independent": sum(int(f.n_iter_) for f in fits)}
    medians = {name: statistics.median(s) for name, s in seconds.items()}
    rows = [dict(name=name, seconds=list(s), median=medians[name],
                 ratio=medians[name] / medians["one fit"], iterations=iterations[name])
            for name, s in seconds.items()]
    worst = max(abs(p["rel"]) for p in points)
    ratio = medians["path"] / medians["one fit"]
    return dict(meta=dict(meta), contenders=rows, points=points,
                goals=dict(ratio=ratio, ratio_goal=GOAL_RATIO, ratio_met=ratio <= GOAL_RATIO,
                           worst_rel=worst, rel_goal=GOAL_REL, rel_met=worst <= GOAL_REL))


def markdown(result: dict[str, Any]) -> str:
    """The report of :func:`run`'s result."""
    m, g = result["meta"], result["goals"]
    rows = ("all 60000" if not m["subset"] else
            f"the first {m['n_train']} (a subset: one L-BFGS fit on 10,000 rows took "
            "170 s under this load, so rounds of 21 fits on all 60,000 do not fit in a "
            "session)")
    lines = [
        "# Sweeps: a warm-started L-BFGS regularization path (Fashion-MNIST)",
        "",
        f"`python benchmarks/sweeps_path.py` on {m['date']}, {m['machine']}, {m['cores']} "
        f"cores shared with other jobs (load average (1 min) {m['load_before']:.2f} before, "
        f"{m['load_after']:.2f} after). Training rows: {rows}; pixels / 255 in float64, "
        "LinearClassifier's defaults otherwise (softmax, L2, standardized coordinates), "
        f"`optimizer=\"lbfgs\"`, `tol={m['tol']:g}`, `max_epochs={m['max_epochs']}`. "
        f"{len(m['alphas'])} alphas from {max(m['alphas']):g} to {min(m['alphas']):g}; the "
        f"single fit at alpha={m['one_alpha']:g}. Medians of {m['rounds']} interleaved "
        "rounds.",
        "",
        "| contender | median seconds | per round | x one fit | L-BFGS iterations |",
        "|---|---:|---|---:|---:|",
    ]
    for r in result["contenders"]:
        per = ", ".join(f"{s:.1f}" for s in r["seconds"])
        lines.append(f"| {r['name']} | {r['median']:.1f} | {per} | {r['ratio']:.2f} | "
                     f"{r['iterations']} |")
    lines += [
        "",
        f"Goal path <= {g['ratio_goal']:g}x one fit: "
        f"{'met' if g['ratio_met'] else 'not met'} ({g['ratio']:.2f}x). Goal every point "
        f"within {g['rel_goal']:g} relative of the independent fit's objective: "
        f"{'met' if g['rel_met'] else 'not met'} (worst {g['worst_rel']:.1e}).",
        "",
        "Each point (the last round's runs):",
        "",
        "| alpha | path iterations | independent iterations | path objective | "
        "independent objective | relative difference | converged | test accuracy |",
        "|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for p in result["points"]:
        lines.append(f"| {p['alpha']:.3g} | {p['path_iter']} | {p['independent_iter']} | "
                     f"{p['path_objective']:.9f} | {p['independent_objective']:.9f} | "
                     f"{p['rel']:.1e} | {'yes' if p['converged'] else 'no'} | "
                     f"{p['test_accuracy']:.4f} |")
    iterations = {r["name"]: r["iterations"] for r in result["contenders"]}
    fewer = 1.0 - iterations["path"] / iterations["independent"]
    lines += [
        "",
        "A fit measures loss and accuracy on the training set after every L-BFGS iteration "
        "(its history), about one more pass over the data per iteration; a path point "
        "measures them once, at its end. The path's gain over the independent fits is "
        f"partly that pass and partly the warm start: {fewer:.0%} fewer iterations here.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=2_000,
                        help="training rows (0: all 60,000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--out", type=Path, default=HERE / "SWEEPS_PATH.md")
    args = parser.parse_args()
    def write(result: dict[str, Any]) -> None:
        args.out.write_text(markdown(result))
        print(f"wrote {args.out} ({result['meta']['rounds']} rounds)", flush=True)

    run(limit=args.limit or None, rounds=args.rounds, tol=args.tol, report=write)


if __name__ == "__main__":
    main()
