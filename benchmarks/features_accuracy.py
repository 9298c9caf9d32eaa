"""Test accuracy of softmax regression on raw pixels vs HOG vs HOG + histogram.

The lecture's claim is that a linear classifier on good features beats one on raw
pixels. This measures it on digits and Fashion-MNIST with linclass's own softmax
classifier (``ImageClassifier`` with ``LinearClassifier(loss="softmax")`` defaults, seed 0;
digits with batch 32 for 50 epochs),
features standardized with training statistics; seconds include feature extraction.

Run: ``PYTHONPATH=src python benchmarks/features_accuracy.py [--datasets digits ...]``; the
table it prints is kept in FEATURES_ACCURACY.md (feature *speed* is features_speed.py's
FEATURES.md).
"""

from __future__ import annotations

import argparse
import time

from linclass import ImageClassifier, LinearClassifier
from linclass.data import DataError, load_dataset
from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor

FEATURE_SETS = {"raw": ("raw",), "hog": ("hog",), "hog+hist": ("hog", "hist")}
# A HOG cell of a quarter of the image side at most: 8x8 digits need 2-pixel cells.
HOG_CELL = {"digits": (2, 2), "fashion-mnist": (4, 4)}
# The estimator's defaults are sized for 60k images; the 1,347 digits need smaller,
# more numerous steps (the same setting `make run` uses).
TRAINING = {"digits": {"batch_size": 32, "max_epochs": 50}}


def measure(name: str, kinds: tuple[str, ...]) -> tuple[float, int, float]:
    """Return (test accuracy, number of features, seconds) for one dataset and feature set."""
    ds = load_dataset(name)
    start = time.perf_counter()
    pipe = FeaturePipeline(
        FeatureExtractor(kinds=kinds, hog_pixels_per_cell=HOG_CELL.get(name, (4, 4))),
        Preprocessor(center="mean", standardize=True),
    )
    model = ImageClassifier(pipe, LinearClassifier(loss="softmax", random_state=0,
                                                  **TRAINING.get(name, {})))
    model.fit(ds.X_train, ds.y_train, progress=False)
    accuracy = model.score(ds.X_test, ds.y_test)
    return accuracy, pipe.n_features_out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"])
    args = parser.parse_args()
    print("| dataset | features | D | test accuracy | seconds |")
    print("|---|---|---:|---:|---:|")
    for name in args.datasets:
        for label, kinds in FEATURE_SETS.items():
            try:
                acc, dim, secs = measure(name, kinds)
            except DataError as exc:
                print(f"| {name} | {label} | - | skipped: {exc} | - |")
                break
            print(f"| {name} | {label} | {dim} | {acc:.4f} | {secs:.0f} |", flush=True)


if __name__ == "__main__":
    main()
