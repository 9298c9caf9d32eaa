"""A sweep in one pass: :func:`fit_heads` trains H settings as stacked heads
(:mod:`linclass.training.heads`) through the one :class:`~linclass.training.runner.Runner`.

Each head follows the rules of its own :func:`~linclass.training.fit`: the same start,
the same batch order (one seed), its own learning rate on the run's schedule, and its own
tolerance stop on its training loss (``tol``, ``patience``, and a decaying schedule must
anneal first: :func:`~linclass.training.loop.annealed`). A head that stops keeps the
params of that epoch and takes no more steps; a head that diverges is dropped with the
reason kept; the run ends when no head trains.

**Memory.** H heads hold about ``7 H C D`` numbers (params, model-coordinate params,
gradients, the penalty's gradient, velocity, a stopped head's copy, the update's
temporary) and ``3 H C m`` per batch of ``m`` rows (scores and gradient in one buffer,
the loss kernel's temporaries). Past ``memory_mb`` the heads train in groups, one group per
pass over the data (the result says how many passes it took), never an out-of-memory
crash.

**Backends.** Rows in memory or on disk train with NumPy (:class:`~linclass.training.
heads.HeadsStep`); ``backend="torch"`` (any device) and Dask arrays take the heads' parts
of the backend the registry names (``make_heads_parts``: :mod:`linclass.backends.
torch_heads`, one product per batch on the device; :mod:`linclass.backends.dask_heads`,
one pass over the partitions per epoch for every head).

**The epoch's loss.** For rows in memory every measured epoch takes one pass over the
training set (as :func:`fit` does), so each head stops where its own fit stops. For rows
on disk, where a pass costs a read, ``epoch_loss="running"`` uses the mean of the epoch's
batch losses instead (as scikit-learn's ``SGDClassifier`` does): the data are read once per
epoch, plus once at the end for the held-out scores. Without a tolerance stop
(``tol=None``) and an ``on_epoch`` watcher no epoch is measured: nothing would read it.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np

from linclass.backends.registry import load, resolve_backend
from linclass.model import Params
from linclass.optim import GradientOptimizer, SearchOptimizer
from linclass.options import PARAMS, choice, names
from linclass.training.arrays import float_rows, is_dask, is_out_of_core
from linclass.training.heads import Dropped, Heads, HeadsStep, OnEpoch
from linclass.training.history import TrainingDivergedError
from linclass.training.loop import annealed
from linclass.training.parts import Parts, backend_for
from linclass.training.runner import Runner
from linclass.training.sampler import CHUNK_ROWS, BatchSampler
from linclass.training.setup import check_data, check_labels, make_optimizer, match_dtype, rngs
from linclass.training.threads import one_blas_thread
from linclass.training.workspace import Transform

#: Megabytes of weights and batch buffers a sweep may hold at once (``LINCLASS_SWEEP_MB``).
MEMORY_MB = 1024
#: How each epoch's loss is measured: a pass over the training set, or the batches' mean.
EPOCH_LOSSES = ("pass", "running")


@dataclass(frozen=True)
class HeadsSpec:
    """What a backend's ``make_heads_parts(spec)`` makes the heads' step and batch source
    from (:mod:`linclass.backends.registry`, ``Entry.heads``).

    Attributes:
        heads: The settings.
        X: Stored rows, checked.
        y: The labels with each head's masks and weights as columns
            (:meth:`~linclass.training.heads.Heads.stack_rows`).
        batch_size: Rows per mini-batch, or None for full-batch steps.
        rng: Generator of the batch order (None without mini-batches).
        transform: Stored rows -> features, or None.
        chunk_rows: Rows per chunk of a full pass.
        device: The device name.
        dtype: The params' float type.
        n_outputs: C, the classes (or outputs) of every head.
    """

    heads: Heads
    X: Any
    y: Any
    batch_size: int | None
    rng: np.random.Generator | None
    transform: Transform | None
    chunk_rows: int
    device: str
    dtype: np.dtype
    n_outputs: int = 1


@dataclass
class HeadsResult:
    """What :func:`fit_heads` returns, one entry per head.

    Attributes:
        params: ``{"W": (H, C, D), "b": (H, C)}`` in the model's coordinates (zeros for a
            dropped head).
        objective: ndarray of shape (H,): ``J_h`` on its training rows at its last epoch.
        held_out: ndarray of shape (H,): its score (accuracy, or minus the mean squared
            error) on the validation
            set or its held-out rows; NaN without either, or for a dropped head.
        n_iter: ndarray of shape (H,): epochs it trained.
        status: ``"converged"``, ``"max_epochs"`` or the reason it was dropped.
        history: ``epoch`` (E,), ``objective`` and ``held_out`` (E, H) of measured epochs.
        n_passes: Passes over the training data (epochs of every group, plus measuring
            passes).
        n_groups: Groups the heads trained in (1 unless the memory budget split them).
        seconds: Wall time of the steps; ``eval_seconds``: of the measurements.
        why: A dropped head's :class:`~linclass.training.heads.Dropped`, by head.
    """

    params: Params
    objective: np.ndarray
    held_out: np.ndarray
    n_iter: np.ndarray
    status: list[str]
    history: dict[str, Any] = field(default_factory=dict)
    n_passes: int = 0
    n_groups: int = 1
    seconds: float = 0.0
    eval_seconds: float = 0.0
    why: dict[int, Dropped] = field(default_factory=dict)

    @property
    def dropped(self) -> np.ndarray:
        """ndarray of shape (H,), bool: the heads that diverged."""
        return np.array([s.startswith("diverged") for s in self.status])


def heads_per_group(n_heads: int, n_classes: int, n_features: int, batch_size: int,
                    itemsize: int, memory_mb: float) -> int:
    """How many heads fit in ``memory_mb`` (module docstring), at least 1."""
    per_head = itemsize * (7 * n_classes * n_features + 3 * n_classes * batch_size)
    return max(1, min(n_heads, int(memory_mb * 2**20 // max(per_head, 1))))


def fit_heads(
    start: Params,
    X: Any,
    y: np.ndarray,
    heads: Heads,
    *,
    optimizer: str = PARAMS["optimizer"].default,
    schedule: str = "constant",
    optimizer_kwargs: Mapping[str, Any] | None = None,
    batch_size: int | None = 256,
    max_epochs: int = 50,
    tol: float | None = None,
    patience: int = 5,
    random_state: int | np.random.Generator | None = 0,
    transform: Transform | None = None,
    X_val: Any = None,
    y_val: np.ndarray | None = None,
    eval_every: int = 1,
    epoch_loss: str | None = None,
    on_epoch: OnEpoch | None = None,
    memory_mb: float | None = None,
    chunk_rows: int = CHUNK_ROWS,
    backend: str | None = None,
    device: str = "cpu",
) -> HeadsResult:
    """Train every head of ``heads`` from ``start`` on ``(X, y)``, one read of each batch
    for all of them (module docstring).

    Args:
        start: ``{"W": (C, D), "b": (C,)}``, every head's start, in its coordinates.
        X: Stored rows (n, D), in memory or on disk (a memory map, a zarr array).
        y: Labels in ``[0, C)``, or a regressor's targets, shape (n,).
        heads: The settings (:class:`~linclass.training.heads.Heads`).
        optimizer: A gradient optimizer's name (``gd``, ``sgd``, ``momentum``,
            ``nesterov``): the heads' rates scale their gradients, exact for these
            linear updates.
        schedule, optimizer_kwargs, batch_size, max_epochs, tol, patience, eval_every,
            transform, chunk_rows: As in :func:`linclass.training.fit`.
        random_state: Seed or generator of the batch order (``fit``'s ``random_state``).
        X_val, y_val: A validation set every head is scored on at each measured epoch.
        epoch_loss: ``"pass"`` or ``"running"`` (module docstring); None: ``"pass"`` for
            rows in memory, ``"running"`` for rows on disk.
        on_epoch: ``on_epoch(epoch, objective, held_out)`` after each measured epoch
            (a live heat map).
        memory_mb: The budget of the module docstring (None: ``LINCLASS_SWEEP_MB`` or
            :data:`MEMORY_MB`).
        backend, device: Where the heads train (``fit``'s; a Dask array trains on Dask).

    Returns:
        A :class:`HeadsResult`.

    Raises:
        ValueError: A search optimizer or solver, data the heads cannot take.
        TrainingDivergedError: Every head diverged.
    """
    record = choice("optimizer", optimizer)
    if record.has("search") or record.has("solver"):
        raise ValueError(f"stacked heads train the gradient optimizers "
                         f"({', '.join(names('optimizer', 'gradient'))}), not {optimizer!r} "
                         "(lbfgs: linclass.training.regularization_path)")
    where = backend_for(X, backend, device)
    if is_dask(y):  # the labels (one number a row) come here; the rows stay where they are
        y = np.asarray(y)
    if epoch_loss is not None and epoch_loss not in EPOCH_LOSSES:
        raise ValueError(f"epoch_loss must be one of {EPOCH_LOSSES}, got {epoch_loss!r}")
    if transform is None and is_out_of_core(X):
        transform = float_rows
    X, y = check_data(X, y, transform)
    for name in ("masks", "row_weights"):
        value = getattr(heads, name)
        if value is not None and value.shape[1] != y.shape[0]:
            raise ValueError(f"{name} must have shape ({heads.n_heads}, {y.shape[0]}), got "
                             f"{value.shape}")
    if not heads.regression:
        check_labels(y, start["W"].shape[0])
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if X_val is not None:
        X_val, y_val = check_data(X_val, cast(np.ndarray, y_val), transform, name="X_val")
    if max_epochs < 1 or patience < 1 or eval_every < 1:
        raise ValueError("max_epochs, patience and eval_every must be >= 1")
    epoch_loss = epoch_loss or ("running" if is_out_of_core(X) else "pass")
    start = match_dtype({k: np.array(v) for k, v in start.items()}, X, transform)
    C, D = start["W"].shape
    budget = float(os.environ.get("LINCLASS_SWEEP_MB", MEMORY_MB) if memory_mb is None
                   else memory_mb)
    size = heads_per_group(heads.n_heads, C, D, batch_size or CHUNK_ROWS,
                           start["W"].dtype.itemsize, budget)
    groups = [np.arange(i, min(i + size, heads.n_heads)) for i in range(0, heads.n_heads, size)]
    parts = [_fit_group(start, X, y, _subset(heads, g), where, device, optimizer=optimizer,
                        schedule=schedule,
                        optimizer_kwargs=optimizer_kwargs, batch_size=batch_size,
                        max_epochs=max_epochs, tol=tol, patience=patience,
                        seed=copy.deepcopy(random_state),  # every group: one batch order
                        transform=transform, X_val=X_val, y_val=y_val, eval_every=eval_every,
                        epoch_loss=epoch_loss, on_epoch=None if on_epoch is None else
                        _offset(on_epoch, g, heads.n_heads), chunk_rows=chunk_rows)
             for g in groups]
    joined = _join(parts)
    if joined.dropped.all():  # the head with the smallest rate says what happened
        why = joined.why[int(np.argmin(heads.rates))]
        raise TrainingDivergedError(why.loss, learning_rate=why.rate, epoch=why.epoch,
                                    step=why.step, start_loss=why.start)
    return joined


def _subset(heads: Heads, index: np.ndarray) -> Heads:
    """The heads ``index`` of ``heads``."""
    pick = (lambda a: None if a is None else a[index])  # noqa: E731
    return replace(heads, alphas=heads.alphas[index], rates=heads.rates[index],
                   inv_sigma=pick(heads.inv_sigma), masks=pick(heads.masks),
                   row_weights=pick(heads.row_weights))


def _offset(on_epoch: OnEpoch, index: np.ndarray, n_heads: int) -> OnEpoch:
    """A group's ``on_epoch`` in the numbering of all heads (NaN for the others)."""
    def each(epoch: int, objective: np.ndarray, held_out: np.ndarray | None) -> None:
        full = np.full(n_heads, np.nan)
        full[index] = objective
        out = None
        if held_out is not None:
            out = np.full(n_heads, np.nan)
            out[index] = held_out
        on_epoch(epoch, full, out)
    return each


def _join(parts: list[HeadsResult]) -> HeadsResult:
    """One result from the groups' results, heads in order."""
    if len(parts) == 1:
        return parts[0]
    cat = np.concatenate
    epochs = max((p.history["epoch"] for p in parts), key=len)
    def padded(key: str) -> np.ndarray:
        rows = len(epochs)
        return np.concatenate([np.vstack([p.history[key], np.full(
            (rows - len(p.history[key]), p.history[key].shape[1]), np.nan)])
            if len(p.history[key]) < rows else p.history[key] for p in parts], axis=1)
    return HeadsResult(
        {k: cat([p.params[k] for p in parts]) for k in ("W", "b")},
        cat([p.objective for p in parts]), cat([p.held_out for p in parts]),
        cat([p.n_iter for p in parts]), [s for p in parts for s in p.status],
        {"epoch": epochs, "objective": padded("objective"), "held_out": padded("held_out")},
        sum(p.n_passes for p in parts), len(parts), sum(p.seconds for p in parts),
        sum(p.eval_seconds for p in parts), {
            k + sum(q.n_iter.shape[0] for q in parts[:i]): why
            for i, p in enumerate(parts) for k, why in p.why.items()})


def _heads_parts(where: str, spec: HeadsSpec) -> Parts:
    """The heads' step and batch source: NumPy's (:class:`HeadsStep`, :func:`_source`) or
    those of the backend ``where`` (its ``make_heads_parts``)."""
    if where == resolve_backend(None, "cpu"):
        step = HeadsStep(spec.heads, spec.transform, spec.chunk_rows)
        source = (None if spec.batch_size is None or spec.rng is None else
                  _source(spec.X, spec.y, spec.batch_size, spec.rng))
        return Parts(step, source)
    return cast(Parts, load(where, "heads").make_heads_parts(spec))


def _source(X: Any, y: np.ndarray, batch: int | None, rng: np.random.Generator) -> Any:
    """The batch source of the NumPy backend for rows in memory or on disk."""
    numpy = load("numpy")
    if batch is None:
        return None
    if is_out_of_core(X):
        return numpy.WindowSource(X, y, batch, rng)
    return numpy.MemorySource(X, y, BatchSampler(y.shape[0], batch, rng))


def _fit_group(start: Params, X: Any, y: np.ndarray, heads: Heads, where: str, device: str,
               *, optimizer: str,
               schedule: str, optimizer_kwargs: Mapping[str, Any] | None,
               batch_size: int | None, max_epochs: int, tol: float | None, patience: int,
               seed: Any, transform: Transform | None, X_val: Any, y_val: Any,
               eval_every: int, epoch_loss: str, on_epoch: OnEpoch | None,
               chunk_rows: int) -> HeadsResult:
    """:func:`fit_heads` for one group of heads (one pass per epoch)."""
    H, n = heads.n_heads, y.shape[0]
    shuffle_rng, optimizer_rng = rngs(seed)
    batch = batch_size if batch_size is not None and batch_size < n else None

    def total_steps(full_batch: bool) -> int:
        return max_epochs * (1 if full_batch or batch is None else -(-n // batch))

    opt, full_batch = make_optimizer(optimizer, 1.0, optimizer_kwargs, optimizer_rng,
                                     schedule=schedule, steps=total_steps)
    assert not isinstance(opt, SearchOptimizer)
    # Labels, masks and weights travel together (HeadsStep.split), whatever the source.
    rows_y = heads.stack_rows(y)
    parts = _heads_parts(where, HeadsSpec(heads, X, rows_y, None if full_batch else batch,
                                          shuffle_rng, transform, chunk_rows, device,
                                          start["W"].dtype, start["W"].shape[0]))
    step = cast(HeadsStep, parts.step)
    runner = Runner(parts, opt, X, rows_y)
    params = step.put({k: np.repeat(v[None], H, axis=0) for k, v in start.items()})
    state = cast(GradientOptimizer, opt).init(params)
    best = np.full(H, np.inf)
    stale = np.zeros(H, dtype=int)
    n_iter = np.full(H, max_epochs)
    status = ["max_epochs"] * H
    kept: dict[str, np.ndarray] = {"W": np.zeros((H, *start["W"].shape), start["W"].dtype),
                                   "b": np.zeros((H, *start["b"].shape), start["b"].dtype)}
    history: dict[str, list[Any]] = {"epoch": [], "objective": [], "held_out": []}
    rates: list[float] = []
    min_delta = 0.0 if tol is None else float(tol)
    passes, eval_seconds = 0, 0.0
    small = (batch or n) <= CHUNK_ROWS
    # Without a tolerance stop or a watcher nothing reads an epoch's loss: the heads are
    # measured once, at the end (evaluation off the hot path).
    watched = tol is not None or on_epoch is not None
    def blas() -> contextlib.AbstractContextManager:
        # the measuring passes too: on a busy machine a second thread's spin-waits made
        # a 16-head pass over 54,000 rows slower (2.3 s against 1.5 s, load 9)
        return one_blas_thread() if small else contextlib.nullcontext()

    with blas():
        for epoch in range(1, max_epochs + 1):
            step.epoch = epoch
            first = len(runner.losses)
            try:
                state = runner.run(params, state, epoch)
            except TrainingDivergedError:
                break  # every head has left (each one's reason is kept)
            passes += 1
            if not watched or not (epoch % eval_every == 0 or epoch == max_epochs):
                continue
            since = time.perf_counter()
            held: np.ndarray | None = None
            if epoch_loss == "pass":
                measured = step.measure(params, X, rows_y, held_out=heads.masks is not None)
                passes += 1
                objective, held = measured.objective, measured.held_out
            else:
                losses = np.array(runner.losses[first:], dtype=np.float64)
                with np.errstate(invalid="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # a dropped head: NaN
                    objective = np.nanmean(losses, axis=0) / heads.loss_scale
                objective = np.where(step.alive, objective, np.nan)
            if X_val is not None:
                held = step.measure(params, X_val, y_val).held_out
            eval_seconds += time.perf_counter() - since
            rates.append(float(np.max(getattr(state, "learning_rate", math.nan))))
            history["epoch"].append(epoch)
            history["objective"].append(objective)
            history["held_out"].append(np.full(H, np.nan) if held is None else held)
            if on_epoch is not None:
                on_epoch(epoch, objective, held)
            # each head's tolerance stop, as EpochEnd decides it for one fit
            training = step.training & step.alive
            stale = np.where(objective > best - min_delta, stale + 1, 0)
            best = np.where(objective < best, objective, best)
            stop = training & (stale >= patience) & (tol is not None) & annealed(rates, schedule)
            for k in np.flatnonzero(stop):
                n_iter[k], status[k] = epoch, "converged"
            if stop.any():
                model = step.host(step.model(params))
                kept["W"][stop], kept["b"][stop] = model["W"][stop], model["b"][stop]
                step.training &= ~stop
            if not (step.training & step.alive).any():
                break
    seconds = runner.seconds
    model = step.host(step.model(params))
    going = step.training & step.alive
    kept["W"][going], kept["b"][going] = model["W"][going], model["b"][going]
    for head, why in step.dropped.items():
        status[head], n_iter[head] = why.describe(), why.epoch
        kept["W"][head], kept["b"][head] = 0, 0
    since = time.perf_counter()
    # The final numbers of every head from its kept params, in one more pass.
    final_heads = replace(heads, mu=None, inv_sigma=None, out_scale=1.0, out_shift=0.0)
    final = (HeadsStep(final_heads, transform, chunk_rows) if type(step) is HeadsStep
             else cast(Any, step).for_heads(final_heads))  # a backend's: rows where they are
    final.alive = step.alive.copy()
    with blas():
        measured = final.measure(kept, X, rows_y, held_out=heads.masks is not None)
        held = measured.held_out
        if X_val is not None:
            held = final.measure(kept, X_val, y_val).held_out
    passes += 1
    eval_seconds += time.perf_counter() - since
    return HeadsResult(
        kept, measured.objective, np.full(H, np.nan) if held is None else held, n_iter,
        status, {"epoch": np.array(history["epoch"], dtype=int),
                 "objective": np.array(history["objective"]).reshape(-1, H),
                 "held_out": np.array(history["held_out"]).reshape(-1, H)},
        passes, 1, seconds, eval_seconds, dict(step.dropped))


__all__ = ["EPOCH_LOSSES", "MEMORY_MB", "HeadsResult", "HeadsSpec", "fit_heads",
           "heads_per_group"]
