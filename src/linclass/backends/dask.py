"""Training on Dask arrays: the work runs where the partitions live.

Works with any scheduler Dask is using: a ``distributed.Client`` (LocalCluster, SSH,
Kubernetes, ...; whichever is the default when :func:`linclass.training.fit` runs) or Dask's
local threaded/process schedulers. Nothing here schedules or sends anything itself.

**Full-batch methods** (``gd``, ``lbfgs``, evaluation). The objective is a mean over rows,
so with partitions ``p`` of ``n_p`` rows

    J = sum_p (n_p / N) J_p,        dJ/dW = sum_p (n_p / N) dJ_p/dW

Each iteration the parameters go to the workers as one shared key; every partition
computes its ``(J_p, grads_p)`` there (a chunk of rows at a time, by the NumPy backend's
checked step, :class:`~linclass.backends.numpy.NumpyStep`), and only these C x D sums come
back. The
data never moves to the client. ``lbfgs`` on Dask therefore takes the same iterates as in
memory, up to the order of floating-point sums.

**Mini-batch methods** (``sgd``, ``momentum``, ``nesterov``): *local SGD* (model
averaging). Each epoch, every partition runs one epoch of the ordinary mini-batch loop on
its own rows from the current parameters and optimizer state (the same
:class:`~linclass.training.runner.Runner` over the NumPy backend's parts); the client then averages
the resulting parameters and momentum buffers, weighted by ``n_p / N``. The schedule's
step advances by the updates of all partitions, as if they had run one after another, so
a decaying schedule ends where it would in memory. For a convex objective, averaging
after every epoch converges like mini-batch SGD with a K-times larger effective batch
(Stich 2019, "Local SGD converges fast and communicates little"): close to in-memory SGD
when the partitions are shuffled samples of the data, slower when each partition holds a
few classes only (each local model then drifts toward its partition's optimum).

**Failures** are refused before any work where possible: X and y with different row
partitions, X split along its columns, or unknown partition sizes. NaN or inf in a
partition raises ``ValueError`` naming the partition and its rows. A worker lost mid-fit is
Dask's to handle: it reruns the lost tasks elsewhere (every task is a pure function of the
parameters and its partition, so the fit takes the same iterates), or, once a task has
killed more workers than ``distributed.scheduler.allowed-failures`` allows, gives up; the
fit then raises :class:`WorkerLostError` and leaves no partial model.
"""

from __future__ import annotations

import copy
import math
from typing import Any, NamedTuple

import numpy as np

from linclass.backends import numpy as numpy_backend
from linclass.model import Params
from linclass.options import names
from linclass.training.arrays import float_rows
from linclass.training.parts import InHostMemory, Parts, Spec
from linclass.training.runner import Runner
from linclass.training.sampler import CHUNK_ROWS
from linclass.training.setup import check_data


class WorkerLostError(RuntimeError):
    """Dask gave up on a task whose workers kept dying; the fit stopped, nothing fitted."""


def _compute(*tasks: Any) -> tuple[Any, ...]:
    """``dask.compute(*tasks)``, with Dask giving up on a lost worker as
    :class:`WorkerLostError` (the original chained)."""
    import dask

    try:
        from distributed import KilledWorker
    except ImportError:  # Dask's local schedulers lose no workers
        return dask.compute(*tasks)
    try:
        return dask.compute(*tasks)
    except KilledWorker as e:
        raise WorkerLostError(
            f"a Dask worker died while computing {e.task!r} (after {e.allowed_failures + 1} "
            "attempt(s)); the fit stopped (no partial model). Check the workers' logs (out "
            "of memory?), give them more memory, or allow more retries with the Dask "
            "setting distributed.scheduler.allowed-failures") from e


def check_partitions(X: Any, y: Any) -> tuple[Any, Any]:
    """X and y as Dask arrays with the same row partitions (checked before any work).

    Args:
        X: ``dask.array.Array`` of shape (n_samples, n_features), split along rows only.
        y: Dask array of shape (n_samples,) with the same row chunks, or an ndarray (then
            it is split like X).

    Returns:
        ``(X, y)``, both Dask arrays.

    Raises:
        ValueError: Unknown chunk sizes, X split along columns, or y's partitions differ
            from X's.
    """
    import dask.array as da

    if any(math.isnan(c) for c in X.chunks[0]):
        raise ValueError("X has unknown partition sizes: call X.compute_chunk_sizes() first")
    if X.ndim != 2 or len(X.chunks[1]) != 1:
        raise ValueError(f"X must be 2-D and split along rows only, got chunks of "
                         f"{X.chunks[1]} columns; use X.rechunk({{1: -1}})")
    if not hasattr(y, "chunks"):
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        return X, da.from_array(y, chunks=(X.chunks[0],))
    if y.ndim != 1 or tuple(y.chunks[0]) != tuple(X.chunks[0]):
        raise ValueError(f"X and y must have the same row partitions: X has {X.chunks[0]}, "
                         f"y has {y.chunks[0] if y.ndim == 1 else y.shape}; rechunk y "
                         "with y.rechunk(X.chunks[0])")
    return X, y


def _partition_ranges(X: Any) -> list[tuple[int, int]]:
    stops = np.cumsum(X.chunks[0])
    return [(int(a), int(b)) for a, b in zip(np.concatenate([[0], stops[:-1]]), stops, strict=True)]


def _named(i: int, rows: tuple[int, int], error: ValueError) -> ValueError:
    return ValueError(f"partition {i} (rows {rows[0]}:{rows[1]}) of X: {error}")


def _partition_pass(params, X_p, y_p, i, rows, value_and_grad, value, transform, want):
    """On a worker: ``(J_p, grads_p)`` (``want="grad"``) or ``(J_p, accuracy_p)`` of one
    partition, a chunk of rows at a time."""
    try:
        spec = Spec(X_p, np.asarray(y_p), value_and_grad, value, None,
                    float_rows if transform is None else transform, None, True, params,
                    chunk_rows=CHUNK_ROWS, checked=True)
        step = numpy_backend.make_parts(spec).step
        if want == "grad":
            return step.full(params, spec.X, spec.y)
        return step.evaluate(params, spec.X, spec.y)
    except ValueError as e:
        raise _named(i, rows, e) from None


def _weighted(parts, weights, want):
    """On a worker: the weighted sum of the partitions' results."""
    total = sum(w * p[0] for p, w in zip(parts, weights, strict=True))
    if want == "grad":
        return total, {k: sum(w * p[1][k] for p, w in zip(parts, weights, strict=True))
                       for k in parts[0][1]}
    return total, sum(w * p[1] for p, w in zip(parts, weights, strict=True))


class DaskPass:
    """``(J, grads)`` and ``(J, accuracy)`` on a Dask array, reduced on the workers; the
    interface of the NumPy backend's full pass.

    Args:
        X: Dask array of shape (n_samples, n_features) split along rows.
        y: Labels, Dask array with X's row partitions or an ndarray.
        value_and_grad: ``(params, X, y) -> (J, grads)``, picklable (cloudpickle).
        value: ``(params, X, y) -> J``.
        transform: Optional per-partition ``transform(rows) -> features``.
        persist: Keep the partitions in the workers' memory across iterations (else each
            pass reads them again from their source, e.g. zarr).
    """

    def __init__(self, X: Any, y: Any, value_and_grad: Any, value: Any, transform: Any = None,
                 persist: bool = True) -> None:
        X, y = check_partitions(X, y)
        if persist:
            import dask

            X, y = dask.persist(X, y)
        self.X, self.y = X, y
        self.ranges = _partition_ranges(X)
        self.blocks = list(zip(X.to_delayed().ravel(), y.to_delayed().ravel(), strict=True))
        self.fns = (value_and_grad, value, transform)
        n = sum(b - a for a, b in self.ranges)
        self.weights = [(b - a) / n for a, b in self.ranges]

    @property
    def n_samples(self) -> int:
        """N, the rows of the set."""
        return int(self.X.shape[0])

    def _reduce(self, params: Params, want: str) -> tuple[float, Any]:
        import dask

        shared = dask.delayed(params, traverse=False)  # one key: sent once per worker
        parts = [dask.delayed(_partition_pass)(shared, X_p, y_p, i, rows, *self.fns, want)
                 for i, ((X_p, y_p), rows) in enumerate(zip(self.blocks, self.ranges, strict=True))]
        return _compute(dask.delayed(_weighted)(parts, self.weights, want))[0]

    def __call__(self, params: Params) -> tuple[float, Params]:
        """``(J, {"W": dJ/dW, "b": dJ/db})`` on the whole array."""
        return self._reduce(params, "grad")

    def evaluate(self, params: Params) -> tuple[float, float]:
        """``(J, accuracy)`` on the whole array."""
        return self._reduce(params, "evaluate")


class _LocalEpoch(NamedTuple):
    params: Params
    state: Any
    losses: list[float]
    n_steps: int
    n_loss_evals: int
    n_samples: int


def _local_epoch(params, state, X_p, y_p, i, rows, optimizer, value_and_grad, value,
                 batch_size, transform, seed, epoch, fast) -> _LocalEpoch:
    """On a worker: one epoch of the in-memory mini-batch loop on one partition."""
    # copies: the shared parameters and optimizer state are one object per worker, which
    # the optimizer updates in place, and the worker's other partitions start from them too
    params = {k: np.array(v, copy=True) for k, v in params.items()}
    state = copy.deepcopy(state)
    try:
        X_p, y_p = check_data(np.asarray(X_p), np.asarray(y_p), transform)  # as fit() does
        spec = Spec(X_p, y_p, value_and_grad, value, batch_size, transform,
                    np.random.default_rng(seed), fast, params)
        runner = Runner(numpy_backend.make_parts(spec), optimizer, X_p, y_p)
        state = runner.run(params, state, epoch)
    except ValueError as e:
        raise _named(i, rows, e) from None
    return _LocalEpoch(params, state, runner.losses, runner.n_steps, runner.n_loss_evals,
                       runner.n_samples)


def _average(values: list[Any], weights: list[float]) -> Any:
    """Weighted mean of arrays, dicts of arrays and NamedTuples of them; other fields
    (counts, rates) are the first's."""
    first = values[0]
    if isinstance(first, np.ndarray):
        return sum(w * v for v, w in zip(values, weights, strict=True)).astype(first.dtype)
    if isinstance(first, dict):
        return {k: _average([v[k] for v in values], weights) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(_average(list(f), weights) for f in zip(*values, strict=True)))
    return first


class DaskStep(InHostMemory):
    """The :class:`~linclass.training.parts.Step` of a Dask array: full-set passes are
    the workers' reduction (:class:`DaskPass`); mini-batches run on the workers too
    (:class:`LocalSGD`), never here.

    Args:
        full: The training set's pass.
        given: The array the loop holds (what it will ask to evaluate).
        value, transform: For evaluating other sets.
    """

    def __init__(self, full: DaskPass, given: Any, value: Any, transform: Any) -> None:
        self.dask_pass, self.given, self.value, self.transform = full, given, value, transform

    def batch(self, params: Params, X: Any, y: Any, rows: Any) -> tuple[float, Params]:
        raise TypeError("a Dask array's mini-batches run on its workers (LocalSGD)")

    def full(self, params: Params, X: Any, y: Any) -> tuple[float, Params]:
        return self.dask_pass(params)

    def loss(self, params: Params, X: Any, y: Any) -> float:
        return self.evaluate(params, X, y, accuracy=False)[0]

    def evaluate(self, params: Params, X: Any, y: Any, *, accuracy: bool = True,
                 predictions: list[np.ndarray] | None = None) -> tuple[float, float]:
        if predictions is not None:
            raise ValueError("predictions of a Dask array: use the estimator's predict")
        if X is self.given or X is self.dask_pass.X:
            return self.dask_pass.evaluate(params)
        if hasattr(X, "dask"):
            return DaskPass(X, y, None, self.value, self.transform, persist=False).evaluate(params)
        spec = Spec(X, np.asarray(y), None, self.value, None,
                    float_rows if self.transform is None else self.transform, None, True, params,
                    checked=True)
        return numpy_backend.make_parts(spec).step.evaluate(params, X, spec.y)


class LocalSGD:
    """The mini-batch epochs of a Dask array: every partition runs one local epoch from
    the current params and state on its worker, the client averages them (module
    docstring). The :class:`~linclass.training.parts.BatchSource` of this backend.

    Args:
        full: The training set's pass (its partitions and weights).
        spec: The fit's spec (objective, batch size, transform, batch order).
    """

    def __init__(self, full: DaskPass, spec: Spec) -> None:
        assert spec.batch_size is not None and spec.rng is not None
        self.full, self.spec, self.batch_size = full, spec, int(spec.batch_size)

    def run_epoch(self, runner: Runner, params: Params, state: Any, epoch: int) -> Any:
        import dask

        spec = self.spec
        assert spec.rng is not None
        shared_params = dask.delayed(params, traverse=False)
        shared_state = dask.delayed(state, traverse=False)
        seeds = spec.rng.integers(2**63, size=len(self.full.blocks))
        tasks = [dask.delayed(_local_epoch)(shared_params, shared_state, X_p, y_p, i, rows,
                                            runner.optimizer, spec.value_and_grad, spec.value,
                                            self.batch_size, spec.transform, int(seed), epoch,
                                            spec.fast)
                 for i, ((X_p, y_p), rows, seed) in enumerate(
                     zip(self.full.blocks, self.full.ranges, seeds, strict=True))]
        results = _compute(*tasks)
        weights = self.full.weights
        averaged = _average([r.params for r in results], weights)
        for k in params:
            params[k][...] = averaged[k]
        steps = sum(r.n_steps for r in results)
        new_state = _average([r.state for r in results], weights)
        if hasattr(new_state, "count"):  # the schedule moves as if the partitions ran in turn
            new_state = new_state._replace(count=state.count + steps)
        # one loss per averaged epoch of each partition, weighted
        runner.losses.append(float(sum(w * np.mean(r.losses)
                                       for r, w in zip(results, weights, strict=True))))
        runner.tally(steps, sum(r.n_loss_evals for r in results),
                     sum(r.n_samples for r in results))
        return new_state


def make_parts(spec: Spec) -> Parts:
    """The step and batch source of a fit on a Dask array (the registry's hook); X and y
    are checked before any work.

    Raises:
        ValueError: A derivative-free optimizer, or partitions that do not fit
            (:func:`check_partitions`).
    """
    if spec.search:
        runs = names("optimizer", "gradient") + names("optimizer", "solver")
        raise ValueError(f"the search optimizers do not run on Dask arrays; use {', '.join(runs)}")
    full = DaskPass(spec.X, spec.y, spec.value_and_grad, spec.value, spec.transform)
    step = DaskStep(full, spec.X, spec.value, spec.transform)
    n = int(spec.X.shape[0])
    if spec.batch_size is None or spec.batch_size >= n:
        return Parts(step, None)
    return Parts(step, LocalSGD(full, spec.with_(X=full.X, y=full.y)))


def _read_rows(path: str, start: int, stop: int) -> np.ndarray:
    """On a worker: rows ``start:stop`` of a ``.npy`` file, through a memory map."""
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def from_store(X: Any, n_partitions: int) -> Any:
    """A Dask array over rows on disk, each partition read by the worker that holds it.

    Few large partitions suit local SGD (each averages one whole local epoch); full-batch
    passes read any partition a chunk at a time, so their size does not bound memory.

    Args:
        X: A zarr array, or a memory-mapped ``.npy`` (``np.load(path, mmap_mode="r")``);
            the workers must see the same path.
        n_partitions: Partitions of about equal rows (e.g. one per worker).

    Returns:
        ``dask.array.Array`` of X's shape and dtype.
    """
    import dask
    import dask.array as da

    n, rest = X.shape[0], tuple(X.shape[1:])
    step = max(1, -(-n // max(1, int(n_partitions))))
    if isinstance(X, np.memmap):
        parts = [da.from_delayed(dask.delayed(_read_rows)(str(X.filename), a, min(a + step, n)),
                                 shape=(min(a + step, n) - a, *rest), dtype=X.dtype)
                 for a in range(0, n, step)]
        return da.concatenate(parts, axis=0)
    # inline_array: no shared root key, so the scheduler spreads the partitions over the
    # workers instead of co-assigning them to one
    return da.from_zarr(X, chunks=(step, *rest), inline_array=True)
