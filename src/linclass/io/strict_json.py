"""JSON from untrusted sources, parsed within limits: size, depth, and numbers.

Python's ``json`` parses ``NaN`` and ``Infinity``, turns ``1e999`` into ``inf``, raises
``RecursionError`` on a few thousand nested brackets, and ``ValueError`` on an integer of
5,000 digits. Model-file metadata (:mod:`linclass.io.metadata`) and the playground's request
bodies (:mod:`linclass.web.validation`) both read JSON anyone can write; :func:`loads`
gives them one behaviour: a value, or :class:`JSONLimitError` with a reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


class JSONLimitError(ValueError):
    """JSON that is malformed or beyond the limits; the message says which."""


def json_depth(text: str) -> int:
    """Deepest nesting of ``[`` and ``{`` in JSON text, counted without parsing it.

    Strings are blanked out first, so brackets inside them do not count.
    """
    structure = np.frombuffer(_JSON_STRING.sub('""', text).encode("utf-8"), np.uint8)
    step = np.isin(structure, (ord("["), ord("{"))).astype(np.int64)
    step -= np.isin(structure, (ord("]"), ord("}")))
    return int(np.cumsum(step).max(initial=0))


def _refuse_constant(name: str) -> None:
    raise JSONLimitError(f"{name} is not a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not np.isfinite(value):
        raise JSONLimitError(f"number {text[:40]} is not a finite number")
    return value


def loads(text: str | bytes | bytearray, *, what: str, max_bytes: int, max_depth: int) -> Any:
    """Parse untrusted JSON.

    Args:
        text: The JSON text (bytes are decoded as UTF-8).
        what: What it is, to start each message ("header", "body").
        max_bytes: Longest text accepted.
        max_depth: Deepest nesting of lists and objects accepted.

    Returns:
        The parsed value.

    Raises:
        JSONLimitError: Too long, too deep, not UTF-8, not JSON, or holding NaN, Infinity
            or a number too large for a float.
    """
    if len(text) > max_bytes:
        raise JSONLimitError(f"{what} is {len(text)} bytes; at most {max_bytes} accepted")
    try:
        if isinstance(text, bytes | bytearray):
            text = bytes(text).decode("utf-8")
        if (depth := json_depth(text)) > max_depth:
            raise JSONLimitError(f"nests {depth} levels deep; at most {max_depth} accepted")
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except JSONLimitError as exc:
        raise JSONLimitError(f"{what}: {exc}") from None
    except (UnicodeError, ValueError) as exc:  # JSONDecodeError, and ints of > 4300 digits
        raise JSONLimitError(f"{what} is not valid JSON ({exc})") from None
