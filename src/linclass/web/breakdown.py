"""The numbers behind a loss value: data loss and regularization loss apart, and each
point's scores, margins and loss (the CS231n demo's table).

Everything comes from the library: the data loss from :data:`linclass.losses.LOSSES`, the
penalty from :func:`linclass.regularizers.get_penalty`, the objective from
:func:`linclass.objective.objective_value`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from linclass.losses import LOSSES
from linclass.losses.records import SVM
from linclass.model import Params
from linclass.regularizers import get_penalty
from linclass.web.config import MARGIN_LOSSES, loss_kwargs


def _data_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in loss_kwargs(config).items() if k != "l1_ratio"}


def regularization_loss(params: Params, config: Mapping[str, Any]) -> float:
    """``alpha R(W)``, the penalty part of the objective (the bias is never penalized)."""
    penalty = get_penalty(config["penalty"], l1_ratio=config["l1_ratio"])
    return float(penalty(params["W"], config["alpha"])[0])


def point_losses(S: np.ndarray, y: np.ndarray, config: Mapping[str, Any]) -> list[float]:
    """``L_i`` of each row alone: the library's loss over a batch of one."""
    loss_fn, kwargs = LOSSES[config["loss"]], _data_kwargs(config)
    return [float(loss_fn(S[i:i + 1], y[i:i + 1], **kwargs)[0]) for i in range(len(S))]


def point_margins(
    S: np.ndarray, y: np.ndarray, config: Mapping[str, Any]
) -> list[list[float]] | None:
    """``s_j - s_y + margin`` per point and class (0 at the correct class) for the multiclass
    SVM, whose loss sums their positive parts; None for other losses."""
    if config["loss"] != SVM.name or not len(S):
        return None
    M = S - S[np.arange(len(S)), y][:, None] + config["margin"]
    M[np.arange(len(S)), y] = 0.0
    return M.tolist()


def loss_parts(params: Params, S: np.ndarray, y: np.ndarray,
               config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"data_loss", "reg_loss", "point_losses", "margins"}`` for the page."""
    data = (float(LOSSES[config["loss"]](S, y, **_data_kwargs(config))[0]) if len(S)
            else None)
    return {"data_loss": data,
            "reg_loss": regularization_loss(params, config),
            "point_losses": point_losses(S, y, config), "margins": point_margins(S, y, config),
            "has_margin": config["loss"] in MARGIN_LOSSES}
