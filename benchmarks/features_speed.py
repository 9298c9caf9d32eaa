"""Feature speed: batch HOG vs scikit-image's loop, histograms, and ``linclass train`` with
HOG + histogram features (cold and warm cache) against raw pixels; writes FEATURES.md.

Run from the repository root (Fashion-MNIST must be installed)::

    PYTHONPATH=src .venv/bin/python benchmarks/features_speed.py --rounds 3

Every contender of a table runs once per round, the rounds interleaved, so that a busy
machine slows all of them alike; the tables give medians over the rounds and ratios of
medians. Before measuring, a few GB are allocated and touched once: on a virtual machine the
first touch of never-used guest memory is far slower than any later one, and that cost
would otherwise land on whichever run happens to come first.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, median  # noqa: E402
from linclass.io.fileio import atomic_write_text  # noqa: E402

HOG_PARAMS = (9, (4, 4), (2, 2))  # the FeatureExtractor defaults: orientations, cell, block
GOALS = {"hog": 10.0, "cold": 2.0, "warm": 1.2}


def warm_up_memory(gigabytes: float) -> None:
    """Touch ``gigabytes`` of fresh memory once, then free it (see the module docstring)."""
    block = np.ones(int(gigabytes * 2**30) // 8)
    del block


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_with_cpu(fn) -> tuple[float, float]:
    """Wall and CPU seconds of this process (all its threads) for one call of ``fn``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def hog_table(rounds: int, n_loop: int) -> tuple[list[str], float]:
    """scikit-image's per-image loop vs batch HOG (one thread, all cores) on Fashion-MNIST."""
    from skimage.feature import hog

    from linclass.data import load_dataset
    from linclass.features import batch_hog, hog_features
    from linclass.features.parallel import available_cores

    ds = load_dataset("fashion-mnist")
    every = np.concatenate([ds.X_train, ds.X_test]).astype(np.float32) / np.float32(255)
    some = every[:n_loop]
    o, ppc, cpb = HOG_PARAMS

    def loop():
        return np.array([hog(x, o, ppc, cpb, block_norm="L2-Hys") for x in some])

    runs = {
        f"scikit-image loop, {n_loop} images": (len(some), loop),
        f"batch_hog, 1 thread, {n_loop} images": (len(some), lambda: batch_hog(some, o, ppc, cpb)),
        f"batch_hog, 1 thread, {len(every)} images":
            (len(every), lambda: batch_hog(every, o, ppc, cpb)),
        f"hog_features, {available_cores()} threads, {len(every)} images":
            (len(every), lambda: hog_features(every, o, ppc, cpb)),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (_, fn) in runs.items():
            wall, used = timed_with_cpu(fn)
            seconds[name].append(wall)
            cpu[name].append(used)
    worst = float(np.abs(loop() - batch_hog(some, o, ppc, cpb)).max())
    loop_name = next(iter(runs))
    per_image = {name: median(seconds[name]) / n for name, (n, _) in runs.items()}
    lines = ["| HOG | median s | µs / image | vs scikit-image loop | CPU s / wall s |",
             "|---|---:|---:|---:|---:|"]
    for name in runs:
        lines.append(f"| {name} | {median(seconds[name]):.3f} | {per_image[name] * 1e6:.1f} | "
                     f"{per_image[loop_name] / per_image[name]:.1f}x | "
                     f"{median(cpu[name]) / median(seconds[name]):.2f} |")
    one_thread = per_image[loop_name] / per_image[list(runs)[1]]
    lines.append("")
    lines.append(f"Largest difference from scikit-image on those {n_loop} images: {worst:.1e}. "
                 "CPU s / wall s near 2 means both cores worked; on a machine whose other "
                 "jobs keep a core busy, the second thread has no core to run on.")
    return lines, one_thread


def histogram_table(rounds: int, n: int) -> list[str]:
    """Hue histograms: the rgb2hsv version they replace vs the batch one (32x32 photo crops)."""
    import skimage.data
    from skimage.color import rgb2hsv

    from linclass.features import gray_histogram, hue_histogram
    from linclass.features.histograms import row_histograms

    rng = np.random.default_rng(0)
    photos = [skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea()]
    crops = []
    for i in range(n):
        p = photos[i % 3]
        r, c = rng.integers(0, p.shape[0] - 32), rng.integers(0, p.shape[1] - 32)
        crops.append(p[r : r + 32, c : c + 32])
    images = np.stack(crops).astype(np.float32) / np.float32(255)

    def old_hue():
        return row_histograms(rgb2hsv(images)[..., 0].reshape(n, -1), 16)

    runs = {"hue histogram via rgb2hsv (before)": old_hue,
            "hue histogram, batch (now)": lambda: hue_histogram(images, 16),
            "grey histogram, batch": lambda: gray_histogram(images, 16)}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            seconds[name].append(timed(fn))
    assert np.array_equal(old_hue(), hue_histogram(images, 16))
    lines = [f"| histograms, {n} colour images of 32x32 | median s |", "|---|---:|"]
    lines += [f"| {name} | {median(s):.3f} |" for name, s in seconds.items()]
    before, now = (median(seconds[k]) for k in list(runs)[:2])
    lines += ["", f"Hue histogram: {before / now:.1f}x faster, bit-for-bit equal."]
    return lines


def train_once(features: str, cache_dir: Path, out: Path) -> dict[str, float]:
    """One ``linclass train --dataset fashion-mnist`` in a fresh process: its wall and CPU
    seconds, and the run's own fit seconds."""
    env = {**os.environ, "LINCLASS_CACHE_DIR": str(cache_dir)}
    cmd = [sys.executable, "-m", "linclass.cli", "train", "--dataset", "fashion-mnist",
           "--features", features, "--quiet", "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")
    run_dir = sorted(out.iterdir())[-1]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"wall": wall, "cpu": cpu, "fit": metrics["fit_seconds"],
            "test": metrics["test_accuracy"]}


def train_table(rounds: int) -> tuple[list[str], tuple[float, ...], tuple[float, ...]]:
    """raw, hog+hist with an empty cache, hog+hist with the cache the cold run filled."""
    names = ("raw pixels", "hog+hist, cold cache", "hog+hist, warm cache")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for r in range(rounds):
            cache = tmp_path / f"cache-{r}"  # empty: the cold run fills it, the warm run reads it
            results[names[0]].append(train_once("raw", cache, tmp_path / f"raw-{r}"))
            results[names[1]].append(train_once("hog+hist", cache, tmp_path / f"cold-{r}"))
            results[names[2]].append(train_once("hog+hist", cache, tmp_path / f"warm-{r}"))
    def med(name: str, key: str) -> float:
        return median([x[key] for x in results[name]])

    def paired(name: str) -> float:  # the median over rounds of this run / that round's raw
        pairs = zip(results[name], results[names[0]], strict=True)
        return median([x["wall"] / raw["wall"] for x, raw in pairs])

    lines = ["| `linclass train --dataset fashion-mnist` | wall s | vs raw | vs raw, per round |"
             " CPU s | vs raw | fit s (features + training) | vs raw | test accuracy |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        lines.append(
            f"| {name} | {med(name, 'wall'):.1f} | {med(name, 'wall') / med(names[0], 'wall'):.2f}x"
            f" | {paired(name):.2f}x | {med(name, 'cpu'):.1f} | "
            f"{med(name, 'cpu') / med(names[0], 'cpu'):.2f}x | {med(name, 'fit'):.1f} | "
            f"{med(name, 'fit') / med(names[0], 'fit'):.2f}x | {results[name][0]['test']:.4f} |")
    lines += ["", "Medians over the rounds; \"vs raw, per round\" is the median of each round's "
              "ratio to the raw run beside it. Wall seconds of every round: " + "; ".join(
                  f"{name}: " + ", ".join(f"{x['wall']:.1f}" for x in results[name])
                  for name in names) + "."]
    ratios = {which: (paired(name), med(name, "wall") / med(names[0], "wall"),
                      med(name, "cpu") / med(names[0], "cpu"))
              for which, name in (("cold", names[1]), ("warm", names[2]))}
    return lines, ratios["cold"], ratios["warm"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hog-images", type=int, default=3000,
                        help="images for the scikit-image loop (and the batch beside it)")
    parser.add_argument("--warm-up-gb", type=float, default=4.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("FEATURES.md"))
    args = parser.parse_args()

    warm_up_memory(args.warm_up_gb)
    load_before = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M")
    hog_lines, hog_speedup = hog_table(args.rounds, args.hog_images)
    print("\n".join(hog_lines), flush=True)
    hist_lines = histogram_table(args.rounds, 10_000)
    print("\n".join(hist_lines), flush=True)
    train_lines, cold, warm = train_table(args.rounds)
    print("\n".join(train_lines), flush=True)
    load_after = os.getloadavg()[0]

    def verdict(values: tuple[float, ...], goal: float, higher_is_better: bool) -> str:
        met = [v >= goal if higher_is_better else v <= goal for v in values]
        return "met" if all(met) else ("**mixed**" if any(met) else "**not met**")

    def train_goal(label: str, ratios: tuple[float, ...], goal: float) -> str:
        per_round, of_medians, cpu = ratios
        return (f"| train hog+hist <= {goal:g}x raw, {label} cache | {per_round:.2f}x per round, "
                f"{of_medians:.2f}x of medians ({cpu:.2f}x CPU) | "
                f"{verdict(ratios[:2], goal, False)} |")

    machine = ", ".join(f"{k} {v}" for k, v in machine_info().items())
    text = "\n".join([
        "# Feature speed: batch HOG, histograms, and training on HOG + histogram",
        "",
        f"Written by `PYTHONPATH=src python benchmarks/features_speed.py --rounds "
        f"{args.rounds}` ({started}; {args.rounds} interleaved rounds, medians). Machine: "
        f"{machine}. Load average {load_before:.1f} before and {load_after:.1f} after: the "
        "machine was shared with other jobs, so seconds are indicative; the ratios compare "
        "runs made side by side.",
        "",
        "## Goals",
        "",
        "| goal | measured | |",
        "|---|---:|---|",
        f"| batch HOG >= {GOALS['hog']:.0f}x scikit-image's loop, one core | {hog_speedup:.1f}x | "
        f"{verdict((hog_speedup,), GOALS['hog'], True)} |",
        train_goal("cold", cold, GOALS["cold"]),
        train_goal("warm", warm, GOALS["warm"]),
        "",
        "Wall-time goals on a shared machine: \"per round\" is the median of each round's "
        "ratio to the raw run made just before it, \"of medians\" the ratio of the two "
        "medians; \"mixed\" means one of the two meets the goal and the other does not.",
        "",
        "## HOG on Fashion-MNIST (9 orientations, 4x4-pixel cells, 2x2-cell blocks, 28x28)",
        "",
        *hog_lines,
        "",
        "## Histograms",
        "",
        *hist_lines,
        "",
        "## Training, end to end",
        "",
        "Each run is a fresh `linclass train` process with the CLI's defaults: loading, "
        "features, training, scoring the three splits, pictures and report (the goals' wall "
        "time). The cold run starts from an empty feature cache and fills it; the warm run "
        "reads it. The raw-pixel run also draws the class templates, which HOG runs skip; "
        "the fit column (features and training only, from the run's metrics.json) has no "
        "such difference. Training itself costs more on HOG + histogram, as the classifier "
        "scores 1,312 features instead of 784.",
        "",
        *train_lines,
        "",
        "Accuracy of each representation: [FEATURES_ACCURACY.md](FEATURES_ACCURACY.md).",
        "",
    ])
    atomic_write_text(args.out, text, force=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
