"""A run's folder: its name, the files it holds, and the training history on disk.

``linclass train --out runs/`` writes into ``runs/run-001``, then ``runs/run-002``, ...
so running it twice never overwrites anything; ``--name NAME`` picks the folder and is
refused when it already holds a run, unless ``--force``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from linclass.cli.common import json_safe
from linclass.fileio import atomic_write_text

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


def plan_run_dir(out: Path, name: str | None, *, force: bool, prefix: str = "run") -> Path:
    """The folder a run will write to, checked before any work is done.

    Args:
        out: Parent folder (``--out``).
        name: Explicit folder name (``--name``), or None for the next ``prefix-NNN``.
        force: Allow an explicit name that already holds run outputs.
        prefix: Stem of automatic names.

    Raises:
        FileExistsError: The named folder holds outputs of an earlier run and not ``force``.
        ValueError: A name that is not a plain folder name.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder")
    if name is None:
        return out / next_free_name(out, prefix)
    if name in ("", ".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"--name {name!r} must be a plain folder name")
    run_dir = out / name
    existing = _existing_outputs(run_dir) if run_dir.is_dir() else []
    if existing and not force:
        raise FileExistsError(
            f"{run_dir} already holds a run ({', '.join(existing[:2])}"
            f"{', ...' if len(existing) > 2 else ''}); pass --force to "
            "overwrite it, or leave out --name to get a new run-NNN folder"
        )
    return run_dir


def create_run_dir(planned: Path, *, auto_named: bool, force: bool, prefix: str = "run") -> Path:
    """Create the planned folder now that the work succeeded.

    An automatic name taken in the meantime (two runs at once) moves on to the next free
    one; with ``force``, earlier outputs in a named folder are removed first, so no stale
    picture (a templates.png from an earlier raw-pixel run, say) survives.
    """
    if auto_named:
        while True:
            try:
                planned.mkdir(parents=True)
                return planned
            except FileExistsError:
                planned = planned.parent / next_free_name(planned.parent, prefix)
    planned.mkdir(parents=True, exist_ok=True)
    if force:
        for name in _existing_outputs(planned):
            (planned / name).unlink()
    return planned


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
