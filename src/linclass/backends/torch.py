"""The PyTorch backend: the fit loop's step and batch order on a torch device.

:func:`linclass.training.fit` is the one loop; with ``backend="torch"`` its
:class:`~linclass.training.runner.Runner` drives the *step* and *batch source* made here
(``make_parts``, registered in :mod:`linclass.backends.registry`). Everything else
(optimizers, schedules, stopping, history) is the same code, because the gradient
optimizers update with in-place operators only, which torch tensors have too.

A step computes, on the device, for a block of stored rows ``X_B`` (a mini-batch or a
chunk of a full pass)::

    S = F W^T + b,   G = dL/dS,   dJ/dW = G^T F + dR/dW,   dJ/db = sum_i G_i

with one function per loss (value and ``G`` together, :data:`LOSS_KERNELS`: the fused kernel
its record names, else torch.autograd on the record's value) and per penalty
(:data:`PENALTY_KERNELS`). ``F`` is ``X_B`` cast to the compute dtype: the training
and validation sets are moved to the device once (uint8 images stay uint8 there), and raw
pixel preprocessing ``a * x + c`` is folded into W and b exactly as
:mod:`linclass.objective` does on the CPU. Other feature transforms run once, on the host,
before the move. Batch order is a ``torch.randperm`` on the device from a generator seeded
by the run's NumPy generator, so one seed still fixes the whole run.

**Determinism.** On the CPU the same seed gives bitwise the same fit (tests hold it). On
CUDA the batch order and the initial W are the same for a seed, and the step's operations
(``addmm``, ``matmul``, ``gather``/``scatter``, reductions) have no atomics-based
nondeterminism by default, but cuBLAS picks its kernels (and split-K reductions) by GPU
model, library version and workspace, so results agree across runs on one machine
and differ in the last bits across GPUs or versions; for a strict guarantee set
``CUBLAS_WORKSPACE_CONFIG=:4096:8`` and ``torch.use_deterministic_algorithms(True)``.
CPU-vs-CUDA results agree to float32 rounding, not bitwise.

Only the analytic objective with a named loss and penalty runs here; the derivative-free
optimizers and the numerical/autodiff gradients stay on the NumPy backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, cast

import numpy as np
import torch

from linclass.losses import RECORDS
from linclass.losses.records import ArrayOps, Loss
from linclass.objective import Objective, unpack_weights
from linclass.options import names
from linclass.sparsity import issparse
from linclass.training import threads as blas_threads
from linclass.training.arrays import is_out_of_core
from linclass.training.parts import Parts, Spec
from linclass.training.runner import Runner
from linclass.training.sampler import CHUNK_ROWS, chunk_slices
from linclass.training.step import weighted_sum
from linclass.training.workspace import Transform, affine_of

Tensor = torch.Tensor
TorchParams = dict[str, Tensor]

#: Rows per chunk of a full pass on the device (evaluation, ``gd``): large, since a device
#: has the memory and small chunks leave it idle.
DEVICE_CHUNK_ROWS = 65536


# --- devices --------------------------------------------------------------------------------


def available_devices() -> list[str]:
    """The device names this machine has: ``"cpu"``, ``"cuda"``/``"cuda:N"``, ``"mps"``."""
    out = ["cpu"]
    if torch.cuda.is_available():
        out += ["cuda", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


def resolve_device(device: str) -> torch.device:
    """The ``torch.device`` named ``device``, checked to be present.

    Raises:
        ValueError: Naming the devices that are available (``torch.cuda.is_available()``,
            the CUDA device count, MPS), when ``device`` is not a device name or not here.
    """
    available = available_devices()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r} is not a device name; available: "
                         f"{', '.join(available)}") from None
    here = dev.type == "cpu" or (
        dev.type == "cuda" and torch.cuda.is_available()
        and (dev.index is None or dev.index < torch.cuda.device_count())
    ) or (dev.type == "mps" and "mps" in available)
    if not here:
        raise ValueError(f"device={device!r} is not available on this machine "
                         f"(torch.cuda.is_available() is {torch.cuda.is_available()}); "
                         f"available: {', '.join(available)}")
    return dev


# --- fused losses: (S, y, T) -> (L, dL/dS), T the one-hot labels ----------------------------


def _softmax(S: Tensor, y: Tensor, T: Tensor, **_: Any) -> tuple[Tensor, Tensor]:
    """``L = -1/m sum_i log softmax(s_i)_{y_i}``, ``G = (softmax(S) - T) / m``."""
    m = S.shape[0]
    logp = torch.log_softmax(S, dim=1)
    loss = -logp.gather(1, y[:, None]).sum() / m
    return loss, logp.exp_().sub_(T).div_(m)


def _svm(S: Tensor, y: Tensor, T: Tensor, margin: float = 1.0, **_: Any
         ) -> tuple[Tensor, Tensor]:
    """``L = 1/m sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``; ``G_ij = 1[active]``
    for ``j != y_i`` and minus the active count for ``j = y_i``, over m."""
    m = S.shape[0]
    margins = (S - S.gather(1, y[:, None]) + margin).clamp_(min=0).mul_(1 - T)
    loss = margins.sum() / m
    active = (margins > 0).to(S.dtype)
    active -= T * active.sum(dim=1, keepdim=True)
    return loss, active.div_(m)


def _ova_hinge(S: Tensor, y: Tensor, T: Tensor, margin: float = 1.0, **_: Any
               ) -> tuple[Tensor, Tensor]:
    """``L = 1/m sum_ik max(0, margin - t_ik s_ik)``, ``t = 2T - 1``; ``G = -t 1[h > 0] / m``."""
    m = S.shape[0]
    t = 2 * T - 1
    h = margin - t * S
    active = (h > 0).to(S.dtype)
    return (h * active).sum() / m, (-t * active).div_(m)


def _ova_logistic(S: Tensor, y: Tensor, T: Tensor, **_: Any) -> tuple[Tensor, Tensor]:
    """``L = 1/m sum_ik log(1 + exp(-t_ik s_ik))``; ``G = -t sigmoid(-t S) / m``."""
    m = S.shape[0]
    t = 2 * T - 1
    z = -t * S
    loss = torch.logaddexp(z, torch.zeros_like(z)).sum() / m
    return loss, (-t * torch.sigmoid(z)).div_(m)


def _squared(S: Tensor, y: Tensor, T: Tensor, **_: Any) -> tuple[Tensor, Tensor]:
    """``L = 1/m sum_ik (s_ik - T_ik)^2``; ``G = 2 (S - T) / m``."""
    m = S.shape[0]
    r = S - T
    return (r * r).sum() / m, r.mul_(2.0 / m)


#: The fused kernels, by the name a loss record gives in ``torch_kernel``
#: (:attr:`linclass.losses.records.Loss.torch_kernel`): value and gradient in one pass,
#: faster than autograd on the record's value.
FUSED_LOSS_KERNELS: dict[str, Callable[..., tuple[Tensor, Tensor]]] = {
    "fused_softmax": _softmax, "fused_svm": _svm, "fused_ova_hinge": _ova_hinge,
    "fused_ova_logistic": _ova_logistic, "fused_squared": _squared,
}


# --- losses without a fused kernel: torch.autograd on the record's value --------------------


class _TorchOps:
    """:class:`linclass.losses.records.ArrayOps` of torch tensors (``relu`` has the
    subgradient 0 at 0; ``amax`` shares the gradient among ties, as the autodiff Tensor's
    ``max`` does)."""

    @staticmethod
    def sum(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)

    @staticmethod
    def max(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return x.amax() if axis is None else torch.amax(x, dim=axis, keepdim=keepdims)

    exp = staticmethod(torch.exp)
    log = staticmethod(torch.log)
    relu = staticmethod(torch.relu)
    square = staticmethod(torch.square)


TORCH_OPS: ArrayOps = _TorchOps()


def autograd_kernel(record: Loss) -> Callable[..., tuple[Tensor, Tensor]]:
    """``(S, y, T, **kwargs) -> (L, dL/dS)`` by torch.autograd on ``record.value``."""

    def kernel(S: Tensor, y: Tensor, T: Tensor, **kwargs: Any) -> tuple[Tensor, Tensor]:
        with torch.enable_grad():
            S = S.detach().requires_grad_(True)
            loss = record.value(TORCH_OPS, S, T, **kwargs)
            (G,) = torch.autograd.grad(loss, S)
        return loss.detach(), G

    return kernel


def loss_kernel(record: Loss) -> Callable[..., tuple[Tensor, Tensor]]:
    """The torch version of a loss: the fused kernel its record names, else autograd."""
    if record.torch_kernel is None:
        return autograd_kernel(record)
    try:
        return FUSED_LOSS_KERNELS[record.torch_kernel]
    except KeyError:
        raise ValueError(f"loss {record.name!r} names the torch kernel "
                         f"{record.torch_kernel!r}; there are {sorted(FUSED_LOSS_KERNELS)}"
                         ) from None


#: One torch version per loss record (:data:`linclass.losses.RECORDS`), derived.
LOSS_KERNELS: dict[str, Callable[..., tuple[Tensor, Tensor]]] = {
    n: loss_kernel(r) for n, r in RECORDS.items()}


# --- fused penalties: W -> (R, dR/dW or None) ------------------------------------------------


def _elastic(W: Tensor, alpha: float, l1_ratio: float) -> tuple[Tensor, Tensor | None]:
    """``R = alpha (r sum |W| + (1 - r) sum W^2)``, ``dR/dW = alpha (r sign W + 2 (1 - r) W)``;
    ``r = 1`` is L1, ``r = 0`` is L2."""
    a1, a2 = alpha * l1_ratio, alpha * (1.0 - l1_ratio)
    value = a1 * W.abs().sum() + a2 * (W * W).sum()
    return value, a1 * torch.sign(W) + (2 * a2) * W


PENALTY_KERNELS: dict[str, Callable[[Tensor, float, float], tuple[Tensor, Tensor | None]]] = {
    "l2": lambda W, alpha, r: _elastic(W, alpha, 0.0),
    "l1": lambda W, alpha, r: _elastic(W, alpha, 1.0),
    "elasticnet": _elastic,
    "none": lambda W, alpha, r: (W.new_zeros(()), None),
}


# --- where arrays live ------------------------------------------------------------------------


def _tree_map(tree: Any, fn: Callable[[Any], Any]) -> Any:
    """``fn`` on every array of a params dict or an optimizer state (a NamedTuple)."""
    if isinstance(tree, dict):
        return {k: _tree_map(v, fn) for k, v in tree.items()}
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(_tree_map(v, fn) for v in tree))
    if isinstance(tree, (np.ndarray, Tensor)):
        return fn(tree)
    return tree


def _torch_dtype(dtype: np.dtype, device: torch.device) -> torch.dtype:
    """The compute dtype: the params' float dtype (float32 on MPS, which has no float64)."""
    out = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    return torch.float32 if device.type == "mps" else out


class TorchBatchSampler:
    """Mini-batch row indices on the device, a new ``torch.randperm`` every epoch.

    Args:
        n: Rows in the training set.
        batch_size: Rows per batch (at most n).
        rng: The run's generator of the batch order; it seeds the torch generator.
        device: Where the indices live.
    """

    def __init__(self, n: int, batch_size: int, rng: np.random.Generator,
                 device: torch.device) -> None:
        self.n, self.batch_size, self.device = n, min(int(batch_size), n), device
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(int(rng.integers(2**63)))

    @property
    def batches_per_epoch(self) -> int:
        """``ceil(n / batch_size)``."""
        return -(-self.n // self.batch_size)

    def epoch(self) -> Iterator[Tensor]:
        """The batches of one epoch, a new permutation each call (on the CPU, small
        batches run with :data:`~linclass.training.threads.SMALL_BATCH_BLAS_THREADS` torch
        threads, as the NumPy backend's BLAS does)."""
        order = torch.randperm(self.n, generator=self.generator, device=self.device)
        with _small_batch_threads(self.device, self.batch_size):
            for s in chunk_slices(self.n, self.batch_size):
                yield order[s]


@contextlib.contextmanager
def _small_batch_threads(device: torch.device, batch_size: int) -> Iterator[None]:
    """Torch's intra-op threads limited for an epoch of small CPU batches: a second thread
    saves little on a (256, 784) product, and on a busy machine its spinning workers made
    epochs 20x slower (3.7 s instead of 0.15 s per Fashion-MNIST epoch on 2 shared cores)."""
    threads = blas_threads.SMALL_BATCH_BLAS_THREADS
    if device.type != "cpu" or threads is None or batch_size > CHUNK_ROWS:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def stream_rows(X: Any, device: torch.device, transform: Transform | None = None) -> Tensor:
    """The rows of ``X`` (through ``transform``, as float32, when given; flattened to
    (n, D) without one) in one tensor on ``device``, filled a chunk at a time, so the host
    holds one chunk more, never a second copy of the set.

    Raises:
        ValueError: Rows that do not fit in the device's memory.
    """
    n = X.shape[0]
    out: Tensor | None = None
    try:
        for s in chunk_slices(n, 8192):
            if transform is not None:
                host = np.ascontiguousarray(transform(X[s]), dtype=np.float32)
            else:
                host = np.ascontiguousarray(X[s]).reshape(s.stop - s.start, -1)
            chunk = torch.from_numpy(host)
            if out is None:
                out = torch.empty((n, *chunk.shape[1:]), dtype=chunk.dtype, device=device)
            out[s].copy_(chunk)
    except torch.OutOfMemoryError:
        raise ValueError(f"the {n} training rows do not fit in the memory of "
                         f"device={str(device)!r}: use backend='numpy', which reads "
                         "them a chunk at a time, or fewer rows") from None
    if out is None:  # no rows
        out = torch.from_numpy(np.zeros((0, int(np.prod(X.shape[1:]))), np.float32))
    return out.to(device)


class OnDevice:
    """Params and optimizer states between the host and a step's ``device`` and
    ``dtype``: what every torch step (one model or stacked heads) shares."""

    device: torch.device
    dtype: torch.dtype

    def _tensor(self, v: Any) -> Tensor:
        return torch.as_tensor(np.asarray(v)).to(device=self.device, dtype=self.dtype)

    def put(self, tree: Any) -> Any:
        """Params (or an optimizer state) as tensors on the device, copied."""
        return _tree_map(tree, lambda v: (v if isinstance(v, Tensor) else
                                          self._tensor(v)).clone())

    def host(self, tree: Any) -> Any:
        """Params (or an optimizer state) as NumPy arrays, copied to the host."""
        return _tree_map(tree, lambda v: v.detach().cpu().numpy().copy()
                         if isinstance(v, Tensor) else np.array(v, copy=True))


class TorchStep(OnDevice):
    """The :class:`~linclass.training.parts.Step` of this backend: ``(J, grads)`` and ``J``
    of blocks of stored rows, on the device, plus where params live (``put``/``host``).

    Args:
        objective: The analytic :class:`~linclass.objective.Objective` (its loss and
            penalty names choose the fused kernels).
        device: The torch device.
        dtype: The compute dtype (that of the params).
        transform: Stored rows -> features, or None.
        affine: ``(a, c)`` when ``transform`` is folded into W and b, else None.
        chunk_rows: Rows per chunk of a full pass.
    """

    def __init__(self, objective: Objective, device: torch.device, dtype: torch.dtype,
                 transform: Transform | None, affine: tuple[np.ndarray, np.ndarray] | None,
                 chunk_rows: int = DEVICE_CHUNK_ROWS) -> None:
        self.device, self.dtype, self.transform, self.chunk_rows = (
            device, dtype, transform, chunk_rows)
        spec = objective.spec
        if spec is None:
            raise ValueError("the torch backend needs a loss and a penalty given by name")
        self.loss_kernel = LOSS_KERNELS[spec["loss"]]
        # weighted rows (sample_weight): autograd on the record's value, which takes them
        self.weighted_kernel = autograd_kernel(RECORDS[spec["loss"]])
        self.penalty_kernel = PENALTY_KERNELS[spec["penalty"]]
        self.alpha, self.l1_ratio = float(spec["alpha"]), float(spec["l1_ratio"])
        self.loss_kwargs = spec["loss_kwargs"]
        self.affine = None if affine is None else tuple(self._tensor(v) for v in affine)
        self.folded = affine is not None
        self.grads: TorchParams | None = None
        self._data: dict[int, tuple[Any, Tensor, Tensor, Tensor | None]] = {}

    # --- params and states between host and device ------------------------------------

    def finite(self, params: TorchParams) -> bool:
        """True when every entry of the params is finite."""
        return all(bool(torch.isfinite(v).all()) for v in params.values())

    # --- data, moved once -----------------------------------------------------------------

    def _on_device(self, X: np.ndarray, y: np.ndarray) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(X, y, weights)`` on the device, moved at the first call (kept for the fit's
        length); weights None for unweighted labels (:func:`linclass.objective.pack_weights`).
        uint8 images stay uint8 (when folded), float rows keep their dtype (float16 stays
        float16); other transforms run here, once, on the host. Rows go a chunk at a time
        into one tensor on the device, so the host holds one chunk more, never a second
        copy of the set; rows on disk are refused on the cpu (:func:`check_in_memory`).

        Raises:
            ValueError: Rows on disk on the cpu, or rows that do not fit on the device.
        """
        key = id(X)
        if key not in self._data:
            check_in_memory(X, self.device)
            if self.device.type == "cpu" and self.transform is None:
                # the rows themselves, without a copy (contiguous ones)
                rows = np.ascontiguousarray(X)
                Xd = torch.from_numpy(rows.reshape(X.shape[0], -1) if self.folded else rows)
            else:
                Xd = self._stream(X)
            labels, w = unpack_weights(np.asarray(y))
            self._data[key] = (
                X, Xd, torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(self.device),
                None if w is None else self._tensor(w))
        return self._data[key][1:]

    def _stream(self, X: np.ndarray) -> Tensor:
        """The features of ``X`` in one tensor on the device (:func:`stream_rows`)."""
        return stream_rows(X, self.device, None if self.folded else self.transform)

    # --- the step -------------------------------------------------------------------------

    def _fold(self, params: TorchParams) -> tuple[Tensor, Tensor]:
        """W and b as the stored rows see them: ``(W diag(a), b + W c)`` when folded."""
        W, b = params["W"], params["b"]
        if self.affine is None:
            return W, b
        a, c = self.affine
        return W * a, b + W @ c

    def _scores(self, params: TorchParams, F: Tensor) -> Tensor:
        W_x, b_x = self._fold(params)
        return torch.addmm(b_x, F.to(self.dtype), W_x.T)

    def _data_loss(self, S: Tensor, y: Tensor, w: Tensor | None = None
                   ) -> tuple[Tensor, Tensor]:
        T = torch.zeros_like(S).scatter_(1, y[:, None], 1.0)
        if w is not None:
            return self.weighted_kernel(S, y, T, **self.loss_kwargs, sample_weight=w)
        return self.loss_kernel(S, y, T, **self.loss_kwargs)

    def block(self, params: TorchParams, F: Tensor, y: Tensor, w: Tensor | None = None
              ) -> tuple[float, TorchParams]:
        """``(J, grads)`` of one block of stored rows, weighted by ``w`` when given (grads
        in a reused buffer)."""
        if self.grads is None:
            self.grads = {k: torch.empty_like(v) for k, v in params.items()}
        F = F.to(self.dtype)
        loss, G = self._data_loss(self._scores(params, F), y, w)
        gW, gb = self.grads["W"], self.grads["b"]
        torch.matmul(G.T, F, out=gW)
        torch.sum(G, dim=0, out=gb)
        if self.affine is not None:  # back through x' = a x + c
            a, c = self.affine
            gW.mul_(a).add_(torch.outer(gb, c))
        reg, dR = self.penalty_kernel(params["W"], self.alpha, self.l1_ratio)
        if dR is not None:
            gW.add_(dR)
        return float(loss + reg), self.grads

    def batch(self, params: TorchParams, X: np.ndarray, y: np.ndarray, rows: Tensor
              ) -> tuple[float, TorchParams]:
        """``(J, grads)`` of the mini-batch ``rows`` (indices on the device)."""
        Xd, yd, wd = self._on_device(X, y)
        return self.block(params, Xd[rows], yd[rows], None if wd is None else wd[rows])

    def full(self, params: TorchParams, X: np.ndarray, y: np.ndarray
             ) -> tuple[float, TorchParams]:
        """``(J, grads)`` of the whole set, a chunk at a time."""
        Xd, yd, wd = self._on_device(X, y)
        n = yd.shape[0]
        parts = ((*self.block(params, Xd[s], yd[s], None if wd is None else wd[s]),
                  (s.stop - s.start) / n)
                 for s in chunk_slices(n, self.chunk_rows))
        return cast(tuple[float, TorchParams], weighted_sum(cast(Any, parts)))

    def loss(self, params: TorchParams, X: np.ndarray, y: np.ndarray) -> float:
        """``J`` of the whole set."""
        return self.evaluate(params, X, y, accuracy=False)[0]

    def evaluate(self, params: TorchParams, X: np.ndarray, y: np.ndarray, *,
                 accuracy: bool = True, predictions: list[np.ndarray] | None = None
                 ) -> tuple[float, float]:
        """Objective and accuracy on a whole set, one product per chunk for both;
        ``predictions``, when given, receives each chunk's predicted classes."""
        Xd, yd, wd = self._on_device(X, y)
        n = yd.shape[0]
        total = torch.zeros((), dtype=self.dtype, device=self.device)
        correct = torch.zeros((), dtype=self.dtype, device=self.device)
        for s in chunk_slices(n, self.chunk_rows):
            S = self._scores(params, Xd[s])
            pred = S.argmax(dim=1)
            w = None if wd is None else wd[s]
            hits = (pred == yd[s]).to(self.dtype)
            correct += hits.sum() if w is None else (hits * w).sum()  # weighted accuracy
            if predictions is not None:
                predictions.append(pred.cpu().numpy())
            total += self._data_loss(S, yd[s], w)[0] * ((s.stop - s.start) / n)
        reg = self.penalty_kernel(params["W"], self.alpha, self.l1_ratio)[0]
        return float(total + reg), (float(correct) / n if accuracy and n else float("nan"))


class TorchSource:
    """The mini-batches of a torch run: :class:`TorchBatchSampler`'s indices into the
    training set on the device (the :class:`~linclass.training.parts.BatchSource` of this
    backend).

    Args:
        X: Stored rows (the step moves them to the device once).
        y: Labels.
        sampler: The batch order on the device.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, sampler: TorchBatchSampler) -> None:
        self.X, self.y, self.sampler = X, y, sampler
        self.batch_size = sampler.batch_size

    def run_epoch(self, runner: Runner, params: TorchParams, state: Any, epoch: int) -> Any:
        """One pass of mini-batch steps on the device."""
        for rows in self.sampler.epoch():
            state = runner.take(params, state, self.X, self.y, rows, epoch)
        return state


def check_in_memory(X: Any, device: torch.device) -> None:
    """Refuse rows on disk (a memory map, a zarr or h5py array) on the cpu: the torch
    backend holds the set in the device's memory, which on the cpu is the host's, where
    the NumPy backend reads such rows a chunk at a time (on a GPU they are streamed to the
    device a chunk at a time instead).

    Raises:
        ValueError: Saying to use the NumPy backend or to load the rows into memory.
    """
    if device.type == "cpu" and is_out_of_core(X):
        raise ValueError("backend='torch' on the cpu holds the rows in memory, and these "
                         f"{X.shape[0]} rows are on disk (a memory map or a store such as "
                         "zarr): use backend='numpy', which reads them a chunk at a time, "
                         "or load them into memory first (np.asarray(X)) if they fit")


def make_parts(spec: Spec) -> Parts:
    """The step and batch source of a torch run (the registry's hook).

    Raises:
        ValueError: For a device that is not here, a derivative-free optimizer, a gradient
            other than the analytic one, labels that are not class indices, or rows on disk
            on the cpu (:func:`check_in_memory`).
    """
    X, y, params = spec.X, spec.y, spec.params
    if issparse(X):
        raise ValueError("backend='torch' takes dense rows; sparse X trains on "
                         "backend='numpy' (or X.toarray() if it fits in memory)")
    dev = resolve_device(spec.device)
    if spec.search:
        raise ValueError(f"backend='torch' runs the gradient optimizers "
                         f"({', '.join(names('optimizer', 'gradient'))}); the search "
                         "optimizers run on backend='numpy'")
    objective = spec.value_and_grad
    if not isinstance(objective, Objective) or objective.spec is None:
        raise ValueError("backend='torch' needs gradient='analytic' with a named loss and "
                         "penalty (numerical and autodiff gradients run on backend='numpy')")
    n_classes = params["W"].shape[0]
    labels = unpack_weights(y)[0]
    if not (np.issubdtype(labels.dtype, np.integer) and 0 <= int(labels.min())
            and int(labels.max()) < n_classes):
        raise ValueError(f"backend='torch' trains on class indices in [0, {n_classes})")
    check_in_memory(X, dev)
    dtype = _torch_dtype(np.result_type(params["W"].dtype, params["b"].dtype), dev)
    step = TorchStep(objective, dev, dtype, spec.transform, affine_of(spec.transform, X))
    n = y.shape[0]
    if spec.batch_size is None or spec.batch_size >= n:
        return Parts(step, None)
    assert spec.rng is not None
    return Parts(step, TorchSource(X, y, TorchBatchSampler(n, spec.batch_size, spec.rng, dev)))


__all__ = ["DEVICE_CHUNK_ROWS", "FUSED_LOSS_KERNELS", "LOSS_KERNELS", "PENALTY_KERNELS",
           "TORCH_OPS", "TorchBatchSampler", "TorchSource", "TorchStep", "autograd_kernel",
           "available_devices", "check_in_memory", "loss_kernel", "make_parts",
           "resolve_device", "stream_rows"]
