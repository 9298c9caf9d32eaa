"""The training objective and its analytic gradient: the chain rule to W and b, once.

    J(W, b) = 1/N sum_i L(f(x_i; W, b), y_i) + R(W),      f(x; W, b) = W x + b

With ``S = X W^T + b`` and ``G = dL/dS`` from the loss:

    dJ/dW = G^T X + dR/dW        dJ/db = sum_i G_i

Losses see only scores; penalties see only W. Everything that needs a gradient of the
objective goes through :func:`value_and_grad` (or another method with the same interface,
see :mod:`linclass.grad`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linclass.losses import LossFn, get_loss
from linclass.model import Params, scores
from linclass.regularizers import PenaltyFn, get_penalty


def check_inputs(X: np.ndarray, y: np.ndarray) -> None:
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf")


def objective_value(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    loss: str | LossFn = "softmax",
    penalty: str | PenaltyFn | None = "l2",
    alpha: float = 0.0,
    *,
    l1_ratio: float = 0.5,
    **loss_kwargs: Any,
) -> float:
    """``J(W, b)``: mean data loss plus penalty. Same arguments as :func:`value_and_grad`."""
    return value_and_grad(
        params, X, y, loss, penalty, alpha, l1_ratio=l1_ratio, _need_grad=False, **loss_kwargs
    )[0]


def value_and_grad(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    loss: str | LossFn = "softmax",
    penalty: str | PenaltyFn | None = "l2",
    alpha: float = 0.0,
    *,
    l1_ratio: float = 0.5,
    _need_grad: bool = True,
    **loss_kwargs: Any,
) -> tuple[float, Params]:
    """Objective value and its analytic gradient with respect to W and b.

    Args:
        params: ``{"W": (n_classes, n_features), "b": (n_classes,)}``.
        X: ndarray of shape (n_samples, n_features).
        y: ndarray of shape (n_samples,), integer labels in ``[0, n_classes)``.
        loss: Loss name or callable ``loss(scores, y) -> (value, dscores)``.
        penalty: Penalty name, callable, or None.
        alpha: Regularization strength, >= 0.
        l1_ratio: Elastic-net mix (only for ``penalty="elasticnet"``).
        **loss_kwargs: Passed to the loss, e.g. ``margin`` for the SVM.

    Returns:
        ``(J, {"W": dJ/dW (n_classes, n_features), "b": dJ/db (n_classes,)})``.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    check_inputs(X, y)
    S = scores(params, X)
    data_loss, dS = get_loss(loss)(S, y, **loss_kwargs)
    reg, dR = get_penalty(penalty, l1_ratio=l1_ratio)(params["W"], alpha)
    if not _need_grad:
        return data_loss + reg, {}
    return data_loss + reg, {"W": dS.T @ X + dR, "b": dS.sum(axis=0)}
