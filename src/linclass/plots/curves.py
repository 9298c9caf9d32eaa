"""Training curves: loss per step, accuracy per epoch, and learning-rate schedules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from linclass.plots._style import new_axes

HISTORY_KEYS = (
    "step_loss",
    "epoch_train_loss",
    "epoch_val_loss",
    "epoch_train_acc",
    "epoch_val_acc",
    "lr",
)


# The field names of :class:`linclass.training.History` (and of a run's history.jsonl),
# mapped to the keys above.
HISTORY_ALIASES = {
    "train_loss": "epoch_train_loss",
    "val_loss": "epoch_val_loss",
    "train_accuracy": "epoch_train_acc",
    "val_accuracy": "epoch_val_acc",
    "learning_rate": "lr",
}


def history_to_dict(history: Any) -> dict[str, np.ndarray]:
    """Normalise a training history to ``{key: 1-D float array}``, keeping known keys only.

    Accepts a mapping (missing keys are fine) with the keys above or the field names of
    :class:`linclass.training.History`, an object with ``to_dict()`` (the fit loop's History),
    or a plain sequence of per-step losses (what ``gradient_descent`` returns). A series
    that is all NaN (validation without a validation set) counts as missing.
    """
    if hasattr(history, "to_dict"):
        history = history.to_dict()
    if not isinstance(history, Mapping):
        history = {"step_loss": history}
    history = {HISTORY_ALIASES.get(k, k): v for k, v in history.items()}
    out = {}
    for key in HISTORY_KEYS:
        values = history.get(key)
        if values is None or len(values) == 0:
            continue
        values = np.asarray(values, dtype=float).ravel()
        if key != "step_loss" and np.isnan(values).all():
            continue  # e.g. val_loss of a run without a validation set
        out[key] = values
    return out


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (same length as y), to show the trend under minibatch noise."""
    c = np.cumsum(np.insert(y, 0, 0.0))
    idx = np.arange(1, len(y) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def _epochs(h: dict[str, np.ndarray]) -> int:
    return max((len(v) for k, v in h.items() if k.startswith("epoch_")), default=0)


def plot_loss_curve(history: Any, ax: Axes | None = None) -> Axes:
    """Objective per step (raw and smoothed) with per-epoch train/validation loss on top.

    With epoch metrics present the x-axis is in epochs (step i of S per epoch sits at
    ``(i + 1) / S``), so steps and epochs share one axis; otherwise it is in steps.

    Args:
        history: See :func:`history_to_dict`.
        ax: Axes to draw on; a new Figure if None.

    Returns:
        The Axes.
    """
    h = history_to_dict(history)
    ax = new_axes(ax, (6.0, 4.0))
    n_epochs = _epochs(h)
    steps = h.get("step_loss")
    if steps is not None:
        x = np.arange(1, len(steps) + 1, dtype=float)
        if n_epochs:
            x *= n_epochs / len(steps)
        # Minibatch losses zig-zag (the slope changes sign often); full-batch descent does
        # not, and smoothing a smooth curve would only make it lag.
        slope_flips = np.mean(np.diff(np.sign(np.diff(steps))) != 0) if len(steps) > 2 else 0
        noisy = len(steps) > 20 and slope_flips > 0.2
        if noisy:
            ax.plot(x, steps, color="C0", alpha=0.25, lw=0.8, label="loss per step")
            window = max(len(steps) // 50, 5)
            ax.plot(x, _smooth(steps, window), color="C0", lw=2, label=f"mean of {window} steps")
        else:
            ax.plot(x, steps, color="C0", lw=2, label="loss per step")
    for key, color, label in (
        ("epoch_train_loss", "C0", "train loss (epoch)"),
        ("epoch_val_loss", "C1", "validation loss (epoch)"),
    ):
        if key in h:
            e = np.arange(1, len(h[key]) + 1)
            ax.plot(e, h[key], "o-" if len(e) <= 30 else "-", color=color, ms=4, label=label)
    ax.set_xlabel("epoch" if n_epochs else "step")
    ax.set_ylabel("objective J(W)")
    ax.set_title("Loss")
    ax.grid(alpha=0.3)
    if ax.has_data():
        ax.legend(frameon=False)
    else:
        ax.text(0.5, 0.5, "no loss recorded", ha="center", va="center", transform=ax.transAxes)
    return ax


def plot_accuracy_curve(history: Any, ax: Axes | None = None) -> Axes:
    """Train and validation accuracy per epoch; the gap between them shows overfitting.

    Returns:
        The Axes.
    """
    h = history_to_dict(history)
    ax = new_axes(ax, (6.0, 4.0))
    shown = []
    for key, color, label in (
        ("epoch_train_acc", "C0", "train"),
        ("epoch_val_acc", "C1", "validation"),
    ):
        if key in h:
            # a mini-batch fit measures the training set at its end only (NaN between)
            measured = np.isfinite(h[key])
            e = np.arange(1, len(h[key]) + 1)[measured]
            values = 100 * h[key][measured]
            ax.plot(e, values, "o-" if len(e) <= 30 else "-", color=color, ms=4,
                    label=f"{label} (last {values[-1]:.1f}%)")
            shown.append(values)
    if shown:
        # Show at least 10 points of accuracy: autoscaling would blow a one-example
        # change (98.0% -> 98.7%) up to full height, and its margins can pass 100%.
        lo, hi = float(np.min(np.concatenate(shown))), float(np.max(np.concatenate(shown)))
        pad = 0.05 * max(hi - lo, 10.0)
        ax.set_ylim(max(min(lo, hi - 10.0) - pad, 0.0), min(hi + pad, 100.5))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy")
    ax.grid(alpha=0.3)
    if ax.has_data():
        ax.legend(frameon=False, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no accuracy recorded", ha="center", va="center",
                transform=ax.transAxes)
    return ax


def plot_history(history: Any, fig: Figure | None = None) -> Figure:
    """Loss and accuracy side by side, plus the learning rate if it changed during training.

    Args:
        history: A mapping with any of ``step_loss``, ``epoch_train_loss``,
            ``epoch_val_loss``, ``epoch_train_acc``, ``epoch_val_acc``, ``lr`` (lists of
            floats), an object with ``to_dict()``, or a plain list of per-step losses.
        fig: Figure to draw on; a new one if None.

    Returns:
        The Figure with one panel per kind of curve present.
    """
    h = history_to_dict(history)
    panels: list[Callable[[Any, Axes], Axes]] = [plot_loss_curve]
    if "epoch_train_acc" in h or "epoch_val_acc" in h:
        panels.append(plot_accuracy_curve)
    lr = h.get("lr")
    if lr is not None and np.ptp(lr) > 0:
        panels.append(_plot_lr_history)
    if fig is None:
        fig = Figure(figsize=(5.2 * len(panels), 3.8), layout="constrained")
    for panel, ax in zip(panels, fig.subplots(1, len(panels), squeeze=False)[0], strict=True):
        panel(h, ax)
    return fig


def _plot_lr_history(h: dict[str, np.ndarray], ax: Axes) -> Axes:
    lr = h["lr"]
    # linclass.training.History records the rate once per epoch (at its last update);
    # a hand-made history may hold one per step.
    per_epoch = len(lr) == _epochs(h) and len(lr) < len(h.get("step_loss", ()))
    x = np.arange(1, len(lr) + 1) if per_epoch else np.arange(len(lr))
    ax.plot(x, lr, "o-" if per_epoch and len(lr) <= 30 else "-", color="C2", lw=2, ms=4)
    return _decorate_lr(ax, lr, "Learning rate used", "epoch" if per_epoch else "step")


def _decorate_lr(ax: Axes, lr: np.ndarray, title: str, xlabel: str = "step") -> Axes:
    positive = lr[lr > 0]
    if positive.size and positive.max() / positive.min() > 100:
        ax.set_yscale("log")  # exponential decay is a straight line on a log axis
    ax.set_xlabel(xlabel)
    ax.set_ylabel("learning rate")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def plot_schedule(
    schedule: Callable[[int], float] | float,
    n_steps: int,
    ax: Axes | None = None,
    *,
    label: str | None = None,
) -> Axes:
    """The learning rate a schedule gives at each step, ``lr = schedule(step)``.

    Call it several times on one ``ax`` with different ``label``s to compare schedules.

    Args:
        schedule: A callable ``schedule(step) -> float`` or a constant learning rate.
        n_steps: Number of steps to draw, ``0 .. n_steps - 1``.
        ax: Axes to draw on; a new Figure if None.
        label: Legend entry for this schedule.

    Returns:
        The Axes.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    steps = np.arange(n_steps)
    if callable(schedule):
        lr = np.array([float(schedule(int(s))) for s in steps])
    else:
        lr = np.full(n_steps, float(schedule))
    ax = new_axes(ax, (6.0, 3.6))
    ax.plot(steps, lr, lw=2, label=label)
    _decorate_lr(ax, lr, "Learning-rate schedule")
    if label is not None:
        ax.legend(frameon=False)
    return ax
