"""Stacked heads: H hyperparameter settings trained together, on one read of the data.

A sweep over learning rates and regularization strengths trains H linear models on the
same rows. Their parameters are stacked, ``W`` of shape (H, C, D) and ``b`` (H, C), and
every batch ``F`` (m, D) is read, cast and multiplied **once** for all of them:

    S = F [W_1; ...; W_H]^T + [b_1, ..., b_H]           (m, H C), one matrix product
    dJ_h/dW_h = G_h^T F,   G = dL/dS                     (H C, D), one matrix product

The loss of head ``h`` only reads its own C columns of ``S``, so the heads are independent:
:class:`HeadsStep` evaluates the loss kernel once on the (m H, C) view of ``S`` (row
``(i, h)`` is example ``i`` under head ``h``): it writes every row's gradient, already
weighted, and every row's loss ``L_ih`` (``row_losses``), whose weighted sum per head is
that head's loss value, so the loss is evaluated once per batch for all heads (a loss
without a kernel is summed per head by :class:`HeadSums`). Each head's penalty has its own
``alpha_h`` (:func:`linclass.regularizers.stacked`). Vectorized over heads; no Python
loop over them. A step makes no array of the batch's or the weights' size: the gathered
rows, the scores, the gradients and the penalty's live in buffers kept by the step
(a fresh (H, C, D) array costs page faults that took longer than its arithmetic).

**Own learning rates.** The optimizer runs at rate 1 with the run's schedule, and head
``h``'s gradient is multiplied by its rate ``r_h``: for the linear updates (sgd, momentum,
nesterov) ``v <- mu v - s(t) (r_h g_h)`` is exactly the update of a run at rate ``r_h``,
since every schedule is its starting rate times a function of the step.

**Own coordinates.** A head may train in standardized coordinates (the estimators'
``scaling="auto"``, :mod:`linclass.training.reparam`) with its own spreads ``sigma_h``
(their floor depends on ``alpha_h``): the product is taken in the model's coordinates,
``W_h = s W~_h diag(1 / sigma_h)``, and the gradient mapped back by the chain rule, as
:class:`~linclass.training.reparam.ScaledStep` does for one head. The rows are centred
once per batch for all heads, ``F - mu`` (m, D), so that

    S = (F - mu) W^T + b',   b' = t + s b~   (= b + W mu)
    G^T (F - mu) = dJ/dW - dJ/db mu^T,       the chain rule's rank-one term, in the product

and the maps need no ``W mu`` and no (H, C, D) temporaries: one scaling of ``W~`` before
the product and one of the gradient after it.

**Own rows.** With ``masks`` (H, n) head ``h`` trains on its rows only (cross-validation
folds as heads): its loss on a batch is the mean over its rows in the batch, and a full
pass scores each head on its own rows, and on the rest (its held-out fold) at once.

**Dropped, not stopped.** A head whose loss is not finite, or rose
:data:`~linclass.training.runner.RISE_LIMIT` times above its start, is dropped with the
reason kept (:attr:`HeadsStep.dropped`); the others train on. Every batch's loss of every
head is checked, as the runner checks one fit's, so a head leaves at the batch at which
its own fit would stop diverged. Only when every head has diverged does the run end with
:class:`~linclass.training.history.TrainingDivergedError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linclass.losses import get_record
from linclass.losses.functions import one_hot
from linclass.losses.records import NumpyOps
from linclass.model import Params
from linclass.regularizers import stacked
from linclass.training.parts import InHostMemory
from linclass.training.runner import RISE_LIMIT
from linclass.training.sampler import CHUNK_ROWS, chunk_slices
from linclass.training.workspace import Transform


class HeadSums(NumpyOps):
    """The array namespace (:class:`linclass.losses.records.ArrayOps`) that turns a loss's
    ``value(xp, S, T)`` on the (m H, C) view of the heads' scores into one value per head.

    Every loss value is ``xp.sum(terms) / S.shape[0]``: a sum of per-row terms (axis None)
    over the ``m H`` rows. Here that sum is taken per head with the rows' weights
    ``w`` (m, H), times ``m H`` (which the value then divides by), so the value becomes
    ``L_h = sum_i w_ih L_ih``: the head's mean over its rows when ``w_ih = 1 / m_h``.
    Sums and maxes over an axis (the classes of a row), and the rest, are NumPy's.

    Args:
        weights: ndarray of shape (m, H).
    """

    def __init__(self, weights: np.ndarray) -> None:
        self.w = weights
        self.m, self.H = weights.shape

    # an instance method where NumPy's is static: the per-head sum needs the weights
    def sum(self, x: Any, axis: int | None = None,  # type: ignore[override]
            keepdims: bool = False) -> Any:
        if axis is not None:
            return np.sum(x, axis=axis, keepdims=keepdims)
        per_row = np.asarray(x).reshape(self.m, self.H, -1).sum(axis=2)
        return np.einsum("mh,mh->h", per_row, self.w) * (self.m * self.H)


@dataclass
class Heads:
    """The settings of H heads trained together (what differs between them).

    Attributes:
        loss: The loss's record name (the same for every head).
        penalty: ``"none"``, ``"l1"``, ``"l2"`` or ``"elasticnet"``.
        alphas: ndarray of shape (H,), each head's regularization strength.
        rates: ndarray of shape (H,), each head's learning rate.
        loss_kwargs: The loss's own arguments (``margin``).
        l1_ratio: The elastic net's mix.
        mu: ndarray of shape (D,): the column means of standardized coordinates, or None
            (the heads train on ``(W, b)`` as they are).
        inv_sigma: ndarray of shape (H, D): one over each head's column spreads.
        out_scale, out_shift: A regressor's target spread and mean (1 and 0 otherwise).
        masks: ndarray of shape (H, n), bool: the training rows of each head, or None (all).
        row_weights: ndarray of shape (H, n): each row's weight in each head, of mean 1
            over the head's rows (``sample_weight`` and ``class_weight``), or None.
        regression: Real targets (a regressor's squared error), scored by minus the mean
            squared error.
    """

    loss: str
    penalty: str
    alphas: np.ndarray
    rates: np.ndarray
    loss_kwargs: dict[str, Any] = field(default_factory=dict)
    l1_ratio: float = 0.5
    mu: np.ndarray | None = None
    inv_sigma: np.ndarray | None = None
    out_scale: float = 1.0
    out_shift: float = 0.0
    masks: np.ndarray | None = None
    row_weights: np.ndarray | None = None
    regression: bool = False

    def __post_init__(self) -> None:
        self.alphas = np.asarray(self.alphas, dtype=np.float64).reshape(-1)
        self.rates = np.asarray(self.rates, dtype=np.float64).reshape(-1)
        H = self.alphas.shape[0]
        if H == 0 or self.rates.shape != (H,):
            raise ValueError(f"alphas and rates must hold one entry per head, got "
                             f"{self.alphas.shape[0]} and {self.rates.shape[0]}")
        if not (np.isfinite(self.rates).all() and (self.rates > 0).all()):
            raise ValueError(f"learning rates must be finite and > 0, got {self.rates}")
        if (self.mu is None) != (self.inv_sigma is None):
            raise ValueError("give both mu and inv_sigma, or neither")
        if self.inv_sigma is not None and self.inv_sigma.shape[0] != H:
            raise ValueError(f"inv_sigma must have one row per head ({H}), got "
                             f"{self.inv_sigma.shape}")
        for name in ("masks", "row_weights"):
            value = getattr(self, name)
            if value is not None and (value.ndim != 2 or value.shape[0] != H):
                raise ValueError(f"{name} must have shape ({H}, n_samples), got {value.shape}")

    def stack_rows(self, y: np.ndarray) -> np.ndarray:
        """The labels (or targets) with each head's masks and weights as columns (what
        :meth:`HeadsStep.split` reads), or ``y`` itself when there are neither."""
        extra = [a.T for a in (self.masks, self.row_weights) if a is not None]
        if not extra:
            return y
        return np.column_stack([y, *extra]).astype(np.float64 if self.regression or
                                                   self.row_weights is not None else np.int64)

    @property
    def n_heads(self) -> int:
        """H."""
        return int(self.alphas.shape[0])

    @property
    def loss_scale(self) -> float:
        """``c = 1 / s^2``, what a regressor's optimizer loss is multiplied by (1 for
        classifiers), as :attr:`linclass.training.reparam.Reparam.loss_scale`."""
        return 1.0 / self.out_scale**2 if self.mu is not None else 1.0


@dataclass
class Dropped:
    """Why a head left the run.

    Attributes:
        epoch: 1-based epoch.
        step: Optimizer steps taken when it was seen.
        loss: The loss that dropped it (NaN when its parameters overflowed).
        start: Its first loss.
        rate: Its learning rate.
    """

    epoch: int
    step: int
    loss: float
    start: float
    rate: float

    def describe(self) -> str:
        """One line: what happened and what to lower."""
        what = (f"the loss rose to {self.loss:.4g} from {self.start:.4g}"
                if math.isfinite(self.loss) else f"the loss became {self.loss}")
        return (f"diverged: {what} at epoch {self.epoch}, step {self.step}; lower the "
                f"learning rate (it was {self.rate:.4g})")


class HeadsStep(InHostMemory):
    """The :class:`~linclass.training.parts.Step` of H stacked heads, with NumPy.

    Params are ``{"W": (H, C, D), "b": (H, C)}`` in each head's coordinates; losses come
    back as ndarrays of shape (H,).

    Args:
        heads: The heads' settings.
        transform: Stored rows -> float features (rows on disk, images), or None.
        chunk_rows: Rows per chunk of a full pass.
    """

    def __init__(self, heads: Heads, transform: Transform | None = None,
                 chunk_rows: int = CHUNK_ROWS) -> None:
        self.heads, self.transform, self.chunk_rows = heads, transform, chunk_rows
        self.record = get_record(heads.loss)
        self.regression = heads.regression
        self.alive = np.ones(heads.n_heads, dtype=bool)
        self.dropped: dict[int, Dropped] = {}
        self.epoch = 0  # set by the driver: the epoch a drop is recorded in
        self.steps = 0
        self.counts = (None if heads.masks is None
                       else heads.masks.sum(axis=1).astype(np.float64))
        if self.counts is not None and not (self.counts > 0).all():
            raise ValueError("every head needs at least one training row")
        self.training = np.ones(heads.n_heads, dtype=bool)  # not dropped, not stopped
        self._work: dict[str, np.ndarray] = {}  # a step's buffers (_buffer)
        self._cached_maps: dict[np.dtype, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    # --- coordinates -------------------------------------------------------------------------

    def model(self, theta: Params) -> Params:
        """The heads' ``(W, b)`` from the optimizer's ``(W~, b~)`` (module docstring)."""
        h = self.heads
        if h.mu is None:
            return theta
        assert h.inv_sigma is not None
        dtype = theta["W"].dtype
        W = theta["W"] * (h.inv_sigma.astype(dtype)[:, None, :] * dtype.type(h.out_scale))
        b = h.out_shift + h.out_scale * theta["b"] - W @ h.mu.astype(dtype)
        return {"W": W, "b": b}

    def _maps(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mu (D,), s / sigma (H, 1, D), c s / sigma (H, 1, D))`` in ``dtype``: the
        centre of the features, the map ``W~ -> W`` and the chain rule's ``dJ/dW -> c
        dJ/dW~``, made once per dtype."""
        maps = self._cached_maps.get(dtype)
        if maps is None:
            h = self.heads
            assert h.mu is not None and h.inv_sigma is not None
            to_model = h.inv_sigma[:, None, :] * h.out_scale
            maps = (h.mu.astype(dtype), to_model.astype(dtype),
                    (to_model * h.loss_scale).astype(dtype))
            self._cached_maps[dtype] = maps
        return maps

    def _coords(self, theta: Params) -> Params:
        """What a step's products use: the model's weights ``W = s W~ diag(1 / sigma)``
        (H, C, D), into a buffer, and the biases of *centred* features ``b' = t + s b~``
        (H, C). Since ``b = b' - W mu``, the scores are ``F W^T + b = (F - mu) W^T + b'``:
        no ``W mu`` per step, and the gradient taken on ``F - mu`` is already ``dJ/dW -
        dJ/db mu^T``, the chain rule's rank-one term (:meth:`_finish`)."""
        h = self.heads
        if h.mu is None:
            return theta
        W = theta["W"]
        to_model = self._maps(W.dtype)[1]
        return {"W": np.multiply(W, to_model, out=self._buffer("W", W.shape, W.dtype)),
                "b": theta["b"] * W.dtype.type(h.out_scale) + W.dtype.type(h.out_shift)}

    def _centred(self, X: Any, rows: Any, dtype: np.dtype) -> np.ndarray:
        """The block's features minus ``mu`` (the features themselves without standardized
        coordinates), gathered into a buffer: ``F - mu`` (m, D)."""
        mu = None if self.heads.mu is None else self._maps(dtype)[0]
        if (self.transform is None and isinstance(X, np.ndarray) and X.ndim == 2
                and X.dtype == dtype and isinstance(rows, np.ndarray)):
            # the sampler's rows are in range; mode="clip" lets np.take write straight
            # into out (mode="raise" buffers), as the one fit's Workspace.take does
            F = np.take(X, rows, axis=0, out=self._buffer("F", (rows.shape[0], X.shape[1]),
                                                          dtype), mode="clip")
            if mu is not None:
                F -= mu
            return F
        F = self.features(X, rows).astype(dtype, copy=False)
        if mu is None:
            return F
        return np.subtract(F, mu, out=self._buffer("F", F.shape, dtype))

    def _buffer(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """A reused array of ``shape``: the first rows of one kept per name, made again
        only when a block has more rows (or another dtype), so a step allocates no
        (m, D), (m, H C) or (H, C, D) arrays."""
        buf = self._work.get(name)
        if buf is None or buf.dtype != dtype or buf.shape[1:] != shape[1:] or \
                buf.shape[0] < shape[0]:
            buf = self._work[name] = np.empty(shape, dtype)
        return buf[:shape[0]]

    # --- blocks ------------------------------------------------------------------------------

    def features(self, X: Any, rows: Any) -> np.ndarray:
        """``F = features(X[rows])`` (rows: indices or a slice)."""
        block = X[rows]
        F = block if self.transform is None else self.transform(block)
        return np.asarray(F).reshape(F.shape[0], -1)

    def scores(self, model: Params, F: np.ndarray, out: np.ndarray | None = None
               ) -> np.ndarray:
        """Every head's scores, one product: ndarray of shape (m, H C) (``out`` when
        given)."""
        W = model["W"]
        H, C, D = W.shape
        S = np.matmul(F, W.reshape(H * C, D).T, out=out)
        S += model["b"].reshape(H * C)
        return S

    def _targets(self, S2: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (m H, C) view's labels (each row's label, once per head) and target matrix
        (one-hot rows, or the real targets; the loop checked the labels once)."""
        y_rep = np.repeat(y, self.heads.n_heads)
        if self.regression:
            y_rep = y_rep.astype(S2.dtype)
            return y_rep, y_rep[:, None]
        return y_rep, one_hot(y_rep, S2.shape[1], S2.dtype)

    def _clear(self, params: Params) -> None:
        """Zero a dropped head's params, so its scores stay finite (and out of the
        others' way: no NaN reaches a loss's checks)."""
        if not self.alive.all():
            params["W"][~self.alive] = 0
            params["b"][~self.alive] = 0

    def values(self, S: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``L_h = sum_i w_ih L_ih`` of scores ``S`` (m, H C): ndarray of shape (H,)."""
        m, H = S.shape[0], self.heads.n_heads
        S2 = S.reshape(m * H, -1)
        T = self._targets(S2, y)[1]
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(self.record.value(HeadSums(weights), S2, T, **self.heads.loss_kwargs),
                              dtype=np.float64)

    def _losses_into(self, S: np.ndarray, y: np.ndarray, weights: np.ndarray, *,
                     grad: bool) -> np.ndarray:
        """Each head's ``L_h = sum_i w_ih L_ih`` of scores ``S`` (m, H C), row weights
        ``w`` (m, H): ndarray of shape (H,). ``S`` is overwritten: with ``grad``, by
        every head's ``dL/dS``, row ``(i, h)`` weighted by ``w_ih`` (the gradient of
        ``L_h``); without, by anything.

        With a loss kernel one call gives every row's gradient and every row's loss
        ``L_ih`` (``row_losses``): the loss is evaluated once. Otherwise the value is the
        loss's ``value`` summed per head (:class:`HeadSums`) and the gradient its
        function's."""
        m, H = S.shape[0], self.heads.n_heads
        S2 = S.reshape(m * H, -1)
        kernel = self.record.kernel
        with np.errstate(over="ignore", invalid="ignore"):
            if kernel is not None and not self.regression:
                rows = self._buffer("rows", (m * H,), np.dtype(np.float64))
                # the kernel averages over all m H rows; row (i, h) weighs w_ih in head h
                sample_weight = ((weights * (m * H)).astype(S.dtype).reshape(m * H) if grad
                                 else None)
                kernel(S2, np.repeat(y, H), S2, sample_weight=sample_weight, row_losses=rows,
                       **self.heads.loss_kwargs)
                return np.einsum("mh,mh->h", rows.reshape(m, H), weights)
            y_rep, T = self._targets(S2, y)
            losses = np.asarray(self.record.value(HeadSums(weights), S2, T,
                                                  **self.heads.loss_kwargs), dtype=np.float64)
            if grad:
                S2[...] = self.record.function(S2, y_rep, **self.heads.loss_kwargs)[1]
                S2.reshape(m, H, -1)[...] *= (weights * (m * H)).astype(S.dtype)[:, :, None]
            return losses

    def _data_block(self, coords: Params, F: np.ndarray, y: np.ndarray, weights: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The data part of every head on one block of centred features ``F`` (m, D)
        (:meth:`_coords`): ``(L (H,), dL/dW - dL/db mu^T (H, C, D), dL/db (H, C))`` with
        row weights ``w`` (m, H). The scores, and then the gradient, lie in buffers that
        the next block overwrites."""
        W = coords["W"]
        H, C, D = W.shape
        m = F.shape[0]
        S = self.scores(coords, F, out=self._buffer("S", (m, H * C), W.dtype))
        losses = self._losses_into(S, y, weights, grad=True)
        G = S  # now dL/dS of every head
        gW = np.matmul(G.T, F, out=self._buffer("gW", (H * C, D), W.dtype))
        return losses, gW.reshape(H, C, D), G.sum(axis=0).reshape(H, C)

    def _finish(self, coords: Params, losses: np.ndarray, gW: np.ndarray, gb: np.ndarray
                ) -> tuple[np.ndarray, Params]:
        """Add each head's penalty, map to the heads' coordinates (the chain rule of the
        module docstring; ``gW`` already holds ``dJ/dW - dJ/db mu^T``), scale by their
        rates (0 for a dropped or stopped head). ``gW`` is updated in place."""
        h = self.heads
        W = coords["W"]
        values, gP = stacked(h.penalty, W, h.alphas, h.l1_ratio,
                             out=self._buffer("gP", W.shape, W.dtype))
        gW += gP
        rates = np.where(self.training & self.alive, h.rates, 0.0).astype(gW.dtype)
        if h.mu is None:
            gW *= rates[:, None, None]
            gb = gb * rates[:, None]
        else:
            H, _, D = gW.shape
            gW *= np.multiply(self._maps(gW.dtype)[2], rates[:, None, None],
                              out=self._buffer("scale", (H, 1, D), gW.dtype))
            gb = gb * (rates[:, None] * gW.dtype.type(h.out_scale * h.loss_scale))
        total = (losses + values) * h.loss_scale
        return np.where(self.alive, total, np.nan), {"W": gW, "b": gb}

    def split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None,
                                            np.ndarray | None]:
        """A block's labels (or targets), and its rows' masks and weights (m, H) or None.

        With masks or row weights the labels travel as ``y`` of shape (n, 1 + H [+ H]),
        the labels first, then each head's mask, then each head's weight, so that any
        batch source (shuffled indices, windows read from disk) hands them along with
        the labels (:func:`stack_rows`)."""
        if y.ndim == 1:
            return y, None, None
        H = self.heads.n_heads
        labels = y[:, 0] if self.regression else y[:, 0].astype(np.int64)
        at = 1
        mask = None
        if self.heads.masks is not None:
            mask, at = y[:, at:at + H] != 0, at + H
        weights = None if self.heads.row_weights is None else y[:, at:at + H]
        return labels, mask, weights

    def _weights(self, mask: np.ndarray | None, weights: np.ndarray | None, m: int,
                 counts: np.ndarray | None = None) -> np.ndarray:
        """Row weights (m, H) of a block: ``v_ih mask_ih / count_h``, with ``count_h`` the
        head's rows in the block (``counts`` None), or in the whole set; ``v`` the row
        weights (1 without), ``mask`` 1 without masks. As one fit's batch mean
        ``1/m sum_i v_i L_i`` (weights of mean 1 over its rows)."""
        H = self.heads.n_heads
        base = np.ones((m, H)) if mask is None else mask.astype(np.float64)
        if counts is None:
            counts = base.sum(axis=0)
        if weights is not None:
            base = base * weights
        return base / np.maximum(counts, 1.0)

    # --- the Step protocol -------------------------------------------------------------------

    def batch(self, params: Params, X: Any, y: Any, rows: Any) -> tuple[Any, Params]:
        """``(J (H,), grads)`` of the mini-batch ``rows``, each head on its own rows. The
        gradients lie in buffers that the next step overwrites (the optimizer has used
        them by then)."""
        self.steps += 1
        self._clear(params)
        coords = self._coords(params)
        F = self._centred(X, rows, params["W"].dtype)
        labels, mask, v = self.split(y[rows])
        weights = self._weights(mask, v, F.shape[0])
        return self._finish(coords, *self._data_block(coords, F, labels, weights))

    def full(self, params: Params, X: Any, y: Any) -> tuple[Any, Params]:
        """``(J (H,), grads)`` of the whole set (each head's rows), a chunk at a time."""
        self.steps += 1
        self._clear(params)
        coords = self._coords(params)
        n = y.shape[0]
        counts = self.counts if self.counts is not None else np.full(self.heads.n_heads, n)
        total = np.zeros(self.heads.n_heads)
        gW = np.zeros(params["W"].shape, np.float64)
        gb = np.zeros(params["b"].shape, np.float64)
        for s in chunk_slices(n, self.chunk_rows):
            F = self._centred(X, s, params["W"].dtype)
            labels, mask, v = self.split(y[s])
            losses, gW_c, gb_c = self._data_block(coords, F, labels,
                                                  self._weights(mask, v, F.shape[0], counts))
            total += losses
            gW += gW_c
            gb += gb_c
        dtype = params["W"].dtype
        return self._finish(coords, total, gW.astype(dtype), gb.astype(dtype))

    def loss(self, params: Params, X: Any, y: Any) -> Any:
        """``J`` of every head on the whole set: ndarray of shape (H,)."""
        return self.evaluate(params, X, y)[0]

    def evaluate(self, params: Params, X: Any, y: Any, *, accuracy: bool = True,
                 predictions: list[np.ndarray] | None = None) -> tuple[Any, Any]:
        """Every head's objective on its training rows and score on the held-out ones."""
        out = self.measure(params, X, y)
        return out.objective, out.held_out

    def measure(self, params: Params, X: Any, y: Any, *, held_out: bool = True) -> Measured:
        """One pass over ``(X, y)`` for every head: the model's objective ``J_h`` on its
        training rows (the penalty included, unscaled: the user's J) and its score on
        the other rows (all rows without masks): accuracy for a classifier, minus the
        mean squared error for a regressor."""
        h = self.heads
        self._clear(params)
        model = self.model(params)
        n, H = y.shape[0], h.n_heads
        C = model["W"].shape[1]
        counts = self.counts if self.counts is not None else np.full(H, n)
        loss = np.zeros(H)
        hits = np.zeros(H)
        sq_err, n_out = np.zeros(H), np.zeros(H)
        for s in chunk_slices(n, self.chunk_rows):
            F = self.features(X, s).astype(params["W"].dtype, copy=False)
            S = self.scores(model, F, out=self._buffer("S", (F.shape[0], H * C), F.dtype))
            y_c, mask, v = self.split(y[s])
            if held_out:
                # the rows each head is scored on: all of them, or those it did not train on
                out = np.ones((F.shape[0], H), dtype=bool) if mask is None else ~mask
                if self.regression:
                    err = S.reshape(-1, H) - y_c[:, None]
                    sq_err += np.einsum("mh,mh->h", err * err, out.astype(err.dtype))
                else:
                    pred = S.reshape(F.shape[0], H, -1).argmax(axis=2)
                    hits += np.count_nonzero((pred == y_c[:, None]) & out, axis=0)
                n_out += out.sum(axis=0)
            # last: the loss overwrites the scores
            loss += self._losses_into(S, y_c, self._weights(mask, v, F.shape[0], counts),
                                      grad=False)
        values, _ = stacked(h.penalty, model["W"], h.alphas, h.l1_ratio)
        objective = loss + values
        with np.errstate(invalid="ignore", divide="ignore"):
            # a regressor's score is minus the mean squared error (RidgeCV's): R^2 ranks a
            # shared hold-out alike, and has no value on one row or constant targets
            score = -sq_err / n_out if self.regression else hits / n_out
        objective = np.where(self.alive, objective, np.nan)
        return Measured(objective, np.where(self.alive, score, np.nan) if held_out else None)

    # --- heads that leave ----------------------------------------------------------------------

    def finite(self, params: Params) -> bool:
        """True while some head is alive; a live head whose params are not finite is
        dropped first."""
        ok = np.isfinite(params["W"]).all(axis=(1, 2)) & np.isfinite(params["b"]).all(axis=1)
        self.drop(self.alive & ~ok, np.full(self.heads.n_heads, np.nan),
                  np.full(self.heads.n_heads, np.nan))
        return bool(self.alive.any())

    def survive(self, loss: Any, start: Any) -> Any:
        """Drop the live heads whose loss is not finite or rose :data:`RISE_LIMIT` times
        above ``start`` (the runner's divergence rule, head by head); the losses with
        dropped heads as NaN, or None when none is left (then the run diverged)."""
        loss, start = np.asarray(loss, np.float64), np.asarray(start, np.float64)
        with np.errstate(invalid="ignore"):
            rose = ~np.isfinite(loss) | (loss > RISE_LIMIT * np.maximum(np.abs(start), 1.0))
        # seen during a batch, before its update: the steps taken are those before it,
        # as the runner counts them for one fit (TrainingDivergedError.step)
        self.drop(self.alive & rose, loss, start, self.steps - 1)
        if not self.alive.any():
            return None
        return np.where(self.alive, loss, np.nan)

    def drop(self, which: np.ndarray, loss: np.ndarray, start: np.ndarray,
             steps: int | None = None) -> None:
        """Mark the heads ``which`` dropped after ``steps`` optimizer steps (default: all
        the batches seen), keeping why."""
        steps = self.steps if steps is None else steps
        for k in np.flatnonzero(which):
            self.dropped[int(k)] = Dropped(self.epoch, steps, float(loss[k]),
                                           float(start[k]), float(self.heads.rates[k]))
        self.alive &= ~which


@dataclass
class Measured:
    """One pass of :meth:`HeadsStep.measure`.

    Attributes:
        objective: ndarray of shape (H,), ``J_h`` on each head's training rows (NaN for a
            dropped head).
        held_out: ndarray of shape (H,), each head's score on its other rows, or None.
    """

    objective: np.ndarray
    held_out: np.ndarray | None


#: ``on_epoch(epoch, objective (H,), held_out (H,) or None)`` after each measured epoch.
OnEpoch = Callable[[int, np.ndarray, "np.ndarray | None"], None]

__all__ = ["Dropped", "Heads", "HeadSums", "HeadsStep", "Measured", "OnEpoch"]
