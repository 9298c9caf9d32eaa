"""Carry out a :class:`~linclass.estimators.plan.FitPlan` on the data: the coordinates, the
default step size, the one call to :func:`linclass.training.fit`, and the model back in the
user's coordinates. Shared by every estimator, so a classifier, a regressor and an image
classifier train by the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from linclass import training as _train
from linclass.backends.registry import resolve_backend
from linclass.estimators.plan import FitPlan, step_size, top_eigenvalue
from linclass.model import Params, init_params
from linclass.options import LOSS_CURVATURE, choice, optimizer_record
from linclass.sparsity import issparse
from linclass.training.arrays import is_dask, is_out_of_core
from linclass.training.reparam import Reparam, standardizing

#: Rows drawn to estimate the curvature (a 2,048-row sample gives the top eigenvalue of a
#: covariance to a few per cent, at the cost of a few mini-batch steps).
CURVATURE_ROWS = 2048


#: The estimators measure the whole training set at the end of a mini-batch fit only
#: (:func:`linclass.training.fit`'s ``full_eval_every``): their tolerance stop and history
#: read the running mean of the batch losses, as ``SGDClassifier``'s do, so evaluation
#: stays off the hot path (Fashion-MNIST defaults: one pass per epoch was a third of the
#: fit, ``benchmarks/RESULTS.md``); the validation set is still measured every epoch.
FULL_EVAL_EVERY: int | None = None


class Prepared(NamedTuple):
    """A plan with its learning rate set, and the coordinates it trains in."""

    plan: FitPlan
    reparam: Reparam | None


def prepare(plan: FitPlan, X: Any, targets: np.ndarray | None, rng: np.random.Generator,
            transform: Callable[..., np.ndarray] | None = None,
            stats: tuple[np.ndarray, np.ndarray] | None = None) -> Prepared:
    """Choose the coordinates (``plan.scaling``) and fill in the default learning rate.

    Args:
        plan: The fit's plan.
        X: The training rows (features, or stored rows that ``transform`` converts).
        targets: Regression targets (standardized with the features), None for classifiers.
        rng: Draws the rows of the curvature sample.
        transform: Stored rows -> features, or None.
        stats: The column statistics of ``X``, when already computed
            (:func:`linclass.training.reparam.standardizing`).
    """
    reparam = None
    if plan.scaling == "standardize":
        alpha_2 = _l2_strength(plan)
        curvature = LOSS_CURVATURE[plan.objective["loss"]]
        # Any spread gives the same objective; the floor keeps the penalty's curvature in
        # the new coordinates, 2 alpha / sigma^2, below the data's.
        floor = float(np.sqrt(2.0 * alpha_2 / curvature)) if alpha_2 > 0 else 0.0
        reparam = standardizing(X, targets, sigma_floor=floor, stats=stats)
    if not plan.needs_learning_rate:
        return Prepared(plan, reparam)
    stored = is_out_of_core(X) or is_dask(X)
    if choice("loss", plan.objective["loss"]).has("lipschitz") and not stored:
        # A loss with bounded gradients cannot blow up geometrically, and on standardized
        # coordinates or the pipeline's own features the record's defaults are the tuned
        # ones (the curvature bound, tight only for the worst case, would slow them:
        # Fashion-MNIST softmax sgd 0.844 -> 0.827 in its 10 epochs). Rows on disk or on
        # a cluster keep their own scale: they take the bound.
        default = optimizer_record(plan.optimizer).learning_rate
        assert default is not None  # the plan needs a rate only for an optimizer that has one
        return Prepared(plan.with_learning_rate(default), reparam)
    n = X.shape[0]
    if stored:  # one contiguous read, not rows from every chunk
        sample = X[: min(n, CURVATURE_ROWS)]
    else:
        sample = X[np.sort(rng.choice(n, size=min(n, CURVATURE_ROWS), replace=False))]
    gain = 1.0
    if issparse(sample):  # scaled, not centered (that would densify): a larger L, safe
        Z = sample.astype(np.float64)
        if reparam is not None:
            Z = Z.multiply(reparam.inv_sigma).tocsr()
            gain = float(np.max(reparam.inv_sigma) ** 2)
        return Prepared(plan.with_learning_rate(step_size(plan, top_eigenvalue(Z), gain)),
                        reparam)
    Z = np.asarray(sample if transform is None else transform(sample), dtype=np.float64)
    Z = Z.reshape(Z.shape[0], -1)
    if reparam is not None:
        Z = (Z - reparam.mu) * reparam.inv_sigma
        gain = float(np.max(reparam.inv_sigma) ** 2)
    return Prepared(plan.with_learning_rate(step_size(plan, top_eigenvalue(Z), gain)), reparam)


#: The sparse formats the estimators take (CSC is converted to CSR, whose rows slice).
SPARSE_FORMATS = ("csr", "csc")


def sparse_rows(X: Any, values: dict[str, Any]) -> Any:
    """``X`` as CSR when it is a scipy.sparse matrix, after refusing what does not run on
    sparse rows; any other ``X`` as it is.

    Sparse rows train on the NumPy backend with the analytic gradient: every block's
    products ``X_B W^T`` and ``G^T X_B`` are sparse ones (:mod:`linclass.objective`), and
    the standardized coordinates (``scaling="auto"``) never form ``X - mu`` (the step
    computes the loss on the raw rows; only W and b are mapped,
    :mod:`linclass.training.reparam`), so the matrix is never densified.

    Raises:
        ValueError: Saying that sparse X needs ``gradient="analytic"`` or
            ``backend="numpy"``.
    """
    if not issparse(X):
        return X
    gradient = values.get("gradient", "analytic")
    if gradient != "analytic":
        raise ValueError(f"sparse X trains with gradient='analytic'; gradient={gradient!r} "
                         "takes dense rows (X.toarray() if it fits in memory)")
    backend = resolve_backend(values.get("backend"), values.get("device", "cpu"))
    if backend != resolve_backend(None, "cpu"):
        raise ValueError(f"sparse X trains on the NumPy backend; backend={backend!r} takes "
                         "dense rows (X.toarray() if it fits in memory)")
    return X.tocsr()


def _l2_strength(plan: FitPlan) -> float:
    penalty, alpha = plan.objective["penalty"], float(plan.objective["alpha"])
    if penalty == "l2":
        return alpha
    if penalty == "elasticnet":
        return alpha * (1.0 - float(plan.objective["l1_ratio"]))
    return 0.0


class Fitted(NamedTuple):
    """What :func:`run` returns: the model's ``(W, b)`` and the training result."""

    params: Params
    result: _train.FitResult
    plan: FitPlan
    reparam: Reparam | None
    tol: float | None


def run(prepared: Prepared, X: Any, y: np.ndarray, n_outputs: int, n_features: int, *,
        dtype: np.dtype, rng: np.random.Generator, X_val: Any = None, y_val: Any = None,
        transform: Callable[..., np.ndarray] | None = None, progress: bool = False,
        init: Params | None = None) -> Fitted:
    """Initialize and train by the plan, and return the model in the user's coordinates.

    Args:
        prepared: :func:`prepare`'s result.
        X: Training rows; y: labels in ``[0, n_outputs)`` or regression targets.
        n_outputs: Rows of W (classes, or 1 for a regressor).
        n_features: Columns of W.
        dtype: The parameters' float type.
        rng: The fit's generator (initialization, then batch order and the searches).
        X_val, y_val: Validation rows, or None.
        transform: Stored rows -> features, or None.
        progress: Show the progress bar.
        init: The model's starting ``(W, b)`` (a warm start), or None: a new
            initialization from ``rng``.
    """
    plan, reparam = prepared
    params = init_params(n_features, n_outputs, random_state=rng, dtype=dtype)
    if init is not None:  # the rng still draws the initialization: the batch order is the same
        params = {k: np.asarray(v, dtype=dtype) for k, v in init.items()}
        if reparam is not None:
            params = reparam.astype(dtype).to_theta(params)
    tol = plan.tol
    if reparam is not None and tol is not None and not plan.solver:
        # tol is on the scale of the optimizer's loss (a regressor's on standardized
        # targets); the history, which the tolerance stop reads, records the model's own
        # J, 1/c times larger. (A solver's tol is its gradient tolerance, in its own
        # coordinates already.)
        tol = tol / reparam.loss_scale
    result = _train.fit(
        params, X, y, **plan.training_kwargs(), schedule=plan.schedule,
        max_epochs=plan.max_epochs, X_val=X_val, y_val=y_val,
        early_stopping=plan.early_stopping, patience=plan.patience, tol=tol,
        random_state=rng, progress=progress, transform=transform, reparam=reparam,
        full_eval_every=FULL_EVAL_EVERY)
    model = result.params if reparam is None else reparam.astype(dtype).to_model(result.params)
    return Fitted(model, result, plan, reparam, tol)


def partial_step(prepared: Prepared, params: Params, X: Any, y: np.ndarray, state: Any,
                 random_state: Any) -> tuple[Params, Any]:
    """One :func:`linclass.training.partial_fit` pass from the model's ``params``; returns
    the model's new params and the optimizer state (in the plan's coordinates)."""
    plan, reparam = prepared
    start = params if reparam is None else reparam.astype(params["W"].dtype).to_theta(params)
    result = _train.partial_fit(start, X, y, **plan.training_kwargs(), state=state,
                                random_state=random_state, reparam=reparam)
    model = (result.params if reparam is None
             else reparam.astype(params["W"].dtype).to_model(result.params))
    return model, result.state


__all__ = ["CURVATURE_ROWS", "FULL_EVAL_EVERY", "SPARSE_FORMATS", "Fitted", "Prepared",
           "partial_step", "prepare", "run", "sparse_rows"]
