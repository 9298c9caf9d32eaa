"""Per-row weights of a fit: ``sample_weight`` times ``class_weight``, checked the
scikit-learn way.

The objective they enter is the weighted mean of the per-row losses,

    J(W, b) = sum_i v_i L_i / sum_i v_i + R(W),     v_i = sample_weight_i * class_weight[y_i]

(:mod:`linclass.objective`), so integer weights are exactly duplicated rows and
``alpha`` keeps the meaning it has without weights: for
:class:`sklearn.linear_model.LogisticRegression`, which minimizes ``C sum_i v_i L_i +
|W|^2 / 2``, the same minimizer is ``alpha = 1 / (2 C sum_i v_i)`` (``sum_i v_i = N`` for
``class_weight="balanced"`` and no sample weights, where it is the unweighted mapping).

``class_weight="balanced"`` is scikit-learn's ``n_samples / (n_classes * np.bincount(y))``
(:func:`sklearn.utils.class_weight.compute_class_weight`); a dict maps labels (as in
``y``) to weights, 1 for the labels it leaves out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import _check_sample_weight

from linclass.objective import pack_weights


def row_weights(n: int, sample_weight: Any, class_weight: Any = None,
                y_enc: np.ndarray | None = None, classes: np.ndarray | None = None
                ) -> np.ndarray | None:
    """The weight of every row, or None when there are none (all 1).

    Args:
        n: The rows of the fit.
        sample_weight: None or array-like of shape (n,), finite, >= 0.
        class_weight: None, ``"balanced"`` or a dict ``{label: weight}`` (classifiers).
        y_enc: ndarray of shape (n,), labels as indices into ``classes`` (with
            ``class_weight``).
        classes: The labels in sorted order (``classes_``).

    Returns:
        ndarray of shape (n,) of float64, or None.

    Raises:
        ValueError: Naming ``sample_weight`` (wrong length, NaN, negative, all 0) or
            ``class_weight`` (a label that is not in ``classes``).
    """
    if sample_weight is None and class_weight is None:
        return None
    w = np.ones(n)
    if sample_weight is not None:
        try:
            w = _check_sample_weight(sample_weight, np.empty((n, 0)), dtype=np.float64,
                                     ensure_non_negative=True)
        except ValueError as e:  # one message names the argument, whatever scikit-learn says
            if "sample_weight" in str(e):
                raise
            raise ValueError(f"sample_weight: {e}") from None
    if class_weight is not None:
        assert y_enc is not None and classes is not None
        if isinstance(class_weight, dict):
            known = set(classes.tolist())
            unknown = [k for k in class_weight if k not in known]
            if unknown:
                raise ValueError(f"class_weight names labels {unknown} that are not in the "
                                 f"training labels {classes.tolist()}")
        per_class = compute_class_weight(class_weight, classes=classes, y=classes[y_enc])
        w = w * per_class[y_enc]
    if not float(w.sum()) > 0:
        raise ValueError("sample_weight sums to 0: at least one row needs a positive weight")
    return np.asarray(w, dtype=np.float64)


def warm_params(before: tuple[Any, dict[str, np.ndarray]] | None, classes: Any,
                n_features: int) -> dict[str, np.ndarray] | None:
    """The starting ``(W, b)`` of a warm start: the previous fit's, which must have had the
    same classes (None for a regressor) and features; None for a cold start.

    Raises:
        ValueError: Naming ``warm_start``, for other classes or another feature count.
    """
    if before is None:
        return None
    old_classes, params = before
    if classes is not None and not (len(old_classes) == len(classes)
                                    and np.array_equal(old_classes, classes)):
        raise ValueError(f"warm_start=True continues the previous fit, whose classes were "
                         f"{np.asarray(old_classes).tolist()}; these labels have classes "
                         f"{np.asarray(classes).tolist()}: fit with warm_start=False")
    if params["W"].shape[1] != n_features:
        raise ValueError(f"warm_start=True continues the previous fit on "
                         f"{params['W'].shape[1]} features; X has {n_features}: fit with "
                         "warm_start=False")
    return params


def with_weights(y: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """``y`` with its rows' weights attached (:func:`linclass.objective.pack_weights`,
    normalized to mean 1), or ``y`` itself without weights."""
    return pack_weights(y, weights)


__all__ = ["row_weights", "warm_params", "with_weights"]
