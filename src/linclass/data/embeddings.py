"""A folder of precomputed embeddings (a "linear probe" dataset), left on disk.

Layout, either as ``.npy`` files (memory-mapped, never read whole) or zarr arrays::

    FOLDER/X_train.npy  y_train.npy  X_test.npy  y_test.npy  [class_names.txt]
    FOLDER/X_train.zarr y_train.zarr X_test.zarr y_test.zarr [class_names.txt]

``X_*`` are 2-D float16, float32 or uint8 arrays of shape (n, n_features); ``y_*`` 1-D
integer labels in ``0..n_classes - 1`` (read into memory: 8 bytes a row). Class names
come from ``class_names.txt`` (one a line) or are the label numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from linclass.data.errors import DataError
from linclass.data.split import stratified_split

X_DTYPES = (np.float16, np.float32, np.uint8)
SPLITS = ("X_train", "y_train", "X_test", "y_test")


@dataclass(frozen=True, eq=False)
class Embeddings:
    """Train and test feature rows on disk, with integer labels and class names.

    Attributes:
        name: The folder's name.
        X_train: Array of shape (n_train, n_features) (``np.memmap`` or zarr array).
        y_train: ndarray of shape (n_train,), int64.
        X_test: Array of shape (n_test, n_features), same kind and dtype.
        y_test: ndarray of shape (n_test,), int64.
        class_names: Name of each class.
        source: The folder.
    """

    name: str
    X_train: Any
    y_train: np.ndarray
    X_test: Any
    y_test: np.ndarray
    class_names: list[str]
    source: str = ""

    @property
    def n_classes(self) -> int:
        """Number of classes C."""
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        """Width D of a row."""
        return int(self.X_train.shape[1])


class RowSubset:
    """Some rows of a stored array, read on demand: a validation split of rows on disk
    without copying the rows that stay for training.

    Slicing reads only the selected rows of the slice's range (a memory map gathers
    them; a zarr array reads them as an orthogonal selection), so the training loop, which
    reads stored rows a slice at a time (:mod:`linclass.training.arrays`), streams the
    subset as it streams the whole array.

    Args:
        X: Array of shape (n, n_features), a memory map or a zarr array.
        rows: Sorted int64 indices into ``X``'s rows.
    """

    def __init__(self, X: Any, rows: np.ndarray) -> None:
        self.base = X
        self.rows = np.asarray(rows, dtype=np.int64)
        self.shape = (int(self.rows.shape[0]), *tuple(X.shape[1:]))
        self.dtype = np.dtype(X.dtype)
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        """``self[i]``, ``self[a:b]`` or ``self[a:b, cols]``: the selected rows, in memory."""
        row_key, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        rows = np.atleast_1d(self.rows[row_key])
        oindex = getattr(self.base, "oindex", None)  # zarr: rows by index, orthogonally
        picked = np.asarray(oindex[rows] if oindex is not None else self.base[rows])
        if np.ndim(self.rows[row_key]) == 0:  # an integer: one row
            picked = picked[0]
        return picked[(slice(None), *rest)] if rest else picked

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        rows = self[:]
        return rows if dtype is None else rows.astype(dtype)


def split_rows(ds: Embeddings, val_fraction: float, seed: int
               ) -> tuple[RowSubset, np.ndarray, RowSubset, np.ndarray]:
    """Hold out a stratified, seeded validation split of the training rows, on disk.

    The split is :func:`linclass.data.split.stratified_split`'s, the one image runs use
    (``train_val_split``), so ``--val-fraction`` and ``--seed`` mean the same thing for
    both.

    Args:
        ds: The embeddings.
        val_fraction: Fraction of each class held out, in (0, 1).
        seed: Seed of the split.

    Returns:
        ``(X_train, y_train, X_val, y_val)``; the rows stay on disk (:class:`RowSubset`).
    """
    train_idx, val_idx = stratified_split(ds.y_train, val_fraction, seed)
    return (RowSubset(ds.X_train, train_idx), ds.y_train[train_idx],
            RowSubset(ds.X_train, val_idx), ds.y_train[val_idx])


def is_embeddings_folder(path: Path) -> bool:
    """True when ``path`` holds ``X_train.npy`` or ``X_train.zarr``."""
    return path.is_dir() and any((path / f"X_train{s}").exists() for s in (".npy", ".zarr"))


def _open(folder: Path, key: str) -> Any:
    npy, store = folder / f"{key}.npy", folder / f"{key}.zarr"
    if npy.is_file():
        try:
            return np.load(npy, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as e:
            raise DataError(npy, f"not a readable .npy file ({e})") from None
    if store.exists():
        try:
            import zarr
        except ImportError:
            raise DataError(store, "reading zarr needs the [dask] extra: "
                            "pip install 'linclass[dask]'") from None
        try:
            return zarr.open_array(str(store), mode="r")
        except Exception as e:  # zarr raises several kinds for a bad store
            raise DataError(store, f"not a readable zarr array ({e})") from None
    raise DataError(folder, f"missing {key}.npy (or {key}.zarr)")


def _labels(y: Any, n: int, where: Path, key: str) -> np.ndarray:
    y = np.asarray(y[:])
    if y.ndim != 1 or y.shape[0] != n:
        raise DataError(where, f"{key} must have shape ({n},), got {y.shape}")
    if y.dtype.kind not in "iu":
        raise DataError(where, f"{key} must hold integer labels, got {y.dtype}")
    if y.size and y.min() < 0:
        raise DataError(where, f"{key} has negative labels")
    return y.astype(np.int64)


def load_embeddings(folder: str | Path) -> Embeddings:
    """Open a folder of embeddings without reading the rows.

    Args:
        folder: The folder (layout in the module docstring).

    Returns:
        The :class:`Embeddings`.

    Raises:
        DataError: A missing or unreadable file, a dtype other than float16/float32/uint8,
            mismatched widths or lengths, non-integer or out-of-range labels.
    """
    folder = Path(folder)
    X_train, X_test = _open(folder, "X_train"), _open(folder, "X_test")
    for key, X in (("X_train", X_train), ("X_test", X_test)):
        if len(X.shape) != 2:
            raise DataError(folder, f"{key} must be 2-D (n, n_features), got {X.shape}")
        if np.dtype(X.dtype) not in [np.dtype(d) for d in X_DTYPES]:
            raise DataError(folder, f"{key} must be float16, float32 or uint8, got {X.dtype}")
    if X_test.shape[1] != X_train.shape[1]:
        raise DataError(folder, f"X_test has {X_test.shape[1]} features, X_train "
                        f"{X_train.shape[1]}")
    y_train = _labels(_open(folder, "y_train"), X_train.shape[0], folder, "y_train")
    y_test = _labels(_open(folder, "y_test"), X_test.shape[0], folder, "y_test")
    names_file = folder / "class_names.txt"
    if names_file.is_file():
        class_names = [line.strip() for line in names_file.read_text().splitlines() if line.strip()]
    else:
        class_names = [str(k) for k in range(int(max(y_train.max(), y_test.max(initial=0))) + 1)]
    top = max(int(y_train.max()), int(y_test.max(initial=0)))
    if top >= len(class_names):
        raise DataError(folder, f"label {top} has no name in class_names.txt "
                        f"({len(class_names)} names)")
    if len(class_names) < 2:
        raise DataError(folder, "embeddings need at least 2 classes")
    return Embeddings(folder.name, X_train, y_train, X_test, y_test, class_names, str(folder))
