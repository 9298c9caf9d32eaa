"""Loss functions on class scores: ``loss(scores, y) -> (value, dscores)``.

Every loss sees only the scores ``S`` (n_samples, n_classes) and integer labels ``y``, and
returns the empirical risk ``L = 1/N sum_i L_i`` with its gradient ``dL/dS``. The chain rule
to W and b lives once, in :mod:`linclass.objective`.

Each vectorized loss has a loop-based reference written like the lecture's formula
(``*_loop``); tests hold the two equal.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

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


# --- softmax: the one home of the stable formula -----------------------------------------


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Stable ``log P(Y=k|x) = s_k - log sum_j exp(s_j)``, computed row-wise.

    Subtracting the row maximum first changes nothing mathematically (softmax is
    shift-invariant) but keeps ``exp`` from overflowing at scores like 1e4.

    Args:
        scores: ndarray of shape (n_samples, n_classes).

    Returns:
        ndarray of shape (n_samples, n_classes).
    """
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities ``P(Y=k|x) = exp(s_k) / sum_j exp(s_j)``; rows sum to 1."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


# --- multiclass SVM (Weston-Watkins hinge) ------------------------------------------------


def svm_loss(scores: np.ndarray, y: np.ndarray, margin: float = 1.0) -> tuple[float, np.ndarray]:
    """Multiclass SVM loss ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``, averaged.

    At a kink (a margin exactly 0) the subgradient 0 is used.

    Args:
        scores: ndarray of shape (n_samples, n_classes).
        y: ndarray of shape (n_samples,), integer labels in ``[0, n_classes)``.
        margin: The desired gap (the lecture's 1) between the correct score and the others.

    Returns:
        ``(L, dL/dscores)`` with dscores of shape (n_samples, n_classes).
    """
    scores, y = check_scores_labels(scores, y)
    n = scores.shape[0]
    rows = np.arange(n)
    margins = scores - scores[rows, y][:, None] + margin
    np.maximum(margins, 0, out=margins)
    margins[rows, y] = 0  # j != y_i
    loss = float(margins.sum()) / n
    # dL_i/ds_j = 1[margin_j > 0] for j != y_i, and minus the count of those for j = y_i.
    active = (margins > 0).astype(scores.dtype)
    active[rows, y] = -active.sum(axis=1)
    active /= n
    return loss, active


def svm_loss_loop(
    scores: np.ndarray,
    y: np.ndarray,
    margin: float = 1.0,
    *,
    include_correct: bool = False,
    class_reduction: str = "sum",
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
        total += sum(terms) if class_reduction == "sum" else sum(terms) / len(terms)
    return total / scores.shape[0]


# --- softmax + cross-entropy --------------------------------------------------------------


def softmax_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy ``L_i = -log( exp(s_{y_i}) / sum_j exp(s_j) )``, averaged.

    Args:
        scores: ndarray of shape (n_samples, n_classes), unnormalized log-probabilities.
        y: ndarray of shape (n_samples,), integer labels.

    Returns:
        ``(L, dL/dscores)``; ``dL_i/ds_k = P(Y=k|x_i) - 1[k = y_i]``, divided by N.
    """
    scores, y = check_scores_labels(scores, y)
    n = scores.shape[0]
    rows = np.arange(n)
    logp = log_softmax(scores)
    loss = -float(logp[rows, y].sum()) / n
    dscores = np.exp(logp)
    dscores[rows, y] -= 1
    dscores /= n
    return loss, dscores


def softmax_loss_loop(scores: np.ndarray, y: np.ndarray) -> float:
    """Reference softmax loss, written like the slide: exp, normalize, ``-log``.

    Uses the max-shift per example so that it is a fair reference at large scores too.
    """
    scores, y = check_scores_labels(scores, y)
    total = 0.0
    for i in range(scores.shape[0]):
        s = scores[i] - max(scores[i])
        unnormalized = [np.exp(float(v)) for v in s]
        p_correct = unnormalized[y[i]] / sum(unnormalized)
        total += -np.log(p_correct)
    return total / scores.shape[0]


# --- one-vs-all: C binary classifiers, one per class --------------------------------------


def ova_targets(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``t_ik = +1`` if ``k = y_i`` else ``-1``: each class against all the rest."""
    t = -np.ones_like(scores)
    t[np.arange(scores.shape[0]), y] = 1
    return t


def ova_hinge_loss(
    scores: np.ndarray, y: np.ndarray, margin: float = 1.0
) -> tuple[float, np.ndarray]:
    """One-vs-all hinge: ``L_i = sum_k max(0, margin - t_ik s_ik)``, averaged.

    Each row of W is a binary SVM "class k vs. the rest" (the lecture's one-versus-all).

    Returns:
        ``(L, dL/dscores)`` with dscores of shape (n_samples, n_classes).
    """
    scores, y = check_scores_labels(scores, y)
    n = scores.shape[0]
    t = ova_targets(scores, y)
    h = margin - t * scores
    active = h > 0
    loss = float(np.where(active, h, 0).sum()) / n
    return loss, np.where(active, -t, 0).astype(scores.dtype) / n


def ova_logistic_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """One-vs-all logistic: ``L_i = sum_k log(1 + exp(-t_ik s_ik))``, averaged.

    Returns:
        ``(L, dL/dscores)``; ``dL/ds_ik = -t_ik sigmoid(-t_ik s_ik) / N``.
    """
    scores, y = check_scores_labels(scores, y)
    n = scores.shape[0]
    t = ova_targets(scores, y)
    z = -t * scores
    loss = float(np.logaddexp(0, z).sum()) / n
    # sigmoid(z) written through exp(-logaddexp) so it stays finite at |z| = 1e4.
    sig = np.exp(z - np.logaddexp(0, z))
    return loss, (-t * sig / n).astype(scores.dtype)


LOSSES: dict[str, LossFn] = {
    "softmax": softmax_loss,
    "svm": svm_loss,
    "ova_hinge": ova_hinge_loss,
    "ova_logistic": ova_logistic_loss,
}


def get_loss(loss: str | LossFn) -> LossFn:
    """Look a loss up by name (``"softmax"``, ``"svm"``, ``"ova_hinge"``, ``"ova_logistic"``)
    or pass a callable through."""
    if callable(loss):
        return loss
    try:
        return LOSSES[loss]
    except KeyError:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}") from None
