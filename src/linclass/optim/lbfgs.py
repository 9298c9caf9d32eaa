"""Full-batch L-BFGS: SciPy's ``L-BFGS-B`` over the parameters ``{"W", "b"}``.

Beyond the lecture. Gradient descent steps along ``-g`` with a hand-picked rate; L-BFGS
keeps the last ``m`` pairs ``(s_k, y_k) = (x_{k+1} - x_k, g_{k+1} - g_k)`` and applies an
approximation of the inverse Hessian to ``g`` (the two-loop recursion), with a line search
choosing the step. It needs no learning rate and converges in tens to hundreds of
full-set passes on a smooth convex objective (softmax or logistic loss with an L2 or no
penalty), which is why linear-probe evaluations use it. On non-smooth objectives (hinge
losses, L1) it is a heuristic: its line search may stop early.

The optimizer state (``x``, the ``(s, y)`` pairs) is float64 whatever the data; the
objective is evaluated by the caller, in the data's precision (float32 features give
float32 products), and its gradient is cast to float64 for SciPy.

The tolerance stop is scikit-learn's ``LogisticRegression(solver="lbfgs")``'s: stop when
``max_i |proj g_i| <= tol`` (``gtol``), or when the relative decrease of ``J`` is below
``64 * machine epsilon`` (``ftol``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.optimize import OptimizeResult, minimize

from linclass.model import Params

#: ``fun(params) -> (J, grads)`` on the whole training set.
FullObjectiveFn = Callable[[Params], tuple[float, Params]]
#: ``callback(iteration, J, params) -> stop?`` after each L-BFGS iteration (1-based).
IterationCallback = Callable[[int, float, Params], bool]

#: SciPy's ``ftol`` as scikit-learn sets it: a relative decrease below this stops.
FTOL = 64 * np.finfo(float).eps
#: Most objective evaluations per iteration before SciPy gives up (line search included).
EVALS_PER_ITERATION = 20


class LbfgsResult(NamedTuple):
    """What :func:`minimize_lbfgs` returns.

    Attributes:
        params: The final ``{"W", "b"}``, in the dtype of the starting params.
        n_iter: L-BFGS iterations run.
        n_evals: Objective evaluations (each a full pass over the data).
        converged: True when a tolerance stopped it (not the iteration budget or a
            callback).
        stopped_by_callback: True when the callback asked to stop.
        scipy: SciPy's ``OptimizeResult`` (``message``, ``status``, ``jac``, ...).
    """

    params: Params
    n_iter: int
    n_evals: int
    converged: bool
    stopped_by_callback: bool
    scipy: OptimizeResult


def _layout(params: Params) -> list[tuple[str, tuple[int, ...], int]]:
    """``(name, shape, size)`` of each array, in the order they are flattened."""
    return [(k, params[k].shape, params[k].size) for k in sorted(params)]


def flatten(params: Params, layout: list[tuple[str, tuple[int, ...], int]]) -> np.ndarray:
    """All arrays as one float64 vector (``W`` row-major, then ``b``)."""
    return np.concatenate([np.asarray(params[k], np.float64).ravel() for k, _, _ in layout])


def unflatten(x: np.ndarray, layout: list[tuple[str, tuple[int, ...], int]],
              dtype: np.dtype) -> Params:
    """Inverse of :func:`flatten`, cast to ``dtype``."""
    out, start = {}, 0
    for name, shape, size in layout:
        out[name] = x[start : start + size].reshape(shape).astype(dtype, copy=True)
        start += size
    return out


def minimize_lbfgs(
    fun: FullObjectiveFn,
    params: Params,
    *,
    max_iter: int,
    tol: float | None,
    memory: int = 10,
    callback: IterationCallback | None = None,
) -> LbfgsResult:
    """Minimize ``J(params)`` with L-BFGS from ``params``.

    Args:
        fun: ``fun(params) -> (J, {"W": dJ/dW, "b": dJ/db})`` on the whole training set;
            params arrive in the dtype of the starting ``params``.
        params: Starting ``{"W": (n_classes, n_features), "b": (n_classes,)}`` (not
            modified).
        max_iter: Most iterations (SciPy's ``maxiter``), >= 1.
        tol: Stop when ``max_i |g_i| <= tol``; None: only the iteration budget, the
            callback or SciPy's line search (when no decrease is left) stop it.
        memory: Correction pairs kept (SciPy's ``maxcor``).
        callback: ``callback(iteration, J, params)`` after each iteration; True stops.

    Returns:
        An :class:`LbfgsResult`.

    Raises:
        ValueError: ``max_iter`` < 1 or a negative ``tol``.
    """
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if tol is not None and not tol >= 0:
        raise ValueError(f"tol must be >= 0 or None, got {tol}")
    layout = _layout(params)
    dtype = np.result_type(*(v.dtype for v in params.values()))
    n_evals = 0

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal n_evals
        n_evals += 1
        value, grads = fun(unflatten(x, layout, dtype))
        return float(value), flatten(grads, layout)

    stopped = False
    iteration = 0

    def each_iteration(intermediate_result: OptimizeResult) -> None:
        nonlocal iteration, stopped
        iteration += 1
        if callback is not None and callback(iteration, float(intermediate_result.fun),
                                             unflatten(intermediate_result.x, layout, dtype)):
            stopped = True
            raise StopIteration

    res = minimize(
        objective, flatten(params, layout), jac=True, method="L-BFGS-B",
        callback=each_iteration,
        options=dict(maxiter=int(max_iter), maxfun=EVALS_PER_ITERATION * int(max_iter),
                     gtol=0.0 if tol is None else float(tol),
                     ftol=0.0 if tol is None else FTOL, maxcor=int(memory)),
    )
    converged = not stopped and res.status == 0 and tol is not None
    return LbfgsResult(unflatten(res.x, layout, dtype), int(res.nit), n_evals, converged,
                       stopped, res)


class Lbfgs(NamedTuple):
    """L-BFGS as an optimizer object the fit loop's runner drives
    (:class:`linclass.training.runner.Solver`): it runs its own iterations.

    Attributes:
        memory: Correction pairs kept (SciPy's ``maxcor``).
    """

    memory: int = 10

    def minimize(self, fun: FullObjectiveFn, params: Params, *, max_iter: int,
                 tol: float | None, callback: IterationCallback | None = None) -> LbfgsResult:
        """:func:`minimize_lbfgs` with this memory."""
        return minimize_lbfgs(fun, params, max_iter=max_iter, tol=tol, memory=self.memory,
                              callback=callback)
