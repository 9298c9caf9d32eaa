"""NumPy ``.npz`` archives, read with ``allow_pickle=False``.

Accepted keys (``x_*`` spellings too, as in Keras's ``mnist.npz``):

* ``X_train``, ``y_train``, ``X_test``, ``y_test``, or only ``X`` and ``y`` (then a
  stratified, seeded test split is made);
* optionally ``class_names``, a 1-D string array; labels are then indices into it.
  Without it the distinct label values (integers or strings), sorted, become the classes.

Images are (n, H, W), (n, H, W, 1) or (n, H, W, 3); uint8 is kept, other integers must lie
in 0..255, floats must be finite and in [0, 1] (they become float32).
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from linclass.data.dataset import Dataset
from linclass.data.errors import DataError
from linclass.data.idx import MAX_DEFLATE_RATIO
from linclass.data.labels import check_class_count, check_labels


def _check_members(path: Path) -> None:
    """Compare every member's header shape with its size before NumPy allocates it.

    ``np.load`` allocates the array a header describes and then reads into it, so a
    header claiming terabytes would fail with MemoryError (or swap) instead of a clear
    message; here the claim must match the member's stored size first.
    """
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED and (
                info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1)
            ):
                raise DataError(path, f"member {info.filename!r} claims an impossible size")
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(member)
                header_end = member.tell()
            if dtype.hasobject:
                raise DataError(path, f"member {info.filename!r} holds Python objects (pickle)")
            claimed = math.prod(shape) * dtype.itemsize
            if claimed != info.file_size - header_end:
                raise DataError(
                    path, f"member {info.filename!r} header says {shape} {dtype} "
                    f"({claimed} bytes) but it holds {info.file_size - header_end}"
                )


def _images(X: np.ndarray, path: Path, key: str) -> np.ndarray:
    if X.ndim == 4 and X.shape[-1] == 1:
        X = X[..., 0]
    if X.ndim not in (3, 4) or (X.ndim == 4 and X.shape[-1] != 3) or X.shape[0] == 0:
        raise DataError(path, f"{key!r} must have shape (n, H, W) or (n, H, W, 3), got {X.shape}")
    if X.dtype == np.uint8:
        return X
    if X.dtype.kind in "iu":
        if X.min() < 0 or X.max() > 255:
            raise DataError(path, f"{key!r} integer pixels must lie in 0..255")
        return X.astype(np.uint8)
    if X.dtype.kind == "f":
        if not np.isfinite(X).all() or X.min() < 0 or X.max() > 1:
            raise DataError(path, f"{key!r} float pixels must be finite and in [0, 1]")
        return X.astype(np.float32, copy=False)
    raise DataError(path, f"{key!r} has unsupported dtype {X.dtype}")


def _labels(
    ys: list[np.ndarray], names: list[str] | None, path: Path,
    keys: tuple[str, ...] = ("y_train", "y_test"),
) -> tuple[list[np.ndarray], list[str]]:
    """Turn label arrays into int64 indices 0..C-1 and return the class names."""
    for y in ys:
        if y.ndim != 1 or y.dtype.kind not in "iuUS":
            problem = f"labels must be 1-D integers or strings, got {y.dtype} {y.shape}"
            raise DataError(path, problem)
    if names is not None:
        if len(names) < 2:
            raise DataError(path, f"needs at least 2 class names, found {names}")
        check_class_count(len(names), path, "'class_names'")
        for y in ys:
            if y.dtype.kind not in "iu":
                problem = f"labels must be integers in 0..{len(names) - 1} (class_names)"
                raise DataError(path, problem)
        return [check_labels(y, path, key, n_classes=len(names))
                for y, key in zip(ys, keys, strict=True)], names
    if all(y.dtype.kind in "iu" for y in ys):  # exact, whatever the mix of int64 and uint64
        classes = np.array(sorted(set().union(*(np.unique(y).tolist() for y in ys))),
                           dtype=object)
        check_class_count(len(classes), path, "the distinct label values")
        if classes.size and not -(2**63) <= classes[0] <= classes[-1] < 2**63:
            raise DataError(path, f"label {classes[-1] if classes[-1] >= 2**63 else classes[0]}"
                            " does not fit in a 64-bit integer")
        classes = classes.astype(np.int64)
        ys = [y.astype(np.int64) for y in ys]
    else:
        classes = np.unique(np.concatenate(ys))
        check_class_count(len(classes), path, "the distinct label values")
    if len(classes) < 2:
        raise DataError(path, f"needs at least 2 classes, found {classes.tolist()}")
    return [np.searchsorted(classes, y).astype(np.int64) for y in ys], [
        c.decode() if isinstance(c, bytes) else str(c) for c in classes.tolist()
    ]


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every member of an ``.npz`` archive by lower-cased key, checked before it is read
    (sizes against headers, no pickles).

    Raises:
        DataError: A missing file, a bad archive, or a member that fails the checks.
    """
    try:
        _check_members(path)
        with np.load(path, allow_pickle=False) as npz:
            return {key.lower(): npz[key] for key in npz.files}
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except Exception as exc:  # bad zip, bad .npy header, pickled objects...
        raise DataError(path, f"not a valid .npz archive ({type(exc).__name__}: {exc})") from None


def load_npz(
    path: str | Path,
    *,
    test_size: float = 0.25,
    random_state: int | np.random.Generator | None = 0,
) -> Dataset:
    """Load images and labels from an ``.npz`` archive (see the module docstring).

    Args:
        path: The ``.npz`` file.
        test_size: Fraction of each class kept for testing when only ``X``/``y`` exist.
        random_state: Seed or generator for that split.

    Returns:
        A :class:`Dataset`.
    """
    path = Path(path)
    arrays = read_npz(path)

    names = None
    if "class_names" in arrays:
        raw = arrays["class_names"]
        if raw.ndim != 1 or raw.dtype.kind not in "US":
            raise DataError(path, "'class_names' must be a 1-D array of strings")
        names = [c.decode() if isinstance(c, bytes) else str(c) for c in raw.tolist()]
    split_keys, pool_keys = ("x_train", "y_train", "x_test", "y_test"), ("x", "y")
    if all(k in arrays for k in split_keys):
        X_train, X_test = (_images(arrays[k], path, k) for k in ("x_train", "x_test"))
        (y_train, y_test), names = _labels([arrays["y_train"], arrays["y_test"]], names, path)
        for X, y, split in ((X_train, y_train, "train"), (X_test, y_test, "test")):
            if X.shape[0] != y.shape[0]:
                problem = f"x_{split} has {X.shape[0]} images but y_{split} has {y.shape[0]} labels"
                raise DataError(path, problem)
        if X_train.shape[1:] != X_test.shape[1:] or X_train.dtype != X_test.dtype:
            raise DataError(path, "x_train and x_test differ in image shape or dtype")
        return Dataset(
            path.stem, X_train, y_train, X_test, y_test, names, X_train.shape[1:], str(path)
        )
    if all(k in arrays for k in pool_keys):
        X = _images(arrays["x"], path, "X")
        (y,), names = _labels([arrays["y"]], names, path, ("y",))
        if X.shape[0] != y.shape[0]:
            raise DataError(path, f"X has {X.shape[0]} images but y has {y.shape[0]} labels")
        return Dataset.from_unsplit(path.stem, X, y, names, test_size=test_size,
                                    random_state=random_state, source=str(path))
    raise DataError(
        path, f"expected keys X_train, y_train, X_test, y_test (or X, y), found {sorted(arrays)}"
    )
