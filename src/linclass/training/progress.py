"""The fit loop's progress bar (rich, on stderr, only when it is a terminal)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_bar(progress: bool | None, total: int) -> Iterator[Callable[[int, str], None]]:
    """``advance(epoch, text)``: a rich bar on stderr when it is a terminal (or when
    ``progress=True``), nothing when ``progress=False`` or output is redirected."""
    show = sys.stderr.isatty() if progress is None else progress
    if not show:
        yield lambda epoch, text: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("epoch"), MofNCompleteColumn(), BarColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("", total=total)
        yield lambda epoch, text: bar.update(task, completed=epoch, description=text)


