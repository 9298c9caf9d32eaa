"""One record per loss: what a loss *is*, in one place.

A :class:`Loss` names the loss and holds its words (label, help), the parameters it owns
(``margin``), its properties (probabilities, bounded gradient, curvature bound), which
targets it takes, and its math from :mod:`linclass.losses.functions`: the checked NumPy
function, the in-place kernel of the fit loop (or None), the loop reference written like
the lecture's formula, the value written against an array namespace (from which the
autodiff and torch versions are derived) and, for a loss with hinges, where its kinks are.

Everything else is derived from :data:`RECORDS`: the tables of this package
(:data:`LOSSES`, :data:`LOSS_KERNELS`, :data:`LOSS_CHECKS`), the ``loss`` family of
:mod:`linclass.options` (so the estimators' constraints, the CLI's ``--loss``, the
playground's menus and ``/api/options``), :data:`linclass.options.LOSS_CURVATURE`, the
autodiff losses (:mod:`linclass.grad.autodiff_objective`), the torch kernels
(:mod:`linclass.backends.torch`), the explain tables and the playground's labels.

Adding a loss is its math in :mod:`linclass.losses.functions` and one record here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from linclass.losses import functions as f

LossFn = f.LossFn
#: ``loss_into(scores, y, out, **kwargs) -> value``: writes dL/dscores into ``out``.
LossKernel = Callable[..., float]
#: ``value(xp, S, T, **kwargs) -> scalar``: the loss written against an array namespace.
ValueFn = Callable[..., Any]
Check = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

#: The kinds of targets a loss can take.
TARGET_KINDS = ("labels", "probabilities", "real")


class ArrayOps(Protocol):
    """The array namespace a loss's ``value`` is written against (besides arithmetic
    operators): NumPy here (:data:`NUMPY_OPS`), the home-made autodiff Tensor
    (:data:`linclass.grad.autodiff_objective.AUTODIFF_OPS`) and torch
    (:data:`linclass.backends.torch.TORCH_OPS`). ``max(x, 0)`` is ``relu`` with the
    subgradient 0 at 0 in all three; ``max`` over an axis shares the gradient among ties."""

    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any: ...
    def max(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any: ...
    def exp(self, x: Any) -> Any: ...
    def log(self, x: Any) -> Any: ...
    def relu(self, x: Any) -> Any: ...
    def square(self, x: Any) -> Any: ...


class NumpyOps:
    """:class:`ArrayOps` of NumPy arrays (values only; used to hold ``value`` to the
    function)."""

    @staticmethod
    def sum(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def max(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return np.max(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def exp(x: Any) -> Any:
        return np.exp(x)

    @staticmethod
    def log(x: Any) -> Any:
        return np.log(x)

    @staticmethod
    def relu(x: Any) -> Any:
        return np.maximum(x, 0)

    @staticmethod
    def square(x: Any) -> Any:
        return np.square(x)


NUMPY_OPS: ArrayOps = NumpyOps()


@dataclass(frozen=True)
class Loss:
    """One loss.

    Attributes:
        name: What the user types (``loss="svm"``, ``--loss svm``).
        label: A few words for menus and tables (``"multiclass SVM"``).
        help: One line with the formula, for ``--help`` and the docs.
        function: ``function(scores, y, **kw) -> (L, dL/dS)``, checked; ``L`` averaged.
        value: ``value(xp, S, T, **kw) -> L`` against an :class:`ArrayOps` namespace, with
            ``T`` the target matrix (:meth:`targets_of`); autodiff and torch differentiate it.
        loop: ``loop(scores, y, **kw) -> L``, one example and one class at a time.
        kernel: ``kernel(S, y, out, **kw) -> L`` in place for integer labels, unchecked (the
            fit loop's fast path, :attr:`linclass.objective.Objective.in_place`), or None:
            then every step goes through ``function`` with its checks (the gradient copied
            into the buffer, :func:`linclass.objective._checked_kernel`).
        params: The choice-owned parameters it takes (see :data:`linclass.options.PARAMS`).
        probabilities: It gives calibrated class probabilities (softmax).
        lipschitz: Its gradient in the scores is bounded, so a large step makes it oscillate,
            never grow geometrically.
        curvature: An upper bound on the largest eigenvalue of its Hessian in the scores
            per unit ``|x|^2`` (piecewise-linear losses have none: 1 sizes their steps like
            the smooth losses'); a default step is one over the resulting Lipschitz constant.
        targets: The targets it takes (:data:`TARGET_KINDS`): always ``"labels"`` (integer
            class indices), and ``"probabilities"`` (rows of a distribution, softmax) or
            ``"real"`` (real-valued regression targets, the squared error).
        torch_kernel: Name of a fused torch kernel in :mod:`linclass.backends.torch` (value
            and gradient in one pass), or None: torch.autograd on ``value``.
        kinks: ``kinks(S, y, **kw) -> distances``: signed distances of every kink from 0
            (hinges, ties of a max), so a gradient check can stay clear of them; None for a
            smooth loss.
        lecture: False for what goes beyond the lecture.
    """

    name: str
    label: str
    help: str
    function: LossFn
    value: ValueFn
    loop: Callable[..., float]
    kernel: LossKernel | None = None
    params: tuple[str, ...] = ()
    probabilities: bool = False
    lipschitz: bool = False
    curvature: float = 1.0
    targets: frozenset[str] = frozenset({"labels"})
    torch_kernel: str | None = None
    kinks: Callable[..., np.ndarray] | None = None
    lecture: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.targets) - set(TARGET_KINDS)
        if unknown or "labels" not in self.targets:
            raise ValueError(f"{self.name}: targets must include 'labels' and lie in "
                             f"{TARGET_KINDS}, got {sorted(self.targets)}")

    @property
    def tags(self) -> frozenset[str]:
        """The tags of its :class:`linclass.options.Choice`: ``"probabilities"``,
        ``"margin"`` (it takes a margin), ``"lipschitz"``."""
        return frozenset(t for t, on in (("probabilities", self.probabilities),
                                          ("margin", "margin" in self.params),
                                          ("lipschitz", self.lipschitz)) if on)

    def targets_of(self, scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, T)``: the function's own input checks, and the target matrix ``T``
        (n_samples, n_outputs) that ``value`` takes: one-hot rows for labels, the
        probability rows, or the real targets.

        Raises:
            ValueError: As the function would, on inputs it refuses.
        """
        if "real" in self.targets:
            return f.check_scores_targets(scores, y)
        if "probabilities" in self.targets and np.ndim(y) == 2:
            return f.check_scores_probabilities(scores, y)
        scores, y = f.check_scores_labels(scores, y)
        return scores, f.one_hot(y, scores.shape[1], f._float_dtype(scores))


SOFTMAX = Loss(
    "softmax", "softmax (cross-entropy)",
    "softmax + cross-entropy: -log p_y, p = softmax(s)",
    f.softmax_loss, f.softmax_value, f.softmax_loss_loop, f.softmax_loss_into,
    probabilities=True, lipschitz=True, curvature=0.5,
    targets=frozenset({"labels", "probabilities"}), torch_kernel="fused_softmax")
SVM = Loss(
    "svm", "multiclass SVM",
    "multiclass SVM (hinge): sum_{j != y} max(0, s_j - s_y + margin)",
    f.svm_loss, f.svm_value, f.svm_loss_loop, f.svm_loss_into, params=("margin",),
    lipschitz=True, curvature=1.0, torch_kernel="fused_svm", kinks=f.svm_kinks)
OVA_HINGE = Loss(
    "ova_hinge", "one-vs-all hinge", "one-vs-all hinge: one binary SVM per class",
    f.ova_hinge_loss, f.ova_hinge_value, f.ova_hinge_loss_loop, params=("margin",),
    lipschitz=True, curvature=1.0, torch_kernel="fused_ova_hinge", kinks=f.ova_hinge_kinks)
OVA_LOGISTIC = Loss(
    "ova_logistic", "one-vs-all logistic",
    "one-vs-all logistic: one binary logistic regression per class",
    f.ova_logistic_loss, f.ova_logistic_value, f.ova_logistic_loss_loop,
    lipschitz=True, curvature=0.25, torch_kernel="fused_ova_logistic")
SQUARED = Loss(
    "squared", "squared error",
    "squared error on one-hot targets: sum_k (s_k - 1[k = y])^2",
    f.squared_loss, f.squared_value, f.squared_loss_loop, f.squared_loss_into,
    curvature=2.0, targets=frozenset({"labels", "real"}), torch_kernel="fused_squared")
CRAMMER_SINGER = Loss(
    "crammer_singer", "Crammer-Singer hinge",
    "Crammer-Singer multiclass hinge: max(0, margin + max_{j != y} s_j - s_y) (beyond the "
    "lecture: only the most violating wrong class)",
    f.crammer_singer_loss, f.crammer_singer_value, f.crammer_singer_loss_loop,
    f.crammer_singer_loss_into, params=("margin",), lipschitz=True, curvature=1.0,
    kinks=f.crammer_singer_kinks, lecture=False)

#: Every loss, in the order the faces list them.
RECORDS: dict[str, Loss] = {r.name: r for r in (SOFTMAX, SVM, OVA_HINGE, OVA_LOGISTIC, SQUARED,
                                                CRAMMER_SINGER)}

#: The loss a user gets without choosing one, and the loss of every regressor.
DEFAULT_LOSS = SOFTMAX.name
REGRESSION_LOSS = SQUARED.name

# --- derived tables -----------------------------------------------------------------------

#: The checked functions, ``loss(scores, y, **kwargs) -> (L, dL/dS)``, by name.
LOSSES: dict[str, LossFn] = {n: r.function for n, r in RECORDS.items()}
#: The in-place kernels, ``loss_into(scores, y, out, **kwargs) -> L``, of the losses that
#: have one (the others take the checked path).
LOSS_KERNELS: dict[str, LossKernel] = {n: r.kernel for n, r in RECORDS.items()
                                       if r.kernel is not None}
#: How each loss checks its inputs and makes its target matrix,
#: ``check(scores, y) -> (scores, T)``.
LOSS_CHECKS: dict[str, Check] = {n: r.targets_of for n, r in RECORDS.items()}


def get_record(loss: str) -> Loss:
    """The record of a loss by name; ValueError listing the names when unknown."""
    try:
        return RECORDS[loss]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(RECORDS)}") from None


def get_loss(loss: str | LossFn) -> LossFn:
    """Look a loss up by name (see :data:`RECORDS`) or pass a callable through."""
    if callable(loss):
        return loss
    return get_record(loss).function


__all__ = [
    "CRAMMER_SINGER",
    "DEFAULT_LOSS",
    "LOSSES",
    "LOSS_CHECKS",
    "LOSS_KERNELS",
    "NUMPY_OPS",
    "NumpyOps",
    "OVA_HINGE",
    "OVA_LOGISTIC",
    "RECORDS",
    "REGRESSION_LOSS",
    "SOFTMAX",
    "SQUARED",
    "SVM",
    "TARGET_KINDS",
    "ArrayOps",
    "Loss",
    "LossKernel",
    "ValueFn",
    "get_loss",
    "get_record",
]
