"""The large probe: ImageNet-embedding-shaped rows on disk against the machine's sgemm rate
-> SCALE_PROBE.md (and, with ``--device cuda``, the same probe and Fashion-MNIST on a GPU
beside the H100/H200 roofline).

    python benchmarks/scale_probe.py                        # 200,000 x 2048 float16 -> 1,000
    python benchmarks/scale_probe.py --rows 50000 --configs 256:1 256:2   # a quick look
    python benchmarks/scale_probe.py --device cuda --out /tmp/gpu.md      # on a GPU

Data: N x 2048 rows -> 1,000 classes (class means plus unit noise, rows in random order),
written once as a float16 ``.npy`` and trained from its memory map (out of core: two 64 MB
windows, the next read while the current trains; every batch cast to float32 as it is
taken, the store never upcast whole), 10,000 test rows in memory. Each configuration
(batch size : BLAS threads) is a fresh subprocess training ``LinearClassifier(
optimizer="momentum", batch_size=B, max_epochs=1, tol=None)``; its epoch time is the fit
loop's step time (``history_.wall_time``: the evaluation pass the history records is
timed apart). An epoch does ``4 N D C`` flops (the forward product ``X W^T`` and the
gradient ``G^T X``, 2 flops a multiply-add); the rate is set against the machine's sgemm
rate measured in the same subprocess with 2 BLAS threads (2048^3 float32 products for
4 s before and 4 s after the epoch, the mean rate), so a busy machine slows both. On a
machine shared with other jobs a process gets a varying share of the cores, so the table
also gives the fit's flops per CPU-second (the epoch's and the evaluation pass's,
``6 N D C``, over the process's CPU time, every thread) against one-thread sgemm's
flops per CPU-second: how close the code is to the BLAS rate whatever share it got.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
D, C, N_TEST, IMAGENET = 2048, 1000, 10_000, 1_281_167
#: Published dense peaks (NVIDIA H100 SXM / H200 SXM datasheets): float32 (no tensor
#: cores), TF32 tensor cores, HBM bandwidth. The GPU rows print them beside each figure.
ROOFLINE = {"H100": {"fp32": 67e12, "tf32": 495e12, "hbm": 3.35e12},
            "H200": {"fp32": 67e12, "tf32": 495e12, "hbm": 4.8e12}}


def make_probe(folder: Path, n: int, dtype: str) -> Path:
    """``folder/X.npy`` (n x D, ``dtype``), ``y.npy`` and test rows; reused when present."""
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    means = (rng.normal(size=(C, D)) * 0.35).astype(np.float32)
    X = np.lib.format.open_memmap(folder / "X.npy", mode="w+", dtype=dtype, shape=(n, D))
    y = rng.integers(C, size=n + N_TEST)
    for a in range(0, n + N_TEST, 20_000):
        b = min(a + 20_000, n + N_TEST)
        rows = means[y[a:b]] + rng.normal(size=(b - a, D)).astype(np.float32)
        if a < n:
            X[a : min(b, n)] = rows[: min(b, n) - a]
        if b > n:
            test = rows[max(0, n - a) :]
            prev = np.load(folder / "X_test.npy") if (folder / "X_test.npy").exists() else None
            np.save(folder / "X_test.npy", test if prev is None else np.concatenate([prev, test]))
    X.flush()
    del X
    np.save(folder / "y.npy", y[:n])
    np.save(folder / "y_test.npy", y[n:])
    (folder / "done").write_text("")
    return folder


def sgemm_rate(threads: int, size: int = 2048, seconds: float = 4.0) -> tuple[float, float]:
    """float32 flops per second and per CPU-second of ``size^3`` products on ``threads``
    BLAS threads, over about ``seconds`` of products (means over that time, so that a busy
    machine's share of the cores weighs on the rate as on the epoch it is set against)."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).normal(size=(size, size)).astype(np.float32)
    b = np.ones((size, size), np.float32)
    with threadpool_limits(threads, user_api="blas"):
        a @ b
        done, start, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - start < seconds:
            a @ b
            done += 1
        elapsed, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    return 2 * size**3 * done / elapsed, 2 * size**3 * done / cpu_s


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(folder: Path, batch: int, threads: int, device: str) -> dict:
    from threadpoolctl import threadpool_limits

    from linclass import LinearClassifier

    X = np.load(folder / "X.npy", mmap_mode="r")
    y = np.load(folder / "y.npy")
    X_test, y_test = np.load(folder / "X_test.npy"), np.load(folder / "y_test.npy")
    before = sgemm_rate(2)[0]
    load = os.getloadavg()[0]
    kw: dict = dict(optimizer="momentum", batch_size=batch, max_epochs=1, tol=None,
                    random_state=0)
    if device != "cpu":
        kw["device"] = device
    cpu0, start = time.process_time(), time.perf_counter()
    with threadpool_limits(threads, user_api="blas"):
        model = LinearClassifier(**kw).fit(X, y)
    fit_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu0
    after = sgemm_rate(2)[0]
    epoch_s = float(model.history_.wall_time[0])
    sgemm1, sgemm1_cpu = sgemm_rate(1)
    # the fit's flops: the epoch (4 N D C) and the history's evaluation pass (2 N D C)
    fit_flops = 6 * X.shape[0] * D * C
    return dict(rows=int(X.shape[0]), dtype=str(X.dtype), batch=batch, threads=threads,
                device=device, epoch_s=epoch_s, fit_s=fit_s, cpu_per_wall=cpu_s / fit_s,
                flops_per_s=4 * X.shape[0] * D * C / epoch_s, sgemm2=(before + after) / 2,
                sgemm1=sgemm1, per_cpu=fit_flops / cpu_s / sgemm1_cpu,
                accuracy=float(model.score(X_test, y_test)), peak_mb=_peak_mb(), load=load)


def measure(folder: Path, batch: int, threads: int, device: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(max(threads, 2))}
    out = subprocess.run([sys.executable, __file__, "--child", str(folder), str(batch),
                          str(threads), device], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        return dict(batch=batch, threads=threads, device=device,
                    error=(out.stderr.strip().splitlines() or ["no output"])[-1][:120])
    row = json.loads(out.stdout.strip().splitlines()[-1])
    print(row, flush=True)
    return row


def write(rows: list[dict], path: Path, meta: dict) -> None:
    lines = ["# The large probe: ImageNet-shaped embeddings against the sgemm rate", "",
             f"`python benchmarks/scale_probe.py {meta['args']}` on {meta['date']}, "
             f"{os.cpu_count()} cores shared with other engineers' jobs (the load average "
             "beside each row, 1 min, read as the run started). "
             f"{meta['rows']:,} x {D} {meta['dtype']} rows on disk (memory map) -> {C} "
             f"classes; one epoch of momentum; `4 N D C` = {4 * meta['rows'] * D * C / 1e12:.2f}"
             " T flops an epoch. See the script's docstring for what is timed.", "",
             "| batch | BLAS threads | epoch s | GFLOP/s | sgemm 2 threads GFLOP/s | "
             "÷ sgemm | ImageNet epoch (projected) | test acc | CPU s / wall s | "
             "flops per CPU-s ÷ sgemm's | peak RSS MB | load |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['batch']} | {r['threads']} | failed: {r['error']} |"
                         " | | | | | | | | |")
            continue
        imagenet = r["epoch_s"] * IMAGENET / r["rows"]
        lines.append(f"| {r['batch']} | {r['threads']} | {r['epoch_s']:.1f} | "
                     f"{r['flops_per_s'] / 1e9:.1f} | {r['sgemm2'] / 1e9:.1f} | "
                     f"{r['flops_per_s'] / r['sgemm2']:.0%} | {imagenet / 60:.1f} min | "
                     f"{r['accuracy']:.4f} | {r['cpu_per_wall']:.2f} | "
                     f"{r['per_cpu']:.0%} | {r['peak_mb']:.0f} | "
                     f"{r['load']:.1f} |")
    ok = [r for r in rows if "error" not in r]
    if ok:
        best = max(ok, key=lambda r: r["flops_per_s"] / r["sgemm2"])
        verdict = "pass" if best["flops_per_s"] >= 0.6 * best["sgemm2"] else "FAIL"
        lines += ["", f"Goal ≥ 60 % of the measured two-thread sgemm rate: best "
                  f"{best['flops_per_s'] / best['sgemm2']:.0%} (batch {best['batch']}, "
                  f"{best['threads']} BLAS thread{'s' * (best['threads'] > 1)}): {verdict}. "
                  f"Projected ImageNet epoch (1.28M rows) at that rate: "
                  f"{best['epoch_s'] * IMAGENET / best['rows'] / 60:.1f} min. One-thread "
                  f"sgemm in the same run: {best['sgemm1'] / 1e9:.1f} GFLOP/s."]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        folder, batch, threads, device = sys.argv[2:6]
        print(json.dumps(child(Path(folder), int(batch), int(threads), device)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dtype", default="float16", choices=["float16", "float32"])
    parser.add_argument("--configs", nargs="+", default=["256:1", "256:2", "1024:2"],
                        help="batch:BLAS threads, one subprocess each")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "SCALE_PROBE.md")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="linclass-probe-"))
    folder = make_probe(base / f"probe{args.rows}-{args.dtype}", args.rows, args.dtype)
    meta = dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), rows=args.rows,
                dtype=args.dtype, args=" ".join(sys.argv[1:]))
    rows = []
    for config in args.configs:
        batch, threads = (int(v) for v in config.split(":"))
        rows.append(measure(folder, batch, threads, args.device))
        write(rows, args.out, meta)


if __name__ == "__main__":
    main()
