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
from linclass.losses import LOSS_CHECKS, check_scores_labels, ova_targets
from linclass.model import Params, check_params
from linclass.objective import check_inputs
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


# --- losses: L = 1/N sum_i L_i, from scores and labels only ------------------------------


def svm_loss(S: Tensor, y: np.ndarray, margin: float = 1.0) -> Tensor:
    """Multiclass SVM ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``, averaged."""
    n = S.shape[0]
    rows = np.arange(n)
    correct = S[rows, y].reshape(n, 1)  # s_{y_i}, as a column to broadcast over j
    others = np.ones(S.shape)
    others[rows, y] = 0.0  # the sum skips j = y_i
    return ((S - correct + margin).maximum(0.0) * others).sum() / n


def log_softmax(S: Tensor) -> Tensor:
    """``log P(Y=k|x) = s_k - log sum_j exp(s_j)``, shifted by the row max against overflow."""
    shifted = S - S.max(axis=1, keepdims=True)
    return shifted - shifted.exp().sum(axis=1, keepdims=True).log()


def softmax_loss(S: Tensor, y: np.ndarray) -> Tensor:
    """Softmax cross-entropy ``L_i = -log( exp(s_{y_i}) / sum_j exp(s_j) )``, averaged."""
    n = S.shape[0]
    return -log_softmax(S)[np.arange(n), y].sum() / n


def ova_hinge_loss(S: Tensor, y: np.ndarray, margin: float = 1.0) -> Tensor:
    """One-vs-all hinge ``L_i = sum_k max(0, margin - t_ik s_ik)``, ``t_ik = +-1``, averaged."""
    t = ova_targets(S.data, y)
    return (margin - t * S).maximum(0.0).sum() / S.shape[0]


def ova_logistic_loss(S: Tensor, y: np.ndarray) -> Tensor:
    """One-vs-all logistic ``L_i = sum_k log(1 + exp(-t_ik s_ik))``, averaged.

    ``log(1 + e^z)`` is written as ``m + log(e^-m + e^(z - m))`` with ``m = max(z, 0)``: the
    same shift as the softmax's, so ``exp`` never overflows, and its derivative through
    ``m`` is exactly 0, so the choice of subgradient of ``max`` at ``z = 0`` cannot matter.
    """
    z = -ova_targets(S.data, y) * S
    m = z.maximum(0.0)
    return (m + ((-m).exp() + (z - m).exp()).log()).sum() / S.shape[0]


def squared_loss(S: Tensor, T: np.ndarray) -> Tensor:
    """Squared error ``L_i = sum_k (s_ik - t_ik)^2``, averaged.

    ``T`` is what :func:`linclass.losses.check_scores_targets` makes of the targets: one-hot
    rows for labels, the real targets (n_samples, n_outputs) for regression.
    """
    return (S - T).square().sum() / S.shape[0]


LOSSES: dict[str, TensorLoss] = {
    "softmax": softmax_loss,
    "svm": svm_loss,
    "ova_hinge": ova_hinge_loss,
    "ova_logistic": ova_logistic_loss,
    "squared": squared_loss,
}


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
    loss: str | TensorLoss = "softmax",
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
        loss: ``"softmax"``, ``"svm"``, ``"ova_hinge"``, ``"ova_logistic"``, ``"squared"``
            or a callable.
        penalty: ``"none"``, ``"l1"``, ``"l2"``, ``"elasticnet"``, None or a callable.
        alpha: Regularization strength, >= 0.
        l1_ratio: Elastic-net mix (only for ``penalty="elasticnet"``).
        **loss_kwargs: Passed to the loss, e.g. ``margin`` for the SVM.

    Returns:
        ``(J, {"W": dJ/dW (n_classes, n_features), "b": dJ/db (n_classes,)})``.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    check_inputs(X, y)
    check_params(params, X.shape[1])
    loss_fn = _lookup(LOSSES, loss, "loss")
    penalty_fn = _lookup(PENALTIES, "none" if penalty is None else penalty, "penalty")
    penalty_kwargs = {}
    if penalty == "elasticnet":
        penalty_kwargs["l1_ratio"] = check_l1_ratio(l1_ratio)
    alpha = check_alpha(alpha)

    W, b = Tensor(params["W"]), Tensor(params["b"])
    S = linear_scores(W, b, X)
    check = LOSS_CHECKS.get(loss, check_scores_labels) if isinstance(loss, str) \
        else check_scores_labels
    _, y = check(S.data, y)  # the analytic loss's own checks; squared: labels -> one-hot
    J = loss_fn(S, y, **loss_kwargs) + penalty_fn(W, alpha, **penalty_kwargs)
    J.backward()
    assert W.grad is not None and b.grad is not None  # leaves of J: backward() set them
    return float(J.data), {"W": W.grad, "b": b.grad}
