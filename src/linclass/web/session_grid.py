"""The image view's grid: learning rates x alphas trained at once as stacked heads.

A grid of ``len(alpha) x len(lr)`` settings (at most :data:`MAX_GRID_SIDE` of each) trains
as the stacked heads of :mod:`linclass.training.heads`: every mini-batch is read and
multiplied once for all of them, each head takes its own step with its own learning rate
and penalty, and a head that diverges is dropped with its reason while the others train
on. As the image view steps its one model a chunk per request, the grid steps **one epoch
per request** (:meth:`GridRun.step`), so the page can draw the heat map filling in
between epochs without the server holding a long job.

The steps are those of :func:`linclass.training.sweep.fit_heads` without a tolerance stop:
the same :class:`~linclass.training.runner.Runner` over a
:class:`~linclass.training.heads.HeadsStep`, the same start, the same batch order from one
seed (:func:`linclass.training.setup.rngs`), the optimizer at rate 1 with each head's rate
folded into its gradient, and after each epoch every head scored on the validation rows
(``tests/test_playground_grid.py`` holds each epoch's scores equal to ``fit_heads``'s).

The rows are the image view's features (pixels in [0, 1] minus the training mean image)
of the training images, split as ``linclass search`` splits them with its defaults
(``--seed 0``, ``--val-fraction 0.1``; Fashion-MNIST limited as ``--limit``
:data:`GRID_ROWS`): the test images are never used to choose a setting.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from linclass.backends.registry import load
from linclass.data import stratified_split
from linclass.estimators.cv import check_grid, heads_refusal
from linclass.model import Params, init_params
from linclass.optim import GradientOptimizer
from linclass.options import PARAMS, choice
from linclass.training import BatchSampler, Parts, Runner, TrainingDivergedError
from linclass.training.heads import Heads, HeadsStep
from linclass.training.setup import make_optimizer, match_dtype, rngs
from linclass.web.config import FIELDS, loss_kwargs
from linclass.web.session_image import ImageSession, load_image_data

#: The most learning rates, and the most alphas, a grid takes (a 4 x 4 grid: 16 heads).
MAX_GRID_SIDE = 4
#: The most epochs a grid runs (one per request), and how many it runs when not told.
MAX_GRID_EPOCHS = 50
DEFAULT_GRID_EPOCHS = 10
#: The most training images a grid reads (Fashion-MNIST's 60,000 are cut to this, every
#: class in proportion), and the most mini-batch steps one epoch (one request) may take:
#: together they bound a request's work at ``MAX_GRID_STEPS x 16`` heads' batches.
GRID_ROWS = 5000
MAX_GRID_STEPS = 1000
#: ``linclass search``'s defaults: the share of the images held out, and the split's seed.
VAL_FRACTION = 0.1
SPLIT_SEED = 0


@dataclass(frozen=True)
class GridRows:
    """A dataset's training and validation rows for grids, shared by every session.

    Attributes:
        X, y: ndarray of shape (n, D) and (n,): the rows every head trains on.
        X_val, y_val: ndarray of shape (n_val, D) and (n_val,): the rows every head is
            scored on after each epoch.
    """

    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray


@functools.lru_cache(maxsize=2)
def grid_rows(dataset: str) -> GridRows:
    """The grid's rows of ``dataset`` (module docstring); cached per process, read-only."""
    from sklearn.model_selection import train_test_split

    data = load_image_data(dataset)
    y_all = data.dataset.y_train
    idx = np.arange(len(y_all))
    if len(idx) > GRID_ROWS:  # as `linclass search --limit GRID_ROWS` draws its images
        idx, _ = train_test_split(idx, train_size=GRID_ROWS, stratify=y_all,
                                  random_state=SPLIT_SEED)
        idx.sort()
    train, val = stratified_split(y_all[idx], VAL_FRACTION, SPLIT_SEED)
    rows = GridRows(data.rows("train", idx[train]), y_all[idx[train]],
                    data.rows("train", idx[val]), y_all[idx[val]])
    for a in (rows.X, rows.y, rows.X_val, rows.y_val):  # shared: no session writes them
        a.setflags(write=False)
    return rows


def check_axis(values: Any, name: str) -> list[float]:
    """One axis of a grid (``lr`` or ``alpha``) as sorted floats.

    The checks of :func:`linclass.estimators.cv.check_grid` (``LinearClassifierCV``'s
    ``learning_rates=`` and ``alphas=``: non-empty, finite, ``> 0`` for a rate and ``>= 0``
    for an alpha, no repeats), each value within its control's range, and at most
    :data:`MAX_GRID_SIDE` values. Sorted, as ``linclass search`` sorts ``--lr`` and
    ``--alpha``.

    Raises:
        ValueError: Naming ``name`` (and the entry, for a value that is not a number).
    """
    if not isinstance(values, list):
        raise ValueError(f"{name} must be a list of numbers, got {_shown(values)}")
    if len(values) > MAX_GRID_SIDE:  # before any other work on a long list
        raise ValueError(f"{name} holds {len(values)} values; a grid takes at most "
                         f"{MAX_GRID_SIDE} (at most {MAX_GRID_SIDE} x {MAX_GRID_SIDE} "
                         "settings)")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"{name}[{i}] must be a number, got {_shown(v)}")
        if isinstance(v, int) and not -1e308 < v < 1e308:  # exact: float() would overflow
            raise ValueError(f"{name}[{i}] must be a finite number, got {len(str(abs(v)))} "
                             "digits")
    grid = check_grid(values, name, positive=name == "lr", optional=False)
    record = PARAMS["learning_rate" if name == "lr" else "alpha"]
    for v in grid:
        try:
            record.check(v)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
    return sorted(grid)


def _shown(value: Any) -> str:
    """A JSON value as the page sent it, cut to 40 characters (for messages)."""
    return json.dumps(value)[:40]


class GridRun:
    """One grid of settings, trained as stacked heads an epoch at a time.

    Head ``h = i * len(lr) + j`` is ``(alpha[i], lr[j])``: rows of the heat map are
    alphas, columns learning rates (``linclass search``'s order: alpha-major).

    Args:
        rows: The training and validation rows (:func:`grid_rows`).
        n_classes: C.
        config: The image view's controls: the loss, penalty, optimizer and its options,
            the batch size, the margin and mix (the grid's ``lr`` and ``alpha`` replace the
            controls' learning rate and alpha).
        lr: Learning rates (checked by :func:`check_axis`).
        alpha: Regularization strengths.
        epochs: Epochs to run, in ``[1, MAX_GRID_EPOCHS]``.
        seed: The start's and the batch order's seed (the session's).

    Raises:
        ValueError: A bad axis or epoch count, an optimizer that cannot train heads (a
            search), an epoch longer than :data:`MAX_GRID_STEPS` steps.
    """

    def __init__(self, rows: GridRows, n_classes: int, config: Mapping[str, Any], lr: Any,
                 alpha: Any, epochs: Any = DEFAULT_GRID_EPOCHS, seed: int = 0) -> None:
        self.lr, self.alpha = check_axis(lr, "lr"), check_axis(alpha, "alpha")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or \
                not 1 <= epochs <= MAX_GRID_EPOCHS:
            raise ValueError(f"epochs must be an integer in [1, {MAX_GRID_EPOCHS}], got "
                             f"{_shown(epochs)}")
        refusal = heads_refusal({"optimizer": config["optimizer"], "gradient": "analytic",
                                 "early_stopping": False})
        if refusal is not None:
            raise ValueError(f"{refusal}; choose one of them to run a grid")
        n = rows.y.shape[0]
        record = choice("optimizer", config["optimizer"])
        full_batch = record.has("full_batch")
        batch = None if full_batch or config["batch_size"] >= n else int(config["batch_size"])
        steps = 1 if batch is None else -(-n // batch)
        if steps > MAX_GRID_STEPS:
            raise ValueError(f"batch_size {batch} makes an epoch of {steps} steps on the "
                             f"grid's {n} images; a grid takes at most {MAX_GRID_STEPS} a "
                             f"request: raise batch_size to at least {-(-n // MAX_GRID_STEPS)}")
        self.config = dict(config)
        self.epochs, self.epoch, self.seed = epochs, 0, seed
        self.rows = rows
        H = len(self.alpha) * len(self.lr)
        self.heads = Heads(config["loss"], config["penalty"],
                           alphas=np.repeat(self.alpha, len(self.lr)),
                           rates=np.tile(self.lr, len(self.alpha)),
                           loss_kwargs={k: v for k, v in loss_kwargs(config).items()
                                        if k == "margin"},
                           l1_ratio=float(config["l1_ratio"]))
        self.start = match_dtype(init_params(rows.X.shape[1], n_classes, random_state=seed),
                                 rows.X, None)
        shuffle_rng, optimizer_rng = rngs(seed)
        owned = {k: config[k] for k in record.params
                 if k in config and k not in ("learning_rate", "schedule")}
        opt, _ = make_optimizer(config["optimizer"], 1.0, owned, optimizer_rng,
                                schedule="constant",
                                steps=lambda full: self.epochs * (1 if full else steps))
        self.step_ = HeadsStep(self.heads)
        source = None if batch is None else load("numpy").MemorySource(
            rows.X, rows.y, BatchSampler(n, batch, shuffle_rng))
        self.runner = Runner(Parts(self.step_, source), opt, rows.X, rows.y)
        self.params: Params = {k: np.repeat(v[None], H, axis=0) for k, v in self.start.items()}
        self.state = cast(GradientOptimizer, opt).init(self.params)
        #: Each finished epoch's validation accuracy of every head, (H,) with NaN dropped.
        self.history: list[np.ndarray] = []

    @property
    def done(self) -> bool:
        """True when every epoch has run, or every head has been dropped."""
        return self.epoch >= self.epochs or not self.step_.alive.any()

    def step(self) -> None:
        """Run one epoch for every head still training, then score each on the validation
        rows (nothing once :attr:`done`)."""
        if self.done:
            return
        self.epoch += 1
        self.step_.epoch = self.epoch  # the epoch a dropped head's reason names
        try:
            self.state = self.runner.run(self.params, self.state, self.epoch)
        except TrainingDivergedError:
            pass  # every head has left; each one's reason is kept
        measured = self.step_.measure(self.params, self.rows.X_val, self.rows.y_val)
        assert measured.held_out is not None
        self.history.append(measured.held_out)

    @property
    def accuracy(self) -> np.ndarray:
        """ndarray of shape (H,): every head's latest validation accuracy (NaN before the
        first epoch and for a dropped head)."""
        H = self.heads.n_heads
        if not self.history:
            return np.full(H, np.nan)
        return np.where(self.step_.alive, self.history[-1], np.nan)

    def best(self) -> int | None:
        """The head of the highest validation accuracy (the first on a tie, as ``linclass
        search`` chooses), or None before any epoch or when every head was dropped."""
        acc = self.accuracy
        if not np.isfinite(acc).any():
            return None
        return int(np.nanargmax(acc))

    def head(self, lr: Any, alpha: Any) -> tuple[int, Params]:
        """The head of setting ``(lr, alpha)`` and its params ``{"W": (C, D), "b": (C,)}``.

        Raises:
            ValueError: A setting not in the grid, one that was dropped, or a grid that has
                not run an epoch yet.
        """
        for name, value, axis in (("lr", lr, self.lr), ("alpha", alpha, self.alpha)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    float(value) not in axis:
                raise ValueError(f"{name} {_shown(value)} is not in the grid; choose one of "
                                 f"{axis}")
        h = self.alpha.index(float(alpha)) * len(self.lr) + self.lr.index(float(lr))
        if not self.history:
            raise ValueError("the grid has not trained yet: run it first")
        why = self.step_.dropped.get(h)
        if why is not None:
            raise ValueError(f"the setting lr {lr:g}, alpha {alpha:g} was dropped: "
                             f"{why.describe()}")
        model = self.step_.model(self.params)
        return h, {k: np.array(model[k][h], dtype=np.float64) for k in ("W", "b")}

    def to_json(self) -> dict[str, Any]:
        """The heat map's numbers as JSON (never NaN: ``null`` where there is none).

        ``accuracy[i][j]`` and ``dropped[i][j]`` (the reason, or null) are of
        ``(alpha[i], lr[j])``; ``history`` holds each epoch's accuracies the same way.
        """
        shape = (len(self.alpha), len(self.lr))

        def cells(values: np.ndarray) -> list[list[float | None]]:
            return [[None if not math.isfinite(v) else float(v) for v in row]
                    for row in np.asarray(values, dtype=np.float64).reshape(shape)]

        dropped: list[str | None] = [None] * self.heads.n_heads
        for h, why in self.step_.dropped.items():
            dropped[h] = why.describe()
        best = self.best()
        return {
            "lr": self.lr, "alpha": self.alpha,
            "epoch": self.epoch, "epochs": self.epochs, "done": self.done,
            "accuracy": cells(self.accuracy),
            "history": [cells(a) for a in self.history],
            "dropped": [dropped[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])],
            "best": None if best is None else {
                "alpha_index": best // shape[1], "lr_index": best % shape[1],
                "lr": self.lr[best % shape[1]], "alpha": self.alpha[best // shape[1]],
                "accuracy": float(self.accuracy[best])},
            "config": {k: self.config[k] for k in ("loss", "penalty", "optimizer",
                                                   "batch_size")},
            "rows": int(self.rows.y.shape[0]), "val_rows": int(self.rows.y_val.shape[0]),
            "seconds": self.runner.seconds,
        }


def start_grid(session: ImageSession, lr: Any, alpha: Any,
               epochs: Any = DEFAULT_GRID_EPOCHS) -> GridRun:
    """A new grid for the image ``session`` (replacing its last one), from its controls,
    dataset and seed; checked whole before the old grid is let go."""
    grid = GridRun(grid_rows(session.dataset), session.data.dataset.n_classes,
                   session.config, lr, alpha, epochs, session.seed)
    session.grid = grid
    return grid


def session_grid(session: ImageSession) -> GridRun:
    """The image ``session``'s grid; ValueError when it has none."""
    if session.grid is None:
        raise ValueError("this session has no grid yet: start one (POST .../grid with lr "
                         "and alpha)")
    return cast(GridRun, session.grid)


def load_head(session: ImageSession, lr: Any, alpha: Any) -> None:
    """Make the grid's head ``(lr, alpha)`` the image session's model, with the grid's
    controls and that learning rate and alpha (the templates, gallery and curves then
    show it, and Step/Run train on from it)."""
    grid = session_grid(session)
    _, params = grid.head(lr, alpha)
    changes = {**{k: grid.config[k] for k in FIELDS}, "learning_rate": float(lr),
               "alpha": float(alpha)}
    session.adopt(params, changes, n_steps=grid.runner.n_steps, epoch=grid.epoch)
