"""The fit plan: from hyperparameters and the data's shape to the one training call.

Every face resolves options here and nowhere else: :class:`~linclass.estimators.classifier.
LinearClassifier`, :class:`~linclass.estimators.regressor.LinearRegressor`,
:class:`~linclass.estimators.image.ImageClassifier` and the CLI's commands. :func:`check`
refuses a bad combination before any data is read; :func:`make_plan` turns the checked
values into a :class:`FitPlan`: the objective, the optimizer with its own options, the
epoch budget, the coordinates (``scaling``) and what ``settings_`` records. The one input
that needs the data, the default step size, is :func:`step_size` of the data's curvature
(:func:`top_eigenvalue`), filled in by :mod:`linclass.estimators.fitting`.

This module is pure: it reads the records of :mod:`linclass.options` and the numbers it is
given, and touches no data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linclass.options import (
    LOSS_CURVATURE,
    OWNER_FAMILY,
    check_choice_params,
    choice,
    optimizer_record,
    resolved,
)
from linclass.sparsity import issparse

#: What an estimator learns: class scores, or one real output.
TASKS = ("classification", "regression")
#: The loss of every regressor (the lecture's squared error).
REGRESSION_LOSS = "squared"


def _families(values: Mapping[str, Any], task: str) -> dict[str, str]:
    loss = values.get("loss", REGRESSION_LOSS) if task == "classification" else REGRESSION_LOSS
    return {"loss": loss, "penalty": values["penalty"], "gradient": values["gradient"],
            "optimizer": values["optimizer"]}


def check(values: Mapping[str, Any], *, task: str = "classification",
          spell: Mapping[str, str] | None = None) -> None:
    """Refuse a combination of hyperparameters before any work (types and ranges are the
    estimator's ``_validate_params``; this is what crosses parameters).

    Args:
        values: The estimator's ``get_params()`` (or a command's options).
        task: ``"classification"`` or ``"regression"``.
        spell: How the face spells each parameter (the CLI's flags), for the messages.

    Raises:
        ValueError: An option set for a choice that does not use it, a gradient method for
            a search optimizer, or values that break the optimizer record's rules
            (``n_elite >= population_size``).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    spell = spell or {}
    word = lambda name: spell.get(name, name)  # noqa: E731
    selected = _families(values, task)
    check_choice_params(values, selected, spell)
    record = optimizer_record(selected["optimizer"])
    if record.has("search") and selected["gradient"] != "analytic":
        raise ValueError(f"{word('gradient')}={selected['gradient']!r} is for gradient "
                         f"optimizers; {word('optimizer')}={record.name!r} uses loss "
                         "values only")
    record.check_rules(values, spell)


def epochs(values: Mapping[str, Any], n_samples: int) -> int:
    """``max_epochs``, or the optimizer record's automatic budget
    (:class:`~linclass.options.Budget`) for ``n_samples`` training rows: about
    :data:`~linclass.options.UPDATE_BUDGET` updates for gradient optimizers and solvers,
    a fixed number of epochs for the searches."""
    if values.get("max_epochs") is not None:
        return int(values["max_epochs"])
    record = optimizer_record(values["optimizer"])
    batch = None if record.has("full_batch") else int(resolved("batch_size",
                                                               values.get("batch_size")))
    return record.budget.max_epochs(1 if batch is None else -(-n_samples // batch))


@dataclass(frozen=True)
class FitPlan:
    """Everything a fit needs but the data: what :func:`make_plan` resolved.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        objective: ``loss``, ``penalty``, ``alpha``, ``l1_ratio`` (and ``margin``), as
            :func:`linclass.grad.make_value_and_grad` takes them.
        optimizer: The optimizer's record name.
        gradient: The gradient method (gradient optimizers and solvers).
        gradient_kwargs: ``h`` and ``fd_method`` for numerical gradients.
        optimizer_kwargs: The optimizer's own options by their record names (not the
            learning rate, schedule and batch size, which have their own fields).
        learning_rate: The user's starting rate, or None: derived from the data's curvature
            (:meth:`with_learning_rate`), or not used by this optimizer.
        schedule: The schedule (``"constant"`` for optimizers without a learning rate).
        batch_size: Rows per mini-batch; None for full-batch optimizers.
        max_epochs: The epoch budget.
        tol: The tolerance stop (None: off; the searches never use it without early stopping).
        patience, early_stopping, validation_fraction: As given.
        scaling: ``"standardize"`` (train in standardized coordinates) or ``"none"``.
        backend, device: Where the fit runs (classifiers only).
        settings: What the fitted estimator's ``settings_`` records.
    """

    task: str
    objective: dict[str, Any]
    optimizer: str
    gradient: str
    gradient_kwargs: dict[str, Any]
    optimizer_kwargs: dict[str, Any]
    learning_rate: float | None
    schedule: str
    batch_size: int | None
    max_epochs: int
    tol: float | None
    patience: int
    early_stopping: bool
    validation_fraction: float
    scaling: str
    backend: str | None
    device: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def search(self) -> bool:
        """A derivative-free optimizer (it takes loss values, no gradient)."""
        return choice("optimizer", self.optimizer).has("search")

    @property
    def solver(self) -> bool:
        """An optimizer that runs its own loop (lbfgs): ``tol`` is its gradient tolerance."""
        return choice("optimizer", self.optimizer).has("solver")

    @property
    def takes_learning_rate(self) -> bool:
        return "learning_rate" in choice("optimizer", self.optimizer).params

    @property
    def needs_learning_rate(self) -> bool:
        """True until a rate is set for an optimizer that takes one."""
        return self.takes_learning_rate and self.learning_rate is None

    def with_learning_rate(self, rate: float) -> FitPlan:
        """The plan with its starting learning rate set (and recorded in ``settings``)."""
        return dataclasses.replace(self, learning_rate=float(rate),
                                   settings={**self.settings, "learning_rate": float(rate)})

    def value_and_grad(self) -> Any:
        """The objective's ``value_and_grad`` (None for the searches)."""
        if self.search:
            return None
        from linclass.grad import make_value_and_grad

        return make_value_and_grad(self.gradient, **self.objective, **self.gradient_kwargs)

    def value(self) -> Any:
        """The objective's value ``(params, X, y) -> J``."""
        import functools

        from linclass.objective import objective_value

        return functools.partial(objective_value, **self.objective)

    def training_kwargs(self) -> dict[str, Any]:
        """What :func:`linclass.training.fit` and :func:`~linclass.training.partial_fit`
        share (the fit adds its budget, stops and validation data)."""
        if self.needs_learning_rate:
            raise ValueError("the plan has no learning rate yet: with_learning_rate first")
        return dict(value_and_grad=self.value_and_grad(), value=self.value(),
                    optimizer=self.optimizer, learning_rate=self.learning_rate,
                    optimizer_kwargs=self.optimizer_kwargs, batch_size=self.batch_size,
                    backend=self.backend, device=self.device)


def make_plan(values: Mapping[str, Any], *, task: str, n_samples: int, in_memory: bool = True,
              spell: Mapping[str, str] | None = None) -> FitPlan:
    """Resolve an estimator's hyperparameters for a fit on ``n_samples`` rows.

    Args:
        values: The estimator's ``get_params()`` (a regressor has no ``loss``).
        task: ``"classification"`` or ``"regression"``.
        n_samples: Training rows (after any validation hold-out).
        in_memory: The rows are an in-memory feature matrix (``scaling="auto"`` then
            standardizes the coordinates; rows on disk, on a cluster or converted batch by
            batch train in their own).
        spell: The face's spelling of each parameter, for error messages.

    Returns:
        The :class:`FitPlan` (its ``learning_rate`` still None where the data decide it).
    """
    check(values, task=task, spell=spell)
    families = _families(values, task)
    loss, name = families["loss"], families["optimizer"]
    record = optimizer_record(name)
    objective: dict[str, Any] = dict(loss=loss, penalty=values["penalty"],
                                     alpha=float(values["alpha"]),
                                     l1_ratio=resolved("l1_ratio", values.get("l1_ratio")))
    if choice("loss", loss).has("margin"):
        objective["margin"] = resolved("margin", values.get("margin"))
    gradient_kwargs = ({"h": resolved("numerical_h", values.get("numerical_h")),
                        "fd_method": resolved("numerical_method",
                                              values.get("numerical_method"))}
                       if values["gradient"] == "numerical" else {})
    optimizer_kwargs = {k: resolved(k, values.get(k)) for k in record.params
                        if k not in ("learning_rate", "schedule", "batch_size")}
    takes_rate = "learning_rate" in record.params
    schedule = resolved("schedule", values.get("schedule")) if takes_rate else "constant"
    batch_size = (None if record.has("full_batch")
                  else int(resolved("batch_size", values.get("batch_size"))))
    budget = epochs(values, n_samples)
    search = record.has("search")
    early = bool(values.get("early_stopping", False))
    tol = None if search and not early else values.get("tol")
    scaling = ("standardize" if values.get("scaling", "auto") == "auto" and in_memory
               else "none")
    settings = _settings(values, families, budget, scaling)
    rate = values.get("learning_rate") if takes_rate else None
    if rate is not None:
        settings["learning_rate"] = float(rate)
    return FitPlan(task=task, objective=objective, optimizer=name,
                   gradient=values["gradient"], gradient_kwargs=gradient_kwargs,
                   optimizer_kwargs=optimizer_kwargs,
                   learning_rate=None if rate is None else float(rate), schedule=schedule,
                   batch_size=batch_size, max_epochs=budget, tol=tol,
                   patience=int(values.get("patience", 20)), early_stopping=early,
                   validation_fraction=float(values.get("validation_fraction", 0.1)),
                   scaling=scaling, backend=values.get("backend"),
                   device=values.get("device", "cpu"), settings=settings)


def _settings(values: Mapping[str, Any], families: Mapping[str, str], budget: int,
              scaling: str) -> dict[str, Any]:
    """The parameters that apply to the fit, choice defaults filled in."""
    used = {p for fam, name in families.items() for p in choice(fam, name).params}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in OWNER_FAMILY and key not in used:
            continue
        out[key] = resolved(key, value) if key in OWNER_FAMILY else value
    if "loss" in values:
        out["loss"] = families["loss"]
    if choice("optimizer", families["optimizer"]).has("search"):
        out.pop("gradient", None)
    out["max_epochs"] = budget
    out["scaling"] = scaling
    return out


# --- the float type of a fit ------------------------------------------------------------------

#: The float type mini-batch gradient steps compute in by default (``dtype=None``), as
#: PyTorch and cuML train: half the memory traffic of float64 and twice the sgemm rate,
#: while a mini-batch's own noise (a relative ``1 / sqrt(batch_size)``) dwarfs float32
#: rounding (``2**-24``). ``benchmarks/DTYPE.md`` measures both on Fashion-MNIST.
MINIBATCH_DTYPE = np.dtype(np.float32)


def compute_dtype(values: Mapping[str, Any], rows_dtype: np.dtype, *, dense: bool,
                  backend: str, numpy_backend: str) -> np.dtype:
    """The float type a fit's parameters and products use (the ``dtype`` policy).

    * ``dtype="float32"`` / ``"float64"``: that type.
    * ``dtype=None`` (the default): float32 rows train in float32; dense rows of any other
      numeric type (float64, uint8, int) train in :data:`MINIBATCH_DTYPE` when the
      optimizer takes mini-batches on the NumPy backend, each batch cast as it is
      gathered (never the whole array), with the analytic gradient; full-batch
      optimizers, the searches and the solver (whose line search and float64 state want
      the precision), numerical and autodiff gradients (finite differences need float64),
      sparse rows and other backends keep float64.

    Args:
        values: The estimator's ``get_params()``.
        rows_dtype: The training rows' dtype as given.
        dense: The rows are a dense in-memory ndarray.
        backend: The backend the fit resolves to; ``numpy_backend``: NumPy's name.

    Returns:
        float32 or float64.
    """
    if values.get("dtype") is not None:
        return np.dtype(values["dtype"])
    if rows_dtype == np.float32:
        return rows_dtype
    record = optimizer_record(values["optimizer"])
    minibatch = not (record.has("full_batch") or record.has("solver") or record.has("search"))
    analytic = values.get("gradient", "analytic") == "analytic"
    if (dense and minibatch and analytic and backend == numpy_backend
            and rows_dtype.kind in "fiub"):
        return MINIBATCH_DTYPE
    return np.dtype(np.float64)


# --- the default step size --------------------------------------------------------------------


def top_eigenvalue(Z: np.ndarray, *, iterations: int = 50, seed: int = 0) -> float:
    """The largest eigenvalue of ``M^T M / n`` with ``M = [Z, 1]`` (the bias column
    appended): the curvature of a mean loss along its stiffest direction, per unit of the
    loss's own curvature. Power iteration, ``O(iterations n D)``.

    Args:
        Z: ndarray or scipy.sparse matrix of shape (n, D), feature rows as the optimizer
            sees them (sparse rows are multiplied as they are).
        iterations: Power-iteration steps (the estimate only grows with them).
        seed: Seed of the starting vector.

    Returns:
        ``lambda_max >= 0``.
    """
    Z = Z.astype(np.float64) if issparse(Z) else np.asarray(Z, dtype=np.float64)
    n = max(Z.shape[0], 1)
    v = np.random.default_rng(seed).standard_normal(Z.shape[1] + 1)
    estimate = 0.0
    for _ in range(iterations):
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            return 0.0
        v = v / norm
        Mv = Z @ v[:-1] + v[-1]
        v = np.append(Z.T @ Mv, Mv.sum()) / n
        estimate = float(np.linalg.norm(v))
    return estimate


def step_size(plan: FitPlan, eigenvalue: float, penalty_gain: float = 1.0) -> float:
    """The default starting learning rate: ``min(default, 1 / L)`` with the Lipschitz
    constant of the objective's gradient in the optimizer's coordinates,

        L = curvature(loss) * lambda_max + 2 alpha_2 * penalty_gain,

    ``alpha_2`` the L2 part of the penalty and ``penalty_gain`` its largest scale in those
    coordinates (``max 1 / sigma^2`` when standardized). ``1 / L`` is half the step at which
    gradient descent on a quadratic of that curvature diverges, the rule scikit-learn's SAG
    solver uses. Momentum's steady-state step is ``lr / (1 - mu)``, and with mini-batches it
    is that step that must stay below the limit (a full-batch heavy ball would take
    ``2 (1 + mu) / L``, but batch noise is amplified by the same ``1 / (1 - mu)``: on
    digits, squared error diverged at ``lr / (1 - mu) = 3.7 / L`` and learned at ``1.9 / L``),
    so momentum and Nesterov start at ``(1 - mu) * 2 / L``.

    Args:
        plan: The plan (loss, penalty, optimizer).
        eigenvalue: :func:`top_eigenvalue` of the training features.
        penalty_gain: The penalty's scale in the optimizer's coordinates.
    """
    objective = plan.objective
    ratio = {"l2": 1.0, "elasticnet": 1.0 - float(objective["l1_ratio"])}.get(
        objective["penalty"], 0.0)
    lipschitz = (LOSS_CURVATURE[objective["loss"]] * eigenvalue
                 + 2.0 * float(objective["alpha"]) * ratio * penalty_gain)
    default = optimizer_record(plan.optimizer).learning_rate
    assert default is not None, "step_size is for optimizers that take a learning rate"
    if lipschitz <= 0:
        return default
    mu = plan.optimizer_kwargs.get("momentum")
    safe = 1.0 / lipschitz if mu is None else (1.0 - float(mu)) * 2.0 / lipschitz
    return min(default, safe)


__all__ = ["MINIBATCH_DTYPE", "REGRESSION_LOSS", "TASKS", "FitPlan", "check",
           "compute_dtype", "epochs",
           "make_plan", "step_size", "top_eigenvalue"]
