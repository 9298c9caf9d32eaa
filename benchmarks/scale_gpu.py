"""The torch backend on a GPU beside the device's roofline: Fashion-MNIST and the large
probe -> a Markdown table (``benchmarks/gpu_check.sh`` runs it within its 5 minutes).

    python benchmarks/scale_gpu.py --device cuda --out GPU_CHECK.md
    python benchmarks/scale_gpu.py --device cpu --probe-rows 20000   # the CPU analogue

Each row is ``LinearClassifier(optimizer="momentum", batch_size=B, tol=None,
device=...)``; seconds per epoch are the fit loop's step time (``history_.wall_time``,
the median epoch; the evaluation passes are timed apart). Beside each figure:

* ``4 N D C`` flops an epoch (forward ``X W^T`` and gradient ``G^T X``) at the device's
  float32 matmul rate measured in the same run (8192 x D x C products), and at the
  published dense peaks of an H100 / H200 SXM (:data:`scale_probe.ROOFLINE`: float32
  67 TFLOP/s, TF32 tensor cores 495 TFLOP/s);
* the stored rows read once an epoch at the HBM bandwidth (H100 3.35 TB/s, H200
  4.8 TB/s);

the roofline of an epoch is the larger of the compute and the memory time. A mini-batch
epoch also pays one kernel launch sequence per batch (about 10 launches of ~5 us), which
the roofline leaves out: the ``batches`` column says how many.

Fashion-MNIST: 60,000 x 784 pixels / 255 as float32 in memory, 10 classes, 5 epochs, test
accuracy on the 10,000 test images. The probe: ``--probe-rows`` x 2048 float16 rows ->
1,000 classes (``scale_probe.make_probe``), 2 epochs, on the GPU streamed from its memory
map a chunk at a time (the torch backend on the cpu holds rows in memory, so the CPU
analogue loads them first).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_probe import ROOFLINE, make_probe  # noqa: E402


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_rate(device: str, d: int, c: int, reps: int = 10) -> float:
    """float32 flops/s of ``(8192 x d) @ (d x c)`` products on ``device``."""
    import torch

    A = torch.randn(8192, d, device=device)
    B = torch.randn(c, d, device=device)
    A @ B.T
    _sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        A @ B.T
    _sync(device)
    return reps * 2 * 8192 * d * c / (time.perf_counter() - start)


def run(name: str, X, y, X_test, y_test, *, epochs: int, batch: int, device: str,
        row_bytes: int) -> dict:
    from linclass import LinearClassifier

    start = time.perf_counter()
    model = LinearClassifier(optimizer="momentum", batch_size=batch, max_epochs=epochs,
                             tol=None, random_state=0, backend="torch",
                             device=device).fit(X, y)
    fit_s = time.perf_counter() - start
    steps = np.diff([0.0, *model.history_.wall_time])
    n, d = X.shape[0], math.prod(X.shape[1:])
    c = int(model.coef_.shape[0])
    return dict(name=name, n=n, d=d, c=c, batch=batch, epoch_s=float(np.median(steps)),
                fit_s=fit_s, flops=4 * n * d * c, bytes=n * row_bytes,
                batches=-(-n // batch), accuracy=float(model.score(X_test, y_test)),
                rate=matmul_rate(device, d, c), load=os.getloadavg()[0])


def _gpu_name(device: str) -> str:
    import torch

    return torch.cuda.get_device_name() if device.startswith("cuda") else "cpu"


def table(rows: list[dict], device: str) -> list[str]:
    lines = ["| data | batch | batches | s / epoch | measured matmul bound | "
             "H100 roofline (fp32 / TF32) | H200 roofline (fp32 / TF32) | test acc | load |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        measured = r["flops"] / r["rate"]

        def roof(gpu: str, r: dict = r) -> str:
            p = ROOFLINE[gpu]
            memory = r["bytes"] / p["hbm"]
            return (f"{max(r['flops'] / p['fp32'], memory) * 1e3:.2f} / "
                    f"{max(r['flops'] / p['tf32'], memory) * 1e3:.2f} ms")

        lines.append(f"| {r['name']} ({r['n']:,} x {r['d']} -> {r['c']}) | {r['batch']} | "
                     f"{r['batches']:,} | {r['epoch_s']:.3f} | "
                     f"{measured * 1e3:.2f} ms ({r['rate'] / 1e9:,.0f} GFLOP/s) | "
                     f"{roof('H100')} | {roof('H200')} | {r['accuracy']:.4f} | "
                     f"{r['load']:.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--probe-rows", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from linclass import load_dataset

    ds = load_dataset("fashion-mnist")
    X = ds.flat("train").astype(np.float32) / 255
    X_test = ds.flat("test").astype(np.float32) / 255
    rows = [run("Fashion-MNIST", X, ds.y_train, X_test, ds.y_test, epochs=5, batch=256,
                device=args.device, row_bytes=X.shape[1] * 4)]
    base = args.keep or Path(tempfile.mkdtemp(prefix="linclass-gpu-"))
    folder = make_probe(base / f"probe{args.probe_rows}-float16", args.probe_rows, "float16")
    Xp = np.load(folder / "X.npy", mmap_mode="r")
    if args.device == "cpu":  # the torch backend on the cpu holds rows in memory
        Xp = np.asarray(Xp)
    yp = np.load(folder / "y.npy")
    Xp_test, yp_test = np.load(folder / "X_test.npy"), np.load(folder / "y_test.npy")
    for batch in (256, 4096):
        rows.append(run("probe, float16 on disk", Xp, yp, Xp_test, yp_test, epochs=2,
                        batch=batch, device=args.device, row_bytes=Xp.shape[1] * 2))
    lines = [f"## The torch backend on {_gpu_name(args.device)} "
             f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", "",
             "`python benchmarks/scale_gpu.py " + " ".join(sys.argv[1:]) + "`; see its "
             "docstring for what each column is. Rooflines are per epoch.", "",
             *table(rows, args.device)]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
