"""The estimators' view of :mod:`linclass.options`: scikit-learn parameter constraints,
the tag sets they ask about, and the convergence warning.

Derived from the records, never written out again, so ``LinearClassifier``'s checks, the
CLI's options and the playground's menus cannot drift apart.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from linclass.options import OPTIMIZER_PARAMS, PARAMS, Param, names

#: The parameters of :class:`~linclass.estimators.classifier.LinearClassifier`, in signature order.
#: The optimizers' own parameters are every optimizer record's, in the records' order.
ESTIMATOR_PARAMS = (
    "loss", "penalty", "alpha", "l1_ratio", "margin", "optimizer", "gradient",
    "numerical_method", "numerical_h", *OPTIMIZER_PARAMS, "max_epochs", "tol", "patience",
    "early_stopping", "validation_fraction", "scaling", "backend", "device", "dtype",
    "class_weight", "warm_start", "random_state", "verbose",
)

SEARCH_OPTIMIZERS = frozenset(names("optimizer", "search"))
FULL_BATCH = frozenset(names("optimizer", "full_batch"))
MARGIN_LOSSES = names("loss", "margin")



def _constraint(p: Param) -> list[Any]:
    """scikit-learn's constraint list for one record."""
    if p.type is str:
        out: list[Any] = [StrOptions(set(p.choices)) if p.choices else str]
    elif p.type is bool:
        out = ["boolean"]
    else:
        closed = {(False, False): "both", (True, False): "right", (False, True): "left",
                  (True, True): "neither"}[(p.low_open, p.high_open)]
        kind = Integral if p.type is int else Real
        out = [Interval(kind, p.low, p.high, closed=closed)]
        if p.name == "random_state":
            out.append("random_state")
    if p.none_ok or p.owned:
        out.append(None)
    return out


def constraints(params: Iterable[str]) -> dict[str, list[Any]]:
    """``_parameter_constraints`` for the named records."""
    return {name: _constraint(PARAMS[name]) for name in params}


def warn_if_still_improving(estimator: Any, train_loss: Sequence[float], tol: float) -> None:
    """Warn (``ConvergenceWarning``, as scikit-learn does) when a run ended on its epoch
    budget while its training loss was still falling: its last epoch improved on the best
    before it by more than ``tol``, the same test the tolerance stop makes."""
    losses = [v for v in train_loss if math.isfinite(v)]
    if len(losses) < 2 or min(losses[:-1]) - losses[-1] <= tol:
        return
    name = type(estimator).__name__
    warnings.warn(
        f"{name} stopped after its budget of {len(train_loss)} epochs while the training "
        f"loss was still falling by more than tol={tol:g} per epoch; raise max_epochs (or "
        "the learning rate), or set tol=None to run the budget without this check.",
        ConvergenceWarning, stacklevel=3)
