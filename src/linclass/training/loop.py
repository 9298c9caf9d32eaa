"""Training: one fit loop for every way to find W.

The lecture's loop is: evaluate the loss at the current W, take a step, repeat. :func:`fit`
runs it for every optimizer in :mod:`linclass.optim`, through one
:class:`~linclass.training.runner.Runner` over the parts a backend makes
(:mod:`linclass.training.parts`: a step and a batch source):

* gradient optimizers (``gd``, ``sgd``, ``momentum``, ``nesterov``): a step calls the
  objective on a batch and hands the gradient to ``update``. Full-batch ones use the whole
  training set as their batch; the others use the source's mini-batches;
* derivative-free optimizers (``random_search``, ``random_local_search``, ``genetic``): a
  step calls ``update`` with ``f(params)``, the loss on the whole training set;
* solvers (``lbfgs``): their own iterations over the full-set objective.

**An epoch** is one pass of that loop over the training set: ``ceil(N / batch_size)`` steps
for mini-batch methods and *one* step for full-batch ones (one gradient step for ``gd``,
one candidate for the random searches, one generation for ``genetic``, one iteration for
a solver). Every ``eval_every`` epochs (and at the last) the loop measures loss and
accuracy on the validation set and, every ``full_eval_every`` such rows and at the last,
on the full training set, and writes one history row (:class:`EpochEnd`, for every kind of
optimizer); a mini-batch run's rows between full passes carry the running mean of the
epoch's batch losses instead, which the steps computed already. These measurements are not
counted in ``wall_time`` or ``n_loss_evals``, so that optimizers compare by the work they
do; their own seconds are ``history.eval_time``.

**The fast path** (``fast=True``, the default) is explicit: the inputs are checked once,
here, and when the objective offers an in-place twin (:class:`linclass.objective.
HasInPlace`, as the analytic :class:`~linclass.objective.Objective` does) every step writes
into buffers made once; raw-pixel preprocessing (:class:`~linclass.training.workspace.
Foldable`) is folded into W and b so a batch is only cast. ``fast=False`` calls the checked
objective on the features every step; both give the same numbers.

This module imports no backend: :func:`~linclass.training.parts.make_parts` finds the one
the data and ``(backend, device)`` ask for in :mod:`linclass.backends.registry`.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import numpy as np

from linclass.model import Params
from linclass.objective import fast_path
from linclass.optim import LearningRate, Optimizer, SearchOptimizer
from linclass.options import FULL_BATCH_GD, PLAIN_SGD, choice, names
from linclass.training.arrays import float_rows, is_dask, is_out_of_core
from linclass.training.history import FitResult, History, PartialFitResult, TrainingDivergedError
from linclass.training.parts import Spec, ValueAndGrad, ValueFn, backend_for, make_parts
from linclass.training.progress import progress_bar
from linclass.training.reparam import Reparam, ScaledStep
from linclass.training.runner import RISE_LIMIT, Runner, Solver
from linclass.training.sampler import CHUNK_ROWS
from linclass.training.setup import (
    check_data,
    check_labels,
    check_objective,
    copy_params,
    make_optimizer,
    make_solver,
    match_dtype,
    rngs,
)
from linclass.training.threads import one_blas_thread
from linclass.training.workspace import Transform

Callback = Callable[[int, "History", Params], "bool | None"]

MONITORS = ("val_loss", "val_accuracy")

#: Weights of at most this many entries make thin products (Fashion-MNIST's 10 x 784): a
#: pass measuring a set runs them on one BLAS thread.
THIN_W = 2**16

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


class EpochEnd:
    """What the loop does after an epoch, for every kind of optimizer: the history row,
    the progress bar, the user's callback and the stopping rules.

    **What a row measures.** Every row measures the validation set. The training set is
    measured by a full pass every ``full_eval_every`` rows and at the last one; a run of
    mini-batch steps between such passes records, as its ``train_loss``, the mean of the
    epoch's batch losses (what ``SGDClassifier`` reports and its tolerance reads: it costs
    nothing, the steps computed it), and NaN as its ``train_accuracy``; a full-batch
    step's loss is the objective where the previous epoch ended, so a ``gd`` row's
    ``train_loss`` is one epoch behind and the evaluation pass, as costly as the step's
    own, is saved. The searches and the solver measure every row.

    Args:
        runner: The run's runner (its counters, clock and evaluation).
        history: The history the rows go to.
        sets: ``((X, y), (X_val, y_val) or None)``, the sets each row measures.
        max_epochs, eval_every, patience, early_stopping, monitor, callback,
            full_eval_every: As in :func:`fit`.
        tol: Least improvement that counts (None: 0, and no plateau stop).
        plateau: Whether a plateau of the training loss (by ``tol``) may stop the run
            (not for a solver, whose ``tol`` is its own gradient tolerance).
        schedule: The schedule's name (a decaying one must anneal before a plateau stop).
        advance: The progress bar's ``advance(epoch, text)``.
    """

    def __init__(self, runner: Runner, history: History, sets: tuple[Any, Any], *,
                 max_epochs: int, eval_every: int, patience: int, early_stopping: bool,
                 monitor: str, callback: Callback | None, tol: float | None, plateau: bool,
                 schedule: str, advance: Callable[[int, str], None],
                 full_eval_every: int | None = 1) -> None:
        self.runner, self.history, self.sets = runner, history, sets
        self.max_epochs, self.eval_every, self.patience = max_epochs, eval_every, patience
        self.early_stopping, self.callback, self.schedule = early_stopping, callback, schedule
        self.plateau = plateau and tol is not None
        self.watched = monitor if early_stopping else "train_loss"
        self.sign = -1.0 if self.watched == "val_accuracy" else 1.0  # lower is better
        self.min_delta = 0.0 if tol is None else float(tol)
        self.advance = advance
        self.best_value, self.best_epoch, self.stale = math.inf, 0, 0
        self.best_params: Params | None = None
        self.reason = "max_epochs"
        # Gradient steps, full-batch too, computed each step's loss already: a full-batch
        # step's is J at the end of the previous epoch, exactly. The searches and the
        # solver measure every row.
        stepped = not runner.search and not runner.solver
        self.full_eval_every = full_eval_every if stepped else 1
        self.eval_seconds = 0.0
        self.mark = 0  # where this epoch's step losses start in history.step_loss

    def _measure(self, params: Any, X: Any, y: Any) -> tuple[float, float]:
        """``(J, accuracy)`` of a set, its seconds added to the evaluation's. A chunk's
        product with a small W (``C * D <=`` :data:`THIN_W`) is thin and memory-bound:
        one BLAS thread (a second one spins on a busy machine: 10x slower under load 8)."""
        start = time.perf_counter()
        thin = math.prod(params["W"].shape) <= THIN_W
        with one_blas_thread() if thin else contextlib.nullcontext():
            out = self.runner.evaluate(params, X, y)
        self.eval_seconds += time.perf_counter() - start
        return out

    def record(self, epoch: int, params: Any, state: Any, *, full: bool = True
               ) -> dict[str, float]:
        """Measure the sets (the training set by a full pass when ``full``, else the
        epoch's running mean) and append the epoch's history row."""
        (X, y), val = self.sets
        losses = self.history.step_loss[self.mark:]
        running = float(np.mean(losses)) if losses else math.nan
        full = full or self.full_eval_every == 1
        full_loss, train_acc = self._measure(params, X, y) if full else (math.nan, math.nan)
        train_loss = full_loss if self.full_eval_every == 1 else running
        val_loss, val_acc = (math.nan, math.nan) if val is None else self._measure(params, *val)
        rate = getattr(state, "learning_rate", math.nan)
        runner = self.runner
        row = dict(epoch=epoch, train_loss=train_loss, train_accuracy=train_acc,
                   full_train_loss=full_loss, val_loss=val_loss, val_accuracy=val_acc,
                   learning_rate=float(np.max(rate)) if state is not None else math.nan,
                   wall_time=runner.seconds, eval_time=self.eval_seconds,
                   n_loss_evals=runner.n_loss_evals, n_samples=runner.n_samples)
        for key, item in row.items():
            getattr(self.history, key).append(item)
        self._show(epoch, row)
        return row

    def _full_last_row(self, params: Any) -> None:
        """Measure the training set for the run's last row if it was not (mini-batch runs
        measure it every ``full_eval_every`` rows and at the end)."""
        h = self.history
        if not h.epoch or not math.isnan(h.full_train_loss[-1]):
            return
        h.full_train_loss[-1], h.train_accuracy[-1] = self._measure(params, *self.sets[0])
        h.eval_time[-1] = self.eval_seconds
        self._show(h.epoch[-1], {k: getattr(h, k)[-1] for k in (
            "train_loss", "train_accuracy", "val_accuracy")})

    def _show(self, epoch: int, row: Mapping[str, float]) -> None:
        text = f"loss {row['train_loss']:.4g}"
        if math.isfinite(row["train_accuracy"]):  # a regression has no accuracy
            text += f"  acc {row['train_accuracy']:.3f}"
        if self.sets[1] is not None and math.isfinite(row["val_accuracy"]):
            text += f"  val {row['val_accuracy']:.3f}"
        self.advance(epoch, text)

    def __call__(self, epoch: int, params: Any, state: Any) -> bool:
        """After ``epoch``: True when the run should stop (:attr:`reason` says why)."""
        history = self.history
        stop = self.callback is not None and bool(self.callback(epoch, history, params))
        if not (stop or epoch % self.eval_every == 0 or epoch == self.max_epochs):
            self.advance(epoch, f"loss {history.step_loss[-1]:.4g}")
            self.mark = len(history.step_loss)
            return False
        every = self.full_eval_every
        full = every is not None and (len(history.epoch) + 1) % every == 0
        row = self.record(epoch, params, state, full=full)
        self.mark = len(history.step_loss)
        score = self.sign * row[self.watched]
        self.stale = self.stale + 1 if score > self.best_value - self.min_delta else 0
        if score < self.best_value:
            self.best_value, self.best_epoch = score, epoch
            if self.early_stopping:
                self.best_params = copy_params(self.runner.step.host(params))
        if stop:
            self.reason = "callback"
        elif self.stale >= self.patience and (self.early_stopping or (
                self.plateau and annealed(history.learning_rate, self.schedule))):
            self.reason = "early_stopping" if self.early_stopping else "converged"
        else:
            if epoch == self.max_epochs:
                self._full_last_row(params)
            return False
        self._full_last_row(params)
        return True


def _optimizer(optimizer: str | Optimizer, learning_rate: LearningRate | None, schedule: str,
               optimizer_kwargs: Mapping[str, Any] | None, rng: np.random.Generator,
               early_stopping: bool, steps: Callable[[bool], int]
               ) -> tuple[Optimizer | Solver, bool]:
    """The optimizer of a fit and whether its steps are full-batch (solvers included)."""
    if isinstance(optimizer, str) and choice("optimizer", optimizer).has("solver"):
        return make_solver(optimizer, learning_rate, schedule, optimizer_kwargs,
                           early_stopping), True
    return make_optimizer(optimizer, learning_rate, optimizer_kwargs, rng, schedule=schedule,
                          steps=steps)


def _runner(backend: str, opt: Optimizer | Solver, full_batch: bool, X: Any, y: Any,
            value_and_grad: ValueAndGrad | None, value: ValueFn | None, batch_size: int | None,
            transform: Transform | None, rng: np.random.Generator, fast: bool, params: Params,
            chunk_rows: int, device: str, reparam: Reparam | None, losses: list[float]
            ) -> Runner:
    """The runner of a fit or a partial fit: the objective checked against the optimizer,
    the backend's parts (in standardized coordinates with ``reparam``)."""
    value_and_grad, value = check_objective(cast(Optimizer, opt), value_and_grad, value)
    spec = Spec(X, y, value_and_grad, value, None if full_batch else batch_size, transform,
                rng, fast, params, search=isinstance(opt, SearchOptimizer),
                chunk_rows=chunk_rows, device=device)
    parts = make_parts(spec, backend)
    if reparam is not None:
        parts = parts._replace(step=ScaledStep(parts.step, reparam))
    return Runner(parts, opt, X, y, losses)


def fit(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    *,
    value_and_grad: ValueAndGrad | None = None,
    value: ValueFn | None = None,
    optimizer: str | Optimizer = PLAIN_SGD,
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
    full_eval_every: int | None = 1,
) -> FitResult:
    """Train ``params`` on ``(X, y)`` with any optimizer; see the module docstring for what
    a step and an epoch are.

    Args:
        params: Starting ``{"W": (n_classes, n_features), "b": (n_classes,)}`` (not modified).
        X: ndarray of shape (n_samples, n_features), or any shape ``transform`` accepts
            (e.g. uint8 images of shape (n_samples, 28, 28)); a memory map or a zarr array
            is read a slice of rows at a time (:class:`linclass.backends.numpy.
            WindowSource`), a Dask array where its partitions live
            (:mod:`linclass.backends.dask`).
        y: ndarray of shape (n_samples,), integer labels.
        value_and_grad: ``(params, X, y) -> (loss, grads)``, any gradient method (see
            :func:`linclass.grad.make_value_and_grad`); required by gradient optimizers.
        value: ``(params, X, y) -> loss``; used by search optimizers and for evaluation.
            Defaults to ``value_and_grad``'s value (which wastes its gradient).
        optimizer: A name from :data:`linclass.optim.OPTIMIZERS` or a built pair, or a
            solver (record tagged ``"solver"``: ``"lbfgs"``), which runs its own iterations
            (:meth:`~linclass.training.runner.Runner.solve`; ``tol``: its gradient
            tolerance, ``optimizer_kwargs``: its options, e.g. ``{"memory": 20}``).
        learning_rate: Number or schedule (its step counts updates); None keeps the
            factory's default. Only for gradient optimizers given by name.
        schedule: Name of a schedule (:data:`linclass.optim.SCHEDULES`) that starts at
            ``learning_rate`` and whose decay is fitted to ``max_epochs`` (see
            :func:`linclass.optim.schedule_for_run`); for a number ``learning_rate`` only.
        optimizer_kwargs: Other factory arguments by their record names, e.g.
            ``{"momentum": 0.95}``.
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
        full_eval_every: For gradient optimizers, measure the whole training set every
            this many evaluations and at the last; None: at the last only. Between, a
            row's ``train_loss`` (which the tolerance stop reads) is the mean of the
            epoch's batch losses, as ``SGDClassifier`` reports (for full-batch ``gd``, the
            objective where the previous epoch ended), and its ``train_accuracy`` NaN;
            ``history.full_train_loss`` holds the passes' objectives. With any value but
            1, ``train_loss`` is that running mean on every row (the last included), so
            the tolerance stop reads one kind of number. The searches and solvers measure
            every row. 1 (the default): every row by a full pass, as before.
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
    if full_eval_every is not None and full_eval_every < 1:
        raise ValueError(f"full_eval_every must be >= 1 or None, got {full_eval_every}")
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
    shuffle_rng, optimizer_rng = rngs(random_state)
    n = y.shape[0]

    def total_steps(full_batch: bool) -> int:
        return max_epochs * (1 if full_batch or batch_size is None else -(-n // batch_size))

    opt, full_batch = _optimizer(optimizer, learning_rate, schedule, optimizer_kwargs,
                                 optimizer_rng, early_stopping, total_steps)
    where = backend_for(X, backend, device)
    solver = isinstance(opt, Solver)
    if solver and where not in (backend_for(X, None, "cpu"),):
        raise ValueError(f"optimizer={optimizer!r} runs on backend='numpy'; backend="
                         f"{where!r} runs {', '.join(names('optimizer', 'gradient'))}")
    history = History()
    runner = _runner(where, opt, full_batch, X, y, value_and_grad, value, batch_size, transform,
                     shuffle_rng, fast, params, chunk_rows, device, reparam, history.step_loss)
    params = runner.step.put(params)
    val = None if X_val is None else (X_val, y_val)
    with progress_bar(progress, max_epochs) as advance:
        end = EpochEnd(runner, history, ((X, y), val), max_epochs=max_epochs,
                       eval_every=eval_every, patience=patience, early_stopping=early_stopping,
                       monitor=monitor, callback=callback, tol=tol, plateau=not solver,
                       schedule=schedule, advance=advance, full_eval_every=full_eval_every)
        if solver:
            # a chunk's products are as small as a mini-batch's: one BLAS thread
            with one_blas_thread():
                result = runner.solve(params, max_epochs, tol, end)
            params, epoch, state = result.params, result.n_iter, result.scipy
            if not history.epoch or history.epoch[-1] != epoch:
                end.record(epoch, params, None)  # converged between evaluations
            end.reason = ("callback" if result.stopped_by_callback else
                          "max_epochs" if epoch >= max_epochs else "converged")
            end.best_epoch = history.epoch[int(np.argmin(history.train_loss))]
        else:
            state = cast(Optimizer, opt).init(params)
            for epoch in range(1, max_epochs + 1):
                state = runner.run(params, state, epoch)
                if end(epoch, params, state):
                    break
            state = runner.step.host(state)
    params = end.best_params if end.best_params is not None else runner.step.host(params)
    return FitResult(params, history, epoch, end.best_epoch, end.reason, state)


def partial_fit(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    *,
    value_and_grad: ValueAndGrad | None = None,
    value: ValueFn | None = None,
    optimizer: str | Optimizer = PLAIN_SGD,
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
    params = match_dtype(copy_params(params), X, transform)
    runner = _runner(backend_for(X, backend, device), opt, full_batch, X, y, value_and_grad,
                     value, batch_size, transform, shuffle_rng, fast, params, CHUNK_ROWS, device,
                     None if reparam is None else reparam.astype(params["W"].dtype), [])
    params = runner.step.put(params)
    state = opt.init(params) if state is None else runner.step.put(state)
    state = runner.run(params, state, 1)
    return PartialFitResult(runner.step.host(params), runner.step.host(state),
                            float(np.mean(runner.losses)), len(runner.losses))


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
    # An Objective's checked value, or the objective itself when it is a plain J function.
    value = cast(ValueFn, getattr(objective, "value", objective))
    in_place = fast and fast_path(objective) is not None
    spec = Spec(X, y, cast(ValueAndGrad, objective) if in_place else None, value, None,
                transform, None, fast, params, chunk_rows=chunk_rows)
    step = make_parts(spec, backend_for(X, None, "cpu")).step
    return step.evaluate(params, X, y, predictions=predictions)


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

    result = fit(params, X, y, value_and_grad=value_and_grad, optimizer=FULL_BATCH_GD,
                 learning_rate=learning_rate, max_epochs=n_steps, eval_every=n_steps,
                 progress=False, callback=each_step)
    return result.params, result.history.step_loss


__all__ = [
    "ANNEALED",
    "CHUNK_ROWS",
    "MONITORS",
    "RISE_LIMIT",
    "EpochEnd",
    "FitResult",
    "History",
    "PartialFitResult",
    "Runner",
    "TrainingDivergedError",
    "annealed",
    "evaluate",
    "fit",
    "gradient_descent",
    "one_blas_thread",
    "partial_fit",
]
