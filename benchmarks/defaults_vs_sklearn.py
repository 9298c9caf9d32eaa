"""The user's path, defaults only: linclass next to scikit-learn's defaults, in one run
-> DEFAULTS_VS_SKLEARN.md.

    python benchmarks/defaults_vs_sklearn.py

Digits (``load_digits``, raw 0..16 values, stratified 75/25 split) and Fashion-MNIST (the
official 60k/10k split; rows as float64 ``X / 255`` and as raw 0..255 floats). Every
estimator is constructed with ``random_state=0`` (where it takes one) and nothing else.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def fit_score(make, X_tr, y_tr, X_te, y_te):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        est = make().fit(X_tr, y_tr)
        seconds = time.perf_counter() - start
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return est.score(X_te, y_te), seconds, warned


def main() -> None:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.model_selection import train_test_split

    from linclass import ImageClassifier, LinearClassifier
    from linclass.data import load_dataset

    rows = ["| data | rows as | estimator | test accuracy | fit (s) | warned |",
            "|---|---|---|---:|---:|---|"]

    def add(data, rows_as, name, make, X_tr, y_tr, X_te, y_te):
        acc, sec, warned = fit_score(make, X_tr, y_tr, X_te, y_te)
        rows.append(f"| {data} | {rows_as} | {name} | {acc:.4f} | {sec:.2f} | "
                    f"{'yes' if warned else ''} |")
        print(rows[-1], flush=True)

    d = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(d.data, d.target, test_size=0.25,
                                              stratify=d.target, random_state=0)
    I_tr, I_te = train_test_split(d.images.astype(np.uint8), test_size=0.25,
                                  stratify=d.target, random_state=0)
    add("digits", "uint8 images", "ImageClassifier()", lambda: ImageClassifier(), I_tr, y_tr,
        I_te, y_te)
    for name, make in (("LinearClassifier()", lambda: LinearClassifier(random_state=0)),
                       ("LogisticRegression()", LogisticRegression),
                       ("SGDClassifier()", lambda: SGDClassifier(random_state=0))):
        add("digits", "raw 0..16", name, make, X_tr, y_tr, X_te, y_te)

    f = load_dataset("fashion-mnist")
    add("fashion-mnist", "uint8 images", "ImageClassifier()", lambda: ImageClassifier(),
        f.X_train, f.y_train, f.X_test, f.y_test)
    flat_tr = f.X_train.reshape(len(f.y_train), -1)
    flat_te = f.X_test.reshape(len(f.y_test), -1)
    for rows_as, scale in (("float64 X / 255", 255.0), ("raw 0..255 floats", 1.0)):
        Xf_tr, Xf_te = flat_tr / scale, flat_te / scale
        add("fashion-mnist", rows_as, "LinearClassifier()",
            lambda: LinearClassifier(random_state=0), Xf_tr, f.y_train, Xf_te, f.y_test)
        if scale == 255.0:
            add("fashion-mnist", rows_as, "LogisticRegression()", LogisticRegression,
                Xf_tr, f.y_train, Xf_te, f.y_test)
            add("fashion-mnist", rows_as, "SGDClassifier()",
                lambda: SGDClassifier(random_state=0), Xf_tr, f.y_train, Xf_te, f.y_test)
    text = ("# Defaults next to scikit-learn's\n\n`python benchmarks/defaults_vs_sklearn.py` "
            f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, 2-core machine shared "
            "with a test run: times indicative, accuracies exact).\n\n" + "\n".join(rows) + "\n")
    (HERE / "DEFAULTS_VS_SKLEARN.md").write_text(text)


if __name__ == "__main__":
    main()
