"""The lecture's numerical-gradient walk-through, and what a kink does to it.

The slide nudges one weight of W by ``h = 0.0001``, recomputes the loss and divides:
``(1.25322 - 1.25347) / 0.0001 = -2.5``, then the next weight (``0.6``), then the next
(``0``), one coordinate at a time with the one-sided formula. :func:`numerical_walkthrough`
does exactly that on a real W, with the analytic derivative beside each value.
:func:`kink_example` puts an SVM hinge exactly on its kink, where the one-sided slopes
disagree and no finite difference can match the analytic subgradient.

Every value is the library's: :func:`linclass.objective.objective_value` for the losses,
:func:`linclass.objective.value_and_grad` for the analytic gradient,
:func:`linclass.grad.numerical_gradient` for the differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linclass.grad import numerical_gradient, relative_error
from linclass.losses import DEFAULT_LOSS, svm_loss
from linclass.model import Params
from linclass.objective import objective_value, value_and_grad

#: The slide's step and formula.
SLIDE_H = 1e-4
SLIDE_METHOD = "forward"


def numerical_walkthrough(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    *,
    loss: str = DEFAULT_LOSS,
    penalty: str | None = "none",
    alpha: float = 0.0,
    n_coords: int = 3,
    h: float = SLIDE_H,
    method: str = SLIDE_METHOD,
) -> dict[str, Any]:
    """Finite differences of the loss in the first ``n_coords`` entries of W, one at a time.

    ``forward``: ``dJ/dW_k ~ (J(W + h e_k) - J(W)) / h`` (the slide's); ``centered``:
    ``(J(W + h e_k) - J(W - h e_k)) / 2h``.

    Args:
        params: ``{"W": (n_classes, n_features), "b": (n_classes,)}`` (left unchanged).
        X: ndarray of shape (n_samples, n_features).
        y: ndarray of shape (n_samples,), integer labels.
        loss, penalty, alpha: The objective.
        n_coords: How many entries of W (in flat order) to walk through.
        h: The step.
        method: ``"forward"`` or ``"centered"``.

    Returns:
        ``{"loss", "h", "method", "steps", "lines"}``; each step has ``index`` (row,
        column), ``w``, ``loss_plus`` (``J(W + h e_k)``), ``numerical``, ``analytic`` and
        ``relative_error`` (plain: ``|a - n| / max(|a|, |n|)``).
    """
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    X = np.asarray(X, dtype=np.float64)

    def J(p: Params) -> float:
        return objective_value(p, X, y, loss=loss, penalty=penalty, alpha=alpha)

    f0, grads = value_and_grad(params, X, y, loss=loss, penalty=penalty, alpha=alpha)
    numeric = numerical_gradient(
        J, params, h=h, method=method,
        coords={"W": np.arange(min(n_coords, params["W"].size)), "b": np.array([], int)})
    lines = [f"loss J(W) = {f0:.8f}   (h = {h:g}, {method} differences)"]
    steps = []
    for k in range(min(n_coords, params["W"].size)):
        idx = tuple(int(i) for i in np.unravel_index(k, params["W"].shape))
        w = params["W"][idx]
        params["W"][idx] = w + h
        f_plus = J(params)
        params["W"][idx] = w
        n, a = float(numeric["W"][idx]), float(grads["W"][idx])
        err = float(relative_error(np.array(a), np.array(n)))
        steps.append({"index": list(idx), "w": float(w), "loss_plus": f_plus,
                      "numerical": n, "analytic": a, "relative_error": err})
        formula = (f"({f_plus:.8f} - {f0:.8f}) / {h:g}" if method == "forward"
                   else f"(J(W + h) - J(W - h)) / {2 * h:g}")
        lines.append(f"W{list(idx)} = {w:+.4f} + h: J = {f_plus:.8f}; dJ/dW ~ {formula} = "
                     f"{n:+.5f}   analytic {a:+.5f}   rel. error {err:.1e}")
    return {"loss": f0, "h": h, "method": method, "steps": steps, "lines": lines}


def kink_example(h: float = SLIDE_H, margin: float = 1.0) -> dict[str, Any]:
    """One SVM example with a hinge exactly on its kink: scores ``[margin, 0]``, label 0,
    so ``s_1 - s_0 + margin = 0``.

    The loss ``max(0, s_1 - s_0 + margin)`` has slope 1 to the right of the kink and 0 to
    the left in ``s_1``; the library's analytic subgradient there is 0. The forward
    difference sees the right slope (1), the backward the left (0), the centered one their
    mean (0.5): at a kink "the numerical gradient" is not one number, and the plain
    relative error against the analytic 0 is 1 (for the centered and forward differences).

    Returns:
        ``{"scores", "analytic", "forward", "backward", "centered", "plain_errors",
        "lines"}``, derivatives with respect to ``s_1``.
    """
    s = np.array([[margin, 0.0]])
    y = np.array([0])
    analytic = float(svm_loss(s, y, margin)[1][0, 1])
    f = lambda p: svm_loss(p["S"], y, margin)[0]  # noqa: E731
    coords = {"S": np.array([1])}
    fwd, ctr = (float(numerical_gradient(f, {"S": s.copy()}, h=h, method=m, coords=coords)
                      ["S"][0, 1]) for m in ("forward", "centered"))
    bwd = 2 * ctr - fwd  # (f(s) - f(s - h)) / h, from the other two
    errors = {name: float(relative_error(np.array(analytic), np.array(v)))
              for name, v in (("forward", fwd), ("backward", bwd), ("centered", ctr))}
    lines = [
        f"SVM at a kink: scores [{margin:g}, 0], label 0, so s_1 - s_0 + {margin:g} = 0",
        f"analytic subgradient dL/ds_1 = {analytic:g} (the library's choice at the kink)",
        f"forward  (L(s_1 + h) - L(s_1)) / h = {fwd:.4f}   plain rel. error "
        f"{errors['forward']:.2f}",
        f"backward (L(s_1) - L(s_1 - h)) / h = {bwd:.4f}   plain rel. error "
        f"{errors['backward']:.2f}",
        f"centered (L(s_1 + h) - L(s_1 - h)) / 2h = {ctr:.4f}   plain rel. error "
        f"{errors['centered']:.2f}",
        "the one-sided slopes differ, so no step h fixes it: gradient checks draw their "
        "point away from kinks (linclass.grad.compare.check_point)",
    ]
    return {"scores": s[0].tolist(), "analytic": analytic, "forward": fwd, "backward": bwd,
            "centered": ctr, "plain_errors": errors, "lines": lines}
