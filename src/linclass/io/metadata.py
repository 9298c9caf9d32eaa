"""The schema of a model file's metadata, checked before anything is built from it.

A model file's metadata is JSON that anyone can edit, so :func:`linclass.io.persist.load_model`
reads it in two steps, both here:

1. :func:`parse_json` refuses text that is too long or nested too deeply *before* parsing
   it (no ``RecursionError``), and refuses ``NaN``, ``Infinity`` and numbers that overflow
   (:mod:`linclass.io.strict_json`).
2. :func:`check_metadata` checks every field a linclass face reads: its type, its range,
   and its agreement with the tensors (``W`` has one row per class and one column per
   feature) and with the other fields (the feature spec's image shape and width). Sizes
   that would be allocated (image sides, histogram bins, HOG cells) are bounded first.

Fields this module does not know (a newer linclass, a user's ``extra_meta``) are allowed,
as long as they are plain JSON within the same limits: strings that are valid UTF-8, lists
and numbers of bounded size. The hyperparameters' meaning (a known loss, a positive
learning rate) is the estimator's to check; here they only have to be JSON scalars.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from linclass.features.extract import KINDS
from linclass.features.pipeline import SPEC_FORMAT
from linclass.io import strict_json

MAX_JSON_BYTES = 4 * 2**20  # the whole safetensors header; real ones are a few kB
MAX_DEPTH = 16  # real metadata nests 5 deep (input.features.extractor.hog_pixels_per_cell)
MAX_STRING = 4096  # a class name or a dataset path
MAX_LIST = 100_000
MAX_CLASSES = 10_000
MAX_IMAGE_SIDE = 8192
MAX_IMAGE_PIXELS = 2**24  # 4096 x 4096: one zero image of this size is built at load
MAX_HIST_BINS = 4096
MAX_HOG_ORIENTATIONS = 360
MAX_FEATURE_BATCH = 2**16
MAX_INT = 2**63 - 1
ESTIMATORS = ("LinearClassifier",)  # the estimators whose fields this schema knows
CLASS_KINDS = {"int": int, "bool": bool, "float": float, "str": str}

_HEX64 = re.compile(r"[0-9a-f]{64}")


class SchemaError(ValueError):
    """Metadata that breaks the schema; the message names the field."""


# --- parsing ------------------------------------------------------------------------------


def parse_json(text: str | bytes, what: str) -> Any:
    """Parse untrusted JSON within :data:`MAX_JSON_BYTES` and :data:`MAX_DEPTH`.

    Raises:
        SchemaError: Too long, too deep, not UTF-8, not JSON, or holding NaN, Infinity or
            a number too large for a float (see :func:`linclass.io.strict_json.loads`).
    """
    try:
        return strict_json.loads(text, what=what, max_bytes=MAX_JSON_BYTES, max_depth=MAX_DEPTH)
    except strict_json.JSONLimitError as exc:
        raise SchemaError(str(exc)) from None


# --- field checks -------------------------------------------------------------------------


def _plain(value: Any, where: str) -> None:
    """Any JSON within the limits: UTF-8 strings, bounded lists and integers."""
    if isinstance(value, str):
        _string(value, where)
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        pass
    elif isinstance(value, int):
        _integer(value, where, -MAX_INT - 1, MAX_INT)
    elif isinstance(value, list):
        for i, item in enumerate(_sequence(value, where, 0, MAX_LIST)):
            _plain(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _plain(item, f"{where}.{_string(key, where)}" if where else key)
    else:
        raise SchemaError(f"{where} is a {type(value).__name__}, not JSON")


def _string(value: Any, where: str, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str):
        raise SchemaError(f"{where} must be a string, got {_show(value)}")
    if len(value) > MAX_STRING:
        raise SchemaError(f"{where} is {len(value)} characters long; at most {MAX_STRING}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SchemaError(f"{where} is not valid UTF-8 text") from None
    if choices is not None and value not in choices:
        raise SchemaError(f"{where} must be one of {list(choices)}, got {_show(value)}")
    return value


def _integer(value: Any, where: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(f"{where} must be an integer, got {_show(value)}")
    if not lo <= value <= hi:
        raise SchemaError(f"{where} must lie in [{lo}, {hi}], got {_show(value)}")
    return value


def _number(value: Any, where: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(f"{where} must be a number, got {_show(value)}")
    if not lo < value < hi:  # an int is compared exactly: no overflow to float first
        raise SchemaError(f"{where} must lie strictly between {lo:g} and {hi:g}, got "
                          f"{_show(value)}")
    return float(value)


def _sequence(value: Any, where: str, lo: int, hi: int) -> list[Any]:
    if not isinstance(value, list):
        raise SchemaError(f"{where} must be a list, got {_show(value)}")
    if not lo <= len(value) <= hi:
        raise SchemaError(f"{where} must hold {lo} to {hi} entries, got {len(value)}")
    return value


def _section(meta: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = meta.get(key)
    if not isinstance(value, dict):
        raise SchemaError(f"{where}{key} must be an object, got {_show(value)}")
    return value


def _optional(meta: Mapping[str, Any], key: str, check: Any, *args: Any,
              nullable: bool = False) -> None:
    """``check(meta[key], key, *args)`` when the key is present (and not a null that
    ``nullable`` allows)."""
    if key in meta and not (nullable and meta[key] is None):
        check(meta[key], key, *args)


def _show(value: Any) -> str:
    return json.dumps(value)[:40] if isinstance(value, str | int | float | bool) or \
        value is None else type(value).__name__


# --- the sections -------------------------------------------------------------------------


def check_metadata(meta: Mapping[str, Any], tensors: Mapping[str, np.ndarray]) -> None:
    """Check a model file's metadata against the schema and against its tensors.

    Args:
        meta: The parsed ``"linclass"`` metadata object.
        tensors: The file's tensors; ``W`` is ndarray of shape (n_classes, n_features).

    Raises:
        SchemaError: Naming the first field that is missing, of the wrong type, out of
            range, or inconsistent with ``W`` or with another field.
    """
    if not isinstance(meta, Mapping):
        raise SchemaError(f"the metadata must be an object, got {_show(meta)}")
    _plain(dict(meta), "")
    _optional(meta, "linclass_version", _string)
    _optional(meta, "run", _string)
    _optional(meta, "data_sha256", _hex64, nullable=True)
    if meta.get("dataset") is not None:
        _check_dataset(_section(meta, "dataset", ""))
    _optional(meta, "estimator", _string)
    if meta.get("estimator") in ESTIMATORS:  # another estimator's loader checks its own
        _check_estimator(meta, tensors["W"].shape)


def _hex64(value: Any, where: str) -> None:
    if not (isinstance(value, str) and _HEX64.fullmatch(value)):
        raise SchemaError(f"{where} must be a SHA-256 in hex, got {_show(value)}")


def _check_dataset(dataset: dict[str, Any]) -> None:
    _string(dataset.get("dataset"), "dataset.dataset")
    _optional(dataset, "data_dir", _string, nullable=True)
    _optional(dataset, "limit", _integer, 1, MAX_INT, nullable=True)
    _optional(dataset, "seed", _integer, -MAX_INT - 1, MAX_INT)
    _optional(dataset, "val_fraction", _number, 0.0, 1.0)


def _check_estimator(meta: Mapping[str, Any], w_shape: tuple[int, ...]) -> None:
    n_classes, n_features = w_shape
    for key, value in _section(meta, "hyperparameters", "").items():
        if isinstance(value, list | dict):
            raise SchemaError(f"hyperparameters.{key} must be a single value")
    _check_classes(_section(meta, "classes", ""), n_classes)
    _integer(meta.get("n_features_in"), "n_features_in", n_features, n_features)
    _optional(meta, "n_iter", _integer, 0, MAX_INT)
    if meta.get("class_names") is not None:
        names = _sequence(meta["class_names"], "class_names", n_classes, n_classes)
        for i, name in enumerate(names):
            _string(name, f"class_names[{i}]")
    if "input" in meta:
        _check_input(_section(meta, "input", ""), n_features)


def _check_classes(classes: dict[str, Any], n_classes: int) -> None:
    if not 2 <= n_classes <= MAX_CLASSES:
        raise SchemaError(f"W has {n_classes} rows; a classifier has 2 to {MAX_CLASSES} classes")
    kind = _string(classes.get("kind"), "classes.kind", tuple(CLASS_KINDS))
    values = _sequence(classes.get("values"), "classes.values", n_classes, n_classes)
    for i, v in enumerate(values):
        if type(v) is not CLASS_KINDS[kind] and not (kind == "float" and type(v) is int):
            raise SchemaError(f"classes.values[{i}] must be of kind {kind}, got {_show(v)}")
    if len(set(values)) != len(values):
        raise SchemaError("classes.values must be distinct labels")
    _optional(classes, "object", _boolean)


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(f"{where} must be true or false, got {_show(value)}")
    return value


def _image_shape(value: Any, where: str) -> tuple[int, ...]:
    shape = tuple(_integer(s, f"{where}[{i}]", 1, MAX_IMAGE_SIDE)
                  for i, s in enumerate(_sequence(value, where, 2, 3)))
    if len(shape) == 3 and shape[2] != 3:
        raise SchemaError(f"{where} must be [H, W] or [H, W, 3], got {list(shape)}")
    if shape[0] * shape[1] > MAX_IMAGE_PIXELS:
        raise SchemaError(f"{where} {list(shape)} has more than {MAX_IMAGE_PIXELS} pixels")
    return shape


def _check_input(section: dict[str, Any], n_features: int) -> None:
    shape = _image_shape(section.get("image_shape"), "input.image_shape")
    spec = _section(section, "features", "input.")
    _string(spec.get("format"), "input.features.format", (SPEC_FORMAT,))
    if _image_shape(spec.get("image_shape"), "input.features.image_shape") != shape:
        raise SchemaError("input.features.image_shape differs from input.image_shape")
    _integer(spec.get("n_features"), "input.features.n_features", n_features, n_features)
    _check_extractor(_section(spec, "extractor", "input.features."), shape)
    pre = _section(spec, "preprocessor", "input.features.")
    _optional(pre, "center", _string, ("mean", "none"))
    _optional(pre, "standardize", _boolean)


def _check_extractor(extractor: dict[str, Any], shape: tuple[int, ...]) -> None:
    where = "input.features.extractor."
    kinds = extractor.get("kinds", ["raw"])
    kinds = [kinds] if isinstance(kinds, str) else _sequence(kinds, where + "kinds", 1, len(KINDS))
    for i, kind in enumerate(kinds):
        _string(kind, f"{where}kinds[{i}]", KINDS)
    if len(set(kinds)) != len(kinds):
        raise SchemaError(f"{where}kinds must be distinct")
    _optional(extractor, "hist_bins", lambda v, k: _integer(v, where + k, 1, MAX_HIST_BINS))
    _optional(extractor, "hog_orientations",
              lambda v, k: _integer(v, where + k, 1, MAX_HOG_ORIENTATIONS))
    _optional(extractor, "batch_size", lambda v, k: _integer(v, where + k, 1, MAX_FEATURE_BATCH))
    for key in ("hog_pixels_per_cell", "hog_cells_per_block"):
        if key in extractor:
            pair = _sequence(extractor[key], where + key, 2, 2)
            for i, (n, side) in enumerate(zip(pair, shape[:2], strict=True)):
                _integer(n, f"{where}{key}[{i}]", 1, side)
