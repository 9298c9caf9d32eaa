"""Model files that are safe to load from anywhere: safetensors weights + JSON metadata.

A model file holds ``W``, ``b`` and any extra arrays (preprocessing statistics) as
safetensors tensors, and two metadata entries: ``"linclass"``, a JSON object with the
format version, the linclass version and what the model needs to rebuild its inputs, and
``"linclass_sha256"``, a SHA-256 over the tensors *and* that JSON text, so a damaged or
edited field is caught like a damaged weight. Nothing is ever unpickled: safetensors is a
plain header + raw bytes format. Every field is checked against
:mod:`linclass.io.metadata`'s schema, when writing and before anything is built from it when
reading; any file gives a correct load or a :class:`ModelFileError`.

Version 1 files (their checksum, inside the JSON, covers the tensors only) are not
loaded: an edit of their metadata, or a version-2 file relabelled as version 1 with the
weights' checksum added, would pass unseen. :func:`upgrade_model` converts a version-1
file its owner trusts into a version-2 one, once, on request.
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

from linclass.io.fileio import atomic_write_bytes
from linclass.io.metadata import MAX_JSON_BYTES, SchemaError, check_metadata, parse_json

FORMAT = "linclass-model"
FORMAT_VERSION = 2
READ_VERSIONS = (2,)
#: Versions read only by :func:`upgrade_model`: their checksum does not cover the metadata.
UNVERIFIED_VERSIONS = (1,)
CHECKSUM_KEY = "linclass_sha256"
MAX_ABS_WEIGHT = 1e15  # a trained linear model is far below; 1e38 overflows float32 scores
_PICKLE_PREFIXES = (b"\x80", b"(dp", b"(lp", b"ccopy_reg", b"PK\x03\x04")


class ModelFileError(ValueError):
    """A model file that cannot be trusted or used; the message names the file."""


def _version() -> str:
    try:
        return _pkg_metadata.version("linclass")
    except _pkg_metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def tensors_checksum(tensors: dict[str, np.ndarray], metadata: str | None = None) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order, then over
    the metadata JSON text when given (the version-2 checksum covers both)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    if metadata is not None:
        h.update(b"metadata|" + metadata.encode("utf-8"))
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
        ValueError: If the weights are not finite or have inconsistent shapes, or the
            metadata breaks the schema (a file that could not be loaded is never written).
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
        **(meta or {}),
    }
    text = json.dumps(header, allow_nan=False)
    check_metadata(parse_json(text, "metadata"), tensors)
    data = safetensors.numpy.save(
        tensors, metadata={"linclass": text, CHECKSUM_KEY: tensors_checksum(tensors, text)})
    return atomic_write_bytes(path, data, force=force)


def load_model(
    path: str | os.PathLike,
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, np.ndarray]]:
    """Read and verify a model file.

    Returns:
        ``(params, meta, arrays)``: the weights dict, the metadata dict and any extra arrays.

    Raises:
        ModelFileError: For a missing, pickled, truncated, tampered, NaN-holding,
            inconsistent, version-1 (see :func:`upgrade_model`) or unknown-version file;
            the message names the file.
    """
    return _load(Path(path), READ_VERSIONS)


def upgrade_model(path: str | os.PathLike, out: str | os.PathLike | None = None, *,
                  force: bool = False) -> Path:
    """Rewrite a version-1 model file, which its owner trusts, as a version-2 one.

    A version-1 file's checksum covers its weights only: this checks them, and takes its
    metadata on the owner's word (that is the point of calling this), then writes a file
    whose checksum covers both. A file labelled version 1 that carries a version-2
    checksum (a relabelled version-2 file) is refused, as :func:`load_model` would.

    Args:
        path: The version-1 file.
        out: Where to write the version-2 file (default: over ``path``, with ``force``).
        force: Overwrite an existing ``out``.

    Returns:
        The path written.

    Raises:
        ModelFileError: ``path`` is not a sound version-1 or version-2 file.
    """
    params, meta, arrays = _load(Path(path), (*UNVERIFIED_VERSIONS, *READ_VERSIONS))
    fields = {k: v for k, v in meta.items() if k not in ("format", "format_version",
                                                         "linclass_version", "weights_sha256")}
    target = Path(path) if out is None else Path(out)
    return save_model(target, params, fields, arrays=arrays, force=force or out is None)


def _load(path: Path, versions: tuple[int, ...]
          ) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, np.ndarray]]:
    """:func:`load_model` accepting the format ``versions``."""
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
    try:
        meta, raw_meta = _read_metadata(path, header, versions)
    except SchemaError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    try:
        tensors = safetensors.numpy.load(data)
    except Exception as e:  # the library raises its own types for corrupt payloads
        raise ModelFileError(f"{path}: corrupt tensor data ({e})") from None
    if meta["format_version"] == 1:
        expected, actual = meta.get("weights_sha256"), tensors_checksum(tensors)
    else:
        expected = header["__metadata__"].get(CHECKSUM_KEY)
        actual = tensors_checksum(tensors, raw_meta)
    if actual != expected:
        raise ModelFileError(f"{path}: checksum mismatch: the weights or the metadata were "
                             "changed or damaged")
    if "W" not in tensors or "b" not in tensors:
        raise ModelFileError(f"{path}: missing W or b")
    W, b = tensors.pop("W"), tensors.pop("b")
    try:
        _check_weights(W, b, where=str(path))
        check_metadata(meta, {"W": W, "b": b, **tensors})
    except SchemaError as e:
        raise ModelFileError(f"{path}: bad metadata: {e}") from None
    except ValueError as e:
        raise ModelFileError(str(e)) from None
    return {"W": W, "b": b}, meta, tensors


def _read_header(path: Path, data: bytes) -> dict[str, Any]:
    """Parse and sanity-check the safetensors header before touching the payload."""
    if len(data) < 8:
        raise ModelFileError(f"{path}: truncated ({len(data)} bytes; not a safetensors file)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ModelFileError(
            f"{path}: header says {n} bytes but the file has {len(data) - 8}; truncated or "
            "not a safetensors file"
        )
    if n > MAX_JSON_BYTES:
        raise ModelFileError(f"{path}: header of {n} bytes; a linclass model's is at most "
                             f"{MAX_JSON_BYTES}")
    try:
        header = parse_json(data[8 : 8 + n], "header")
    except SchemaError as exc:
        raise ModelFileError(f"{path}: {exc}; not a safetensors file") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: header is not a JSON object")
    return header


def _read_metadata(path: Path, header: dict[str, Any], versions: tuple[int, ...]
                   ) -> tuple[dict[str, Any], str]:
    """The parsed ``"linclass"`` metadata object and its JSON text, format checked.

    Raises:
        SchemaError: Not an object, not JSON, or nested or sized beyond the limits.
        ModelFileError: No linclass metadata, another format, a version not among
            ``versions`` (a version-1 file: saying how to upgrade it, or that it is a
            relabelled version-2 file).
    """
    entries = header.get("__metadata__", {})
    if not isinstance(entries, dict) or not isinstance(entries.get("linclass"), str):
        raise ModelFileError(f"{path}: a safetensors file, but not a linclass model (no metadata)")
    raw = entries["linclass"]
    meta = parse_json(raw, "metadata")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: metadata does not describe a {FORMAT} file")
    version = meta.get("format_version")
    if version in UNVERIFIED_VERSIONS and not isinstance(version, bool):
        if CHECKSUM_KEY in entries:  # only version 2 writes it: relabelled, so edited
            raise ModelFileError(
                f"{path}: labelled format version {version} but it carries a version-2 "
                f"checksum ({CHECKSUM_KEY}): a relabelled version-2 file, whose metadata may "
                "have been edited; refused")
        if version not in versions:
            raise ModelFileError(
                f"{path}: format version {version}, whose checksum covers the weights but "
                "not the metadata (classes, class names, preprocessing), so an edit of "
                "those would pass unseen; it is not loaded. If you trust this file, convert "
                f"it once with linclass.io.persist.upgrade_model({str(path)!r})")
    if isinstance(version, bool) or version not in versions:
        shown = version if isinstance(version, int | float | str) else type(version).__name__
        raise ModelFileError(
            f"{path}: format version {shown!r:.40} is not supported by this linclass (it "
            f"reads versions {', '.join(map(str, READ_VERSIONS))}); upgrade linclass or "
            "re-save the model"
        )
    return meta, raw


def _check_weights(W: np.ndarray, b: np.ndarray, *, where: str) -> None:
    if W.ndim != 2 or b.shape != (W.shape[0],):
        raise ValueError(f"{where}: inconsistent shapes W {W.shape} and b {b.shape}")
    if not (np.issubdtype(W.dtype, np.floating) and np.issubdtype(b.dtype, np.floating)):
        raise ValueError(f"{where}: weights must be floating point, got {W.dtype} and {b.dtype}")
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
        raise ValueError(f"{where}: weights contain NaN or inf")
    if W.size and max(np.abs(W).max(), np.abs(b).max(initial=0)) > MAX_ABS_WEIGHT:
        raise ValueError(f"{where}: weights beyond +-{MAX_ABS_WEIGHT:g}; the scores would "
                         "overflow")
