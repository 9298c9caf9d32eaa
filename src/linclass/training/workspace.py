"""The one place where stored rows become features, in buffers made once.

A fit loop computes, for a mini-batch or a chunk of a full pass,

    F = features(X[rows]),    J, dJ/dW, dJ/db = objective(params, F, y[rows])

A :class:`Workspace` gathers the rows into one buffer, converts them into another (or, for
raw pixels whose preprocessing is folded into W and b, only casts them: see
:class:`Foldable`), and lends score and gradient buffers to the in-place objective, so a
step allocates nothing.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Protocol, cast, runtime_checkable

import numpy as np
from numpy.typing import DTypeLike

from linclass.model import Params
from linclass.sparsity import issparse
from linclass.training.sampler import CHUNK_ROWS
from linclass.training.windows import row_blocks

Transform = Callable[..., np.ndarray]
Affine = tuple[np.ndarray, np.ndarray]


@runtime_checkable
class Foldable(Protocol):
    """A transform that is an affine map of the stored rows, ``transform(X) = a * X + c``
    per feature, for rows of ``dtype`` (raw pixels: :class:`linclass.features.
    AffineTransform`). A loop may then train on ``cast(X)`` with the map folded into the
    parameters (:mod:`linclass.objective`) instead of building the features."""

    scale: np.ndarray
    shift: np.ndarray
    dtype: np.dtype

    def __call__(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray: ...

    def cast(self, X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray: ...


def affine_of(transform: Transform | None, X: np.ndarray) -> Affine | None:
    """``(a, c)`` when ``transform`` is :class:`Foldable` for rows like ``X``'s, else None."""
    if not isinstance(transform, Foldable) or X.dtype != transform.dtype:
        return None
    a, c = transform.scale, transform.shift
    if a.shape != (math.prod(X.shape[1:]),) or c.shape != a.shape:
        return None
    return a, c


def accepts_out(transform: Transform) -> bool:
    """Whether ``transform(rows, out=buffer)`` works, so that a step can reuse a buffer."""
    try:
        return "out" in inspect.signature(transform).parameters
    except (TypeError, ValueError):  # a callable without a signature
        return False


class Workspace:
    """Buffers for blocks of at most ``rows`` stored rows, and their conversion to features.

    A block's buffers are made once per *slot*: the loop's own (``"now"``), a pass over the
    whole set (``"walk"``) and the two a batch stream alternates between (:meth:`stream`),
    so that the next batch can be gathered on the second core while the current one
    computes.

    Args:
        transform: ``transform(X_rows) -> features``, or None when the rows are features.
        affine: ``(a, c)`` when the loop folds ``transform`` into the parameters (then a
            block is only cast to float32), else None.
        rows: The most rows of a block (a mini-batch, or :data:`CHUNK_ROWS`).
        dtype: The float type the steps compute in (the params'): float rows of another
            float type that are features already (no ``transform``) are cast into a
            buffer of it block by block, never as a whole array (float64 rows, float32
            params: each block costs one gather and one cast, and the products run in
            float32). None: rows are used in their own type.
    """

    def __init__(self, transform: Transform | None, affine: Affine | None, rows: int,
                 dtype: DTypeLike | None = None) -> None:
        self.transform, self.affine, self.rows = transform, affine, max(int(rows), 1)
        self.transform_out = transform is not None and accepts_out(transform)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self._gather: dict[tuple, np.ndarray] = {}
        self._F_bufs: dict[str, np.ndarray] = {}
        self.S: np.ndarray | None = None
        self.grads: Params | None = None
        self._ahead: tuple[np.ndarray, Future] | None = None
        self._stream: tuple[np.ndarray, np.ndarray, Iterator[np.ndarray], Executor] | None = None
        self._fill = 0

    # --- rows to features -------------------------------------------------------------

    def take(self, X: np.ndarray, y: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(features(X[rows]), y[rows])``, gathered into reused buffers (the batch a
        :meth:`stream` gathered ahead, when ``rows`` is its next one)."""
        ahead = self._ahead
        if ahead is not None and ahead[0] is rows and self._stream is not None \
                and self._stream[0] is X:
            block = ahead[1].result()  # re-raises what the gather raised
            self._submit()  # the next batch is gathered while this one computes
            return block
        return self.gather(X, y, rows, "now")

    def gather(self, X: np.ndarray, y: np.ndarray, rows: np.ndarray, slot: str
               ) -> tuple[np.ndarray, np.ndarray]:
        """``(features(X[rows]), y[rows])`` into the buffers of ``slot``."""
        m = rows.shape[0]
        y_buf = self._buffer(("y", y.dtype.str, slot), (self.rows,), y.dtype)
        if issparse(X):  # a sparse batch: its rows gathered, still sparse
            return X[rows], np.take(y, rows, out=y_buf[:m], mode="clip")
        X_buf = self._buffer(("X", X.dtype.str, X.shape[1:], slot),
                             (self.rows, *X.shape[1:]), X.dtype)
        # mode="clip" lets np.take write straight into out (mode="raise" buffers).
        X_b = np.take(X, rows, axis=0, out=X_buf[:m], mode="clip")
        y_b = np.take(y, rows, out=y_buf[:m], mode="clip")
        return self.features(X_b, slot), y_b

    def stream(self, X: np.ndarray, y: np.ndarray, batches: Iterator[np.ndarray],
               pool: Executor | None) -> None:
        """Gather ``batches`` (the row indices an epoch will :meth:`take`, in order) one
        ahead on ``pool``'s thread, alternating between two slots of buffers; None ends a
        stream. NumPy's gather and cast release the GIL, so they run beside the current
        batch's products."""
        self._ahead = None
        self._stream = None if pool is None else (X, y, batches, pool)
        if pool is not None:
            self._submit()

    def _submit(self) -> None:
        assert self._stream is not None
        X, y, batches, pool = self._stream
        rows = next(batches, None)
        if rows is None:
            self._ahead = None
            return
        slot = f"ahead{self._fill}"
        self._fill ^= 1  # the other slot holds the batch now computing
        self._ahead = (rows, pool.submit(self.gather, X, y, rows, slot))

    def walk(self, X: np.ndarray, y: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
        """``(features(X_c), y_c, n_c / N)`` over the whole set, ``rows`` rows at a time
        (views of X when it holds the features, so a chunk costs no copy; an array on disk
        is read a store chunk at a time, the next in the background: :func:`~linclass.
        training.windows.row_blocks`)."""
        n = y.shape[0]
        for s, X_s in row_blocks(X, self.rows):
            yield self.features(X_s, "walk"), y[s], (s.stop - s.start) / n

    def features(self, X_rows: np.ndarray, slot: str = "now") -> np.ndarray:
        """``transform(X_rows)``, into a reused buffer of ``slot`` when the transform
        allows (with ``affine``: the rows cast to float32, which the folded objective
        multiplies; without a transform: the rows cast to :attr:`dtype` when they are
        floats of another type)."""
        m = X_rows.shape[0]
        if self.transform is None:
            if (self.dtype is None or issparse(X_rows) or X_rows.dtype == self.dtype
                    or X_rows.dtype.kind != "f"):
                return X_rows
            F = self._buffer(("cast", self.dtype.str, X_rows.shape[1:], slot),
                             (self.rows, *X_rows.shape[1:]), self.dtype)
            np.copyto(F[:m], X_rows, casting="same_kind")
            return F[:m]
        if self.affine is not None:
            F = self._buffer(("F", slot), (self.rows, self.affine[0].shape[0]), np.float32)
            # an affine is found only for a Foldable transform (affine_of)
            return cast(Foldable, self.transform).cast(X_rows, out=F[:m])
        if not self.transform_out:
            return self.transform(X_rows)
        F_buf = self._F_bufs.get(slot)
        if F_buf is None:  # the first call shows the features' width and dtype
            first = self.transform(X_rows)
            self._F_bufs[slot] = np.empty((self.rows, *first.shape[1:]), dtype=first.dtype)
            return first
        return self.transform(X_rows, out=F_buf[:m])

    def _buffer(self, key: tuple, shape: tuple, dtype: DTypeLike) -> np.ndarray:
        buf = self._gather.get(key)
        if buf is None:
            buf = self._gather[key] = np.empty(shape, dtype=dtype)
        return buf

    # --- buffers of the in-place objective ----------------------------------------------

    def allocate(self, params: Params, dtype: np.dtype) -> None:
        """Make the score and gradient buffers (``dtype``: that of the scores)."""
        self.S = np.empty((self.rows, params["W"].shape[0]), dtype=dtype)
        self.grads = {k: np.empty_like(v) for k, v in params.items()}
        self.predictions = np.empty(self.rows, dtype=np.intp)


__all__ = ["CHUNK_ROWS", "Affine", "Foldable", "Transform", "Workspace", "accepts_out",
           "affine_of"]
