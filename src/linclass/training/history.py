"""What a training run reports: its history, its result, and the error when it diverges.

:func:`linclass.training.fit` fills a :class:`History` as it goes and returns a
:class:`FitResult`; a loss or weight that becomes NaN/inf stops it with
:class:`TrainingDivergedError`, which names the learning rate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from linclass.model import Params


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or inf, or climbed far above its start: the step is too large.

    Attributes:
        loss: The loss that stopped the run (NaN when the parameters overflowed first).
        learning_rate: Rate of the latest update (None for derivative-free optimizers and
            solvers).
        epoch: 1-based epoch in which it happened.
        step: 0-based optimizer step (over the whole run) at which it was detected.
        start_loss: The run's first loss, when the rise from it was the sign.
        option: The parameter to lower, by its Python name (a face shows its own spelling:
            :meth:`describe`).
    """

    def __init__(self, loss: float, *, learning_rate: float | None, epoch: int, step: int,
                 start_loss: float | None = None, option: str = "learning_rate") -> None:
        self.loss, self.learning_rate, self.epoch, self.step = loss, learning_rate, epoch, step
        self.start_loss, self.option = start_loss, option
        super().__init__(self.describe() + "; no model was kept")

    def describe(self, spell: Mapping[str, str] | None = None) -> str:
        """The message, naming the option as ``spell`` writes it (``{"learning_rate":
        "--lr"}`` for the CLI); the Python name by default."""
        option = (spell or {}).get(self.option, self.option)
        finite = self.loss == self.loss and abs(self.loss) != float("inf")
        what = (f"the loss rose to {self.loss:.4g} from {self.start_loss:.4g}"
                if finite and self.start_loss is not None else f"the loss became {self.loss}")
        if self.learning_rate is None:
            advice = ("scale the features, or raise the regularization strength "
                      f"{(spell or {}).get('alpha', 'alpha')}")
        else:
            advice = f"lower {option} (it was {self.learning_rate:.4g})"
        return f"training diverged: {what} at epoch {self.epoch}, step {self.step}; {advice}"


@dataclass
class History:
    """What happened during training. ``step_loss`` has one entry per optimizer step; every
    other list has one entry per evaluated epoch.

    Attributes:
        step_loss: Loss of the batch at each step, before its update (for search methods:
            the best loss so far).
        epoch: 1-based epoch number of each evaluation.
        train_loss: Objective on the full training set at the end of the epoch; for a
            gradient run with ``full_eval_every != 1``, the mean of the epoch's batch
            losses (each before its update: a little above the end-of-epoch objective,
            what ``SGDClassifier`` reports; for full-batch ``gd``, the objective where the
            previous epoch ended), which the tolerance stop reads.
        train_accuracy: Accuracy on the full training set (NaN on rows without a full
            pass: :func:`~linclass.training.fit`'s ``full_eval_every``).
        full_train_loss: Objective on the full training set where a full pass measured
            it (every row by default; the last row always), NaN elsewhere.
        val_loss: Objective on the validation set (NaN without one).
        val_accuracy: Accuracy on the validation set (NaN without one).
        learning_rate: Rate of the epoch's last update (NaN for search methods).
        wall_time: Seconds spent in optimizer steps so far (evaluations excluded).
        eval_time: Seconds spent in the rows' measurements so far (training and
            validation passes): the evaluation's cost, apart from ``wall_time``.
        n_loss_evals: Calls to the objective so far (a full-set ``f`` counts as one).
        n_samples: Rows passed through the objective so far; ``n_samples / N`` is the
            number of full-data loss evaluations, the fair unit across batch sizes.
    """

    step_loss: list[float] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    full_train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    eval_time: list[float] = field(default_factory=list)
    n_loss_evals: list[int] = field(default_factory=list)
    n_samples: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, list]:
        """All lists by field name (JSON-ready apart from NaN)."""
        return asdict(self)

    def to_records(self) -> list[dict[str, float]]:
        """One dict per evaluated epoch (every field but ``step_loss``), for CSV or JSON
        lines."""
        columns = {k: v for k, v in self.to_dict().items() if k != "step_loss"}
        return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


class FitResult(NamedTuple):
    """What :func:`fit` returns.

    Attributes:
        params: The trained ``{"W", "b"}`` (with early stopping: those of ``best_epoch``).
        history: The :class:`History`.
        n_iter: Epochs run.
        best_epoch: Epoch of the best monitored value (validation metric under early
            stopping, training loss otherwise).
        stopped_reason: ``"max_epochs"``, ``"early_stopping"``, ``"converged"`` or
            ``"callback"``.
        state: The optimizer state, to continue with :func:`partial_fit`.
    """

    params: Params
    history: History
    n_iter: int
    best_epoch: int
    stopped_reason: str
    state: Any


class PartialFitResult(NamedTuple):
    """What :func:`partial_fit` returns: new params, the state to pass to the next call,
    the mean step loss of this pass and the number of steps taken."""

    params: Params
    state: Any
    loss: float
    n_steps: int
