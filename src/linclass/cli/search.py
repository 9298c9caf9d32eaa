"""``linclass search``: learning rate x regularization strength, chosen on validation data.

The training images are split once into a training part and a validation part; every
setting trains on the first and is scored on the second. Where they can (gradient
optimizers, the analytic gradient; NumPy, or ``--backend torch`` on any device, one matrix
product per batch there) the settings train all at once as stacked heads, one pass over
the features per epoch for all of them (:func:`run_heads`); otherwise one fit per setting
runs in worker processes (:func:`run_trials`). Only the best setting's model ever sees the
test images, once, at the end.
"""

from __future__ import annotations

import concurrent.futures
import csv
import io
import math
import os
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from linclass.cli import common
from linclass.cli.common import DataSpec, cli_errors
from linclass.cli.options import FEATURES, TRAINING, record_options
from linclass.cli.rundir import METRICS_FILE, claim_run_dir
from linclass.estimators.classifier import LinearClassifier
from linclass.estimators.image import ImageClassifier, data_checksum
from linclass.io.fileio import atomic_write_text
from linclass.io.report import write_report
from linclass.options import choice
from linclass.plots import plot_search_heatmap, save_figure
from linclass.training import TrainingDivergedError

DEFAULT_LR_GRID = "0.01,0.1,1"
DEFAULT_ALPHA_GRID = "0,1e-4,1e-2"
COLUMNS = ("learning_rate", "alpha", "val_accuracy", "train_accuracy", "epochs", "seconds",
           "status")

EPILOG = f"""\
Examples:

  linclass search --dataset digits --lr 0.01,0.1,1 --alpha 0,1e-4,1e-2

  linclass search --dataset fashion-mnist --limit 5000 --random 12 --epochs 5

  linclass search --dataset digits --loss svm --jobs 2 --name svm-grid

Without --lr/--alpha/--random the grid is --lr {DEFAULT_LR_GRID} x --alpha
{DEFAULT_ALPHA_GRID}. Writes OUT/NAME/: search.csv, search.png (heat map), best.safetensors,
metrics.json, report.html and report.md.
"""

# --- the trials (run in worker processes) -------------------------------------------------

_WORKER_DATA: dict[str, Any] = {}
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_CHECK_SECONDS = 1.0


def _die_with_parent(parent: int) -> None:
    """End this worker process as soon as ``parent`` (the search) is gone.

    On Linux the kernel does it (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), even when the
    parent is SIGKILLed; elsewhere a daemon thread checks the parent every second.
    Either way a worker that finds itself already orphaned leaves at once.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux
        armed = False
    if os.getppid() != parent:
        os._exit(1)
    if not armed:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(PARENT_CHECK_SECONDS)
            os._exit(1)
        threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _hold_data(X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray) -> None:
    """Hold the features in the trial process, once; one BLAS thread (the processes
    already use every core, more threads would only fight over them)."""
    from threadpoolctl import threadpool_limits

    _WORKER_DATA.update(X=X, y=y, X_val=X_val, y_val=y_val,
                        blas=threadpool_limits(limits=1, user_api="blas"))


def _init_worker(parent: int, *data: np.ndarray) -> None:
    """Tie a worker's life to the search's, leave Ctrl-C to the search (which stops the
    workers itself; a terminal sends it to the whole process group), hold the data."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _hold_data(*data)


#: A trial's warnings, as ``(category, message)``: sent from a worker to the search, which
#: warns them again (a worker's own would reach the terminal in Python's form).
Caught = list[tuple[type[Warning], str]]


def _run_trial(hyperparameters: dict[str, Any]
               ) -> tuple[dict[str, Any], LinearClassifier | None, Caught]:
    """Train one setting; return its result row, the fitted estimator (None if it
    diverged) and the warnings the fit raised."""
    d = _WORKER_DATA
    clf = LinearClassifier(**hyperparameters)
    row = {"learning_rate": hyperparameters["learning_rate"], "alpha": hyperparameters["alpha"]}
    start = time.perf_counter()
    diverged = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            clf.fit(d["X"], d["y"])
        except TrainingDivergedError:
            diverged = True
    sent = [(w.category, str(w.message)) for w in caught]
    if diverged:
        return {**row, "val_accuracy": math.nan, "train_accuracy": math.nan, "epochs": 0,
                "seconds": time.perf_counter() - start, "status": "diverged"}, None, sent
    return {**row, "val_accuracy": float(clf.score(d["X_val"], d["y_val"])),
            "train_accuracy": float(clf.history_.train_accuracy[-1]),
            "epochs": int(clf.n_iter_), "seconds": time.perf_counter() - start,
            "status": "ok"}, clf, sent


def _warn_again(caught: Caught) -> None:
    """Warn a trial's warnings in this process (the command shows them as lines)."""
    for category, message in caught:
        warnings.warn(message, category, stacklevel=2)


def run_trials(
    settings: list[dict[str, Any]],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    jobs: int,
    on_done: Any = None,
) -> list[tuple[dict[str, Any], LinearClassifier | None]]:
    """Run every setting, ``jobs`` at a time in worker processes (in this process for 1).

    Returns:
        ``(row, estimator)`` per setting, in the order of ``settings``.
    """
    if jobs == 1:
        _hold_data(*data)
        try:
            results = []
            for s in settings:
                row, clf, caught = _run_trial(s)
                _warn_again(caught)
                results.append((row, clf))
                on_done and on_done(row)
            return results
        finally:
            _WORKER_DATA.pop("blas").restore_original_limits()
            _WORKER_DATA.clear()
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker,
                                                  initargs=(os.getpid(), *data))
    try:
        futures = [pool.submit(_run_trial, s) for s in settings]
        for future in concurrent.futures.as_completed(futures):
            row, _, caught = future.result()
            _warn_again(caught)
            on_done and on_done(row)
        return [f.result()[:2] for f in futures]
    except BaseException:  # Ctrl-C, SIGTERM (see linclass.console), a failed trial
        stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True)


def stop_workers(pool: concurrent.futures.ProcessPoolExecutor, timeout: float = 5.0) -> None:
    """Cancel what has not started and terminate the running trials now, instead of
    waiting for them as leaving a ``with`` block would."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown drops it
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout)


def run_heads(base: dict[str, Any], pairs: list[tuple[float | None, float]],
              data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
              on_epoch: Any = None
              ) -> tuple[list[tuple[dict[str, Any], LinearClassifier | None]], int]:
    """Train every setting at once as stacked heads (one pass over the features per epoch
    for all of them: :func:`linclass.estimators.cv.train_settings`), each as its own
    trial would.

    Returns:
        ``(row, estimator)`` per setting, in the order of ``pairs``, and the number of
        passes over the training features.
    """
    from sklearn.utils import check_array

    from linclass.estimators.cv import train_settings
    from linclass.training.heads import Heads, HeadsStep

    template = LinearClassifier(**base)
    X, y, X_val, y_val = data
    X = check_array(X, dtype=template._dtypes())
    X_val = check_array(X_val, dtype=X.dtype)
    classes = np.unique(y)
    template.classes_ = classes
    y_enc, y_val_enc = template._encode(y), template._encode(y_val, "validation labels")
    start = time.perf_counter()
    swept = train_settings(base, "classification", [(a, lr) for lr, a in pairs], X, y_enc,
                           len(classes), X.dtype, X_val=X_val, y_val=y_val_enc,
                           random_state=base.get("random_state"), on_epoch=on_epoch)
    result = swept.result
    # training accuracy of every head, in one more pass
    plain = Heads(base["loss"], base["penalty"], result.objective * 0, result.objective * 0 + 1)
    plain_step = HeadsStep(plain)
    plain_step.alive = ~result.dropped
    train_acc = plain_step.measure(result.params, X, y_enc).held_out
    assert train_acc is not None
    share = (time.perf_counter() - start) / len(pairs)
    out: list[tuple[dict[str, Any], LinearClassifier | None]] = []
    for i, (lr, a) in enumerate(pairs):
        row = {"learning_rate": lr if lr is not None else swept.rates[i], "alpha": a,
               "seconds": share}
        if result.dropped[i]:
            out.append(({**row, "val_accuracy": math.nan, "train_accuracy": math.nan,
                         "epochs": int(result.n_iter[i]), "status": "diverged"}, None))
            continue
        clf = LinearClassifier(**{**base, "learning_rate": lr, "alpha": a})
        clf.classes_, clf.n_features_in_ = classes, X.shape[1]
        clf.coef_, clf.intercept_ = result.params["W"][i], result.params["b"][i]
        clf.n_iter_ = int(result.n_iter[i])
        clf.settings_ = {**base, "learning_rate": row["learning_rate"], "alpha": a}
        out.append(({**row, "val_accuracy": float(result.held_out[i]),
                     "train_accuracy": float(train_acc[i]), "epochs": int(result.n_iter[i]),
                     "status": "ok"}, clf))
    return out, result.n_passes + 1


def run_path(base: dict[str, Any], pairs: list[tuple[float | None, float]],
             data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
             ) -> tuple[list[tuple[dict[str, Any], LinearClassifier | None]], int]:
    """A solver's (lbfgs) alphas as one regularization path, strongest first, each point
    started from the previous one (:func:`linclass.estimators.path.estimator_path`).

    Returns:
        ``(row, estimator)`` per setting, in the order of ``pairs``, and the passes over
        the training features (an L-BFGS iteration is one, and two measure each point).
    """
    from linclass.estimators.path import estimator_path

    X, y, X_val, y_val = data
    alphas = [a for _, a in pairs]
    start = time.perf_counter()
    path = estimator_path(LinearClassifier(**base), X, y, alphas)
    share = (time.perf_counter() - start) / len(pairs)
    out: list[tuple[dict[str, Any], LinearClassifier | None]] = []
    for est, a, n_iter in zip(path.estimators, alphas, path.n_iter, strict=True):
        out.append(({"learning_rate": None, "alpha": a, "seconds": share,
                     "val_accuracy": float(est.score(X_val, y_val)),
                     "train_accuracy": float(est.score(X, y)), "epochs": int(n_iter),
                     "status": "ok"}, est))
    return out, path.total_iter + 2 * len(pairs)


# --- the settings -------------------------------------------------------------------------


def grid_settings(lrs: list[float | None],
                  alphas: list[float]) -> list[tuple[float | None, float]]:
    """Every learning rate with every alpha (a learning rate None: the optimizer has none)."""
    return [(lr, a) for a in alphas for lr in lrs]


def random_settings(n: int, lr_range: tuple[float, float], alpha_range: tuple[float, float],
                    seed: int) -> list[tuple[float, float]]:
    """``n`` settings drawn log-uniformly: each order of magnitude equally likely, as
    learning rates and penalty strengths matter by ratios, not differences."""
    rng = np.random.default_rng(seed)
    lo_hi = [np.log10(lr_range), np.log10(alpha_range)]
    draws = [10 ** rng.uniform(lo, hi, n) for lo, hi in lo_hi]
    return [(float(f"{a:.3g}"), float(f"{b:.3g}")) for a, b in zip(*draws, strict=True)]


def _range(value: str, option: str) -> tuple[float, float]:
    numbers = common.parse_floats(value, option)
    if len(numbers) != 2 or not 0 < numbers[0] <= numbers[1]:
        raise typer.BadParameter(f"{value!r}: give LOW,HIGH with 0 < LOW <= HIGH",
                                 param_hint=option)
    return numbers[0], numbers[1]


def _grid(value: str | None, default: str, option: str, *, positive: bool) -> list[float]:
    numbers = sorted(set(common.parse_floats(value or default, option)))
    if any(v < 0 or (positive and v == 0) for v in numbers):
        raise typer.BadParameter(f"{value!r}: values must be {'> 0' if positive else '>= 0'}",
                                 param_hint=option)
    return numbers


#: How ``--sweep`` may train the settings.
SWEEP_MODES = ("auto", "heads", "processes")


def _sweep_mode(value: str) -> str:
    if value not in SWEEP_MODES:
        raise typer.BadParameter(f"{value!r}: choose one of {', '.join(SWEEP_MODES)}")
    return value


# --- the command --------------------------------------------------------------------------


@record_options(*(n for n in TRAINING if n not in ("learning_rate", "alpha")), *FEATURES)
def search(
    lr: str | None = typer.Option(None, "--lr", help="Grid of learning rates, "
                                  "comma-separated (gradient optimizers).",
                                  show_default=DEFAULT_LR_GRID),
    alpha: str | None = typer.Option(None, "--alpha", help="Grid of regularization "
                                     "strengths, comma-separated.",
                                     show_default=DEFAULT_ALPHA_GRID),
    n_random: int | None = typer.Option(None, "--random", min=1, max=10_000,
                                        help="Draw N random settings (log-uniform) instead "
                                        "of a grid."),
    lr_range: str = typer.Option("1e-3,1", help="LOW,HIGH learning rates for --random."),
    alpha_range: str = typer.Option("1e-6,1e-1", help="LOW,HIGH alphas for --random."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, max=256,
                                    help="Trials run at once (--sweep processes).",
                                    show_default="all cores"),
    sweep: str = typer.Option("auto", "--sweep", help="heads: every setting trains at once "
                              "as stacked heads, one pass over the data per epoch for all "
                              "(lbfgs: one warm-started regularization path over --alpha); "
                              "processes: one fit per setting in worker processes; auto: "
                              "heads where they apply (gradient optimizers, or lbfgs with "
                              "NumPy; the analytic gradient; NumPy or torch; no early "
                              "stopping).",
                              callback=_sweep_mode),
    dataset: str = typer.Option("digits", callback=common.utf8_text,
                                help=common.dataset_help()),
    data: Path | None = common.DATA_OPTION,
    image_size: str | None = common.IMAGE_SIZE_OPTION,
    color_mode: Literal["auto", "gray", "rgb"] = common.COLOR_MODE_OPTION,
    skip_bad: bool = common.SKIP_BAD_OPTION,
    features: str = common.FEATURES_OPTION,
    standardize: bool = common.STANDARDIZE_OPTION,
    seed: int = common.SEED_OPTION,
    val_fraction: float = common.VAL_FRACTION_OPTION,
    limit: int | None = common.LIMIT_OPTION,
    out: Path = common.OUT_OPTION,
    name: str | None = common.NAME_OPTION,
    force: bool = common.FORCE_OPTION,
    quiet: bool = common.QUIET_OPTION,
    *,
    options: dict[str, Any],
) -> None:
    """Search learning rate x regularization strength on the validation split.

    Every setting trains on the training part and is scored on the validation part; the
    best one is saved with its test accuracy (the only use of the test images). The
    derivative-free optimizers (random_search, random_local_search, genetic) have no
    learning rate: for them the search is over --alpha alone.
    """
    if n_random is not None and (lr is not None or alpha is not None):
        raise typer.BadParameter("give either grids (--lr, --alpha) or --random N with "
                                 "--lr-range/--alpha-range", param_hint="--random")
    optimizer = options["optimizer"]
    takes_lr = "learning_rate" in choice("optimizer", optimizer).params
    if not takes_lr and lr is not None:
        raise typer.BadParameter(f"optimizer {optimizer!r} has no learning rate; search "
                                 "--alpha alone", param_hint="--lr")
    pairs: list[tuple[float | None, float]]
    if n_random is None:
        lrs: list[float | None] = [None]  # an optimizer without a learning rate
        if takes_lr:
            lrs = [*_grid(lr, DEFAULT_LR_GRID, "--lr", positive=True)]
        pairs = grid_settings(lrs, _grid(alpha, DEFAULT_ALPHA_GRID, "--alpha", positive=False))
    else:
        pairs = [*random_settings(n_random, _range(lr_range, "--lr-range"),
                                  _range(alpha_range, "--alpha-range"), seed)]
        if not takes_lr:
            pairs = [(None, b) for _, b in pairs]
    pipeline, clf = common.build_model({**options, "learning_rate": None, "alpha": 0.0},
                                       features, standardize, seed=seed, quiet=True)
    base = {k: v for k, v in clf.get_params().items()
            if k not in ("learning_rate", "alpha", "verbose")}
    from linclass.estimators.cv import heads_refusal

    refusal = heads_refusal(clf.get_params())
    heads = sweep != "processes" and refusal is None
    solver = choice("optimizer", optimizer).has("solver")
    if sweep == "heads" and solver and heads_refusal(clf.get_params(), lbfgs=True) is not None:
        raise typer.BadParameter(str(heads_refusal(clf.get_params(), lbfgs=True)),
                                 param_hint="--sweep")
    path = solver and sweep != "processes" and heads_refusal(clf.get_params(),
                                                             lbfgs=True) is None
    if sweep == "heads" and not path and refusal is not None:
        raise typer.BadParameter(refusal, param_hint="--sweep")
    jobs = 1 if heads or path else min(jobs or os.cpu_count() or 1, len(pairs))
    settings = [{**base, "learning_rate": a, "alpha": b} for a, b in pairs]
    loss, penalty, schedule = options["loss"], options["penalty"], options["schedule"]
    epochs, batch_size = options["max_epochs"], options["batch_size"]
    console = Console(stderr=True, quiet=quiet)
    with cli_errors() as scope:
        run = scope.enter_context(claim_run_dir(out, name, force=force, prefix="search"))
        spec = DataSpec(dataset, None if data is None else str(data), limit, val_fraction, seed,
                        common.parse_image_size(image_size), color_mode, skip_bad)
        splits = common.load_splits(spec)
        ds = splits.data
        with common.warnings_as_lines(quiet):  # the feature cache's warning, say
            X = pipeline.fit_transform(splits.X_train)
            X_val = pipeline.transform(splits.X_val)
        how = ("all at once as stacked heads" if heads else "as one warm-started "
               "regularization path" if path else f"{jobs} at a time")
        console.print(f"{len(settings)} settings on {ds.name} ({len(splits.y_train)} training, "
                      f"{len(splits.y_val)} validation images), {how}")
        start = time.perf_counter()
        sets = (X, splits.y_train, X_val, splits.y_val)
        passes: int | None = None
        with common.warnings_as_lines(quiet):
            if heads or path:
                results, passes = (run_heads(base, pairs, sets, on_epoch=_epoch_line(console))
                                   if heads else run_path(base, pairs, sets))
                for row, _ in results:
                    console.print(_trial_line(row))
            else:
                results = run_trials(settings, sets, jobs,
                                     on_done=lambda r: console.print(_trial_line(r)))
        seconds = time.perf_counter() - start
        if passes is None:  # one fit per setting: each reads the data once per epoch, and
            passes = sum(2 * int(r["epochs"]) for r, _ in results)  # measures it once
        rows = [r for r, _ in results]
        finite = [i for i, r in enumerate(rows) if math.isfinite(r["val_accuracy"])]
        if not finite:
            raise ValueError("every setting diverged; try smaller learning rates (--lr)")
        best_i = max(finite, key=lambda i: rows[i]["val_accuracy"])
        best_row, best_clf = results[best_i]
        assert best_clf is not None  # a finite result has its classifier
        test_accuracy = float(best_clf.score(pipeline.transform(ds.X_test), ds.y_test))

        run_dir = run.staging  # published below, in one step, once everything is written
        model = ImageClassifier.from_fitted(pipeline, best_clf, ds.class_names)
        model.data_sha256_ = data_checksum(splits.X_train, splits.y_train)
        model.save(run_dir / "best.safetensors", force=force,
                   extra_meta={"dataset": spec.to_dict(), "run": run_dir.name})
        atomic_write_text(run_dir / "search.csv", _csv(rows), force=force)
        ax = plot_search_heatmap(rows, x="learning_rate", y="alpha", value="val_accuracy")
        heat_map = save_figure(ax, run_dir / "search.png", force=force)
        metrics = {"data": spec.to_dict(), "features": "+".join(pipeline.extractor.kinds),
                   "standardize": standardize, "mode": "grid" if n_random is None else "random",
                   "sweep": "heads" if heads else "path" if path else "processes",
                   "passes": passes,
                   "base_hyperparameters": base, "jobs": jobs, "seconds": seconds,
                   "best": best_row, "best_test_accuracy": test_accuracy, "results": rows}
        common.write_json(run_dir / METRICS_FILE, metrics, force=force)
        html, _ = write_report(
            run_dir, title=f"{ds.name}: {loss} search ({run_dir.name})",
            summary={"dataset": ds.name,
                     "images (train / val)": f"{len(splits.y_train)} / {len(splits.y_val)}"
                     + (f" (first {limit} training images)" if limit else ""),
                     "search": f"{metrics['mode']}, {len(rows)} settings, {how}",
                     "passes over the training data": passes,
                     "features": metrics["features"],
                     "fixed": f"{loss} loss, {penalty} penalty, {optimizer}, "
                     f"{schedule or 'default'} schedule, {epochs or 'auto'} epochs, "
                     f"batch {batch_size or 'default'}, seed {seed}",
                     "best learning rate": best_row["learning_rate"],
                     "best alpha": best_row["alpha"],
                     "best val accuracy": best_row["val_accuracy"],
                     "best test accuracy": test_accuracy, "search time": seconds,
                     "model file": "best.safetensors"},
            tables={"results (best first)": _sorted(rows)},
            figures={"search": heat_map}, force=force)
        run_dir = run.publish()
        html = run_dir / html.name
    _print_table(Console(), rows, best_i)
    best_lr = best_row["learning_rate"]
    typer.echo(f"best: {'' if best_lr is None else f'--lr {best_lr:g} '}"
               f"--alpha {best_row['alpha']:g}  "
               f"val accuracy {best_row['val_accuracy']:.4f}  test accuracy {test_accuracy:.4f}"
               f"  ({seconds:.1f} s, {passes} passes over the training data)")
    typer.echo(f"search written to {run_dir}  (report: {html})")


def _epoch_line(console: Console) -> Any:
    """The heads' progress: after each measured epoch, the best validation accuracy so far
    and how many settings are still training."""
    best = -np.inf

    def each(epoch: int, objective: np.ndarray, held_out: np.ndarray | None) -> None:
        nonlocal best
        if held_out is None or not np.isfinite(held_out).any() or np.nanmax(held_out) <= best:
            return  # a line when the best so far improves
        best = float(np.nanmax(held_out))
        console.print(f"  epoch {epoch}: best val accuracy {best:.4f} "
                      f"({int(np.isfinite(objective).sum())} of {len(objective)} settings "
                      "training)")
    return each


def _trial_line(row: dict[str, Any]) -> str:
    result = (f"val accuracy {row['val_accuracy']:.4f}" if row["status"] == "ok"
              else "[red]diverged[/]")
    return (f"  lr {_rate(row['learning_rate']):<8} alpha {row['alpha']:<8g} {result}  "
            f"({row['seconds']:.2f} s)")


def _rate(value: float | None) -> str:
    """A learning rate for the table ("-" for an optimizer that has none)."""
    return "-" if value is None else f"{value:g}"


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: -r["val_accuracy"] if math.isfinite(r["val_accuracy"])
                  else math.inf)


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "" if isinstance(v, float) and math.isnan(v) else v
                         for k, v in r.items()})
    return buf.getvalue()


def _print_table(console: Console, rows: list[dict[str, Any]], best_i: int) -> None:
    table = Table(title="search results (validation accuracy, best first)")
    for col in ("learning rate", "alpha", "val acc", "train acc", "seconds", ""):
        table.add_column(col, justify="right")
    best = rows[best_i]
    for r in _sorted(rows):
        ok = r["status"] == "ok"
        table.add_row(_rate(r["learning_rate"]), f"{r['alpha']:g}",
                      f"{r['val_accuracy']:.4f}" if ok else "-",
                      f"{r['train_accuracy']:.4f}" if ok else "-", f"{r['seconds']:.2f}",
                      "[bold green]best[/]" if r is best else ("" if ok else "[red]diverged[/]"))
    console.print(table)
