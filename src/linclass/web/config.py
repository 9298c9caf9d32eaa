"""The playground's controls, derived from the records of :mod:`linclass.options`.

A view's controls are a plain dict ``{field: value}`` holding every field the view offers
(its loss, penalty, optimizer and all their parameters), so switching optimizer keeps the
other optimizer's settings. A change is validated *whole* by :func:`updated` before
anything is applied: a request with one bad field changes nothing.

The names, types and ranges are the records'; a view only narrows them (the losses whose
explanation the image view can show, the largest batch it draws).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from linclass.options import PARAMS, choice, names, optimizer_record, to_json

#: The losses with a margin, and the derivative-free optimizers (from the records' tags).
MARGIN_LOSSES = names("loss", "margin")
SEARCH_OPTIMIZERS = frozenset(names("optimizer", "search"))
#: The optimizers the playground steps: every ``(init, update)`` pair of the records, not
#: the solvers (``lbfgs``), which run whole fits (:meth:`linclass.training.runner.Runner.solve`).
STEPPED_OPTIMIZERS = tuple(n for n in names("optimizer")
                           if not choice("optimizer", n).has("solver"))

#: The optimizers' own parameters the playground offers (schedules are the CLI's: a
#: playground run has no fixed length to anneal over).
OPTIMIZER_FIELDS = tuple(dict.fromkeys(
    p for n in STEPPED_OPTIMIZERS for p in choice("optimizer", n).params if p != "schedule"))

#: Every control field, in the order the page shows them.
FIELDS = ("loss", "margin", "penalty", "alpha", "l1_ratio", "optimizer", *OPTIMIZER_FIELDS)


@dataclass(frozen=True)
class ViewControls:
    """What one view offers.

    Attributes:
        losses: Loss names offered (a subset of the records').
        optimizers: Optimizer names offered.
        defaults: This view's starting values where they differ from the records'.
        max_batch: Largest ``batch_size`` accepted.
    """

    losses: tuple[str, ...]
    optimizers: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    max_batch: int = 1024

    def initial(self) -> dict[str, Any]:
        """Every field at its starting value (view default, else the record's)."""
        out = {name: PARAMS[name].default for name in FIELDS}
        out.update(self.defaults)
        return updated(self, out, {})

    def to_json(self) -> dict[str, Any]:
        """The view's menus, defaults and limits for ``/api/options``."""
        return {"losses": list(self.losses), "optimizers": list(self.optimizers),
                "fields": list(FIELDS), "defaults": self.initial(),
                "max_batch": self.max_batch}


def check_field(view: ViewControls, name: str, value: Any) -> Any:
    """One field's value, checked against its record and the view; ValueError otherwise.

    The message names the field: ``"learning_rate must be > 0, got 0"``.
    """
    if name not in FIELDS:
        raise ValueError(f"unknown setting {name!r}; allowed: {list(FIELDS)}")
    record = PARAMS[name]
    offered = {"loss": view.losses, "optimizer": view.optimizers}.get(name, record.choices)
    if record.type is str:
        if not isinstance(value, str) or value not in (offered or ()):
            raise ValueError(f"unknown {name} {json.dumps(value)[:40]}; "
                             f"choose one of {list(offered or ())}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {json.dumps(value)[:40]}")
    if isinstance(value, int) and not -1e308 < value < 1e308:  # exact: float() overflows
        raise ValueError(f"{name} must be a finite number, got {len(str(abs(value)))} digits")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if record.type is int and float(value) != int(value):
        raise ValueError(f"{name} must be an integer, got {value}")
    record.check(value)
    if name == "batch_size" and value > view.max_batch:
        raise ValueError(f"batch_size must be at most {view.max_batch} here, got {value}")
    return int(value) if record.type is int else float(value)


def updated(view: ViewControls, current: Mapping[str, Any],
            changes: Mapping[str, Any]) -> dict[str, Any]:
    """The controls with ``changes`` applied, every change and their combination checked
    (the rules of every optimizer the view offers, :meth:`~linclass.options.
    OptimizerChoice.check_rules`, since the controls keep each one's settings).

    Raises:
        ValueError: On any bad field; ``current`` is never modified.
    """
    out = dict(current)
    for name, value in changes.items():
        out[name] = check_field(view, name, value)
    for name in view.optimizers:  # the controls hold every offered optimizer's fields
        optimizer_record(name).check_rules(out)
    return out


def loss_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`linclass.objective.value_and_grad` beyond loss, penalty
    and alpha: the margin where the loss has one, the mix where the penalty has one."""
    out: dict[str, Any] = {}
    if config["loss"] in MARGIN_LOSSES:
        out["margin"] = config["margin"]
    if "l1_ratio" in choice("penalty", config["penalty"]).params:
        out["l1_ratio"] = config["l1_ratio"]
    return out


def options_json(views: Mapping[str, ViewControls]) -> dict[str, Any]:
    """The records (:func:`linclass.options.to_json`) plus what the page needs of each view."""
    return {**to_json(), "views": {k: v.to_json() for k, v in views.items()},
            "ranges": {name: PARAMS[name].range_text() for name in FIELDS},
            "margin_losses": list(MARGIN_LOSSES),
            "search_optimizers": sorted(SEARCH_OPTIMIZERS)}
