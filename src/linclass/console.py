"""The ``linclass`` command's entry point: signal handling first, then the command line.

Importing the command line takes a second (NumPy, scikit-learn, matplotlib); a Ctrl-C or
a ``kill`` in that second must end the program like one during a run: one line
``error: interrupted`` on stderr, no traceback. SIGTERM is turned into the same
``KeyboardInterrupt``, so a killed run cleans up (temporary files, unfinished run folders)
exactly as an interrupted one does.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from linclass.status import INTERRUPTED_STATUS

if TYPE_CHECKING:
    from types import FrameType


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _interrupt_again(unraisable: Any, previous: Any = sys.unraisablehook) -> None:
    """``sys.unraisablehook``: an interrupt that landed where Python cannot raise it (a
    callback of the import machinery, while a command's modules load) would be printed
    as "Exception ignored ... KeyboardInterrupt" and lost; deliver it again to the main
    thread instead, a moment later, where it ends the run in one line."""
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        previous(unraisable)
        return
    import _thread
    import threading

    threading.Timer(0.01, _thread.interrupt_main).start()


def _an_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is an interrupt, or was caused by one: an interrupt that lands in
    ``__set_name__`` while a class is being created (an ``enum`` as typer builds a
    command) comes out as ``RuntimeError`` with the ``KeyboardInterrupt`` as its cause."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def main() -> None:
    """Run ``linclass`` with SIGTERM handled like Ctrl-C, interrupts reported in one line.

    Everything, the ``signal`` module included, is imported inside the ``try``, so the
    window in which an interrupt could still print a traceback is a few instructions.
    """
    try:
        import signal

        signal.signal(signal.SIGTERM, _terminate)
        sys.unraisablehook = _interrupt_again
        from linclass.cli import app

        app()
    except BaseException as exc:  # noqa: BLE001 - only interrupts are handled here
        if isinstance(exc, SystemExit) or not _an_interrupt(exc):
            raise
        try:
            print("error: interrupted", file=sys.stderr)
        finally:
            sys.exit(INTERRUPTED_STATUS)
