"""Stacked heads on a torch device: a sweep's H settings in one matrix product per batch.

The torch twin of :class:`linclass.training.heads.HeadsStep` (its module docstring has the
formulas): params ``{"W": (H, C, D), "b": (H, C)}`` live on the device, and a batch ``F``
(m, D) of the rows (moved to the device once) is multiplied once for every head,

    S = F [W_1; ...; W_H]^T + b        (m, H C), one ``addmm``
    dJ/dW = G^T F                      (H C, D), one ``matmul``

the loss's torch kernel (:data:`linclass.backends.torch.LOSS_KERNELS`) runs once on the
(m H, C) view of ``S``, and each head's value is its weighted mean over its own rows
(:class:`TorchHeadSums`, the torch :class:`~linclass.training.heads.HeadSums`). Each head's
alpha, rate, coordinates (``mu``, ``inv_sigma``), mask and row weights are (H, ...)
tensors: no Python loop over heads. Which heads are alive, stopped or dropped, and why,
is the NumPy step's bookkeeping (inherited: ``survive``, ``drop``), kept on the host.

The batch order is the torch backend's (:class:`~linclass.backends.torch.TorchSource`, a
``torch.randperm`` seeded by the run's generator), so every head takes exactly the steps
of its own ``LinearClassifier(backend="torch")`` fit with the same seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.sparse import issparse

from linclass.backends.torch import (
    DEVICE_CHUNK_ROWS,
    LOSS_KERNELS,
    OnDevice,
    TorchBatchSampler,
    TorchSource,
    _torch_dtype,
    _TorchOps,
    check_in_memory,
    resolve_device,
    stream_rows,
)
from linclass.training.heads import Heads, HeadsStep, Measured
from linclass.training.parts import Parts
from linclass.training.sampler import chunk_slices
from linclass.training.sweep import HeadsSpec
from linclass.training.workspace import Transform

Tensor = torch.Tensor
TorchParams = dict[str, Tensor]

#: Numbers of the heads' scores (rows x H C) a chunk of a full pass may hold: 2^24, 128 MB
#: in float64 (a temporary or two of that size each).
SCORE_BUDGET = 2**24


class TorchHeadSums(_TorchOps):
    """:class:`linclass.training.heads.HeadSums` for torch tensors: a loss's
    ``xp.sum(terms)`` over the (m H) rows becomes ``(m H) sum_i w_ih L_ih`` per head, so
    its value ``sum / (m H)`` is each head's weighted mean.

    Args:
        weights: Tensor of shape (m, H).
    """

    def __init__(self, weights: Tensor) -> None:
        self.w = weights
        self.m, self.H = weights.shape

    def sum(self, x: Tensor, axis: int | None = None,  # type: ignore[override]
            keepdims: bool = False) -> Tensor:
        if axis is not None:
            return x.sum(dim=axis, keepdim=keepdims)
        per_row = x.reshape(self.m, self.H, -1).sum(dim=2)
        return (per_row * self.w).sum(dim=0) * (self.m * self.H)


def _penalty(penalty: str, W: Tensor, alphas: Tensor, l1_ratio: float
             ) -> tuple[Tensor, Tensor | None]:
    """:func:`linclass.regularizers.stacked` on the device: ``R_h = alpha_h (r |W_h|_1 +
    (1 - r) |W_h|_2^2)`` (H,) and its gradient (None for ``"none"``)."""
    r = {"none": None, "l1": 1.0, "l2": 0.0, "elasticnet": float(l1_ratio)}[penalty]
    if r is None:
        return W.new_zeros(W.shape[0]), None
    a = alphas[:, None, None]
    values = W.new_zeros(W.shape[0])
    grads = torch.zeros_like(W)
    if r > 0:
        values += alphas * r * W.abs().sum(dim=(1, 2))
        grads += (a * r) * torch.sign(W)
    if r < 1:
        values += alphas * (1.0 - r) * (W * W).sum(dim=(1, 2))
        grads += (2 * (1.0 - r)) * a * W
    return values, grads


class TorchHeadsStep(OnDevice, HeadsStep):
    """The :class:`~linclass.training.parts.Step` of H stacked heads on a torch device
    (module docstring); losses come back as ndarrays of shape (H,) on the host.

    Args:
        heads: The heads' settings (a classifier's: class labels).
        device: The torch device.
        dtype: The compute dtype (that of the params).
        transform: Stored rows -> features (run once, on the host, as the rows move), or
            None.
        chunk_rows: Rows per chunk of a full pass.
    """

    def __init__(self, heads: Heads, device: torch.device, dtype: torch.dtype,
                 transform: Transform | None = None,
                 chunk_rows: int = DEVICE_CHUNK_ROWS) -> None:
        if heads.regression:
            raise ValueError("backend='torch' trains classifiers (class indices); a "
                             "regressor's heads run on backend='numpy'")
        super().__init__(heads, transform, chunk_rows)
        self.device, self.dtype = device, dtype
        self.kernel = LOSS_KERNELS[heads.loss]
        self.alphas = self._tensor(heads.alphas)
        self.rates = self._tensor(heads.rates)
        self.mu = None if heads.mu is None else self._tensor(heads.mu)
        self.inv_sigma = None if heads.inv_sigma is None else self._tensor(heads.inv_sigma)
        self.total_counts = (None if self.counts is None else self._tensor(self.counts))
        self._data: dict[int, tuple[Any, Tensor, Tensor, Tensor | None, Tensor | None]] = {}
        self._gate: tuple[bytes, Tensor] | None = None

    def for_heads(self, heads: Heads) -> TorchHeadsStep:
        """A step of other heads on the same rows (already on the device)."""
        other = TorchHeadsStep(heads, self.device, self.dtype, self.transform, self.chunk_rows)
        other._data = self._data
        return other

    # --- params (put and host: OnDevice) ----------------------------------------------------

    def finite(self, params: Any) -> bool:
        """True while some head is alive; a live head whose params are not finite is
        dropped first."""
        ok = (torch.isfinite(params["W"]).all(dim=2).all(dim=1)
              & torch.isfinite(params["b"]).all(dim=1)).cpu().numpy()
        nan = np.full(self.heads.n_heads, np.nan)
        self.drop(self.alive & ~ok, nan, nan)
        return bool(self.alive.any())

    # --- the rows, moved once --------------------------------------------------------------

    def _on_device(self, X: Any, y: Any) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """``(F, labels, masks (n, H) or None, row weights (n, H) or None)`` on the device,
        moved at the first call (found again by the identity of ``X``)."""
        key = id(X)
        if key not in self._data:
            check_in_memory(X, self.device)
            if self.device.type == "cpu" and self.transform is None:
                Xd = torch.from_numpy(np.ascontiguousarray(X))  # the rows, no copy
            else:
                Xd = stream_rows(X, self.device, self.transform)
            labels, mask, v = self.split(np.asarray(y))
            self._data[key] = (
                X, Xd, torch.from_numpy(np.asarray(labels, np.int64)).to(self.device),
                None if mask is None else torch.from_numpy(np.asarray(mask)).to(self.device),
                None if v is None else self._tensor(v))
        return self._data[key][1:]

    # --- coordinates -------------------------------------------------------------------------

    def model(self, theta: Any) -> Any:
        """The heads' ``(W, b)`` from the optimizer's ``(W~, b~)``."""
        h = self.heads
        if self.mu is None:
            return theta
        assert self.inv_sigma is not None
        W = theta["W"] * (self.inv_sigma[:, None, :] * h.out_scale)
        b = h.out_shift + h.out_scale * theta["b"] - torch.matmul(W, self.mu)
        return {"W": W, "b": b}

    def _theta_grads(self, gW: Tensor, gb: Tensor) -> dict[str, Tensor]:
        """``(dJ/dW~, dJ/db~)`` times ``c`` from the model's gradient (chain rule)."""
        h = self.heads
        if self.mu is None:
            return {"W": gW, "b": gb}
        assert self.inv_sigma is not None
        k = h.out_scale * h.loss_scale
        gW = (gW - gb[:, :, None] * self.mu) * (self.inv_sigma[:, None, :] * k)
        return {"W": gW, "b": gb * k}

    # --- blocks ------------------------------------------------------------------------------

    def _scores(self, model: TorchParams, F: Tensor) -> Tensor:
        """Every head's scores, one product: (m, H C)."""
        W = model["W"]
        H, C, D = W.shape
        return torch.addmm(model["b"].reshape(H * C), F.to(self.dtype), W.reshape(H * C, D).T)

    def _labels_targets(self, S2: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """The (m H, C) view's labels (each row's, once per head) and one-hot targets."""
        y_rep = y.repeat_interleave(self.heads.n_heads)
        return y_rep, torch.zeros_like(S2).scatter_(1, y_rep[:, None], 1.0)

    def _block_weights(self, mask: Tensor | None, v: Tensor | None, m: int,
                       counts: Tensor | None) -> Tensor:
        """Row weights (m, H): ``v_ih mask_ih / count_h``, the counts those of the block
        (``counts`` None) or of the whole set (as :class:`HeadsStep`'s)."""
        H = self.heads.n_heads
        base = (torch.ones((m, H), dtype=self.dtype, device=self.device) if mask is None
                else mask.to(self.dtype))
        if counts is None:
            counts = base.sum(dim=0)
        if v is not None:
            base = base * v
        return base / counts.clamp(min=1.0)

    def _head_values(self, S2: Tensor, T: Tensor, w: Tensor) -> Tensor:
        """``L_h = sum_i w_ih L_ih`` of the (m H, C) view of the scores: (H,) on the
        device."""
        return self.record.value(TorchHeadSums(w), S2, T, **self.heads.loss_kwargs)

    def _block(self, model: TorchParams, F: Tensor, y: Tensor, w: Tensor
               ) -> tuple[Tensor, Tensor, Tensor]:
        """``(L (H,), dL/dW (H, C, D), dL/db (H, C))`` of one block, row weights ``w``."""
        W = model["W"]
        H, C, D = W.shape
        m = F.shape[0]
        F = F.to(self.dtype)
        S = self._scores(model, F)
        S2 = S.reshape(m * H, C)
        y_rep, T = self._labels_targets(S2, y)
        losses = self._head_values(S2, T, w)
        G2 = self.kernel(S2, y_rep, T, **self.heads.loss_kwargs)[1]
        # the kernel averaged over all m H rows; row (i, h) weighs w_ih in head h
        G = (G2.reshape(m, H, C) * (w * (m * H))[:, :, None]).reshape(m, H * C)
        return losses, torch.matmul(G.T, F).reshape(H, C, D), G.sum(dim=0).reshape(H, C)

    def _rates(self) -> Tensor:
        """Each head's rate on the device, 0 for a stopped or dropped head (moved again
        only when that changes)."""
        gate = self.training & self.alive
        key = gate.tobytes()
        if self._gate is None or self._gate[0] != key:
            self._gate = (key, self.rates * self._tensor(gate))
        return self._gate[1]

    def _finish_torch(self, model: TorchParams, losses: Tensor, gW: Tensor, gb: Tensor
                      ) -> tuple[np.ndarray, dict[str, Tensor]]:
        """Each head's penalty, its coordinates and its rate (the NumPy step's
        ``_finish``)."""
        h = self.heads
        values, gP = _penalty(h.penalty, model["W"], self.alphas, h.l1_ratio)
        if gP is not None:
            gW = gW + gP
        grads = self._theta_grads(gW, gb)
        rates = self._rates()
        grads["W"] = grads["W"] * rates[:, None, None]
        grads["b"] = grads["b"] * rates[:, None]
        total = ((losses + values) * h.loss_scale).cpu().numpy().astype(np.float64)
        return np.where(self.alive, total, np.nan), grads

    def _clear(self, params: Any) -> None:
        if not self.alive.all():
            dead = torch.from_numpy(~self.alive).to(self.device)
            params["W"][dead] = 0
            params["b"][dead] = 0

    # --- the Step protocol -------------------------------------------------------------------

    def batch(self, params: Any, X: Any, y: Any, rows: Any) -> tuple[Any, Any]:
        """``(J (H,), grads)`` of the mini-batch ``rows`` (indices on the device)."""
        self.steps += 1
        self._clear(params)
        model = self.model(params)
        Xd, yd, md, vd = self._on_device(X, y)
        w = self._block_weights(None if md is None else md[rows],
                                None if vd is None else vd[rows], len(rows), None)
        return self._finish_torch(model, *self._block(model, Xd[rows], yd[rows], w))

    def full(self, params: Any, X: Any, y: Any) -> tuple[Any, Any]:
        """``(J (H,), grads)`` of the whole set, each head on its rows, a chunk at a time."""
        self.steps += 1
        self._clear(params)
        model = self.model(params)
        Xd, yd, md, vd = self._on_device(X, y)
        n = yd.shape[0]
        counts = (self.total_counts if self.total_counts is not None
                  else torch.full((self.heads.n_heads,), float(n), dtype=self.dtype,
                                  device=self.device))
        W = model["W"]
        total = W.new_zeros(W.shape[0])
        gW, gb = torch.zeros_like(W), torch.zeros_like(model["b"])
        for s in chunk_slices(n, self.chunk_rows):  # summed as they come: one chunk held
            losses, gW_c, gb_c = self._block(model, Xd[s], yd[s], self._block_weights(
                None if md is None else md[s], None if vd is None else vd[s],
                s.stop - s.start, counts))
            total += losses
            gW += gW_c
            gb += gb_c
        return self._finish_torch(model, total, gW, gb)

    def measure(self, params: Any, X: Any, y: Any, *, held_out: bool = True) -> Measured:
        """Every head's objective on its training rows and score on the others (accuracy),
        one product per chunk for both (as :meth:`HeadsStep.measure`)."""
        h = self.heads
        params = self.put(params) if not isinstance(params["W"], Tensor) else params
        self._clear(params)
        model = self.model(params)
        Xd, yd, md, vd = self._on_device(X, y)
        n, H = yd.shape[0], h.n_heads
        counts = (self.total_counts if self.total_counts is not None
                  else torch.full((H,), float(n), dtype=self.dtype, device=self.device))
        # sums in float64 (MPS has none), counts as integers: float32 rows still give
        # the NumPy step's scores
        wide = torch.float32 if self.device.type == "mps" else torch.float64
        loss = torch.zeros(H, dtype=wide, device=self.device)
        hits = torch.zeros(H, dtype=torch.int64, device=self.device)
        n_out = torch.zeros(H, dtype=torch.int64, device=self.device)
        for s in chunk_slices(n, self.chunk_rows):
            m = s.stop - s.start
            S = self._scores(model, Xd[s])
            mask = None if md is None else md[s]
            S2 = S.reshape(m * H, -1)
            w = self._block_weights(mask, None if vd is None else vd[s], m, counts)
            loss += self._head_values(S2, self._labels_targets(S2, yd[s])[1], w).to(wide)
            if not held_out:
                continue
            out = (torch.ones((m, H), dtype=torch.bool, device=self.device) if mask is None
                   else ~mask)
            pred = S.reshape(m, H, -1).argmax(dim=2)
            hits += ((pred == yd[s][:, None]) & out).sum(dim=0)
            n_out += out.sum(dim=0)
        values = _penalty(h.penalty, model["W"], self.alphas, h.l1_ratio)[0]
        objective = np.where(self.alive, (loss + values.to(wide)).cpu().numpy(), np.nan)
        if not held_out:
            return Measured(objective, None)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = hits.cpu().numpy() / n_out.cpu().numpy()
        return Measured(objective, np.where(self.alive, score, np.nan))


def make_heads_parts(spec: HeadsSpec) -> Parts:
    """The heads' step and batch source on a torch device (the registry's hook for
    :func:`linclass.training.sweep.fit_heads`).

    Raises:
        ValueError: A device that is not here, sparse rows, rows on disk on the cpu, or a
            regressor's heads.
    """
    if issparse(spec.X):
        raise ValueError("backend='torch' takes dense rows; sparse X trains on "
                         "backend='numpy' (or X.toarray() if it fits in memory)")
    dev = resolve_device(spec.device)
    check_in_memory(spec.X, dev)
    dtype = _torch_dtype(np.dtype(spec.dtype), dev)
    # a full pass's chunk: a device's large one, while its (rows, H C) scores stay within
    # SCORE_BUDGET numbers (never fewer rows than the NumPy step's chunk)
    width = spec.heads.n_heads * spec.n_outputs
    chunk = max(spec.chunk_rows, min(DEVICE_CHUNK_ROWS, SCORE_BUDGET // max(width, 1)))
    step = TorchHeadsStep(spec.heads, dev, dtype, spec.transform, chunk)
    n = spec.y.shape[0]
    if spec.batch_size is None or spec.batch_size >= n:
        return Parts(step, None)
    assert spec.rng is not None
    return Parts(step, TorchSource(spec.X, spec.y,
                                   TorchBatchSampler(n, spec.batch_size, spec.rng, dev)))


__all__ = ["TorchHeadSums", "TorchHeadsStep", "make_heads_parts"]
