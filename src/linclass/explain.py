"""The loss of one example, step by step, the way the lecture writes it on the slide.

:func:`explain_scores` turns one row of scores and its label into a plain dict of numbers
and short text lines, for ``linclass explain`` and for the playground's image view. It does
not decide what the loss *is*: the total always comes from :data:`linclass.losses.LOSSES`
(and the probabilities from :func:`linclass.losses.softmax`). The per-term breakdown is the
slide's formula spelled out once more, like the ``*_loop`` references in
:mod:`linclass.losses`, and the terms are checked to add up to the library's total.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linclass.losses import (
    DEFAULT_LOSS,
    OVA_HINGE,
    OVA_LOGISTIC,
    RECORDS,
    SOFTMAX,
    SVM,
    log_softmax,
    softmax,
)

#: Every loss of the records: those below with the slide's own breakdown, any other (a new
#: loss, the squared error) with the generic one (:func:`_generic_steps`).
EXPLAINED_LOSSES = tuple(RECORDS)

# Below this, exp(s) is printed as the slide prints it; above, the max-shifted form
# exp(s - max s), which gives the same probabilities without overflowing.
_RAW_EXP_LIMIT = 50.0


def explain_scores(
    scores: np.ndarray,
    label: int,
    loss: str = DEFAULT_LOSS,
    class_names: list[str] | None = None,
    margin: float = 1.0,
) -> dict[str, Any]:
    """Break the loss of one example into the lecture's steps.

    SVM: one term ``max(0, s_j - s_y + margin)`` per wrong class ``j``, then their sum.
    Softmax: ``exp(s_k)``, normalize to probabilities, ``-log p_y``. One-vs-all: one binary
    term per class, with target ``t_k = +1`` for the true class and ``-1`` otherwise.

    Args:
        scores: ndarray of shape (n_classes,), the example's class scores ``f(x, W)``.
        label: The correct class index ``y`` in ``[0, n_classes)``.
        loss: A loss name (:data:`EXPLAINED_LOSSES`, every record).
        class_names: Name of each class; defaults to ``"0"``, ``"1"``, ...
        margin: The margin of a loss that takes one (the lecture's 1); ignored otherwise.

    Returns:
        A dict with ``loss``, ``label``, ``label_name``, ``class_names``, ``scores``,
        ``predicted``, ``probabilities`` (softmax of the scores, for every loss), ``terms``
        (a list of per-class dicts), ``total`` (the loss of this example, from the library)
        and ``lines`` (the same steps as short human-readable strings). Softmax adds
        ``shift``, ``exp``, ``sum_exp`` and ``correct_probability``.

    Raises:
        ValueError: On an unknown loss, a bad label, non-finite scores or a name list of the
            wrong length.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.size < 2:
        raise ValueError(f"scores must be 1-D with at least 2 classes, got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or inf")
    n_classes = s.size
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
        raise ValueError(f"label must be an integer, got {label!r}")
    label = int(label)
    if not 0 <= label < n_classes:
        raise ValueError(f"label must lie in [0, {n_classes - 1}], got {label}")
    if loss not in EXPLAINED_LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {list(EXPLAINED_LOSSES)}")
    if not np.isfinite(margin):
        raise ValueError(f"margin must be finite, got {margin}")
    names = [str(k) for k in range(n_classes)] if class_names is None else list(class_names)
    if len(names) != n_classes:
        raise ValueError(f"got {len(names)} class names for {n_classes} scores")

    record = RECORDS[loss]
    kwargs = {"margin": float(margin)} if "margin" in record.params else {}
    total, _ = record.function(s[None, :], np.array([label]), **kwargs)
    out: dict[str, Any] = {
        "loss": loss,
        "label": label,
        "label_name": names[label],
        "class_names": names,
        "scores": s.tolist(),
        "predicted": int(np.argmax(s)),
        "probabilities": softmax(s[None, :])[0].tolist(),
        "total": float(total),
    }
    if loss in _STEPS:
        out.update(_STEPS[loss](s, label, names, float(margin)))
    else:
        out.update(_generic_steps(s, label, names, record.name, kwargs))
    out["lines"].append(f"L_i = {out['total']:.4f}")
    # The breakdown is a second writing of the formula; hold it to the library's value.
    parts = out["neg_log_p"] if "neg_log_p" in out else sum(t["term"] for t in out["terms"])
    if not np.isclose(parts, out["total"], rtol=1e-9, atol=1e-9):
        raise AssertionError(f"step-by-step {parts} disagrees with the library's {total}")
    return out


def _scores_line(s: np.ndarray, names: list[str]) -> str:
    return "scores: " + ", ".join(f"{n} {v:.2f}" for n, v in zip(names, s, strict=True))


def _svm_steps(s: np.ndarray, y: int, names: list[str], margin: float) -> dict[str, Any]:
    lines = [_scores_line(s, names), f"correct class {names[y]}: s_y = {s[y]:.2f}"]
    terms = []
    for j in range(s.size):
        if j == y:
            continue
        term = max(0.0, float(s[j] - s[y] + margin))
        formula = f"max(0, {s[j]:.2f} - {s[y]:.2f} + {margin:g})"
        terms.append({"class": j, "name": names[j], "formula": formula, "term": term})
        lines.append(f"  {names[j]}: {formula} = {term:.4f}")
    lines.append("L_i = " + " + ".join(f"{t['term']:.2f}" for t in terms))
    return {"margin": margin, "terms": terms, "lines": lines}


def _softmax_steps(s: np.ndarray, y: int, names: list[str], margin: float) -> dict[str, Any]:
    shift = 0.0 if np.max(np.abs(s)) <= _RAW_EXP_LIMIT else float(s.max())
    e = np.exp(s - shift)
    p = softmax(s[None, :])[0]
    neg_log_p = -float(log_softmax(s[None, :])[0, y])
    exp_label = "exp(s)" if shift == 0.0 else f"exp(s - {shift:.2f})"
    lines = [_scores_line(s, names)]
    lines.append(f"{exp_label}: "
                 + ", ".join(f"{n} {v:.4g}" for n, v in zip(names, e, strict=True)))
    lines.append(f"normalize by the sum {e.sum():.4g}: "
                 + ", ".join(f"{n} {v:.3f}" for n, v in zip(names, p, strict=True)))
    lines.append(f"-log P({names[y]}) = -log({p[y]:.4f}) = {neg_log_p:.4f}")
    terms = [{"class": k, "name": names[k], "exp": float(e[k]), "probability": float(p[k]),
              "term": neg_log_p if k == y else 0.0} for k in range(s.size)]
    return {"shift": shift, "exp": e.tolist(), "sum_exp": float(e.sum()),
            "correct_probability": float(p[y]), "neg_log_p": neg_log_p,
            "terms": terms, "lines": lines}


def _ova_hinge_steps(s: np.ndarray, y: int, names: list[str], margin: float) -> dict[str, Any]:
    lines = [_scores_line(s, names), "each class against the rest, t = +1 for the true class"]
    terms = []
    for k in range(s.size):
        t = 1.0 if k == y else -1.0
        term = max(0.0, margin - t * float(s[k]))
        formula = f"max(0, {margin:g} - ({t:+.0f})({s[k]:.2f}))"
        terms.append({"class": k, "name": names[k], "target": t, "formula": formula,
                      "term": term})
        lines.append(f"  {names[k]}: {formula} = {term:.4f}")
    return {"margin": margin, "terms": terms, "lines": lines}


def _ova_logistic_steps(s: np.ndarray, y: int, names: list[str], margin: float) -> dict[str, Any]:
    lines = [_scores_line(s, names), "each class against the rest, t = +1 for the true class"]
    terms = []
    for k in range(s.size):
        t = 1.0 if k == y else -1.0
        term = float(np.logaddexp(0.0, -t * s[k]))  # log(1 + exp(-t s)) without overflow
        formula = f"log(1 + exp(-({t:+.0f})({s[k]:.2f})))"
        terms.append({"class": k, "name": names[k], "target": t, "formula": formula,
                      "term": term})
        lines.append(f"  {names[k]}: {formula} = {term:.4f}")
    return {"terms": terms, "lines": lines}


def _generic_steps(s: np.ndarray, y: int, names: list[str], loss: str,
                   kwargs: dict[str, Any]) -> dict[str, Any]:
    """Any loss without a breakdown of its own: the loss of the example from its record's
    loop reference (the formula, one class at a time), and ``dL_i/ds_k`` per class from its
    function, so the lines show which scores the loss pushes up or down."""
    record = RECORDS[loss]
    value = float(record.loop(s[None, :], np.array([y]), **kwargs))
    grad = record.function(s[None, :], np.array([y]), **kwargs)[1][0]
    lines = [_scores_line(s, names), f"correct class {names[y]}: s_y = {s[y]:.2f}",
             record.help]
    lines += [f"  {n}: dL_i/ds = {g:+.4f}" for n, g in zip(names, grad, strict=True)]
    terms = [{"class": k, "name": names[k], "gradient": float(grad[k]),
              "term": value if k == y else 0.0} for k in range(s.size)]
    return {**({"margin": kwargs["margin"]} if "margin" in kwargs else {}),
            "terms": terms, "lines": lines}


#: The slide's own breakdown of a loss, by the record's name.
_STEPS = {SVM.name: _svm_steps, SOFTMAX.name: _softmax_steps,
          OVA_HINGE.name: _ova_hinge_steps, OVA_LOGISTIC.name: _ova_logistic_steps}
