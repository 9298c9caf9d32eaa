"""Tabular regression data: a feature matrix and one real target per row.

* ``.npz``: arrays ``X`` (n_samples, n_features) and ``y`` (n_samples,), read with the same
  checks as image archives (:func:`linclass.data.npz.read_npz`: no pickles, sizes checked).
* ``.csv``: a header row of column names, then numbers only; the target is the column
  named ``target`` (default: the last one), every other column a feature.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linclass.data.errors import DataError
from linclass.data.npz import read_npz


@dataclass(frozen=True)
class RegressionData:
    """Features, targets and the feature names.

    Attributes:
        X: ndarray of shape (n_samples, n_features), float64, finite.
        y: ndarray of shape (n_samples,), float64, finite.
        feature_names: One name per column of X.
        target_name: The target's name.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_name: str


def _checked(path: Path, X: np.ndarray, y: np.ndarray, names: list[str],
             target: str) -> RegressionData:
    if X.ndim != 2 or X.shape[1] == 0:
        raise DataError(path, f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise DataError(path, f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
    if X.shape[0] < 2:
        raise DataError(path, f"need at least 2 rows, got {X.shape[0]}")
    try:
        X, y = X.astype(np.float64), y.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(path, "X and y must hold numbers") from None
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise DataError(path, "X or y contains NaN or inf")
    return RegressionData(X, y, names, target)


def _load_csv(path: Path, target: str | None) -> RegressionData:
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(path, f"not a readable CSV file ({exc})") from None
    if len(rows) < 2:
        raise DataError(path, "needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    name = header[-1] if target is None else target
    if name not in header:
        raise DataError(path, f"no column named {name!r}; columns are {', '.join(header)}")
    values = np.empty((len(rows) - 1, len(header)))
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(path, f"line {i} has {len(row)} fields, the header {len(header)}")
        try:
            values[i - 2] = [float(v) for v in row]
        except ValueError:
            raise DataError(path, f"line {i} holds something that is not a number") from None
    k = header.index(name)
    features = [h for j, h in enumerate(header) if j != k]
    return _checked(path, np.delete(values, k, axis=1), values[:, k], features, name)


def load_regression(path: str | Path, target: str | None = None) -> RegressionData:
    """Load a regression set from ``.npz`` or ``.csv`` (see the module docstring).

    Args:
        path: The file.
        target: CSV only: the name of the target column (default: the last).

    Returns:
        A :class:`RegressionData`.

    Raises:
        DataError: Naming the file and what is wrong with it.
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _load_csv(path, target)
    if path.suffix.lower() != ".npz":
        raise DataError(path, "expected a .npz or .csv file")
    if target is not None:
        raise DataError(path, "a target column name is for CSV files; an .npz holds y")
    arrays = read_npz(path)
    if "x" not in arrays or "y" not in arrays:
        raise DataError(path, f"needs arrays X and y, found {', '.join(sorted(arrays)) or 'none'}")
    X = arrays["x"]
    return _checked(path, X, arrays["y"], [f"x{j}" for j in range(X.shape[1] if X.ndim == 2
                                                                  else 0)], "y")
