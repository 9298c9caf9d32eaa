"""Which training arrays live on disk, and how their rows become float features.

An array is *out of core* when it is a memory-mapped ndarray (``np.load(path,
mmap_mode="r")``, ``np.memmap``) or any other array-like that is not an in-memory ndarray
but has ``shape``, ``dtype`` and slicing (a zarr array, an h5py dataset). Such arrays are
read a slice of rows at a time, never converted whole. Sparse matrices are not (scikit-learn
refuses them with its own message), nor are Dask arrays: those are reduced where their
partitions live (:mod:`linclass.backends.dask`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linclass.sparsity import issparse

#: Bytes of a row chunk read from a store without chunks of its own (a memory map).
CHUNK_BYTES = 16 * 2**20


def is_dask(X: Any) -> bool:
    """True for a ``dask.array.Array`` (checked without importing Dask)."""
    return type(X).__module__.split(".")[0] == "dask"


def is_out_of_core(X: Any) -> bool:
    """True when ``X`` should be streamed from its store rather than used in memory."""
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, np.ndarray) or is_dask(X) or issparse(X):
        return False
    return all(hasattr(X, a) for a in ("shape", "dtype", "__getitem__")) and len(X.shape) >= 2


def stored_chunk_rows(X: Any) -> int | None:
    """The store's own row chunk (zarr, h5py: what one decode reads), None without one (a
    memory map, which any slice reads as cheaply)."""
    chunks = getattr(X, "chunks", None)
    if isinstance(chunks, tuple) and chunks and isinstance(chunks[0], (int, np.integer)):
        return int(chunks[0])
    return None


def chunk_rows(X: Any) -> int:
    """Rows per read: the store's own row chunk (zarr, h5py), else about
    :data:`CHUNK_BYTES` of rows."""
    own = stored_chunk_rows(X)
    if own is not None:
        return own
    row_bytes = max(1, int(np.prod(X.shape[1:], dtype=np.int64)) * np.dtype(X.dtype).itemsize)
    return max(1, CHUNK_BYTES // row_bytes)


def float_rows(X_rows: Any, out: np.ndarray | None = None) -> np.ndarray:
    """Rows as float features: float32/float64 kept, anything else (uint8, float16) cast
    to float32; written into ``out`` when given (its first ``len(X_rows)`` rows).

    Args:
        X_rows: Array-like of shape (n_rows, n_features), e.g. a slice of a memory map.
        out: Optional float ndarray with at least ``n_rows`` rows.

    Returns:
        ndarray of shape (n_rows, n_features).
    """
    X_rows = np.asarray(X_rows)
    dtype = X_rows.dtype if X_rows.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    if out is None:
        return X_rows if X_rows.dtype == dtype else X_rows.astype(dtype)
    target = out[: X_rows.shape[0]]
    np.copyto(target, X_rows, casting="unsafe")
    return target
