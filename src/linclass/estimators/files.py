"""Estimators to and from model files: the codec the estimators share, beside
:mod:`linclass.io.persist` (which writes and verifies the file itself).

A fitted estimator is saved as its ``W`` and ``b``, its name, its ``get_params()`` and its
fitted scalars; labels are stored as JSON with their kind (:func:`encode_classes`), so that
strings, negative ints, floats and booleans round-trip exactly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from linclass.io.persist import ModelFileError, load_model, save_model

E = TypeVar("E")


def encode_classes(classes: np.ndarray) -> dict[str, Any]:
    """Labels as JSON: their values and their kind, so that they round-trip exactly."""
    kind = classes.dtype.kind
    if kind in "iu":
        return {"kind": "int", "values": [int(c) for c in classes]}
    if kind == "b":
        return {"kind": "bool", "values": [bool(c) for c in classes]}
    if kind == "f":
        return {"kind": "float", "values": [float(c) for c in classes]}
    if kind in "UO" and all(isinstance(c, str) for c in classes):
        return {"kind": "str", "object": kind == "O", "values": [str(c) for c in classes]}
    raise ValueError(f"cannot store labels of dtype {classes.dtype} in a model file")


def decode_classes(spec: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_classes`."""
    kind, values = spec["kind"], spec["values"]
    if kind == "str":
        return np.array(values, dtype=object if spec.get("object") else str)
    dtype = {"int": np.int64, "bool": bool, "float": np.float64}[kind]
    return np.array(values, dtype=dtype)


#: The marker of a ``class_weight`` dict in a model file (its labels keep their kind).
_CLASS_WEIGHT = "class_weight"


def _encode_hyperparameters(values: dict[str, Any]) -> dict[str, Any]:
    """``get_params()`` as JSON: a ``class_weight`` dict (labels of any kind as keys) as
    its labels (:func:`encode_classes`) and weights."""
    weights = values.get("class_weight")
    if not isinstance(weights, dict):
        return values
    labels = list(weights)
    # one JSON string: a model file's hyperparameters are single values
    return {**values, "class_weight": json.dumps({
        "kind": _CLASS_WEIGHT, "labels": encode_classes(np.array(labels)),
        "weights": [float(weights[k]) for k in labels]})}


def _decode_hyperparameters(values: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`_encode_hyperparameters`."""
    text = values.get("class_weight")
    if not (isinstance(text, str) and text.startswith("{")):
        return values
    weights = json.loads(text)
    if weights.get("kind") != _CLASS_WEIGHT:
        raise ValueError(f"hyperparameters.class_weight is not a class_weight: {text[:80]}")
    labels = decode_classes(weights["labels"]).tolist()
    return {**values, "class_weight": dict(zip(labels, weights["weights"], strict=True))}


def save_estimator(path: str | os.PathLike, estimator: Any, params: dict[str, np.ndarray],
                   fitted: dict[str, Any], *, arrays: dict[str, np.ndarray] | None = None,
                   force: bool = False) -> Path:
    """Write ``params`` with the estimator's name, ``get_params()`` and ``fitted`` fields
    (``n_features_in``, ``n_iter``, ``classes``, extra metadata) to a model file.

    Returns:
        The path written (atomically; never a pickle).
    """
    meta = {"estimator": type(estimator).__name__,
            "hyperparameters": _encode_hyperparameters(estimator.get_params()), **fitted}
    return save_model(path, params, meta, arrays=arrays, force=force)


def load_estimator(path: str | os.PathLike, cls: type[E], restore: Callable[[E, dict], None]
                   ) -> tuple[E, dict[str, np.ndarray], dict[str, Any], dict[str, np.ndarray]]:
    """Rebuild an estimator of class ``cls`` from :func:`save_estimator`'s file.

    Args:
        path: The model file (verified by :func:`linclass.io.persist.load_model`).
        cls: The estimator class the file must name.
        restore: ``restore(estimator, meta)`` sets the fitted attributes from the metadata
            (and checks them); a KeyError, TypeError or ValueError it raises becomes a
            :class:`ModelFileError` naming the file.

    Returns:
        ``(estimator, params, meta, arrays)``; the caller sets the params.
    """
    params, meta, arrays = load_model(path)
    if meta.get("estimator") != cls.__name__:
        raise ModelFileError(f"{path}: not a {cls.__name__} model file but "
                             f"{_what(meta)}")
    try:
        estimator = cls(**_decode_hyperparameters(meta["hyperparameters"]))
        restore(estimator, meta)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: bad metadata ({e})") from None
    return estimator, params, meta, arrays


def has_pipeline(meta: dict[str, Any]) -> bool:
    """Whether a model file's metadata holds a feature pipeline (an ImageClassifier's)."""
    section = meta.get("input")
    return isinstance(section, dict) and section.get("features") is not None


def _what(meta: dict[str, Any]) -> str:
    """What the file holds and the loader that rebuilds it, for the refusals."""
    name = meta.get("estimator")
    if name == "LinearClassifier" and has_pipeline(meta):
        return "an image classifier's: load it with ImageClassifier.load"
    if name in ("LinearClassifier", "LinearRegressor"):
        return f"a {name}'s: load it with {name}.load"
    shown = repr(name)[:40] if isinstance(name, str) else "no estimator"
    return f"one of {shown} (a file of another tool or a newer linclass?)"


def refuse_pipeline(path: str | os.PathLike, meta: dict[str, Any]) -> None:
    """Refuse to rebuild a bare classifier from an image classifier's file: its feature
    pipeline (the preprocessing every image needs) would be dropped without a word.

    Raises:
        ModelFileError: Naming the loader to use.
    """
    if has_pipeline(meta):
        raise ModelFileError(f"{path}: an image classifier's file (its feature pipeline "
                             "would be dropped): load it with ImageClassifier.load")


__all__ = ["decode_classes", "encode_classes", "has_pipeline", "load_estimator",
           "refuse_pipeline", "save_estimator"]
