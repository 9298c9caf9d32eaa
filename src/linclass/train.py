"""Training: the lecture's gradient descent loop.

1. compute the gradient of the loss at the current W, 2. step ``W <- W - lr * dW``,
3. repeat. (The optimizers issue generalizes this into one fit loop.)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from linclass.grad import ValueAndGrad
from linclass.model import Params


def gradient_descent(
    value_and_grad: ValueAndGrad,
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    *,
    learning_rate: float = 0.1,
    n_steps: int = 100,
    callback: Callable[[int, float, Params], None] | None = None,
) -> tuple[Params, list[float]]:
    """Full-batch gradient descent: ``W <- W - lr * dJ/dW`` on the whole training set.

    Args:
        value_and_grad: ``(params, X, y) -> (J, grads)``, any gradient method.
        params: Starting point (not modified).
        X: ndarray of shape (n_samples, n_features).
        y: ndarray of shape (n_samples,).
        learning_rate: Step size.
        n_steps: Number of steps.
        callback: Called as ``callback(step, loss, params)`` after each gradient evaluation.

    Returns:
        ``(params, losses)``: the final parameters and the loss at each step.

    Raises:
        FloatingPointError: If the loss becomes NaN or inf (the learning rate is too big).
    """
    params = {k: v.copy() for k, v in params.items()}
    losses = []
    for step in range(n_steps):
        loss, grads = value_and_grad(params, X, y)
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"loss became {loss} at step {step}: learning_rate={learning_rate} is too large"
            )
        losses.append(loss)
        if callback is not None:
            callback(step, loss, params)
        for k in params:
            params[k] -= learning_rate * grads[k]
    return params, losses
