"""The seams of the fit loop: a *step*, a *batch source*, and the one factory that makes
them for a fit.

The loop (:mod:`~linclass.training.loop`, :class:`~linclass.training.runner.Runner`) is
written once. What differs between NumPy in memory, arrays on disk, PyTorch on a device
and Dask partitions is only

* the :class:`Step`: ``(J, grads)`` of a mini-batch or of the whole set, ``J`` alone, the
  evaluation, and where the params live (``put``/``host``);
* the :class:`BatchSource`: which rows each step of an epoch sees (a shuffled index over
  memory, windows of chunks read from disk, a local epoch on every Dask partition).

A backend module (listed in :mod:`linclass.backends.registry`) makes both from a
:class:`Spec` in ``make_parts(spec)``; :func:`make_parts` here picks the module. This
package therefore imports no backend: a new one is one module and one registry line.

**K heads.** A step's params are a dict of arrays and its loss a number; a step that
trains K settings at once holds stacked arrays (``W`` of shape (K, C, D), ``b`` (K, C))
and returns one loss per head, an ndarray of shape (K,). The loop treats losses with
``np.all``/``np.any`` (divergence is per head) and the optimizers update element-wise,
so a learning rate of shape (K, 1, 1) steps each head at its own rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

from linclass.backends.registry import load, placed, resolve_backend
from linclass.model import Params
from linclass.training.sampler import CHUNK_ROWS
from linclass.training.workspace import Transform

if TYPE_CHECKING:
    from linclass.training.runner import Runner

#: ``(params, X, y) -> (J, grads)``: any gradient method (:mod:`linclass.grad`).
ValueAndGrad = Callable[[Params, Any, Any], tuple[float, Params]]
#: ``(params, X, y) -> J``.
ValueFn = Callable[[Params, Any, Any], float]


@runtime_checkable
class Step(Protocol):
    """``(J, grads)`` and ``J`` of blocks of stored rows, on one backend.

    ``X`` and ``y`` are the stored rows and labels (an ndarray, a memory map, a window
    buffer; a backend may keep a copy of them on its device, found again by identity).
    The grads returned may live in a buffer the next call overwrites.
    """

    def put(self, tree: Any) -> Any:
        """Params (or an optimizer state) as this backend holds them."""
        ...

    def host(self, tree: Any) -> Any:
        """Params (or an optimizer state) as NumPy arrays on the host, copied."""
        ...

    def finite(self, params: Any) -> bool:
        """True when every entry of the params is finite."""
        ...

    def batch(self, params: Any, X: Any, y: Any, rows: Any) -> tuple[float, Any]:
        """``(J, grads)`` of the mini-batch ``rows`` of ``(X, y)``."""
        ...

    def full(self, params: Any, X: Any, y: Any) -> tuple[float, Any]:
        """``(J, grads)`` of the whole set, ``J = sum_c (n_c / N) J_c`` over chunks ``c``."""
        ...

    def loss(self, params: Any, X: Any, y: Any) -> float:
        """``J`` of the whole set (what the derivative-free optimizers minimize)."""
        ...

    def evaluate(self, params: Any, X: Any, y: Any, *, accuracy: bool = True,
                 predictions: list[np.ndarray] | None = None) -> tuple[float, float]:
        """``(J, accuracy)`` of a whole set; ``predictions`` receives each chunk's classes."""
        ...


@runtime_checkable
class BatchSource(Protocol):
    """The mini-batches of an epoch.

    Attributes:
        batch_size: Rows per mini-batch.
    """

    batch_size: int

    def run_epoch(self, runner: Runner, params: Any, state: Any, epoch: int) -> Any:
        """One epoch of mini-batch steps: call ``runner.take(params, state, X, y, rows,
        epoch)`` on each batch (or run the epoch elsewhere and ``runner.tally`` its
        work); return the new optimizer state."""
        ...


class InHostMemory:
    """The params part of a :class:`Step` whose params stay NumPy arrays in host memory
    (the NumPy and Dask backends): ``put`` and ``host`` change nothing."""

    def put(self, tree: Any) -> Any:
        """Params (or an optimizer state) as this backend holds them: unchanged."""
        return tree

    def host(self, tree: Any) -> Any:
        """Params (or an optimizer state) as NumPy arrays: unchanged."""
        return tree

    def finite(self, params: Params) -> bool:
        """True when every entry of the params is finite."""
        return all(np.isfinite(v).all() for v in params.values())


class Parts(NamedTuple):
    """What a backend makes for a fit: its step, and its batch source (None for
    full-batch steps)."""

    step: Step
    source: BatchSource | None


@dataclass(frozen=True)
class Spec:
    """Everything a backend needs to make the parts of a fit.

    Attributes:
        X: Stored rows, checked (:func:`~linclass.training.setup.check_data`).
        y: Labels or targets, shape (n,).
        value_and_grad: The objective (None for derivative-free optimizers).
        value: Its value alone.
        batch_size: Rows per mini-batch, or None for full-batch steps.
        transform: Stored rows -> features, or None.
        rng: Generator of the batch order (None: no mini-batches will be asked for).
        fast: Take the objective's in-place twin where it has one.
        params: Starting params (their shapes and dtypes).
        search: True for a derivative-free optimizer.
        chunk_rows: Rows converted at a time in a pass over the whole set.
        device: The device name (``"cpu"``, ``"cuda:0"``, ...).
        checked: Inputs were not checked by the loop: a chunk whose fast loss is not
            finite runs the checked objective, whose error names the chunk's rows.
    """

    X: Any
    y: Any
    value_and_grad: ValueAndGrad | None
    value: ValueFn
    batch_size: int | None
    transform: Transform | None
    rng: np.random.Generator | None
    fast: bool
    params: Params
    search: bool = False
    chunk_rows: int = CHUNK_ROWS
    device: str = "cpu"
    checked: bool = False

    def with_(self, **changes: Any) -> Spec:
        """A copy with ``changes``."""
        return replace(self, **changes)


def backend_for(X: Any, backend: str | None, device: str) -> str:
    """The registry name of the backend that runs a fit on ``X``: the one the array's
    type belongs to (Dask arrays), else the compute backend of ``(backend, device)``.

    Raises:
        ValueError: An unknown backend, a device it does not run on, or a compute backend
            other than NumPy asked for on an array a placement backend takes over.
    """
    compute = resolve_backend(backend, device)
    where = placed(X)
    if where is None:
        return compute
    if compute != resolve_backend(None, "cpu"):
        raise ValueError(f"backend={compute!r} does not run on {where} arrays; leave "
                         "backend and device unset")
    return where


def make_parts(spec: Spec, backend: str) -> Parts:
    """The step and batch source of a fit, from the backend module registered as
    ``backend`` (:func:`backend_for` says which)."""
    return load(backend).make_parts(spec)


__all__ = ["BatchSource", "InHostMemory", "Parts", "Spec", "Step", "ValueAndGrad", "ValueFn",
           "backend_for", "make_parts"]
