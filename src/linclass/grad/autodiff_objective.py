"""The objective written a second time, as autodiff expressions straight from the formulas.

    J(W, b) = 1/N sum_i L(f(x_i; W, b), y_i) + R(W),      f(x; W, b) = W x + b

:mod:`linclass.losses` and :mod:`linclass.objective` hold the hand-derived gradients. Here
only the *values* are written, with :class:`~linclass.grad.autodiff.Tensor` operations, and
the gradient comes from ``backward()``. Writing the formulas twice is deliberate: the two
derivations are independent, so when they agree to rounding error, both are right (the
lecture's gradient check, with no finite-difference error in the way).

Input checks are not re-written: the analytic objective's own checks run on the same
arrays, so both methods refuse the same inputs with the same messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from linclass.grad.autodiff import Tensor
from linclass.losses import DEFAULT_LOSS, RECORDS, check_scores_labels
from linclass.losses.functions import check_sample_weight
from linclass.losses.records import ArrayOps, Loss
from linclass.model import Params, check_params
from linclass.objective import check_inputs, unpack_weights
from linclass.regularizers import check_alpha, check_l1_ratio

TensorLoss = Callable[..., Tensor]
TensorPenalty = Callable[[Tensor, float], Tensor]


def linear_scores(W: Tensor, b: Tensor, X: np.ndarray) -> Tensor:
    """``S = X W^T + b``: row i is ``f(x_i; W, b) = W x_i + b``.

    Args:
        W: Tensor of shape (n_classes, n_features).
        b: Tensor of shape (n_classes,), broadcast over the rows.
        X: ndarray of shape (n_samples, n_features), a constant.

    Returns:
        Tensor of shape (n_samples, n_classes).
    """
    return X @ W.T + b


# --- losses: L = 1/N sum_i L_i, from scores and targets only ------------------------------
#
# Each loss's value is written once, in its record (``Loss.value(xp, S, T, **kwargs)``,
# :mod:`linclass.losses.functions`), against an array namespace; here the namespace is the
# Tensor's, so every loss, a new one included, gets its autodiff gradient from its record.


class _TensorOps:
    """:class:`linclass.losses.records.ArrayOps` of :class:`Tensor` (``max(x, 0)`` has the
    subgradient 0 at 0, as the analytic hinges use)."""

    @staticmethod
    def sum(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def max(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return x.max(axis=axis, keepdims=keepdims)

    @staticmethod
    def exp(x: Tensor) -> Tensor:
        return x.exp()

    @staticmethod
    def log(x: Tensor) -> Tensor:
        return x.log()

    @staticmethod
    def relu(x: Tensor) -> Tensor:
        return x.maximum(0.0)

    @staticmethod
    def square(x: Tensor) -> Tensor:
        return x.square()


AUTODIFF_OPS: ArrayOps = _TensorOps()


def _tensor_loss(record: Loss) -> TensorLoss:
    """``loss(S, T, **kwargs) -> Tensor``: the record's value on Tensors."""

    def loss(S: Tensor, T: np.ndarray, **kwargs: Any) -> Tensor:
        return record.value(AUTODIFF_OPS, S, T, **kwargs)

    loss.__name__ = f"{record.name}_loss"
    loss.__doc__ = f"{record.help} (autodiff, from the record's value)"
    return loss


#: The autodiff losses, ``loss(S, T, **kwargs) -> Tensor`` with ``T`` the target matrix
#: (:meth:`linclass.losses.records.Loss.targets_of`), derived from the loss records.
LOSSES: dict[str, TensorLoss] = {n: _tensor_loss(r) for n, r in RECORDS.items()}


# --- penalties on W only; the bias is never penalised ------------------------------------


def l2(W: Tensor, alpha: float) -> Tensor:
    """``R(W) = alpha * sum_kl W_kl^2``."""
    return alpha * W.square().sum()


def l1(W: Tensor, alpha: float) -> Tensor:
    """``R(W) = alpha * sum_kl |W_kl|``."""
    return alpha * W.abs().sum()


def elastic_net(W: Tensor, alpha: float, l1_ratio: float = 0.5) -> Tensor:
    """``R(W) = alpha * (r |W|_1 + (1 - r) |W|_2^2)`` with ``r = l1_ratio``."""
    return l1(W, alpha * l1_ratio) + l2(W, alpha * (1.0 - l1_ratio))


def no_penalty(W: Tensor, alpha: float) -> Tensor:
    """``R(W) = 0`` (kept as ``0 * sum W`` so the result is still a tensor of W)."""
    return 0.0 * W.sum()


PENALTIES: dict[str, TensorPenalty] = {
    "none": no_penalty,
    "l1": l1,
    "l2": l2,
    "elasticnet": elastic_net,
}


def _lookup(table: dict[str, Callable], name: str | Callable, kind: str) -> Callable:
    if callable(name):
        return name
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {sorted(table)}") from None


def autodiff_value_and_grad(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    loss: str | TensorLoss = DEFAULT_LOSS,
    penalty: str | TensorPenalty | None = "l2",
    alpha: float = 0.0,
    *,
    l1_ratio: float = 0.5,
    **loss_kwargs: Any,
) -> tuple[float, Params]:
    """Objective value and its gradient by reverse-mode automatic differentiation.

    Same arguments and result as :func:`linclass.objective.value_and_grad`, except that a
    callable ``loss`` or ``penalty`` must be written with tensors: ``loss(S, y) -> Tensor``
    and ``penalty(W, alpha) -> Tensor`` (the point of autodiff: no derivative to write).

    Args:
        params: ``{"W": (n_classes, n_features), "b": (n_classes,)}``; left unchanged.
        X: ndarray of shape (n_samples, n_features).
        y: ndarray of shape (n_samples,), integer labels in ``[0, n_classes)``.
        loss: A loss name (:data:`linclass.losses.RECORDS`) or a callable.
        penalty: ``"none"``, ``"l1"``, ``"l2"``, ``"elasticnet"``, None or a callable.
        alpha: Regularization strength, >= 0.
        l1_ratio: Elastic-net mix (only for ``penalty="elasticnet"``).
        **loss_kwargs: Passed to the loss, e.g. ``margin`` for the SVM.

    Returns:
        ``(J, {"W": dJ/dW (n_classes, n_features), "b": dJ/db (n_classes,)})``.
    """
    X = np.asarray(X)
    y, w = unpack_weights(np.asarray(y))  # weighted targets: L = 1/N sum_i w_i L_i
    check_inputs(X, y)
    w = check_sample_weight(w, X.shape[0])
    check_params(params, X.shape[1])
    loss_fn = _lookup(LOSSES, loss, "loss")
    penalty_fn = _lookup(PENALTIES, "none" if penalty is None else penalty, "penalty")
    penalty_kwargs = {}
    if penalty == "elasticnet":
        penalty_kwargs["l1_ratio"] = check_l1_ratio(l1_ratio)
    alpha = check_alpha(alpha)

    W, b = Tensor(params["W"]), Tensor(params["b"])
    S = linear_scores(W, b, X)
    # The analytic loss's own checks; a named loss then gets its target matrix T (one-hot
    # rows for labels), a callable the labels as they are.
    _, y = (RECORDS[loss].targets_of(S.data, y) if isinstance(loss, str)
            else check_scores_labels(S.data, y))
    weight = {} if w is None else {"sample_weight": w}
    J = loss_fn(S, y, **loss_kwargs, **weight) + penalty_fn(W, alpha, **penalty_kwargs)
    J.backward()
    assert W.grad is not None and b.grad is not None  # leaves of J: backward() set them
    return float(J.data), {"W": W.grad, "b": b.grad}
