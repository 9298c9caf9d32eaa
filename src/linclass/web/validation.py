"""Strict reading of request bodies: every bad value becomes a :class:`BadRequest`.

JSON as Python reads it accepts ``NaN`` and ``Infinity``, booleans are ints, and a body
can be any size; each helper here closes one of those doors with a message that names the
field, so the page (or a curl user) learns what to fix.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from starlette.requests import Request

from linclass.io import strict_json

MAX_BODY_BYTES = 256 * 1024  # 500 points or a 4 x 2 W are a few kB; this is generous
MAX_BODY_DEPTH = 8  # {"X": [[x, y], ...]} nests 3 deep


class BadRequest(Exception):
    """A client error with its HTTP status and a message for the page."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body reads as ``{}``.

    Raises:
        BadRequest: 413 when larger than :data:`MAX_BODY_BYTES`, 400 when not a JSON object
            or nested deeper than :data:`MAX_BODY_DEPTH`, 422 for NaN, Infinity or numbers
            that overflow a float.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadRequest(f"request body too large (limit {MAX_BODY_BYTES} bytes)", 413)
    body = bytearray()
    async for chunk in request.stream():  # a body without a length is counted as it comes
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BadRequest(f"request body too large (limit {MAX_BODY_BYTES} bytes)", 413)
    if not body.strip():
        return {}
    try:
        data = strict_json.loads(body, what="body", max_bytes=MAX_BODY_BYTES,
                                 max_depth=MAX_BODY_DEPTH)
    except strict_json.JSONLimitError as e:
        if "finite" in str(e):  # NaN, Infinity, 1e999: a bad value, like the field checks'
            raise BadRequest(f"{e}; every number must be finite") from None
        raise BadRequest(str(e), 400) from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object", 400)
    return data


def only_keys(body: dict[str, Any], allowed: set[str]) -> None:
    """Refuse unknown fields, so a typo like ``learning_rat`` is not silently ignored."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"unknown field(s) {unknown}; allowed: {sorted(allowed)}")


def number(value: Any, name: str, lo: float, hi: float) -> float:
    """A finite JSON number in ``[lo, hi]`` (not a string, not a boolean, not NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{name} must be a number, got {json.dumps(value)[:40]}")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest(f"{name} must be a finite number, got {value}")
    if not lo <= value <= hi:  # an int is compared exactly, never converted (1e400 overflows)
        shown = f"{value:g}" if isinstance(value, float) or abs(value) < 10**15 else \
            f"an integer of {len(str(abs(value)))} digits"
        raise BadRequest(f"{name} must lie in [{lo:g}, {hi:g}], got {shown}")
    return float(value)


def integer(value: Any, name: str, lo: int, hi: int) -> int:
    """A JSON integer in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer, got {json.dumps(value)[:40]}")
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must lie in [{lo}, {hi}], got {value}")
    return value


def choice(value: Any, name: str, choices: tuple[str, ...] | list[str]) -> str:
    """One of a fixed set of names."""
    if not isinstance(value, str) or value not in choices:
        raise BadRequest(f"unknown {name} {json.dumps(value)[:40]}; choose one of {list(choices)}")
    return value


def matrix(value: Any, name: str, max_rows: int, n_cols: int | None, bound: float) -> np.ndarray:
    """A list of equally long lists of finite numbers (``n_cols`` of them when given).

    Args:
        value: The JSON value.
        name: Field name for messages.
        max_rows: Most rows accepted (413 beyond, the "huge point count" case).
        n_cols: Required row length, or None for a flat list of numbers.
        bound: Largest absolute value accepted.

    Returns:
        ndarray of shape (n_rows, n_cols), or (n_rows,) when ``n_cols`` is None.
    """
    if not isinstance(value, list):
        raise BadRequest(f"{name} must be a list")
    if len(value) > max_rows:
        raise BadRequest(f"{name} has {len(value)} entries; at most {max_rows} allowed", 413)
    rows = value if n_cols is not None else [value]
    for r, row in enumerate(rows):
        if not isinstance(row, list) or (n_cols is not None and len(row) != n_cols):
            raise BadRequest(f"{name}[{r}] must be a list of {n_cols} numbers")
        for c, v in enumerate(row):
            number(v, f"{name}[{r}][{c}]" if n_cols is not None else f"{name}[{c}]",
                   -bound, bound)
    arr = np.array(value, dtype=np.float64)
    return arr.reshape(0, n_cols) if n_cols is not None and arr.size == 0 else arr
