"""Helpers shared by the benchmark driver and its contenders: data, timing, memory, machine.

Kept out of ``src/``: they serve only the benchmark. Every contender sees the same split,
loaded the same way: uint8 images from :func:`linclass.data.load_dataset`, flattened to
rows. How each contender turns those into floats is part of what it is measured on.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: A run at least this long is done once; shorter runs are repeated and the median kept.
REPEAT_BELOW_S = 30.0


@dataclass(frozen=True)
class Data:
    """One benchmark's training and test rows.

    Attributes:
        name: Dataset name and any subset or repetition, e.g. ``"fashion-mnist"``.
        X_train: uint8 ndarray of shape (n_train, n_features), pixels 0..255.
        y_train: int64 ndarray of shape (n_train,).
        X_test: uint8 ndarray of shape (n_test, n_features).
        y_test: int64 ndarray of shape (n_test,).
        n_classes: Number of classes C.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int


def load_data(dataset: str, *, n_train: int | None = None, repeat: int = 1) -> Data:
    """Load a dataset as uint8 rows, optionally a stratified-enough prefix or repeated.

    Args:
        dataset: A name :func:`linclass.data.load_dataset` knows (``"fashion-mnist"``,
            ``"digits"``).
        n_train: Keep only the first ``n_train`` training images (the IDX files are in
            random class order, so a prefix is a fair subset).
        repeat: Stack the training set this many times (for the scaling table: same
            accuracy problem, ``repeat`` times the rows).

    Returns:
        A :class:`Data`; its arrays are views or fresh uint8 copies, never floats.
    """
    from linclass.data import load_dataset

    ds = load_dataset(dataset)
    X_train, y_train = ds.flat("train"), ds.labels("train")
    name = dataset
    if n_train is not None and n_train < X_train.shape[0]:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
        name += f"[:{n_train}]"
    if repeat > 1:
        X_train, y_train = np.tile(X_train, (repeat, 1)), np.tile(y_train, repeat)
        name += f" x{repeat}"
    return Data(name, X_train, y_train, ds.flat("test"), ds.labels("test"), ds.n_classes)


def unit_float(X: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """Pixels scaled to [0, 1], as a new user would: ``X / 255.0`` (float64 by default)."""
    return (X / 255.0).astype(dtype, copy=False)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """``(seconds, fn())`` measured with :func:`time.perf_counter`."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def repeat_timed(
    fn: Callable[[], object], repeats: int, *, long_s: float = REPEAT_BELOW_S
) -> tuple[list[float], object]:
    """Run ``fn`` up to ``repeats`` times; stop after the first run if it took ``long_s`` or
    more (a slow peer is timed once, as the issue allows).

    Returns:
        ``(seconds of each run, result of the last run)``.
    """
    times: list[float] = []
    out = None
    for _ in range(max(repeats, 1)):
        seconds, out = timed(fn)
        times.append(seconds)
        if seconds >= long_s:
            break
    return times, out


def median(values: list[float]) -> float:
    """The median (NaN for an empty list)."""
    return statistics.median(values) if values else float("nan")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (10^6 bytes).

    Linux reports ``ru_maxrss`` in KiB, macOS in bytes.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * (1 if platform.system() == "Darwin" else 1024) / 1e6


def n_cores() -> int:
    """CPU cores this process may run on (what BLAS and PyTorch should use)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine_info() -> dict[str, str]:
    """What the numbers depend on: CPU, cores, BLAS and its threads, library versions."""
    import numpy
    import sklearn
    from threadpoolctl import threadpool_info

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = [f"{p['internal_api']} {p.get('version')} ({p['num_threads']} threads)"
            for p in threadpool_info() if p["user_api"] == "blas"][:1]
    info = {
        "cpu": cpu,
        "cores": str(n_cores()),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numpy BLAS": blas[0] if blas else "unknown",
        "scikit-learn": sklearn.__version__,
    }
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        info["torch"] = "not installed"
    return info
