"""Wall time of ``linclass``'s light commands, beside ``python -c "import numpy"`` (issue 27).

Each command is a fresh process, run the way a user runs it (the console script, its
output thrown away); the commands take turns, round after round, so a change in the
machine's load hits all of them alike. Writes ``benchmarks/STARTUP.md``: the median of
``--repeats`` rounds, the min and max, and each median's ratio to ``import numpy``.

    PYTHONPATH=src python benchmarks/startup.py [--repeats 21] [--label "idle"]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent

#: (label, argv): the baseline first.
COMMANDS = [
    ('python -c "import numpy"', [sys.executable, "-c", "import numpy"]),
    # The framework's own floor: typer (below 0.29, which imports pydantic to coerce
    # every option's value) and rich (the help and the tables), what any command pays.
    ('python -c "import typer, rich.console"',
     [sys.executable, "-c", "import typer, rich.console"]),
    ("linclass --help", ["linclass", "--help"]),
    ("linclass --version", ["linclass", "--version"]),
    ("linclass explain --scores 3.2,5.1,-1.7 --label 0",
     ["linclass", "explain", "--scores", "3.2,5.1,-1.7", "--label", "0"]),
    ("linclass cache info", ["linclass", "cache", "info"]),
]


def _linclass() -> list[str]:
    """The console script next to this Python, else ``python -m linclass.cli``."""
    script = Path(sys.executable).parent / "linclass"
    if script.exists():
        return [str(script)]
    found = shutil.which("linclass")
    return [found] if found else [sys.executable, "-m", "linclass.cli"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run."""
    cpu, start = _cpu(), time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   check=True)
    return time.perf_counter() - start, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--label", default="", help="a note on the machine's state")
    parser.add_argument("--out", type=Path, default=HERE / "STARTUP.md")
    args = parser.parse_args()

    linclass = _linclass()
    env = dict(os.environ, COLUMNS="80")
    # As on a user's machine: the warm-up run below writes the bytecode cache, the timed
    # runs read it (a PYTHONDONTWRITEBYTECODE set here would time the compiler instead).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    runs = [(label, [*linclass, *argv[1:]] if argv[0] == "linclass" else argv)
            for label, argv in COMMANDS]
    for _, argv in runs:  # warm the file cache (and Python's bytecode cache) first
        _time(argv, env)
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {label: [] for label, _ in runs}
    cpu: dict[str, list[float]] = {label: [] for label, _ in runs}
    for _ in range(args.repeats):
        for label, argv in runs:
            wall, used = _time(argv, env)
            times[label].append(wall)
            cpu[label].append(used)
    load_after = os.getloadavg()[0]

    base = statistics.median(times[runs[0][0]])
    base_cpu = statistics.median(cpu[runs[0][0]])
    lines = [
        "# Start-up time of the light commands",
        "",
        f"`PYTHONPATH=src python benchmarks/startup.py --repeats {args.repeats}`: wall time "
        "of a fresh process per run, the commands interleaved round by round, median (min, "
        "max) of the rounds, and the median's ratio to `python -c \"import numpy\"` "
        "measured beside it; the CPU time (user + system) of the same runs, which a loaded "
        "machine inflates less than the wall time. Goals (issue 27): `--help` <= 0.3 s and "
        "`explain` <= 0.5 s on an idle 2-core machine, within 2x of `import numpy`.",
        "",
        f"Machine: {os.cpu_count()} cores, load average {load_before:.2f} before and "
        f"{load_after:.2f} after the run{'; ' + args.label if args.label else ''}. "
        f"Python {sys.version.split()[0]}.",
        "",
        "| command | wall median s | (min, max) s | / import numpy | CPU median s "
        "| / import numpy |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, _ in runs:
        t, c = times[label], statistics.median(cpu[label])
        lines.append(f"| `{label}` | {statistics.median(t):.3f} | ({min(t):.3f}, "
                     f"{max(t):.3f}) | {statistics.median(t) / base:.2f} | {c:.3f} | "
                     f"{c / base_cpu:.2f} |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
