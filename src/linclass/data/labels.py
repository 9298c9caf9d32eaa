"""The one label check every loader calls: integer labels, 0..C-1, C a sane class count.

Labels come from files nobody checked: an embeddings folder's ``y_train.npy``, an
``.npz`` archive, IDX and CIFAR files. Converting them to int64 and building a class per
label number goes wrong in quiet ways: a uint64 label of 2**64 - 1 wraps to -1, and one
label of 2**40 in a folder without ``class_names.txt`` asks for a trillion class names.
:func:`check_labels` looks at the values *in their stored dtype*, before any conversion,
and refuses what cannot be a class index, naming the file, the array and the label.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from linclass.data.errors import DataError

#: The most classes a dataset may have (ImageNet-21k has about 21,800). A label at or
#: above it is refused rather than turned into that many classes.
MAX_CLASSES = 100_000


def check_labels(y: Any, where: str | os.PathLike[str], key: str, *,
                 n_classes: int | None = None, n: int | None = None) -> np.ndarray:
    """Check class labels and return them as int64.

    Args:
        y: The labels as stored (any array-like).
        where: The file (or folder) they came from, for the message.
        key: Which array it is (``"y_train"``, ``"labels"``), for the message.
        n_classes: Labels must be below this (the number of class names), or None: below
            :data:`MAX_CLASSES`.
        n: The number of labels expected (the number of images or rows), or None.

    Returns:
        ndarray of shape (n,), int64, every value in ``0..limit - 1``.

    Raises:
        DataError: Not 1-D, the wrong length, not integers (booleans and floats are not
            labels), a negative label, or one at or above the limit; the first bad label
            and its index are named.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(where, f"{key} must be 1-D labels, got shape {y.shape}")
    if n is not None and y.shape[0] != n:
        raise DataError(where, f"{key} must have shape ({n},) to match the data, got "
                        f"{y.shape}")
    if y.dtype.kind not in "iu":
        raise DataError(where, f"{key} must hold integer labels, got {y.dtype}")
    limit = MAX_CLASSES if n_classes is None else int(n_classes)
    if y.size == 0:
        return y.astype(np.int64)
    # Compared in the stored dtype: uint64 values above 2**63 would wrap in int64.
    if y.dtype.kind == "i" and int(y.min()) < 0:
        i = int(np.argmax(y < 0))
        raise DataError(where, f"{key}: label {int(y[i])} at index {i} is negative")
    top = int(y.max())  # a Python int: exact for any uint64
    if top >= limit:
        i = int(np.argmax(y == y.max()))
        if n_classes is None:
            problem = (f"{key}: label {top} at index {i} is out of range: labels are class "
                       f"numbers 0..C-1 and more than {MAX_CLASSES} classes is not a dataset "
                       "this reads (a corrupt label file?)")
        else:
            problem = f"{key}: label {top} at index {i} is out of range 0..{limit - 1}"
        raise DataError(where, problem)
    return y.astype(np.int64)


def check_class_count(n_classes: int, where: str | os.PathLike[str], what: str) -> None:
    """Refuse more than :data:`MAX_CLASSES` classes (distinct label values, names).

    Raises:
        DataError: Naming the file and what holds that many.
    """
    if n_classes > MAX_CLASSES:
        raise DataError(where, f"{what} make {n_classes} classes, more than the "
                        f"{MAX_CLASSES} a dataset may have")


__all__ = ["MAX_CLASSES", "check_class_count", "check_labels"]
