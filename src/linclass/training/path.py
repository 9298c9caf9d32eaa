"""A regularization path: one full-batch L-BFGS fit per penalty strength, warm-started.

A sweep over ``alpha`` is K fits of neighbouring objectives

    J_k(W, b) = 1/N sum_i L_i(W x_i + b, y_i) + alpha_k R(W),      k = 1..K.

Their minimizers move continuously with ``alpha``, so the minimizer of ``J_k`` is a far
better start for ``J_{k+1}`` than a fresh small random W. As glmnet and scikit-learn's
``lasso_path`` / ``_logistic_regression_path`` do, :func:`regularization_path` fits the
strengths from the strongest to the weakest (a strong penalty is quick to solve from
anywhere and its minimizer is near 0, where the init is), each starting from the previous
minimizer, and returns them in the caller's order.

Every point is one ordinary :func:`linclass.training.fit` with ``optimizer="lbfgs"``: the
same objective, solver, tolerance, divergence rule and coordinates as a single fit, so a
path point is the fit you would get at that ``alpha``, reached in fewer iterations. Only
the final history row is measured at each point (a path has no use for a per-iteration
loss-and-accuracy pass, which costs as much as an iteration).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from linclass.grad import make_value_and_grad
from linclass.model import Params, init_params
from linclass.objective import objective_value
from linclass.options import names
from linclass.training.history import History
from linclass.training.loop import fit
from linclass.training.reparam import Reparam

#: The solver every path point runs: the records' full-batch solver (L-BFGS), which
#: accepts any starting point.
SOLVER = names("optimizer", "solver")[0]

#: Coordinates of each point: one :class:`Reparam` for all, one per ``alpha`` (a function
#: of it), or None (the model's own).
Coordinates = Reparam | Callable[[float], Reparam | None] | None


@dataclass(frozen=True)
class PathResult:
    """The fits of a regularization path, in the order the caller gave the strengths.

    Attributes:
        alphas: ndarray of shape (K,), the strengths as given.
        params: K dicts ``{"W": (n_outputs, n_features), "b": (n_outputs,)}``, the model at
            each strength (in the model's coordinates).
        objectives: ndarray of shape (K,), the regularized objective ``J_k`` of each model
            on the training set (as the fit's history measures it).
        n_iter: ndarray of shape (K,), L-BFGS iterations of each point.
        converged: ndarray of shape (K,), bool: SciPy reported a tolerance met (not the
            iteration budget, nor a line search that found no decrease, as happens at the
            kinks of a hinge loss or an L1 penalty).
        histories: K training :class:`~linclass.training.history.History` (one row each).
    """

    alphas: np.ndarray
    params: list[Params]
    objectives: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    histories: list[History]

    @property
    def total_iter(self) -> int:
        """L-BFGS iterations of the whole path."""
        return int(np.sum(self.n_iter))


def check_alphas(alphas: Any) -> np.ndarray:
    """The strengths as a float64 vector.

    Raises:
        ValueError: Naming ``alphas``: not a non-empty 1-D sequence of finite numbers >= 0.
    """
    try:
        values = np.asarray(alphas, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"alphas must be a 1-D sequence of numbers, got {alphas!r}") from None
    if values.ndim != 1:
        raise ValueError(f"alphas must be 1-D, got shape {values.shape}")
    if values.size == 0:
        raise ValueError("alphas must hold at least one strength, got none")
    if not np.isfinite(values).all():
        raise ValueError(f"alphas must be finite, got {values.tolist()}")
    if (values < 0).any():
        raise ValueError(f"alphas must be >= 0, got {values.tolist()}")
    return values


def strongest_first(alphas: np.ndarray) -> np.ndarray:
    """Indices that put ``alphas`` from the strongest to the weakest (ties keep their
    order), the order a warm-started path runs in."""
    return np.argsort(-alphas, kind="stable")


def regularization_path(
    X: np.ndarray,
    y: np.ndarray,
    alphas: Any,
    *,
    loss: str,
    penalty: str = "l2",
    l1_ratio: float = 0.5,
    margin: float | None = None,
    n_outputs: int | None = None,
    gradient: str = "analytic",
    gradient_kwargs: dict[str, Any] | None = None,
    max_epochs: int = 1000,
    tol: float | None = 1e-4,
    memory: int = 10,
    reparam: Coordinates = None,
    start: Params | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> PathResult:
    """Fit ``alphas`` from the strongest to the weakest with L-BFGS, each point started at
    the previous point's minimizer (module docstring).

    Args:
        X: ndarray of shape (n_samples, n_features), in memory (float32 trains float32).
        y: ndarray of shape (n_samples,): labels in ``[0, n_outputs)``, or real targets
            for the squared error of a regressor.
        alphas: array-like of shape (K,), strengths >= 0, in any order (duplicates allowed).
        loss: A loss name (:data:`linclass.losses.RECORDS`).
        penalty: ``"l2"``, ``"l1"`` or ``"elasticnet"`` (``"none"`` has no strength to vary).
        l1_ratio: Elastic-net mix.
        margin: Hinge margin (hinge losses only; None: the loss's default).
        n_outputs: Rows of W; None: ``max(y) + 1`` for integer labels, 1 for real targets.
        gradient: ``"analytic"``, ``"autodiff"`` or ``"numerical"``.
        gradient_kwargs: ``h`` and ``fd_method`` of a numerical gradient.
        max_epochs: Most L-BFGS iterations per point.
        tol: L-BFGS's gradient tolerance ``max |g| <= tol`` per point (in the coordinates
            it trains in); None: only ``max_epochs`` or the line search stop it.
        memory: L-BFGS correction pairs (SciPy's ``maxcor``).
        reparam: The coordinates each point trains in (:mod:`linclass.training.reparam`):
            one map, a function ``alpha -> map`` (the fit plan's depend on ``alpha``), or
            None. The objective is the model's whatever they are.
        start: The first point's starting ``{"W", "b"}`` in the model's coordinates; None:
            :func:`linclass.model.init_params` drawn from ``random_state`` in the trained
            coordinates, as a single fit starts.
        random_state: Seed or generator of that initialization.

    Returns:
        A :class:`PathResult`, in the order of ``alphas``.

    Raises:
        ValueError: Bad ``alphas`` (named), or ``penalty="none"``.
        TrainingDivergedError: A point whose loss became non-finite.
    """
    values = check_alphas(alphas)
    if penalty in (None, "none"):
        raise ValueError("penalty='none' has no strength to vary: a path needs 'l2', 'l1' "
                         "or 'elasticnet'")
    X, y = np.asarray(X), np.asarray(y)
    if X.dtype.kind != "f":  # integer pixels: the objective's kernels take floats
        X = X.astype(np.float64)
    if n_outputs is None:
        n_outputs = int(y.max()) + 1 if np.issubdtype(y.dtype, np.integer) and y.size else 1
    coordinates = reparam if callable(reparam) else (lambda _alpha: reparam)
    dtype = X.dtype if X.dtype == np.float32 else np.dtype(np.float64)
    loss_kwargs = {} if margin is None else {"margin": float(margin)}
    model: Params | None = start
    fits: dict[int, tuple[Params, float, int, bool, History]] = {}
    for k in strongest_first(values):
        alpha = float(values[k])
        objective: dict[str, Any] = dict(loss=loss, penalty=penalty, alpha=alpha,
                                         l1_ratio=l1_ratio, **loss_kwargs)
        rp = coordinates(alpha)
        rp = None if rp is None else rp.astype(dtype)
        if model is None:  # the first point: a single fit's own start
            theta = init_params(X.shape[1], n_outputs, random_state=random_state, dtype=dtype)
        else:
            theta = model if rp is None else rp.to_theta(model)
        result = fit(theta, X, y,
                     value_and_grad=make_value_and_grad(gradient, **objective,
                                                        **(gradient_kwargs or {})),
                     value=functools.partial(objective_value, **objective),
                     optimizer=SOLVER, optimizer_kwargs={"memory": int(memory)},
                     batch_size=None, max_epochs=max_epochs, tol=tol,
                     eval_every=max_epochs, progress=False, reparam=rp)
        model = result.params if rp is None else rp.to_model(result.params)
        scipy = result.state  # the solver's OptimizeResult
        converged = result.stopped_reason == "converged" and int(scipy.status) == 0
        objective_k = result.history.train_loss[-1]
        fits[int(k)] = (model, float(objective_k), int(result.n_iter), converged,
                        result.history)
    order = range(values.size)
    return PathResult(
        alphas=values, params=[fits[k][0] for k in order],
        objectives=np.array([fits[k][1] for k in order]),
        n_iter=np.array([fits[k][2] for k in order], dtype=np.int64),
        converged=np.array([fits[k][3] for k in order], dtype=bool),
        histories=[fits[k][4] for k in order])


__all__ = ["SOLVER", "Coordinates", "PathResult", "check_alphas", "regularization_path",
           "strongest_first"]
