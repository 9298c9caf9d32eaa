"""``LinearRegressor``: least squares ``f(x) = w . x + b`` with linclass's optimizers.

The lecture's regression: the output is "what we want to regress to (house prices...)",
the loss its squared error ``L_i = (y_i - w . x_i - b)^2`` (the gradient-descent slide), and
the penalty the same L1 / L2 / elastic net as the classifier's (the L1 slide's
``L_i = |y - W x_i|^2 + |W|``). So the objective is

    J(w, b) = 1/N sum_i (y_i - w . x_i - b)^2 + R(w)

with ``R(w) = alpha sum w^2`` (l2), ``alpha sum |w|`` (l1) or
``alpha (r sum |w| + (1 - r) sum w^2)`` (elasticnet); the bias is never penalized.

**The same solution as scikit-learn**, with the penalty scaled (``N``: training rows):

* ``penalty="none"`` is :class:`sklearn.linear_model.LinearRegression`.
* ``Ridge(alpha=a)`` minimizes ``|y - Xw - b|^2 + a |w|^2``: divided by N that is J with
  ``penalty="l2", alpha=a / N``.
* ``Lasso(alpha=a)`` minimizes ``1/(2N) |y - Xw - b|^2 + a |w|_1``: times 2 that is J with
  ``penalty="l1", alpha=2 a``.
* ``ElasticNet(alpha=a, l1_ratio=r)`` minimizes ``1/(2N)|.|^2 + a r |w|_1 + a (1 - r)/2
  |w|^2``: times 2, J with ``alpha = a (1 + r)`` and ``l1_ratio = 2 r / (1 + r)``.

:func:`sklearn_alpha` does this mapping. The estimator is a thin face: every option comes
from the records in :mod:`linclass.options`, is resolved by the same fit plan as the
classifier's (:mod:`linclass.estimators.plan`) and trained by the same steps
(:mod:`linclass.estimators.fitting`). By default (``scaling="auto"``) the features and the
targets are standardized inside the fit, with ``coef_`` and ``intercept_`` mapped back, so
raw columns and targets of any size need no scaling by the user, with any optimizer; the
objective above is unchanged (:mod:`linclass.training.reparam`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted, validate_data

from linclass.estimators import fitting
from linclass.estimators.files import load_estimator, save_estimator
from linclass.estimators.params import ESTIMATOR_PARAMS, constraints, warn_if_still_improving
from linclass.estimators.plan import check as check_plan
from linclass.estimators.plan import make_plan
from linclass.estimators.weights import row_weights, warm_params, with_weights
from linclass.io.persist import ModelFileError
from linclass.model import scores
from linclass.options import PARAMS

#: The loss of every regressor; the classifier's loss options (``loss``, ``margin``) are
#: not parameters here.
LOSS = "squared"
#: The classifier's parameters less the loss's and the backend's (the torch backend
#: trains on class indices; regression stays on NumPy).
REGRESSOR_PARAMS = tuple(p for p in ESTIMATOR_PARAMS
                         if p not in ("loss", "margin", "backend", "device", "dtype",
                                      "class_weight"))
#: The signature's defaults, read from the records so that they cannot drift.
_DEFAULT = {name: PARAMS[name].default for name in REGRESSOR_PARAMS}


def sklearn_alpha(estimator: str, alpha: float, n_samples: int,
                  l1_ratio: float = 0.5) -> dict[str, Any]:
    """The ``penalty``, ``alpha`` (and ``l1_ratio``) of :class:`LinearRegressor` that give the
    same minimizer as a scikit-learn linear model (module docstring for the algebra).

    Args:
        estimator: ``"LinearRegression"``, ``"Ridge"``, ``"Lasso"`` or ``"ElasticNet"``.
        alpha: scikit-learn's ``alpha`` (ignored for LinearRegression).
        n_samples: N, the rows of the training set (Ridge's sum is not a mean).
        l1_ratio: scikit-learn's ``l1_ratio`` (ElasticNet only).

    Returns:
        Keyword arguments for :class:`LinearRegressor`.
    """
    if estimator == "LinearRegression":
        return {"penalty": "none", "alpha": 0.0}
    if estimator == "Ridge":
        return {"penalty": "l2", "alpha": alpha / n_samples}
    if estimator == "Lasso":
        return {"penalty": "l1", "alpha": 2.0 * alpha}
    if estimator == "ElasticNet":
        return {"penalty": "elasticnet", "alpha": alpha * (1.0 + l1_ratio),
                "l1_ratio": 2.0 * l1_ratio / (1.0 + l1_ratio)}
    raise ValueError(f"unknown scikit-learn estimator {estimator!r}; choose LinearRegression, "
                     "Ridge, Lasso or ElasticNet")


class LinearRegressor(RegressorMixin, BaseEstimator):
    """Linear regression ``f(x) = w . x + b`` fitted by minimizing the mean squared error
    plus a penalty, with any of linclass's optimizers and gradient methods.

    The parameters are :class:`~linclass.estimators.classifier.LinearClassifier`'s less ``loss`` and
    ``margin`` (the loss is always the squared error), with the same records, defaults and
    checks. With ``scaling="auto"`` (the default) neither the features nor the targets need
    scaling first (module docstring); ``scaling="none"`` steps on the raw numbers. For
    regressors ``tol`` is measured on the loss of the standardized targets. ``warm_start``:
    ``fit`` starts from the current ``coef_`` and ``intercept_`` (same features). See the module
    docstring for the mapping of ``alpha`` to scikit-learn's Ridge, Lasso and ElasticNet.

    Attributes:
        coef_: ndarray of shape (n_features,), w.
        intercept_: float, b.
        n_features_in_: Number of features seen in fit.
        n_iter_: Epochs run.
        history_: Training history (loss per step and per epoch; its accuracies have no
            meaning for regression).
        settings_: The parameters that applied to the fit, choice defaults filled in.
    """

    _parameter_constraints: dict = constraints(REGRESSOR_PARAMS)

    def __init__(
        self,
        *,
        penalty: str = _DEFAULT["penalty"],
        alpha: float = _DEFAULT["alpha"],
        l1_ratio: float | None = None,
        optimizer: str = _DEFAULT["optimizer"],
        gradient: str = _DEFAULT["gradient"],
        numerical_method: str | None = None,
        numerical_h: float | None = None,
        learning_rate: float | None = None,
        schedule: str | None = None,
        batch_size: int | None = None,
        momentum: float | None = None,
        search_scale: float | None = None,
        step_size: float | None = None,
        population_size: int | None = None,
        n_elite: int | None = None,
        tournament_size: int | None = None,
        crossover_rate: float | None = None,
        mutation_rate: float | None = None,
        mutation_scale: float | None = None,
        memory: int | None = None,
        max_epochs: int | None = None,
        tol: float | None = _DEFAULT["tol"],
        patience: int = _DEFAULT["patience"],
        early_stopping: bool = _DEFAULT["early_stopping"],
        validation_fraction: float = _DEFAULT["validation_fraction"],
        scaling: str = _DEFAULT["scaling"],
        warm_start: bool = _DEFAULT["warm_start"],
        random_state: int | None = None,
        verbose: bool = _DEFAULT["verbose"],
    ) -> None:
        for name in REGRESSOR_PARAMS:
            setattr(self, name, locals()[name])

    def __sklearn_tags__(self) -> Tags:
        """scikit-learn's tags: sparse rows are taken (:func:`~linclass.estimators.
        fitting.sparse_rows`)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def objective_params(self) -> dict[str, Any]:
        """Loss, penalty and their arguments, as the objective and gradient functions take them."""
        return make_plan(self.get_params(), task="regression", n_samples=1).objective

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegressor:
        """Fit w and b on ``(X, y)``.

        Args:
            X: array-like of shape (n_samples, n_features).
            y: array-like of shape (n_samples,), real targets.
            sample_weight: Optional array-like of shape (n_samples,), finite, >= 0, not
                all 0: the data term becomes ``sum_i v_i (y_i - w . x_i - b)^2 / sum_i
                v_i``, so integer weights equal duplicated rows (scikit-learn's ``Ridge``
                with weights minimizes ``sum_i v_i r_i^2 + a |w|^2``: ``alpha = a /
                sum_i v_i``).

        Returns:
            self.
        """
        self._validate_params()
        check_plan(self.get_params(), task="regression")
        before = None
        if self.warm_start and hasattr(self, "coef_"):
            before = (None, {k: np.array(v, copy=True) for k, v in self._params().items()})
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=True,
                             accept_sparse=fitting.SPARSE_FORMATS)
        X = fitting.sparse_rows(X, self.get_params())
        y = np.asarray(y, dtype=X.dtype)
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or inf")
        weights = row_weights(y.shape[0], sample_weight)
        init = warm_params(before, None, X.shape[1])
        rng = np.random.default_rng(self.random_state)
        X_val = y_val = None
        if self.early_stopping:
            split = train_test_split(X, y, *(() if weights is None else (weights,)),
                                     test_size=self.validation_fraction,
                                     random_state=int(rng.integers(2**31)))
            X, X_val, y, y_val = split[:4]
            weights = None if weights is None else split[4]
        plan = make_plan(self.get_params(), task="regression", n_samples=len(y))
        prepared = fitting.prepare(plan, X, y, rng)
        fitted = fitting.run(prepared, X, with_weights(y, weights), 1, X.shape[1],
                             dtype=X.dtype, rng=rng, X_val=X_val, y_val=y_val,
                             progress=bool(self.verbose), init=init)
        result = fitted.result
        self._set_params(fitted.params)
        self.n_iter_ = result.n_iter
        self.history_ = result.history
        self.settings_ = fitted.plan.settings
        if (result.stopped_reason == "max_epochs" and fitted.tol is not None
                and not self.early_stopping):
            warn_if_still_improving(self, result.history.train_loss, fitted.tol)
        return self

    def _params(self) -> dict[str, np.ndarray]:
        return {"W": self.coef_[None, :], "b": np.array([self.intercept_], self.coef_.dtype)}

    def _set_params(self, params: dict[str, np.ndarray]) -> None:
        self.coef_, self.intercept_ = params["W"][0].copy(), float(params["b"][0])

    def predict(self, X: Any) -> np.ndarray:
        """``f(x) = w . x + b`` per row.

        Returns:
            ndarray of shape (n_samples,).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          accept_sparse=fitting.SPARSE_FORMATS)
        return scores(self._params(), X)[:, 0]

    def to_onnx(self, path: str | os.PathLike | None = None, *, force: bool = False) -> Any:
        """This regressor as an ``onnx.ModelProto`` (input ``input`` float32 (N, D), output
        ``prediction`` (N,): :mod:`linclass.export.models`), also written to ``path``
        (atomically; ``force`` to overwrite) when given."""
        from linclass.export.models import regressor_onnx, save_onnx

        return save_onnx(regressor_onnx(self), path, force=force)

    # --- files ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike, *, force: bool = False) -> Path:
        """Write w, b and the hyperparameters to a safetensors file (atomically; never a
        pickle). Returns the path written."""
        check_is_fitted(self)
        fitted = {"n_features_in": int(self.n_features_in_), "n_iter": int(self.n_iter_)}
        return save_estimator(path, self, self._params(), fitted, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LinearRegressor:
        """Rebuild a fitted regressor from :meth:`save`'s file (verified; see
        :func:`linclass.io.persist.load_model`)."""
        def restore(reg: LinearRegressor, meta: dict[str, Any]) -> None:
            reg.n_features_in_ = int(meta["n_features_in"])
            reg.n_iter_ = int(meta.get("n_iter", 0))

        reg, params, _, _ = load_estimator(path, cls, restore)
        if params["W"].shape != (1, reg.n_features_in_):
            raise ModelFileError(f"{path}: W has shape {params['W'].shape}, expected "
                                 f"(1, {reg.n_features_in_}) for a regressor")
        reg._set_params(params)
        return reg

