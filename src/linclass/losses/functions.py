"""Loss functions on class scores: ``loss(scores, y) -> (value, dscores)``.

Every loss sees only the scores ``S`` (n_samples, n_classes) and integer labels ``y`` (the
softmax also takes probability targets, the squared error real targets), and
returns the empirical risk ``L = 1/N sum_i L_i`` with its gradient ``dL/dS``. The chain rule
to W and b lives once, in :mod:`linclass.objective`.

Each vectorized loss has a loop-based reference written like the lecture's formula
(``*_loop``); tests hold the two equal.

The softmax and SVM losses are computed by one kernel each, ``*_loss_into(scores, y,
out)``, which writes ``dL/dS`` into a given array (``scores`` itself is allowed) and skips
input checks. The public losses check their inputs and call the kernel; the fit loop calls
the kernels directly (through :func:`linclass.objective.value_and_grad_into`) after checking
once, so a training step allocates nothing and validates nothing. A kernel also writes
each row's ``L_i`` into ``row_losses`` when given: stacked heads
(:mod:`linclass.training.heads`) sum them per head instead of evaluating the loss twice.

Each loss is also written a third time, as its *value* only, against an array namespace
``xp`` (``*_value(xp, S, T, **kwargs)``, :class:`linclass.losses.records.ArrayOps`): the
autodiff objective and the torch backend differentiate that writing, so a loss gets its
autodiff gradient and its torch version from it. ``T`` is the target matrix: one-hot rows
for labels, probability rows, or real targets (:meth:`linclass.losses.records.Loss.targets_of`).

What a loss *is* (name, words, tags, which targets it takes, which of these functions are
its) is its record in :mod:`linclass.losses.records`; this module is only the math.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

LossFn = Callable[..., tuple[float, np.ndarray]]


def check_scores_labels(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a scores matrix and its labels; return them as arrays.

    Raises:
        ValueError: On wrong shapes, non-integer or out-of-range labels, non-finite scores.
    """
    scores = np.asarray(scores)
    y = np.asarray(y)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (n_samples, n_classes), got shape {scores.shape}")
    if y.ndim != 1 or y.shape[0] != scores.shape[0]:
        raise ValueError(
            f"y must have shape ({scores.shape[0]},) to match scores {scores.shape}, got {y.shape}"
        )
    if scores.shape[0] == 0:
        raise ValueError("cannot compute a loss over 0 samples")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels y must be integers, got dtype {y.dtype}")
    n_classes = scores.shape[1]
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"labels must lie in [0, {n_classes - 1}] for {n_classes} classes, "
            f"got range [{y.min()}, {y.max()}]"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or inf")
    return scores, y


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """Validate per-row weights: None, or finite values >= 0 of shape (n_samples,).

    Raises:
        ValueError: Naming ``sample_weight``: a wrong shape, NaN or inf, a negative weight.
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {w.shape}")
    if not np.issubdtype(w.dtype, np.number) or np.iscomplexobj(w):
        raise ValueError(f"sample_weight must be real numbers, got dtype {w.dtype}")
    w = w.astype(np.float64, copy=False)
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or inf")
    if (w < 0).any():
        raise ValueError(f"sample_weight must be >= 0, got a minimum of {w.min():g}")
    return w


def _mean_rows(per_example: np.ndarray, sample_weight: np.ndarray | None) -> float:
    """``1/N sum_i L_i``, or ``1/N sum_i w_i L_i`` with weights."""
    n = per_example.shape[0]
    if sample_weight is None:
        return float(per_example.sum()) / n
    return float(sample_weight @ per_example) / n


def _row_scale(n: int, sample_weight: np.ndarray | None) -> Any:
    """What row i of a gradient is multiplied by: ``1/N``, or ``w_i / N`` (shape (N, 1))."""
    return 1.0 / n if sample_weight is None else (sample_weight * (1.0 / n))[:, None]


def _float_dtype(scores: np.ndarray) -> np.dtype:
    """The dtype of a gradient of ``scores``: theirs when floating, float64 for integers."""
    return np.result_type(scores.dtype, 1.0)


# --- softmax: the one home of the stable formula -----------------------------------------


def log_softmax(scores: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Stable ``log P(Y=k|x) = s_k - log sum_j exp(s_j)``, computed row-wise.

    Subtracting the row maximum first changes nothing mathematically (softmax is
    shift-invariant) but keeps ``exp`` from overflowing at scores like 1e4.

    Args:
        scores: ndarray of shape (n_samples, n_classes).
        out: Optional float array of the same shape to write into (may be ``scores``).

    Returns:
        ndarray of shape (n_samples, n_classes) (``out`` when given).
    """
    shifted = np.subtract(scores, _row_max(scores)[:, None], out=out)
    shifted -= np.log(_row_sum(np.exp(shifted)))[:, None]
    return shifted


# NumPy reduces a short last axis (10 classes) one row at a time: for a (256, 10) batch,
# ``max(axis=1)`` takes ~27 us and ``sum(axis=1)`` ~9 us. The max of a transposed copy
# (a long axis) takes 3 us, a product with a vector of ones 3 us; same values.


def _row_max(scores: np.ndarray) -> np.ndarray:
    """``scores.max(axis=1)``, (n_samples,), quickly for few columns."""
    return np.ascontiguousarray(scores.T).max(axis=0)


@functools.lru_cache(maxsize=32)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones, made once per length and dtype."""
    ones = np.ones(n, dtype=dtype)
    ones.flags.writeable = False
    return ones


def _row_sum(values: np.ndarray) -> np.ndarray:
    """``values.sum(axis=1)``, (n_samples,), as one BLAS matrix-vector product."""
    return values @ _ones(values.shape[1], values.dtype)



def softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities ``P(Y=k|x) = exp(s_k) / sum_j exp(s_j)``; rows sum to 1."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


# --- multiclass SVM (Weston-Watkins hinge) ------------------------------------------------


CLASS_REDUCTIONS = ("sum", "mean")


def svm_loss(
    scores: np.ndarray,
    y: np.ndarray,
    margin: float = 1.0,
    *,
    include_correct: bool = False,
    class_reduction: str = "sum",
    sample_weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Multiclass SVM loss ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``, averaged.

    At a kink (a margin exactly 0) the subgradient 0 is used. The two variants the lecture
    asks about: summing over all ``j`` (``include_correct``) adds the term of ``j = y_i``,
    always ``max(0, margin) = margin``, so only a constant; taking the mean over the summed
    classes instead of the sum divides by their count, only a scale. Neither changes the
    minimizer (nor, for the sum, the gradient).

    Args:
        scores: ndarray of shape (n_samples, n_classes).
        y: ndarray of shape (n_samples,), integer labels in ``[0, n_classes)``.
        margin: The desired gap (the lecture's 1) between the correct score and the others.
        include_correct: Sum over all classes, ``j = y_i`` included.
        class_reduction: ``"sum"`` (the lecture's) or ``"mean"`` over the summed classes.
        sample_weight: Optional weights (n_samples,): ``L = 1/N sum_i w_i L_i``.

    Returns:
        ``(L, dL/dscores)`` with dscores of shape (n_samples, n_classes).
    """
    if class_reduction not in CLASS_REDUCTIONS:
        raise ValueError(f"class_reduction must be one of {CLASS_REDUCTIONS}, "
                         f"got {class_reduction!r}")
    scores, y = check_scores_labels(scores, y)
    w = check_sample_weight(sample_weight, scores.shape[0])
    dscores = np.empty(scores.shape, dtype=_float_dtype(scores))
    loss = svm_loss_into(scores, y, dscores, margin, sample_weight=w)
    if include_correct:  # the term max(0, s_y - s_y + margin), weighted
        loss += max(0.0, float(margin)) * (1.0 if w is None else float(w.mean()))
    if class_reduction == "mean":
        n_terms = scores.shape[1] - (0 if include_correct else 1)
        loss /= n_terms
        dscores /= n_terms
    return loss, dscores


def svm_loss_into(
    scores: np.ndarray, y: np.ndarray, out: np.ndarray, margin: float = 1.0, *,
    sample_weight: np.ndarray | None = None, row_losses: np.ndarray | None = None,
) -> float:
    """The kernel of :func:`svm_loss`: write ``dL/dscores`` into ``out``, return ``L``.

    Unchecked (see :func:`check_scores_labels`); ``out`` may be ``scores`` itself.

    Args:
        scores: ndarray of shape (n_samples, n_classes).
        y: ndarray of shape (n_samples,), integer labels in ``[0, n_classes)``.
        out: Float ndarray of shape (n_samples, n_classes) that receives the gradient.
        margin: The desired gap between the correct score and the others.
        sample_weight: Optional weights (n_samples,), checked by the caller.
        row_losses: Optional float array (n_samples,) that receives each ``L_i``
            (unweighted), for a caller that needs more than the mean (stacked heads).

    Returns:
        The loss averaged over examples (weighted: ``1/N sum_i w_i L_i``).
    """
    n = scores.shape[0]
    rows = np.arange(n)
    correct = scores[rows, y]  # a copy, taken before out (maybe scores) is overwritten
    margins = np.subtract(scores, (correct - margin)[:, None], out=out)
    np.maximum(margins, 0, out=margins)
    margins[rows, y] = 0  # j != y_i
    if row_losses is not None:
        row_losses[...] = _row_sum(margins)
        loss = _mean_rows(row_losses, sample_weight)
    else:
        loss = (float(margins.sum()) / n if sample_weight is None
                else _mean_rows(_row_sum(margins), sample_weight))
    # dL_i/ds_j = 1[margin_j > 0] for j != y_i, and minus the count of those for j = y_i.
    active = np.greater(margins, 0, out=margins)  # 1.0 / 0.0 in place
    active[rows, y] = -_row_sum(active)
    active *= _row_scale(n, sample_weight)
    return loss


def svm_loss_loop(
    scores: np.ndarray,
    y: np.ndarray,
    margin: float = 1.0,
    *,
    include_correct: bool = False,
    class_reduction: str = "sum",
    sample_weight: np.ndarray | None = None,
) -> float:
    """Reference SVM loss, one example and one class at a time, as the slides write it.

    Args:
        scores: ndarray of shape (n_samples, n_classes).
        y: ndarray of shape (n_samples,).
        margin: The gap, 1 in the lecture.
        include_correct: Sum over all j, including ``j = y_i`` (the lecture's question:
            it adds exactly ``margin`` per example).
        class_reduction: ``"sum"`` as in the lecture, or ``"mean"`` over the summed classes
            (another of its questions: only a constant scale).

    Returns:
        The loss averaged over examples.
    """
    scores, y = check_scores_labels(scores, y)
    total = 0.0
    for i in range(scores.shape[0]):
        s = scores[i]
        terms = []
        for j in range(scores.shape[1]):
            if j == y[i] and not include_correct:
                continue
            terms.append(max(0.0, float(s[j] - s[y[i]] + margin)))
        w_i = 1.0 if sample_weight is None else float(sample_weight[i])
        total += w_i * (sum(terms) if class_reduction == "sum" else sum(terms) / len(terms))
    return total / scores.shape[0]


# --- softmax + cross-entropy --------------------------------------------------------------


def softmax_loss(scores: np.ndarray, y: np.ndarray, *, sample_weight: np.ndarray | None = None
                 ) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy ``L_i = -sum_k p*_ik log q_ik``, ``q_i = softmax(s_i)``, averaged.

    With integer labels ``p*_i`` is one-hot and this is ``L_i = -log q_{i, y_i}``. With
    probability targets (label smoothing, distillation) it is the cross-entropy
    ``H(p*_i, q_i) = H(p*_i) + KL(p*_i || q_i)`` (see :func:`kl_divergence`): the same
    gradient as ``KL``, since the entropy of the targets does not depend on the scores.

    Args:
        scores: ndarray of shape (n_samples, n_classes), unnormalized log-probabilities.
        y: ndarray of shape (n_samples,), integer labels, or ndarray of shape
            (n_samples, n_classes), target probabilities (rows >= 0 summing to 1).
        sample_weight: Optional weights (n_samples,): ``L = 1/N sum_i w_i L_i``.

    Returns:
        ``(L, dL/dscores)``; ``dL_i/ds_k = w_i (q_ik - p*_ik)``, divided by N.
    """
    if np.ndim(y) == 2:
        scores, targets = check_scores_probabilities(scores, y)
        w = check_sample_weight(sample_weight, scores.shape[0])
        logq = log_softmax(scores.astype(_float_dtype(scores)))
        n = scores.shape[0]
        if w is None:  # as before weights existed (the same rounding)
            return -float(np.sum(targets * logq)) / n, (np.exp(logq) - targets) / n
        per_example = -_row_sum(targets * logq)
        return _mean_rows(per_example, w), (np.exp(logq) - targets) * _row_scale(n, w)
    scores, y = check_scores_labels(scores, y)
    w = check_sample_weight(sample_weight, scores.shape[0])
    dscores = np.empty(scores.shape, dtype=_float_dtype(scores))
    return softmax_loss_into(scores, y, dscores, sample_weight=w), dscores


def softmax_loss_into(scores: np.ndarray, y: np.ndarray, out: np.ndarray, *,
                      sample_weight: np.ndarray | None = None,
                      row_losses: np.ndarray | None = None) -> float:
    """The kernel of :func:`softmax_loss`: write ``dL/dscores`` into ``out``, return ``L``.

    Unchecked (see :func:`check_scores_labels`); ``out`` may be ``scores`` itself.

    Args:
        scores: ndarray of shape (n_samples, n_classes).
        y: ndarray of shape (n_samples,), integer labels in ``[0, n_classes)``.
        out: Float ndarray of shape (n_samples, n_classes) that receives the gradient.
        sample_weight: Optional weights (n_samples,), checked by the caller.
        row_losses: Optional float array (n_samples,) that receives each
            ``L_i = -log p_{y_i}`` (unweighted).

    Returns:
        The loss averaged over examples (weighted: ``1/N sum_i w_i L_i``).
    """
    n = scores.shape[0]
    rows = np.arange(n)
    logp = log_softmax(scores, out=out)
    picked = logp[rows, y]
    loss = -_mean_rows(picked, sample_weight)
    if row_losses is not None:
        np.negative(picked, out=row_losses)
    dscores = np.exp(logp, out=logp)
    dscores[rows, y] -= 1
    dscores *= _row_scale(n, sample_weight)
    return loss


def softmax_loss_loop(scores: np.ndarray, y: np.ndarray,
                      sample_weight: np.ndarray | None = None) -> float:
    """Reference softmax loss, written like the slide: exp, normalize, ``-log``.

    Uses the max-shift per example and takes the ``log`` of the normalizer rather than of
    the probability, ``L_i = log sum_j exp(s_j - m) - (s_{y_i} - m)`` with ``m = max_j s_j``,
    so that it is a fair reference at large scores too: at ``s = [1e4, -1e4, 0]`` with
    ``y = 1`` the probability ``exp(-2e4)`` underflows to 0 (``-log`` of it would be inf),
    while the loss itself is exactly 20000.
    """
    scores, y = check_scores_labels(scores, y)
    total = 0.0
    for i in range(scores.shape[0]):
        s = scores[i] - max(scores[i])
        unnormalized = [np.exp(float(v)) for v in s]  # the largest is exp(0) = 1: sum >= 1
        w_i = 1.0 if sample_weight is None else float(sample_weight[i])
        total += w_i * (np.log(sum(unnormalized)) - float(s[y[i]]))
    return total / scores.shape[0]


def check_scores_probabilities(
    scores: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Validate scores and probability targets of the same shape; return them as arrays.

    Raises:
        ValueError: On a shape mismatch, non-finite values, negative entries or rows that
            do not sum to 1 (within 1e-6).
    """
    scores = np.asarray(scores)
    targets = np.asarray(targets, dtype=_float_dtype(np.asarray(scores)))
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (n_samples, n_classes), got shape {scores.shape}")
    if targets.shape != scores.shape:
        raise ValueError(f"probability targets must have the shape of scores {scores.shape}, "
                         f"got {targets.shape}")
    if scores.shape[0] == 0:
        raise ValueError("cannot compute a loss over 0 samples")
    if not (np.all(np.isfinite(scores)) and np.all(np.isfinite(targets))):
        raise ValueError("scores or targets contain NaN or inf")
    check_distribution(targets, "targets")
    return scores, targets


def check_distribution(p: np.ndarray, name: str = "p") -> np.ndarray:
    """Refuse anything but rows of probabilities (last axis >= 0, summing to 1 within 1e-6)."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 0 or not np.all(np.isfinite(p)):
        raise ValueError(f"{name} must be a finite array of probabilities, got {p!r}")
    if np.any(p < 0):
        raise ValueError(f"{name} has negative entries; probabilities are >= 0")
    sums = p.sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"the rows of {name} must sum to 1, got sums in "
                         f"[{sums.min():.6g}, {sums.max():.6g}]")
    return p


def entropy(p: np.ndarray) -> np.ndarray:
    """Entropy ``H(p) = -sum_k p_k log p_k`` (with ``0 log 0 = 0``) over the last axis.

    Args:
        p: ndarray of shape (n_classes,) or (n_samples, n_classes), probabilities.

    Returns:
        ndarray of shape ``p.shape[:-1]`` (a float for one distribution), in nats.
    """
    p = check_distribution(p)
    return 0.0 - np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)


def cross_entropy(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Cross-entropy ``H(p, q) = -sum_k p_k log q_k`` over the last axis (``0 log 0 = 0``).

    Args:
        p: ndarray of shape (n_classes,) or (n_samples, n_classes), the true distribution.
        q: ndarray of the same shape, the estimate.

    Returns:
        ndarray of shape ``p.shape[:-1]``; inf where ``q_k = 0 < p_k``.
    """
    p, q = check_distribution(p), check_distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    with np.errstate(divide="ignore"):
        logq = np.log(q)
    return -np.sum(np.where(p > 0, p * logq, 0.0), axis=-1)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Kullback-Leibler divergence ``KL(p || q) = sum_k p_k log(p_k / q_k) = H(p, q) - H(p)``.

    The lecture derives the softmax loss from it: with a one-hot ``p`` the entropy ``H(p)``
    is 0, so ``KL(p || q) = H(p, q) = -log q_y``, the cross-entropy.

    Args:
        p: ndarray of shape (n_classes,) or (n_samples, n_classes), the true distribution.
        q: ndarray of the same shape, the estimate.

    Returns:
        ndarray of shape ``p.shape[:-1]`` (>= 0, 0 only for ``p = q``); inf where
        ``q_k = 0 < p_k``.
    """
    return cross_entropy(p, q) - entropy(p)


# --- squared error: regression, and classification on one-hot targets --------------------


def one_hot(y: np.ndarray, n_classes: int, dtype: DTypeLike = np.float64) -> np.ndarray:
    """``T_ik = 1[k = y_i]``: labels (n_samples,) as targets (n_samples, n_classes)."""
    t = np.zeros((len(y), n_classes), dtype=dtype)
    t[np.arange(len(y)), y] = 1
    return t


def check_scores_targets(scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate scores and the targets of a squared error; return ``(scores, T)``.

    ``y`` is either integer labels (n_samples,), turned into one-hot targets, or real
    targets: (n_samples, n_classes), or (n_samples,) when there is one output (regression).

    Raises:
        ValueError: As :func:`check_scores_labels`, or on targets of the wrong shape or
            with NaN or inf.
    """
    scores, y = np.asarray(scores), np.asarray(y)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        scores, y = check_scores_labels(scores, y)
        return scores, one_hot(y, scores.shape[1], _float_dtype(scores))
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (n_samples, n_outputs), got shape {scores.shape}")
    if y.ndim == 1 and scores.shape[1] == 1:
        y = y[:, None]
    if y.shape != scores.shape:
        raise ValueError(f"real targets must have shape {scores.shape} (or ({scores.shape[0]},) "
                         f"for one output), got {y.shape}")
    if scores.shape[0] == 0:
        raise ValueError("cannot compute a loss over 0 samples")
    if not (np.all(np.isfinite(scores)) and np.all(np.isfinite(y))):
        raise ValueError("scores or targets contain NaN or inf")
    return scores, y.astype(_float_dtype(scores), copy=False)


def squared_loss(scores: np.ndarray, y: np.ndarray, *, sample_weight: np.ndarray | None = None
                 ) -> tuple[float, np.ndarray]:
    """Squared error ``L_i = sum_k (s_ik - t_ik)^2``, averaged: the lecture's
    ``L_i = (y - W x_i)^2``.

    For classification ``t_i`` is the one-hot vector of the label ``y_i``; for regression
    ``t_i`` is the real target (one output: scores (n_samples, 1), targets (n_samples,)).

    Args:
        scores: ndarray of shape (n_samples, n_outputs).
        y: Integer labels (n_samples,), or real targets (n_samples, n_outputs) or
            (n_samples,) for one output.
        sample_weight: Optional weights (n_samples,): ``L = 1/N sum_i w_i L_i``.

    Returns:
        ``(L, dL/dscores)``; ``dL_i/ds_ik = 2 w_i (s_ik - t_ik)``, divided by N.
    """
    scores, targets = check_scores_targets(scores, y)
    w = check_sample_weight(sample_weight, scores.shape[0])
    residual = scores - targets  # float: targets carry the float dtype
    n = scores.shape[0]
    if w is None:
        return float(np.sum(residual * residual)) / n, residual * (2.0 / n)
    return _mean_rows(_row_sum(residual * residual), w), residual * (2.0 * _row_scale(n, w))


def squared_loss_into(scores: np.ndarray, y: np.ndarray, out: np.ndarray, *,
                      sample_weight: np.ndarray | None = None,
                      row_losses: np.ndarray | None = None) -> float:
    """The kernel of :func:`squared_loss` for integer labels (the fit loop's fast path):
    write ``dL/dscores`` into ``out`` (may be ``scores``), return ``L``. Unchecked.

    Args:
        scores: ndarray of shape (n_samples, n_classes).
        y: ndarray of shape (n_samples,), integer labels in ``[0, n_classes)``.
        out: Float ndarray of shape (n_samples, n_classes) that receives the gradient.
        row_losses: Optional float array (n_samples,) that receives each ``L_i``
            (unweighted).

    Returns:
        The loss averaged over examples.
    """
    n = scores.shape[0]
    if out is not scores:
        out[...] = scores
    residual = out  # s - t: subtract the one-hot in place
    residual[np.arange(n), y] -= 1
    if row_losses is not None:
        row_losses[...] = _row_sum(residual * residual)
        loss = _mean_rows(row_losses, sample_weight)
    elif sample_weight is None:
        loss = float(np.sum(residual * residual)) / n
    else:
        loss = _mean_rows(_row_sum(residual * residual), sample_weight)
    residual *= 2.0 * _row_scale(n, sample_weight)
    return loss


def squared_loss_loop(scores: np.ndarray, y: np.ndarray,
                      sample_weight: np.ndarray | None = None) -> float:
    """Reference squared error, one example and one output at a time:
    ``1/N sum_i sum_k (s_ik - t_ik)^2`` with ``t_ik = 1[k = y_i]`` for labels."""
    scores, targets = check_scores_targets(scores, y)
    total = 0.0
    for i in range(scores.shape[0]):
        w_i = 1.0 if sample_weight is None else float(sample_weight[i])
        for k in range(scores.shape[1]):
            total += w_i * (float(scores[i, k]) - float(targets[i, k])) ** 2
    return total / scores.shape[0]


# --- one-vs-all: C binary classifiers, one per class --------------------------------------


def ova_targets(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``t_ik = +1`` if ``k = y_i`` else ``-1``: each class against all the rest."""
    t = -np.ones_like(scores)
    t[np.arange(scores.shape[0]), y] = 1
    return t


def ova_hinge_loss(
    scores: np.ndarray, y: np.ndarray, margin: float = 1.0, *,
    sample_weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """One-vs-all hinge: ``L_i = sum_k max(0, margin - t_ik s_ik)``, averaged.

    Each row of W is a binary SVM "class k vs. the rest" (the lecture's one-versus-all).

    Returns:
        ``(L, dL/dscores)`` with dscores of shape (n_samples, n_classes).
    """
    scores, y = check_scores_labels(scores, y)
    w = check_sample_weight(sample_weight, scores.shape[0])
    n = scores.shape[0]
    t = ova_targets(scores, y)
    h = margin - t * scores
    active = h > 0
    if w is None:  # as before weights existed (the same rounding)
        loss = float(np.where(active, h, 0).sum()) / n
        return loss, np.where(active, -t, 0).astype(scores.dtype) / n
    loss = _mean_rows(np.where(active, h, 0).sum(axis=1), w)
    return loss, (np.where(active, -t, 0) * _row_scale(n, w)).astype(_float_dtype(scores))


def ova_logistic_loss(scores: np.ndarray, y: np.ndarray, *,
                      sample_weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """One-vs-all logistic: ``L_i = sum_k log(1 + exp(-t_ik s_ik))``, averaged.

    Returns:
        ``(L, dL/dscores)``; ``dL/ds_ik = -t_ik sigmoid(-t_ik s_ik) / N``.
    """
    scores, y = check_scores_labels(scores, y)
    w = check_sample_weight(sample_weight, scores.shape[0])
    n = scores.shape[0]
    t = ova_targets(scores, y)
    z = -t * scores
    # sigmoid(z) written through exp(-logaddexp) so it stays finite at |z| = 1e4.
    sig = np.exp(z - np.logaddexp(0, z))
    if w is None:  # as before weights existed (the same rounding)
        return float(np.logaddexp(0, z).sum()) / n, (-t * sig / n).astype(scores.dtype)
    loss = _mean_rows(np.logaddexp(0, z).sum(axis=1), w)
    return loss, (-t * sig * _row_scale(n, w)).astype(scores.dtype)



def ova_hinge_loss_loop(scores: np.ndarray, y: np.ndarray, margin: float = 1.0,
                        sample_weight: np.ndarray | None = None) -> float:
    """Reference one-vs-all hinge, one example and one class at a time:
    ``1/N sum_i sum_k max(0, margin - t_ik s_ik)``, ``t_ik = +1`` if ``k = y_i`` else -1."""
    scores, y = check_scores_labels(scores, y)
    total = 0.0
    for i in range(scores.shape[0]):
        w_i = 1.0 if sample_weight is None else float(sample_weight[i])
        for k in range(scores.shape[1]):
            t = 1.0 if k == y[i] else -1.0
            total += w_i * max(0.0, margin - t * float(scores[i, k]))
    return total / scores.shape[0]


def ova_logistic_loss_loop(scores: np.ndarray, y: np.ndarray,
                           sample_weight: np.ndarray | None = None) -> float:
    """Reference one-vs-all logistic, one example and one class at a time:
    ``1/N sum_i sum_k log(1 + exp(-t_ik s_ik))`` (``log1p`` of ``exp(-|z|)`` plus the
    positive part, so it stays finite at large scores)."""
    scores, y = check_scores_labels(scores, y)
    total = 0.0
    for i in range(scores.shape[0]):
        w_i = 1.0 if sample_weight is None else float(sample_weight[i])
        for k in range(scores.shape[1]):
            z = -(1.0 if k == y[i] else -1.0) * float(scores[i, k])
            total += w_i * (max(z, 0.0) + float(np.log1p(np.exp(-abs(z)))))
    return total / scores.shape[0]


# --- Crammer-Singer multiclass hinge: only the most violating wrong class -----------------


def crammer_singer_loss(
    scores: np.ndarray, y: np.ndarray, margin: float = 1.0, *,
    sample_weight: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Crammer-Singer hinge ``L_i = max(0, margin + max_{j != y_i} s_j - s_{y_i})``, averaged.

    Where the Weston-Watkins SVM (:func:`svm_loss`) sums a hinge per wrong class, this one
    charges only the most violating wrong class. Subgradient: ``+1`` at the arg-max wrong
    class and ``-1`` at the true class where the hinge is active (``L_i > 0``), 0 elsewhere
    (0 at the kink, as :func:`svm_loss`).

    Args:
        scores: ndarray of shape (n_samples, n_classes).
        y: ndarray of shape (n_samples,), integer labels in ``[0, n_classes)``.
        margin: The desired gap between the correct score and the best wrong one.

    Returns:
        ``(L, dL/dscores)`` with dscores of shape (n_samples, n_classes).
    """
    scores, y = check_scores_labels(scores, y)
    w = check_sample_weight(sample_weight, scores.shape[0])
    dscores = np.empty(scores.shape, dtype=_float_dtype(scores))
    return crammer_singer_loss_into(scores, y, dscores, margin, sample_weight=w), dscores


def crammer_singer_loss_into(
    scores: np.ndarray, y: np.ndarray, out: np.ndarray, margin: float = 1.0, *,
    sample_weight: np.ndarray | None = None, row_losses: np.ndarray | None = None,
) -> float:
    """The kernel of :func:`crammer_singer_loss`: ``dL/dscores`` into ``out`` (may be
    ``scores``), return ``L`` (and each ``L_i`` into ``row_losses`` when given). Unchecked.

    With ``a_ij = s_ij + margin [j != y_i]`` the loss is ``L_i = max_j a_ij - s_{y_i}``: the
    arg-max is a wrong class exactly when the hinge is active.
    """
    n = scores.shape[0]
    rows = np.arange(n)
    correct = scores[rows, y]  # a copy, taken before out (maybe scores) is overwritten
    augmented = np.add(scores, margin, out=out)
    augmented[rows, y] = correct
    worst = np.argmax(augmented, axis=1)
    per_example = augmented[rows, worst] - correct
    active = (per_example > 0) * (1.0 / n)
    if sample_weight is not None:
        active *= sample_weight
    out[...] = 0
    out[rows, worst] += active
    out[rows, y] -= active
    if row_losses is not None:
        row_losses[...] = per_example
    return _mean_rows(per_example, sample_weight)


def crammer_singer_loss_loop(scores: np.ndarray, y: np.ndarray, margin: float = 1.0,
                             sample_weight: np.ndarray | None = None) -> float:
    """Reference Crammer-Singer hinge, one example at a time:
    ``1/N sum_i max(0, margin + max_{j != y_i} s_j - s_{y_i})``."""
    scores, y = check_scores_labels(scores, y)
    total = 0.0
    for i in range(scores.shape[0]):
        worst = max(float(scores[i, j]) for j in range(scores.shape[1]) if j != y[i])
        w_i = 1.0 if sample_weight is None else float(sample_weight[i])
        total += w_i * max(0.0, margin + worst - float(scores[i, y[i]]))
    return total / scores.shape[0]

# --- the values once more, against an array namespace (autodiff, torch) -------------------
#
# ``xp`` offers sum, max (axis, keepdims), exp, log, relu and square; everything else is
# arithmetic operators, which NumPy arrays, autodiff Tensors and torch tensors all have.
# ``T`` (n_samples, n_classes) is the target matrix, so no loss needs to index by labels.
# ``sample_weight`` (n_samples,) is an array of the same namespace (or None).


def _mean(xp: Any, terms: Any, sample_weight: Any) -> Any:
    """``1/N sum_i L_i``, or ``1/N sum_i w_i L_i``, of per-example values (n_samples,) or
    of per-class terms (n_samples, n_classes) whose rows sum to ``L_i`` (unweighted: one
    sum over all of them, as before weights existed, so the rounding is unchanged)."""
    n = terms.shape[0]
    if sample_weight is None:
        return xp.sum(terms) / n
    rows = xp.sum(terms, axis=1) if len(terms.shape) == 2 else terms
    return xp.sum(rows * sample_weight) / n


def softmax_value(xp: Any, S: Any, T: Any, sample_weight: Any = None) -> Any:
    """``-1/N sum_ik T_ik log softmax(s_i)_k``, shifted by the row max against overflow."""
    shifted = S - xp.max(S, axis=1, keepdims=True)
    logq = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
    return _mean(xp, -(T * logq), sample_weight)


def svm_value(xp: Any, S: Any, T: Any, margin: float = 1.0, sample_weight: Any = None) -> Any:
    """``1/N sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``."""
    correct = xp.sum(S * T, axis=1, keepdims=True)
    return _mean(xp, xp.relu(S - correct + margin) * (1 - T), sample_weight)


def ova_hinge_value(xp: Any, S: Any, T: Any, margin: float = 1.0,
                    sample_weight: Any = None) -> Any:
    """``1/N sum_ik max(0, margin - t_ik s_ik)``, ``t = 2T - 1``."""
    return _mean(xp, xp.relu(margin - (2 * T - 1) * S), sample_weight)


def ova_logistic_value(xp: Any, S: Any, T: Any, sample_weight: Any = None) -> Any:
    """``1/N sum_ik log(1 + exp(z_ik))``, ``z = -t S``, written as ``m + log(e^-m + e^(z-m))``
    with ``m = max(z, 0)``: ``exp`` never overflows, and the derivative through ``m`` is
    exactly 0, so the subgradient of ``max`` at ``z = 0`` cannot matter."""
    z = -(2 * T - 1) * S
    m = xp.relu(z)
    return _mean(xp, m + xp.log(xp.exp(-m) + xp.exp(z - m)), sample_weight)


def squared_value(xp: Any, S: Any, T: Any, sample_weight: Any = None) -> Any:
    """``1/N sum_ik (s_ik - t_ik)^2``."""
    return _mean(xp, xp.square(S - T), sample_weight)



def crammer_singer_value(xp: Any, S: Any, T: Any, margin: float = 1.0,
                         sample_weight: Any = None) -> Any:
    """``1/N sum_i (max_j (s_ij + margin (1 - T_ij)) - s_{y_i})``: the hinge without a
    ``max(0, .)``, since ``j = y_i`` contributes ``s_{y_i}`` itself."""
    correct = xp.sum(S * T, axis=1)
    return _mean(xp, xp.max(S + margin * (1 - T), axis=1) - correct, sample_weight)

# --- kinks: where finite differences are not valid (the gradient check avoids them) -------


def svm_kinks(S: np.ndarray, y: np.ndarray, margin: float = 1.0) -> np.ndarray:
    """``s_j - s_{y_i} + margin`` for every ``j != y_i``: 0 is the SVM hinge's kink."""
    hinge = S - S[np.arange(len(y)), y][:, None] + margin
    return hinge[np.arange(S.shape[1]) != y[:, None]]


def ova_hinge_kinks(S: np.ndarray, y: np.ndarray, margin: float = 1.0) -> np.ndarray:
    """``margin - t_ik s_ik``: 0 is the one-vs-all hinge's kink."""
    return margin - ova_targets(S, y) * S


def crammer_singer_kinks(S: np.ndarray, y: np.ndarray, margin: float = 1.0) -> np.ndarray:
    """``margin + max_{j != y_i} s_j - s_{y_i}`` (the hinge) and the gap between the two
    largest wrong scores (a tie moves the arg-max): 0 is a kink of the Crammer-Singer hinge."""
    rows = np.arange(S.shape[0])
    wrong = np.array(S, dtype=np.float64)
    wrong[rows, y] = -np.inf
    top = np.sort(wrong, axis=1)
    hinge = margin + top[:, -1] - S[rows, y]
    gap = top[:, -1] - top[:, -2] if S.shape[1] > 2 else np.full(S.shape[0], np.inf)
    return np.concatenate([hinge, gap])


__all__ = [
    "crammer_singer_kinks",
    "crammer_singer_loss",
    "crammer_singer_loss_into",
    "crammer_singer_loss_loop",
    "crammer_singer_value",
    "CLASS_REDUCTIONS",
    "LossFn",
    "check_distribution",
    "check_scores_labels",
    "check_scores_probabilities",
    "check_sample_weight",
    "check_scores_targets",
    "cross_entropy",
    "entropy",
    "kl_divergence",
    "log_softmax",
    "one_hot",
    "ova_hinge_kinks",
    "ova_hinge_loss",
    "ova_hinge_loss_loop",
    "ova_hinge_value",
    "ova_logistic_loss",
    "ova_logistic_loss_loop",
    "ova_logistic_value",
    "ova_targets",
    "softmax",
    "softmax_loss",
    "softmax_loss_into",
    "softmax_loss_loop",
    "softmax_value",
    "squared_loss",
    "squared_loss_into",
    "squared_loss_loop",
    "squared_value",
    "svm_kinks",
    "svm_loss",
    "svm_loss_into",
    "svm_loss_loop",
    "svm_value",
]
