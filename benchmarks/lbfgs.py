"""linclass's ``optimizer="lbfgs"`` against scikit-learn's ``LogisticRegression(lbfgs)`` on
Fashion-MNIST -> LBFGS.md.

    python benchmarks/lbfgs.py            # C = 1 and C = 0.01, tol 1e-4
    python benchmarks/lbfgs.py --limit 10000

Both minimize the same objective: scikit-learn ``C sum_i CE_i + |W|^2 / 2`` and linclass
``mean_i CE_i + alpha |W|^2`` with ``alpha = 1 / (2 C N)`` (W penalized, not b). Features
are pixels / 255 (float32 for linclass, as it trains; scikit-learn gets the same array).
Both run with one BLAS thread (this machine's cores are shared; spinning BLAS workers made
both 50-100x slower). Reported: wall time of ``fit``, iterations, the objective of the
result in float64 (linclass's scaling), train/test accuracy.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent


def load(limit: int | None):
    from linclass import load_dataset

    ds = load_dataset("fashion-mnist")
    X_tr = ds.flat("train").astype(np.float32) / 255
    X_te = ds.flat("test").astype(np.float32) / 255
    y_tr, y_te = ds.y_train, ds.y_test
    if limit:
        X_tr, y_tr = X_tr[:limit], y_tr[:limit]
    return X_tr, y_tr, X_te, y_te


def objective(W, b, X, y, alpha) -> float:
    from linclass.objective import objective_value

    return objective_value({"W": W.astype(np.float64), "b": b.astype(np.float64)},
                           X.astype(np.float64), y, "softmax", "l2", alpha)


def run(C: float, tol: float, data) -> list[dict]:
    from sklearn.linear_model import LogisticRegression

    from linclass import LinearClassifier

    X_tr, y_tr, X_te, y_te = data
    alpha = 1.0 / (2 * C * len(y_tr))
    rows = []
    for name, model in (
        ("linclass lbfgs", LinearClassifier(optimizer="lbfgs", alpha=alpha, tol=tol,
                                            max_epochs=1000, random_state=0)),
        ("sklearn LogisticRegression", LogisticRegression(C=C, tol=tol, max_iter=1000)),
    ):
        with threadpool_limits(1):
            start = time.perf_counter()
            model.fit(X_tr, y_tr)
            seconds = time.perf_counter() - start
        n_iter = int(np.max(model.n_iter_))
        history = getattr(model, "history_", None)  # linclass: solver time without evaluations
        solver = history.wall_time[-1] if history is not None else seconds
        rows.append(dict(model=name, C=C, alpha=alpha, seconds=seconds, solver=solver,
                         n_iter=n_iter,
                         objective=objective(model.coef_, model.intercept_, X_tr, y_tr, alpha),
                         train=float(model.score(X_tr, y_tr)),
                         test=float(model.score(X_te, y_te))))
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--C", type=float, nargs="+", default=[1.0, 0.01])
    parser.add_argument("--out", type=Path, default=HERE / "LBFGS.md")
    args = parser.parse_args()
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()[0]
    data = load(args.limit)
    rows = [r for C in args.C for r in run(C, args.tol, data)]
    load_after = os.getloadavg()[0]
    lines = [
        "# L-BFGS: linclass vs scikit-learn LogisticRegression (Fashion-MNIST)",
        "",
        f"`python benchmarks/lbfgs.py` on {date}, {platform.machine()}, {os.cpu_count()} "
        f"cores shared with another engineer's jobs (load average (1 min) {load_before:.2f} "
        f"before the run, {load_after:.2f} after), {len(data[1])} training rows "
        f"x 784 (pixels / 255, float32), 10k test, tol={args.tol:g}, one BLAS thread. "
        "Objective: mean cross-entropy + alpha |W|^2 in float64 with alpha = 1/(2 C N).",
        "",
        "`fit seconds` is the whole `fit`; `solver seconds` leaves out the loss-and-accuracy "
        "pass linclass's history makes after every iteration (scikit-learn makes none).",
        "",
        "| model | C | alpha | fit seconds | solver seconds | iterations | objective | "
        "train acc | test acc |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['model']} | {r['C']:g} | {r['alpha']:.3g} | {r['seconds']:.1f} | "
                     f"{r['solver']:.1f} | "
                     f"{r['n_iter']} | {r['objective']:.6f} | {r['train']:.4f} | "
                     f"{r['test']:.4f} |")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
