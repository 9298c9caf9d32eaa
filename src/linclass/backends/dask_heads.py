"""Stacked heads on a Dask array: one pass over the partitions per epoch for every head.

**Full-batch heads** (``gd``, or a batch of all the rows). Each epoch the heads' params go
to the workers as one shared key, and every partition ``p`` computes, with
the NumPy heads step on its own rows (a chunk at a time, one product per chunk for all
heads), its part of every head's objective and stacked gradient (H, C, D); only these
come back, summed on a worker. The rows never move to the client.

**Each head's mean.** Head ``h`` trains on its own ``N_h`` rows (all of them, or its
mask's: folds as heads). A partition's step divides its rows' sum by ``N_h / P`` (the
step's ``counts``, P partitions) and adds the penalty, so

    J_h = 1/P sum_p [ P/N_h sum_{i in p, h} v_i L_ih + R_h ] = 1/N_h sum_i v_i L_ih + R_h

and the same for the gradient (the coordinate map and the rates are linear): the mean of
the partitions' results is the in-memory step's, up to the order of floating-point sums.
Held-out scores are the partitions' scores weighted by their held-out rows.

The masks and row weights travel with the labels, as columns of ``y`` partitioned like the
rows (:meth:`~linclass.training.heads.Heads.stack_rows`), so the heads' settings sent to
the workers hold only what is (H, ...) or (H, D).

**Mini-batch heads: local SGD** (:class:`LocalSGDHeads`, as
:class:`~linclass.backends.dask.LocalSGD` does for one fit). Each epoch every partition
runs one epoch of the NumPy heads' mini-batch loop on its rows from the current params and
optimizer state (the same :class:`~linclass.training.runner.Runner`, batch order from the
run's generator), and the client averages the params and buffers, weighted by ``n_p / N``;
a head that diverged on any partition is dropped, with the reason kept. Each head then
takes exactly the steps of its own local-SGD fit on the Dask array with the same seed.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import replace
from typing import Any, cast

import numpy as np

from linclass.backends import numpy as numpy_backend
from linclass.backends.dask import _average, _compute, _named, _partition_ranges
from linclass.model import Params
from linclass.training.heads import Dropped, Heads, HeadsStep, Measured
from linclass.training.history import TrainingDivergedError
from linclass.training.parts import Parts
from linclass.training.runner import Runner
from linclass.training.sampler import BatchSampler
from linclass.training.sweep import HeadsSpec
from linclass.training.workspace import Transform


def _worker_heads(heads: Heads) -> Heads:
    """The heads as a partition's step takes them: masks and row weights stand in as
    (H, 1) placeholders (their values come with each partition's labels; the step reads
    from them only that the labels carry those columns)."""
    H = heads.n_heads
    return replace(heads,
                   masks=None if heads.masks is None else np.ones((H, 1), dtype=bool),
                   row_weights=None if heads.row_weights is None else np.ones((H, 1)))


def _partition_heads(params: Params, X_p: Any, y_p: Any, i: int, rows: tuple[int, int],
                     heads: Heads, counts: np.ndarray, alive: np.ndarray,
                     training: np.ndarray, transform: Transform | None, chunk_rows: int,
                     want: str) -> Any:
    """On a worker: one partition's part of every head (module docstring):
    ``(J (H,), grads)`` (``want="grad"``) or ``(objective (H,), held-out score (H,) or
    None, held-out rows (H,))``."""
    try:
        step = HeadsStep(heads, transform, chunk_rows)
        step.counts = counts  # each head's N_h / P: the partitions' mean is the whole's
        step.alive, step.training = alive.copy(), training.copy()
        X_p, y_p = np.asarray(X_p), np.asarray(y_p)
        if X_p.dtype.kind == "f" and not np.isfinite(X_p).all():
            raise ValueError("X contains NaN or inf")
        if want == "grad":
            return step.full(params, X_p, y_p)
        held = want == "measure_held"
        out = step.measure(params, X_p, y_p, held_out=held)
        mask = step.split(y_p)[1]
        n_out = (np.full(heads.n_heads, float(y_p.shape[0])) if mask is None
                 else (~mask).sum(axis=0).astype(np.float64))
        return out.objective, out.held_out, n_out
    except ValueError as e:
        raise _named(i, rows, e) from None


def _local_heads_epoch(params: Params, state: Any, X_p: Any, y_p: Any, i: int,
                       rows: tuple[int, int], heads: Heads, alive: np.ndarray,
                       training: np.ndarray, optimizer: Any, batch_size: int,
                       transform: Transform | None, chunk_rows: int, seed: int, epoch: int,
                       steps: int) -> tuple[Params, Any, list[Any], np.ndarray,
                                            dict[int, Dropped], int, int, int]:
    """On a worker: one epoch of every head's mini-batch loop on one partition; returns
    the params, state, batch losses, which heads are alive, why the others left, and the
    runner's counts."""
    # copies: the shared params and state are one object per worker (module dask's note)
    params = {k: np.array(v, copy=True) for k, v in params.items()}
    state = copy.deepcopy(state)
    try:
        X_p, y_p = np.asarray(X_p), np.asarray(y_p)
        if X_p.dtype.kind == "f" and not np.isfinite(X_p).all():
            raise ValueError("X contains NaN or inf")
        step = HeadsStep(heads, transform, chunk_rows)
        step.alive, step.training = alive.copy(), training.copy()
        step.epoch, step.steps = epoch, steps
        n = y_p.shape[0]
        source = None
        if batch_size < n:
            source = numpy_backend.MemorySource(X_p, y_p, BatchSampler(
                n, batch_size, np.random.default_rng(seed)))
        else:  # a partition within one batch: one step on its rows, each head's mean
            mask = step.split(y_p)[1]
            step.counts = (np.full(heads.n_heads, float(n)) if mask is None
                           else np.maximum(mask.sum(axis=0), 1).astype(np.float64))
        runner = Runner(Parts(step, source), optimizer, X_p, y_p)
        try:
            state = runner.run(params, state, epoch)
        except TrainingDivergedError:
            pass  # every head left on this partition: each one's reason is kept
    except ValueError as e:
        raise _named(i, rows, e) from None
    return (params, state, runner.losses, step.alive, step.dropped, runner.n_steps,
            runner.n_loss_evals, runner.n_samples)


def _mean_grads(parts: list[Any]) -> tuple[np.ndarray, Params]:
    """On a worker: the mean of the partitions' ``(J, grads)``."""
    P = len(parts)
    J = sum(p[0] for p in parts) / P
    return J, {k: sum(p[1][k] for p in parts) / P for k in parts[0][1]}


def _join_measures(parts: list[Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """On a worker: the mean objective, and the held-out scores weighted by their rows."""
    objective = sum(p[0] for p in parts) / len(parts)
    if parts[0][1] is None:
        return objective, None
    n_out = sum(p[2] for p in parts)
    hits = sum(np.where(p[2] > 0, np.nan_to_num(p[1]), 0.0) * p[2] for p in parts)
    with np.errstate(invalid="ignore", divide="ignore"):
        return objective, hits / n_out


class _Partitions:
    """The rows and labels of a Dask array, partition by partition (persisted on the
    workers for a training set)."""

    def __init__(self, X: Any, y: np.ndarray, persist: bool) -> None:
        import dask
        import dask.array as da

        if X.ndim != 2 or len(X.chunks[1]) != 1:
            raise ValueError(f"X must be 2-D and split along rows only, got chunks of "
                             f"{X.chunks[1]} columns; use X.rechunk({{1: -1}})")
        if any(np.isnan(c) for c in X.chunks[0]):
            raise ValueError("X has unknown partition sizes: call X.compute_chunk_sizes() "
                             "first")
        y = np.asarray(y)
        yd = da.from_array(y, chunks=(X.chunks[0], *((y.shape[1],) if y.ndim == 2 else ())))
        if persist:
            X, yd = dask.persist(X, yd)
        self.X, self.y = X, yd
        self.ranges = _partition_ranges(X)
        self.blocks = list(zip(X.to_delayed().ravel(), yd.to_delayed().ravel(), strict=True))
        n = max(1, sum(b - a for a, b in self.ranges))
        self.weights = [(b - a) / n for a, b in self.ranges]  # a partition's share of rows


class LocalSGDHeads:
    """The mini-batch epochs of stacked heads on a Dask array (module docstring): the
    :class:`~linclass.training.parts.BatchSource` of :class:`DaskHeadsStep`.

    Args:
        step: The heads' step (its partitions, bookkeeping).
        batch_size: Rows per mini-batch.
        rng: The run's generator of the batch order (a seed per partition and epoch).
    """

    def __init__(self, step: DaskHeadsStep, batch_size: int, rng: np.random.Generator) -> None:
        self.step, self.batch_size, self.rng = step, int(batch_size), rng

    def run_epoch(self, runner: Runner, params: Params, state: Any, epoch: int) -> Any:
        import dask

        step = self.step
        parts = step.train
        step._clear(params)
        shared_params = dask.delayed(params, traverse=False)
        shared_state = dask.delayed(state, traverse=False)
        seeds = self.rng.integers(2**63, size=len(parts.blocks))
        tasks = [dask.delayed(_local_heads_epoch)(
            shared_params, shared_state, X_p, y_p, i, rows, step.worker_heads, step.alive,
            step.training, runner.optimizer, self.batch_size, step.transform,
            step.chunk_rows, int(seed), epoch, step.steps)
            for i, ((X_p, y_p), rows, seed) in enumerate(
                zip(parts.blocks, parts.ranges, seeds, strict=True))]
        results = _compute(*tasks)
        step.n_passes += 1
        H = step.heads.n_heads
        for r in results:  # a head that left on any partition leaves the run
            left = step.alive & ~r[3]
            for h in np.flatnonzero(left):
                why = r[4][int(h)]
                step.drop(np.arange(H) == h, np.full(H, why.loss), np.full(H, why.start))
        weights = parts.weights
        averaged = _average([r[0] for r in results], weights)
        for k in params:
            params[k][...] = averaged[k]
        steps = sum(r[5] for r in results)
        step.steps += steps
        new_state = _average([r[1] for r in results], weights)
        if hasattr(new_state, "count"):  # the schedule moves as if the partitions ran in turn
            new_state = new_state._replace(count=state.count + steps)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a dropped head: NaN
            means = [np.nanmean(np.array(r[2], dtype=np.float64).reshape(-1, H), axis=0)
                     for r in results]
        loss = sum(w * m for m, w in zip(means, weights, strict=True))
        runner.losses.append(cast(Any, np.where(step.alive, loss, np.nan)))
        runner.tally(steps, sum(r[6] for r in results), sum(r[7] for r in results))
        step._clear(params)
        return new_state


class DaskHeadsStep(HeadsStep):
    """The :class:`~linclass.training.parts.Step` of H stacked heads on a Dask array: full
    passes reduced on the workers (module docstring); the heads' bookkeeping (which are
    alive, dropped and why) is the NumPy step's, here.

    Args:
        heads: The settings.
        X: Dask array (n, D), split along rows.
        y: The labels with the heads' columns (n,) or (n, 1 + H [+ H]), in memory.
        transform: Stored rows -> features on the workers, or None.
        chunk_rows: Rows per chunk of a partition's pass.
        partitions: The training partitions, already made (another step's).
    """

    def __init__(self, heads: Heads, X: Any, y: np.ndarray, transform: Transform | None,
                 chunk_rows: int, partitions: _Partitions | None = None) -> None:
        super().__init__(heads, transform, chunk_rows)
        self.given = X
        self.train = partitions or _Partitions(X, y, persist=True)
        self.worker_heads = _worker_heads(heads)
        self.n_passes = 0  # passes over the partitions (every head at once)
        totals = (self.counts if self.counts is not None
                  else np.full(heads.n_heads, float(X.shape[0])))
        P = len(self.train.blocks)
        if (totals < P).any():
            raise ValueError(f"a head has {int(totals.min())} training rows, fewer than the "
                             f"{P} partitions of X: use fewer partitions (X.rechunk)")
        self.part_counts = totals / P

    def for_heads(self, heads: Heads) -> DaskHeadsStep:
        """A step of other heads on the same (persisted) partitions."""
        return DaskHeadsStep(heads, self.given, np.empty(0), self.transform, self.chunk_rows,
                             self.train)

    def _run(self, params: Params, parts: _Partitions, counts: np.ndarray, want: str,
             join: Any) -> Any:
        import dask

        shared = dask.delayed(params, traverse=False)  # one key: sent once per worker
        tasks = [dask.delayed(_partition_heads)(
            shared, X_p, y_p, i, rows, self.worker_heads, counts, self.alive, self.training,
            self.transform, self.chunk_rows, want)
            for i, ((X_p, y_p), rows) in enumerate(zip(parts.blocks, parts.ranges,
                                                       strict=True))]
        self.n_passes += 1
        return _compute(dask.delayed(join)(tasks))[0]

    def batch(self, params: Params, X: Any, y: Any, rows: Any) -> tuple[Any, Params]:
        raise TypeError("a Dask array's mini-batches run on its workers (LocalSGDHeads)")

    def full(self, params: Params, X: Any, y: Any) -> tuple[Any, Params]:
        """``(J (H,), grads)`` of the whole array: one pass over the partitions."""
        self.steps += 1
        self._clear(params)
        return self._run(params, self.train, self.part_counts, "grad", _mean_grads)

    def measure(self, params: Params, X: Any, y: Any, *, held_out: bool = True) -> Measured:
        """Every head's objective and held-out score (:meth:`HeadsStep.measure`): on the
        workers for a Dask array, here for rows in memory."""
        if not hasattr(X, "dask"):
            return super().measure(params, X, y, held_out=held_out)
        self._clear(params)
        if X is self.given or X is self.train.X:
            parts, counts = self.train, self.part_counts
        else:
            parts = _Partitions(X, np.asarray(y), persist=False)
            counts = np.full(self.heads.n_heads, X.shape[0] / len(parts.blocks))
        objective, score = self._run(params, parts, counts,
                                     "measure_held" if held_out else "measure",
                                     _join_measures)
        objective = np.where(self.alive, objective, np.nan)
        return Measured(objective, None if score is None else
                        np.where(self.alive, score, np.nan))


def make_heads_parts(spec: HeadsSpec) -> Parts:
    """The heads' step and batch source on a Dask array (the registry's hook for
    :func:`linclass.training.sweep.fit_heads`): full passes, or local SGD.

    Raises:
        ValueError: Partitions that do not fit.
    """
    step = DaskHeadsStep(spec.heads, spec.X, spec.y, spec.transform, spec.chunk_rows)
    if spec.batch_size is None or spec.batch_size >= spec.y.shape[0]:
        return Parts(step, None)
    assert spec.rng is not None
    return Parts(step, LocalSGDHeads(step, spec.batch_size, spec.rng))


__all__ = ["DaskHeadsStep", "LocalSGDHeads", "make_heads_parts"]
