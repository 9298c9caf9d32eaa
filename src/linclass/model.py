"""The lecture's model: a linear score function ``f(x, W) = Wx + b``.

Parameters are a plain dict ``{"W": ndarray (n_classes, n_features), "b": ndarray
(n_classes,)}`` so every optimizer, gradient method and file format sees the same thing.
Rows of X are examples, so the batched form is ``S = X W^T + b``.
"""

from __future__ import annotations

import numpy as np

from linclass.sparsity import issparse

Params = dict[str, np.ndarray]


def init_params(
    n_features: int,
    n_classes: int,
    *,
    scale: float = 1e-3,
    random_state: int | np.random.Generator | None = 0,
    dtype: np.dtype | type = np.float64,
) -> Params:
    """Small random weights and zero biases, so that at the start all scores are near 0.

    With scores near 0 the SVM loss is ``C - 1`` and the softmax loss is ``log C``: the
    lecture's sanity checks for a fresh model.

    Args:
        n_features: D, the length of one input vector.
        n_classes: C, the number of classes (one row of W per class).
        scale: Standard deviation of the Gaussian weights.
        random_state: Seed or generator; the only source of randomness.
        dtype: Floating dtype of the parameters.

    Returns:
        ``{"W": ndarray of shape (n_classes, n_features), "b": ndarray of shape (n_classes,)}``.
    """
    if n_features < 1 or n_classes < 1:
        raise ValueError(f"n_features and n_classes must be >= 1, got {n_features}, {n_classes}")
    rng = np.random.default_rng(random_state)
    W = (scale * rng.standard_normal((n_classes, n_features))).astype(dtype)
    return {"W": W, "b": np.zeros(n_classes, dtype=dtype)}


def check_params(params: Params, n_features: int | None = None) -> tuple[int, int]:
    """Validate a params dict and return ``(n_classes, n_features)``.

    Raises:
        ValueError: If keys, shapes or values are wrong, or W does not match ``n_features``.
    """
    if not isinstance(params, dict) or set(params) != {"W", "b"}:
        raise ValueError("params must be a dict with exactly the keys 'W' and 'b'")
    W, b = params["W"], params["b"]
    if W.ndim != 2 or b.ndim != 1 or b.shape[0] != W.shape[0]:
        raise ValueError(
            f"params shapes must be W (C, D) and b (C,), got W {W.shape} and b {b.shape}"
        )
    if n_features is not None and W.shape[1] != n_features:
        raise ValueError(f"X has {n_features} features, but W expects {W.shape[1]} features")
    return W.shape[0], W.shape[1]


def scores(params: Params, X: np.ndarray) -> np.ndarray:
    """Class scores for a batch: ``S = X W^T + b``.

    Args:
        params: ``{"W": (n_classes, n_features), "b": (n_classes,)}``.
        X: ndarray or scipy.sparse matrix of shape (n_samples, n_features).

    Returns:
        ndarray of shape (n_samples, n_classes); row i is ``f(x_i, W) = W x_i + b``.
    """
    X = X if issparse(X) else np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    check_params(params, X.shape[1])
    return np.asarray(X @ params["W"].T) + params["b"]


def predict(params: Params, X: np.ndarray) -> np.ndarray:
    """Multiclass rule: the class with the largest score, ``argmax_k s_k``.

    Returns:
        ndarray of shape (n_samples,) with class indices in ``[0, n_classes)``.
    """
    return np.argmax(scores(params, X), axis=1)


def predict_binary(s: np.ndarray) -> np.ndarray:
    """Binary rule from the lecture: ``y = 1 if f(x, w) >= 0 else 0``.

    Args:
        s: ndarray of shape (n_samples,), one score per example.

    Returns:
        ndarray of shape (n_samples,) of 0/1 integers.
    """
    return (np.asarray(s) >= 0).astype(np.int64)


def add_bias_column(X: np.ndarray) -> np.ndarray:
    """The bias trick on inputs: append a constant 1 to every example.

    Args:
        X: ndarray of shape (n_samples, n_features).

    Returns:
        ndarray of shape (n_samples, n_features + 1) whose last column is 1.
    """
    X = np.asarray(X)
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def fold_bias(params: Params) -> np.ndarray:
    """The bias trick on weights: ``[W | b]``, so that ``[W | b] [x; 1] = Wx + b``.

    Returns:
        ndarray of shape (n_classes, n_features + 1).
    """
    check_params(params)
    return np.hstack([params["W"], params["b"][:, None]])


def unfold_bias(W_ext: np.ndarray) -> Params:
    """Inverse of :func:`fold_bias`: split ``[W | b]`` back into the params dict."""
    W_ext = np.asarray(W_ext)
    if W_ext.ndim != 2 or W_ext.shape[1] < 2:
        raise ValueError(f"W_ext must have shape (n_classes, n_features + 1), got {W_ext.shape}")
    return {"W": W_ext[:, :-1].copy(), "b": W_ext[:, -1].copy()}
