"""The lecture's questions and worked examples, answered with numbers from the library.

Each function returns a plain dict of numbers plus ``lines``, short text for ``linclass
explain --slide ...`` (and for the playground). Every number is computed by
:mod:`linclass.losses` (the losses, their variants, :func:`~linclass.losses.kl_divergence`);
nothing here is a second formula, only the questions put to the library:

* :func:`kl_example`: the softmax slide's ``KL(p* || p^) = H(p*, p^) - H(p*)``.
* :func:`svm_questions`: "what if the car scores change a bit", "min/max of the loss",
  "loss at initialization", "sum over all classes", "mean instead of sum".
* :func:`softmax_questions`: min/max of the softmax loss and its loss at initialization.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linclass.losses import (
    cross_entropy,
    entropy,
    kl_divergence,
    one_hot,
    softmax,
    softmax_loss,
    svm_loss,
)

#: The lecture's worked example: rows are the cat, car and frog images, columns the class
#: scores (cat, car, frog).
LECTURE_SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
LECTURE_LABELS = np.array([0, 1, 2])
LECTURE_CLASSES = ["cat", "car", "frog"]

#: The KL slide's prediction over 8 classes and its ground truth, class 4 (index 3).
SLIDE_P_HAT = np.array([0.5, 0.01, 0.01, 0.01, 0.01, 0.01, 0.15, 0.3])
SLIDE_TRUE_CLASS = 3

#: How far "a bit" is: the change to the car image's car score in the first question.
NUDGE = 0.5


def _vec(v: np.ndarray) -> str:
    return "[" + ", ".join(f"{x:.3g}" for x in np.asarray(v)) + "]"


def kl_example(p_hat: np.ndarray = SLIDE_P_HAT, true_class: int = SLIDE_TRUE_CLASS,
               p_star: np.ndarray | None = None) -> dict[str, Any]:
    """The slide's ``KL(p* || p^) = sum_y p*(y) log(p*(y) / p^(y)) = H(p*, p^) - H(p*)``.

    Args:
        p_hat: ndarray of shape (n_classes,), the prediction ``P(Y = k | x, W)``.
        true_class: The ground truth of a one-hot ``p*`` (used when ``p_star`` is None).
        p_star: ndarray of shape (n_classes,), a soft ground truth instead.

    Returns:
        ``{"p_star", "p_hat", "kl", "cross_entropy", "entropy", "lines"}``: with a one-hot
        ``p*`` the entropy is 0 and ``KL = H(p*, p^) = -log p^(true class)``.
    """
    p_hat = np.asarray(p_hat, dtype=np.float64)
    p_star = one_hot(np.array([true_class]), p_hat.size)[0] if p_star is None \
        else np.asarray(p_star, dtype=np.float64)
    kl, h_cross, h = (float(f) for f in (kl_divergence(p_star, p_hat),
                                         cross_entropy(p_star, p_hat), entropy(p_star)))
    lines = [
        f"p* (ground truth) = {_vec(p_star)}",
        f"p^ (prediction)   = {_vec(p_hat)}",
        f"cross-entropy H(p*, p^) = -sum p* log p^ = {h_cross:.4f}",
        f"entropy H(p*) = -sum p* log p* = {h:.4f}"
        + ("  (0: p* is one-hot; it does not depend on W)" if h == 0 else ""),
        f"KL(p* || p^) = H(p*, p^) - H(p*) = {h_cross:.4f} - {h:.4f} = {kl:.4f}",
    ]
    if h == 0:
        k = int(np.argmax(p_star))
        lines.append(f"so minimizing KL is minimizing -log p^(y) = -log({p_hat[k]:g}) = {kl:.4f}")
    return {"p_star": p_star.tolist(), "p_hat": p_hat.tolist(), "kl": kl,
            "cross_entropy": h_cross, "entropy": h, "lines": lines}


def _per_example(loss_fn, scores: np.ndarray, y: np.ndarray, **kw: Any) -> list[float]:
    return [float(loss_fn(scores[i:i + 1], y[i:i + 1], **kw)[0]) for i in range(len(y))]


def svm_questions(scores: np.ndarray = LECTURE_SCORES, labels: np.ndarray = LECTURE_LABELS,
                  margin: float = 1.0, nudged: int = 1) -> dict[str, Any]:
    """The SVM slide's questions, each answered by :func:`linclass.losses.svm_loss`.

    Args:
        scores: ndarray of shape (n_samples, n_classes).
        labels: ndarray of shape (n_samples,).
        margin: The hinge margin.
        nudged: The example whose correct score is changed "a bit" (the car image).

    Returns:
        A dict of answers (``per_example``, ``mean``, ``nudge``, ``slack``, ``minimum``,
        ``at_init``, ``all_classes``, ``mean_over_classes``) and ``lines``.
    """
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    n, C = s.shape
    per = _per_example(svm_loss, s, y, margin=margin)
    mean = float(svm_loss(s, y, margin)[0])
    row = s[nudged]
    others = np.delete(row, y[nudged])
    slack = float(row[y[nudged]] - others.max() - margin)  # how far from the nearest hinge
    nudge = {}
    for delta in (-NUDGE, NUDGE):
        changed = s[nudged:nudged + 1].copy()
        changed[0, y[nudged]] += delta
        nudge[delta] = float(svm_loss(changed, y[nudged:nudged + 1], margin)[0])
    at_init = float(svm_loss(np.zeros((n, C)), y, margin)[0])
    all_classes = float(svm_loss(s, y, margin, include_correct=True)[0])
    mean_classes = float(svm_loss(s, y, margin, class_reduction="mean")[0])
    lines = [
        "per-example losses L_i = " + ", ".join(f"{v:.2f}" for v in per)
        + f"; L = mean = {mean:.2f}",
        f"Q: what if the correct score of example {nudged} changes a bit? It beats every "
        f"other score by {slack:.2f} more than the margin, so a change of "
        f"{-NUDGE:+g} / {NUDGE:+g} gives L_i = {nudge[-NUDGE]:.2f} / {nudge[NUDGE]:.2f} "
        f"(unchanged while |change| < {max(slack, 0):.2f}).",
        "Q: min / max of the loss? min 0 (every margin met), max unbounded: "
        f"L_i = {float(svm_loss(np.array([[0.0, 1e3]]), np.array([0]), margin)[0]):.0f} "
        "for scores [0, 1000] with label 0.",
        f"Q: loss at initialization (W ~ 0, all scores 0)? C - 1 = {at_init:.2f} "
        f"(each of the {C - 1} wrong classes gives max(0, 0 - 0 + {margin:g})).",
        f"Q: sum over all classes (j = y_i too)? L = {all_classes:.2f} = "
        f"{mean:.2f} + {margin:g}: every term adds the margin, the minimizer is the same.",
        f"Q: mean instead of sum over classes? L = {mean_classes:.2f} = {mean:.2f} / "
        f"{C - 1}: only a scale, the minimizer is the same.",
    ]
    return {"per_example": per, "mean": mean, "slack": slack,
            "nudge": {str(k): v for k, v in nudge.items()}, "minimum": 0.0,
            "at_init": at_init, "all_classes": all_classes,
            "mean_over_classes": mean_classes, "lines": lines}


def softmax_questions(scores: np.ndarray = LECTURE_SCORES,
                      labels: np.ndarray = LECTURE_LABELS) -> dict[str, Any]:
    """The softmax slide's questions, answered by :func:`linclass.losses.softmax_loss`.

    Returns:
        ``{"per_example", "probabilities", "near_min", "near_max", "at_init", "log_C",
        "lines"}``.
    """
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    n, C = s.shape
    per = _per_example(softmax_loss, s, y)
    confident = np.array([[30.0] + [0.0] * (C - 1)])
    near_min = float(softmax_loss(confident, np.array([0]))[0])
    near_max = float(softmax_loss(confident, np.array([1]))[0])
    at_init = float(softmax_loss(np.zeros((n, C)), y)[0])
    lines = [
        "per-example losses L_i = -log p_y = " + ", ".join(f"{v:.2f}" for v in per)
        + f" (p = {_vec(softmax(s[:1])[0])} for the first)",
        f"Q: min / max of the loss? min 0, max infinity, neither reached: scores "
        f"[30, 0, ...] give L_i = {near_min:.2e} for the favoured class and "
        f"{near_max:.1f} for another.",
        f"Q: loss at initialization (all scores 0)? log C = log {C} = {at_init:.4f} "
        "(every class has p = 1/C); a first loss far from it means a bug.",
    ]
    return {"per_example": per, "probabilities": softmax(s).tolist(), "near_min": near_min,
            "near_max": near_max, "at_init": at_init, "log_C": float(np.log(C)),
            "lines": lines}
