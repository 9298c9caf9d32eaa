"""Every core for big feature sets: chunks of images handed to a few threads.

NumPy releases the GIL inside its array loops (``arctan2``, ``bincount``, fancy indexing
and the rest that feature extraction is made of), so threads working on separate chunks
of images run on separate cores, reading the same images and writing disjoint rows of one
result: nothing is copied, as worker processes would have to.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

PARALLEL_MIN_PIXELS = 1 << 21  # about 2,700 images of 28x28: below, one thread is as fast
TASK_PIXELS = 1 << 20  # pixels per task handed to a thread: big enough to hide the hand-off


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def n_threads(n_jobs: int | None, n_pixels: int) -> int:
    """Threads to use: ``n_jobs`` if given, else every core for at least
    ``PARALLEL_MIN_PIXELS`` pixels and one thread below that.

    Raises:
        ValueError: If ``n_jobs`` is given and below 1.
    """
    if n_jobs is None:
        return available_cores() if n_pixels >= PARALLEL_MIN_PIXELS else 1
    if int(n_jobs) != n_jobs or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer or None (all cores), got {n_jobs!r}")
    return int(n_jobs)


def run_chunks(
    n: int, chunk: int, work: Callable[[int, int], None], threads: int
) -> Iterator[int]:
    """Call ``work(start, stop)`` for every chunk ``[start, stop)`` of ``range(n)``.

    With ``threads > 1`` the chunks run on a thread pool. Either way this generator yields
    each chunk's ``stop`` in order once that chunk (and every one before it) is done, so
    the caller can report progress from its own thread; exhaust it to finish the work. An
    exception in ``work`` is raised here.

    Args:
        n: Number of items (images).
        chunk: Items per call of ``work``, at least 1.
        work: Does one chunk, typically writing rows ``start:stop`` of a shared result.
        threads: Number of threads; 1 runs everything in the caller's thread.
    """
    starts = range(0, n, max(1, int(chunk)))
    if threads <= 1 or len(starts) <= 1:
        for start in starts:
            stop = min(start + chunk, n)
            work(start, stop)
            yield stop
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(starts))) as pool:
        futures = [pool.submit(work, s, min(s + chunk, n)) for s in starts]
        try:
            for s, future in zip(starts, futures, strict=True):
                future.result()
                yield min(s + chunk, n)
        finally:
            for future in futures:
                future.cancel()
