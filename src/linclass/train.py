"""Training: one fit loop for every way to find W.

The lecture's loop is: evaluate the loss at the current W, take a step, repeat. :func:`fit`
runs it for every optimizer in :mod:`linclass.optim`:

* gradient optimizers (``gd``, ``sgd``, ``momentum``, ``nesterov``): a step calls
  ``value_and_grad`` on a batch and hands the gradient to ``update``. ``gd`` uses the whole
  training set as its batch; the others use mini-batches of ``batch_size`` rows taken from
  a permutation reshuffled every epoch (the last batch is smaller when ``batch_size`` does
  not divide N, so every row is seen exactly once per epoch);
* derivative-free optimizers (``random_search``, ``random_local_search``, ``genetic``): a
  step calls ``update`` with ``f(params)``, the loss on the whole training set.

**An epoch** is one pass of that loop over the training set: ``ceil(N / batch_size)`` steps
for mini-batch methods and *one* step for full-batch ones (one gradient step for ``gd``,
one candidate for the random searches, one generation for ``genetic``). Every
``eval_every`` epochs (and at the last) the loop measures loss and accuracy on the full
training set and the validation set; these measurements are not counted in ``wall_time``
or ``n_loss_evals``, so that optimizers compare by the work they do.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from linclass.grad import ValueAndGrad
from linclass.history import (  # re-exported: part of the training API
    FitResult,
    History,
    PartialFitResult,
    TrainingDivergedError,
)
from linclass.batches import Workspace
from linclass.model import Params, predict
from linclass.objective import fast_path
from linclass.options import DEFAULT_LEARNING_RATES, choice, names
from linclass.optim import (
    OPTIMIZERS,
    LearningRate,
    Optimizer,
    SearchOptimizer,
    schedule_for_run,
)

ValueFn = Callable[[Params, np.ndarray, np.ndarray], float]
Transform = Callable[[np.ndarray], np.ndarray]
Callback = Callable[[int, "History", Params], "bool | None"]

MONITORS = ("val_loss", "val_accuracy")
# Rows converted at a time when a transform feeds a full-set pass; also the chunk of a
# fast full-batch step. 2048 rows of 784 float32 (6 MB) stay in cache between the
# forward and the backward matmul, so each row is read from memory once.
CHUNK_ROWS = 2048


# --- building blocks --------------------------------------------------------------------


def _rngs(random_state: int | np.random.Generator | None) -> tuple[np.random.Generator, ...]:
    """Independent generators for batch order and for the optimizer, from one seed."""
    rng = np.random.default_rng(random_state)
    return tuple(np.random.default_rng(s) for s in rng.integers(2**63, size=2))


def _make_optimizer(
    optimizer: str | Optimizer,
    learning_rate: LearningRate | None,
    optimizer_kwargs: Mapping[str, Any] | None,
    rng: np.random.Generator,
    *,
    schedule: str = "constant",
    steps: Callable[[bool], int] | None = None,
) -> tuple[Optimizer, bool]:
    """The optimizer pair, and whether it takes full-batch steps.

    ``steps(full_batch)`` gives the run's number of updates, for a named ``schedule``.
    """
    if not isinstance(optimizer, str):
        if learning_rate is not None or optimizer_kwargs or schedule != "constant":
            raise ValueError(
                "optimizer is already built: give the learning rate and options to its factory"
            )
        return optimizer, isinstance(optimizer, SearchOptimizer)
    record = choice("optimizer", optimizer)  # one record says what the optimizer takes
    full_batch = record.has("full_batch")
    factory = OPTIMIZERS[optimizer]
    kwargs = dict(optimizer_kwargs or {})
    if "learning_rate" not in record.params:
        if learning_rate is not None or schedule != "constant":
            takes = ", ".join(names("optimizer", "gradient"))
            raise ValueError(f"optimizer {optimizer!r} takes no learning rate or schedule "
                             f"(they are for the gradient optimizers: {takes})")
    elif schedule != "constant":
        if callable(learning_rate):
            raise ValueError("give either a schedule name or a schedule callable, not both")
        init = DEFAULT_LEARNING_RATES[optimizer] if learning_rate is None else learning_rate
        total = steps(full_batch) if steps is not None else 1
        kwargs["learning_rate"] = schedule_for_run(schedule, init, total)
    else:
        kwargs["learning_rate"] = (DEFAULT_LEARNING_RATES[optimizer] if learning_rate is None
                                   else learning_rate)
    if record.has("search"):
        kwargs.setdefault("random_state", rng)
    return factory(**kwargs), full_batch


def _check_objective(
    optimizer: Optimizer, value_and_grad: ValueAndGrad | None, value: ValueFn | None
) -> tuple[ValueAndGrad | None, ValueFn]:
    if value_and_grad is None and not isinstance(optimizer, SearchOptimizer):
        raise ValueError("gradient optimizers need value_and_grad=")
    if value is None:
        if value_and_grad is None:
            raise ValueError("give value_and_grad= or value=")

        def value(params: Params, X: np.ndarray, y: np.ndarray) -> float:
            return value_and_grad(params, X, y)[0]

    return value_and_grad, value


def _check_data(X: np.ndarray, y: np.ndarray, transform: Transform | None, name: str = "X"):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 2 or (transform is None and X.ndim != 2):
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"y must have shape ({X.shape[0]},) to match {name} {X.shape}, got {y.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"cannot train on 0 samples ({name} is empty)")
    return X, y


def _copy(params: Params) -> Params:
    return {k: np.array(v, copy=True) for k, v in params.items()}


def _all_finite(params: Params) -> bool:
    return all(np.isfinite(v).all() for v in params.values())


@functools.cache
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController  # a dependency of scikit-learn

    return ThreadpoolController()  # scans the loaded libraries once (~0.3 ms)


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """BLAS limited to one thread, for a loop of mini-batches of at most ``CHUNK_ROWS``.

    A batch's products are small (256 x 784 x 10: ~100 us on one core), so a second BLAS
    thread saves little on a quiet machine, and on a busy one its spin-waiting workers
    made whole epochs 10-30x slower (``benchmarks/fold_speed.py``). Full-set passes (evaluation,
    ``gd``) keep every thread: their products are big enough to split.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def _affine_of(transform: Transform | None, X: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(a, c)`` when ``transform(X_rows) == a * X_rows + c`` (raw pixels; see
    :class:`linclass.features.AffineTransform`, whose ``scale``, ``shift``, ``dtype`` and
    ``cast`` this reads, duck-typed so that training does not import features), else None."""
    needed = ("scale", "shift", "dtype", "cast")
    if transform is None or not all(hasattr(transform, k) for k in needed):
        return None
    if X.dtype != transform.dtype:
        return None
    a, c = transform.scale, transform.shift
    if a.shape != (math.prod(X.shape[1:]),) or c.shape != a.shape:
        return None
    return a, c


def _match_dtype(params: Params, X: np.ndarray, transform: Transform | None) -> Params:
    """float32 features train float32 params: float64 params are cast, so that no step
    mixes precisions (BLAS would then convert every batch to float64)."""
    sample = X[:1] if transform is None else transform(X[:1])
    if np.asarray(sample).dtype != np.float32:
        return params
    return {k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in params.items()}


def _chunks(
    X: np.ndarray, y: np.ndarray, transform: Transform | None
) -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
    """``(X_c, y_c, n_c / N)`` over the whole set: one chunk without a transform, else
    chunks of ``CHUNK_ROWS`` converted one at a time (no full float copy)."""
    if transform is None:
        yield X, y, 1.0
        return
    n = y.shape[0]
    for start in range(0, n, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n)
        yield transform(X[start:stop]), y[start:stop], (stop - start) / n


def _weighted_sum(parts: Iterable[tuple[float, Params, float]]) -> tuple[float, Params]:
    """``sum_c w_c (J_c, grads_c)`` over ``(J_c, grads_c, w_c)``; copies out of any
    reused gradient buffer."""
    total, grads = 0.0, {}
    for loss, g, weight in parts:
        total += weight * loss
        for k, v in g.items():
            grads[k] = grads[k] + weight * v if k in grads else weight * v
    return total, grads


def _full_value_and_grad(
    fn: Callable[[Params, np.ndarray, np.ndarray], tuple[float, Params]],
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    transform: Transform | None,
) -> tuple[float, Params]:
    """``sum_c (n_c / N) fn(params, X_c, y_c)``: the full-set objective (and gradient), a
    chunk at a time. Exact, because the objective is a mean over rows plus a penalty and
    the weights ``n_c / N`` sum to 1, so the penalty comes out once."""
    if transform is None:
        return fn(params, X, y)
    return _weighted_sum((*fn(params, X_c, y_c), w) for X_c, y_c, w in _chunks(X, y, transform))


def evaluate(
    params: Params, X: np.ndarray, y: np.ndarray, value: ValueFn, transform: Transform | None = None
) -> tuple[float, float]:
    """Objective and accuracy of ``params`` on a whole set (chunked when transformed).

    Returns:
        ``(loss, accuracy)``.
    """
    loss, correct = 0.0, 0
    for X_c, y_c, weight in _chunks(X, y, transform):
        loss += weight * value(params, X_c, y_c)
        correct += int(np.count_nonzero(predict(params, X_c) == y_c))
    return loss, correct / y.shape[0]


class _Stepper:
    """Everything a pass over ``(X, y)`` needs, set up once: the optimizer, the objective,
    reusable batch buffers and the counters. Shared by :func:`fit` and :func:`partial_fit`.

    The fast path: when ``value_and_grad`` is the analytic objective of a loss with an
    in-place kernel (:func:`linclass.objective.fast_path`), labels and shapes are checked
    once, at the first step, and every step then writes features, scores and gradients
    into buffers made once (:class:`linclass.batches.Workspace`). A step with a non-finite
    loss is recomputed by the checked ``value_and_grad``, so that bad inputs raise the same
    errors as without the fast path.
    """

    def __init__(self, X, y, optimizer, value_and_grad, value, batch_size, transform, rng):
        self.X, self.y, self.transform, self.rng = X, y, transform, rng
        self.optimizer, self.value_and_grad, self.value = optimizer, value_and_grad, value
        self.search = isinstance(optimizer, SearchOptimizer)
        n = y.shape[0]
        self.batch_size = None if batch_size is None or batch_size >= n else int(batch_size)
        self.n_steps = self.n_loss_evals = self.n_samples = 0
        if self.batch_size is not None:
            self.order = np.arange(n)
        self.fast = None if self.search else fast_path(value_and_grad)
        # Folded preprocessing: features a * X + c are never built; a step casts X.
        self.affine = None if self.fast is None else _affine_of(transform, X)
        rows = self.batch_size or min(n, CHUNK_ROWS)  # rows of the largest step
        self.work = Workspace(X, y, transform, self.affine, rows)
        self.eval_bufs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _count(self, n_rows: int) -> None:
        self.n_loss_evals += 1
        self.n_samples += n_rows

    def _full_loss(self, params: Params) -> float:
        """``f(params)``: the full-set loss value, as the search optimizers need it."""
        self._count(self.y.shape[0])
        return _full_value_and_grad(
            lambda p, X, y: (self.value(p, X, y), {}), params, self.X, self.y, self.transform
        )[0]

    def _setup_fast(self, params: Params, X_b: np.ndarray) -> None:
        """Check once what the checked objective would check every step, and make the
        buffers; on anything unusual, leave the fast path so the checked one reports it."""
        y, W = self.y, params["W"]
        ok = (
            X_b.ndim == 2 and X_b.dtype.kind in "fiu" and set(params) == {"W", "b"}
            and W.ndim == 2 and W.shape[1] == X_b.shape[1] and params["b"].shape == W.shape[:1]
            and np.issubdtype(y.dtype, np.integer) and y.min() >= 0 and y.max() < W.shape[0]
        )
        if not ok:
            self.fast = None
            return
        self.work.allocate(params, np.result_type(X_b.dtype, W.dtype, params["b"].dtype, 1.0))

    def _value_and_grad(self, params: Params, X_b: np.ndarray, y_b: np.ndarray):
        """``(J, grads)`` of one batch or chunk, by the fast path when there is one."""
        if self.fast is not None and self.work.S is None:
            self._setup_fast(params, X_b)
        if self.fast is None:
            return self.value_and_grad(params, X_b, y_b)
        loss = self.work.value_and_grad(self.fast, params, X_b, y_b)
        if not math.isfinite(loss):  # NaN in X, or divergence: let the checked path say
            if self.affine is not None:  # the checked path wants the features themselves
                X_b = X_b * self.affine[0] + self.affine[1]
            return self.value_and_grad(params, X_b, y_b)
        return loss, self.work.grads

    def _batch_value_and_grad(self, params: Params, rows: np.ndarray):
        """``(J, grads)`` of the mini-batch ``rows``."""
        return self._value_and_grad(params, *self.work.take(rows))

    def evaluate(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """:func:`evaluate` (objective and accuracy on a whole set), on the fast path with
        one product per chunk of ``CHUNK_ROWS`` rows cast into reused buffers."""
        affine = self.affine if X.dtype == self.X.dtype else None
        fast = (self.fast is not None and self.work.S is not None  # set up by a first step
                and y.size > 0 and y.min() >= 0 and y.max() < params["W"].shape[0])
        if fast:
            loss, correct, n = 0.0, 0, y.shape[0]
            rows = min(n, CHUNK_ROWS)
            if self.eval_bufs is None or self.eval_bufs[1].shape[0] < rows:
                self.eval_bufs = (np.empty((rows, params["W"].shape[1]), np.float32),
                                  np.empty((rows, params["W"].shape[0]), self.work.S.dtype),
                                  np.empty(rows, np.intp))
            F, S, pred = self.eval_bufs
            for start in range(0, n, rows):
                X_c, y_c = X[start : start + rows], y[start : start + rows]
                m = y_c.shape[0]
                if affine is not None:
                    X_c = self.transform.cast(X_c, out=F[:m])
                elif self.transform is not None:
                    X_c = self.transform(X_c)
                loss += m / n * self.fast.value(params, X_c, y_c, S[:m], affine, pred[:m])
                correct += int(np.count_nonzero(pred[:m] == y_c))
            if math.isfinite(loss):  # else let the checked path say what is wrong
                return loss, correct / n
        return evaluate(params, X, y, self.value, self.transform)

    def _full_gradient(self, params: Params) -> tuple[float, Params]:
        """The full-set objective and gradient; on the fast path in cache-sized chunks
        (each row read once), converted into the reused buffer."""
        if self.fast is None:
            return _full_value_and_grad(self.value_and_grad, params, self.X, self.y, self.transform)
        n, step = self.y.shape[0], self.work.rows
        return _weighted_sum(
            (*self._value_and_grad(params, self.work.features(self.X[i : i + step]),
                                   self.y[i : i + step]), min(step, n - i) / n)
            for i in range(0, n, step)
        )

    def _gradient_step(self, params, state, epoch: int, rows: np.ndarray | None = None):
        """One step on the mini-batch ``rows``, or on the whole set when None."""
        try:
            if rows is None:
                loss, grads = self._full_gradient(params)
            else:
                loss, grads = self._batch_value_and_grad(params, rows)
        except ValueError:
            if _all_finite(params):
                raise
            loss = math.nan  # the losses reject overflowed scores; that is divergence
        self._count(self.y.shape[0] if rows is None else rows.shape[0])
        if not math.isfinite(loss):
            raise self._diverged(loss, state, epoch)
        self.n_steps += 1
        return loss, self.optimizer.update(params, grads, state)[1]

    def run(self, params: Params, state: Any, losses: list[float], *, epoch: int) -> Any:
        """One pass: update ``params`` in place, append step losses, return the new state."""
        if self.search:
            state = self.optimizer.update(params, self._full_loss, state)[1]
            self.n_steps += 1
            losses.append(float(state.loss))
        elif self.batch_size is None:
            loss, state = self._gradient_step(params, state, epoch)
            losses.append(loss)
        else:
            small = self.batch_size <= CHUNK_ROWS  # bigger batches are worth splitting
            self.rng.shuffle(self.order)  # a new order every pass
            n, size = self.y.shape[0], self.batch_size
            with _one_blas_thread() if small else contextlib.nullcontext():
                for start in range(0, n, size):  # the last batch is smaller if size ∤ n
                    rows = self.order[start : start + size]
                    loss, state = self._gradient_step(params, state, epoch, rows)
                    losses.append(loss)
        if not _all_finite(params):
            raise self._diverged(math.nan, state, epoch)
        return state

    def _diverged(self, loss: float, state: Any, epoch: int) -> TrainingDivergedError:
        rate = getattr(state, "learning_rate", None)  # search states have none
        return TrainingDivergedError(loss, learning_rate=rate, epoch=epoch, step=self.n_steps)


@contextlib.contextmanager
def _progress_bar(progress: bool | None, total: int) -> Iterator[Callable[[int, str], None]]:
    """``advance(epoch, text)``: a rich bar on stderr when it is a terminal (or when
    ``progress=True``), nothing when ``progress=False`` or output is redirected."""
    show = sys.stderr.isatty() if progress is None else progress
    if not show:
        yield lambda epoch, text: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("epoch"), MofNCompleteColumn(), BarColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("", total=total)
        yield lambda epoch, text: bar.update(task, completed=epoch, description=text)


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
) -> FitResult:
    """Train ``params`` on ``(X, y)`` with any optimizer; see the module docstring for what
    a step and an epoch are.

    Args:
        params: Starting ``{"W": (n_classes, n_features), "b": (n_classes,)}`` (not modified).
        X: ndarray of shape (n_samples, n_features), or any shape ``transform`` accepts
            (e.g. uint8 images of shape (n_samples, 28, 28)).
        y: ndarray of shape (n_samples,), integer labels.
        value_and_grad: ``(params, X, y) -> (loss, grads)``, any gradient method (see
            :func:`linclass.grad.make_value_and_grad`); required by gradient optimizers.
        value: ``(params, X, y) -> loss``; used by search optimizers and for evaluation.
            Defaults to ``value_and_grad``'s value (which wastes its gradient).
        optimizer: A name from :data:`linclass.optim.OPTIMIZERS` or a built pair.
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

    Returns:
        A :class:`FitResult`.

    Raises:
        TrainingDivergedError: If the loss or the params become NaN/inf; the message names
            the learning rate.
    """
    X, y = _check_data(X, y, transform)
    has_val = X_val is not None or y_val is not None
    if has_val:
        X_val, y_val = _check_data(X_val, y_val, transform, name="X_val")
    if max_epochs < 1 or patience < 1 or eval_every < 1:
        raise ValueError("max_epochs, patience and eval_every must be >= 1")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
    if early_stopping and not has_val:
        raise ValueError("early_stopping needs a validation set (X_val, y_val)")
    if monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
    shuffle_rng, optimizer_rng = _rngs(random_state)
    n = y.shape[0]

    def total_steps(full_batch: bool) -> int:
        return max_epochs * (1 if full_batch or batch_size is None else -(-n // batch_size))

    opt, full_batch = _make_optimizer(optimizer, learning_rate, optimizer_kwargs, optimizer_rng,
                                      schedule=schedule, steps=total_steps)
    value_and_grad, value = _check_objective(opt, value_and_grad, value)
    params = _match_dtype(_copy(params), X, transform)
    stepper = _Stepper(X, y, opt, value_and_grad, value, None if full_batch else batch_size,
                       transform, shuffle_rng)
    state = opt.init(params)

    history = History()
    watched = monitor if early_stopping else "train_loss"
    sign = -1.0 if watched == "val_accuracy" else 1.0  # so that lower is always better
    min_delta = 0.0 if tol is None else float(tol)
    best_value, best_epoch, best_params, stale = math.inf, 0, None, 0
    seconds, reason = 0.0, "max_epochs"
    with _progress_bar(progress, max_epochs) as advance:
        for epoch in range(1, max_epochs + 1):
            start = time.perf_counter()
            state = stepper.run(params, state, history.step_loss, epoch=epoch)
            seconds += time.perf_counter() - start
            stop = callback is not None and bool(callback(epoch, history, params))
            if not (stop or epoch % eval_every == 0 or epoch == max_epochs):
                advance(epoch, f"loss {history.step_loss[-1]:.4g}")
                continue
            train_loss, train_acc = stepper.evaluate(params, X, y)
            val_loss, val_acc = (math.nan, math.nan)
            if has_val:
                val_loss, val_acc = stepper.evaluate(params, X_val, y_val)
            row = dict(epoch=epoch, train_loss=train_loss, train_accuracy=train_acc,
                       val_loss=val_loss, val_accuracy=val_acc,
                       learning_rate=float(getattr(state, "learning_rate", math.nan)),
                       wall_time=seconds, n_loss_evals=stepper.n_loss_evals,
                       n_samples=stepper.n_samples)
            for key, item in row.items():
                getattr(history, key).append(item)
            advance(epoch, f"loss {train_loss:.4g}  acc {train_acc:.3f}"
                    + (f"  val {val_acc:.3f}" if has_val else ""))

            score = sign * row[watched]
            stale = stale + 1 if score > best_value - min_delta else 0
            if score < best_value:
                best_value, best_epoch = score, epoch
                if early_stopping:
                    best_params = _copy(params)
            if stop:
                reason = "callback"
            elif stale >= patience and (early_stopping or tol is not None):
                reason = "early_stopping" if early_stopping else "converged"
            else:
                continue
            break
    if best_params is not None:
        params = best_params
    return FitResult(params, history, epoch, best_epoch, reason, state)


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
        value_and_grad, value, optimizer, learning_rate, optimizer_kwargs, transform: As in
            :func:`fit`.
        state: The optimizer state from the previous call, or None.
        batch_size: Split the given batch into mini-batches of this size (shuffled by
            ``random_state``); None: one step on all of it.
        random_state: Seed or generator for the order within the batch.

    Returns:
        A :class:`PartialFitResult`.

    Raises:
        TrainingDivergedError: As in :func:`fit`.
    """
    X, y = _check_data(X, y, transform)
    shuffle_rng, optimizer_rng = _rngs(random_state)
    opt, full_batch = _make_optimizer(optimizer, learning_rate, optimizer_kwargs, optimizer_rng)
    value_and_grad, value = _check_objective(opt, value_and_grad, value)
    params = _match_dtype(_copy(params), X, transform)
    stepper = _Stepper(X, y, opt, value_and_grad, value, None if full_batch else batch_size,
                       transform, shuffle_rng)
    if state is None:
        state = opt.init(params)
    losses: list[float] = []
    state = stepper.run(params, state, losses, epoch=1)
    return PartialFitResult(params, state, float(np.mean(losses)), len(losses))


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
    "MONITORS",
    "FitResult",
    "History",
    "PartialFitResult",
    "TrainingDivergedError",
    "evaluate",
    "fit",
    "gradient_descent",
    "partial_fit",
]
