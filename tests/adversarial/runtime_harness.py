"""What the adversarial scripts of the runtime families share (dask_family.py,
torch_family.py, model_files_family.py, playground_family.py): running the ``linclass``
command as its console script does, judging its output, and the table they print.

Not a test module (pytest collects ``test_*.py`` only): each script is run by hand,
``python tests/adversarial/<family>.py``, and exits 1 when a case was not handled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests/: helpers.py

#: ``python -c`` code that runs the command line exactly as the console script does
#: (SIGUSR1 dumps every thread's stack to stderr, to see where a hang waits).
ENTRY = ("import sys, faulthandler, signal; faulthandler.register(signal.SIGUSR1, "
         "all_threads=True); sys.argv[0] = 'linclass'; from linclass.console import main; "
         "main()")


def env(**extra: str) -> dict[str, str]:
    """The environment of a command: this checkout's sources first, the caller's rest."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [out.get("PYTHONPATH")])])
    out.setdefault("MPLBACKEND", "Agg")
    out.update(extra)
    return out


@dataclasses.dataclass
class Run:
    """One finished command: status, output, seconds."""

    rc: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.strip().splitlines() if line.strip()]


class Command:
    """``linclass ARGS`` started in its own session (its worker processes with it), read
    as it runs; :meth:`wait_for` a line, :meth:`signal` it, :meth:`finish`."""

    def __init__(self, args: Sequence[str], extra_env: dict[str, str] | None = None,
                 cwd: str | os.PathLike | None = None) -> None:
        self.start = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-c", ENTRY, *map(str, args)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env(**(extra_env or {})), cwd=cwd,
                                     start_new_session=True)
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.readers = [threading.Thread(target=self._read, args=(s, buf), daemon=True)
                        for s, buf in ((self.proc.stdout, self.out),
                                       (self.proc.stderr, self.err))]
        for r in self.readers:
            r.start()

    @staticmethod
    def _read(stream, buf: list[bytes]) -> None:
        for line in iter(stream.readline, b""):
            buf.append(line)

    def text(self) -> str:
        return b"".join(self.err).decode("utf-8", "replace")

    def wait_for(self, fragment: str, timeout: float) -> bool:
        """Whether ``fragment`` appeared on stderr within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if fragment in self.text():
                return True
            if self.proc.poll() is not None:
                return fragment in self.text()
            time.sleep(0.1)
        return False

    def signal(self, sig: int = signal.SIGINT) -> None:
        """``sig`` to the command's whole process group, as a terminal's Ctrl-C sends it."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def finish(self, timeout: float) -> Run:
        """Wait up to ``timeout`` seconds (then dump its stacks and kill the group; rc
        None)."""
        try:
            rc: int | None = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGUSR1)
            time.sleep(1)
            self.signal(signal.SIGKILL)
            self.proc.wait()
            rc = None
        for r in self.readers:
            r.join(5)
        return Run(rc, b"".join(self.out).decode("utf-8", "replace"), self.text(),
                   time.monotonic() - self.start)


def run_cli(args: Sequence[str], timeout: float = 120, extra_env: dict[str, str] | None = None
            ) -> Run:
    """``linclass ARGS`` to its end (at most ``timeout`` seconds)."""
    return Command(args, extra_env).finish(timeout)


def one_error_line(run: Run, *fragments: str, rc: int = 1, within: float | None = None
                   ) -> tuple[bool, str]:
    """Handled: exit ``rc``, no traceback, no log line of Dask's, exactly one ``error:``
    line and it is the last, holding every fragment (and within ``within`` seconds)."""
    last = run.lines[-1] if run.lines else ""
    errors = [line for line in run.lines if line.startswith("error: ")]
    problems = []
    if run.rc != rc:
        problems.append(f"exit {run.rc} (want {rc})")
    if "Traceback" in run.stderr:
        problems.append("traceback")
    logs = [line for line in run.lines if " - distributed." in line or " - WARNING - " in line
            or " - ERROR - " in line or " - INFO - " in line]
    if logs:
        problems.append(f"{len(logs)} log lines")
    if len(errors) != 1 or not last.startswith("error: "):
        problems.append(f"{len(errors)} error lines, last {last[:80]!r}")
    missing = [f for f in fragments if f not in last]
    if missing:
        problems.append(f"missing {missing}")
    if within is not None and run.seconds > within:
        problems.append(f"{run.seconds:.0f} s > {within:.0f} s")
    detail = "; ".join(problems) if problems else f"{run.seconds:.1f} s: {last[:110]}"
    if problems:
        detail += f" [stderr: {keep(run)}]"
    return not problems, detail


def keep(run: Run) -> str:
    """Where the stderr of a run that was not handled is kept, for a look."""
    path = Path(tempfile.mkstemp(prefix="linclass-case-", suffix=".stderr")[1])
    path.write_text(run.stderr)
    return str(path)


def usage_error(run: Run, *fragments: str) -> tuple[bool, str]:
    """Handled: exit 2, no traceback, the usage box holding every fragment."""
    text = " ".join(run.stderr.replace("│", " ").split())
    problems = []
    if run.rc != 2:
        problems.append(f"exit {run.rc} (want 2)")
    if "Traceback" in run.stderr:
        problems.append("traceback")
    missing = [f for f in fragments if f not in text]
    if missing:
        problems.append(f"missing {missing}")
    return (not problems,
            "; ".join(problems) if problems else f"{run.seconds:.1f} s: usage error")


Case = Callable[[], tuple[bool, str]]


def main(family: str, cases: dict[str, Case]) -> int:
    """Run every case, print ``case | handled | detail`` and the summary; 0 when all
    were handled. ``python <script> NAME ...`` runs only the cases named."""
    chosen = sys.argv[1:] or list(cases)
    failed = 0
    print(f"# {family}: {len(chosen)} cases")
    print("case | handled | detail")
    for name in chosen:
        try:
            ok, detail = cases[name]()
        except Exception as e:  # noqa: BLE001 (a case that crashes is a failed case)
            ok, detail = False, f"the case crashed: {type(e).__name__}: {e}"
            traceback.print_exc()
        failed += not ok
        print(f"{name} | {'yes' if ok else 'NO'} | {' '.join(detail.split())}", flush=True)
    print(f"{family}: tried {len(chosen)} / handled {len(chosen) - failed} / failed {failed}")
    return 1 if failed else 0


def scratch(prefix: str) -> Path:
    """A fresh temporary folder (left for inspection)."""
    return Path(tempfile.mkdtemp(prefix=f"linclass-{prefix}-"))
