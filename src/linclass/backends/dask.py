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

**Timeouts**: one policy (:class:`DaskTimeouts`) bounds every wait on a cluster, each by a
Dask setting: reaching a scheduler, handshake included (``distributed.comm.timeouts.
connect``; a refused connection fails at once), a cluster without a worker, at the start
or mid-fit (``linclass.worker-timeout``), and one computation (``linclass.compute-timeout``).
A scheduler that stops answering, one that is lost, or a cluster left without workers
raises :class:`ClusterError` naming the address and the setting, never hangs.
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


class ClusterError(RuntimeError):
    """The Dask cluster could not run the fit (no scheduler at the address, one that does
    not answer or was lost, no workers); the fit stopped, nothing fitted."""


class WorkerLostError(ClusterError):
    """Dask gave up on a task whose workers kept dying, or the cluster was left without
    workers; the fit stopped, nothing fitted."""


# --- timeouts: one policy for every wait on a cluster ------------------------------------

#: The Dask settings of :class:`DaskTimeouts` (``dask.config.set``, a Dask YAML file or
#: the environment: ``DASK_LINCLASS__WORKER_TIMEOUT=5m``).
CONNECT_SETTING = "distributed.comm.timeouts.connect"
WORKERS_SETTING = "linclass.worker-timeout"
COMPUTE_SETTING = "linclass.compute-timeout"
DEFAULT_WORKERS_TIMEOUT = "60s"
DEFAULT_COMPUTE_TIMEOUT = "1h"
#: How often a running computation checks that the scheduler answers and has workers.
POLL_SECONDS = 1.0


def setting_hint(key: str) -> str:
    """``key`` and the environment variable that sets it, for error messages."""
    env = "DASK_" + key.upper().replace(".", "__").replace("-", "_")
    return f"the Dask setting {key} (environment: {env})"


class DaskTimeouts(NamedTuple):
    """The bounds, in seconds, of the waits on a cluster (module docstring).

    Attributes:
        connect: Reaching a scheduler, handshake included (``distributed.comm.timeouts.
            connect``, Dask's own, 30 s unless set); also how long a running computation
            waits for the scheduler to answer a check.
        workers: How long a cluster may have no worker: before the fit starts, and in the
            middle of a computation (``linclass.worker-timeout``, 60 s).
        compute: One computation (a full pass, a local epoch) at most
            (``linclass.compute-timeout``, 1 h; ``None`` or ``"none"``: no bound).
    """

    connect: float
    workers: float
    compute: float | None

    @classmethod
    def from_config(cls) -> DaskTimeouts:
        """The policy the Dask configuration sets now.

        Raises:
            ValueError: A setting that is not a duration > 0, naming it.
        """
        import dask

        def seconds(key: str, default: str | None, optional: bool = False) -> float | None:
            from dask.utils import parse_timedelta

            value = dask.config.get(key, default)
            if optional and (value is None or str(value).strip().lower() in ("none", "")):
                return None
            try:
                t = parse_timedelta(value, default="seconds")
            except (TypeError, ValueError, KeyError):
                t = None
            if t is None or not math.isfinite(t) or t <= 0:
                raise ValueError(f"{setting_hint(key)} must be a duration > 0 such as "
                                 f"'30s' or '5m', got {value!r}")
            return float(t)

        connect = seconds(CONNECT_SETTING, "30s")
        workers = seconds(WORKERS_SETTING, DEFAULT_WORKERS_TIMEOUT)
        assert connect is not None and workers is not None
        return cls(connect, workers, seconds(COMPUTE_SETTING, DEFAULT_COMPUTE_TIMEOUT, True))


#: Address schemes a client can reach (Dask's others, ucx say, need packages and
#: hardware this is not tested on).
SCHEMES = ("tcp", "tls", "inproc")


def check_address(address: str) -> str:
    """A scheduler address in the form Dask reaches, checked before any connection.

    ``host:port`` (tcp assumed), ``tcp://host:port``, ``tls://host:port`` or, for a
    scheduler in this process, ``inproc://IP/PID/N``.

    Returns:
        The address with its scheme.

    Raises:
        ValueError: Another scheme, a missing or out-of-range port, a malformed inproc
            address, or one of no scheduler of this process.
    """
    text = str(address).strip()
    forms = "give tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786) or tls://HOST:PORT"
    scheme, sep, loc = text.rpartition("://")
    if not sep:
        scheme, loc = "tcp", text
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"scheduler address {text!r}: the {scheme!r} protocol is not "
                         f"supported; {forms}")
    if scheme == "inproc":
        parts = loc.split("/")
        if len(parts) != 3 or not all(parts) or not parts[1].isdigit() or not parts[2].isdigit():
            raise ValueError(f"scheduler address {text!r}: an inproc address has the form "
                             f"inproc://IP/PID/N (a scheduler in this process); {forms}")
        return f"inproc://{loc}"
    host, _, port = loc.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in loc:
        raise ValueError(f"scheduler address {text!r}: no host and port (1-65535); {forms}")
    return f"{scheme}://{loc}"


def _reachable(address: str, timeouts: DaskTimeouts) -> None:
    """Raise :class:`ClusterError` unless a scheduler at ``address`` completes Dask's
    handshake within ``timeouts.connect`` (Dask bounds the connection, not the
    handshake: a server that accepts and never answers would hold a client forever)."""
    import asyncio
    import socket
    import threading

    from distributed.comm import connect
    from distributed.comm.inproc import global_manager
    from distributed.security import Security

    scheme, _, loc = address.partition("://")
    hint = setting_hint(CONNECT_SETTING)
    if scheme == "inproc":
        try:
            listener = global_manager.get_listener_for(loc)
        except ValueError:  # another host's or process's
            listener = None
        if listener is None:
            raise ClusterError(f"no Dask scheduler at {address} in this process (an inproc "
                               "address reaches a scheduler of the same process only)")
        return
    host, _, port = loc.rpartition(":")
    host = host.strip("[]")
    try:  # refused, unknown host, unreachable: fail now, not after Dask's retries
        socket.create_connection((host, int(port)), timeout=timeouts.connect).close()
    except ConnectionRefusedError:
        raise ClusterError(f"no Dask scheduler at {address}: the connection was refused "
                           "(nothing listens on that port; is the scheduler running?)") from None
    except TimeoutError:
        raise ClusterError(f"no Dask scheduler at {address}: the connection timed out after "
                           f"{timeouts.connect:g} s; to wait longer, raise {hint}") from None
    except OSError as e:
        raise ClusterError(f"no Dask scheduler at {address}: {e.strerror or e}") from None

    outcome: list[BaseException | None] = []

    async def handshake() -> None:
        comm = await asyncio.wait_for(
            connect(address, timeout=timeouts.connect,
                    **Security().get_connection_args("client")), timeouts.connect)
        await comm.close()

    def run() -> None:
        try:
            asyncio.run(handshake())
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 (reported below, in the caller's thread)
            outcome.append(e)

    thread = threading.Thread(target=run, name="linclass-dask-handshake", daemon=True)
    thread.start()
    thread.join(timeouts.connect + 5)
    error = outcome[0] if outcome else TimeoutError()
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)):
        raise ClusterError(f"no Dask scheduler answered at {address} within "
                           f"{timeouts.connect:g} s: something accepted the connection but "
                           "did not answer as a scheduler (is it the scheduler's port, not "
                           f"its dashboard's or another server's?); to wait longer, raise "
                           f"{hint}")
    if error is not None:
        raise ClusterError(f"could not reach the Dask scheduler at {address}: "
                           f"{' '.join(str(error).split()) or type(error).__name__}") from error


def connect_client(address: str, timeouts: DaskTimeouts | None = None) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address`` with at least one worker,
    within the policy's bounds (the module docstring).

    Raises:
        ValueError: A malformed or unsupported address (:func:`check_address`), or a
            setting of the policy that is no duration.
        ClusterError: No scheduler answers there in time, or it has no worker after
            ``timeouts.workers`` seconds.
    """
    address = check_address(address)
    timeouts = timeouts or DaskTimeouts.from_config()
    _reachable(address, timeouts)
    try:
        client = bounded_client(address, timeout=timeouts.connect)
    except (OSError, TimeoutError) as e:
        raise ClusterError(f"could not connect to the Dask scheduler at {address}: "
                           f"{' '.join(str(e).split())}; to wait longer, raise "
                           f"{setting_hint(CONNECT_SETTING)}") from None
    try:
        wait_for_workers(client, timeouts)
    except BaseException:
        client.close()
        raise
    return client


def wait_for_workers(client: Any, timeouts: DaskTimeouts | None = None) -> int:
    """The number of workers of ``client``'s cluster, once there is at least one.

    Raises:
        ClusterError: None joined within ``timeouts.workers`` seconds.
    """
    timeouts = timeouts or DaskTimeouts.from_config()
    try:
        client.wait_for_workers(1, timeout=timeouts.workers)
    except TimeoutError:
        raise ClusterError(
            f"the Dask scheduler at {client.scheduler.address} has no workers (none joined "
            f"within {timeouts.workers:g} s): start some (dask worker "
            f"{client.scheduler.address}), or, to wait longer, raise "
            f"{setting_hint(WORKERS_SETTING)}") from None
    try:
        return len(client.nthreads(callback_timeout=timeouts.connect))
    except (TimeoutError, OSError):
        raise ClusterError(f"the Dask scheduler at {client.scheduler.address} stopped "
                           f"answering (no reply within {timeouts.connect:g} s); to wait "
                           f"longer, raise {setting_hint(CONNECT_SETTING)}") from None


def cluster_error(error: BaseException, address: str | None = None) -> ClusterError | None:
    """Dask's exception for a cluster that failed the fit, as a :class:`ClusterError`
    saying what happened and what to do; None for any other exception."""
    try:
        from distributed import KilledWorker
        from distributed.client import FutureCancelledError, FuturesCancelledError
    except ImportError:  # Dask's local schedulers lose no workers and no scheduler
        return None
    where = f" at {address}" if address else ""
    if isinstance(error, ClusterError):
        return error
    if isinstance(error, KilledWorker):
        return WorkerLostError(
            f"a Dask worker died while computing {error.task!r} (after "
            f"{error.allowed_failures + 1} attempt(s)); the fit stopped (no partial model). "
            "Check the workers' logs (out of memory?), give them more memory, or allow "
            "more retries with the Dask setting distributed.scheduler.allowed-failures")
    if isinstance(error, (FutureCancelledError, FuturesCancelledError)):
        if isinstance(error, FutureCancelledError):
            reasons = [error.reason]
        else:
            reasons = [group.reason for group in error.error_groups]
        lost = any("connection" in str(r) or "lost" in str(r) for r in reasons)
        what = ("the connection to it was lost: was the scheduler stopped?" if lost else
                f"reason: {', '.join(map(str, reasons)) or 'unknown'}")
        return ClusterError(f"the Dask scheduler{where} cancelled the fit's work ({what}); "
                            "the fit stopped (no partial model)")
    return None


def _client_of_compute() -> Any:
    """The ``distributed.Client`` that ``dask.compute`` would use now, or None (Dask's
    local schedulers, or Dask's ``scheduler`` setting chose another)."""
    try:
        from distributed import Client
    except ImportError:
        return None
    from dask.base import get_scheduler

    client = getattr(get_scheduler(), "__self__", None)
    return client if isinstance(client, Client) else None


def _compute(*tasks: Any) -> tuple[Any, ...]:
    """``dask.compute(*tasks)`` within the timeout policy (:func:`results_within`) when a
    ``distributed.Client`` runs them; Dask's local schedulers compute them as they do."""
    import dask

    client = _client_of_compute()
    if client is None:
        return dask.compute(*tasks)
    futures = client.compute(list(tasks))
    try:
        return tuple(results_within(client, futures))
    finally:
        # dropping the futures releases their tasks (a message, never a wait: a cancel
        # call would wait on a scheduler that may not answer)
        del futures


def results_within(client: Any, futures: list[Any],
                   timeouts: DaskTimeouts | None = None) -> list[Any]:
    """The results of ``futures``, every wait bounded by the policy (:class:`DaskTimeouts`),
    a cluster that fails the fit raised as :class:`ClusterError` (the original chained):
    Dask giving up on a lost worker (:class:`WorkerLostError`), a cluster without workers
    for ``workers`` seconds, a scheduler that stops answering for ``connect`` seconds or is
    lost, a computation longer than ``compute`` seconds. A task's own error (a partition's
    ``ValueError``) comes through unchanged."""
    import time

    timeouts = timeouts or DaskTimeouts.from_config()
    address = client.scheduler.address
    results: dict[int, Any] = {}
    start = time.monotonic()
    empty_since: float | None = None
    wait = POLL_SECONDS  # for one result; doubled (up to connect) when a transfer is slow
    try:
        while True:
            # A result is fetched from the worker that holds it; one lost meanwhile makes
            # Dask compute it again, so every wait is bounded and followed by the checks.
            for i, future in enumerate(futures):
                if i not in results:
                    try:
                        results[i] = future.result(timeout=wait)
                    # distributed's sync() can lose the race between its timeout and the
                    # result and raise UnboundLocalError instead of TimeoutError (dask/
                    # distributed issue 8514, open): it is a timeout like any other
                    except (TimeoutError, UnboundLocalError):
                        if future.done():  # computed, still on its way (or lost)
                            wait = min(2 * wait, max(timeouts.connect, POLL_SECONDS))
                        break
            else:
                return [results[i] for i in range(len(futures))]
            now = time.monotonic()
            if timeouts.compute is not None and now - start > timeouts.compute:
                raise ClusterError(
                    f"a computation on the Dask cluster at {address} took longer than "
                    f"{timeouts.compute:g} s; the fit stopped (no partial model); to allow "
                    f"longer ones, raise {setting_hint(COMPUTE_SETTING)}")
            try:
                n_workers = len(client.nthreads(callback_timeout=timeouts.connect))
            except (TimeoutError, OSError):
                raise ClusterError(
                    f"the Dask scheduler at {address} stopped answering or was lost (no "
                    f"reply within {timeouts.connect:g} s); the fit stopped (no partial "
                    f"model); to wait longer, raise {setting_hint(CONNECT_SETTING)}"
                ) from None
            if n_workers:
                empty_since = None
            elif empty_since is None:
                empty_since = now
            elif now - empty_since > timeouts.workers:
                raise WorkerLostError(
                    f"the Dask cluster at {address} has had no workers for "
                    f"{timeouts.workers:g} s (all were lost mid-fit); the fit stopped (no "
                    "partial model). Restart the workers and train again, or, to wait "
                    f"longer, raise {setting_hint(WORKERS_SETTING)}")
    except BaseException as e:
        error = cluster_error(e, address)
        if error is None or error is e:
            raise
        raise error from e


_BOUNDED_CLIENT: type | None = None


def bounded_client(*args: Any, **kwargs: Any) -> Any:
    """A ``distributed.Client(*args, **kwargs)`` whose blocking ``gather`` (what
    ``dask.compute``, ``np.asarray`` of a Dask array and ``.compute()`` wait in) keeps to
    the timeout policy (:func:`results_within`): every computation of a fit on it is
    bounded, those outside this module included (an estimator's look at the rows)."""
    global _BOUNDED_CLIENT
    if _BOUNDED_CLIENT is None:
        from distributed import Client, Future

        class BoundedClient(Client):
            def gather(self, futures: Any, errors: str = "raise", direct: Any = None,
                       asynchronous: Any = None) -> Any:
                if (asynchronous or self.asynchronous or errors != "raise"
                        or not isinstance(futures, (Future, list, tuple, set, dict))):
                    return super().gather(futures, errors, direct, asynchronous)
                flat: list[Any] = []

                def collect(f: Any) -> Any:
                    flat.append(f)
                    return f

                _walk(futures, collect, Future)
                values = dict(zip((f.key for f in flat), results_within(self, flat),
                                  strict=True))
                return _walk(futures, lambda f: values[f.key], Future)

        _BOUNDED_CLIENT = BoundedClient
    return _BOUNDED_CLIENT(*args, **kwargs)


def _walk(tree: Any, fn: Any, leaf: type) -> Any:
    """``tree`` (lists, tuples, sets, dicts) with ``fn`` applied to each ``leaf``."""
    if isinstance(tree, leaf):
        return fn(tree)
    if isinstance(tree, (list, tuple, set)):
        return type(tree)(_walk(t, fn, leaf) for t in tree)
    if isinstance(tree, dict):
        return {k: _walk(v, fn, leaf) for k, v in tree.items()}
    return tree


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
