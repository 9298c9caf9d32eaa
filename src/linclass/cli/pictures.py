"""A trained run's pictures and report, drawn the same way by ``train`` and ``plot``.

The pictures are :mod:`linclass.plots`'s; this module only decides which ones a run gets,
what data each is drawn on, and what the report says about them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from linclass.cli.common import ProbeModel, all_scores, class_names_of, objective_kwargs
from linclass.estimators.image import ImageClassifier
from linclass.io.report import per_class_table, write_report
from linclass.objective import objective_value
from linclass.plots import (
    plot_confusion_matrix,
    plot_history,
    plot_loss_landscape,
    plot_templates,
    save_figure,
)

if TYPE_CHECKING:
    from linclass.cli.common import RunModel

LANDSCAPE_ROWS = 1000  # the 1-D slice evaluates J 51 times; a subset keeps that quick


def templates_note(model: RunModel) -> str | None:
    """Why a run has no templates picture, or None when it has one."""
    if isinstance(model, ProbeModel):
        return ("not drawn: the inputs are embedding vectors, not images, so a row of W "
                "weighs embedding dimensions and has no picture")
    kinds = tuple(model.features_.extractor.kinds)
    if kinds == ("raw",):
        return None
    return (f"not drawn: the features are {'+'.join(kinds)}, not raw pixels, so a row of W "
            "is not an image (train with --features raw to see the templates)")


def units(model: RunModel) -> str:
    """What the model scores, in the plural: ``"images"`` or ``"rows"`` (embeddings)."""
    return "rows" if isinstance(model, ProbeModel) else "images"


def draw_pictures(
    run_dir: Path,
    model: RunModel,
    history: Any,
    landscape_data: tuple[np.ndarray, np.ndarray],
    test_data: tuple[np.ndarray, np.ndarray],
    *,
    force: bool = False,
) -> dict[str, Path]:
    """Write ``templates.png`` (raw pixels only), ``history.png``, ``confusion.png`` and
    ``landscape.png`` into ``run_dir`` (no templates for embeddings: :func:`templates_note`).

    Args:
        run_dir: The run folder.
        model: The trained model.
        history: Its training history (a History or :func:`read_history`'s dict).
        landscape_data: Training images (or rows) and labels for the loss slice (the first
            :data:`LANDSCAPE_ROWS` are used).
        test_data: True and predicted test labels (indices into ``classes_``).
        force: Overwrite existing pictures.

    Returns:
        The written pictures by name, in report order.
    """
    clf, names = model.classifier_, class_names_of(model)
    figures: dict[str, Figure | Axes] = {}
    if isinstance(model, ImageClassifier) and templates_note(model) is None:
        figures["templates"] = plot_templates(clf.coef_, model.image_shape, names)
    figures["history"] = plot_history(history)
    y_true, y_pred = test_data
    ax = plot_confusion_matrix(y_true, y_pred, names)
    ax.set_title(f"Confusion matrix, test set\n({len(y_true)} {units(model)}, "
                 f"accuracy {100 * np.mean(y_true == y_pred):.1f}%)")
    figures["confusion"] = ax
    images, y = landscape_data
    X, y = model.transform(images[:LANDSCAPE_ROWS], progress=False), y[:LANDSCAPE_ROWS]
    objective = objective_kwargs(clf)
    ax = plot_loss_landscape(lambda p: objective_value(p, X, y, **objective),
                             {"W": clf.coef_, "b": clf.intercept_})
    ax.set_title(f"Loss along a random line through W ({len(y)} training {units(model)})")
    figures["landscape"] = ax
    return {name: save_figure(fig, run_dir / f"{name}.png", force=force)
            for name, fig in figures.items()}


def predicted_indices(model: RunModel, X: np.ndarray) -> np.ndarray:
    """``argmax_k s_k`` of feature rows, as indices into ``classes_``."""
    return np.argmax(all_scores(model, X), axis=1)


def evaluate_images(
    model: RunModel, images: Any, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Objective and predicted class indices on raw images, through the fit loop's own
    :func:`linclass.training.evaluate` (a chunk at a time, so a 60k-image split never
    exists as float features all at once; raw pixels on its fast path). When the
    pipeline's feature cache holds the split's features (training put them there), they
    are read once instead of being extracted again chunk by chunk. Embedding rows are
    read from disk a chunk at a time the same way.

    Args:
        model: The trained model.
        images: ndarray of shape (n, *image_shape), or stored rows of embeddings.
        y: ndarray of shape (n,), indices into ``classes_``.

    Returns:
        ``(J, y_pred)``: the objective ``1/N sum_i L_i + R(W)`` and ndarray of shape (n,).
    """
    from linclass.objective import Objective
    from linclass.training import evaluate
    from linclass.training.arrays import float_rows

    clf = model.classifier_
    params = {"W": clf.coef_, "b": clf.intercept_}
    transform: Any
    if isinstance(model, ProbeModel):
        rows, transform = images, float_rows
    elif (features := model.features_).uses_cache:  # the split's features, read from the cache once
        rows, transform = features.transform(images, progress=False), None
    elif features.is_cheap:
        rows, transform = images, features.batch_transform
    else:
        rows, transform = images, lambda chunk: features.transform(chunk, progress=False)
    chunks: list[np.ndarray] = []
    loss, _ = evaluate(params, rows, np.asarray(y), Objective(**objective_kwargs(clf)),
                       transform, predictions=chunks)
    return loss, np.concatenate(chunks) if chunks else np.empty(0, dtype=np.intp)


def describe_optimizer(settings: dict[str, Any]) -> str:
    """``"momentum (analytic gradient), learning_rate 0.1, schedule cosine, ..."``: the
    optimizer and the settings of its own that the run used."""
    from linclass.options import choice

    name = settings["optimizer"]
    head = name + (f" ({settings['gradient']} gradient)" if "gradient" in settings else "")
    own = [f"{k} {settings[k]:g}" if isinstance(settings[k], float) else f"{k} {settings[k]}"
           for k in choice("optimizer", name).params if k in settings]
    return ", ".join([head, *own])


def write_run_report(
    run_dir: Path,
    metrics: dict[str, Any],
    model: RunModel,
    test_data: tuple[np.ndarray, np.ndarray],
    pictures: dict[str, Path],
    *,
    force: bool = False,
) -> tuple[Path, Path]:
    """``report.html`` (self-contained) and ``report.md`` for a trained run."""
    hp = metrics.get("settings") or metrics["hyperparameters"]  # runs written before 0.2
    summary: dict[str, Any] = {
        "dataset": metrics["data"]["dataset"],
        f"{units(model)} (train / val / test)": f"{metrics['n_train']} / {metrics['n_val']} "
                                                f"/ {metrics['n_test']}",
    }
    if isinstance(model, ProbeModel):
        summary["features"] = f"embeddings, {metrics['n_features']} per row (a linear probe)"
    else:
        summary["image shape"] = "x".join(str(s) for s in metrics["image_shape"])
        summary["features"] = (metrics["features"]
                               + (", standardized" if metrics["standardize"] else ""))
    summary |= {
        "loss": hp["loss"],
        "penalty": f"{hp['penalty']}, alpha={hp['alpha']:g}",
        "optimizer": describe_optimizer(hp),
        "epochs": f"{metrics['epochs_run']} of {hp['max_epochs']}"
                  + (" (early stopping)" if hp["early_stopping"] else ""),
        "seed": metrics["data"]["seed"],
        "train accuracy": metrics["train_accuracy"],
        "val accuracy": metrics["val_accuracy"],
        "test accuracy": metrics["test_accuracy"],
        "training time": metrics["fit_seconds"],
        "model file": "model.safetensors",
    }
    note = templates_note(model)
    if note:
        summary["templates"] = note
    y_true, y_pred = test_data
    tables = {"per-class results on the test set":
              per_class_table(y_true, y_pred, class_names_of(model))}
    title = f"{metrics['data']['dataset']}: {hp['loss']} linear classifier ({run_dir.name})"
    return write_report(run_dir, title=title, summary=summary, tables=tables,
                        figures=pictures, force=force)
