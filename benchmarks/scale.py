"""Beyond memory and beyond one process: synthetic embeddings and Fashion-MNIST on disk,
trained in memory, out of core (zarr), on Dask with 1 and 2 workers, by scikit-learn's
``SGDClassifier.partial_fit`` over the same chunks and by dask-ml's
``Incremental(SGDClassifier)`` -> SCALE.md.

    python benchmarks/scale.py                 # 0.8, 2 and 3.3 GB float32 zarr stores
    python benchmarks/scale.py --rows 200000   # one small size, for a quick look
    python benchmarks/scale.py --no-fashion    # synthetic embeddings only
    python benchmarks/scale.py --keep DIR      # write / reuse the stores in DIR
    python benchmarks/scale.py --keep DIR --shuffle-cost 800000   # append the shuffle's cost
    python benchmarks/scale.py --comparison in-memory out-of-core out-of-core-inline \
        --no-fashion        # the out-of-core figures alone (no Dask, no scikit-learn)

Data: ``N x 256`` float32 rows, 100 classes, Gaussian clusters around random class means
(in random row order, as embeddings written once and shuffled), zarr chunks of 2048 rows
(and, for the peak-RSS bound, of 20,000 rows too: ``--chunks``); 20,000 test rows in
memory. The full comparison runs at ``--full`` rows (2,000,000), out-of-core momentum
alone at the other sizes and chunkings (the peak-RSS bound). ``out-of-core-inline`` is the
out-of-core fit with reading ahead turned off (``linclass.training.windows.PREFETCH``):
each window read, then trained on, as before issue 26. Fashion-MNIST (60k x
784 pixels / 255 as float32, 10 classes, 10k test rows) is written once as the same kind of
store and trained the same ways; the code reads features and classes from each store.
Each run is a fresh subprocess so that its peak RSS (``VmHWM``) is its own; Dask workers
report theirs. Every linclass run is
``LinearClassifier(optimizer=..., batch_size=256, max_epochs=E, tol=None)``; accuracy is
on the test rows. One BLAS thread everywhere (the machine's cores are shared).

The ImageNet projection scales the measured out-of-core throughput (multiply-adds of the
forward and backward products per second) to a 1.28M x 2048 -> 1,000 probe, and per
added Dask worker by the measured 1 -> 2 worker speed-up. dask-ml's ``Incremental`` runs
on a LocalCluster of one worker process (it fits one block after another).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
D, C, CHUNK, N_TEST = 256, 100, 2048, 20_000  # the synthetic stores' shape
BLOCK = 64 * CHUNK  # rows per partial_fit call (scikit-learn, dask-ml)
RSS_BOUND_MB = 500


def _means(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(C, D)).astype(np.float32) * 0.35


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(C, size=n)
    return (_means()[y] + rng.normal(size=(n, D)).astype(np.float32)), y


def make_store(folder: Path, n: int, chunk: int = CHUNK) -> Path:
    """``folder/X_train.zarr`` (+ y, test rows) with n training rows, written a chunk at a
    time; reused when present."""
    import zarr

    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    z = zarr.create_array(store=str(folder / "X_train.zarr"), shape=(n, D), chunks=(chunk, D),
                          dtype="float32", overwrite=True)
    ys = []
    block = 10 * chunk if chunk > CHUNK else 64 * CHUNK  # whole chunks per write
    for i, start in enumerate(range(0, n, block)):
        stop = min(start + block, n)
        X, y = _rows(stop - start, seed=1000 + i)
        z[start:stop] = X
        ys.append(y)
    np.save(folder / "y_train.npy", np.concatenate(ys))
    X_test, y_test = _rows(N_TEST, seed=1)
    np.save(folder / "X_test.npy", X_test)
    np.save(folder / "y_test.npy", y_test)
    (folder / "done").write_text("")
    return folder


def make_fashion_store(folder: Path) -> Path:
    """Fashion-MNIST as an embeddings store of the same layout: pixels / 255 as float32,
    zarr chunks of CHUNK rows; reused when present."""
    import zarr

    from linclass import load_dataset

    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    ds = load_dataset("fashion-mnist")
    X = ds.flat("train").astype(np.float32) / 255
    z = zarr.create_array(store=str(folder / "X_train.zarr"), shape=X.shape,
                          chunks=(CHUNK, X.shape[1]), dtype="float32", overwrite=True)
    z[:] = X
    np.save(folder / "y_train.npy", np.asarray(ds.y_train, dtype=np.int64))
    np.save(folder / "X_test.npy", ds.flat("test").astype(np.float32) / 255)
    np.save(folder / "y_test.npy", np.asarray(ds.y_test, dtype=np.int64))
    (folder / "done").write_text("")
    return folder


# --- one measurement per subprocess -----------------------------------------------------


def _peak_mb() -> float:
    """This process's peak RSS (``VmHWM``; ``ru_maxrss`` would carry the parent's over
    fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, folder: Path, optimizer: str, epochs: int, workers: int) -> dict:
    import zarr
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    from linclass import LinearClassifier

    X = zarr.open_array(str(folder / "X_train.zarr"), mode="r")
    y = np.load(folder / "y_train.npy")
    X_test, y_test = np.load(folder / "X_test.npy"), np.load(folder / "y_test.npy")
    n_features, n_classes = int(X.shape[1]), int(max(y.max(), y_test.max())) + 1
    extra: dict = {}
    seconds = None  # the Dask runs time the fit alone, not the cluster's start and close
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # inherited by Dask's worker processes
    kw = dict(optimizer=optimizer, max_epochs=epochs, tol=None, random_state=0)
    load, cpu0, start0 = os.getloadavg()[0], time.process_time(), time.perf_counter()
    if optimizer != "lbfgs":
        kw["batch_size"] = 256
    start = time.perf_counter()
    if kind == "in-memory":
        X_mem = X[:]
        start = time.perf_counter()
        model = LinearClassifier(**kw).fit(X_mem, y)
    elif kind in ("out-of-core", "out-of-core-inline"):
        import linclass.training.windows

        linclass.training.windows.PREFETCH = kind == "out-of-core"
        model = LinearClassifier(**kw).fit(X, y)
    elif kind == "dask":
        from distributed import Client, LocalCluster

        from linclass.backends.dask import from_store

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, memory_limit=0) as cluster, \
                Client(cluster) as client:
            start = time.perf_counter()
            model = LinearClassifier(**kw).fit(from_store(X, workers), y)  # one per worker
            seconds = time.perf_counter() - start
            worker_mb = client.run(_peak_mb)
            extra["worker_peak_mb"] = max(worker_mb.values())
    elif kind == "sklearn":
        from sklearn.linear_model import SGDClassifier

        model = SGDClassifier(loss="log_loss", alpha=1e-4, random_state=0)
        classes = np.arange(n_classes)
        rng = np.random.default_rng(0)
        for _ in range(epochs):
            for k in rng.permutation(-(-X.shape[0] // BLOCK)):
                a = k * BLOCK
                model.partial_fit(X[a : a + BLOCK], y[a : a + BLOCK], classes=classes)
    elif kind == "incremental":
        # dask-ml drives SGDClassifier.partial_fit block by block (blocks in random order),
        # the same 131,072-row blocks, read from the zarr store by the worker
        import dask.array as da
        from dask_ml.wrappers import Incremental
        from distributed import Client, LocalCluster
        from sklearn.linear_model import SGDClassifier

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, memory_limit=0) as cluster, \
                Client(cluster) as client:
            X_d = da.from_zarr(X, chunks=(BLOCK, n_features), inline_array=True)
            y_d = da.from_array(y, chunks=(BLOCK,))
            start = time.perf_counter()
            model = Incremental(SGDClassifier(loss="log_loss", alpha=1e-4, random_state=0),
                                shuffle_blocks=True, random_state=0)
            for _ in range(epochs):
                model.partial_fit(X_d, y_d, classes=np.arange(n_classes))
            seconds = time.perf_counter() - start
            worker_mb = client.run(_peak_mb)
            extra["worker_peak_mb"] = max(worker_mb.values())
        model = model.estimator_
    if seconds is None:
        seconds = time.perf_counter() - start
    return dict(kind=kind, optimizer=optimizer, workers=workers, epochs=epochs,
                rows=int(X.shape[0]), features=n_features, classes=n_classes, seconds=seconds,
                chunk=int(X.chunks[0]), load=load, cpu_per_wall=(time.process_time() - cpu0)
                / max(time.perf_counter() - start0, 1e-9),
                accuracy=float(model.score(X_test, y_test)), peak_mb=_peak_mb(), **extra)


def measure(kind: str, folder: Path, optimizer: str, epochs: int, workers: int = 0,
            data: str = "synthetic") -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(folder), optimizer,
                          str(epochs), str(workers)], capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        return dict(kind=kind, optimizer=optimizer, workers=workers, epochs=epochs, data=data,
                    error=(out.stderr.strip().splitlines() or ["no output"])[-1][:120])
    row = {**json.loads(out.stdout.strip().splitlines()[-1]), "data": data}
    print(row, flush=True)
    return row


def _gb(r: dict) -> float:
    return r["rows"] * r["features"] * 4 / 1e9


def _how(r: dict) -> str:
    if r["kind"] == "sklearn":
        return "sklearn SGDClassifier.partial_fit"
    if r["kind"] == "incremental":
        return (f"dask-ml Incremental(SGDClassifier) ({r['workers']} worker"
                f"{'s' * (r['workers'] > 1)})")
    if r["kind"] == "dask":
        return f"dask ({r['workers']} worker{'s' * (r['workers'] > 1)})"
    if r["kind"] == "out-of-core-inline":
        return "out-of-core, no read-ahead"
    return r["kind"]


def _table(rows: list[dict]) -> list[str]:
    lines = ["| data | how | optimizer | seconds | rows/s | test acc | peak RSS MB | "
             "CPU s / wall s | load |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| | {_how(r)} | {r['optimizer']} | failed: {r['error']} | | | | | |")
            continue
        worker = f" [{r['worker_peak_mb']:.0f}]" if "worker_peak_mb" in r else ""
        chunk = f", {r['chunk']:,}-row chunks" if "chunk" in r else ""
        lines.append(f"| {r['rows']:,} rows ({_gb(r):.2g} GB{chunk}) | {_how(r)} | "
                     f"{r['optimizer']} | {r['seconds']:.1f} | "
                     f"{r['rows'] * r['epochs'] / r['seconds']:,.0f} | "
                     f"{r['accuracy']:.4f} | {r['peak_mb']:.0f}{worker} | "
                     f"{r.get('cpu_per_wall', float('nan')):.2f} | "
                     f"{r.get('load', float('nan')):.1f} |")
    return lines


def write_table(rows: list[dict], path: Path, meta: dict) -> None:
    synthetic = [r for r in rows if r.get("data") == "synthetic"]
    fashion = [r for r in rows if r.get("data") == "fashion-mnist"]
    load = f"load average (1 min) {meta['load_before']:.2f} before the run"
    if "load_after" in meta:
        load += f", {meta['load_after']:.2f} after"
    lines = [
        "# Scale: memory, disk, cluster",
        "",
        f"`python benchmarks/scale.py` on {meta['date']}, {platform.machine()}, "
        f"{os.cpu_count()} cores shared with another engineer's jobs ({load}), one BLAS "
        "thread per process. Synthetic embeddings: "
        f"N x {D} float32, {C} classes, zarr chunks of {CHUNK} rows, {N_TEST:,} test rows; "
        f"the full comparison at {meta['full']:,} rows, out-of-core momentum alone at the "
        "other sizes. "
        "Mini-batch runs: batch 256, 2 epochs (cosine schedule); lbfgs: 10 iterations "
        "(each one or more full passes, plus the evaluation pass the history records); "
        f"scikit-learn: 1 epoch of `SGDClassifier(loss=\"log_loss\").partial_fit` over "
        f"{BLOCK:,}-row blocks in random order; dask-ml: 1 epoch of "
        "`Incremental(SGDClassifier(loss=\"log_loss\"))` over the zarr store as a Dask array "
        f"of the same {BLOCK:,}-row blocks (shuffled), on a LocalCluster of 1 worker process "
        "(Incremental fits one block after another, so more workers would only move the "
        "model). rows/s counts epochs x N / seconds; Dask times are the fit alone (not the "
        "cluster's start). Peak RSS (VmHWM) is the training process's, imports included "
        "(about 150 MB); for Dask the client's, and in brackets the largest worker's, which "
        "holds its persisted partitions in memory. CPU s / wall s: the training process's "
        "CPU time over its wall time (above 1: the read-ahead thread on the second core); "
        "load: the 1-minute load average as the run started (2 cores).",
        "",
        *_table(synthetic),
    ]
    ooc = sorted((r for r in synthetic if r.get("kind") == "out-of-core"
                  and r.get("optimizer") == "momentum" and "error" not in r),
                 key=lambda r: (r.get("chunk", CHUNK), r["rows"]))
    if ooc:
        verdicts = ", ".join(f"{_gb(r):.2g} GB in {r.get('chunk', CHUNK):,}-row chunks: "
                             f"{r['peak_mb']:.0f} MB, "
                             f"{'pass' if r['peak_mb'] <= RSS_BOUND_MB else 'FAIL'}" for r in ooc)
        lines += ["", f"Peak RSS bound ≤ {RSS_BOUND_MB} MB while fitting out of core "
                  f"(momentum): {verdicts}."]
    full = {r["kind"]: r for r in synthetic if r.get("rows") == meta["full"]
            and r.get("optimizer") == "momentum" and "error" not in r}
    if "in-memory" in full and "out-of-core" in full:
        speed = {k: r["rows"] * r["epochs"] / r["seconds"] for k, r in full.items()}
        text = (f"Out of core at {meta['full']:,} rows: {speed['out-of-core']:,.0f} rows/s "
                f"against {speed['in-memory']:,.0f} in memory, "
                f"{speed['out-of-core'] / speed['in-memory']:.0%} (goal ≥ 80 %)")
        if "out-of-core-inline" in speed:
            text += (f"; without reading ahead {speed['out-of-core-inline']:,.0f} rows/s, "
                     f"{speed['out-of-core-inline'] / speed['in-memory']:.0%}")
        lines += ["", text + ". Both include the fit's passes over the training set (the "
                  "finiteness check before the first epoch and the history's evaluation "
                  "after each), which out of core decode the store again."]
    ooc = [r for r in ooc if r.get("chunk", CHUNK) == CHUNK]
    if len(ooc) > 1:
        small, big = ooc[0], ooc[-1]
        per_row = (big['peak_mb'] - small['peak_mb']) * 2**20 / (big['rows'] - small['rows'])
        lines += ["", f"Out of core, {big['rows'] / small['rows']:.0f}x the rows "
                  f"({_gb(small):.2g} -> {_gb(big):.2g} GB) raised the "
                  f"peak RSS from {small['peak_mb']:.0f} to {big['peak_mb']:.0f} MB: the "
                  "features stream through two 64 MB windows (the one training and the next, "
                  "read ahead), but the labels, their encoded "
                  "copy and the epoch's row order stay in memory ("
                  f"{per_row:.0f}"
                  f" bytes per added row, against {D * 4:,} bytes of features)."]
    if fashion:
        r0 = next((r for r in fashion if "error" not in r), None)
        shape = f"{r0['rows']:,} x {r0['features']}, {r0['classes']} classes" if r0 else ""
        lines += ["", "## Fashion-MNIST", "",
                  f"The same runs on Fashion-MNIST written once as an embeddings store "
                  f"({shape}; pixels / 255 as float32, zarr chunks of {CHUNK} rows; 10,000 "
                  "test rows). The data is small (0.19 GB), so this shows accuracy and "
                  "overheads on real images rather than scale; a linear model's ceiling here "
                  "is about 0.84-0.85 (LBFGS.md). lbfgs stops after the same 10 iterations as "
                  "above, far from converged on this data (LBFGS.md's runs take 200-660), "
                  "hence its lower accuracy; scikit-learn's 131,072-row blocks are the whole "
                  "training set here, one partial_fit call.", "", *_table(fashion)]
    lines += ["", *projection(synthetic, meta)]
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


def projection(rows: list[dict], meta: dict) -> list[str]:
    """Time per epoch of an ImageNet probe from the measured mini-batch throughput."""
    ooc = [r for r in rows if r.get("kind") == "out-of-core" and r.get("optimizer") == "momentum"
           and "error" not in r]
    if not ooc:
        return []
    r = max(ooc, key=lambda r: r["rows"])
    macs_per_s = (r["rows"] * r["epochs"] * r["features"] * r["classes"] * 2
                  / r["seconds"])  # forward + backward
    epoch_s = 1_281_167 * 2048 * 1000 * 2 / macs_per_s
    out = ["## ImageNet-sized probe (projection)", "",
           f"Measured out-of-core throughput ({r['rows']:,} rows, momentum): "
           f"{macs_per_s / 1e9:.2f} G multiply-adds/s "
           f"(forward and backward, one process, one BLAS thread). A 1.28M x 2048 -> 1,000 "
           f"probe needs 2 x 1.28M x 2048 x 1000 = 5.2 T per epoch: about "
           f"**{epoch_s / 60:.0f} minutes per epoch** here (10.5 GB of float32 rows, read "
           "once per epoch; two 64 MB windows; the model is 8 MB). `scale_probe.py` "
           "(SCALE_PROBE.md) measures that probe itself, against the machine's sgemm rate."]
    speedups = {}
    for optimizer in ("lbfgs", "momentum"):
        d = {r["workers"]: r for r in rows if r.get("kind") == "dask" and "error" not in r
             and r.get("optimizer") == optimizer}
        if 1 in d and 2 in d:
            speedups[optimizer] = d[1]["seconds"] / d[2]["seconds"]
    if speedups:
        measured = ", ".join(f"{k} {v:.2f}x" for k, v in speedups.items())
        out.append(f"Dask 1 -> 2 workers measured at {meta['full']:,} rows: {measured}, on 2 "
                   "cores shared with another engineer's jobs, so these say little about "
                   "scaling. The full-batch reduction sends only C x D numbers per partition "
                   "and iteration, so on k machines of this speed an epoch (one full pass) "
                   f"should take about {epoch_s / 60:.0f} / k minutes (e.g. "
                   f"{epoch_s / 60 / 8:.1f} min with 8 workers), plus one round trip per pass; "
                   "local SGD likewise, with one model average per epoch.")
    return out


def make_sorted_copy(source: Path, folder: Path) -> Path:
    """The rows of ``source`` stored sorted by class (as files written class by class)."""
    import zarr

    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    y = np.load(source / "y_train.npy")
    order = np.argsort(y, kind="stable")
    X = zarr.open_array(str(source / "X_train.zarr"), mode="r")[:]
    z = zarr.create_array(store=str(folder / "X_train.zarr"), shape=X.shape, chunks=(CHUNK, D),
                          dtype="float32", overwrite=True)
    z[:] = X[order]
    np.save(folder / "y_train.npy", y[order])
    for name in ("X_test.npy", "y_test.npy"):
        shutil.copy(source / name, folder / name)
    (folder / "done").write_text("")
    return folder


def shuffle_cost(base: Path, n: int) -> list[str]:
    """Accuracy of momentum SGD: full shuffle in memory vs the chunk-ordered shuffle on
    rows stored in random order and sorted by class."""
    iid = make_store(base / f"n{n}", n)
    ranked = make_sorted_copy(iid, base / f"n{n}-sorted")
    runs = [("in memory, full shuffle", measure("in-memory", iid, "momentum", 2)),
            ("on disk, rows stored in random order", measure("out-of-core", iid, "momentum", 2)),
            ("on disk, rows stored sorted by class", measure("out-of-core", ranked, "momentum", 2))]
    window = 128 * 2**20 // (CHUNK * D * 4) * CHUNK
    lines = ["## What the chunk-ordered shuffle costs", "",
             f"{n:,} rows, momentum, batch 256, 2 epochs; a window holds {window:,} rows "
             f"({window / n:.0%} of the data).", "",
             "| order | test acc | seconds |", "|---|---|---|"]
    nan = float("nan")
    lines += [f"| {name} | {r.get('accuracy', nan):.4f} | {r.get('seconds', nan):.1f} |"
              for name, r in runs]
    lines += ["", "Random storage costs nothing; class-sorted storage a little here, on clusters "
              "a linear model separates almost perfectly. On harder data expect more: write "
              "embeddings in shuffled order once, and the windows are uniform samples."]
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, folder, optimizer, epochs, workers = sys.argv[2:7]
        print(json.dumps(child(kind, Path(folder), optimizer, int(epochs), int(workers))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[800_000, 2_000_000, 3_200_000])
    parser.add_argument("--full", type=int, default=2_000_000,
                        help="the size of the full comparison (else the smallest of --rows)")
    parser.add_argument("--no-fashion", action="store_true", help="skip Fashion-MNIST")
    parser.add_argument("--chunks", type=int, nargs="+", default=[CHUNK, 20_000],
                        help="zarr row chunks of the peak-RSS runs (the comparison: 2048)")
    parser.add_argument("--comparison", nargs="+", default=None,
                        help="only these kinds in the full comparison (e.g. in-memory "
                        "out-of-core out-of-core-inline)")
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=HERE / "SCALE.md")
    parser.add_argument("--shuffle-cost", type=int, default=None, metavar="N",
                        help="only measure the shuffle's accuracy cost on N rows, appended "
                        "to --out")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="linclass-scale-"))
    rows: list[dict] = []
    if args.shuffle_cost:
        lines = shuffle_cost(base, args.shuffle_cost)
        with args.out.open("a") as f:
            f.write("\n" + "\n".join(lines) + "\n")
        return
    sizes = sorted(args.rows)
    full = args.full if args.full in sizes else sizes[0]
    meta = dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), full=full,
                load_before=os.getloadavg()[0])
    comparison = [("in-memory", "momentum", 2, 0), ("out-of-core", "momentum", 2, 0),
                  ("out-of-core", "lbfgs", 10, 0), ("dask", "momentum", 2, 1),
                  ("dask", "momentum", 2, 2), ("dask", "lbfgs", 10, 1), ("dask", "lbfgs", 10, 2),
                  ("sklearn", "sgd", 1, 0), ("incremental", "sgd", 1, 1)]
    # cheap runs first (the RSS bound at every size, then Fashion-MNIST), the long full
    # comparison last; the table is rewritten after every run
    comparison.insert(2, ("out-of-core-inline", "momentum", 2, 0))
    if args.comparison:
        comparison = [run for run in comparison if run[0] in args.comparison]
    plan = [("synthetic", (n, c), ("out-of-core", "momentum", 2, 0))
            for c in args.chunks for n in sizes if n != full]
    if not args.no_fashion:
        plan += [("fashion-mnist", (0, CHUNK), run) for run in comparison
                 if run[0] != "incremental"]
    plan += [("synthetic", (full, CHUNK), run) for run in comparison]
    try:
        for data, (n, c), (k, o, e, w) in plan:
            name = f"n{n}" if c == CHUNK else f"n{n}-c{c}"
            folder = (make_fashion_store(base / "fashion-mnist") if data == "fashion-mnist"
                      else make_store(base / name, n, c))
            rows.append(measure(k, folder, o, e, w, data=data))
            write_table(rows, args.out, meta)
        meta["load_after"] = os.getloadavg()[0]
        write_table(rows, args.out, meta)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
