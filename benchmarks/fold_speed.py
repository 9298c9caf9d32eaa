"""Per-epoch time of the mini-batch fit, side by side in one process: the round-1 per-batch
transform (cast, scale, centre) against the folded step (cast only), with BLAS's default
threads and with one thread.

    PYTHONPATH=src python benchmarks/fold_speed.py [--epochs 3] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

import linclass.training.threads as threads_module
from linclass.data import load_dataset
from linclass.features import FeaturePipeline
from linclass.grad import make_value_and_grad
from linclass.model import init_params
from linclass.training import fit

sys.path.insert(0, str(Path(__file__).parent))
from contenders import PixelTransform  # noqa: E402  round 1's per-batch transform


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--loss", default="softmax")
    args = parser.parse_args()
    ds = load_dataset("fashion-mnist")
    X, y = ds.X_train, ds.y_train
    pipe = FeaturePipeline().fit(X)
    vg = make_value_and_grad("analytic", loss=args.loss, penalty="l2", alpha=1e-4)

    def one(transform, threads):
        params = init_params(784, 10, dtype=np.float32)
        # threads=None: BLAS's own threads in the loop (round 1), 1: the loop's limit.
        threads_module.SMALL_BATCH_BLAS_THREADS = threads  # the loop's documented knob
        r = fit(params, X, y, value_and_grad=vg, optimizer="momentum", learning_rate=0.1,
                optimizer_kwargs={"momentum": 0.9}, batch_size=args.batch,
                max_epochs=args.epochs, eval_every=args.epochs, transform=transform,
                progress=False)
        return r.history.wall_time[-1] / args.epochs

    pixels = PixelTransform(X.reshape(len(X), -1))
    cases = {
        "round 1: PixelTransform (cast, scale, centre), BLAS threads": (pixels, None),
        "PixelTransform, 1 BLAS thread": (pixels, 1),
        "pipeline.transform (unfolded), 1 BLAS thread": (pipe.transform, 1),
        "folded (pipeline.batch_transform), BLAS threads": (pipe.batch_transform, None),
        "folded (pipeline.batch_transform), 1 BLAS thread": (pipe.batch_transform, 1),
    }
    times = {k: [] for k in cases}
    for _ in range(args.repeats):
        for k, (t, th) in cases.items():
            times[k].append(one(t, th))
    for k, v in times.items():
        print(f"{k:55s} {1000 * statistics.median(v):7.1f} ms/epoch  "
              f"(min {1000 * min(v):.1f}, max {1000 * max(v):.1f})")


if __name__ == "__main__":
    main()
