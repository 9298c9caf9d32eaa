"""The training objective and its analytic gradient: the chain rule to W and b, once.

    J(W, b) = 1/N sum_i L(f(x_i; W, b), y_i) + R(W),      f(x; W, b) = W x + b

**Sample weights.** With weights ``v_i >= 0`` the data term is their weighted mean,

    J(W, b) = sum_i v_i L_i / sum_i v_i + R(W) = 1/N sum_i w_i L_i + R(W),  w = N v / sum v

so the weights are normalized to mean 1 over the training set (:func:`pack_weights`). Then
integer weights are exactly duplicated rows (``sum_i v_i`` copies, each weight 1), the
penalty keeps its strength against the data term whatever the weights' scale, and a
mini-batch or a chunk is still the plain mean ``1/n_B sum_{i in B} w_i L_i``, an unbiased
estimate of the data term, so every optimizer, chunking and backend takes the weights
without change. The weights travel with the targets, as one array of records
(fields ``target`` and ``weight``, :func:`pack_weights`): wherever rows of ``y`` go (a
shuffled batch, a window read from disk, a Dask partition, a device), their weights go
too; :func:`unpack_weights` splits them where the loss is computed.

With ``S = X W^T + b`` and ``G = dL/dS`` from the loss:

    dJ/dW = G^T X + dR/dW        dJ/db = sum_i G_i

Losses see only scores; penalties see only W. Everything that needs a gradient of the
objective goes through :func:`value_and_grad` (or another method with the same interface,
see :mod:`linclass.grad`).

**Folded preprocessing.** When the features are an affine map of what is stored,
``x' = a * x + c`` per feature (raw pixels: ``a = 1 / (255 sigma)``, ``c = -mu / sigma``),
the step need not build ``x'`` at all:

    S = x' W^T + b = x (W diag(a))^T + (b + W c)
    dJ/dW = (G^T x) diag(a) + (G^T 1) c^T + dR/dW        dJ/db = G^T 1

so W and b keep their meaning in feature space while the batch is only cast to float.

The chain rule itself is written once, in :func:`value_and_grad_into`, which works in
arrays it is given and checks nothing. :func:`value_and_grad` checks its inputs, allocates
and calls it; the fit loop checks once, allocates once and calls it every step (see
:class:`Objective` and its ``in_place``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from linclass.losses import DEFAULT_LOSS, LossFn, get_loss, get_record
from linclass.losses.functions import check_sample_weight
from linclass.model import Params, check_params, scores
from linclass.regularizers import PenaltyFn, get_penalty
from linclass.sparsity import issparse

#: ``loss_into(scores, y, out, **loss_kwargs) -> value``: writes dL/dscores into ``out``.
LossKernel = Callable[..., float]

#: The fields of targets that carry their weights (:func:`pack_weights`).
WEIGHTED_FIELDS = ("target", "weight")


def pack_weights(y: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray:
    """Targets with their weights, normalized to mean 1 (module docstring), as one array of
    records (``target``, ``weight``) of shape (n_samples,); ``y`` itself without weights.

    Args:
        y: ndarray of shape (n_samples,): labels or real targets.
        sample_weight: None, or ndarray of shape (n_samples,), finite, >= 0, not all 0.

    Raises:
        ValueError: Naming ``sample_weight``, for weights that are not that.
    """
    if sample_weight is None:
        return y
    w = check_sample_weight(sample_weight, y.shape[0])
    assert w is not None
    total = float(w.sum())
    if not total > 0:
        raise ValueError("sample_weight sums to 0: at least one row needs a positive weight")
    packed = np.empty(y.shape[0], dtype=[(WEIGHTED_FIELDS[0], y.dtype),
                                         (WEIGHTED_FIELDS[1], np.float64)])
    packed["target"], packed["weight"] = y, w * (y.shape[0] / total)
    return packed


def is_weighted(y: Any) -> bool:
    """Whether ``y`` carries weights (:func:`pack_weights`)."""
    return getattr(getattr(y, "dtype", None), "names", None) == WEIGHTED_FIELDS


def unpack_weights(y: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(targets, weights)`` of :func:`pack_weights`'s records; ``(y, None)`` for plain targets."""
    if is_weighted(y):
        return y["target"], y["weight"]
    return y, None


def _weight_kwargs(w: np.ndarray | None) -> dict[str, Any]:
    """The loss's keyword for the weights (none without them, so that a user's loss
    function that takes no weights still works unweighted)."""
    return {} if w is None else {"sample_weight": w}


def check_inputs(X: Any, y: np.ndarray) -> None:
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
    if not np.all(np.isfinite(X.data if issparse(X) else X)):
        raise ValueError("X contains NaN or inf")


def as_rows(X: Any) -> Any:
    """``X`` as an ndarray, or as it is when it is a scipy.sparse matrix (the analytic
    objective multiplies sparse rows as they are: ``X W^T`` and ``G^T X`` are sparse
    products, never a dense copy of X)."""
    return X if issparse(X) else np.asarray(X)


def objective_value(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    loss: str | LossFn = DEFAULT_LOSS,
    penalty: str | PenaltyFn | None = "l2",
    alpha: float = 0.0,
    *,
    l1_ratio: float = 0.5,
    **loss_kwargs: Any,
) -> float:
    """``J(W, b)``: mean data loss plus penalty. Same arguments as :func:`value_and_grad`."""
    X = as_rows(X)
    y, w = unpack_weights(np.asarray(y))
    check_inputs(X, y)
    loss_fn, penalty_fn = get_loss(loss), get_penalty(penalty, l1_ratio=l1_ratio)
    data_loss = loss_fn(scores(params, X), y, **loss_kwargs, **_weight_kwargs(w))[0]
    return data_loss + penalty_fn(params["W"], alpha)[0]


def value_and_grad(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    loss: str | LossFn = DEFAULT_LOSS,
    penalty: str | PenaltyFn | None = "l2",
    alpha: float = 0.0,
    *,
    l1_ratio: float = 0.5,
    **loss_kwargs: Any,
) -> tuple[float, Params]:
    """Objective value and its analytic gradient with respect to W and b.

    Args:
        params: ``{"W": (n_classes, n_features), "b": (n_classes,)}``.
        X: ndarray of shape (n_samples, n_features).
        y: ndarray of shape (n_samples,), integer labels in ``[0, n_classes)``, or
            :func:`pack_weights`'s records of labels and weights.
        loss: Loss name or callable ``loss(scores, y) -> (value, dscores)``.
        penalty: Penalty name, callable, or None.
        alpha: Regularization strength, >= 0.
        l1_ratio: Elastic-net mix (only for ``penalty="elasticnet"``).
        **loss_kwargs: Passed to the loss, e.g. ``margin`` for the SVM.

    Returns:
        ``(J, {"W": dJ/dW (n_classes, n_features), "b": dJ/db (n_classes,)})``.
    """
    X = as_rows(X)
    y = np.asarray(y)
    check_inputs(X, y)
    check_sample_weight(unpack_weights(y)[1], X.shape[0])
    loss_fn, penalty_fn = get_loss(loss), get_penalty(penalty, l1_ratio=l1_ratio)
    check_params(params, X.shape[1])
    W, b = params["W"], params["b"]
    dtype = np.result_type(X.dtype, W.dtype, b.dtype, 1.0)
    S = np.empty((X.shape[0], W.shape[0]), dtype=dtype)
    grads = {"W": np.empty(W.shape, dtype=dtype), "b": np.empty(b.shape, dtype=dtype)}
    value = value_and_grad_into(
        params, X, y, grads, S, _checked_kernel(loss_fn), penalty_fn, alpha, **loss_kwargs
    )
    return value, grads


def value_and_grad_into(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    grads: Params,
    S: np.ndarray,
    loss_into: LossKernel,
    penalty: PenaltyFn,
    alpha: float,
    affine: tuple[np.ndarray, np.ndarray] | None = None,
    **loss_kwargs: Any,
) -> float:
    """The chain rule, in given arrays and unchecked: ``S = X W^T + b``, ``G = dL/dS``,
    ``dJ/dW = G^T X + dR/dW``, ``dJ/db = sum_i G_i``; with ``affine = (a, c)`` the
    features are ``a * X + c`` and the map is folded into W and b (module docstring).

    This is what :func:`value_and_grad` computes (it calls this), without its checks and
    allocations, for a loop that has validated its data once and reuses its buffers.

    Args:
        params: ``{"W": (n_classes, n_features), "b": (n_classes,)}``.
        X: ndarray of shape (n_samples, n_features), finite.
        y: ndarray of shape (n_samples,), integer labels in ``[0, n_classes)``.
        grads: ``{"W": (n_classes, n_features), "b": (n_classes,)}`` float arrays that
            receive ``dJ/dW`` and ``dJ/db`` (overwritten).
        S: Float ndarray of shape (n_samples, n_classes), a workspace: it holds the
            scores, then ``dL/dS``.
        loss_into: A loss kernel, e.g. :func:`linclass.losses.softmax_loss_into`.
        penalty: ``R(W, alpha) -> (value, dR/dW)``.
        alpha: Regularization strength.
        affine: Optional ``(a, c)``, ndarrays of shape (n_features,): the features are
            ``a * X + c`` (X e.g. uint8 pixels cast to float), never materialized. W, b
            and the gradients stay those of the features.
        **loss_kwargs: Passed to the kernel.

    Returns:
        ``J``, the objective value (data loss + penalty).
    """
    scores_into(params, X, S, affine)
    y, w = unpack_weights(y)
    data_loss = loss_into(S, y, S, **loss_kwargs, **_weight_kwargs(w))  # S now holds dL/dS
    W = params["W"]
    reg, dR = penalty(W, alpha)
    gW = grads["W"]
    if issparse(X):  # G^T X as (X^T G)^T: a sparse product, X never densified
        gW[...] = (X.T @ S).T
    else:
        np.matmul(S.T, X, out=gW)
    np.sum(S, axis=0, out=grads["b"])
    if affine is not None:  # back through x' = a x + c: scale the columns, rank-1 term
        a, c = affine
        gW *= a
        gW += np.multiply.outer(grads["b"], c)
    gW += dR
    return data_loss + reg


def scores_into(
    params: Params,
    X: np.ndarray,
    S: np.ndarray,
    affine: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """``S = X' W^T + b`` into ``S``, unchecked, with ``X' = a * X + c`` folded into W and
    b when ``affine = (a, c)`` is given (module docstring).

    Args:
        params: ``{"W": (n_classes, n_features), "b": (n_classes,)}``.
        X: ndarray of shape (n_samples, n_features).
        S: Float ndarray of shape (n_samples, n_classes), overwritten.
        affine: Optional ``(a, c)``, ndarrays of shape (n_features,).

    Returns:
        ``S``.
    """
    W_x, b_x = params["W"], params["b"]  # the parameters as seen by X itself
    if affine is not None:
        a, c = affine
        b_x = b_x + W_x @ c
        W_x = W_x * a  # (C, D): a few us, vs a pass over the batch to build a * X + c
    if issparse(X):
        S[...] = X @ W_x.T
    else:
        np.matmul(X, W_x.T, out=S)
    S += b_x
    return S


def value_into(
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    S: np.ndarray,
    loss_into: LossKernel,
    penalty: PenaltyFn,
    alpha: float,
    affine: tuple[np.ndarray, np.ndarray] | None = None,
    predictions: np.ndarray | None = None,
    **loss_kwargs: Any,
) -> float:
    """``J`` without its gradient, in given arrays and unchecked (as
    :func:`value_and_grad_into`), and the predicted classes ``argmax_k S_ik`` from the
    same scores: one product over X serves both the loss and the accuracy.

    Args:
        params, X, y, S, loss_into, penalty, alpha, affine, **loss_kwargs: As in
            :func:`value_and_grad_into`.
        predictions: Optional integer ndarray of shape (n_samples,) that receives the
            predicted class of each row.

    Returns:
        ``J``, the objective value (data loss + penalty).
    """
    scores_into(params, X, S, affine)
    if predictions is not None:
        np.argmax(S, axis=1, out=predictions)
    y, w = unpack_weights(y)
    # its gradient is a few us, not worth a twin
    data_loss = loss_into(S, y, S, **loss_kwargs, **_weight_kwargs(w))
    return data_loss + penalty(params["W"], alpha)[0]


class FastObjective:
    """An analytic objective bound to its loss kernel and penalty, computed in given
    arrays: ``fast(params, X, y, grads, S, affine=None) -> J`` is
    :func:`value_and_grad_into`, ``fast.value(params, X, y, S, affine=None,
    predictions=None) -> J`` is :func:`value_into`. Made by :func:`fast_path`."""

    def __init__(self, loss_into: LossKernel, penalty: PenaltyFn, alpha: float,
                 **loss_kwargs: Any) -> None:
        self.bound = dict(loss_into=loss_into, penalty=penalty, alpha=alpha, **loss_kwargs)

    def __call__(self, params: Params, X: np.ndarray, y: np.ndarray, grads: Params,
                 S: np.ndarray, affine: tuple[np.ndarray, np.ndarray] | None = None) -> float:
        return value_and_grad_into(params, X, y, grads, S, affine=affine, **self.bound)

    def value(self, params: Params, X: np.ndarray, y: np.ndarray, S: np.ndarray,
              affine: tuple[np.ndarray, np.ndarray] | None = None,
              predictions: np.ndarray | None = None) -> float:
        return value_into(params, X, y, S, affine=affine, predictions=predictions, **self.bound)


def _checked_kernel(loss_fn: LossFn) -> LossKernel:
    """A kernel from a public loss: its input checks run, its gradient is copied to out."""

    def loss_into(S: np.ndarray, y: np.ndarray, out: np.ndarray, **loss_kwargs: Any) -> float:
        value, dS = loss_fn(S, y, **loss_kwargs)
        out[...] = dS
        return value

    return loss_into


@runtime_checkable
class HasInPlace(Protocol):
    """An objective that offers a buffered, unchecked twin of itself: ``in_place`` is a
    :class:`FastObjective` (or None when it has none). The fit loop uses it only when the
    caller asks for the fast path (``fast=True``) and the data passed the checks that
    :func:`value_and_grad` would make every step."""

    in_place: FastObjective | None


class Objective:
    """The analytic objective as an object: ``objective(params, X, y) -> (J, grads)`` is
    :func:`value_and_grad`, ``objective.value(params, X, y)`` is :func:`objective_value`,
    and ``objective.in_place`` the same computation into given arrays
    (:class:`FastObjective`) when the loss's record has an in-place kernel
    (:attr:`linclass.losses.records.Loss.kernel`), else None.

    Args:
        loss: Loss name or callable ``loss(scores, y) -> (value, dscores)``.
        penalty: Penalty name, callable, or None.
        alpha: Regularization strength, >= 0.
        l1_ratio: Elastic-net mix (only for ``penalty="elasticnet"``).
        **loss_kwargs: Passed to the loss, e.g. ``margin`` for the SVM.
    """

    def __init__(self, loss: str | LossFn = DEFAULT_LOSS, penalty: str | PenaltyFn | None = "l2",
                 alpha: float = 0.0, *, l1_ratio: float = 0.5, **loss_kwargs: Any) -> None:
        self.loss = get_loss(loss)
        self.penalty = get_penalty(penalty, l1_ratio=l1_ratio)
        self.alpha = alpha
        self.loss_kwargs = loss_kwargs
        #: The choices by name, for a backend that has its own kernels (None for a callable).
        named = isinstance(loss, str) and (penalty is None or isinstance(penalty, str))
        self.spec: dict[str, Any] | None = (
            dict(loss=loss, penalty=penalty or "none", alpha=alpha, l1_ratio=l1_ratio,
                 loss_kwargs=loss_kwargs) if named else None)
        self.penalty(np.zeros((1, 1)), alpha)  # reject a bad alpha now, not at the first step
        # A named loss's record says whether it has an in-place kernel.
        kernel = get_record(loss).kernel if isinstance(loss, str) else None
        self.in_place = (None if kernel is None
                         else FastObjective(kernel, self.penalty, alpha, **loss_kwargs))

    def __call__(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        return value_and_grad(params, X, y, self.loss, self.penalty, self.alpha,
                              **self.loss_kwargs)

    def value(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """``J(W, b)`` alone."""
        return objective_value(params, X, y, self.loss, self.penalty, self.alpha,
                               **self.loss_kwargs)


def fast_path(value_and_grad_fn: Callable[..., Any]) -> FastObjective | None:
    """The buffered, unchecked twin of a ``value_and_grad``, if it offers one
    (:class:`HasInPlace`: the :class:`Objective` that ``make_value_and_grad("analytic",
    ...)`` returns does, for a loss with a kernel); None for anything else (numerical,
    autodiff, a user's function), which the caller then keeps calling as it is.

    The caller must have checked what :func:`value_and_grad` checks: finite X, labels in
    range, params shapes.
    """
    return value_and_grad_fn.in_place if isinstance(value_and_grad_fn, HasInPlace) else None
