"""The chunk-ordered shuffle, and reading arrays on disk while the loop computes.

**The shuffle.** A full shuffle reads rows in a random order over the whole file, which on
disk means one random read per row (or the whole array in memory). Instead, every epoch:

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

**Reading ahead.** Reading a window (and decompressing it, for zarr) takes about as long
as training on it, so :class:`WindowReader` reads the *next* window in a background thread
into a second buffer while the loop trains on the current one (double buffering): NumPy's
copies, the zstd/blosc decoders and BLAS all release the GIL, so the read runs on the
second core. The window order is drawn from the generator before the first read, exactly
as without reading ahead, and the thread never touches the generator, so a fit is
bit-identical with and without it (tested). :func:`row_blocks` does the same for a full
pass (evaluation, ``gd``, L-BFGS): it reads the store's own chunks, the next one in the
background, and cuts each into blocks of the pass's rows, so a store chunk larger than a
block (20,000-row zarr chunks, 2,048-row blocks) is decoded once per pass, not once per
block.

**The memory bound.** Out of core, the rows held in memory are at most

    2 windows (the one training, the next being read)
    + the chunk being decoded (its compressed bytes and its decoded copy)

where a window holds ``max(1, (window_bytes - 2 c_bytes) // c_bytes)`` store chunks of
``c_bytes`` each, so the whole stays within ``2 max(window_bytes, 3 c_bytes)``: 128 MB
with the default :data:`WINDOW_BYTES` (64 MB) for any chunk up to 21 MB (2,048- or
20,000-row chunks of 256 float32: 2 or 20 MB), whatever N is. Add the labels and the
epoch's order (about 20 bytes a row) and the interpreter; ``benchmarks/SCALE.md``
measures the peak RSS. A memory map has no chunks of its own: its windows are cut into
:data:`MEMMAP_CHUNKS_PER_WINDOW` runs of rows, and the pages read are released once
copied (:func:`release_rows`), so the file's pages do not pile up in the RSS.
"""

from __future__ import annotations

import contextlib
import functools
import mmap
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from linclass.training.arrays import is_out_of_core, stored_chunk_rows

#: Stored bytes per window of the chunk-ordered shuffle. Two are held while reading ahead
#: (the one training and the next), 128 MB of rows in all.
WINDOW_BYTES = 64 * 2**20

#: Chunks per window of an array without chunks of its own (a memory map): its windows are
#: cut into this many runs of rows, each read sequentially, so that a batch mixes rows
#: of 64 places in the file.
MEMMAP_CHUNKS_PER_WINDOW = 64

#: Read the next window (or chunk of a full pass) in a background thread. A module knob,
#: so a test or a benchmark can compare both paths without patching the loop.
PREFETCH = True

T = TypeVar("T")


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


def read_ahead(jobs: Sequence[Callable[[], T]], prefetch: bool | None = None) -> Iterator[T]:
    """``job()`` of each job in order, the next one running in a background thread while
    the caller works on the current result.

    A result must stay valid while the next job runs (two buffers, used in turn). When
    the caller stops early (an error, a ``break``), the job under way is waited for, so
    no thread writes a buffer after this returns; a job's error is raised in the caller.

    Args:
        jobs: Thunks, run in order, one at a time.
        prefetch: Run the next job in the background (None: :data:`PREFETCH`); False runs
            each when its result is asked for.
    """
    if not (PREFETCH if prefetch is None else prefetch) or len(jobs) < 2:
        for job in jobs:
            yield job()
        return
    with ThreadPoolExecutor(1, thread_name_prefix="linclass-read") as pool:
        pending: Future[T] = pool.submit(jobs[0])
        try:
            for i in range(len(jobs)):
                result = pending.result()
                if i + 1 < len(jobs):
                    pending = pool.submit(jobs[i + 1])
                yield result
        finally:
            with contextlib.suppress(Exception):  # the caller's error is the one to see
                pending.result()


def read_rows(X: Any, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
    """``X[start:stop]`` read into memory (into ``out`` when given): a memory map's rows
    are copied (a view would be read from disk later, by whoever touches it), then
    released (:func:`release_rows`)."""
    rows = X[start:stop]
    if out is None:
        out = np.array(rows, copy=True) if isinstance(rows, np.memmap) else np.asarray(rows)
    else:
        out[...] = rows
    release_rows(X, start, stop)
    return out


def release_rows(X: Any, start: int, stop: int) -> None:
    """Drop the pages of rows ``[start, stop)`` of a read-only memory map from this
    process's resident set (``madvise(MADV_DONTNEED)``; the kernel's page cache keeps
    them, so a later read costs no disk access). Without it an epoch maps every page of
    the file, and the RSS of a fit on a 0.8 GB ``.npy`` grows to 0.8 GB above its
    buffers, though those pages are the kernel's to reclaim. Anything but a C-ordered
    read-only map (``mode="r"``) is left alone: a copy-on-write map would lose its
    writes."""
    mm = getattr(X, "_mmap", None)
    if (mm is None or getattr(X, "mode", None) != "r" or not X.flags.c_contiguous
            or not hasattr(mm, "madvise") or stop <= start):
        return
    base = np.frombuffer(mm, np.uint8).ctypes.data
    row_bytes = X.strides[0]
    first = X.ctypes.data - base + start * row_bytes
    last = first + (stop - start) * row_bytes
    # Linux maps the cached pages around a fault too (fault-around, and a whole large
    # folio of the page cache: up to 2 MB), some of them rows read earlier: released with
    # these, else they would stay mapped for the epoch
    page, around = mmap.PAGESIZE, 2**21
    first = max(0, (first - around) // page * page)
    last = min(-(-(last + around) // page) * page, len(mm))
    with contextlib.suppress(OSError, ValueError):  # advice only: a refusal costs nothing
        mm.madvise(mmap.MADV_DONTNEED, first, last - first)


class WindowReader:
    """The windows of an array on disk, read into two reused buffers, the next while the
    caller trains on the current one (module docstring).

    Args:
        X: A memory map or zarr array of shape (n, ...), rows in their stored dtype
            (float16 stays float16 here: a batch is cast when it is taken).
        y: Labels, shape (n,), in memory.
        window_bytes: Stored bytes per window (at least one chunk is read per window).
        prefetch: Read ahead (None: :data:`PREFETCH`).
    """

    def __init__(self, X: Any, y: np.ndarray, window_bytes: int | None = None,
                 prefetch: bool | None = None) -> None:
        self.X, self.y, self.prefetch = X, y, prefetch
        row_bytes = int(np.prod(X.shape[1:], dtype=np.int64)) * np.dtype(X.dtype).itemsize
        limit = WINDOW_BYTES if window_bytes is None else int(window_bytes)
        own = stored_chunk_rows(X)
        self.chunk = own or max(1, limit // (MEMMAP_CHUNKS_PER_WINDOW * max(1, row_bytes)))
        chunk_bytes = max(1, self.chunk * row_bytes)
        # a store's reader holds a chunk's compressed bytes and its decoded copy while it
        # reads: they count against the window's bytes (20,000-row chunks of 256 float32
        # are 20 MB: a 64 MB window then holds one, not three)
        self.window = max(1, (limit - (2 * chunk_bytes if own else 0)) // chunk_bytes)
        self.rows = min(self.window * self.chunk, int(y.shape[0]))
        self.buffers: list[np.ndarray | None] = [None, None]

    def _buffer(self, k: int) -> np.ndarray:
        buf = self.buffers[k]
        if buf is None:  # made on first use: a single-window epoch needs one
            buf = self.buffers[k] = np.empty((self.rows, *self.X.shape[1:]), self.X.dtype)
        return buf

    def read(self, ranges: list[tuple[int, int]], k: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The rows and labels of ``ranges``, concatenated into buffer ``k`` (0 or 1)."""
        buf, at = self._buffer(k), 0
        for start, stop in ranges:
            read_rows(self.X, start, stop, out=buf[at : at + stop - start])
            at += stop - start
        y = np.concatenate([self.y[start:stop] for start, stop in ranges])
        return buf[:at], y

    def epoch(self, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One epoch's windows ``(X_w, y_w)`` in a new order drawn from ``rng`` (all of it
        before the first read); ``X_w`` is valid until the next window is asked for."""
        windows = list(chunk_windows(int(self.y.shape[0]), self.chunk, self.window, rng))
        jobs = [functools.partial(self.read, w, i % 2) for i, w in enumerate(windows)]
        return read_ahead(jobs, self.prefetch)


def row_blocks(X: Any, rows: int, prefetch: bool | None = None
               ) -> Iterator[tuple[slice, np.ndarray]]:
    """``(slice, X[slice])`` over the whole of ``X`` in row order, ``rows`` rows a block
    (the last shorter): views of an array in memory; for an array on disk, the store's own
    chunks read once each, the next in the background, and cut into blocks.

    Args:
        X: Array of shape (n, ...), in memory or out of core
            (:func:`linclass.training.arrays.is_out_of_core`).
        rows: Rows per block, >= 1.
        prefetch: Read ahead (None: :data:`PREFETCH`).
    """
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    n = int(X.shape[0])
    if not is_out_of_core(X):
        for start in range(0, n, rows):
            s = slice(start, min(start + rows, n))
            yield s, X[s]
        return
    # a read is whole store chunks, at most max(rows, one chunk) rows: a chunk is decoded
    # once per pass, and a memory map is copied in the background (a view would be read
    # from disk by the caller)
    chunk = stored_chunk_rows(X) or rows
    step = chunk * max(1, rows // chunk)
    jobs = [functools.partial(read_rows, X, a, min(a + step, n)) for a in range(0, n, step)]
    at = 0
    for piece in read_ahead(jobs, prefetch):
        for start in range(0, piece.shape[0], rows):
            block = piece[start : start + rows]
            yield slice(at + start, at + start + block.shape[0]), block
        at += piece.shape[0]


__all__ = ["MEMMAP_CHUNKS_PER_WINDOW", "PREFETCH", "WINDOW_BYTES", "WindowReader",
           "chunk_windows", "read_ahead", "read_rows", "release_rows",
           "row_blocks"]
