"""What a user gets without tuning: every optimizer's defaults on the digits and on
Fashion-MNIST, next to scikit-learn's defaults, measured in one run -> DEFAULTS.md.

    python benchmarks/defaults.py                  # both datasets, every optimizer
    python benchmarks/defaults.py --skip-slow      # no search optimizers on Fashion-MNIST
    python benchmarks/defaults.py --before DIR     # also time the defaults of an older
                                                   # checkout (DIR/src) on Fashion-MNIST

Digits: ``load_digits`` X / 16, a stratified 75/25 split (``random_state=0``),
``LinearClassifier(loss=..., optimizer=..., random_state=0)`` and nothing else.
Fashion-MNIST: the CLI's path, ``ImageClassifier(classifier=LinearClassifier(...))`` on
uint8 images (raw pixels, mean subtracted), official 60k/10k split. scikit-learn's
``LogisticRegression()`` and ``SGDClassifier()`` (hinge) / ``SGDClassifier(loss="log_loss")``
with their defaults on the same features (X / 16, X / 255).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OPTIMIZERS = ("momentum", "sgd", "nesterov", "gd", "random_search", "random_local_search",
              "genetic")
SEARCH = ("random_search", "random_local_search", "genetic")


def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=0)


def fit_linclass(loss: str, optimizer: str, data, images: bool) -> dict:
    from linclass import ImageClassifier, LinearClassifier

    X_tr, X_te, y_tr, y_te = data
    clf = LinearClassifier(loss=loss, optimizer=optimizer, random_state=0)
    model = ImageClassifier(classifier=clf) if images else clf
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model.fit(X_tr, y_tr)
        seconds = time.perf_counter() - start
    fitted = model.classifier_ if images else model
    return dict(accuracy=float(model.score(X_te, y_te)), seconds=seconds,
                epochs=int(fitted.n_iter_), warned=bool(caught))


def fit_sklearn(name: str, data) -> dict:
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    X_tr, X_te, y_tr, y_te = data
    est = {"LogisticRegression()": LogisticRegression(),
           "SGDClassifier()": SGDClassifier(random_state=0),
           "SGDClassifier(loss='log_loss')": SGDClassifier(loss="log_loss", random_state=0),
           }[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        est.fit(X_tr, y_tr)
        seconds = time.perf_counter() - start
    return dict(accuracy=float(est.score(X_te, y_te)), seconds=seconds,
                epochs=int(np.max(est.n_iter_)), warned=bool(caught))


BEFORE_SNIPPET = """
import json, sys, time
from linclass import ImageClassifier, LinearClassifier, load_dataset
d = load_dataset("fashion-mnist")
loss = sys.argv[1]
m = ImageClassifier(classifier=LinearClassifier(loss=loss, random_state=0))
t = time.perf_counter(); m.fit(d.X_train, d.y_train); t = time.perf_counter() - t
print(json.dumps({"seconds": t, "accuracy": float(m.score(d.X_test, d.y_test))}))
"""


def time_checkout(src: Path | None, loss: str) -> dict:
    """Defaults of the checkout at ``src`` (this one if None), in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(src if src else HERE.parent / "src"))
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", BEFORE_SNIPPET, loss],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-slow", action="store_true",
                    help="skip the search optimizers on Fashion-MNIST")
    ap.add_argument("--before", type=Path, help="an older checkout to time against")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "DEFAULTS.md")
    args = ap.parse_args()

    from linclass import load_dataset

    rows: list[tuple[str, str, str, dict]] = []
    d = digits()
    for loss in ("softmax", "svm"):
        for opt in OPTIMIZERS:
            rows.append(("digits", loss, opt, fit_linclass(loss, opt, d, images=False)))
            print(rows[-1], flush=True)
    for name in ("LogisticRegression()", "SGDClassifier()", "SGDClassifier(loss='log_loss')"):
        rows.append(("digits", "-", name, fit_sklearn(name, d)))
        print(rows[-1], flush=True)

    f = load_dataset("fashion-mnist")
    fm = (f.X_train, f.X_test, f.y_train, f.y_test)
    for loss in ("softmax", "svm"):
        for opt in OPTIMIZERS:
            if args.skip_slow and opt in SEARCH:
                continue
            rows.append(("fashion-mnist", loss, opt, fit_linclass(loss, opt, fm, images=True)))
            print(rows[-1], flush=True)
    flat = (f.flat("train") / np.float32(255), f.flat("test") / np.float32(255),
            f.y_train, f.y_test)
    for name in ("LogisticRegression()", "SGDClassifier()", "SGDClassifier(loss='log_loss')"):
        rows.append(("fashion-mnist", "-", name, fit_sklearn(name, flat)))
        print(rows[-1], flush=True)

    lines = ["# Defaults without tuning", "",
             "Written by `python benchmarks/defaults.py` "
             f"({time.strftime('%Y-%m-%d')}, {os.cpu_count()}-core machine, shared with "
             "other work while it ran: times are indicative, accuracies exact). Every "
             "linclass row is `LinearClassifier(loss=..., optimizer=..., random_state=0)` "
             "and nothing else; digits: X / 16, stratified 75/25 split; Fashion-MNIST: "
             "`ImageClassifier` on the uint8 images (the CLI's path), official split.", "",
             "| data | loss | optimizer / estimator | test accuracy | epochs (iters) | fit "
             "(s) | warned |", "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for data, loss, opt, r in rows:
        lines.append(f"| {data} | {loss} | {opt} | {r['accuracy']:.4f} | {r['epochs']} | "
                     f"{r['seconds']:.2f} | {'yes' if r['warned'] else ''} |")
    if args.before is not None:
        lines += ["", "## Fit time of the defaults on Fashion-MNIST, before and after", "",
                  f"Default `ImageClassifier` fits, {args.rounds} interleaved rounds each in a "
                  f"fresh process; before = `{args.before}`.", "",
                  "| loss | before: median fit (s) | accuracy | after: median fit (s) | "
                  "accuracy | after / before |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for loss in ("softmax", "svm"):
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for _ in range(args.rounds):
                runs["before"].append(time_checkout(args.before / "src", loss))
                runs["after"].append(time_checkout(None, loss))
            med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
            acc = {k: v[0]["accuracy"] for k, v in runs.items()}
            lines.append(f"| {loss} | {med['before']:.2f} | {acc['before']:.4f} | "
                         f"{med['after']:.2f} | {acc['after']:.4f} | "
                         f"{med['after'] / med['before']:.2f} |")
            print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
