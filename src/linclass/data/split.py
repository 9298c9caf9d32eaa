"""Stratified, seeded splits: train/test for datasets without one, train/validation always.

Stratified means every class keeps (as nearly as rounding allows) the same share in both
parts, so a validation accuracy is not skewed by a class that happened to land on one side.
The seed goes through ``np.random.default_rng``, the only source of randomness here.
"""

from __future__ import annotations

import numpy as np


def stratified_split(
    y: np.ndarray,
    test_size: float = 0.25,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified split of the labels ``y``.

    Each class c with n_c examples gives ``round(test_size * n_c)`` of them to the second
    part, but at least 1 and at most ``n_c - 1`` when ``n_c >= 2``, so every class stays on
    both sides; a class with one example stays in the first part.

    Args:
        y: ndarray of shape (n_samples,), the labels (any sortable dtype).
        test_size: Fraction of each class to put in the second part, in (0, 1).
        random_state: Seed or generator for ``np.random.default_rng``.

    Returns:
        ``(first_idx, second_idx)``: sorted int64 index arrays that together cover
        ``0..n_samples - 1`` once.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    rng = np.random.default_rng(random_state)
    classes, y_idx = np.unique(y, return_inverse=True)
    second: list[np.ndarray] = []
    for c in range(len(classes)):
        members = np.flatnonzero(y_idx == c)
        n_c = members.size
        if n_c < 2:
            continue
        n_second = min(max(int(round(test_size * n_c)), 1), n_c - 1)
        second.append(rng.permutation(members)[:n_second])
    second_idx = np.sort(np.concatenate(second)) if second else np.empty(0, np.int64)
    mask = np.ones(y.shape[0], dtype=bool)
    mask[second_idx] = False
    return np.flatnonzero(mask).astype(np.int64), second_idx.astype(np.int64)


def train_val_split(
    X: np.ndarray,
    y: np.ndarray,
    val_size: float = 0.2,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out a stratified validation set from the training data.

    Tune hyperparameters on the validation set and touch the test set once, at the end.

    Args:
        X: ndarray of shape (n_samples, ...), images or features (kept in their dtype).
        y: ndarray of shape (n_samples,), labels.
        val_size: Fraction of each class to hold out, in (0, 1).
        random_state: Seed or generator for ``np.random.default_rng``.

    Returns:
        ``(X_train, X_val, y_train, y_val)``, in scikit-learn's ``train_test_split`` order.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
    train_idx, val_idx = stratified_split(y, val_size, random_state)
    return X[train_idx], X[val_idx], y[train_idx], y[val_idx]
