"""A short sweep of batch size, learning rate and epochs for the tuned runs (momentum 0.9,
cosine schedule, alpha 1e-4), on the folded raw-pixel path: test accuracy and fit time.

    PYTHONPATH=src python benchmarks/sweep_fold.py
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from linclass.data import load_dataset
from linclass.features import FeaturePipeline
from linclass.grad import make_value_and_grad
from linclass.model import init_params, predict
from linclass.training import fit

GRID = {
    "softmax": dict(batch=(256, 512), lr=(0.5, 1.0), epochs=(5, 8, 10)),
    "svm": dict(batch=(256, 512), lr=(0.05, 0.1, 0.2), epochs=(3, 5)),
}


def main() -> None:
    ds = load_dataset("fashion-mnist")
    X, y, X_test, y_test = ds.X_train, ds.y_train, ds.X_test, ds.y_test
    for loss, grid in GRID.items():
        vg = make_value_and_grad("analytic", loss=loss, penalty="l2", alpha=1e-4)
        for batch, lr, epochs in itertools.product(grid["batch"], grid["lr"], grid["epochs"]):
            start = time.perf_counter()
            pipe = FeaturePipeline().fit(X)
            r = fit(init_params(784, 10, dtype=np.float32), X, y, value_and_grad=vg,
                    optimizer="momentum", learning_rate=lr, schedule="cosine",
                    optimizer_kwargs={"momentum": 0.9}, batch_size=batch, max_epochs=epochs,
                    eval_every=epochs, transform=pipe.batch_transform, progress=False)
            seconds = time.perf_counter() - start
            acc = float(np.mean(predict(r.params, pipe.transform(X_test)) == y_test))
            print(f"{loss:8s} batch {batch:4d} lr {lr:<5} epochs {epochs:3d}  acc {acc:.4f}  "
                  f"fit+eval {seconds:.2f} s  train epochs {r.history.wall_time[-1]:.2f} s",
                  flush=True)


if __name__ == "__main__":
    main()
