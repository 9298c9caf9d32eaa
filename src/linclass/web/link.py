"""The 2-D view as a link: its whole state in the fragment of the page's URL (``#...``).

Like TensorFlow Playground's ``state.ts``, the fragment is a query string of ``key=value``
pairs, readable and editable by hand::

    v=1&preset=xor&seed=3&noise=0.2&test_fraction=0.3&features=x1%C2%B7x2&loss=softmax
    &alpha=0.01&W=1.5,-2,0.25;-1,2,0&b=0.5,-0.5

* The points are not in it while they are the preset's own: ``preset`` + ``seed`` +
  ``noise`` + ``test_fraction`` draw them again. Once the learner has added, moved or
  deleted a point, the training points are written out: ``points`` is the URL-safe
  base64 (no padding) of their coordinates as little-endian float32 pairs ``x0, y0, x1,
  y1, ...`` (8 bytes a point: 500 points are 5,334 characters), ``labels`` one digit per
  point. The page keeps the points it sends at float32 precision, so nothing is lost.
* Settings are written only where they differ from the view's defaults; ``W`` and ``b``
  always, as shortest round-trip decimals (``W`` rows split by ``;``).
* The history (steps, the curves) is not: a link reproduces the view, not how it came.

:func:`decode` checks the syntax and the sizes (at most :data:`MAX_LINK_CHARS`
characters, each key once, every number finite); the values themselves are then checked
by the same code that checks the API's requests, as the session applies them.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import numpy as np

VERSION = "1"
MAX_LINK_CHARS = 8192  # 500 edited points, 4 classes, 5 features and every setting fit
MAX_SEED = 2**31 - 1  # the API's bound
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_POINT = np.dtype("<f4")


class LinkError(ValueError):
    """A link that cannot be read; the message says what is wrong with it."""


@dataclass(frozen=True)
class LinkState:
    """What a link holds.

    Attributes:
        preset: The preset's name.
        seed: Its seed.
        noise: Its noise.
        test_fraction: Its held-out share, or None for the preset's own.
        config: Settings that differ from the defaults, ``{field: value}``.
        extras: The extra features, in page order.
        W: ndarray of shape (C, D), or None for the preset's start.
        b: ndarray of shape (C,), or None for the preset's start.
        points: ``(X, y)``, X of shape (n, 2) and y of shape (n,), or None while the
            points are the preset's own.
    """

    preset: str
    seed: int = 0
    noise: float = 0.0
    test_fraction: float | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    extras: tuple[str, ...] = ()
    W: np.ndarray | None = None
    b: np.ndarray | None = None
    points: tuple[np.ndarray, np.ndarray] | None = None


def _num(v: float) -> str:
    """The shortest decimal that reads back as the same float (``1`` for 1.0)."""
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def encode(state: LinkState) -> str:
    """The fragment (without ``#``) for ``state``."""
    pairs: list[tuple[str, str]] = [("v", VERSION), ("preset", state.preset)]
    if state.seed:
        pairs.append(("seed", str(state.seed)))
    if state.noise:
        pairs.append(("noise", _num(state.noise)))
    if state.test_fraction is not None:
        pairs.append(("test_fraction", _num(state.test_fraction)))
    if state.extras:
        pairs.append(("features", ",".join(state.extras)))
    for name, value in state.config.items():
        pairs.append((name, value if isinstance(value, str) else _num(value)))
    if state.W is not None and state.b is not None:
        pairs.append(("W", ";".join(",".join(map(_num, row)) for row in state.W)))
        pairs.append(("b", ",".join(map(_num, state.b))))
    if state.points is not None:
        X, y = state.points
        raw = np.ascontiguousarray(X, dtype=_POINT).tobytes()
        pairs.append(("points", base64.urlsafe_b64encode(raw).decode().rstrip("=")))
        pairs.append(("labels", "".join(str(int(k)) for k in y)))
    return urlencode(pairs, safe=",;", quote_via=quote)


def _number(text: str, name: str) -> float | int:
    """A JSON-style number: ``int`` when written without a point or exponent."""
    if not _NUMBER.fullmatch(text):
        raise LinkError(f"{name} must be a number, got {text[:24]!r}")
    if re.fullmatch(r"-?[0-9]+", text):
        if len(text) > 18:
            raise LinkError(f"{name} has too many digits")
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise LinkError(f"{name} must be a finite number, got {text[:24]!r}")
    return value


def _row(text: str, name: str, most: int) -> list[float]:
    parts = text.split(",")
    if len(parts) > most:
        raise LinkError(f"{name} has {len(parts)} numbers; at most {most}")
    return [float(_number(p, f"{name}[{i}]")) for i, p in enumerate(parts)]


def _points(raw: str, labels: str) -> tuple[np.ndarray, np.ndarray]:
    if not _BASE64URL.fullmatch(raw):
        raise LinkError("points must be URL-safe base64 (letters, digits, - and _)")
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        raise LinkError("points is not valid base64") from None
    if len(data) % (2 * _POINT.itemsize):
        raise LinkError(f"points must hold float32 pairs (8 bytes a point), got {len(data)} "
                        "bytes")
    X = np.frombuffer(data, dtype=_POINT).astype(np.float64).reshape(-1, 2)
    if labels and not (labels.isascii() and labels.isdigit()):
        raise LinkError("labels must be one digit per point")
    if len(labels) != len(X):
        raise LinkError(f"labels has {len(labels)} digits for {len(X)} points")
    return X, np.array([int(c) for c in labels], dtype=np.int64)


def decode(text: str, fields: Sequence[str], max_classes: int, max_features: int) -> LinkState:
    """Read a fragment written by :func:`encode` (a leading ``#`` is allowed).

    Args:
        text: The fragment.
        fields: The settings a link may carry (the view's control fields).
        max_classes: Most rows of ``W``.
        max_features: Most columns of ``W``.

    Raises:
        LinkError: Too long, not a query string, an unknown or repeated key, a missing
            ``preset``, a bad number or bad points; the message names the key.
    """
    text = text[1:] if text.startswith("#") else text
    if len(text) > MAX_LINK_CHARS:
        raise LinkError(f"the link is too long: {len(text)} characters, at most "
                        f"{MAX_LINK_CHARS}")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True,
                          max_num_fields=len(fields) + 16, errors="strict")
    except (ValueError, UnicodeDecodeError) as e:
        raise LinkError(f"the link is not a list of key=value pairs ({e})") from None
    values: dict[str, str] = {}
    known = {"v", "preset", "seed", "noise", "test_fraction", "features", "W", "b", "points",
             "labels", *fields}
    for key, value in pairs:
        if key not in known:
            raise LinkError(f"unknown key {key[:40]!r}; a link holds {sorted(known)}")
        if key in values:
            raise LinkError(f"{key} is given twice")
        values[key] = value
    if values.get("v", VERSION) != VERSION:
        raise LinkError(f"version {values['v'][:10]!r} links are not known here "
                        f"(this is {VERSION})")
    if "preset" not in values:
        raise LinkError("the link names no preset")
    if ("points" in values) != ("labels" in values):
        raise LinkError("points and labels come together")
    if ("W" in values) != ("b" in values):
        raise LinkError("W and b come together")
    seed = _number(values.get("seed", "0"), "seed")
    if not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise LinkError(f"seed must be an integer in [0, {MAX_SEED}], got {values['seed'][:24]}")
    noise = float(_number(values.get("noise", "0"), "noise"))
    fraction = (float(_number(values["test_fraction"], "test_fraction"))
                if "test_fraction" in values else None)
    extras = tuple(values["features"].split(",")) if values.get("features") else ()
    # A setting is a name or a number; which one it must be, the settings' own checks tell.
    config: dict[str, Any] = {k: _number(values[k], k) if _NUMBER.fullmatch(values[k])
                              else values[k] for k in fields if k in values}
    W = b = None
    if "W" in values:
        rows = values["W"].split(";")
        if len(rows) > max_classes:
            raise LinkError(f"W has {len(rows)} rows; at most {max_classes}")
        parsed = [_row(r, f"W[{k}]", max_features) for k, r in enumerate(rows)]
        if len({len(r) for r in parsed}) != 1:
            raise LinkError("W rows must all have the same number of weights")
        W = np.array(parsed)
        b = np.array(_row(values["b"], "b", max_classes))
    points = _points(values["points"], values["labels"]) if "points" in values else None
    return LinkState(values["preset"], seed, noise, fraction, config, extras, W, b, points)

