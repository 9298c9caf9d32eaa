"""Penalties on the weights: ``R(W) -> (value, dR/dW)``.

Only W is penalised, never the bias b: the bias shifts scores without changing how much
the classifier relies on any input, so shrinking it buys no simplicity and would only bias
the class priors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

PenaltyFn = Callable[[np.ndarray, float], tuple[float, np.ndarray]]


def check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(
            f"alpha (regularization strength) must be a finite number >= 0, got {alpha}")
    return alpha


def check_l1_ratio(l1_ratio: float) -> float:
    """The elastic net's mix ``r``, which must lie in [0, 1]."""
    l1_ratio = float(l1_ratio)
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must lie in [0, 1], got {l1_ratio}")
    return l1_ratio


def l2(W: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """L2 penalty ``R(W) = alpha * sum_kl W_kl^2``; gradient ``2 alpha W``. Bias not penalised.

    Args:
        W: ndarray of shape (n_classes, n_features).
        alpha: Strength, >= 0.

    Returns:
        ``(R, dR/dW)`` with dR/dW of the shape of W.
    """
    alpha = check_alpha(alpha)
    return alpha * float(np.vdot(W, W)), (2 * alpha) * W


def l1(W: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """L1 penalty ``R(W) = alpha * sum_kl |W_kl|``; subgradient ``alpha sign(W)`` (0 at 0).

    Bias not penalised.
    """
    alpha = check_alpha(alpha)
    return alpha * float(np.abs(W).sum()), alpha * np.sign(W)


def elastic_net(W: np.ndarray, alpha: float, l1_ratio: float = 0.5) -> tuple[float, np.ndarray]:
    """Elastic net ``R(W) = alpha * (r |W|_1 + (1 - r) |W|_2^2)`` with ``r = l1_ratio``.

    Bias not penalised.
    """
    l1_ratio = check_l1_ratio(l1_ratio)
    v1, g1 = l1(W, alpha * l1_ratio)
    v2, g2 = l2(W, alpha * (1.0 - l1_ratio))
    return v1 + v2, g1 + g2


def no_penalty(W: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """No regularization: ``R(W) = 0``."""
    check_alpha(alpha)
    return 0.0, np.zeros_like(W)


def stacked(penalty: str, W: np.ndarray, alphas: np.ndarray, l1_ratio: float = 0.5, *,
            out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The penalty of H stacked weight matrices at once, head ``h`` with its own strength:
    ``R_h = alpha_h (r |W_h|_1 + (1 - r) |W_h|_2^2)`` with ``r`` 1 for ``"l1"``, 0 for
    ``"l2"``, ``l1_ratio`` for ``"elasticnet"`` (the formulas of :func:`l1`, :func:`l2`
    and :func:`elastic_net`, vectorized over the heads; :mod:`linclass.training.heads`).

    Args:
        penalty: ``"none"``, ``"l1"``, ``"l2"`` or ``"elasticnet"``.
        W: ndarray of shape (H, n_classes, n_features).
        alphas: ndarray of shape (H,), each >= 0.
        l1_ratio: The elastic net's mix.
        out: Optional array of W's shape and dtype that receives ``dR/dW``: a training
            step then makes no array of W's size (the elastic net's one term aside).

    Returns:
        ``(R, dR/dW)``: ndarray of shape (H,) and one of the shape of W (``out`` when
        given).
    """
    if penalty not in PENALTIES:
        raise ValueError(f"unknown penalty {penalty!r}; choose one of {sorted(PENALTIES)}")
    alphas = np.asarray(alphas, dtype=np.float64)
    for a in alphas:
        check_alpha(a)
    values = np.zeros(W.shape[0])
    grads = np.zeros_like(W) if out is None else out
    r = {"none": None, "l1": 1.0, "l2": 0.0, "elasticnet": check_l1_ratio(l1_ratio)}[penalty]
    if r is None:
        grads[...] = 0
        return values, grads
    a = alphas.astype(W.dtype)[:, None, None]
    if r > 0:
        sign = np.sign(W, out=grads)
        values += alphas * r * np.einsum("hcd,hcd->h", W, sign)  # |w| = w sign(w), exactly
        sign *= a * r
    if r < 1:
        values += alphas * (1.0 - r) * np.einsum("hcd,hcd->h", W, W)
        if r > 0:
            grads += (2 * a * (1.0 - r)) * W
        else:
            np.multiply(W, 2 * a * (1.0 - r), out=grads)
    return values, grads


PENALTIES: dict[str, PenaltyFn] = {
    "none": no_penalty,
    "l1": l1,
    "l2": l2,
    "elasticnet": elastic_net,
}


def get_penalty(penalty: str | PenaltyFn | None, *, l1_ratio: float = 0.5) -> PenaltyFn:
    """Look a penalty up by name (``"none"``, ``"l1"``, ``"l2"``, ``"elasticnet"``), map
    ``None`` to no penalty, or pass a callable through.

    Args:
        penalty: Name, callable ``R(W, alpha) -> (value, dW)``, or None.
        l1_ratio: Mix for ``"elasticnet"``; ignored by the others.
    """
    if penalty is None:
        return no_penalty
    if callable(penalty):
        return penalty
    if penalty == "elasticnet":
        return functools.partial(elastic_net, l1_ratio=check_l1_ratio(l1_ratio))
    try:
        return PENALTIES[penalty]
    except KeyError:
        raise ValueError(
            f"unknown penalty {penalty!r}; choose one of {sorted(PENALTIES)}") from None
