"""The PyTorch backend against the NumPy one, per epoch, and (on a GPU) the issue-18 table.

    python benchmarks/torch_backend.py                 # CPU: numpy vs torch-on-cpu
    python benchmarks/torch_backend.py --device cuda   # GPU: adds the issue's measurements

CPU part: Fashion-MNIST (60,000 uint8 images, raw pixels folded), momentum, batches of
256: seconds per epoch of the NumPy backend and of the torch backend on the CPU, and the
test accuracy each reaches.

GPU part (``--device cuda``), as issue 18 asks:

* Fashion-MNIST time per epoch and time to 0.84 test accuracy: the torch backend on the
  GPU, this project's CPU path (NumPy), and a plain PyTorch loop on the same GPU
  (``nn.Linear``, ``cross_entropy``, ``torch.optim.SGD`` with momentum, data on the GPU);
* an ImageNet-probe-sized synthetic problem, 1.28M x 1024 float16 rows -> 1,000 classes:
  time per epoch on the GPU vs the CPU path, with the compute bound of an epoch
  (``4 N D C`` flops: the forward and the backward product) at the device's float32 rate.

Times exclude evaluation (the fit loop's ``wall_time``). Results: printed as Markdown and
written to ``benchmarks/torch_backend.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from linclass import load_dataset
from linclass.features import AffineTransform
from linclass.model import init_params
from linclass.objective import Objective
from linclass.training import fit

OUT = Path(__file__).with_name("torch_backend.json")
BATCH, LR = 256, 0.1


def fashion() -> tuple[np.ndarray, ...]:
    ds = load_dataset("fashion-mnist")
    return ds.X_train, ds.y_train, ds.X_test, ds.y_test


def pixels(d: int) -> AffineTransform:
    """Raw pixels scaled to [0, 1], foldable into W and b."""
    a, c = np.full(d, 1 / 255, np.float32), np.zeros(d, np.float32)
    return AffineTransform(lambda X, out=None: X.reshape(len(X), -1) * a + c, a, c)


def run_fit(X, y, X_val, y_val, *, epochs: int, transform=None, **backend) -> dict:
    """One momentum fit; seconds per epoch, time to 0.84 validation accuracy."""
    d = math.prod(X.shape[1:])
    n_classes = int(y.max()) + 1
    params = init_params(d, n_classes, random_state=0, dtype=np.float32)
    result = fit(params, X, y, value_and_grad=Objective("softmax", "l2", alpha=1e-4),
                 optimizer="momentum", learning_rate=LR, batch_size=BATCH, max_epochs=epochs,
                 X_val=X_val, y_val=y_val, transform=transform, progress=False,
                 random_state=0, **backend)
    h = result.history
    reach = [t for t, a in zip(h.wall_time, h.val_accuracy, strict=True) if a >= 0.84]
    return {"s_per_epoch": h.wall_time[-1] / len(h.wall_time),
            "val_accuracy": h.val_accuracy[-1],
            "s_to_0.84": reach[0] if reach else None}


def plain_torch(X, y, X_val, y_val, *, epochs: int, device: str) -> dict:
    """The baseline: an ordinary PyTorch training loop on the same device."""
    import torch

    dev = torch.device(device)
    Xd = torch.from_numpy(X.reshape(len(X), -1)).to(dev)
    yd = torch.from_numpy(y).to(dev)
    Xv = torch.from_numpy(X_val.reshape(len(X_val), -1)).to(dev).float() / 255
    yv = torch.from_numpy(y_val).to(dev)
    torch.manual_seed(0)
    model = torch.nn.Linear(Xd.shape[1], int(y.max()) + 1).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9, weight_decay=2e-4)
    seconds, reach, acc = 0.0, None, math.nan
    for _ in range(epochs):
        _sync(dev)
        start = time.perf_counter()
        for rows in torch.randperm(len(yd), device=dev).split(BATCH):
            loss = torch.nn.functional.cross_entropy(model(Xd[rows].float() / 255), yd[rows])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()  # as the project's loop does: a float loss each step
        _sync(dev)
        seconds += time.perf_counter() - start
        with torch.no_grad():
            acc = float((model(Xv).argmax(1) == yv).float().mean())
        if reach is None and acc >= 0.84:
            reach = seconds
    return {"s_per_epoch": seconds / epochs, "val_accuracy": acc, "s_to_0.84": reach}


def _sync(dev) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def synthetic(n: int, d: int = 1024, c: int = 1000, seed: int = 0) -> tuple[np.ndarray, ...]:
    """ImageNet-probe-sized rows: class means plus noise, stored as float16."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(c, d)).astype(np.float16)
    y = rng.integers(0, c, size=n)
    X = np.empty((n, d), np.float16)
    for s in range(0, n, 65536):
        X[s:s + 65536] = means[y[s:s + 65536]] + rng.normal(size=(min(65536, n - s), d))
    return X, y


def gpu_bound(n: int, d: int, c: int, device: str) -> dict:
    """Seconds of an epoch at the device's measured float32 matmul rate (4 N D C flops)."""
    import torch

    dev = torch.device(device)
    A = torch.randn(8192, d, device=dev)
    B = torch.randn(c, d, device=dev)
    _sync(dev)
    start = time.perf_counter()
    for _ in range(20):
        A @ B.T
    _sync(dev)
    rate = 20 * 2 * 8192 * d * c / (time.perf_counter() - start)
    return {"flops_per_s": rate, "s_per_epoch_bound": 4 * n * d * c / rate}


def table(title: str, rows: dict[str, dict]) -> str:
    lines = [f"### {title}", "", "| path | s / epoch | test accuracy | s to 0.84 |",
             "|---|---|---|---|"]
    for name, r in rows.items():
        reach = "-" if r.get("s_to_0.84") is None else f"{r['s_to_0.84']:.2f}"
        acc = r.get("val_accuracy", math.nan)
        lines.append(f"| {name} | {r['s_per_epoch']:.3f} | {acc:.4f} | {reach} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, or cuda / cuda:N / mps")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--synthetic-rows", type=int, default=1_281_167)
    args = parser.parse_args()
    X, y, X_test, y_test = fashion()
    t = pixels(math.prod(X.shape[1:]))
    report: dict[str, dict] = {"fashion": {
        "numpy (cpu)": run_fit(X, y, X_test, y_test, epochs=args.epochs, transform=t),
        "torch (cpu)": run_fit(X, y, X_test, y_test, epochs=args.epochs, transform=t,
                               backend="torch", device="cpu"),
    }}
    if args.device != "cpu":
        epochs = max(args.epochs, 10)
        report["fashion"][f"torch ({args.device})"] = run_fit(
            X, y, X_test, y_test, epochs=epochs, transform=t, device=args.device)
        report["fashion"][f"plain PyTorch loop ({args.device})"] = plain_torch(
            X, y, X_test, y_test, epochs=epochs, device=args.device)
        Xs, ys = synthetic(args.synthetic_rows)
        Xv, yv = Xs[:4096], ys[:4096]
        report["synthetic"] = {
            f"torch ({args.device})": run_fit(Xs, ys, Xv, yv, epochs=1, device=args.device),
            "numpy (cpu)": run_fit(Xs, ys, Xv, yv, epochs=1),
        }
        report["bound"] = gpu_bound(len(ys), Xs.shape[1], 1000, args.device)
    print(table("Fashion-MNIST, momentum, batches of 256", report["fashion"]))
    if "synthetic" in report:
        print()
        print(table(f"Synthetic {args.synthetic_rows} x 1024 float16 -> 1000 classes",
                    report["synthetic"]))
        print(f"\ncompute bound: {report['bound']['s_per_epoch_bound']:.3f} s / epoch")
    OUT.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
