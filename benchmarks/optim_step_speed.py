"""Per-step cost of the gradient optimizers, before and after a change, in one run.

10,000 updates of a ``{"W": (10, 785), "b": (10,)}`` float32 param dict (a raw-pixel
Fashion-MNIST classifier), median of 5 repeats, for sgd, momentum and nesterov at a
constant rate; ``--old REV`` times the same factories of ``src/linclass/optim/gradient.py``
at git revision REV side by side (interleaved, the order alternating, so machine load hits
both alike; the minima are printed too). Times are the thread's CPU time, so that other
processes on a shared machine do not count.

    python benchmarks/optim_step_speed.py --old d1c3f7a
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from linclass.optim import gradient as new

#: How each revision spells momentum's factory argument.
MU = {"old": "mu", "new": "momentum"}


def load_old(rev: str) -> Any:
    """``linclass.optim.gradient`` as it was at ``rev``, as a standalone module."""
    src = subprocess.run(["git", "show", f"{rev}:src/linclass/optim/gradient.py"],
                         check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "gradient_old.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("gradient_old", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gradient_old"] = module
    spec.loader.exec_module(module)
    return module


def seconds(optimizer: Any, steps: int) -> float:
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((10, 785)).astype(np.float32),
              "b": np.zeros(10, np.float32)}
    grads = {k: (1e-3 * rng.standard_normal(v.shape)).astype(np.float32)
             for k, v in params.items()}
    init, update = optimizer
    state = init(params)
    start = time.thread_time()  # CPU time: what other processes on the machine take is not
    for _ in range(steps):      # counted (their cache and memory traffic still is)
        params, state = update(params, grads, state)
    return time.thread_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default=None, help="git revision to compare with")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    modules = {"new": new} | ({"old": load_old(args.old)} if args.old else {})
    print(f"{args.steps:,} updates of W (10, 785) + b (10,) float32, median of {args.repeats}")
    print(f"{'optimizer':<10}" + "".join(f"{k + ' us/step':>14}" for k in modules))
    for name in ("sgd", "momentum", "nesterov"):
        times: dict[str, list[float]] = {k: [] for k in modules}
        for repeat in range(args.repeats):
            order = list(modules.items())
            for key, module in order[::-1] if repeat % 2 else order:  # alternate who goes first
                kwargs = {} if name == "sgd" else {MU[key]: 0.9}
                times[key].append(seconds(getattr(module, name)(0.01, **kwargs), args.steps))
        print(f"{name:<10}" + "".join(
            f"{1e6 * statistics.median(t) / args.steps:>14.2f}" for t in times.values())
            + "   (min " + " / ".join(f"{1e6 * min(t) / args.steps:.2f}"
                                      for t in times.values()) + ")")


if __name__ == "__main__":
    main()
