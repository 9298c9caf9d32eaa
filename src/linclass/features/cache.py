"""Features computed once: an on-disk cache of feature matrices, keyed by images and spec.

HOG and histograms of 70,000 images cost seconds that a second ``linclass train``, every
``linclass search`` and a re-run on the same data need not pay again. The cache keeps its
entries in a folder of its own inside the cache folder, marked as its own by a
``CACHEDIR.TAG`` file it writes there (the Cache Directory Tagging convention, which
backup tools honour)::

    <cache folder>/linclass-feature-cache/CACHEDIR.TAG
    <cache folder>/linclass-feature-cache/<key>.npy    the float32 matrix (n_images, D)
    <cache folder>/linclass-feature-cache/<key>.json   its sidecar: what it holds and the
                                                       CRC-32 of the matrix's bytes

    key = SHA-256 of {cache format, FEATURES_REVISION, extractor spec, SHA-256 of images}

**What it removes.** Only plain files named like an entry (or an entry's temporary file)
inside that marked folder: what the cache itself wrote there. Files of the user's in the
cache folder, a same-named file anywhere else, a folder without the marker (its name taken
by someone else) and anything that is not a plain file (a symlink, a FIFO, a folder) are
never removed. Trimming and ``clear`` scan the folder once and sort once.

**What it reads.** Every file goes through one safe-open
(:func:`linclass.io.fileio.open_regular`): a plain file, no symlink followed, no FIFO
waited on, its size bounded. No pickle anywhere: the matrix is read into a preallocated
float32 array after its .npy header is checked. An entry is used only if its sidecar
describes exactly what was asked for (format, key, spec, images, shape, dtype) and the
matrix's bytes match the sidecar's CRC-32; a missing, truncated, corrupt, foreign or
unparsable entry (nesting too deep for the JSON parser included) is a miss: the features
are recomputed and the entry rewritten. (The CRC-32 catches a damaged matrix at 2.5 GB/s,
three times SHA-256's speed; what the entry *is* rests on the SHA-256 key and the
sidecar's description, and anyone who could forge a matrix could rewrite its sidecar
too.) Both files are written atomically, the sidecar last, so a reader never trusts a
half-written entry. The folder is capped at ``max_bytes``: the least recently used
entries go first.

**It never stops a run.** A cache folder that cannot be read or written (a read-only
file system, another user's folder, a full disk) gives one warning (a run's cache
warns once), and the features are computed as if there were no cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
import warnings
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from linclass.io.fileio import atomic_open, open_regular

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
ENTRY_FOLDER = "linclass-feature-cache"  # the cache's own folder inside the cache folder
MARKER = "CACHEDIR.TAG"
#: The Cache Directory Tagging signature (https://bford.info/cachedir/), then who wrote it.
MARKER_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
               "# This folder holds linclass's feature cache (linclass cache info / clear).\n"
               "# linclass only ever removes the <sha256>.npy/.json entries it wrote here.\n")
_ENTRY = re.compile(r"^\.?([0-9a-f]{64})\.(npy|json)(\..+\.tmp)?$")  # entries and their temps
_CHUNK = 1 << 24  # bytes read and hashed at a time
_MISS = (OSError, ValueError, KeyError, TypeError, RecursionError, EOFError)  # a bad entry


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
    """One cached feature matrix: its key, bytes on disk (both files) and last use, and
    the files that make it up (what removing it removes)."""

    key: str
    nbytes: int
    last_used: float
    paths: tuple[Path, ...] = ()


class FeatureCache:
    """Feature matrices on disk, keyed by the images' checksum and the extractor's spec.

    Args:
        directory: The cache folder; entries go in its ``linclass-feature-cache``
            subfolder (created, with its marker, on the first write).
        max_bytes: Cap on the folder's entries; least recently used entries are removed
            beyond it, and a matrix bigger than the cap is not stored. 0 turns the cache
            off: nothing is read or written.
        min_pixels: Image sets with fewer pixels are never cached (recomputing is cheaper);
            None reads :data:`MIN_CACHED_PIXELS`.
    """

    def __init__(self, directory: str | os.PathLike, max_bytes: int = DEFAULT_MAX_MB << 20,
                 min_pixels: int | None = None) -> None:
        self.directory = Path(directory)
        self.max_bytes = int(max_bytes)
        self.min_pixels = MIN_CACHED_PIXELS if min_pixels is None else int(min_pixels)
        self.warned = False  # a cache that cannot be written says so once, not per entry

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.directory)!r}, max_bytes={self.max_bytes})"

    @property
    def entry_folder(self) -> Path:
        """The folder the entries are in (the cache's own, marked by ``CACHEDIR.TAG``)."""
        return self.directory / ENTRY_FOLDER

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
        if images.size < self.min_pixels or self.max_bytes <= 0:
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
        return self.entry_folder / f"{key}.npy", self.entry_folder / f"{key}.json"

    def owned(self) -> bool:
        """True when the entry folder is a real folder holding the marker this cache
        writes: the proof that what is in it was written by it."""
        try:
            if not stat.S_ISDIR(os.lstat(self.entry_folder).st_mode):
                return False
            with open_regular(self.entry_folder / MARKER, max_bytes=4096) as f:
                return f.read(4097).decode("utf-8", "replace") == MARKER_TEXT
        except OSError:
            return False

    def get(self, key: str, expect: dict[str, Any]) -> np.ndarray | None:
        """The entry's matrix if it is intact and is exactly ``expect``; else None (and a
        bad entry the cache wrote is removed, so that the recomputed features replace it).
        Never raises for what is on disk."""
        npy, sidecar = self._paths(key)
        if not self.owned():
            return None
        try:
            meta = self._read_sidecar(sidecar)
        except FileNotFoundError:
            return None
        except _MISS:
            self._remove_key(key)
            return None
        try:
            if meta is None or meta.get("key") != key or any(
                    meta.get(k) != v for k, v in expect.items()):
                raise ValueError("sidecar does not describe the features asked for")
            array = self._read_matrix(npy, tuple(expect["shape"]), meta["crc32"])
        except _MISS:
            self._remove_key(key)
            return None
        try:
            os.utime(sidecar)  # most recently used (a read-only cache is still used)
        except OSError:
            pass
        return array

    @staticmethod
    def _read_sidecar(path: Path) -> dict[str, Any] | None:
        with open_regular(path, max_bytes=MAX_SIDECAR_BYTES) as f:
            data = f.read(MAX_SIDECAR_BYTES + 1)
        if len(data) > MAX_SIDECAR_BYTES:
            return None
        meta = json.loads(data.decode("utf-8"))  # RecursionError for deep nesting: a miss
        return meta if isinstance(meta, dict) else None

    @staticmethod
    def _read_matrix(path: Path, shape: tuple[int, ...], crc32: int) -> np.ndarray:
        """Read a float32 C-order .npy of ``shape`` into a fresh array, checking its bytes."""
        import numpy as np

        if not isinstance(crc32, int) or any(not isinstance(n, int) or n < 0 for n in shape):
            raise ValueError(f"{path}: a sidecar with a bad shape or checksum")
        n_bytes = int(np.prod(shape, dtype=object)) * 4
        with open_regular(path, max_bytes=n_bytes + (1 << 16)) as f:
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

    def _claim_folder(self) -> None:
        """Create the entry folder and its marker, or check that an existing one is ours.

        Raises:
            OSError: It cannot be created, or its name is taken by something else.
        """
        self.entry_folder.mkdir(parents=True, exist_ok=True)
        if self.owned():
            return
        if not stat.S_ISDIR(os.lstat(self.entry_folder).st_mode):
            raise OSError(f"{self.entry_folder} is not a folder (a symlink?), so it is not the "
                          "cache's to write in")
        with os.scandir(self.entry_folder) as scan:
            taken = next(scan, None) is not None
        if taken:
            raise OSError(f"{self.entry_folder} exists without linclass's {MARKER} marker, "
                          "so it is not the cache's to write in")
        with atomic_open(self.entry_folder / MARKER, force=True, durable=False) as f:
            f.write(MARKER_TEXT.encode("utf-8"))

    def put(self, key: str, expect: dict[str, Any], features: np.ndarray) -> bool:
        """Store ``features`` under ``key`` (matrix first, then the sidecar that vouches for
        it), then trim the folder to ``max_bytes``. Returns whether it was stored; a cache
        that cannot be written is warned about (once), never an error."""
        import numpy as np

        features = np.ascontiguousarray(features, dtype=np.float32)
        if features.nbytes + MAX_SIDECAR_BYTES > self.max_bytes:
            return False
        npy, sidecar = self._paths(key)
        try:
            self._claim_folder()
            with atomic_open(npy, force=True, durable=False) as f:
                np.lib.format.write_array(f, features, allow_pickle=False)
            meta = {**expect, "key": key, "crc32": zlib.crc32(features.data.cast("B")),
                    "created": time.time()}
            with atomic_open(sidecar, force=True, durable=False) as f:
                f.write(json.dumps(meta, indent=1).encode("utf-8"))
        except OSError as exc:
            self.warn(f"not written ({exc.strerror or exc})")
            self._remove_key(key)
            return False
        self.trim(keep=key)
        return True

    def warn(self, problem: str) -> None:
        """One warning per cache (a run's): ``feature cache DIR problem; ...``."""
        if self.warned:
            return
        self.warned = True
        warnings.warn(f"feature cache {self.directory} {problem}; the features are computed "
                      "without it (see linclass cache info)", stacklevel=3)

    def entries(self) -> list[Entry]:
        """Every entry in the cache's own folder (complete or not; plain files only),
        least recently used first: one scan, one sort."""
        if not self.owned():
            return []
        found: dict[str, list[Any]] = {}
        try:
            with os.scandir(self.entry_folder) as scan:
                items = list(scan)
        except OSError:
            return []
        for item in items:
            match = _ENTRY.match(item.name)
            if match is None:
                continue
            try:
                info = item.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):  # a symlink, FIFO or folder: not the cache's
                continue
            record = found.setdefault(match.group(1), [0, 0.0, []])
            record[0] += info.st_size
            record[2].append(Path(item.path))
            if match.group(2) == "json" and match.group(3) is None:
                record[1] = info.st_mtime
        return sorted((Entry(k, int(n), t, tuple(p)) for k, (n, t, p) in found.items()),
                      key=lambda e: e.last_used)

    def trim(self, keep: str | None = None) -> int:
        """Remove least recently used entries until the rest fit in ``max_bytes`` (never
        ``keep``). Returns the number removed."""
        entries = self.entries()
        total, removed = sum(e.nbytes for e in entries), 0
        for entry in entries:
            if total <= self.max_bytes:
                break
            if entry.key != keep and self._remove(entry):
                total -= entry.nbytes
                removed += 1
        return removed

    def clear(self) -> tuple[int, int]:
        """Remove every entry (only the files this cache wrote in its own folder).

        Returns:
            ``(entries removed, bytes freed)``.
        """
        entries = [e for e in self.entries() if self._remove(e)]
        return len(entries), sum(e.nbytes for e in entries)

    def _remove(self, entry: Entry) -> bool:
        """Unlink an entry's files; False when one of them could not be removed."""
        ok = True
        for path in entry.paths:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                ok = False
        return ok

    def _remove_key(self, key: str) -> None:
        """Remove a bad entry's two files, if they are plain files in the owned folder."""
        if not self.owned():
            return
        paths = []
        for path in self._paths(key):
            try:
                if stat.S_ISREG(os.lstat(path).st_mode):
                    paths.append(path)
            except OSError:
                continue
        self._remove(Entry(key, 0, 0.0, tuple(paths)))


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
    if re.fullmatch(r"[0-9]{1,12}", cap.strip()) is None:  # ASCII digits: "²" is a digit too
        raise ValueError(f"LINCLASS_CACHE_MAX_MB must be a whole number of megabytes "
                         f"(0 turns the feature cache off), got {cap!r}")
    return FeatureCache(directory, max_bytes=int(cap.strip()) << 20)
