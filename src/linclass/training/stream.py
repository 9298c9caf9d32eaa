"""Mini-batch training on arrays that stay on disk (memory maps, zarr), a window at a time.

The fit loop of :mod:`linclass.training.loop` already reads full-set passes (``gd``, the
searches, evaluation) in slices of rows (:meth:`~linclass.training.workspace.Workspace.walk`
through :func:`linclass.training.arrays.float_rows` for stored rows). Mini-batches are the
exception: they gather rows from anywhere in ``X``. :class:`StreamRunner` replaces that one
part: each epoch it reads the windows of the chunk-ordered shuffle
(:mod:`linclass.training.windows`) into one reused buffer and runs the loop's own
:class:`~linclass.training.loop.Runner` on each window in memory, with the same optimizer
state, so momentum and the schedule's step carry across windows.

Memory: one window (``WINDOW_BYTES`` of stored rows) plus one chunk of features and
scores, whatever N is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linclass.model import Params
from linclass.training.arrays import chunk_rows
from linclass.training.loop import Runner
from linclass.training.windows import chunk_windows

#: Bytes of stored rows held in memory at a time, the window of the chunk-ordered shuffle.
WINDOW_BYTES = 128 * 2**20


class StreamRunner(Runner):
    """The fit loop's :class:`~linclass.training.loop.Runner` for out-of-core ``X``:
    mini-batches come from windows of whole chunks read in a new order every epoch;
    everything else (full-set steps, evaluation: chunk slices) is :class:`Runner`'s.

    Args:
        *args, **kwargs: As :class:`~linclass.training.loop.Runner`.
        window_bytes: Stored bytes per window.
    """

    def __init__(self, X: Any, y: np.ndarray, optimizer: Any, value_and_grad: Any,
                 value: Any, batch_size: int | None, transform: Any, rng: np.random.Generator,
                 *, window_bytes: int = WINDOW_BYTES, **kwargs: Any) -> None:
        super().__init__(X, y, optimizer, value_and_grad, value, batch_size, transform, rng,
                         **kwargs)
        self.window_args = (optimizer, value_and_grad, value, batch_size, transform, rng)
        self.window_kwargs = {k: v for k, v in kwargs.items() if k != "chunk_rows"}
        self.rng = rng
        self.chunk = chunk_rows(X)
        row_bytes = int(np.prod(X.shape[1:], dtype=np.int64)) * np.dtype(X.dtype).itemsize
        self.window = max(1, int(window_bytes) // max(1, self.chunk * row_bytes))
        self.buffer: np.ndarray | None = None

    def _read(self, ranges: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """The rows of ``ranges``, concatenated into the reused window buffer."""
        rows = min(self.window * self.chunk, self.y.shape[0])
        if self.buffer is None:
            self.buffer = np.empty((rows, *self.X.shape[1:]), dtype=self.X.dtype)
        at = 0
        for start, stop in ranges:
            self.buffer[at : at + stop - start] = self.X[start:stop]
            at += stop - start
        y = np.concatenate([self.y[start:stop] for start, stop in ranges])
        return self.buffer[:at], y

    def run(self, params: Params, state: Any, losses: list[float], *, epoch: int) -> Any:
        """One epoch: full-set methods as the loop runs them; mini-batch methods window by
        window (rows shuffled within each by the loop's own pass)."""
        if self.search or self.sampler is None:
            return super().run(params, state, losses, epoch=epoch)
        for ranges in chunk_windows(self.y.shape[0], self.chunk, self.window, self.rng):
            X_w, y_w = self._read(ranges)
            inner = Runner(X_w, y_w, *self.window_args, **self.window_kwargs)
            inner.n_steps, inner.n_loss_evals, inner.n_samples = (
                self.n_steps, self.n_loss_evals, self.n_samples)
            state = inner.run(params, state, losses, epoch=epoch)
            self.n_steps, self.n_loss_evals, self.n_samples = (
                inner.n_steps, inner.n_loss_evals, inner.n_samples)
        return state
