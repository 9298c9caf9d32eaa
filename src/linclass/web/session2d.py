"""State and steps of the 2-D (geometric) view: points in the plane, one hyperplane per class.

Everything numeric goes through the library: scores and the winning class from
:mod:`linclass.model`, the objective and its gradient from :mod:`linclass.objective`, each
point's own loss from :data:`linclass.losses.LOSSES`, the step from :mod:`linclass.optim`
(through :mod:`linclass.web.optimizers`). This module only keeps the state and turns it
into plain JSON-ready numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from linclass.losses import LOSSES
from linclass.model import Params, predict, scores
from linclass.objective import value_and_grad
from linclass.regularizers import PENALTIES
from linclass.web.optimizers import OPTIMIZERS, GuardedSteps, is_diverged, make_optimizer
from linclass.web.presets import PRESETS, VIEW
from linclass.web.validation import check_training_config, updated_config

MAX_POINTS = 500
MAX_CLASSES = 4  # colours and marker shapes the page can tell apart
MAX_STEPS_PER_CALL = 500
HISTORY_LENGTH = 1000
REGION_GRID = 200  # cells per side of the "winning class" picture behind the points
MARGIN_LOSSES = ("svm", "ova_hinge")  # the losses that take a margin


@dataclass(frozen=True)
class Config2D:
    """The controls of the 2-D view (the CS231n demo's defaults)."""

    loss: str = "svm"
    margin: float = 1.0
    penalty: str = "l2"
    alpha: float = 0.1
    optimizer: str = "sgd"
    learning_rate: float = 0.1

    def check(self) -> Config2D:
        """Raise ValueError on an unknown name or an out-of-range number; return self."""
        check_training_config(self, sorted(LOSSES))
        return self

    def loss_kwargs(self) -> dict[str, float]:
        """Keyword arguments for the loss (the margin only where the loss has one)."""
        return {"margin": self.margin} if self.loss in MARGIN_LOSSES else {}


class Session2D(GuardedSteps):
    """One learner's 2-D playground: points, parameters, controls, history.

    Not thread-safe by itself; the web app holds a lock per session around every call.
    """

    RECOVERY = "Lower it, or press reset."  # the 2-D page's button

    def __init__(self, preset: str = "three_blobs", seed: int = 0) -> None:
        self.config = Config2D()
        self.reset(preset, seed)

    # --- changing the state -------------------------------------------------------------

    def reset(self, preset: str | None = None, seed: int | None = None) -> None:
        """Bring back a preset's points and starting parameters; clear the history."""
        preset = self.preset if preset is None else preset
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        self.preset = preset
        self.seed = getattr(self, "seed", 0) if seed is None else seed
        p = PRESETS[preset](self.seed)
        self.description = p.description
        self.n_classes = p.n_classes
        self.X, self.y = p.X.astype(np.float64), p.y.astype(np.int64)
        self.params = {k: v.astype(np.float64).copy() for k, v in p.params.items()}
        self.n_steps = 0
        self.history: list[dict[str, float]] = []
        self._restart_optimizer()

    def configure(self, **changes: Any) -> None:
        """Change some controls (loss, margin, penalty, alpha, optimizer, learning_rate)."""
        self.config = updated_config(self.config, changes)
        self._restart_optimizer()

    def set_points(self, X: np.ndarray, y: np.ndarray) -> None:
        """Replace all points (the page adds, moves and deletes by sending the new list).

        Args:
            X: ndarray of shape (n_points, 2), finite.
            y: ndarray of shape (n_points,), integer labels in ``[0, n_classes)``.
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if X.size == 0:
            X = X.reshape(0, 2)
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"points must be [x, y] pairs, got an array of shape {X.shape}")
        if X.shape[0] > MAX_POINTS:
            raise ValueError(f"at most {MAX_POINTS} points, got {X.shape[0]}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"got {X.shape[0]} points but {y.shape[0]} labels")
        if not np.all(np.isfinite(X)) or np.abs(X).max(initial=0) > 100:
            raise ValueError("point coordinates must be finite numbers in [-100, 100]")
        if y.size and (y.min() < 0 or y.max() >= self.n_classes):
            raise ValueError(f"labels must lie in [0, {self.n_classes - 1}]")
        self.X, self.y = X, y.astype(np.int64)
        if not self.diverged:  # "add some points first" is answered; divergence is not
            self.message = None

    def set_params(self, W: np.ndarray, b: np.ndarray) -> None:
        """Set the weights by hand (the page's editable W and b); the loss follows at once."""
        W = np.asarray(W, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if W.shape != (self.n_classes, 2) or b.shape != (self.n_classes,):
            raise ValueError(
                f"W must have shape ({self.n_classes}, 2) and b ({self.n_classes},), "
                f"got {W.shape} and {b.shape}")
        if is_diverged(0.0, {"W": W, "b": b}):
            raise ValueError("weights must be finite numbers no larger than 1e6 in size")
        self.params = {"W": W, "b": b}
        self._restart_optimizer()

    def step(self, n: int = 1) -> None:
        """Take ``n`` full-batch gradient steps, stopping before any step that diverges."""
        if not 1 <= n <= MAX_STEPS_PER_CALL:
            raise ValueError(f"steps must lie in [1, {MAX_STEPS_PER_CALL}], got {n}")
        self.message = None
        if self.X.shape[0] == 0:
            self.message = "Add some points first: there is nothing to learn from."
            return
        for _ in range(n):
            value, grads = self._objective()
            if np.isfinite(value):  # the JSON must never carry a NaN
                self._record(value)
            if not self._guarded_update(value, grads):
                return
        self._record(self._objective()[0])
        del self.history[:-HISTORY_LENGTH]

    # --- reading the state --------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the page draws, as JSON-ready lists and floats (never NaN)."""
        S = scores(self.params, self.X) if len(self.X) else np.zeros((0, self.n_classes))
        out: dict[str, Any] = {
            "preset": self.preset,
            "description": self.description,
            "n_classes": self.n_classes,
            "config": asdict(self.config),
            "view": list(VIEW),
            "step": self.n_steps,
            "points": {"X": self.X.tolist(), "y": self.y.tolist()},
            "W": self.params["W"].tolist(),
            "b": self.params["b"].tolist(),
            "scores": S.tolist(),
            "predictions": np.argmax(S, axis=1).tolist() if len(S) else [],
            "regions": self._regions(),
            "history": self.history,
            "diverged": self.diverged,
            "message": self.message,
        }
        if len(self.X):
            value, grads = self._objective()
            out.update(loss=value, accuracy=self._accuracy(),
                       dW=grads["W"].tolist(), db=grads["b"].tolist(),
                       point_losses=self._point_losses(S))
        else:
            zeros = np.zeros_like(self.params["W"])
            out.update(loss=None, accuracy=None, dW=zeros.tolist(),
                       db=np.zeros(self.n_classes).tolist(), point_losses=[])
        return out

    # --- helpers ------------------------------------------------------------------------

    def _restart_optimizer(self) -> None:
        # A new learning rate or optimizer, or hand-edited weights, starts from rest:
        # momentum built up on the old settings would carry the weights somewhere else.
        self._optimizer = make_optimizer(self.config.optimizer, self.config.learning_rate)
        self._opt_state = self._optimizer.init(self.params)
        self.diverged = False
        self.message = None

    def _objective(self) -> tuple[float, Params]:
        c = self.config
        return value_and_grad(self.params, self.X, self.y, c.loss, c.penalty, c.alpha,
                              **c.loss_kwargs())

    def _record(self, value: float) -> None:
        # History entry t is the loss after t steps, so the curve ends where the counter
        # is; an edit since the last step (a dragged point) replaces that step's entry.
        entry = {"step": self.n_steps, "loss": value, "accuracy": self._accuracy()}
        if self.history and self.history[-1]["step"] == self.n_steps:
            self.history[-1] = entry
        else:
            self.history.append(entry)

    def _accuracy(self) -> float:
        return float(np.mean(predict(self.params, self.X) == self.y))

    def _point_losses(self, S: np.ndarray) -> list[float]:
        # L_i of each point alone: the library's loss over a batch of one.
        loss_fn, kwargs = LOSSES[self.config.loss], self.config.loss_kwargs()
        return [loss_fn(S[i:i + 1], self.y[i:i + 1], **kwargs)[0] for i in range(len(S))]

    def _regions(self) -> dict[str, Any]:
        """The winning class at the centre of each cell of a grid over :data:`VIEW`.

        Returns:
            ``{"nx", "ny", "classes"}``; ``classes`` is a string of one digit per cell
            (40,000 cells stay a compact 40 kB while a point is dragged), row-major with
            row 0 at the *top* (largest y), the order in which a canvas stores pixels.
        """
        x0, x1, y0, y1 = VIEW
        g = REGION_GRID
        xs = x0 + (np.arange(g) + 0.5) * (x1 - x0) / g
        ys = y1 - (np.arange(g) + 0.5) * (y1 - y0) / g
        gx, gy = np.meshgrid(xs, ys)
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        winners = predict(self.params, grid).astype(np.uint8) + ord("0")
        return {"nx": g, "ny": g, "classes": winners.tobytes().decode("ascii")}
