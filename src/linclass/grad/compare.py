"""The three ways to compute a gradient, side by side: error between each pair, and cost.

The lecture's trade-off, measured: numerical differentiation is approximate (``O(h^2)``
truncation plus rounding) and slow (two objective evaluations per parameter); the analytic
gradient is exact and fast but derived by hand, so it can be wrong; autodiff is exact and
automatic. Analytic and autodiff are independent derivations, so they should agree to
rounding (~1e-12); either against numerical agrees only to ~1e-7.

The check point is random, but chosen where finite differences are valid: no kink that
a loss's record lists (:attr:`linclass.losses.records.Loss.kinks`: the SVM and one-vs-all
hinges, ...) and no weight (the ``|W|`` of L1) lies within reach of a step ``h`` of it,
where the one-sided slopes differ and the centered difference lands between them. A drawn
point that fails this is redrawn from the next seed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from linclass.grad import make_value_and_grad, max_relative_error, numerical_gradient, sample_coords
from linclass.grad.check import TINY
from linclass.losses import DEFAULT_LOSS, RECORDS, get_record
from linclass.model import Params
from linclass.objective import objective_value

PAIRS: tuple[tuple[str, str], ...] = (
    ("analytic", "numerical"),
    ("analytic", "autodiff"),
    ("numerical", "autodiff"),
)

# Relative error needs a floor under its denominator: an entry that is exactly 0 (terms
# that cancel, e.g. +-1/N hinge weights on quantized pixels) against a centered difference's
# rounding noise eps |J| / h ~ 1e-10 would read as error 1. Entries are compared relative to
# themselves or to this fraction of the gradient's largest entry, whichever is larger, so a
# real mistake in a small entry still shows (1e-6 off in an entry 1e-5 reads as 1e-2).
SCALE_FLOOR = 1e-3

# Exact vs exact: rounding only (measured ~1e-14). Either vs numerical: truncation ~h^2 and
# rounding ~eps |J| / h (measured ~1e-7 on digits); the lecture's "< 1e-7 happy, 1e-4 okay
# at kinks". A wrong derivative typically shows as 1e-2 or more.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "analytic-numerical": 1e-5,
    "analytic-autodiff": 1e-9,
    "numerical-autodiff": 1e-5,
}



# Signed distance of every kink from 0, for the losses whose records list kinks.
_HINGES: dict[str, Callable[..., np.ndarray]] = {
    n: r.kinks for n, r in RECORDS.items() if r.kinks is not None}


@dataclass(frozen=True)
class GradcheckReport:
    """What :func:`compare_gradients` found.

    Attributes:
        loss, penalty, alpha: The objective that was differentiated.
        n_examples: Rows of X used.
        n_params: Entries of W and b.
        n_probed: Coordinates the numerical method probed (all, or a sample per array).
        seed: The seed of the check point actually used (after redraws near kinks).
        seconds: Seconds per full gradient for each method.
        numerical_extrapolated: True when the numerical time was measured on ``n_probed``
            coordinates and scaled to all ``n_params``.
        errors: Max relative error ``|a - b| / max(|a|, |b|, SCALE_FLOOR * max|analytic|)``
            per pair ``"a-b"``; pairs with the numerical method cover the probed coordinates
            only. These decide ``passed``.
        thresholds: The largest error accepted per pair.
        plain_errors: The plain CS231n relative error ``|a - b| / max(|a|, |b|)`` per pair
            (0 where both are 0), for comparison: an entry that is exactly 0 analytically
            but carries a difference's rounding noise reads as 1 here (see
            :data:`SCALE_FLOOR`), so it is shown, not judged.
    """

    loss: str
    penalty: str
    alpha: float
    n_examples: int
    n_params: int
    n_probed: int
    seed: int
    seconds: dict[str, float]
    numerical_extrapolated: bool
    errors: dict[str, float]
    thresholds: dict[str, float]
    plain_errors: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when every pair's error is within its threshold."""
        return all(self.errors[k] <= self.thresholds[k] for k in self.errors)

    def rows(self) -> list[tuple[str, float, float, bool]]:
        """``(pair, max relative error, threshold, ok)`` per pair, for tables."""
        return [(k, e, self.thresholds[k], e <= self.thresholds[k]) for k, e in self.errors.items()]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, including ``passed``."""
        return {**asdict(self), "passed": self.passed}

    def to_table(self) -> str:
        """The report as fixed-width text."""
        lines = [
            f"gradcheck  loss={self.loss}  penalty={self.penalty}  alpha={self.alpha:g}  "
            f"N={self.n_examples}  params={self.n_params}  probed={self.n_probed}  "
            f"seed={self.seed}",
            f"{'pair':<20} {'max rel error':>14} {'threshold':>10}  ok  {'plain':>9}",
        ]
        for pair, err, limit, ok in self.rows():
            plain = self.plain_errors.get(pair, float("nan"))
            lines.append(f"{pair:<20} {err:>14.2e} {limit:>10.0e}  {'yes' if ok else 'NO ':<3}"
                         f" {plain:>9.2e}")
        lines.append(f"(max rel error: |a-b| / max(|a|, |b|, {SCALE_FLOOR:g} max|analytic|); "
                     "plain: |a-b| / max(|a|, |b|), which reads an exact 0 against rounding "
                     "noise as 1, hence the floor)")
        lines.append(f"{'method':<20} {'s / gradient':>14}")
        for method, s in self.seconds.items():
            extrapolated = method == "numerical" and self.numerical_extrapolated
            note = "  (extrapolated)" if extrapolated else ""
            lines.append(f"{method:<20} {s:>14.3e}{note}")
        lines.append("PASSED" if self.passed else "FAILED")
        return "\n".join(lines)


def check_point(
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    loss: str,
    penalty: str | None,
    random_state: int,
    h: float = 1e-5,
    max_tries: int = 50,
    **loss_kwargs: Any,
) -> tuple[Params, int]:
    """Random float64 params where a centered difference of step ``h`` crosses no kink.

    W has random signs and magnitudes in ``[0.5, 1.5] * scale`` with ``scale`` chosen so
    that scores have spread about 1: hinges then fall on both sides of their kinks (both
    branches get checked), and no weight sits near 0 (the kink of ``|W|``).

    Args:
        X: ndarray of shape (n_samples, n_features), float64.
        y: ndarray of shape (n_samples,).
        n_classes: Rows of W.
        loss, penalty: The objective (only hinge losses and L1 penalties have kinks).
        random_state: First seed tried; the next ones are tried on a kink.
        h: The finite-difference step the point must tolerate.
        max_tries: Seeds to try before giving up.
        **loss_kwargs: E.g. ``margin``.

    Returns:
        ``(params, seed)``.

    Raises:
        RuntimeError: If every seed tried puts some hinge within reach of its kink.
    """
    # One step moves a score by at most h * max|x| (a weight) or h (a bias); keep 10x that.
    gap = 10 * h * max(1.0, float(np.abs(X).max(initial=0.0)))
    scale = 1.0 / np.sqrt(max(float(np.mean(np.sum(X**2, axis=1))), 1e-12))
    for seed in range(random_state, random_state + max_tries):
        rng = np.random.default_rng(seed)
        shape = (n_classes, X.shape[1])
        W = scale * rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
        params = {"W": W, "b": 0.1 * rng.standard_normal(n_classes)}
        kinks = get_record(loss).kinks  # where the loss's record says its kinks are
        hinges = None if kinks is None else kinks(X @ W.T + params["b"], y, **loss_kwargs)
        if hinges is not None and np.abs(hinges).min(initial=np.inf) <= gap:
            continue
        if penalty in ("l1", "elasticnet") and np.abs(W).min() <= 10 * h:
            continue
        return params, seed
    raise RuntimeError(f"no kink-free check point for loss={loss!r} in {max_tries} seeds")


def _seconds_per_call(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def compare_gradients(
    X: np.ndarray,
    y: np.ndarray,
    *,
    loss: str = DEFAULT_LOSS,
    penalty: str | None = "l2",
    alpha: float = 0.0,
    l1_ratio: float = 0.5,
    random_state: int = 0,
    n_samples: int | None = None,
    h: float = 1e-5,
    thresholds: Mapping[str, float] | None = None,
    n_classes: int | None = None,
    repeats: int = 5,
    **loss_kwargs: Any,
) -> GradcheckReport:
    """Compute the gradient three ways at one random point; compare them and time them.

    Analytic and autodiff come from :func:`linclass.grad.make_value_and_grad`. Numerical is
    the centered difference of the same :func:`linclass.objective.objective_value` that
    ``make_value_and_grad("numerical")`` uses, restricted to sampled coordinates when
    ``n_samples`` is given (all 7,850 entries of a 784 x 10 model take seconds).

    Args:
        X: ndarray of shape (n_samples, n_features); cast to float64.
        y: ndarray of shape (n_samples,), integer labels.
        loss, penalty, alpha, l1_ratio: The objective.
        random_state: Seed of the check point and of the coordinate sample.
        n_samples: Coordinates per parameter array for the numerical method; all if None.
        h: Finite-difference step.
        thresholds: Overrides of :data:`DEFAULT_THRESHOLDS`, by pair name.
        n_classes: Rows of W; ``max(y) + 1`` if None.
        repeats: Timed calls of analytic and autodiff (the median is reported).
        **loss_kwargs: Passed to the loss, e.g. ``margin``.

    Returns:
        A :class:`GradcheckReport`; ``report.passed`` says whether all pairs agree.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    unknown = set(limits) - set(DEFAULT_THRESHOLDS)
    if unknown:
        raise ValueError(
            f"unknown threshold pairs {sorted(unknown)}; use {sorted(DEFAULT_THRESHOLDS)}"
        )
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    params, seed = check_point(
        X, y, n_classes, loss=loss, penalty=penalty, random_state=random_state, h=h, **loss_kwargs
    )
    objective = dict(loss=loss, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, **loss_kwargs)

    grads: dict[str, Params] = {}
    seconds: dict[str, float] = {}
    for method in ("analytic", "autodiff"):
        vg = make_value_and_grad(method, **objective)
        grads[method] = vg(params, X, y)[1]
        seconds[method] = _seconds_per_call(functools.partial(vg, params, X, y), repeats)

    coords = sample_coords(params, n_samples, random_state)
    n_probed = sum(len(c) for c in coords.values())
    n_params = sum(p.size for p in params.values())
    f = functools.partial(objective_value, X=X, y=y, **objective)
    t0 = time.perf_counter()
    grads["numerical"] = numerical_gradient(f, params, h=h, coords=coords)
    seconds["numerical"] = (time.perf_counter() - t0) * n_params / n_probed

    largest = max(float(np.abs(g).max(initial=0.0)) for g in grads["analytic"].values())
    tiny = max(SCALE_FLOOR * largest, TINY)
    errors = {f"{a}-{b}": max_relative_error(grads[a], grads[b], tiny) for a, b in PAIRS}
    plain = {f"{a}-{b}": max_relative_error(grads[a], grads[b], TINY) for a, b in PAIRS}
    return GradcheckReport(
        loss=loss,
        penalty=str(penalty),
        alpha=float(alpha),
        n_examples=X.shape[0],
        n_params=n_params,
        n_probed=n_probed,
        seed=seed,
        seconds={m: seconds[m] for m in ("analytic", "numerical", "autodiff")},
        numerical_extrapolated=n_probed < n_params,
        errors=errors,
        thresholds={k: limits[k] for k in errors},
        plain_errors=plain,
    )

