"""Which rows each step sees: the batch order of an epoch, and the chunks of a full pass.

Two ways to walk a training set, and only these two:

* :class:`BatchSampler`: mini-batches of ``batch_size`` row indices from a permutation
  drawn anew every epoch (the last batch is smaller when ``batch_size`` does not divide N,
  so every row is seen exactly once per epoch);
* :func:`chunk_slices`: consecutive slices of at most ``rows`` rows, for a pass over the
  whole set (evaluation, a full-batch gradient, a search's loss), so that a transform
  never converts more than a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Rows converted at a time in a full pass. 2048 rows of 784 float32 (6 MB) stay in cache
#: between the forward and the backward product, so each row is read from memory once.
CHUNK_ROWS = 2048


def chunk_slices(n: int, rows: int = CHUNK_ROWS) -> Iterator[slice]:
    """``slice(start, stop)`` over ``range(n)`` in steps of ``rows`` (the last shorter)."""
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    for start in range(0, n, rows):
        yield slice(start, min(start + rows, n))


class BatchSampler:
    """Mini-batch row indices, reshuffled every epoch by one generator.

    Args:
        n: Rows in the training set.
        batch_size: Rows per batch, >= 1 (a batch of at least ``n`` is the whole set).
        rng: The generator of the batch order (from the run's seed).
    """

    def __init__(self, n: int, batch_size: int, rng: np.random.Generator) -> None:
        self.n, self.batch_size, self.rng = n, min(int(batch_size), n), rng
        self.order = np.arange(n)

    @property
    def batches_per_epoch(self) -> int:
        """``ceil(n / batch_size)``."""
        return -(-self.n // self.batch_size)

    def epoch(self) -> Iterator[np.ndarray]:
        """The batches of one epoch, a new permutation each call."""
        self.rng.shuffle(self.order)
        for s in chunk_slices(self.n, self.batch_size):
            yield self.order[s]


__all__ = ["CHUNK_ROWS", "BatchSampler", "chunk_slices"]
