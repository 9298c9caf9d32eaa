"""The learning conformance matrix as a table -> LEARNING_MATRIX.md.

    python benchmarks/learning_matrix.py

Runs the same fits as ``tests/test_learning_matrix.py`` (default settings, the same
problems and references) and writes each combination's held-out score next to its
reference and floor, so the closing numbers are the ones the tests hold.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import test_learning_matrix as M  # noqa: E402
from linclass import LinearClassifier, LinearRegressor  # noqa: E402


def main() -> None:
    rows = ["| estimator | problem | loss / penalty | optimizer | score | reference | floor | ok |",
            "|---|---|---|---|---:|---:|---:|---|"]
    start = time.time()
    for loss, problem in M.GRID:
        ref = M.reference_accuracy(problem, loss, "l2")
        for opt in [*M.GRADIENT_OPTIMIZERS, "lbfgs"]:
            X_tr, X_te, y_tr, y_te = M.classification(problem)
            clf = M._quiet(LinearClassifier(loss=loss, optimizer=opt, random_state=0).fit,
                           X_tr, y_tr)
            acc = clf.score(X_te, y_te)
            floor = ref - M.ACCURACY_MARGIN
            rows.append(f"| classifier | {problem} | {loss} / l2 | {opt} | {acc:.3f} | "
                        f"{ref:.3f} | {floor:.3f} | {'yes' if acc >= floor else 'NO'} |")
    for problem, penalty in [("diabetes", p) for p in M.PENALTIES] + [("mixed", "l2"),
                                                                       ("iris", "none")]:
        ref = M.reference_r2(problem, penalty)
        for opt in [*M.GRADIENT_OPTIMIZERS, "lbfgs", *M.SEARCHES]:
            X_tr, X_te, y_tr, y_te = M.regression(problem)
            reg = M._quiet(LinearRegressor(penalty=penalty, optimizer=opt, random_state=0).fit,
                           X_tr, y_tr)
            r2 = reg.score(X_te, y_te)
            floor = ref - M.R2_MARGIN if opt not in M.SEARCHES else 0.3
            rows.append(f"| regressor | {problem} | squared / {penalty} | {opt} | {r2:.3f} | "
                        f"{ref:.3f} | {floor:.3f} | {'yes' if r2 >= floor else 'no (search)'} |")
    for opt in M.SEARCHES:
        for loss, scale in [("softmax", 1.0), ("svm", 100.0), ("squared", 100.0)]:
            X_tr, X_te, y_tr, y_te = M.small_problem(scale)
            clf = LinearClassifier(loss=loss, optimizer=opt, random_state=0).fit(X_tr, y_tr)
            acc = clf.score(X_te, y_te)
            rows.append(f"| classifier | 3 blobs x{scale:g} | {loss} / l2 | {opt} | {acc:.3f} | "
                        f"chance 0.333 | 0.700 | {'yes' if acc >= 0.7 else 'NO'} |")
    text = ("# Learning matrix\n\n`python benchmarks/learning_matrix.py` "
            f"({time.time() - start:.0f} s). Default settings; held-out accuracy or R^2; "
            "references as in `tests/test_learning_matrix.py` (converged L-BFGS on the "
            "same objective, LogisticRegression on standardized features for softmax, "
            "scikit-learn's exact Ridge/Lasso/ElasticNet/LinearRegression for regression).\n\n"
            + "\n".join(rows) + "\n")
    (HERE / "LEARNING_MATRIX.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
