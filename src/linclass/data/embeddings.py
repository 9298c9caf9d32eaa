"""A folder of precomputed embeddings (a "linear probe" dataset), left on disk.

Layout, either as ``.npy`` files (memory-mapped, never read whole) or zarr arrays::

    FOLDER/X_train.npy  y_train.npy  X_test.npy  y_test.npy  [class_names.txt]
    FOLDER/X_train.zarr y_train.zarr X_test.zarr y_test.zarr [class_names.txt]

``X_*`` are 2-D float16, float32 or uint8 arrays of shape (n, n_features); ``y_*`` 1-D
integer labels in ``0..n_classes - 1`` (read into memory: 8 bytes a row; checked by
:func:`linclass.data.labels.check_labels`). Class names come from ``class_names.txt``
(one a line) or are the label numbers.

A zarr array must have every chunk stored: a missing chunk would read as the fill value
(zero rows, label 0) and train on them without a word, so it is an error naming the chunk.
(zarr 3 skips chunks that hold only the fill value unless ``write_empty_chunks=True``.)

Files that change while a run reads them: a memory-mapped ``.npy`` truncated by another
process would end the run with SIGBUS (no Python error can be raised from inside the
read), so :class:`RowSubset` checks the file's size before each read and raises
:class:`DataError` instead (a truncation in the microseconds between that check and the
read still faults; ``linclass train`` turns on :mod:`faulthandler` so that such a crash
at least prints where it happened). Rows that become NaN after the up-front check are
found again by :func:`check_unchanged` when the fit fails.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from linclass.data.errors import DataError
from linclass.data.labels import check_labels
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
        self._file, self._file_bytes = mapped_file(X)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        """``self[i]``, ``self[a:b]`` or ``self[a:b, cols]``: the selected rows, in memory."""
        row_key, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        rows = np.atleast_1d(self.rows[row_key])
        if self._file is not None:
            check_size(self._file, self._file_bytes)
        oindex = getattr(self.base, "oindex", None)  # zarr: rows by index, orthogonally
        picked = np.asarray(oindex[rows] if oindex is not None else self.base[rows])
        if np.ndim(self.rows[row_key]) == 0:  # an integer: one row
            picked = picked[0]
        return picked[(slice(None), *rest)] if rest else picked

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        rows = self[:]
        return rows if dtype is None else rows.astype(dtype)


def mapped_file(X: Any) -> tuple[str | None, int]:
    """The file behind a memory map and the bytes it must hold, or ``(None, 0)``."""
    filename = getattr(X, "filename", None)
    if not isinstance(X, np.memmap) or filename is None:
        return None, 0
    return os.fspath(filename), int(X.offset) + int(X.nbytes)


def check_size(path: str, need: int) -> None:
    """Raise :class:`DataError` when a memory-mapped file is shorter than its map: reading
    the missing pages would kill the process with SIGBUS."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise DataError(path, f"cannot be read any more ({exc.strerror}); it was removed or "
                        "replaced while being read") from None
    if size < need:
        raise DataError(path, f"was truncated to {size} bytes while being read (its rows "
                        f"need {need}); another process changed it during the run")


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
            z = zarr.open_array(str(store), mode="r")
        except Exception as e:  # zarr raises several kinds for a bad store
            raise DataError(store, f"not a readable zarr array ({e})") from None
        check_chunks(z, store)
        return z
    raise DataError(folder, f"missing {key}.npy (or {key}.zarr)")


def check_chunks(z: Any, store: Path) -> None:
    """Refuse a zarr array (on a local folder) whose chunks are not all stored.

    zarr reads a missing chunk as the fill value, so a deleted chunk, or a ``zarr.json``
    that claims more rows than were written, would give rows of zeros. The expected keys
    come from the array's own metadata (``encode_chunk_key`` over the chunk grid, or the
    shard grid for a sharded array); the stored ones from one listing of the folder. No
    chunk is read.

    Raises:
        DataError: Naming the first missing chunk and how many are missing.
    """
    import itertools
    import math

    grid_of = getattr(z, "shards", None) or z.chunks
    grid = [math.ceil(s / c) if c else 0 for s, c in zip(z.shape, grid_of, strict=True)]
    stored: set[str] = set()
    for root, _, files in os.walk(store):
        rel = Path(root).relative_to(store)
        stored.update((rel / f).as_posix() if rel.parts else f for f in files)
    encode = z.metadata.encode_chunk_key
    missing = [key for coords in itertools.product(*(range(g) for g in grid))
               if (key := encode(coords)) not in stored]
    if missing:
        rows = grid_of[0] if grid_of else 0
        raise DataError(store, f"chunk {missing[0]!r} is missing ({len(missing)} of "
                        f"{math.prod(grid)} chunks are; chunks of {rows} rows): zarr would "
                        "read them as zeros. Restore the store, or write it again with every "
                        "chunk stored (zarr 3 skips chunks that hold only the fill value "
                        "unless write_empty_chunks=True)")


def check_finite(X: Any, where: str | os.PathLike[str], key: str) -> None:
    """Refuse float rows holding NaN or inf, read a chunk of rows at a time.

    Raises:
        DataError: Naming the file, the array and the first bad row.
    """
    if np.dtype(X.dtype).kind != "f":
        return
    chunks = getattr(X, "chunks", None)  # a zarr array's own row chunk, else about 16 MB
    step = (int(chunks[0]) if isinstance(chunks, tuple) and chunks else
            max(1, (16 << 20) // max(1, int(np.prod(X.shape[1:])) * np.dtype(X.dtype).itemsize)))
    for start in range(0, X.shape[0], step):
        block = np.asarray(X[start : start + step])
        ok = np.isfinite(block).all(axis=tuple(range(1, block.ndim)))
        if not ok.all():
            row = start + int(np.argmin(ok))
            raise DataError(where, f"{key} contains NaN or inf (row {row})")


def check_test_rows(ds: Embeddings) -> None:
    """:func:`check_finite` of the test rows, naming their file (before a fit, so that a
    NaN there is not found only when the run is scored)."""
    check_finite(ds.X_test, _source(Path(ds.source), "X_test"), "X_test")


def check_unchanged(folder: str | Path) -> None:
    """After a failed fit: raise :class:`DataError` if the training rows now hold NaN or
    inf, which the check before training did not see (the file changed during the run);
    return quietly otherwise.
    """
    folder = Path(folder)
    try:
        check_finite(_open(folder, "X_train"), _source(folder, "X_train"), "X_train")
    except DataError as exc:
        raise DataError(exc.path, f"{exc.problem} now, but its rows were finite when "
                        "training started: the file changed during the run (another process "
                        "writing to it?); no model was kept") from None


def _source(folder: Path, key: str) -> Path:
    npy = folder / f"{key}.npy"
    return npy if npy.is_file() else folder / f"{key}.zarr"


def _labels(y: Any, n: int, folder: Path, key: str) -> np.ndarray:
    if len(y.shape) != 1:
        raise DataError(_source(folder, key), f"{key} must be 1-D labels, got shape {y.shape}")
    return check_labels(y[:], _source(folder, key), key, n=n)


def load_embeddings(folder: str | Path) -> Embeddings:
    """Open a folder of embeddings without reading the rows.

    Args:
        folder: The folder (layout in the module docstring).

    Returns:
        The :class:`Embeddings`.

    Raises:
        DataError: A missing or unreadable file, a zarr array with a chunk not stored, a
            dtype other than float16/float32/uint8, no rows, mismatched widths or
            lengths, labels that :func:`~linclass.data.labels.check_labels` refuses.
    """
    folder = Path(folder)
    X_train, X_test = _open(folder, "X_train"), _open(folder, "X_test")
    for key, X in (("X_train", X_train), ("X_test", X_test)):
        if len(X.shape) != 2:
            raise DataError(folder, f"{key} must be 2-D (n, n_features), got {X.shape}")
        if np.dtype(X.dtype) not in [np.dtype(d) for d in X_DTYPES]:
            raise DataError(folder, f"{key} must be float16, float32 or uint8, got {X.dtype}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise DataError(_source(folder, key), f"{key} holds no rows (shape {X.shape}): "
                            f"{'training' if key == 'X_train' else 'test'} needs at least one")
    if X_test.shape[1] != X_train.shape[1]:
        raise DataError(folder, f"X_test has {X_test.shape[1]} features, X_train "
                        f"{X_train.shape[1]}")
    y_train = _labels(_open(folder, "y_train"), X_train.shape[0], folder, "y_train")
    y_test = _labels(_open(folder, "y_test"), X_test.shape[0], folder, "y_test")
    names_file = folder / "class_names.txt"
    top = max(int(y_train.max()), int(y_test.max(initial=0)))  # below MAX_CLASSES: checked
    if names_file.is_file():
        class_names = [line.strip() for line in names_file.read_text().splitlines() if line.strip()]
    else:
        class_names = [str(k) for k in range(top + 1)]
    if top >= len(class_names):
        raise DataError(folder, f"label {top} has no name in class_names.txt "
                        f"({len(class_names)} names)")
    if len(class_names) < 2:
        raise DataError(folder, "embeddings need at least 2 classes")
    return Embeddings(folder.name, X_train, y_train, X_test, y_test, class_names, str(folder))
