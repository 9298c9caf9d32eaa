"""The chunk-ordered shuffle: the batch order of data read from disk a chunk at a time.

A full shuffle reads rows in a random order over the whole file, which on disk means one
random read per row (or the whole array in memory). Instead, every epoch:

1. the row chunks ``[k c, (k + 1) c)`` (the store's own chunks) are put in a new random
   order;
2. consecutive groups of ``window`` chunks of that order form *windows*; each window is
   read (``window`` sequential chunk reads) and held in memory;
3. the rows of a window are shuffled and cut into mini-batches (by the fit loop).

**How far from a full shuffle.** Every row is still seen once per epoch, and the order of
the windows and of the rows within each is uniform. What is lost is mixing *across*
windows: a mini-batch holds rows of only ``window`` chunks, and two rows are in the same
window with probability ``(w c - 1) / (N - 1) ~ w c / N`` instead of sharing every batch
position over the epoch. When the rows were stored in random order (shuffle once, when
writing the embeddings), a window is itself a uniform sample of rows and the mini-batches
are distributed as with a full shuffle; when they were stored sorted (by class, by
source), each batch sees few classes and SGD's gradient is biased within a window:
``benchmarks/scale.py`` measures the accuracy cost of both.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def chunk_windows(n_rows: int, chunk_rows: int, window: int,
                  rng: np.random.Generator) -> Iterator[list[tuple[int, int]]]:
    """One epoch's windows: lists of ``(start, stop)`` row ranges of whole chunks.

    Args:
        n_rows: N, the rows of the array.
        chunk_rows: Rows per chunk c (the last chunk may be shorter).
        window: Chunks per window w, >= 1.
        rng: Draws the chunk order (a new one each call).

    Yields:
        The row ranges of each window, chunks in their shuffled order.
    """
    if chunk_rows < 1 or window < 1:
        raise ValueError(f"chunk_rows and window must be >= 1, got {chunk_rows}, {window}")
    starts = np.arange(0, n_rows, chunk_rows)
    order = rng.permutation(starts.shape[0])
    for i in range(0, order.shape[0], window):
        yield [(int(starts[k]), int(min(starts[k] + chunk_rows, n_rows)))
               for k in order[i : i + window]]
