"""Training: one fit loop for every way to find W.

The lecture's loop is: evaluate the loss at the current W, take a step, repeat. :func:`fit`
runs it for every optimizer in :mod:`linclass.optim`:

* gradient optimizers (``gd``, ``sgd``, ``momentum``, ``nesterov``): a step calls the
  objective on a batch and hands the gradient to ``update``. ``gd`` uses the whole
  training set as its batch; the others use mini-batches from a
  :class:`~linclass.training.sampler.BatchSampler`;
* derivative-free optimizers (``random_search``, ``random_local_search``, ``genetic``): a
  step calls ``update`` with ``f(params)``, the loss on the whole training set.

**An epoch** is one pass of that loop over the training set: ``ceil(N / batch_size)`` steps
for mini-batch methods and *one* step for full-batch ones (one gradient step for ``gd``,
one candidate for the random searches, one generation for ``genetic``). Every
``eval_every`` epochs (and at the last) the loop measures loss and accuracy on the full
training set and the validation set; these measurements are not counted in ``wall_time``
or ``n_loss_evals``, so that optimizers compare by the work they do.

**The fast path** (``fast=True``, the default) is explicit: the inputs are checked once,
here, and when the objective offers an in-place twin (:class:`linclass.objective.
HasInPlace`, as the analytic :class:`~linclass.objective.Objective` does) every step writes
into buffers made once; raw-pixel preprocessing (:class:`~linclass.training.workspace.
Foldable`) is folded into W and b so a batch is only cast. ``fast=False`` calls the checked
objective on the features every step; both give the same numbers.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import numpy as np

from linclass.backends import resolve_backend, torch_backend
from linclass.model import Params
from linclass.objective import fast_path
from linclass.optim import (
    GradientOptimizer,
    LearningRate,
    Optimizer,
    SearchOptimizer,
)
from linclass.options import choice
from linclass.training.arrays import float_rows, is_dask, is_out_of_core
from linclass.training.history import FitResult, History, PartialFitResult, TrainingDivergedError
from linclass.training.progress import progress_bar
from linclass.training.reparam import Reparam, ScaledStep
from linclass.training.sampler import CHUNK_ROWS, BatchSampler
from linclass.training.setup import (
    check_data,
    check_labels,
    check_objective,
    copy_params,
    labels_fit,
    make_optimizer,
    match_dtype,
    rngs,
)
from linclass.training.step import Step, ValueAndGrad, ValueFn
from linclass.training.threads import one_blas_thread
from linclass.training.workspace import Transform, Workspace, affine_of

Callback = Callable[[int, "History", Params], "bool | None"]

MONITORS = ("val_loss", "val_accuracy")
#: A training step whose loss exceeds this many times the first step's (or this many times
#: 1, for a start below 1) has diverged: a safe step never climbs that far above its start.
RISE_LIMIT = 100.0


class Runner:
    """One training set's steps: the optimizer, the objective, the batch order, the
    counters. Shared by :func:`fit` and :func:`partial_fit`.

    Args:
        X: Stored rows, ndarray of shape (n, ...), checked.
        y: Labels or targets, ndarray of shape (n,).
        optimizer: The ``(init, update)`` pair.
        value_and_grad: Checked objective (None for derivative-free optimizers).
        value: Checked objective value.
        batch_size: Rows per mini-batch, or None for full-batch steps.
        transform: Stored rows -> features, or None.
        rng: Generator of the batch order.
        fast: Use the objective's in-place twin (and fold raw-pixel preprocessing) when
            it has one and the labels suit it.
        params: The starting params (for shapes and dtypes).
        chunk_rows: Rows converted at a time in a pass over the whole set.
        backend: ``"numpy"`` (:class:`~linclass.training.step.Step`) or ``"torch"``
            (:mod:`linclass.backends.torch`): which step and sampler the loop drives.
        device: The torch device (``backend="torch"`` only).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, optimizer: Optimizer,
                 value_and_grad: ValueAndGrad | None, value: ValueFn, batch_size: int | None,
                 transform: Transform | None, rng: np.random.Generator, *, fast: bool,
                 params: Params, chunk_rows: int = CHUNK_ROWS, backend: str = "numpy",
                 device: str = "cpu") -> None:
        self.X, self.y, self.optimizer = X, y, optimizer
        self.search = isinstance(optimizer, SearchOptimizer)
        self.n_steps = self.n_loss_evals = self.n_samples = 0
        self.start_loss: float | None = None  # the first step's loss: the rise is measured from it
        if backend == "torch":  # the one backend hook: its own step and batch order
            self.sampler, self.step = torch_backend().torch_parts(
                X, y, value_and_grad, batch_size, transform, rng, params=params,
                device=device, search=self.search)
        else:
            self.sampler, self.step = self._numpy_parts(value_and_grad, value, batch_size,
                                                        transform, rng, fast, params,
                                                        chunk_rows)

    def _numpy_parts(self, value_and_grad: ValueAndGrad | None, value: ValueFn,
                     batch_size: int | None, transform: Transform | None,
                     rng: np.random.Generator, fast: bool, params: Params, chunk_rows: int
                     ) -> tuple[BatchSampler | None, Step]:
        X, y = self.X, self.y
        n = y.shape[0]
        sampler = (None if batch_size is None or batch_size >= n
                   else BatchSampler(n, batch_size, rng))
        in_place = (None if self.search or not fast or value_and_grad is None
                    else fast_path(value_and_grad))
        if in_place is not None and not labels_fit(y, params["W"].shape[0]):
            in_place = None  # regression targets or odd labels: the checked path says
        affine = None if in_place is None else affine_of(transform, X)
        rows = max(sampler.batch_size if sampler else 0, min(n, chunk_rows))
        work = Workspace(transform, affine, rows)
        if in_place is not None:
            W, b = params["W"], params["b"]
            work.allocate(params, np.result_type(np.float32 if affine else X.dtype,
                                                 W.dtype, b.dtype, 1.0))
        return sampler, Step(work, value_and_grad, value, in_place)

    def _count(self, n_rows: int) -> None:
        self.n_loss_evals += 1
        self.n_samples += n_rows

    def _full_loss(self, params: Params) -> float:
        """``f(params)``: the full-set loss value, as the search optimizers need it."""
        self._count(self.y.shape[0])
        return self.step.loss(params, self.X, self.y)

    def evaluate(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Objective and accuracy of ``params`` on a whole set (training or validation)."""
        return self.step.evaluate(params, X, y)

    def _gradient_step(self, params: Params, state: Any, epoch: int,
                       rows: np.ndarray | None = None) -> tuple[float, Any]:
        """One step on the mini-batch ``rows``, or on the whole set when None."""
        try:
            if rows is None:
                loss, grads = self.step.full(params, self.X, self.y)
            else:
                loss, grads = self.step.batch(params, self.X, self.y, rows)
        except ValueError:
            if self.step.finite(params):
                raise
            loss = math.nan  # the checked losses reject overflowed scores; that is divergence
        self._count(self.y.shape[0] if rows is None else rows.shape[0])
        if self.start_loss is None:
            self.start_loss = loss
        # Inputs were checked: a non-finite loss, or one far above where the run started
        # (a step size too large for the curvature grows the loss geometrically), is
        # divergence. Stopping at the rise, not at inf, keeps a useless finite model from
        # ending the fit as "not improving".
        if not math.isfinite(loss) or loss > RISE_LIMIT * max(abs(self.start_loss), 1.0):
            raise self._diverged(loss, state, epoch)
        self.n_steps += 1
        assert isinstance(self.optimizer, GradientOptimizer)  # a search takes no step here
        return loss, self.optimizer.update(params, grads, state)[1]

    def run(self, params: Params, state: Any, losses: list[float], *, epoch: int) -> Any:
        """One pass: update ``params`` in place, append step losses, return the new state."""
        if isinstance(self.optimizer, SearchOptimizer):  # self.search
            state = self.optimizer.update(params, self._full_loss, state)[1]
            self.n_steps += 1
            losses.append(float(state.loss))
        elif self.sampler is None:
            loss, state = self._gradient_step(params, state, epoch)
            losses.append(loss)
        else:
            small = self.sampler.batch_size <= CHUNK_ROWS  # bigger batches are worth splitting
            with one_blas_thread() if small else contextlib.nullcontext():
                for rows in self.sampler.epoch():
                    loss, state = self._gradient_step(params, state, epoch, rows)
                    losses.append(loss)
        if not self.step.finite(params):
            raise self._diverged(math.nan, state, epoch)
        return state

    def _diverged(self, loss: float, state: Any, epoch: int) -> TrainingDivergedError:
        rate = getattr(state, "learning_rate", None)  # search states have none
        return TrainingDivergedError(loss, learning_rate=None if rate is None else float(rate),
                                     epoch=epoch, step=self.n_steps, start_loss=self.start_loss)


#: The tolerance stop waits until a decaying schedule is down to this fraction of its start.
ANNEALED = 0.1


def annealed(rates: list[float], schedule: str) -> bool:
    """Whether a plateau of the training loss may end the run: always for a constant rate
    (or none), and for a decaying schedule only once it has come down to :data:`ANNEALED`
    of its start. Mini-batch steps at a high rate reach a noise floor, not the minimum:
    stopping there (digits: epoch 77 of 400 with the cosine rate still at 0.091) keeps the
    noise, while the rest of the schedule would have averaged it out."""
    if schedule == "constant" or not rates or not rates[0] > 0:
        return True
    return not rates[-1] > ANNEALED * rates[0]


def _runner_class(X: Any) -> type[Runner]:
    """:class:`Runner`, or for arrays on disk the one that reads windows of chunks
    (:mod:`linclass.training.stream`), or for Dask arrays the one that works on the
    partitions (:mod:`linclass.backends.dask`)."""
    if is_dask(X):
        from linclass.backends.dask import DaskRunner

        return DaskRunner
    if is_out_of_core(X):
        from linclass.training.stream import StreamRunner  # imports this module

        return StreamRunner
    return Runner


# --- the loop -----------------------------------------------------------------------------


def fit(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    *,
    value_and_grad: ValueAndGrad | None = None,
    value: ValueFn | None = None,
    optimizer: str | Optimizer = "sgd",
    learning_rate: LearningRate | None = None,
    schedule: str = "constant",
    optimizer_kwargs: Mapping[str, Any] | None = None,
    batch_size: int | None = 32,
    max_epochs: int = 50,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    early_stopping: bool = False,
    monitor: str = "val_loss",
    patience: int = 5,
    tol: float | None = None,
    eval_every: int = 1,
    random_state: int | np.random.Generator | None = 0,
    transform: Transform | None = None,
    progress: bool | None = None,
    callback: Callback | None = None,
    fast: bool = True,
    chunk_rows: int = CHUNK_ROWS,
    backend: str | None = None,
    device: str = "cpu",
    reparam: Reparam | None = None,
) -> FitResult:
    """Train ``params`` on ``(X, y)`` with any optimizer; see the module docstring for what
    a step and an epoch are.

    Args:
        params: Starting ``{"W": (n_classes, n_features), "b": (n_classes,)}`` (not modified).
        X: ndarray of shape (n_samples, n_features), or any shape ``transform`` accepts
            (e.g. uint8 images of shape (n_samples, 28, 28)); a memory map or a zarr array
            is read a slice of rows at a time (:mod:`linclass.training.stream`), a Dask
            array where its partitions live (:mod:`linclass.backends.dask`).
        y: ndarray of shape (n_samples,), integer labels.
        value_and_grad: ``(params, X, y) -> (loss, grads)``, any gradient method (see
            :func:`linclass.grad.make_value_and_grad`); required by gradient optimizers.
        value: ``(params, X, y) -> loss``; used by search optimizers and for evaluation.
            Defaults to ``value_and_grad``'s value (which wastes its gradient).
        optimizer: A name from :data:`linclass.optim.OPTIMIZERS` or a built pair, or a
            solver (record tagged ``"solver"``: ``"lbfgs"``), which runs its own loop in
            :func:`linclass.training.solve.fit_solver` (``tol``: its gradient tolerance).
        learning_rate: Number or schedule (its step counts updates); None keeps the
            factory's default. Only for gradient optimizers given by name.
        schedule: Name of a schedule (:data:`linclass.optim.SCHEDULES`) that starts at
            ``learning_rate`` and whose decay is fitted to ``max_epochs`` (see
            :func:`linclass.optim.schedule_for_run`); for a number ``learning_rate`` only.
        optimizer_kwargs: Other factory arguments by name, e.g. ``{"mu": 0.95}``.
        batch_size: Rows per mini-batch; None (or >= n_samples) means full batch. Ignored
            by ``gd`` and the search methods, which always use the whole set.
        max_epochs: Most epochs to run.
        X_val: Optional validation features, same layout as ``X``.
        y_val: Validation labels.
        early_stopping: Stop when ``monitor`` has not improved by more than ``tol`` for
            ``patience`` evaluations, and return the params of the best epoch. Needs a
            validation set.
        monitor: ``"val_loss"`` or ``"val_accuracy"``.
        patience: Evaluations without improvement before stopping.
        tol: Least improvement that counts. Without early stopping, a number turns on the
            convergence stop: training loss not lower by ``tol`` for ``patience``
            evaluations. None: no convergence stop (and improvement threshold 0).
        eval_every: Evaluate (and check stopping) every this many epochs, and at the end.
        random_state: Seed or generator for batch order and for the search methods.
        transform: Optional ``transform(X_rows) -> float features``, applied to each batch
            (and chunk-wise for full-set passes) so that X can stay e.g. uint8 in memory.
        progress: Show a rich progress bar: None when stderr is a terminal, or True/False.
        callback: ``callback(epoch, history, params)`` after every epoch; return True to
            stop.
        fast: Take the fast path where the objective has one (module docstring); False
            calls the checked objective on the features every step.
        chunk_rows: Rows converted at a time in a pass over the whole set (evaluation,
            ``gd``, the searches' loss): bounds the memory a transform needs.
        backend: ``"numpy"``, ``"torch"`` or None (NumPy on the cpu, torch elsewhere;
            :func:`linclass.backends.resolve_backend`). With torch, params and optimizer
            state are tensors on ``device`` during the fit (``callback`` sees them so);
            the result holds NumPy arrays.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
        reparam: Train in standardized coordinates (:mod:`linclass.training.reparam`):
            ``params``, the result's params and the optimizer state are then ``(W~, b~)``
            (``reparam.to_model`` gives ``(W, b)``); the objective is unchanged. For
            in-memory arrays only.

    Returns:
        A :class:`FitResult`.

    Raises:
        TrainingDivergedError: If the loss or the params become NaN/inf; the message names
            the learning rate.
    """
    if transform is None and is_out_of_core(X):  # on disk: read a slice of rows at a time
        transform = float_rows
    X, y = check_data(X, y, transform)
    has_val = X_val is not None or y_val is not None
    if has_val:
        if X_val is None or y_val is None:
            raise ValueError("give both X_val and y_val, or neither")
        X_val, y_val = check_data(X_val, y_val, transform, name="X_val")
    if max_epochs < 1 or patience < 1 or eval_every < 1:
        raise ValueError("max_epochs, patience and eval_every must be >= 1")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    if early_stopping and not has_val:
        raise ValueError("early_stopping needs a validation set (X_val, y_val)")
    if monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
    n_classes = params["W"].shape[0]
    check_labels(y, n_classes)
    if y_val is not None:
        check_labels(y_val, n_classes, "y_val")
    if reparam is not None and (is_dask(X) or is_out_of_core(X)):
        raise ValueError("reparam= is for in-memory arrays; rows on disk or on a cluster "
                         "train in their own coordinates")
    params = match_dtype(copy_params(params), X, transform)
    if reparam is not None:
        reparam = reparam.astype(params["W"].dtype)
    if isinstance(optimizer, str) and choice("optimizer", optimizer).has("solver"):
        if resolve_backend(backend, device) != "numpy":
            raise ValueError(f"optimizer={optimizer!r} runs on backend='numpy'; backend="
                             "'torch' runs gd, sgd, momentum and nesterov")
        from linclass.training.solve import fit_solver  # a solver runs its own loop

        return fit_solver(optimizer, params, X, y,
                          value_and_grad=value_and_grad, value=value,
                          learning_rate=learning_rate, schedule=schedule,
                          optimizer_kwargs=optimizer_kwargs, max_epochs=max_epochs, tol=tol,
                          X_val=X_val, y_val=y_val, early_stopping=early_stopping,
                          eval_every=eval_every, transform=transform, progress=progress,
                          callback=callback, chunk_rows=chunk_rows, reparam=reparam)
    shuffle_rng, optimizer_rng = rngs(random_state)
    n = y.shape[0]

    def total_steps(full_batch: bool) -> int:
        return max_epochs * (1 if full_batch or batch_size is None else -(-n // batch_size))

    opt, full_batch = make_optimizer(optimizer, learning_rate, optimizer_kwargs, optimizer_rng,
                                      schedule=schedule, steps=total_steps)
    value_and_grad, value = check_objective(opt, value_and_grad, value)
    backend = resolve_backend(backend, device)
    runner_class = (_runner_class(X) if backend == "numpy"
                    else functools.partial(Runner, backend=backend, device=device))
    runner = runner_class(X, y, opt, value_and_grad, value, None if full_batch else batch_size,
                          transform, shuffle_rng, fast=fast, params=params,
                          chunk_rows=chunk_rows)
    if reparam is not None:
        runner.step = ScaledStep(runner.step, reparam)
    params = runner.step.put(params)
    state = opt.init(params)

    history = History()
    watched = monitor if early_stopping else "train_loss"
    sign = -1.0 if watched == "val_accuracy" else 1.0  # so that lower is always better
    min_delta = 0.0 if tol is None else float(tol)
    best_value, best_epoch, best_params, stale = math.inf, 0, None, 0
    seconds, reason = 0.0, "max_epochs"
    with progress_bar(progress, max_epochs) as advance:
        for epoch in range(1, max_epochs + 1):
            start = time.perf_counter()
            state = runner.run(params, state, history.step_loss, epoch=epoch)
            seconds += time.perf_counter() - start
            stop = callback is not None and bool(callback(epoch, history, params))
            if not (stop or epoch % eval_every == 0 or epoch == max_epochs):
                advance(epoch, f"loss {history.step_loss[-1]:.4g}")
                continue
            train_loss, train_acc = runner.evaluate(params, X, y)
            val_loss, val_acc = (math.nan, math.nan)
            if X_val is not None and y_val is not None:
                val_loss, val_acc = runner.evaluate(params, X_val, y_val)
            row = dict(epoch=epoch, train_loss=train_loss, train_accuracy=train_acc,
                       val_loss=val_loss, val_accuracy=val_acc,
                       learning_rate=float(getattr(state, "learning_rate", math.nan)),
                       wall_time=seconds, n_loss_evals=runner.n_loss_evals,
                       n_samples=runner.n_samples)
            for key, item in row.items():
                getattr(history, key).append(item)
            advance(epoch, f"loss {train_loss:.4g}  acc {train_acc:.3f}"
                    + (f"  val {val_acc:.3f}" if has_val else ""))

            score = sign * row[watched]
            stale = stale + 1 if score > best_value - min_delta else 0
            if score < best_value:
                best_value, best_epoch = score, epoch
                if early_stopping:
                    best_params = copy_params(runner.step.host(params))
            if stop:
                reason = "callback"
            elif stale >= patience and (early_stopping or (
                    tol is not None and annealed(history.learning_rate, schedule))):
                reason = "early_stopping" if early_stopping else "converged"
            else:
                continue
            break
    params = best_params if best_params is not None else runner.step.host(params)
    return FitResult(params, history, epoch, best_epoch, reason, runner.step.host(state))


def partial_fit(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    *,
    value_and_grad: ValueAndGrad | None = None,
    value: ValueFn | None = None,
    optimizer: str | Optimizer = "sgd",
    learning_rate: LearningRate | None = None,
    optimizer_kwargs: Mapping[str, Any] | None = None,
    state: Any = None,
    batch_size: int | None = None,
    random_state: int | np.random.Generator | None = 0,
    transform: Transform | None = None,
    fast: bool = True,
    backend: str | None = None,
    device: str = "cpu",
    reparam: Reparam | None = None,
) -> PartialFitResult:
    """One pass over a batch that has just arrived, continuing from an optimizer state.

    Pass the returned ``state`` to the next call (and the same optimizer and learning
    rate), so momentum and the schedule's step carry over; ``state=None`` starts fresh.
    Search methods compare losses across calls, which is meaningful only when the calls
    see the same data.

    Args:
        params: Current params (not modified).
        X: ndarray of shape (n_samples, n_features) (or what ``transform`` accepts).
        y: ndarray of shape (n_samples,).
        value_and_grad, value, optimizer, learning_rate, optimizer_kwargs, transform, fast,
            backend, device, reparam: As in :func:`fit`.
        state: The optimizer state from the previous call, or None.
        batch_size: Split the given batch into mini-batches of this size (shuffled by
            ``random_state``); None: one step on all of it.
        random_state: Seed or generator for the order within the batch.

    Returns:
        A :class:`PartialFitResult`.

    Raises:
        TrainingDivergedError: As in :func:`fit`.
    """
    X, y = check_data(X, y, transform)
    check_labels(y, params["W"].shape[0])
    shuffle_rng, optimizer_rng = rngs(random_state)
    opt, full_batch = make_optimizer(optimizer, learning_rate, optimizer_kwargs, optimizer_rng)
    value_and_grad, value = check_objective(opt, value_and_grad, value)
    params = match_dtype(copy_params(params), X, transform)
    runner = Runner(X, y, opt, value_and_grad, value, None if full_batch else batch_size,
                    transform, shuffle_rng, fast=fast, params=params,
                    backend=resolve_backend(backend, device), device=device)
    if reparam is not None:
        runner.step = ScaledStep(runner.step, reparam.astype(params["W"].dtype))
    params = runner.step.put(params)
    state = opt.init(params) if state is None else runner.step.put(state)
    losses: list[float] = []
    state = runner.run(params, state, losses, epoch=1)
    return PartialFitResult(runner.step.host(params), runner.step.host(state),
                            float(np.mean(losses)), len(losses))


def evaluate(
    params: Params, X: np.ndarray, y: np.ndarray, objective: ValueAndGrad | ValueFn,
    transform: Transform | None = None, *, fast: bool = True, chunk_rows: int = CHUNK_ROWS,
    predictions: list[np.ndarray] | None = None,
) -> tuple[float, float]:
    """Objective and accuracy of ``params`` on a whole set, a chunk at a time (so a
    transform never converts more than :data:`CHUNK_ROWS` rows at once).

    Args:
        params: ``{"W": (n_classes, n_features), "b": (n_classes,)}``.
        X: Stored rows, as for :func:`fit`.
        y: ndarray of shape (n_samples,), integer labels.
        objective: An :class:`~linclass.objective.Objective` (its in-place twin is used
            when ``fast``), or any ``(params, X, y) -> J``.
        transform: Optional stored rows -> features.
        fast, chunk_rows: As in :func:`fit`.
        predictions: A list that receives the predicted classes, one array per chunk.

    Returns:
        ``(loss, accuracy)``.
    """
    X, y = check_data(X, y, transform)
    check_labels(y, params["W"].shape[0])
    in_place = fast_path(objective) if fast else None
    if in_place is not None and not labels_fit(y, params["W"].shape[0]):
        in_place = None
    # An Objective's checked value, or the objective itself when it is a plain J function.
    value = cast(ValueFn, getattr(objective, "value", objective))
    affine = None if in_place is None else affine_of(transform, X)
    work = Workspace(transform, affine, min(y.shape[0], chunk_rows))
    if in_place is not None:
        work.allocate(params, np.result_type(np.float32 if affine else X.dtype,
                                             params["W"].dtype, 1.0))
    return Step(work, None, value, in_place).evaluate(params, X, y, predictions=predictions)


def gradient_descent(
    value_and_grad: ValueAndGrad,
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    *,
    learning_rate: float = 0.1,
    n_steps: int = 100,
    callback: Callable[[int, float, Params], None] | None = None,
) -> tuple[Params, list[float]]:
    """The lecture's loop, ``W <- W - lr * dJ/dW`` on the whole training set: a thin
    convenience over ``fit(optimizer="gd")`` without per-epoch evaluations.

    Args:
        value_and_grad: ``(params, X, y) -> (J, grads)``, any gradient method.
        params: Starting point (not modified).
        X: ndarray of shape (n_samples, n_features).
        y: ndarray of shape (n_samples,).
        learning_rate: Step size.
        n_steps: Number of steps.
        callback: ``callback(step, loss, params)`` after each step (0-based step; ``loss``
            is the loss before the step, ``params`` the updated ones).

    Returns:
        ``(params, losses)``: the final parameters and the loss before each step.

    Raises:
        TrainingDivergedError: A FloatingPointError naming the learning rate.
    """

    def each_step(epoch: int, history: History, p: Params) -> None:
        if callback is not None:
            callback(epoch - 1, history.step_loss[-1], p)

    result = fit(params, X, y, value_and_grad=value_and_grad, optimizer="gd",
                 learning_rate=learning_rate, max_epochs=n_steps, eval_every=n_steps,
                 progress=False, callback=each_step)
    return result.params, result.history.step_loss


__all__ = [
    "CHUNK_ROWS",
    "MONITORS",
    "FitResult",
    "History",
    "PartialFitResult",
    "Runner",
    "TrainingDivergedError",
    "evaluate",
    "fit",
    "gradient_descent",
    "one_blas_thread",
    "partial_fit",
]
