"""The NumPy backend: the fit loop's step and batch sources on the CPU.

A step computes, for a block of stored rows (a mini-batch or a chunk of a full pass),

    F = features(X_B),    J, dJ/dW, dJ/db = objective(params, F, y_B)

through the objective's in-place twin (:class:`linclass.objective.FastObjective`, the fast
path) into buffers made once, or through the checked objective. Raw-pixel preprocessing
(:class:`~linclass.training.workspace.Foldable`) is folded into W and b, so a batch is
only cast. Both paths compute the same numbers (tests compare them).

A full pass is a weighted sum over chunks ``c`` of ``n_c`` rows, exact because ``J`` is a
mean over rows plus a penalty:

    J = sum_c (n_c / N) J_c,        dJ/dW = sum_c (n_c / N) dJ_c/dW

accumulated in float64 (chunkings agree to rounding; SciPy's L-BFGS state is float64).

Batch sources: :class:`MemorySource` (a shuffled index over rows in memory) and
:class:`WindowSource` for arrays on disk (memory maps, zarr): each epoch it reads the
windows of the chunk-ordered shuffle (:mod:`linclass.training.windows`) into two reused
buffers, the next in a background thread while the loop trains on the current one, and
steps through each window's rows in a shuffled order, so memory holds two windows
(:data:`WINDOW_BYTES` of stored rows each) plus a chunk of features, whatever N is.
Full passes over an array on disk read it a store chunk at a time, the next in the
background (:func:`linclass.training.windows.row_blocks`).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import numpy as np

from linclass.model import Params, predict
from linclass.objective import FastObjective, fast_path, unpack_weights
from linclass.training.arrays import float_rows, is_out_of_core
from linclass.training.parts import InHostMemory, Parts, Spec, ValueAndGrad, ValueFn
from linclass.training.runner import Runner
from linclass.training.sampler import CHUNK_ROWS, BatchSampler
from linclass.training.setup import labels_fit
from linclass.training.threads import batch_blas_threads, one_blas_thread
from linclass.training.windows import WINDOW_BYTES, WindowReader
from linclass.training.workspace import Workspace, affine_of

#: Gather and cast the next mini-batch on a helper thread while the current one computes
#: (:class:`MemorySource`): on by default where the process may use two cores or more. A
#: module knob, so a benchmark can compare both without patching the loop.
PREFETCH: bool = len(os.sched_getaffinity(0)) >= 2 if hasattr(os, "sched_getaffinity") \
    else (os.cpu_count() or 1) >= 2
#: ... but only for batches of at least this many bytes (as float32): handing a batch to
#: the thread costs tens of microseconds, more than gathering a small one. On a quiet
#: 2-core machine the thread made 531 epochs of 256 x 64 digits batches 2.5x slower
#: (0.43 s against 0.16 s) and 3 epochs of 60,000 x 784 rows 10% faster (256-row
#: batches: 0.45 s against 0.49 s float64, 0.29 s against 0.30 s uint8).
PREFETCH_MIN_BYTES = 256 * 1024


class NumpyStep(InHostMemory):
    """``(J, grads)`` and ``J`` of blocks of stored rows, with NumPy (the
    :class:`~linclass.training.parts.Step` of this backend).

    Args:
        work: Turns stored rows into features (and lends buffers).
        value_and_grad: The checked ``(params, X, y) -> (J, grads)``, or None for
            derivative-free optimizers.
        value: The checked ``(params, X, y) -> J``.
        in_place: The in-place twin of ``value_and_grad`` (None: always the checked one).
        checked: The rows were not checked by the loop (a Dask partition): a chunk whose
            fast loss is not finite runs the checked objective, whose error names the rows.
    """

    def __init__(self, work: Workspace, value_and_grad: ValueAndGrad | None, value: ValueFn,
                 in_place: FastObjective | None, *, checked: bool = False) -> None:
        self.work, self.value_and_grad, self.value, self.in_place = (
            work, value_and_grad, value, in_place)
        self.checked = checked

    # --- blocks ---------------------------------------------------------------------------

    def _buffers(self, params: Params, F: np.ndarray) -> Workspace:
        """The workspace, with score and gradient buffers of the scores' dtype (made once)."""
        w = self.work
        dtype = np.result_type(F.dtype, params["W"].dtype, params["b"].dtype, 1.0)
        if w.S is None or w.S.dtype != dtype:
            w.allocate(params, dtype)
        return w

    def block(self, params: Params, F: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """``(J, grads)`` of one block of features (the grads may live in a reused buffer)."""
        if self.in_place is None:
            assert self.value_and_grad is not None  # a search takes no gradient
            return self.value_and_grad(params, F, y)
        w = self._buffers(params, F)
        assert w.grads is not None and w.S is not None
        loss = self.in_place(params, F, y, w.grads, w.S[: y.shape[0]], affine=w.affine)
        return loss, w.grads

    def _block_value(self, params: Params, F: np.ndarray, y: np.ndarray,
                     pred: bool) -> tuple[float, np.ndarray | None]:
        """``J`` of one block, and its predicted classes when ``pred`` (one product)."""
        if self.in_place is None:  # the checked path: its workspace never folds
            return self.value(params, F, y), (predict(params, F) if pred else None)
        w = self._buffers(params, F)
        assert w.S is not None
        m = y.shape[0]
        out = w.predictions[:m] if pred else None
        return self.in_place.value(params, F, y, w.S[:m], w.affine, out), out

    def _checked_block(self, rows: slice, params: Params, F: np.ndarray, y: np.ndarray
                       ) -> tuple[float, Params]:
        """:meth:`block` for rows the loop did not check: a loss that is not finite (NaN
        in the rows, or divergence) is computed again by the checked objective, whose
        error names the rows."""
        if self.in_place is not None:
            loss, grads = self.block(params, F, y)
            if math.isfinite(loss):
                return loss, grads
        return cast(tuple[float, Params], self._named(rows, self.value_and_grad, params, F, y))

    def _named(self, rows: slice, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` on the checked path, its ValueError naming the rows."""
        try:
            return fn(*args)
        except ValueError as e:
            raise ValueError(f"rows {rows.start}:{rows.stop} of X: {e}") from None

    def _chunks(self, X: Any, y: np.ndarray) -> Iterator[tuple[slice, np.ndarray, np.ndarray,
                                                                float]]:
        """``(rows, features, labels, n_c / N)`` of each chunk, in row order."""
        start = 0
        for F, y_c, weight in self.work.walk(X, y):
            stop = start + y_c.shape[0]
            yield slice(start, stop), F, y_c, weight
            start = stop

    # --- the Step protocol ------------------------------------------------------------------

    def batch(self, params: Params, X: np.ndarray, y: np.ndarray, rows: np.ndarray
              ) -> tuple[float, Params]:
        """``(J, grads)`` of the mini-batch ``rows``."""
        return self.block(params, *self.work.take(X, y, rows))

    def full(self, params: Params, X: Any, y: np.ndarray) -> tuple[float, Params]:
        """``(J, grads)`` of the whole set, a chunk at a time, summed in float64; the grads
        come back in the params' dtypes."""
        total = 0.0
        acc = {k: np.zeros(v.shape, np.float64) for k, v in params.items()}
        for rows, F, y_c, weight in self._chunks(X, y):
            if self.checked:
                loss, grads = self._checked_block(rows, params, F, y_c)
            else:
                loss, grads = self.block(params, F, y_c)
            total += weight * float(loss)
            for k, g in grads.items():
                acc[k] += weight * g
        return total, {k: v.astype(params[k].dtype, copy=False) for k, v in acc.items()}

    def loss(self, params: Params, X: Any, y: np.ndarray) -> float:
        """``J`` of the whole set (what the search optimizers minimize)."""
        return self.evaluate(params, X, y, accuracy=False)[0]

    def evaluate(self, params: Params, X: Any, y: np.ndarray, *, accuracy: bool = True,
                 predictions: list[np.ndarray] | None = None) -> tuple[float, float]:
        """Objective and accuracy on a whole set; one product per chunk serves both on the
        fast path. ``predictions``, when given, receives each chunk's predicted classes.
        With weights (:func:`linclass.objective.pack_weights`, mean 1 over the set) the
        accuracy is the weighted one, ``1/N sum_i w_i [pred_i = y_i]``."""
        total, correct, n = 0.0, 0.0, y.shape[0]
        want = accuracy or predictions is not None
        for rows, F, y_c, weight in self._chunks(X, y):
            loss = math.nan
            if self.in_place is not None or not self.checked:
                loss, pred = self._block_value(params, F, y_c, want)
            if self.checked and not math.isfinite(loss):  # NaN in the rows, or divergence
                loss = self._named(rows, self.value, params, F, y_c)
                pred = predict(params, F) if want else None
            total += weight * float(loss)
            if accuracy:
                labels, w = unpack_weights(y_c)
                hits = pred == labels
                correct += float(np.count_nonzero(hits) if w is None else w @ hits)
            if predictions is not None:
                predictions.append(np.array(pred, copy=True))
        return total, (correct / n if accuracy and n else float("nan"))


# --- batch sources -----------------------------------------------------------------------------


class MemorySource:
    """The mini-batches of rows in memory: a new shuffle of ``range(n)`` each epoch.

    With ``work``, a second core (:data:`PREFETCH`) and batches of at least
    :data:`PREFETCH_MIN_BYTES`, each epoch's batches are gathered
    and cast one ahead on a helper thread (:meth:`~linclass.training.workspace.Workspace.
    stream`): NumPy's gather and cast release the GIL, so the next batch is ready when the
    current one's products end, and the step no longer waits for memory.

    Args:
        X: Stored rows, shape (n, ...).
        y: Labels, shape (n,).
        sampler: The batch order.
        work: The step's workspace, to gather batches ahead into (None: each batch is
            gathered when its step asks).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, sampler: BatchSampler,
                 work: Workspace | None = None) -> None:
        self.X, self.y, self.sampler, self.work = X, y, sampler, work
        self.batch_size = sampler.batch_size

    def run_epoch(self, runner: Runner, params: Params, state: Any, epoch: int) -> Any:
        """One pass of mini-batch steps over the rows (small batches on one BLAS thread:
        a second one saves little on a small product and spins on a busy machine; the
        second core gathers the next batch instead)."""
        small = self.batch_size <= CHUNK_ROWS
        ahead = (self.work is not None and PREFETCH and self.sampler.batches_per_epoch > 1
                 and self.batch_size * math.prod(self.X.shape[1:]) * 4 >= PREFETCH_MIN_BYTES)
        with contextlib.ExitStack() as stack:
            if small:
                stack.enter_context(one_blas_thread())
            batches = self.sampler.epoch()
            if ahead:
                assert self.work is not None
                pool = stack.enter_context(ThreadPoolExecutor(1, "linclass-gather"))
                order = list(batches)  # views of one permutation, fixed for the epoch
                self.work.stream(self.X, self.y, iter(order), pool)
                stack.callback(self.work.stream, self.X, self.y, iter(()), None)
                batches = iter(order)
            for rows in batches:
                state = runner.take(params, state, self.X, self.y, rows, epoch)
        return state


class WindowSource:
    """The mini-batches of an array on disk, a window of whole chunks at a time, the next
    window read in the background (:mod:`linclass.training.windows`).

    Args:
        X: A memory map or zarr array of shape (n, ...).
        y: Labels, shape (n,), in memory.
        batch_size: Rows per mini-batch.
        rng: Generator of the window order and of the order within each window.
        window_bytes: Stored bytes per window (None: :data:`WINDOW_BYTES`).
        prefetch: Read the next window while training on this one (None:
            :data:`linclass.training.windows.PREFETCH`); the same fit either way.
    """

    def __init__(self, X: Any, y: np.ndarray, batch_size: int, rng: np.random.Generator,
                 window_bytes: int | None = None, prefetch: bool | None = None) -> None:
        self.X, self.y, self.batch_size, self.rng = X, y, int(batch_size), rng
        self.reader = WindowReader(X, y, window_bytes, prefetch)
        self.chunk, self.window = self.reader.chunk, self.reader.window

    def run_epoch(self, runner: Runner, params: Params, state: Any, epoch: int) -> Any:
        """One epoch: the windows in a new order, each window's rows shuffled; a window
        no larger than a batch is one step. BLAS keeps every thread for wide batch
        products (:func:`~linclass.training.threads.batch_blas_threads`)."""
        W = params["W"]  # (C, D), or (H, C, D) for stacked heads: H C outputs a row
        with batch_blas_threads(self.batch_size, W.shape[-1], math.prod(W.shape[:-1])):
            for X_w, y_w in self.reader.epoch(self.rng):
                n = y_w.shape[0]
                if self.batch_size >= n:
                    state = runner.take(params, state, X_w, y_w, None, epoch)
                    continue
                for rows in BatchSampler(n, self.batch_size, self.rng).epoch():
                    state = runner.take(params, state, X_w, y_w, rows, epoch)
        return state


def make_parts(spec: Spec) -> Parts:
    """The NumPy step and batch source of a fit (the registry's hook)."""
    X, y, params = spec.X, spec.y, spec.params
    n = y.shape[0]
    in_place = (None if spec.search or not spec.fast or spec.value_and_grad is None
                else fast_path(spec.value_and_grad))
    if in_place is not None and not labels_fit(y, params["W"].shape[0]):
        in_place = None  # regression targets or odd labels: the checked path says
    transform = spec.transform
    if transform is None and is_out_of_core(X):
        transform = float_rows
    affine = None if in_place is None else affine_of(transform, X)
    batch = spec.batch_size if spec.batch_size is not None and spec.batch_size < n else None
    # float32 params compute in float32: float64 feature rows are cast block by block
    dtype = params["W"].dtype if params["W"].dtype == np.float32 else None
    work = Workspace(transform, affine, max(batch or 0, min(n, spec.chunk_rows)), dtype)
    step = NumpyStep(work, spec.value_and_grad, spec.value, in_place, checked=spec.checked)
    if batch is None:
        return Parts(step, None)
    assert spec.rng is not None, "mini-batches need the generator of their order"
    if is_out_of_core(X):
        return Parts(step, WindowSource(X, y, batch, spec.rng))
    return Parts(step, MemorySource(X, y, BatchSampler(n, batch, spec.rng), work))


__all__ = ["PREFETCH", "PREFETCH_MIN_BYTES", "WINDOW_BYTES", "MemorySource", "NumpyStep",
           "WindowSource", "make_parts"]
