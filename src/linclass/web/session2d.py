"""State and steps of the 2-D (geometric) view: points in the plane, one hyperplane per class.

Everything numeric goes through the library: scores and the winning class from
:mod:`linclass.model`, the objective and its gradient from :mod:`linclass.objective`, each
point's own loss from :data:`linclass.losses.LOSSES`, the step from :mod:`linclass.optim`
(through :mod:`linclass.web.optimizers`). This module only keeps the state and turns it
into plain JSON-ready numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from linclass.losses import softmax
from linclass.losses.records import SVM
from linclass.model import Params, predict, scores
from linclass.objective import objective_value, value_and_grad
from linclass.options import PLAIN_SGD, choice, names
from linclass.web.breakdown import loss_parts
from linclass.web.config import (
    MARGIN_LOSSES,
    STEPPED_OPTIMIZERS,
    ViewControls,
    loss_kwargs,
    updated,
)
from linclass.web.landscape import loss_slice
from linclass.web.link import LinkState, encode
from linclass.web.optimizers import GuardedSteps, is_diverged, tried
from linclass.web.presets import SOURCES, VIEW, make
from linclass.web.transforms import EXTRA_FEATURES, check_extras, feature_names, transform

MAX_POINTS = 500
MAX_CLASSES = 4  # colours and marker shapes the page can tell apart
MAX_STEPS_PER_CALL = 500
HISTORY_LENGTH = 1000
REGION_GRID = 400  # cells per side of the "winning class" picture: finer than a screen step
#: Confidence levels of the region picture: enough to read as a smooth fade (the page
#: draws it smoothed), few enough that a row of 400 cells is a few dozen runs.
CONFIDENCE_LEVELS = 8
#: Losses whose scores are a softmax's logits: their confidence is a probability.
PROBABILITY_LOSSES = frozenset(names("loss", "probabilities"))
ALL_FEATURES = feature_names(tuple(EXTRA_FEATURES))  # the widest W row
MAX_TRIED = 30  # candidates / individuals drawn as faint hyperplanes
PATH_LENGTH = 300  # parameter vectors kept for the loss-landscape path
LANDSCAPE_SIZES = (5, 61)  # grid points per side of the landscape

#: The 2-D view's controls: every loss and optimizer of the records; the CS231n demo's
#: defaults; a batch as large as the point limit is the whole set (full-batch steps).
CONTROLS = ViewControls(
    losses=names("loss"), optimizers=STEPPED_OPTIMIZERS, max_batch=MAX_POINTS,
    defaults={"loss": SVM.name, "alpha": 0.1, "optimizer": PLAIN_SGD, "learning_rate": 0.1,
              "batch_size": MAX_POINTS, "search_scale": 1.0, "step_size": 0.2,
              "population_size": 20, "mutation_scale": 0.2, "mutation_rate": 0.3})


class Session2D(GuardedSteps):
    """One learner's 2-D playground: points, parameters, controls, history.

    Not thread-safe by itself; the web app holds a lock per session around every call.
    """

    preset: str  # the preset last reset to
    noise: float  # its jitter
    test_fraction: float  # its held-out share

    RECOVERY = "Lower it, or press reset."  # the 2-D page's button

    def __init__(self, preset: str = "three_blobs", seed: int = 0, noise: float = 0.0,
                 test_fraction: float | None = None) -> None:
        self.config = CONTROLS.initial()
        self.extras: tuple[str, ...] = ()  # extra features beyond x1, x2
        self.reset(preset, seed, noise, test_fraction)

    @classmethod
    def from_link(cls, link: LinkState) -> Session2D:
        """The session a shared link describes (:mod:`linclass.web.link`).

        Each part goes through the same checks as the API request that sets it (the
        preset and its data, the settings, the features, the points, W and b), in that
        order; a ValueError names the first bad one.
        """
        s = cls(link.preset, link.seed, link.noise, link.test_fraction)
        s.configure(**link.config)
        s.set_features(list(link.extras))
        if link.points is not None:
            s.set_points(*link.points)
        if link.W is not None and link.b is not None:
            s.set_params(link.W, link.b)
        return s

    # --- changing the state -------------------------------------------------------------

    def reset(self, preset: str | None = None, seed: int | None = None,
              noise: float | None = None, test_fraction: float | None = None) -> None:
        """Bring back a preset's points and starting parameters; clear the history.

        Another preset starts afresh: its own noise and test fraction unless given, and
        the features x1, x2 alone. The same preset (or None) keeps the noise, the test
        fraction and the features unless given.
        """
        new = preset is not None and preset != getattr(self, "preset", None)
        preset = self.preset if preset is None else preset
        if not new:
            noise = self.noise if noise is None else noise
            test_fraction = self.test_fraction if test_fraction is None else test_fraction
        seed = getattr(self, "seed", 0) if seed is None else seed
        p = make(preset, seed, 0.0 if noise is None else noise, test_fraction)  # checks first
        self.extras = () if new else self.extras
        self.preset, self.seed = preset, seed
        self.noise, self.test_fraction = p.noise, p.test_fraction
        self.default_test_fraction = SOURCES[preset].test_fraction
        self.points_edited = False
        self.description = p.description
        self.n_classes = p.n_classes
        self.X, self.y = p.X.astype(np.float64), p.y.astype(np.int64)
        self.X_test, self.y_test = p.X_test.astype(np.float64), p.y_test.astype(np.int64)
        W = p.params["W"].astype(np.float64)
        self.params = {"W": np.hstack([W, np.zeros((len(W), len(self.extras)))]),
                       "b": p.params["b"].astype(np.float64).copy()}
        self._transform_points()
        self.n_steps = 0
        self.history: list[dict[str, float]] = []
        self._rng = np.random.default_rng(self.seed)  # minibatch draws
        self._tried: list[Params] = []
        self._path: list[np.ndarray] = []
        self._start_optimizer(self.config)

    def configure(self, **changes: Any) -> None:
        """Change some controls (any of :data:`linclass.web.config.FIELDS`).

        The change is checked whole, and the optimizer built, before anything is applied:
        on a ValueError the session is exactly as it was.
        """
        self._start_optimizer(updated(CONTROLS, self.config, changes))
        self._tried = []

    def set_points(self, X: ArrayLike, y: ArrayLike) -> None:
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
        self.points_edited = True  # a link now carries the points themselves
        self._transform_points()
        if not self.diverged:  # "add some points first" is answered; divergence is not
            self.message = None

    def set_params(self, W: np.ndarray, b: np.ndarray) -> None:
        """Set the weights by hand (the page's editable W and b); the loss follows at once."""
        W = np.asarray(W, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        D = self.F.shape[1]
        if W.shape != (self.n_classes, D) or b.shape != (self.n_classes,):
            raise ValueError(
                f"W must have shape ({self.n_classes}, {D}) and b ({self.n_classes},), "
                f"got {W.shape} and {b.shape}")
        if is_diverged(0.0, {"W": W, "b": b}):
            raise ValueError("weights must be finite numbers no larger than 1e6 in size")
        self.params = {"W": W, "b": b}
        self._start_optimizer(self.config)
        self._tried = []

    def set_features(self, extras: list[str]) -> None:
        """Choose the extra features (see :mod:`linclass.web.transforms`).

        ``W`` keeps its columns for the features that stay and starts the new ones at 0, so
        the boundary does not jump; the optimizer starts from rest.
        """
        extras_t = check_extras(extras)
        old = dict(zip(feature_names(self.extras), self.params["W"].T, strict=True))
        zero = np.zeros(self.n_classes)
        W = np.column_stack([old.get(n, zero) for n in feature_names(extras_t)])
        self.extras, self.params = extras_t, {"W": W, "b": self.params["b"]}
        self._transform_points()
        self._start_optimizer(self.config)
        self._tried, self._path = [], []

    def step(self, n: int = 1) -> None:
        """Take ``n`` optimizer steps, stopping before any gradient step that diverges.

        Gradient optimizers step on a minibatch of ``batch_size`` points (``gd``, or a batch
        at least as large as the set: all of them); searches try candidates on all points.
        """
        if not 1 <= n <= MAX_STEPS_PER_CALL:
            raise ValueError(f"steps must lie in [1, {MAX_STEPS_PER_CALL}], got {n}")
        self.message = None
        if self.X.shape[0] == 0:
            self.message = "Add some points first: there is nothing to learn from."
            return
        runner = self._runner(self.F, self.y)
        for _ in range(n):
            value = self._objective()
            if np.isfinite(value):  # the JSON must never carry a NaN
                self._record(value)
            self._path.append(self._flat(self.params))
            if not self._guarded_step(runner, rows=self._batch_rows()):
                return
            if self.searching:
                self._tried = tried(self.config["optimizer"], self._opt_state, self.params,
                                    MAX_TRIED)
        self._record(self._objective())
        del self.history[:-HISTORY_LENGTH]
        del self._path[:-PATH_LENGTH]

    # --- reading the state --------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything the page draws, as JSON-ready lists and floats (never NaN)."""
        S = scores(self.params, self.F) if len(self.X) else np.zeros((0, self.n_classes))
        out: dict[str, Any] = {
            "preset": self.preset,
            "seed": self.seed,
            "noise": self.noise,
            "test_fraction": self.test_fraction,
            "points_edited": self.points_edited,
            "description": self.description,
            "n_classes": self.n_classes,
            "config": dict(self.config),
            "view": list(VIEW),
            "step": self.n_steps,
            "points": {"X": self.X.tolist(), "y": self.y.tolist()},
            "features": feature_names(self.extras),
            "W": self.params["W"].tolist(),
            "b": self.params["b"].tolist(),
            "scores": S.tolist(),
            "predictions": np.argmax(S, axis=1).tolist() if len(S) else [],
            "regions": self._regions(),
            "history": self.history,
            "test_points": {"X": self.X_test.tolist(), "y": self.y_test.tolist()},
            "test_accuracy": (self._accuracy(self.F_test, self.y_test) if len(self.X_test)
                              else None),
            "test_predictions": (predict(self.params, self.F_test).tolist() if len(self.X_test)
                                 else []),
            "tried": [{"W": p["W"].tolist(), "b": p["b"].tolist()} for p in self._tried],
            "diverged": self.diverged,
            "message": self.message,
            "link": encode(self.link_state()),
        }
        out.update(loss_parts(self.params, S, self.y, self.config))
        if len(self.X):
            value, grads = self._gradient(self.F, self.y)
            out.update(loss=value, accuracy=self._accuracy(self.F, self.y),
                       dW=grads["W"].tolist(), db=grads["b"].tolist())
        else:
            zeros = np.zeros_like(self.params["W"])
            out.update(loss=None, accuracy=None, dW=zeros.tolist(),
                       db=np.zeros(self.n_classes).tolist())
        return out

    def link_state(self) -> LinkState:
        """What a link to this view holds: settings only where they differ from the
        defaults, the test fraction only where it differs from the preset's own, the
        points only once edited."""
        start = CONTROLS.initial()
        return LinkState(
            self.preset, self.seed, self.noise,
            None if self.test_fraction == self.default_test_fraction else self.test_fraction,
            {k: v for k, v in self.config.items() if v != start[k]}, self.extras,
            self.params["W"], self.params["b"],
            (self.X, self.y) if self.points_edited else None)

    def landscape(self, n: int) -> dict[str, Any]:
        """The objective over a 2-D slice through the current W and b, with the path that
        led here (see :mod:`linclass.web.landscape`); ``n`` grid points per side."""
        lo, hi = LANDSCAPE_SIZES
        if not lo <= n <= hi:
            raise ValueError(f"n must lie in [{lo}, {hi}], got {n}")
        if not len(self.X):
            raise ValueError("Add some points first: there is no loss to draw.")
        out = loss_slice(lambda theta: self._loss_of(self._unflat(theta)),
                         self._flat(self.params), self._path, n, self.seed)
        out["step"] = self.n_steps
        return out

    # --- helpers ------------------------------------------------------------------------

    def _gradient(self, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        c = self.config
        return value_and_grad(self.params, X, y, c["loss"], c["penalty"], c["alpha"],
                              **loss_kwargs(c))

    def _loss_of(self, params: Params) -> float:
        """The objective at ``params`` on all points: what a search compares."""
        c = self.config
        return objective_value(params, self.F, self.y, c["loss"], c["penalty"], c["alpha"],
                               **loss_kwargs(c))

    def _objective(self) -> float:
        return self._loss_of(self.params)

    def _batch_rows(self) -> np.ndarray | None:
        """The points of the next gradient step: ``batch_size`` drawn without
        replacement, or None for all of them (a full-batch optimizer, a batch at least as
        large as the set, or a search, which scores all points)."""
        n, size = len(self.y), self.config["batch_size"]
        if self.searching or choice("optimizer", self.config["optimizer"]).has("full_batch") \
                or size >= n:
            return None
        return self._rng.choice(n, size, replace=False)

    def _record(self, value: float) -> None:
        # History entry t is the loss after t steps, so the curve ends where the counter
        # is; an edit since the last step (a dragged point) replaces that step's entry.
        entry = {"step": self.n_steps, "loss": value, "accuracy": self._accuracy(self.F, self.y)}
        if self.history and self.history[-1]["step"] == self.n_steps:
            self.history[-1] = entry
        else:
            self.history.append(entry)

    @staticmethod
    def _flat(params: Params) -> np.ndarray:
        return np.concatenate([params["W"].ravel(), params["b"]])

    def _unflat(self, theta: np.ndarray) -> Params:
        C, D = self.params["W"].shape
        return {"W": theta[:C * D].reshape(C, D), "b": theta[C * D:]}

    def _transform_points(self) -> None:
        """The feature rows of the training and test points (what the model sees)."""
        self.F = transform(self.X, self.extras)
        self.F_test = transform(self.X_test, self.extras)

    def _accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(predict(self.params, X) == y))

    def confidence(self, S: np.ndarray) -> np.ndarray:
        """How sure the model is of its winning class, in [0, 1], per row of scores.

        For a loss on a softmax (``softmax``): the winner's probability ``p = max_k
        softmax(s)_k`` rescaled from ``[1/C, 1]``, so 0 is a tie of all classes. For the
        others: the winner's lead over the runner-up ``s_(1) - s_(2)``, as a share of the
        margin Δ (1 for a loss without one) and capped at 1: a multiclass SVM's loss at a
        point of the winning class is zero exactly where this reaches 1.

        Args:
            S: ndarray of shape (n, C), scores.

        Returns:
            ndarray of shape (n,).
        """
        C = S.shape[1]
        if C < 2:
            return np.ones(len(S))
        if self.config["loss"] in PROBABILITY_LOSSES:
            return np.clip((softmax(S).max(axis=1) - 1 / C) / (1 - 1 / C), 0.0, 1.0)
        top2 = np.sort(S, axis=1)[:, -2:]
        scale = self.config["margin"] if self.config["loss"] in MARGIN_LOSSES else 1.0
        return np.minimum((top2[:, 1] - top2[:, 0]) / scale, 1.0)

    def _regions(self) -> dict[str, Any]:
        """The winning class at the centre of each cell of a grid over :data:`VIEW`, and
        how sure the model is of it (:meth:`confidence`).

        Returns:
            ``{"nx", "ny", "levels", "confidence", "runs"}``: the cells row-major, row 0
            at the *top* (largest y, the order in which a canvas stores pixels),
            run-length encoded as a flat ``[class, level, count, ...]``, the level the
            confidence in ``levels`` equal steps (``level = min(floor(levels * c),
            levels - 1)``); ``confidence`` says which measure (``"probability"`` or
            ``"margin"``). 160,000 cells are a few thousand runs.
        """
        x0, x1, y0, y1 = VIEW
        g = REGION_GRID
        xs = x0 + (np.arange(g) + 0.5) * (x1 - x0) / g
        ys = y1 - (np.arange(g) + 0.5) * (y1 - y0) / g
        gx, gy = np.meshgrid(xs, ys)
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        S = scores(self.params, transform(grid, self.extras))
        winners = np.argmax(S, axis=1)
        L = CONFIDENCE_LEVELS
        levels = np.minimum((L * self.confidence(S)).astype(np.int64), L - 1)
        code = winners * L + levels
        starts = np.concatenate([[0], np.flatnonzero(np.diff(code)) + 1])
        counts = np.diff(np.append(starts, code.size))
        runs = np.column_stack([winners[starts], levels[starts], counts]).ravel()
        kind = "probability" if self.config["loss"] in PROBABILITY_LOSSES else "margin"
        return {"nx": g, "ny": g, "levels": L, "confidence": kind, "runs": runs.tolist()}
