"""A small runner for the adversarial family scripts of ``tests/adversarial``.

Each case is a function returning ``(handled, detail)``: handled means the input got a
right answer or a clear refusal (a :class:`~linclass.data.DataError` or one-line CLI
error naming the file), never a crash, a hang, a traceback or a silently wrong result.
Every case runs in a forked child process with a time limit, so a case that hangs
(a FIFO) or kills its process (SIGBUS) is reported as not handled instead of stopping
the script. The scripts are not collected by pytest (their names do not start with
``test_``); the fast regression tests for the same cases are ``tests/test_reliability_*``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

Case = Callable[[Path], tuple[bool, str]]
SRC = Path(__file__).resolve().parents[2] / "src"
if "PYTHONPATH" not in os.environ:  # this checkout's linclass; PYTHONPATH=... picks another
    sys.path.insert(0, str(SRC))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests/: helpers.py


def _child(case: Case, folder: str, conn: object) -> None:
    os.environ["LINCLASS_CACHE_DIR"] = os.path.join(folder, "user-cache")  # never ~/.cache
    try:
        result = case(Path(folder))
    except BaseException as exc:  # an unexpected error is a finding, not a crash here
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        result = (False, f"unexpected {tb}"[:300])
    conn.send(result)  # type: ignore[attr-defined]
    conn.close()  # type: ignore[attr-defined]


def run_case(case: Case, timeout: float = 120.0) -> tuple[bool, str, float]:
    """Run one case in a forked child, in a fresh temporary folder."""
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="linclass-adv-") as folder:
        parent, child = ctx.Pipe(duplex=False)
        start = time.perf_counter()
        proc = ctx.Process(target=_child, args=(case, folder, child))
        proc.start()
        child.close()
        got = parent.poll(timeout)
        seconds = time.perf_counter() - start
        if got:
            try:
                handled, detail = parent.recv()
            except EOFError:
                handled, detail = False, "the case died before answering"
            proc.join(10)
        else:
            proc.join(0.5)
            if proc.exitcode is None:
                proc.kill()
                proc.join()
                return False, f"hung for more than {timeout:g} s", seconds
            handled, detail = False, f"the process died (exit {proc.exitcode})"
        if proc.is_alive():
            proc.kill()
    return bool(handled), str(detail), seconds


def main(family: str, cases: dict[str, Case]) -> int:
    """Run every case, print ``case | handled | detail`` and the summary; exit 1 on a
    failure. ``python tests/adversarial/FAMILY.py NAME...`` runs only those cases."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import linclass.cli  # noqa: F401  (imported once here, inherited by every forked case)

    chosen = sys.argv[1:] or list(cases)
    width = max(len(n) for n in chosen)
    print(f"{family} family: {len(chosen)} cases\n")
    print(f"{'case'.ljust(width)} | handled | detail")
    print(f"{'-' * width}-|---------|-------")
    failed = 0
    for name in chosen:
        handled, detail, seconds = run_case(cases[name])
        failed += not handled
        detail = " ".join(detail.split())
        print(f"{name.ljust(width)} | {'yes' if handled else 'NO '}     | {detail[:160]} "
              f"({seconds:.1f} s)", flush=True)
    print(f"\ntried {len(chosen)} / handled {len(chosen) - failed} / failed {failed}")
    return 1 if failed else 0


def refused(fn: Callable[[], object], *fragments: str) -> tuple[bool, str]:
    """Handled when ``fn()`` raises an error whose message holds every fragment."""
    try:
        got = fn()
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        return all(f in str(exc) for f in fragments), text
    return False, f"accepted: {got!r}"[:200]


def cli(args: list[object], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``linclass ARGS`` in this (child) process: exit code, stdout, stderr."""
    from typer.testing import CliRunner

    from linclass.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, out: str, err: str, *fragments: str) -> tuple[bool, str]:
    """Handled when the command failed with one ``error:`` line holding the fragments."""
    lines = err.strip().splitlines()
    ok = (code == 1 and len(lines) == 1 and lines[0].startswith("error: ")
          and "Traceback" not in out + err and all(f in lines[0] for f in fragments))
    return ok, (lines[-1] if lines else f"exit {code}, stdout {out[-120:]!r}")
