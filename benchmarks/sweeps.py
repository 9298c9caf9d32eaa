"""Sweeps in one pass, side by side in one run -> SWEEPS.md.

    python benchmarks/sweeps.py                  # everything (Fashion-MNIST, a 2 GB store)
    python benchmarks/sweeps.py --skip-store     # without the out-of-core store
    python benchmarks/sweeps.py --rounds 1       # one round of the timed cases

1. **A 4 x 4 learning-rate x alpha grid** with mini-batch momentum on Fashion-MNIST
   (pixels / 255 as float64, what users do; the CV estimator's hold-out of 10 %):
   ``LinearClassifierCV(refit=False)`` against one ``LinearClassifier`` fit of one setting
   and against the 16 fits one after another (same seed, same batch order, same rows).
   Every head's test accuracy is compared with its own fit's.
2. **Against scikit-learn's GridSearchCV(LogisticRegression(), C grid of 4, cv=3)** on a
   subset (both sides on the same rows), best test accuracy beside the time.
3. **The lbfgs path**: ``benchmarks/sweeps_path.py`` (10 alphas, warm-started), when present.
4. **Out of core**: a 16-head sweep over a >= 2 GB zarr store of embeddings, in a fresh
   process: bytes read from the store (counted at the array's ``__getitem__``), passes,
   peak RSS (``VmHWM``).

Times are medians over ``--rounds`` interleaved rounds (one fit, then the sweep, each
round); the machine's load average is written beside each case, and the process's CPU
seconds beside the wall seconds (on a shared machine the CPU time is the steadier of the
two; the goals are on wall time). A case left out (``--skip-store``, ``--skip-gridsearch``)
keeps its numbers of an earlier sitting, with that sitting's load and date.
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
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import load_data, machine_info, median, unit_float  # noqa: E402

LRS = [0.003, 0.01, 0.03, 0.1]
ALPHAS = [1e-6, 1e-5, 1e-4, 1e-3]
EPOCHS = 5
STORE_ROWS = int(os.environ.get("SWEEP_STORE_ROWS", 524_288))  # 2.1 GB of float32
STORE_D, STORE_C, STORE_CHUNK = 1024, 10, 2048


def _load() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    d = load_data("fashion-mnist")
    return unit_float(d.X_train), d.y_train, unit_float(d.X_test), d.y_test


def _holdout(y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The CV estimator's own split (reproduced, to fit each setting on the same rows)."""
    from sklearn.model_selection import train_test_split

    s = int(np.random.default_rng(seed).integers(2**31))
    tr, va = train_test_split(np.arange(len(y)), test_size=0.1, stratify=y, random_state=s)
    return np.sort(tr), np.sort(va)


def grid_case(rounds: int) -> dict[str, Any]:
    from linclass import LinearClassifier
    from linclass.estimators.cv import LinearClassifierCV

    X, y, X_te, y_te = _load()
    tr, va = _holdout(y)
    common = dict(optimizer="momentum", max_epochs=EPOCHS, tol=None, random_state=0)
    one_t, sweep_t, one_cpu, sweep_cpu, cv = [], [], [], [], None
    load = _load_now()
    for _ in range(rounds):
        start, cpu = time.perf_counter(), time.process_time()
        LinearClassifier(alpha=1e-4, learning_rate=0.01, **common).fit(X[tr], y[tr])
        one_t.append(time.perf_counter() - start)
        one_cpu.append(time.process_time() - cpu)
        start, cpu = time.perf_counter(), time.process_time()
        cv = LinearClassifierCV(alphas=ALPHAS, learning_rates=LRS, refit=False,
                                **common).fit(X, y)
        sweep_t.append(time.perf_counter() - start)
        sweep_cpu.append(time.process_time() - cpu)
    assert cv is not None
    load += " -> " + _load_now()
    start = time.perf_counter()
    own = []
    for a in ALPHAS:
        for r in LRS:
            clf = LinearClassifier(alpha=a, learning_rate=r, **common).fit(X[tr], y[tr])
            own.append((clf.score(X[va], y[va]), clf.score(X_te, y_te)))
    sixteen = time.perf_counter() - start
    P = cv.sweep_result_.params
    head_test = [float(np.mean((X_te @ P["W"][i].T + P["b"][i]).argmax(1) == y_te))
                 for i in range(len(own))]
    own_val, own_test = np.array(own).T
    diffs = np.abs(np.array(head_test) - own_test)
    return dict(one_fit=median(one_t), sweep=median(sweep_t), sixteen=sixteen,
                ratio=median(sweep_t) / median(one_t), one_rounds=one_t, sweep_rounds=sweep_t,
                one_cpu=median(one_cpu), sweep_cpu=median(sweep_cpu),
                cpu_ratio=median(sweep_cpu) / median(one_cpu), load=load,
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                max_test_diff=float(diffs.max()),
                best_sweep=int(cv.best_index_), best_own=int(np.argmax(own_val)),
                best_test=head_test[cv.best_index_], passes=int(cv.n_passes_),
                rows=len(tr), rounds=rounds,
                table=[dict(alpha=a, lr=r, head_test=head_test[i], own_test=float(own_test[i]),
                            head_val=float(cv.cv_results_["mean_test_score"][i]),
                            own_val=float(own_val[i]))
                       for i, (a, r) in enumerate((a, r) for a in ALPHAS for r in LRS)])


def gridsearch_case(n: int) -> dict[str, Any]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from threadpoolctl import threadpool_info

    from linclass.estimators.cv import LinearClassifierCV

    X, y, X_te, y_te = _load()
    X, y = X[:n], y[:n]
    load = _load_now()
    # scikit-learn's defaults: n_jobs=None (one process), its BLAS on all its threads
    blas = max((p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"),
               default=1)
    start, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gs = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0]}, cv=3).fit(X, y)
    sk, sk_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    cv = LinearClassifierCV(alphas=ALPHAS, learning_rates=LRS, optimizer="momentum",
                            max_epochs=EPOCHS, tol=None, random_state=0).fit(X, y)
    ours, ours_cpu = time.perf_counter() - start, time.process_time() - cpu
    return dict(rows=n, sklearn=sk, ours=ours, speedup=sk / ours, sklearn_cpu=sk_cpu,
                ours_cpu=ours_cpu, n_jobs=gs.n_jobs, blas_threads=blas,
                load=load + " -> " + _load_now(),
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                sklearn_test=float(gs.score(X_te, y_te)), ours_test=float(cv.score(X_te, y_te)),
                sklearn_C=gs.best_params_["C"], ours_alpha=cv.alpha_, ours_lr=cv.learning_rate_)


def _load_now() -> str:
    """The 1-minute load average now."""
    return f"{os.getloadavg()[0]:.1f}"


# --- out of core, in a fresh process ------------------------------------------------------------


def make_store(folder: Path) -> Path:
    """A zarr store of STORE_ROWS x STORE_D float32 embeddings (Gaussian clusters around
    STORE_C class means), chunks of STORE_CHUNK rows; reused when present."""
    import zarr

    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    means = rng.normal(size=(STORE_C, STORE_D)).astype(np.float32) * 0.12
    z = zarr.create_array(store=str(folder / "X.zarr"), shape=(STORE_ROWS, STORE_D),
                          chunks=(STORE_CHUNK, STORE_D), dtype="float32", compressors=None,
                          overwrite=True)
    y = rng.integers(STORE_C, size=STORE_ROWS)
    step = 32 * STORE_CHUNK
    for start in range(0, STORE_ROWS, step):
        stop = min(start + step, STORE_ROWS)
        z[start:stop] = means[y[start:stop]] + rng.normal(size=(stop - start, STORE_D)).astype(
            np.float32)
    np.save(folder / "y.npy", y)
    (folder / "done").write_text("")
    return folder


class Counted:
    """A store's array that counts the bytes read through ``__getitem__``."""

    def __init__(self, array: Any) -> None:
        self.array, self.bytes = array, 0
        self.shape, self.dtype, self.chunks = array.shape, array.dtype, array.chunks
        self.ndim = len(array.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        out = np.asarray(self.array[key])
        self.bytes += out.nbytes
        return out

    def __len__(self) -> int:
        return int(self.shape[0])


def store_child(folder: Path) -> dict[str, Any]:
    import zarr
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    from linclass.model import init_params
    from linclass.training.heads import Heads
    from linclass.training.sweep import fit_heads

    X = Counted(zarr.open_array(str(folder / "X.zarr"), mode="r"))
    y = np.load(folder / "y.npy")
    heads = Heads("softmax", "l2", np.repeat(ALPHAS, 4), np.tile(LRS, 4))
    start = time.perf_counter()
    result = fit_heads(init_params(STORE_D, STORE_C, random_state=0, dtype=np.float32), X, y,
                       heads, optimizer="momentum", batch_size=256, max_epochs=2,
                       random_state=0)
    seconds = time.perf_counter() - start
    peak = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    store = STORE_ROWS * STORE_D * 4
    return dict(rows=STORE_ROWS, features=STORE_D, heads=heads.n_heads, epochs=2,
                store_gb=store / 1e9, bytes_read_gb=X.bytes / 1e9, reads_per_epoch=(
                    X.bytes - 2 * store) / store / 2, passes=result.n_passes, seconds=seconds,
                peak_mb=peak, best_objective=float(np.nanmin(result.objective)))


def store_case(keep: Path | None) -> dict[str, Any]:
    folder = keep or Path(tempfile.mkdtemp(prefix="linclass-sweep-store-"))
    make_store(folder)
    load = _load_now()
    out = subprocess.run([sys.executable, __file__, "--child", str(folder)],
                         capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return {**json.loads(out.stdout.strip().splitlines()[-1]),
            "load": load + " -> " + _load_now(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


# --- the table ------------------------------------------------------------------------------------


def write(results: dict[str, Any], path: Path) -> None:
    g, s = results["grid"], results.get("gridsearch")
    lines = ["# Sweeps in one pass", "",
             "Written by `python benchmarks/sweeps.py` (times are medians of "
             f"{g['rounds']} interleaved rounds; load average {results['load']}; each case "
             "below gives its own load, 1-minute average at its start -> its end, on 2 "
             "shared cores).", "",
             f"Machine: {results['machine']}.", "",
             "## 1. A 4 x 4 learning-rate x alpha grid (momentum, Fashion-MNIST, "
             f"{g['rows']} training rows, {EPOCHS} epochs)", ""]
    if "load" in g:
        lines += [f"Measured {g['date']}, load {g['load']}; wall seconds per round: one fit "
                  + ", ".join(f"{t:.1f}" for t in g["one_rounds"]) + "; the sweep "
                  + ", ".join(f"{t:.1f}" for t in g["sweep_rounds"]) + ".", "",
                  "| what | seconds | x one fit | CPU seconds | x one fit (CPU) |",
                  "|---|---:|---:|---:|---:|",
                  f"| one `LinearClassifier` fit (one setting) | {g['one_fit']:.2f} | 1.00 | "
                  f"{g['one_cpu']:.2f} | 1.00 |",
                  f"| `LinearClassifierCV`: 16 settings as stacked heads | {g['sweep']:.2f} | "
                  f"**{g['ratio']:.2f}** | {g['sweep_cpu']:.2f} | {g['cpu_ratio']:.2f} |",
                  f"| the 16 fits one after another | {g['sixteen']:.2f} | "
                  f"{g['sixteen'] / g['one_fit']:.2f} | | |", ""]
    else:
        lines += ["| what | seconds | x one fit |", "|---|---:|---:|",
                  f"| one `LinearClassifier` fit (one setting) | {g['one_fit']:.2f} | 1.00 |",
                  f"| `LinearClassifierCV`: 16 settings as stacked heads | {g['sweep']:.2f} | "
                  f"**{g['ratio']:.2f}** |",
                  f"| the 16 fits one after another | {g['sixteen']:.2f} | "
                  f"{g['sixteen'] / g['one_fit']:.2f} |", ""]
    lines += [
             f"- Passes over the training rows: {g['passes']} for all 16 settings ({EPOCHS} "
             "epochs and one measuring pass at the end: with `tol=None` no epoch is "
             "measured); every one of the 16 fits makes its own passes, measuring each epoch.",
             f"- Largest difference of a head's test accuracy from its own fit's: "
             f"**{g['max_test_diff']:.4f}** (goal <= 0.002).",
             f"- Best setting: sweep #{g['best_sweep']}, own fits #{g['best_own']} "
             f"({'the same' if g['best_sweep'] == g['best_own'] else 'different'}); its test "
             f"accuracy {g['best_test']:.4f}.", "",
             "| alpha | lr | head val | own val | head test | own test |",
             "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['alpha']:g} | {r['lr']:g} | {r['head_val']:.4f} | {r['own_val']:.4f} | "
              f"{r['head_test']:.4f} | {r['own_test']:.4f} |" for r in g["table"]]
    searches = s if isinstance(s, list) else [s] if s else []
    for s in searches:
        lines += ["", f"## 2. Against GridSearchCV(LogisticRegression(), 4 C, cv=3) "
                  f"({s['rows']} training rows, both)", ""]
        if "load" in s:
            lines += [f"Measured {s['date']}, load {s['load']}. GridSearchCV as scikit-learn "
                      f"makes it: n_jobs={s['n_jobs']} (one process), its BLAS on "
                      f"{s['blas_threads']} threads; LinearClassifierCV's mini-batches on "
                      "one BLAS thread.", "",
                      "| what | seconds | CPU seconds | best test accuracy |",
                      "|---|---:|---:|---:|",
                      f"| GridSearchCV(LogisticRegression(), C in 0.01..10, cv=3) | "
                      f"{s['sklearn']:.1f} | {s['sklearn_cpu']:.1f} | {s['sklearn_test']:.4f} "
                      f"(C={s['sklearn_C']:g}) |",
                      f"| LinearClassifierCV, 4 x 4 grid, hold-out, refit | {s['ours']:.1f} | "
                      f"{s['ours_cpu']:.1f} | {s['ours_test']:.4f} (alpha={s['ours_alpha']:g}, "
                      f"lr={s['ours_lr']:g}) |"]
        else:
            lines += ["| what | seconds | best test accuracy |", "|---|---:|---:|",
                      f"| GridSearchCV(LogisticRegression(), C in 0.01..10, cv=3) | "
                      f"{s['sklearn']:.1f} | {s['sklearn_test']:.4f} (C={s['sklearn_C']:g}) |",
                      f"| LinearClassifierCV, 4 x 4 grid, hold-out, refit | {s['ours']:.1f} | "
                      f"{s['ours_test']:.4f} (alpha={s['ours_alpha']:g}, lr={s['ours_lr']:g}) |"]
        lines += ["", f"Speed-up: **{s['speedup']:.1f}x** (goal >= 100x), at "
                  f"{'equal or better' if s['ours_test'] >= s['sklearn_test'] else 'lower'} "
                  "best test accuracy."]
    if "path" in results:
        lines += ["", "## 3. The lbfgs regularization path", "",
                  "See `SWEEPS_PATH.md` (written by `benchmarks/sweeps_path.py`):", "",
                  *results["path"]]
    st = results.get("store")
    if st:
        lines += ["", "## 4. Out of core: 16 heads over a zarr store", ""]
        if "error" in st:
            lines.append(f"failed: {st['error']}")
        else:
            if "load" in st:
                lines += [f"Measured {st['date']}, load {st['load']}.", ""]
            elif results.get("store_kept"):
                lines += ["From an earlier sitting (not measured again).", ""]
            lines += ["| rows x features | store | epochs | bytes read | reads per epoch | "
                      "passes | seconds | peak RSS |", "|---|---:|---:|---:|---:|---:|---:|---:|",
                      f"| {st['rows']} x {st['features']} float32 | {st['store_gb']:.2f} GB | "
                      f"{st['epochs']} | {st['bytes_read_gb']:.2f} GB | "
                      f"{st['reads_per_epoch']:.2f} | {st['passes']} | {st['seconds']:.0f} | "
                      f"{st['peak_mb']:.0f} MB |", "",
                      "Reads per epoch: the bytes read less two whole reads (the input check "
                      "before the first epoch, which every fit makes, and the final measuring "
                      "pass), over the store's size and the epochs (goal: 1). Peak RSS of the "
                      "training process, imports included (goal <= 500 MB)."]
    path.write_text("\n".join(lines) + "\n")


def _tables(text: str) -> list[str]:
    """The table lines of a markdown text, one blank line between tables."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith("|"):
            out.append(line)
        elif out and out[-1]:
            out.append("")
    return out[:-1] if out and not out[-1] else out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gridsearch-rows", type=int, nargs="+", default=[10_000])
    parser.add_argument("--skip-store", action="store_true")
    parser.add_argument("--skip-gridsearch", action="store_true")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--render", action="store_true",
                        help="write SWEEPS.md again from SWEEPS.json")
    args = parser.parse_args()
    if args.render:
        write(json.loads((HERE / "SWEEPS.json").read_text()), HERE / "SWEEPS.md")
        return
    if args.child:
        print(json.dumps(store_child(Path(args.child))))
        return
    earlier = (json.loads((HERE / "SWEEPS.json").read_text())
               if (HERE / "SWEEPS.json").exists() else {})
    results: dict[str, Any] = {"machine": ", ".join(f"{k} {v}" for k, v in machine_info().items()),
                               "load": " / ".join(f"{x:.1f}" for x in os.getloadavg())}
    results["grid"] = grid_case(args.rounds)
    print(results["grid"], flush=True)
    if not args.skip_gridsearch:
        results["gridsearch"] = []
        for rows in args.gridsearch_rows:
            results["gridsearch"].append(gridsearch_case(rows))
            print(results["gridsearch"][-1], flush=True)
    elif "gridsearch" in earlier:
        results["gridsearch"] = earlier["gridsearch"]
    path_md = HERE / "SWEEPS_PATH.md"
    if path_md.exists():
        results["path"] = _tables(path_md.read_text())
    if not args.skip_store:
        results["store"] = store_case(args.keep)
        print(results["store"], flush=True)
    elif "store" in earlier:
        results["store"], results["store_kept"] = earlier["store"], True
    results["load"] += " (end: " + " / ".join(f"{x:.1f}" for x in os.getloadavg()) + ")"
    write(results, HERE / "SWEEPS.md")
    (HERE / "SWEEPS.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
