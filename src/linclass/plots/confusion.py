"""Confusion matrix: which classes the classifier mistakes for which."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from linclass.plots._style import class_labels, new_axes


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``M[i, j]`` = number of examples of true class i predicted as class j.

    Returns:
        ndarray of shape (n_classes, n_classes) of integers.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must be equal 1-D")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"{name} must hold class indices in [0, {n_classes - 1}]")
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def plot_confusion_matrix(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str] | None = None,
    normalize: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Confusion matrix with the count in every non-empty cell.

    Rows are the true class, columns the predicted class; the diagonal holds the correct
    predictions. With ``normalize`` the colour is the fraction of each true class (so the
    diagonal reads as per-class recall and a rare class is as visible as a common one); the
    numbers written in the cells are always the raw counts.

    Args:
        y_true: ndarray of shape (n_samples,), integer labels.
        y_pred: ndarray of shape (n_samples,), integer predictions.
        class_names: One name per class; the number of classes is taken from it, or from
            the largest label if None.
        normalize: Colour by row fraction (True) or by count (False).
        ax: Axes to draw on; a new Figure if None.

    Returns:
        The Axes.
    """
    if class_names is not None:
        n_classes = len(class_names)
    else:
        n_classes = int(max(np.max(y_true, initial=0), np.max(y_pred, initial=0))) + 1
    names = class_labels(n_classes, class_names)
    counts = confusion_counts(y_true, y_pred, n_classes)
    row_sums = counts.sum(axis=1, keepdims=True)
    shown = counts / np.maximum(row_sums, 1) if normalize else counts.astype(float)
    vmax = 1.0 if normalize else max(float(shown.max()), 1.0)

    size = 1.6 + 0.55 * n_classes
    ax = new_axes(ax, (size + 1.2, size))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=vmax)
    ax.figure.colorbar(im, ax=ax, shrink=0.8,
                       label="fraction of the true class" if normalize else "count")
    fontsize = 9 if n_classes <= 12 else 7
    for i in range(n_classes):
        for j in range(n_classes):
            if counts[i, j] == 0:
                continue  # blank cells keep the eye on the mistakes that do happen
            dark = shown[i, j] > 0.55 * vmax
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=fontsize,
                    color="white" if dark else "black")
    if max(map(len, names)) > 3:  # long names like "Ankle boot" would overlap upright
        ax.set_xticks(range(n_classes), names, rotation=45, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(range(n_classes), names)
    ax.set_yticks(range(n_classes), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = counts.sum()
    acc = np.trace(counts) / total if total else float("nan")
    ax.set_title(f"Confusion matrix (accuracy {100 * acc:.1f}% of {total})")
    return ax
