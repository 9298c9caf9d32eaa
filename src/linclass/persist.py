"""Model files that are safe to load from anywhere: safetensors weights + JSON metadata.

A model file holds ``W``, ``b`` and any extra arrays (preprocessing statistics) as
safetensors tensors, and one metadata entry ``"linclass"`` holding a JSON object with the
format version, the linclass version, what the model needs to rebuild its inputs, and a
SHA-256 checksum of the tensors. Nothing is ever unpickled: safetensors is a plain header +
raw bytes format, and every field is validated before use.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from importlib import metadata as _pkg_metadata
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from linclass.fileio import atomic_write_bytes

FORMAT = "linclass-model"
FORMAT_VERSION = 1
_MAX_HEADER = 100 * 2**20  # a header this large is not a linclass model
_PICKLE_PREFIXES = (b"\x80", b"(dp", b"(lp", b"ccopy_reg", b"PK\x03\x04")


class ModelFileError(ValueError):
    """A model file that cannot be trusted or used; the message names the file."""


def _version() -> str:
    try:
        return _pkg_metadata.version("linclass")
    except _pkg_metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def tensors_checksum(tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_model(
    path: str | os.PathLike,
    params: dict[str, np.ndarray],
    meta: dict[str, Any] | None = None,
    *,
    arrays: dict[str, np.ndarray] | None = None,
    force: bool = False,
) -> Path:
    """Write a model file atomically.

    Args:
        path: Destination, conventionally ``*.safetensors``.
        params: ``{"W": (n_classes, n_features), "b": (n_classes,)}``.
        meta: JSON-serialisable metadata (classes, input shape, preprocessing, features,
            hyper-parameters, seed, data checksum, ...).
        arrays: Extra named arrays (e.g. ``"preprocess.mean"``), saved as tensors.
        force: Overwrite an existing file.

    Returns:
        The path written.

    Raises:
        FileExistsError: If the file exists and ``force`` is False.
        ValueError: If the weights are not finite or have inconsistent shapes.
    """
    W, b = np.asarray(params["W"]), np.asarray(params["b"])
    _check_weights(W, b, where="params")
    tensors = {"W": W, "b": b}
    for name, value in (arrays or {}).items():
        if name in tensors:
            raise ValueError(f"extra array name {name!r} collides with the weights")
        tensors[name] = np.asarray(value)
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "linclass_version": _version(),
        "weights_sha256": tensors_checksum(tensors),
        **(meta or {}),
    }
    data = safetensors.numpy.save(tensors, metadata={"linclass": json.dumps(header)})
    return atomic_write_bytes(path, data, force=force)


def load_model(
    path: str | os.PathLike,
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, np.ndarray]]:
    """Read and verify a model file.

    Returns:
        ``(params, meta, arrays)``: the weights dict, the metadata dict and any extra arrays.

    Raises:
        ModelFileError: For a missing, pickled, truncated, tampered, NaN-holding,
            inconsistent or unknown-version file; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    data = path.read_bytes()
    try:
        header = _read_header(path, data)
    except ModelFileError:
        # Only now sniff for a pickle: a valid safetensors length may start with 0x80 too.
        if data.startswith(_PICKLE_PREFIXES):
            raise ModelFileError(
                f"{path}: looks like a pickle or zip file; linclass never loads pickles "
                "(they can run code). Model files are safetensors."
            ) from None
        raise
    raw_meta = header.get("__metadata__", {}).get("linclass")
    if raw_meta is None:
        raise ModelFileError(f"{path}: a safetensors file, but not a linclass model (no metadata)")
    try:
        meta = json.loads(raw_meta)
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: metadata is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: metadata does not describe a {FORMAT} file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format version {meta.get('format_version')!r} is not supported by this "
            f"linclass (it reads version {FORMAT_VERSION}); upgrade linclass or re-save the model"
        )
    try:
        tensors = safetensors.numpy.load(data)
    except Exception as e:  # the library raises its own types for corrupt payloads
        raise ModelFileError(f"{path}: corrupt tensor data ({e})") from None
    if tensors_checksum(tensors) != meta.get("weights_sha256"):
        raise ModelFileError(f"{path}: checksum mismatch: the weights were changed or damaged")
    if "W" not in tensors or "b" not in tensors:
        raise ModelFileError(f"{path}: missing W or b")
    W, b = tensors.pop("W"), tensors.pop("b")
    try:
        _check_weights(W, b, where=str(path))
    except ValueError as e:
        raise ModelFileError(str(e)) from None
    return {"W": W, "b": b}, meta, tensors


def _read_header(path: Path, data: bytes) -> dict[str, Any]:
    """Parse and sanity-check the safetensors header before touching the payload."""
    if len(data) < 8:
        raise ModelFileError(f"{path}: truncated ({len(data)} bytes; not a safetensors file)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or 8 + n > len(data):
        raise ModelFileError(
            f"{path}: header says {n} bytes but the file has {len(data) - 8}; truncated or "
            "not a safetensors file"
        )
    try:
        header = json.loads(data[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{path}: header is not valid JSON; not a safetensors file") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: header is not a JSON object")
    return header


def _check_weights(W: np.ndarray, b: np.ndarray, *, where: str) -> None:
    if W.ndim != 2 or b.shape != (W.shape[0],):
        raise ValueError(f"{where}: inconsistent shapes W {W.shape} and b {b.shape}")
    if not (np.issubdtype(W.dtype, np.floating) and np.issubdtype(b.dtype, np.floating)):
        raise ValueError(f"{where}: weights must be floating point, got {W.dtype} and {b.dtype}")
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
        raise ValueError(f"{where}: weights contain NaN or inf")
