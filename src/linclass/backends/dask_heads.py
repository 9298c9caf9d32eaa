"""Stacked heads on a Dask array: one pass over the partitions per epoch for every head.

A sweep's heads (:mod:`linclass.training.heads`) take full-batch steps here. Each epoch the
heads' params go to the workers as one shared key, and every partition ``p`` computes, with
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

Mini-batch heads (local SGD) do not run here: a sweep on a Dask array takes
``optimizer="gd"`` (or a batch of all the rows), refused otherwise before any work.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from linclass.backends.dask import _compute, _named, _partition_ranges
from linclass.model import Params
from linclass.training.heads import Heads, HeadsStep, Measured
from linclass.training.parts import Parts
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
        raise TypeError("stacked heads on a Dask array take full-batch steps")

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
    """The heads' step on a Dask array (the registry's hook for
    :func:`linclass.training.sweep.fit_heads`); full-batch only.

    Raises:
        ValueError: Mini-batch heads (before any work), or partitions that do not fit.
    """
    if spec.batch_size is not None and spec.batch_size < spec.y.shape[0]:
        raise ValueError("stacked heads on a Dask array take full-batch steps, one pass "
                         "over the partitions per epoch for every head: use "
                         "optimizer='gd' (mini-batch heads, local SGD, do not run on Dask)")
    return Parts(DaskHeadsStep(spec.heads, spec.X, spec.y, spec.transform, spec.chunk_rows),
                 None)


__all__ = ["DaskHeadsStep", "make_heads_parts"]
