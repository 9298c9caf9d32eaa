"""A run's folder: its name, the files it holds, and the training history on disk.

``linclass train --out runs/`` writes into ``runs/run-001``, then ``runs/run-002``, ...
so running it twice never overwrites anything; ``--name NAME`` picks the folder and is
refused when it already holds a run, unless ``--force``. A run folder appears in one step
when the run is complete (:class:`RunClaim`), and two runs never share one.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import json
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from linclass.cli.common import json_safe
from linclass.io.fileio import FileLock, atomic_write_text

MODEL_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
HISTORY_CSV = "history.csv"
HISTORY_JSONL = "history.jsonl"
PICTURES = ("templates", "history", "confusion", "landscape", "search")
REPORT_FILES = ("report.html", "report.md")
RUN_FILES = (MODEL_FILE, METRICS_FILE, HISTORY_CSV, HISTORY_JSONL, "best.safetensors",
             "search.csv", *(f"{p}.png" for p in PICTURES), *REPORT_FILES)


def _existing_outputs(folder: Path) -> list[str]:
    return [name for name in RUN_FILES if (folder / name).exists()]


def next_free_name(out: Path, prefix: str = "run") -> str:
    """``run-NNN`` one above the highest number under ``out`` (``run-001`` for none)."""
    pattern = re.compile(rf"{re.escape(prefix)}-(\d+)$")
    numbers = [int(m.group(1)) for p in (out.iterdir() if out.is_dir() else ())
               if (m := pattern.match(p.name))]
    return f"{prefix}-{max(numbers, default=0) + 1:03d}"


class RunClaim:
    """A run folder held by this process from before the work until it is published.

    The name is claimed with a lock file (``OUT/.NAME.lock``), so two runs never write
    the same folder. The files are written into :attr:`staging`, a folder called NAME
    inside a hidden temporary folder of OUT, and :meth:`publish` renames it into place in
    one step: a run folder is always complete or absent. With ``--force`` the earlier run
    is moved aside only then, and deleted after the new one is in place. Leaving the
    ``with`` block without publishing (an error, Ctrl-C, SIGTERM) deletes the staging
    folder and releases the name; what SIGKILL or a power cut leaves behind is cleaned
    up (or, for a half-done replacement, put back) by the next run in OUT.

    Attributes:
        path: The final folder, OUT/NAME.
    """

    def __init__(self, path: Path, lock: FileLock, created_out: bool) -> None:
        self.path = path
        self._lock = lock
        self._created_out = created_out
        self._staging: Path | None = None
        self._staging_parent: Path | None = None
        self._published = False

    @property
    def staging(self) -> Path:
        """The folder the run's files are written to, created on first use."""
        if self._staging is None:
            # The parent's name is recorded before the folder exists: a SIGTERM landing
            # just after the mkdir (tempfile.mkdtemp would return only then) still finds
            # it to delete in __exit__.
            while True:
                parent = self.path.parent / (_hidden(self.path.name, "staging")
                                             + secrets.token_hex(4))
                self._staging_parent = parent
                try:
                    parent.mkdir(mode=0o700)
                    break
                except FileExistsError:
                    continue
            staging = parent / self.path.name
            staging.mkdir()
            self._staging = staging
        return self._staging

    def publish(self) -> Path:
        """Move the finished run into place (replacing the earlier one) and return it."""
        staging = self.staging
        if self.path.exists():
            aside = Path(tempfile.mkdtemp(dir=self.path.parent,
                                          prefix=_hidden(self.path.name, "old")))
            os.replace(self.path, aside / self.path.name)
            os.replace(staging, self.path)
            shutil.rmtree(aside)
        else:
            os.replace(staging, self.path)
        staging.parent.rmdir()
        self._published = True
        return self.path

    def __enter__(self) -> RunClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._staging_parent is not None and not self._published:
                shutil.rmtree(self._staging_parent, ignore_errors=True)
        finally:
            self._lock.release()
            if self._created_out and not self._published:
                with contextlib.suppress(OSError):
                    self.path.parent.rmdir()  # only if still empty


def _hidden(name: str, kind: str) -> str:
    return f".{name}.{kind}-"


def _lock_of(out: Path, name: str) -> FileLock:
    return FileLock(out / f".{name}.lock")


def _recover(out: Path, name: str) -> None:
    """Under NAME's lock: delete dead runs' staging folders and finish (or undo) a
    replacement that a crash interrupted between its two renames."""
    for staging in out.glob(glob.escape(_hidden(name, "staging")) + "*"):
        shutil.rmtree(staging, ignore_errors=True)
    for aside in sorted(out.glob(glob.escape(_hidden(name, "old")) + "*")):
        if not (out / name).exists() and (aside / name).is_dir():
            os.replace(aside / name, out / name)  # the old run is all there is: keep it
        shutil.rmtree(aside, ignore_errors=True)


def _clean_dead_claims(out: Path) -> None:
    """Recover every name in OUT whose lock file no live process holds."""
    names = {m.group(1) for p in out.iterdir()
             if (m := re.fullmatch(r"\.(.+?)\.(?:lock|staging-.*|old-.*)", p.name))}
    for name in names:
        lock = _lock_of(out, name)
        if lock.acquire():
            try:
                _recover(out, name)
            finally:
                lock.release()


def claim_run_dir(out: Path, name: str | None, *, force: bool, prefix: str = "run") -> RunClaim:
    """Claim the folder a run will write, before any work is done.

    Args:
        out: Parent folder (``--out``).
        name: Explicit folder name (``--name``), or None for the next ``prefix-NNN``.
        force: Allow replacing a named folder that holds an earlier run.
        prefix: Stem of automatic names.

    Returns:
        The claim; use it as a context manager, write into :attr:`RunClaim.staging`, and
        :meth:`RunClaim.publish` at the end.

    Raises:
        FileExistsError: The named folder holds an earlier run and not ``force``, or
            another run is writing it right now.
        ValueError: A name that is not a plain folder name, an ``--out`` that is a file,
            or a named folder holding files linclass did not write.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    if name is not None and (name in ("", ".", "..") or "/" in name or "\\" in name
                             or name.startswith(".")):
        raise ValueError(f"--name {name!r} must be a plain folder name")
    created_out = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        _clean_dead_claims(out)
        lock = _claim_name(out, name, prefix)
        try:
            if name is not None:
                _check_replaceable(out / name, force)
        except BaseException:
            lock.release()
            raise
    except BaseException:
        if created_out:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    return RunClaim(Path(lock.path.parent, lock.path.name[1 : -len(".lock")]), lock,
                    created_out)


def _claim_name(out: Path, name: str | None, prefix: str) -> FileLock:
    if name is not None:
        lock = _lock_of(out, name)
        if not lock.acquire():
            raise FileExistsError(f"another linclass run is writing {out / name} right now; "
                                  "wait for it or choose another --name (--force cannot "
                                  "replace a run that is still being written)")
        _recover(out, name)
        return lock
    number = int(next_free_name(out, prefix).rsplit("-", 1)[1])
    while True:  # a number another run holds (or has just published) moves on
        candidate = f"{prefix}-{number:03d}"
        lock = _lock_of(out, candidate)
        if lock.acquire():
            if not (out / candidate).exists():
                return lock
            lock.release()
        number += 1


def _check_replaceable(run_dir: Path, force: bool) -> None:
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir} is a file, not a run folder")
    existing = _existing_outputs(run_dir)
    foreign = sorted(p.name for p in run_dir.iterdir() if p.name not in RUN_FILES)
    if foreign:
        raise ValueError(f"{run_dir} holds files linclass did not write ({', '.join(foreign[:3])}"
                         f"{', ...' if len(foreign) > 3 else ''}); move them or choose another "
                         "--name")
    if existing and not force:
        raise FileExistsError(
            f"{run_dir} already holds a run ({', '.join(existing[:2])}"
            f"{', ...' if len(existing) > 2 else ''}); pass --force to "
            "overwrite it, or leave out --name to get a new run-NNN folder"
        )


# --- history ------------------------------------------------------------------------------


def history_records(history: Any) -> list[dict[str, Any]]:
    """One dict per evaluated epoch, each with that epoch's step losses in ``step_loss``.

    The fit loop takes the same number of steps every epoch, so the flat list of step
    losses splits evenly; keeping them per epoch lets ``linclass plot`` redraw the curves.
    """
    records = history.to_records()
    steps = np.asarray(history.step_loss, dtype=float)
    n = len(records)
    if n and len(steps) % n == 0 and len(history.epoch) == history.epoch[-1]:
        for record, chunk in zip(records, np.split(steps, n), strict=True):
            record["step_loss"] = chunk.tolist()
    return records


def write_history(run_dir: Path, history: Any, *, force: bool = False) -> tuple[Path, Path]:
    """``history.csv`` (one row per epoch) and ``history.jsonl`` (the same rows, plus the
    step losses of each epoch); NaN (no validation set) is empty in CSV, null in JSON."""
    records = history_records(history)
    columns = [k for k in (records[0] if records else {}) if k != "step_loss"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if isinstance(v, float) and np.isnan(v) else v
                         for k, v in record.items()})
    csv_path = atomic_write_text(run_dir / HISTORY_CSV, buf.getvalue(), force=force)
    lines = "".join(json.dumps(json_safe(r)) + "\n" for r in records)
    return csv_path, atomic_write_text(run_dir / HISTORY_JSONL, lines, force=force)


def read_history(run_dir: Path) -> dict[str, list[float]]:
    """``history.jsonl`` back as lists by field name, as :func:`linclass.plots.plot_history`
    reads them (null -> NaN)."""
    path = run_dir / HISTORY_JSONL
    out: dict[str, list[float]] = {}
    try:
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            for key, value in record.items():
                if key == "step_loss":
                    out.setdefault(key, []).extend(float(v) for v in value)
                else:
                    out.setdefault(key, []).append(math_nan(value))
    except (json.JSONDecodeError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a linclass history file ({exc})") from None
    return out


def math_nan(value: Any) -> float:
    """A JSON number, null as NaN."""
    return float("nan") if value is None else float(value)


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """``metrics.json`` of a run folder."""
    path = run_dir / METRICS_FILE
    try:
        metrics = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(metrics, dict):
        raise ValueError(f"{path}: not a linclass metrics file")
    return metrics
