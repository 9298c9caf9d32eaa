"""Features computed once: an on-disk cache of feature matrices, keyed by images and spec.

HOG and histograms of 70,000 images cost seconds that a second ``linclass train``, every
``linclass search`` and a re-run on the same data need not pay again. An entry is two
files in the cache folder, named by its key::

    <key>.npy    the float32 feature matrix (n_images, D), NumPy's .npy format
    <key>.json   its sidecar: what it holds and the CRC-32 of the matrix's bytes

    key = SHA-256 of {cache format, FEATURES_REVISION, extractor spec, SHA-256 of images}

No pickle anywhere: the matrix is read into a preallocated float32 array after its .npy
header is checked. An entry is used only if its sidecar describes exactly what was asked
for (format, key, spec, images, shape, dtype) and the matrix's bytes match the sidecar's
CRC-32; a missing, truncated, corrupt or foreign entry is deleted and the features are
recomputed. (The CRC-32 catches a damaged matrix at 2.5 GB/s, three times SHA-256's
speed; what the entry *is* rests on the SHA-256 key and the sidecar's description, and
anyone who could forge a matrix could rewrite its sidecar too.) Both files are written
atomically, the sidecar last, so a reader never trusts a half-written entry. The folder is
capped at ``max_bytes``: the least recently used entries go first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import warnings
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from linclass.io.fileio import atomic_open

# NumPy is imported where it is used: `linclass cache info` lists the folder without it.
if TYPE_CHECKING:
    import numpy as np

    from linclass.features.extract import FeatureExtractor
    from linclass.features.progress import Progress

CACHE_FORMAT = "linclass.feature-cache/1"
FEATURES_REVISION = 1  # bump whenever a change to linclass.features alters a feature value
DEFAULT_MAX_MB = 2048
MIN_CACHED_PIXELS = 1 << 18  # smaller sets are faster to recompute than to hash and load
MAX_SIDECAR_BYTES = 1 << 16
_ENTRY = re.compile(r"^\.?([0-9a-f]{64})\.(npy|json)(\..+\.tmp)?$")  # entries and their temps
_CHUNK = 1 << 24  # bytes read and hashed at a time


def array_sha256(*arrays: np.ndarray) -> str:
    """SHA-256 over the dtype, shape and bytes of each array, in order (a data checksum)."""
    import numpy as np

    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}|{a.shape}|".encode())
        h.update(a.data.cast("B"))
    return h.hexdigest()


class Entry(NamedTuple):
    """One cached feature matrix: its key, bytes on disk (both files) and last use."""

    key: str
    nbytes: int
    last_used: float


class FeatureCache:
    """Feature matrices on disk, keyed by the images' checksum and the extractor's spec.

    Args:
        directory: The cache folder (created on the first write).
        max_bytes: Cap on the folder's entries; least recently used entries are removed
            beyond it, and a matrix bigger than the cap is not stored. 0 stores nothing.
        min_pixels: Image sets with fewer pixels are never cached (recomputing is cheaper);
            None reads :data:`MIN_CACHED_PIXELS`.
    """

    def __init__(self, directory: str | os.PathLike, max_bytes: int = DEFAULT_MAX_MB << 20,
                 min_pixels: int | None = None) -> None:
        self.directory = Path(directory)
        self.max_bytes = int(max_bytes)
        self.min_pixels = MIN_CACHED_PIXELS if min_pixels is None else int(min_pixels)

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.directory)!r}, max_bytes={self.max_bytes})"

    # --- the one call a pipeline makes ----------------------------------------------------

    def features(self, extractor: FeatureExtractor, images: np.ndarray,
                 progress: Progress = None) -> np.ndarray:
        """``extractor.transform(images)``, from the cache when a valid entry holds it.

        Args:
            extractor: A fitted :class:`~linclass.features.FeatureExtractor`.
            images: ndarray of shape (n, *extractor.image_shape_).
            progress: Passed to ``extractor.transform`` when the features are computed.

        Returns:
            float32 ndarray of shape (n, extractor.n_features_out_), the caller's to modify.
        """
        import numpy as np

        images = np.asarray(images)
        if images.size < self.min_pixels:
            return extractor.transform(images, progress)
        spec = self.spec_of(extractor)
        expect = {"format": CACHE_FORMAT, "spec": spec, "images_sha256": array_sha256(images),
                  "shape": [int(images.shape[0]), int(extractor.n_features_out_)],
                  "dtype": "float32"}
        key = hashlib.sha256(json.dumps(
            {k: expect[k] for k in ("format", "spec", "images_sha256")}, sort_keys=True
        ).encode()).hexdigest()
        found = self.get(key, expect)
        if found is not None:
            return found
        features = extractor.transform(images, progress)
        self.put(key, expect, features)
        return features

    @staticmethod
    def spec_of(extractor: FeatureExtractor) -> dict[str, Any]:
        """What the features depend on: the extractor's parameters except ``batch_size``,
        the image shape, and :data:`FEATURES_REVISION` (JSON-ready)."""
        params = {k: v for k, v in extractor.spec_params().items() if k != "batch_size"}
        return {"revision": FEATURES_REVISION, "extractor": params,
                "image_shape": list(extractor.image_shape_)}

    # --- entries ---------------------------------------------------------------------------

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.npy", self.directory / f"{key}.json"

    def get(self, key: str, expect: dict[str, Any]) -> np.ndarray | None:
        """The entry's matrix if it is intact and is exactly ``expect``; else None (and a
        bad entry is removed so that the recomputed features replace it)."""
        npy, sidecar = self._paths(key)
        if not sidecar.exists():
            return None
        try:
            meta = self._read_sidecar(sidecar)
            if meta is None or meta.get("key") != key or any(
                    meta.get(k) != v for k, v in expect.items()):
                raise ValueError("sidecar does not describe the features asked for")
            array = self._read_matrix(npy, tuple(expect["shape"]), meta["crc32"])
            os.utime(sidecar)  # most recently used
            return array
        except (OSError, ValueError, KeyError, TypeError):
            self._remove(key)
            return None

    @staticmethod
    def _read_sidecar(path: Path) -> dict[str, Any] | None:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        meta = json.loads(path.read_text(encoding="utf-8"))
        return meta if isinstance(meta, dict) else None

    @staticmethod
    def _read_matrix(path: Path, shape: tuple[int, ...], crc32: int) -> np.ndarray:
        """Read a float32 C-order .npy of ``shape`` into a fresh array, checking its bytes."""
        import numpy as np

        with path.open("rb") as f:
            readers = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}
            version = np.lib.format.read_magic(f)
            if version not in readers:
                raise ValueError(f"{path}: .npy version {version} is not one this cache writes")
            header = readers[version](f)
            if header != (shape, False, np.dtype("<f4")):
                raise ValueError(f"{path} holds {header}, not float32 {shape}")
            array = np.empty(shape, np.float32)
            view = array.data.cast("B")
            crc = 0
            for start in range(0, len(view), _CHUNK):
                part = view[start : start + _CHUNK]
                if f.readinto(part) != len(part):
                    raise ValueError(f"{path} is truncated")
                crc = zlib.crc32(part, crc)
            if f.read(1) or crc != crc32:
                raise ValueError(f"{path} does not match its checksum")
        return array

    def put(self, key: str, expect: dict[str, Any], features: np.ndarray) -> bool:
        """Store ``features`` under ``key`` (matrix first, then the sidecar that vouches for
        it), then trim the folder to ``max_bytes``. Returns whether it was stored; a cache
        that cannot be written is warned about, never an error."""
        import numpy as np

        features = np.ascontiguousarray(features, dtype=np.float32)
        if features.nbytes + MAX_SIDECAR_BYTES > self.max_bytes:
            return False
        npy, sidecar = self._paths(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with atomic_open(npy, force=True, durable=False) as f:
                np.lib.format.write_array(f, features, allow_pickle=False)
            meta = {**expect, "key": key, "crc32": zlib.crc32(features.data.cast("B")),
                    "created": time.time()}
            with atomic_open(sidecar, force=True, durable=False) as f:
                f.write(json.dumps(meta, indent=1).encode("utf-8"))
        except OSError as exc:
            warnings.warn(f"feature cache {self.directory} not written ({exc})", stacklevel=2)
            self._remove(key)
            return False
        self.trim(keep=key)
        return True

    def entries(self) -> list[Entry]:
        """Every entry in the folder (complete or not), least recently used first."""
        found: dict[str, list[float]] = {}
        if not self.directory.is_dir():
            return []
        for path in self.directory.iterdir():
            match = _ENTRY.match(path.name)
            if match is None:
                continue
            try:
                stat = path.stat()
            except OSError:
                continue
            size_time = found.setdefault(match.group(1), [0, 0.0])
            size_time[0] += stat.st_size
            if match.group(2) == "json" and match.group(3) is None:
                size_time[1] = stat.st_mtime
        return sorted((Entry(k, int(s), t) for k, (s, t) in found.items()),
                      key=lambda e: e.last_used)

    def trim(self, keep: str | None = None) -> int:
        """Remove least recently used entries until the rest fit in ``max_bytes`` (never
        ``keep``). Returns the number removed."""
        entries = self.entries()
        total, removed = sum(e.nbytes for e in entries), 0
        for entry in entries:
            if total <= self.max_bytes:
                break
            if entry.key != keep:
                self._remove(entry.key)
                total -= entry.nbytes
                removed += 1
        return removed

    def clear(self) -> tuple[int, int]:
        """Remove every entry (only files this cache names; nothing else in the folder).

        Returns:
            ``(entries removed, bytes freed)``.
        """
        entries = self.entries()
        for entry in entries:
            self._remove(entry.key)
        return len(entries), sum(e.nbytes for e in entries)

    def _remove(self, key: str) -> None:
        for path in self.directory.glob(f"*{key}.*"):
            if _ENTRY.match(path.name):
                path.unlink(missing_ok=True)



def default_cache() -> FeatureCache:
    """The command line's cache: ``$LINCLASS_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/linclass/features`` (``~/.cache/linclass/features``), capped at
    ``$LINCLASS_CACHE_MAX_MB`` megabytes (default 2048; 0 turns caching off).

    Raises:
        ValueError: If ``LINCLASS_CACHE_MAX_MB`` is not a whole number >= 0.
    """
    chosen = os.environ.get("LINCLASS_CACHE_DIR")
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    directory = Path(chosen) if chosen else Path(base) / "linclass" / "features"
    cap = os.environ.get("LINCLASS_CACHE_MAX_MB", str(DEFAULT_MAX_MB))
    if not cap.strip().isdigit():
        raise ValueError(f"LINCLASS_CACHE_MAX_MB must be a whole number of megabytes "
                         f"(0 turns the feature cache off), got {cap!r}")
    return FeatureCache(directory, max_bytes=int(cap) << 20)
