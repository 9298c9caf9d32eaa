"""The regularization path of an estimator: a fitted model per ``alpha``, warm-started.

scikit-learn's ``lasso_path(X, y, alphas=...)`` returns the coefficients of every strength
from one warm-started sweep; :func:`estimator_path` is that for
:class:`~linclass.estimators.classifier.LinearClassifier` and
:class:`~linclass.estimators.regressor.LinearRegressor` with ``optimizer="lbfgs"``::

    path = estimator_path(LinearClassifier(optimizer="lbfgs", tol=1e-6), X, y,
                          alphas=np.logspace(-1, -5, 10))
    path.objectives, path.n_iter          # per alpha, in the order given
    path.estimators[3].score(X_test, y_test)

Each point is trained as ``clone(estimator).set_params(alpha=a).fit(X, y)`` would be (the
same fit plan, :mod:`linclass.estimators.plan`: its coordinates, budget and tolerance, from
:func:`linclass.estimators.fitting.prepare`), but started from the previous point's model
(:func:`linclass.training.path.regularization_path`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from linclass.estimators import fitting
from linclass.estimators.plan import FitPlan, make_plan
from linclass.estimators.regressor import LinearRegressor
from linclass.estimators.weights import row_weights, with_weights
from linclass.training.path import SOLVER, PathResult, check_alphas, regularization_path
from linclass.training.reparam import Reparam, column_stats


@dataclass(frozen=True)
class EstimatorPath(PathResult):
    """A :class:`~linclass.training.path.PathResult` with a fitted estimator per point.

    Attributes:
        estimators: K fitted clones of the estimator, ``alpha`` set to each strength (in
            the order given), with ``coef_``, ``intercept_``, ``n_iter_`` and ``settings_``
            as their own ``fit`` would set them; ``history_`` holds the final row only (a
            path measures no per-iteration loss and accuracy).
    """

    estimators: list[Any]


def estimator_path(estimator: Any, X: Any, y: Any, alphas: Any, *,
                   classes: Any = None, sample_weight: Any = None) -> EstimatorPath:
    """Fit ``estimator`` at every strength of ``alphas``, warm-started from the strongest
    to the weakest (module docstring).

    Args:
        estimator: An unfitted (or fitted: it is cloned, never changed)
            :class:`~linclass.estimators.classifier.LinearClassifier` or
            :class:`~linclass.estimators.regressor.LinearRegressor` with
            ``optimizer="lbfgs"``; its ``alpha`` is ignored, its other options apply to
            every point (``tol``, ``max_epochs``, ``memory``, ``scaling``, ``dtype``, ...).
        X: array-like of shape (n_samples, n_features), in memory.
        y: array-like of shape (n_samples,): labels of any type, or a regressor's targets.
        alphas: array-like of shape (K,), strengths >= 0 in any order.
        classes: All labels the models should have (a classifier on a subset of the data,
            e.g. a cross-validation fold); None: the labels of ``y``.
        sample_weight: Optional row weights (n_samples,); with the estimator's
            ``class_weight`` they weigh every point as its own ``fit`` would.

    Returns:
        An :class:`EstimatorPath`, in the order of ``alphas``.

    Raises:
        ValueError: Bad ``alphas`` (named), an optimizer other than ``"lbfgs"``, bad data
            (as the estimator's ``fit`` refuses it), or labels outside ``classes``.
        TypeError: An estimator other than the two above.
    """
    from linclass.estimators.classifier import LinearClassifier

    if not isinstance(estimator, LinearClassifier | LinearRegressor):
        raise TypeError("estimator_path takes a LinearClassifier or a LinearRegressor, got "
                        f"{type(estimator).__name__}")
    values = check_alphas(alphas)
    base = clone(estimator)
    if base.optimizer != SOLVER:
        raise ValueError(f"estimator_path warm-starts optimizer={SOLVER!r}; the estimator "
                         f"has optimizer={base.optimizer!r}")
    task = "classification" if is_classifier(base) else "regression"
    if task == "classification":
        base._check_hyperparameters()  # types, ranges and the plan's cross-checks
        X, y = validate_data(base, X, y, dtype=base._dtypes())
        check_classification_targets(y)
        labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        if len(labels) < 2:
            raise ValueError(f"LinearClassifier needs at least 2 classes, got {labels.tolist()}")
        base.classes_ = labels
        targets, y_fit = None, base._encode(y)
        weights = row_weights(len(y_fit), sample_weight, base.class_weight, y_fit, labels)
    else:
        base._validate_params()  # make_plan below makes the cross-checks
        X, y = validate_data(base, X, y, dtype=[np.float64, np.float32], y_numeric=True)
        y_fit = targets = np.asarray(y, dtype=X.dtype)
        if not np.isfinite(targets).all():
            raise ValueError("y contains NaN or inf")
        labels = None
        weights = row_weights(len(y_fit), sample_weight)
    rng = np.random.default_rng(base.random_state)
    plans = {a: make_plan({**base.get_params(), "alpha": a}, task=task, n_samples=len(y_fit))
             for a in map(float, values)}
    first = plans[float(values[0])]
    path = regularization_path(
        X, with_weights(y_fit, weights), values, **_objective_options(first),
        n_outputs=1 if labels is None else len(labels), gradient=first.gradient,
        gradient_kwargs=first.gradient_kwargs, max_epochs=first.max_epochs, tol=first.tol,
        memory=int(first.optimizer_kwargs["memory"]),
        reparam=_coordinates(plans, X, targets, rng), random_state=rng)
    estimators = [_fitted(base, plans[float(a)], p, n, h)
                  for a, p, n, h in zip(values, path.params, path.n_iter, path.histories,
                                        strict=True)]
    return EstimatorPath(**vars(path), estimators=estimators)


def _objective_options(plan: FitPlan) -> dict[str, Any]:
    """The plan's objective less its strength, as the path takes it."""
    return {k: v for k, v in plan.objective.items() if k != "alpha"}


def _coordinates(plans: dict[float, FitPlan], X: np.ndarray, targets: np.ndarray | None,
                 rng: np.random.Generator) -> Callable[[float], Reparam | None]:
    """Each strength's coordinates, as a single fit's plan chooses them (the spread floor
    of standardized coordinates depends on ``alpha``)."""
    stats = (column_stats(X) if any(p.scaling == "standardize" for p in plans.values())
             else None)  # one pass over X for every strength's coordinates

    def at(alpha: float) -> Reparam | None:
        return fitting.prepare(plans[alpha], X, targets, rng, stats=stats).reparam

    return at


def _fitted(base: Any, plan: FitPlan, params: dict[str, np.ndarray], n_iter: int,
            history: Any) -> Any:
    """A clone of ``base`` at the plan's ``alpha``, fitted to ``params``."""
    est = clone(base).set_params(alpha=plan.objective["alpha"])
    est.n_features_in_ = base.n_features_in_
    if hasattr(base, "classes_"):
        est.classes_ = base.classes_
    est._set_params({k: v.copy() for k, v in params.items()})
    est.n_iter_, est.history_, est.settings_ = int(n_iter), history, plan.settings
    if hasattr(base, "classes_"):
        est._prepared, est._optimizer_state = None, None  # as a loaded model: no partial_fit state
    return est


__all__ = ["EstimatorPath", "estimator_path"]
