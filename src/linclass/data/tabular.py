"""Tabular regression data: a feature matrix and one real target per row.

* ``.npz``: arrays ``X`` (n_samples, n_features) and ``y`` (n_samples,), read with the same
  checks as image archives (:func:`linclass.data.npz.read_npz`: no pickles, sizes checked).
* ``.csv``: a header row of distinct column names, then numbers only; the target is the
  column named ``target`` (default: the last one), every other column a feature. It is
  read as UTF-8 (a byte-order mark is dropped) a row at a time into float blocks, so a
  100 MB table needs about twice its float64 size, not a list of Python strings per cell.

Every value must be finite, and no bigger in magnitude than :data:`MAX_ABS`: beyond it
its square, which the squared error and the column's spread are made of, overflows
float64 (a refusal naming the column and the line, instead of a fit on zeroed columns).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linclass.data.errors import DataError
from linclass.data.npz import read_npz

#: The largest magnitude accepted: about sqrt of the largest float64 over the row count
#: a table can have, so that a sum of squares cannot overflow.
MAX_ABS = 1e150
_BLOCK_ROWS = 8192  # rows parsed into one float block

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
             target: str, lines: int = 0) -> RegressionData:
    """Shapes and values; ``lines``: the file line of row 0 (CSV), 0 for an archive."""
    if X.ndim != 2 or X.shape[1] == 0:
        raise DataError(path, f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise DataError(path, f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
    if X.shape[0] < 2:
        raise DataError(path, f"need at least 2 rows, got {X.shape[0]}")
    try:
        X, y = X.astype(np.float64, copy=False), y.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise DataError(path, "X and y must hold numbers") from None
    for values, columns in ((X, names), (y[:, None], [target])):
        bad = ~np.isfinite(values) | (np.abs(values) > MAX_ABS)
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            where = f"line {row + lines}" if lines else f"row {row}"
            value = float(values[row, col])
            why = ("is not finite" if not np.isfinite(value) else
                   f"is too large (beyond {MAX_ABS:g} its square overflows float64; "
                   "rescale the column)")
            raise DataError(path, f"column {columns[col]!r}, {where}: {value!r} {why}")
    return RegressionData(X, y, names, target)


def _load_csv(path: Path, target: str | None) -> RegressionData:
    try:
        # utf-8-sig: a byte-order mark (Excel writes one) is not part of the first name
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            name, k = _target_column(path, header, target)
            blocks, block, filled = [], np.empty((_BLOCK_ROWS, len(header))), 0
            for i, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    raise DataError(path, f"line {i} has {len(row)} fields, the header "
                                    f"{len(header)}")
                try:
                    block[filled] = [float(v) for v in row]
                except ValueError:
                    raise DataError(path, f"line {i} holds something that is not a "
                                    "number") from None
                filled += 1
                if filled == _BLOCK_ROWS:
                    blocks.append(block)
                    block, filled = np.empty_like(block), 0
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(path, f"not a readable CSV file ({exc})") from None
    blocks.append(block[:filled])
    if sum(len(b) for b in blocks) == 0:
        raise DataError(path, "needs a header row and at least one data row")
    keep = [j for j in range(len(header)) if j != k]
    total = sum(len(b) for b in blocks)
    X, y, at = np.empty((total, len(keep))), np.empty(total), 0
    del block
    while blocks:  # each block freed once copied: the peak is about 2x the floats
        part = blocks.pop(0)
        X[at : at + len(part)], y[at : at + len(part)] = part[:, keep], part[:, k]
        at += len(part)
        del part
    return _checked(path, X, y, [header[j] for j in keep], name, lines=2)


def _target_column(path: Path, header: list[str], target: str | None) -> tuple[str, int]:
    """The target's name and index; refuses an empty header and repeated names."""
    if not header or header == [""]:
        raise DataError(path, "needs a header row and at least one data row")
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise DataError(path, f"column {h!r} appears {header.count(h)} times in the "
                            "header: give each column its own name")
        seen.add(h)
    name = header[-1] if target is None else target
    if name not in header:
        raise DataError(path, f"no column named {name!r}; columns are {', '.join(header)}")
    return name, header.index(name)


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
