"""The one training runner: an optimizer driven over a step and a batch source.

:class:`Runner` is what :func:`linclass.training.fit` and :func:`~linclass.training.
partial_fit` run, on every backend (its :class:`~linclass.training.parts.Parts`), and what
a Dask worker runs on its partition and the playground runs on its points:

* a gradient optimizer takes :meth:`Runner.take` steps: ``(J, grads)`` of a batch from the
  step, the divergence check, the update. Full-batch optimizers (``full_batch`` records)
  take one step on the whole set per epoch; the others one per mini-batch of the source;
* a derivative-free optimizer takes one update per epoch on ``f(params)``, the full-set
  loss;
* a solver (``solver`` records, L-BFGS) runs its own iterations over the step's full-set
  objective (:meth:`Runner.solve`); an epoch is one iteration.

**Divergence.** Inputs were checked, so a non-finite loss, or one :data:`RISE_LIMIT` times
above where the run started, means the step size is too large for the curvature: the
runner raises :class:`~linclass.training.history.TrainingDivergedError` naming the rate.
A step of stacked heads (:mod:`linclass.training.heads`) that offers ``survive(loss,
start)`` drops the heads that rose instead, and the run ends so only when none is left.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from linclass.model import Params
from linclass.optim import GradientOptimizer, Optimizer, SearchOptimizer
from linclass.training.history import TrainingDivergedError
from linclass.training.parts import Parts

#: A training step whose loss exceeds this many times the first step's (or this many times
#: 1, for a start below 1) has diverged: a safe step never climbs that far above its start.
RISE_LIMIT = 100.0

#: ``end_epoch(epoch, params, state) -> stop?``: what the loop does after each epoch.
EndEpoch = Callable[[int, Any, Any], bool]


@runtime_checkable
class Solver(Protocol):
    """An optimizer that runs its own iterations (e.g. :class:`linclass.optim.lbfgs.Lbfgs`)."""

    def minimize(self, fun: Callable[[Params], tuple[float, Params]], params: Params, *,
                 max_iter: int, tol: float | None,
                 callback: Callable[[int, float, Params], bool]) -> Any:
        """Minimize ``fun`` from ``params``; ``callback(iteration, J, params)`` after each
        iteration, True stops. Returns a result with ``params`` and ``n_iter``."""
        ...


def rose(loss: Any, start: Any) -> bool:
    """True when ``loss`` is not finite or :data:`RISE_LIMIT` times above ``start`` (per
    head for an array of K losses: any head)."""
    if isinstance(loss, float) and isinstance(start, float):  # one head: no array made
        return not math.isfinite(loss) or loss > RISE_LIMIT * max(abs(start), 1.0)
    loss, start = np.asarray(loss, dtype=np.float64), np.asarray(start, dtype=np.float64)
    return bool(np.any(~np.isfinite(loss) | (loss > RISE_LIMIT * np.maximum(np.abs(start), 1.0))))


class Runner:
    """One training set's steps: the optimizer over the parts, and the counters.

    Args:
        parts: The backend's step and batch source.
        optimizer: An ``(init, update)`` pair or a :class:`Solver`.
        X: Stored rows (checked), as the step takes them.
        y: Labels or targets, shape (n,).
        losses: The list that receives each step's loss (a history's ``step_loss``).
    """

    def __init__(self, parts: Parts, optimizer: Optimizer | Solver, X: Any, y: Any,
                 losses: list[float] | None = None) -> None:
        self.step, self.source = parts
        self.optimizer, self.X, self.y = optimizer, X, y
        self.search = isinstance(optimizer, SearchOptimizer)
        self.solver = isinstance(optimizer, Solver)
        self.losses: list[float] = [] if losses is None else losses
        self.n_steps = self.n_loss_evals = self.n_samples = 0
        self.seconds = 0.0  # time in steps, evaluations excluded
        self.start_loss: float | None = None  # the first step's loss: the rise is from it

    @property
    def n_rows(self) -> int:
        """N, the rows of the training set."""
        return int(self.y.shape[0])

    def tally(self, n_steps: int = 0, n_loss_evals: int = 0, n_samples: int = 0) -> None:
        """Count work done elsewhere (a Dask partition's local epoch)."""
        self.n_steps += n_steps
        self.n_loss_evals += n_loss_evals
        self.n_samples += n_samples

    def full_loss(self, params: Params) -> float:
        """``f(params)``: the full-set loss value, as the search optimizers need it."""
        self.tally(n_loss_evals=1, n_samples=self.n_rows)
        return self.step.loss(params, self.X, self.y)

    def evaluate(self, params: Params, X: Any, y: Any) -> tuple[float, float]:
        """Objective and accuracy of ``params`` on a whole set (training or validation)."""
        return self.step.evaluate(params, X, y)

    def _value_and_grad(self, params: Any, X: Any, y: Any, rows: Any, epoch: int,
                        state: Any, *, limit: bool = True) -> tuple[float, Params]:
        """``(J, grads)`` of the batch ``rows`` (None: the whole set), checked for
        divergence: a loss that is not finite, or (with ``limit``) one that rose
        :data:`RISE_LIMIT` times above the start."""
        try:
            if rows is None:
                loss, grads = self.step.full(params, X, y)
            else:
                loss, grads = self.step.batch(params, X, y, rows)
        except ValueError:
            if self.step.finite(params):
                raise
            loss = math.nan  # the checked losses reject overflowed scores: divergence
        self.tally(n_loss_evals=1, n_samples=int(y.shape[0] if rows is None else len(rows)))
        if self.start_loss is None:
            self.start_loss = loss
        # Stopping at the rise, not at inf, keeps a useless finite model from ending the
        # fit as "not improving".
        start = self.start_loss if limit else np.inf
        if rose(loss, start):
            # A step of stacked heads drops the heads that rose and trains on with the
            # others (linclass.training.heads); any other step has diverged.
            survive = getattr(self.step, "survive", None)
            kept = None if survive is None else survive(loss, start)
            if kept is None:
                raise self.diverged(loss, state, epoch)
            loss = kept
        return loss, grads

    def take(self, params: Any, state: Any, X: Any, y: Any, rows: Any, epoch: int) -> Any:
        """One gradient step on the batch ``rows`` of ``(X, y)`` (None: all of it); update
        ``params`` in place, record the loss, return the new optimizer state."""
        loss, grads = self._value_and_grad(params, X, y, rows, epoch, state)
        self.losses.append(loss)
        self.n_steps += 1
        assert isinstance(self.optimizer, GradientOptimizer)  # a search takes no step here
        return self.optimizer.update(params, grads, state)[1]

    def update(self, params: Any, state: Any, X: Any = None, y: Any = None, rows: Any = None,
               epoch: int = 1) -> Any:
        """One update of whichever kind the optimizer is: a search's candidate (or
        generation) on ``f(params)``, the full-set loss; or a gradient step on the batch
        ``rows`` of ``(X, y)`` (default: the training set; ``rows=None``: all of it).
        Updates ``params`` in place and returns the new state (what the playground calls
        once per click)."""
        if isinstance(self.optimizer, SearchOptimizer):
            state = self.optimizer.update(params, self.full_loss, state)[1]
            self.n_steps += 1
            self.losses.append(float(state.loss))
            return state
        return self.take(params, state, self.X if X is None else X,
                         self.y if y is None else y, rows, epoch)

    def run(self, params: Any, state: Any, epoch: int) -> Any:
        """One epoch (see the module docstring); updates ``params`` in place and returns
        the new optimizer state."""
        start = time.perf_counter()
        if self.search or self.source is None:  # one update per epoch
            state = self.update(params, state, epoch=epoch)
        else:
            state = self.source.run_epoch(self, params, state, epoch)
        self.seconds += time.perf_counter() - start
        if not self.step.finite(params):
            raise self.diverged(math.nan, state, epoch)
        return state

    def solve(self, params: Params, max_epochs: int, tol: float | None,
              end_epoch: EndEpoch) -> Any:
        """Run the solver from ``params``, calling ``end_epoch`` after each iteration.

        Returns:
            The solver's result (``params``, ``n_iter``, ``stopped_by_callback``, ...).
        """
        assert isinstance(self.optimizer, Solver)
        since = time.perf_counter()

        def objective(p: Params) -> tuple[float, Params]:
            # a line search tries far points on purpose: only a non-finite loss diverged
            return self._value_and_grad(p, self.X, self.y, None, len(self.losses) + 1, None,
                                        limit=False)

        def each_iteration(iteration: int, loss: float, p: Params) -> bool:
            nonlocal since
            self.seconds += time.perf_counter() - since
            self.losses.append(loss)
            self.n_steps += 1
            stop = end_epoch(iteration, p, None)
            since = time.perf_counter()
            return stop

        return self.optimizer.minimize(objective, params, max_iter=max_epochs, tol=tol,
                                       callback=each_iteration)

    def diverged(self, loss: float, state: Any, epoch: int) -> TrainingDivergedError:
        """The error of a run that diverged at ``epoch``, naming the rate of ``state``."""
        rate = getattr(state, "learning_rate", None)  # search and solver states have none
        return TrainingDivergedError(
            float(np.max(loss)) if np.size(loss) else math.nan,
            learning_rate=None if rate is None else float(np.max(rate)), epoch=epoch,
            step=self.n_steps, start_loss=None if self.start_loss is None
            else float(np.max(self.start_loss)))


__all__ = ["RISE_LIMIT", "EndEpoch", "Runner", "Solver", "rose"]
