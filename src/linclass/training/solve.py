"""Optimizers that run their own loop (records tagged ``"solver"``), behind
:func:`linclass.training.fit`.

A solver is not an ``(init, update)`` pair: SciPy's L-BFGS decides when to evaluate the
objective (its line search may take several evaluations per iteration). So an *epoch*
here is one L-BFGS iteration; the history gets one row per ``eval_every`` iterations (and
the last), with the full-set loss and accuracy measured outside ``wall_time`` as in the
mini-batch loop, and ``n_loss_evals`` counting the full passes the solver asked for.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from linclass.grad import ValueAndGrad
from linclass.model import Params
from linclass.optim.lbfgs import minimize_lbfgs
from linclass.training.arrays import is_dask
from linclass.training.full_pass import CHUNK_ROWS, FullPass, Transform, ValueFn
from linclass.training.history import FitResult, History, TrainingDivergedError
from linclass.training.reparam import Reparam

Callback = Callable[[int, History, Params], "bool | None"]


def _full_pass(X, y, value_and_grad, value, transform, chunk_rows):
    """The whole-set pass: on the workers for a Dask array, else chunk by chunk here."""
    if is_dask(X):
        from linclass.backends.dask import DaskPass

        return DaskPass(X, y, value_and_grad, value, transform)
    return FullPass(X, y, value_and_grad, value, transform, chunk_rows)


class ScaledPass:
    """A whole-set pass in the coordinates of a :class:`~linclass.training.reparam.Reparam`:
    the solver sees ``c J`` and its gradient in ``(W~, b~)``; :meth:`evaluate` reports the
    model's own ``J``."""

    def __init__(self, inner: Any, reparam: Reparam) -> None:
        self.inner, self.reparam = inner, reparam

    @property
    def n_samples(self) -> int:
        return int(self.inner.n_samples)

    def __call__(self, theta: Params) -> tuple[float, Params]:
        loss, grads = self.inner(self.reparam.to_model(theta))
        return self.reparam.loss_scale * loss, self.reparam.grads_to_theta(grads)

    def evaluate(self, theta: Params) -> tuple[float, float]:
        return self.inner.evaluate(self.reparam.to_model(theta))


def fit_solver(
    name: str,
    params: Params,
    X: Any,
    y: np.ndarray,
    *,
    value_and_grad: ValueAndGrad | None,
    value: ValueFn | None,
    learning_rate: Any = None,
    schedule: str = "constant",
    optimizer_kwargs: Mapping[str, Any] | None = None,
    max_epochs: int,
    tol: float | None,
    X_val: Any = None,
    y_val: np.ndarray | None = None,
    early_stopping: bool = False,
    eval_every: int = 1,
    transform: Transform | None = None,
    progress: bool | None = None,
    callback: Callback | None = None,
    chunk_rows: int = CHUNK_ROWS,
    reparam: Reparam | None = None,
) -> FitResult:
    """Fit ``params`` by the solver ``name`` (``"lbfgs"``), a chunk of rows at a time.

    Args:
        name: The solver's record name.
        params: Starting ``{"W": (n_classes, n_features), "b": (n_classes,)}`` (not
            modified), in the dtype the objective computes in (float32 for float32 data).
        X: Array-like of shape (n_samples, ...), sliced a chunk at a time (see
            :class:`~linclass.training.full_pass.FullPass`).
        y: ndarray of shape (n_samples,), labels in ``[0, n_classes)``.
        value_and_grad: ``(params, X, y) -> (J, grads)``, any gradient method.
        value: ``(params, X, y) -> J`` for evaluation; defaults to ``value_and_grad``'s.
        learning_rate, schedule, early_stopping: :func:`linclass.training.fit`'s; a solver
            takes none of them (it searches its own step and stops at ``tol``), so they
            must be left at None, ``"constant"`` and False.
        optimizer_kwargs: The solver's own options (``memory``: L-BFGS pairs kept).
        max_epochs: Most iterations.
        tol: Gradient tolerance ``max_i |g_i| <= tol`` (None: run the budget).
        X_val, y_val: Optional validation set, evaluated with the training set.
        eval_every: Evaluate every this many iterations, and at the end.
        transform: Optional ``transform(rows) -> features`` per chunk.
        progress: Progress bar as in :func:`linclass.training.fit`.
        callback: ``callback(iteration, history, params)`` after each iteration; True stops.
        chunk_rows: Rows per chunk.
        reparam: Solve in standardized coordinates (as :func:`linclass.training.fit`).

    Returns:
        A :class:`~linclass.training.history.FitResult` whose ``state`` is SciPy's
        ``OptimizeResult`` and ``stopped_reason`` ``"converged"``, ``"max_epochs"`` or
        ``"callback"``.

    Raises:
        ValueError: No ``value_and_grad``, a learning rate, schedule or early stopping, an
            unknown solver option, or NaN/inf in a chunk (naming its rows).
        TrainingDivergedError: The objective became NaN or inf.
    """
    # The loop's progress bar, and its one-BLAS-thread guard: a chunk's products are as
    # small as a mini-batch's, and spinning BLAS workers slow them down on a busy machine.
    from linclass.training.progress import progress_bar
    from linclass.training.threads import one_blas_thread

    if name != "lbfgs":
        raise ValueError(f"optimizer {name!r} is not a solver; the solvers are: lbfgs")
    if value_and_grad is None:
        raise ValueError(f"optimizer {name!r} needs value_and_grad=")
    if learning_rate is not None or schedule != "constant":
        raise ValueError(f"optimizer {name!r} takes no learning rate or schedule (it "
                         "searches its own step)")
    if early_stopping:
        raise ValueError(f"early_stopping does not apply to optimizer {name!r}: it stops at "
                         "its gradient tolerance tol")
    kwargs = dict(optimizer_kwargs or {})
    unknown = set(kwargs) - {"memory"}
    if unknown:
        raise ValueError(f"optimizer {name!r} takes no option(s) {sorted(unknown)}")
    if value is None:
        def value(p: Params, X_c: np.ndarray, y_c: np.ndarray) -> float:
            return value_and_grad(p, X_c, y_c)[0]

    train = _full_pass(X, y, value_and_grad, value, transform, chunk_rows)
    val = None if X_val is None else _full_pass(X_val, y_val, None, value, transform, chunk_rows)
    if reparam is not None:
        train, val = ScaledPass(train, reparam), val and ScaledPass(val, reparam)
    history = History()
    clock = {"solver": 0.0, "since": time.perf_counter(), "evals": 0}

    def objective(p: Params) -> tuple[float, Params]:
        clock["evals"] += 1
        loss, grads = train(p)
        if not math.isfinite(loss):
            raise TrainingDivergedError(loss, learning_rate=None, epoch=len(history.step_loss) + 1,
                                        step=int(clock["evals"]))
        return loss, grads

    def record(iteration: int, p: Params) -> None:
        clock["solver"] += time.perf_counter() - clock["since"]
        train_loss, train_acc = train.evaluate(p)
        val_loss, val_acc = val.evaluate(p) if val is not None else (math.nan, math.nan)
        row = dict(epoch=iteration, train_loss=train_loss, train_accuracy=train_acc,
                   val_loss=val_loss, val_accuracy=val_acc, learning_rate=math.nan,
                   wall_time=clock["solver"], n_loss_evals=clock["evals"],
                   n_samples=clock["evals"] * train.n_samples)
        for key, item in row.items():
            getattr(history, key).append(item)
        clock["since"] = time.perf_counter()

    with progress_bar(progress, max_epochs) as advance, one_blas_thread():
        def each_iteration(iteration: int, loss: float, p: Params) -> bool:
            history.step_loss.append(loss)
            stop = callback is not None and bool(callback(iteration, history, p))
            if stop or iteration % eval_every == 0 or iteration == max_epochs:
                record(iteration, p)
            advance(iteration, f"loss {loss:.6g}")
            return stop

        result = minimize_lbfgs(objective, params, max_iter=max_epochs, tol=tol,
                                callback=each_iteration, **kwargs)
    if not history.epoch or history.epoch[-1] != result.n_iter:
        record(result.n_iter, result.params)  # converged between evaluations
    reason = ("callback" if result.stopped_by_callback else
              "max_epochs" if result.n_iter >= max_epochs else "converged")
    best_epoch = history.epoch[int(np.argmin(history.train_loss))]
    return FitResult(result.params, history, result.n_iter, best_epoch, reason, result.scipy)
