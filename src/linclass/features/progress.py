"""Progress for long feature extraction: a rich bar on a terminal, a callback, or nothing.

Batches report how many images are done; whether that shows up anywhere is decided once,
here, so the extractors only call ``advance(done)``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = bool | Callable[[int, int], None] | None
AUTO_MIN_IMAGES = 10_000  # below this a bar only flickers


@contextmanager
def report_progress(
    total: int, progress: Progress, description: str
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(done)`` that reports ``done`` of ``total`` items.

    Args:
        total: Number of items to process.
        progress: A callback ``progress(done, total)``; True for a bar; False for silence;
            None for a bar only when stderr is a terminal and ``total`` is big.
        description: Label shown next to the bar.
    """
    if callable(progress):
        yield lambda done: progress(done, total)
        return
    show = progress if progress is not None else (total >= AUTO_MIN_IMAGES and sys.stderr.isatty())
    if not show:
        yield lambda done: None
        return
    from rich.console import Console
    from rich.progress import Progress as Bar

    with Bar(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.update(task, completed=done)
