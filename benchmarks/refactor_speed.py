"""The training core before and after a refactor, side by side in one run.

Each round runs every case once in a fresh interpreter for each source tree, alternating
trees (before, after, before, after, ...), so that machine noise lands on both; the table
gives per-case medians over the rounds and the after/before ratio. The cases go through
the seams a refactor of the training core touches: the NumPy step and memory source
(sgd, momentum on folded uint8 pixels), the full-batch step (gd), the solver (lbfgs), the
disk-window source (a memory map), the torch step and source (CPU), and the playground's
click.

Run: ``python benchmarks/refactor_speed.py --before /path/to/old/src [--rounds 5]``; it
writes ``benchmarks/REFACTOR_SPEED.md``. Data: Fashion-MNIST when installed (see
``linclass.data``), else digits.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CASE_CODE = r'''
import json, sys, time, tempfile, os
import numpy as np
from linclass.data import load_dataset
from linclass.model import init_params
from linclass.objective import Objective
from linclass.training import fit

try:
    ds = load_dataset("fashion-mnist")
    name = "Fashion-MNIST"
except Exception:
    ds = load_dataset("digits")
    name = "digits"
X8 = ds.X_train.reshape(len(ds.y_train), -1)
X = (X8 / 255.0).astype(np.float32)
y = ds.y_train
D, C = X.shape[1], int(y.max()) + 1
obj = Objective("softmax", "l2", 1e-4)
p0 = init_params(D, C, random_state=0)
out = {"data": name, "n": int(len(y)), "d": int(D)}

def timed(label, fn, epochs):
    t = time.perf_counter(); r = fn(); s = time.perf_counter() - t
    out[label] = {"s": s, "s_per_epoch": s / epochs, "loss": float(r.history.train_loss[-1])}

E = 5
timed("sgd softmax float32 (batch 256)", lambda: fit(p0, X, y, value_and_grad=obj,
      optimizer="sgd", learning_rate=0.5, batch_size=256, max_epochs=E, eval_every=E,
      progress=False), E)
timed("momentum svm float32 (batch 256)", lambda: fit(p0, X, y,
      value_and_grad=Objective("svm", "l2", 1e-4), optimizer="momentum", learning_rate=0.01,
      batch_size=256, max_epochs=E, eval_every=E, progress=False), E)
timed("gd softmax float32 (3 full-batch steps)", lambda: fit(p0, X, y, value_and_grad=obj,
      optimizer="gd", learning_rate=0.5, max_epochs=3, eval_every=3, progress=False), 3)
timed("lbfgs softmax float32 (20 iterations)", lambda: fit(p0, X, y, value_and_grad=obj,
      optimizer="lbfgs", max_epochs=20, tol=None, eval_every=20, progress=False), 20)
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "X.npy"); np.save(path, X)
    M = np.load(path, mmap_mode="r")
    timed("sgd softmax memory map (windows)", lambda: fit(p0, M, y, value_and_grad=obj,
          optimizer="sgd", learning_rate=0.5, batch_size=256, max_epochs=E, eval_every=E,
          progress=False), E)
try:
    import torch  # noqa: F401
    timed("sgd softmax torch cpu (batch 256)", lambda: fit(p0, X, y, value_and_grad=obj,
          optimizer="sgd", learning_rate=0.5, batch_size=256, max_epochs=E, eval_every=E,
          progress=False, backend="torch"), E)
except ImportError:
    pass
from linclass.web.session2d import Session2D
s = Session2D("three_blobs")
t = time.perf_counter()
for _ in range(20):
    s.step(50)
out["playground 2-D: 20 clicks of 50 steps"] = {"s": time.perf_counter() - t,
                                                 "s_per_epoch": None, "loss": None}
print("RESULT " + json.dumps(out))
'''


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.6f}"


def run_case(src: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    proc = subprocess.run([sys.executable, "-c", CASE_CODE], capture_output=True, text=True,
                          env=env, timeout=1800)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{src}: {proc.stderr[-2000:]}")
    return json.loads(lines[-1][7:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", type=Path, required=True, help="src/ of the old tree")
    ap.add_argument("--after", type=Path, default=HERE.parent / "src")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--label-before", default="before")
    ap.add_argument("--label-after", default="after")
    ap.add_argument("--out", type=Path, default=HERE / "REFACTOR_SPEED.md")
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    start = time.time()
    for i in range(args.rounds):
        for which, src in (("before", args.before), ("after", args.after)):
            runs[which].append(run_case(src))
            print(f"round {i + 1} {which} done ({time.time() - start:.0f} s)", flush=True)
    cases = [k for k in runs["after"][0] if isinstance(runs["after"][0][k], dict)]
    first = runs["after"][0]
    lines = [
        "# The training core before and after the refactor, side by side",
        "",
        f"`python benchmarks/refactor_speed.py --before <old src> --rounds {args.rounds}`: "
        f"{args.rounds} rounds, each running every case in a fresh interpreter for the old "
        f"tree ({args.label_before}) and then the new one ({args.label_after}), on "
        f"{first['data']} ({first['n']:,} x {first['d']} float32 training rows); medians "
        "over the rounds of the whole fit's wall time (set-up, epochs and the last "
        "evaluation). Measured on the shared 2-core machine while other jobs ran: read "
        "the ratios, not the absolute seconds.",
        "",
        "| case | before (s) | after (s) | after / before | final loss before | final loss after |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        b = [r[case]["s"] for r in runs["before"] if case in r]
        a = [r[case]["s"] for r in runs["after"] if case in r]
        if not a or not b:
            continue
        mb, ma = statistics.median(b), statistics.median(a)
        lb, la = runs["before"][0].get(case, {}).get("loss"), runs["after"][0][case]["loss"]
        lines.append(f"| {case} | {mb:.3f} | {ma:.3f} | {ma / mb:.2f} | {_fmt(lb)} | {_fmt(la)} |")
    lines += ["", f"Total benchmark wall time {time.time() - start:.0f} s.", ""]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
