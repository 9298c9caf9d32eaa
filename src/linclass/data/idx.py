"""MNIST and Fashion-MNIST in the IDX format, gzipped or not.

An IDX file is a 4-byte magic number ``00 00 <type code> <ndim>``, then ``ndim`` big-endian
uint32 sizes, then the values, big-endian, row-major. Nothing in the file is trusted: the
sizes are checked against what the file can actually hold before any buffer of that size
exists, and the payload must end exactly where the header says.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from io import BufferedIOBase
from pathlib import Path

import numpy as np

from linclass.data.dataset import Dataset
from linclass.data.errors import DataError
from linclass.data.labels import check_labels

# Type code -> big-endian dtype, from the format's description (Y. LeCun's MNIST page).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# DEFLATE cannot expand data by more than about 1032:1, so a gzip of n bytes cannot
# decompress to more than this many times n; a header claiming more is refused at once.
MAX_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip


def read_idx(path: str | Path) -> np.ndarray:
    """Read any IDX file, plain or gzipped, into an array in native byte order.

    A file is read as gzip when its name ends in ``.gz`` or it starts with the gzip magic
    bytes; a ``.gz`` name on non-gzip bytes is an error, not a fallback.

    Args:
        path: The IDX file.

    Returns:
        ndarray with the header's shape and type (uint8 for MNIST's images and labels).

    Raises:
        DataError: Wrong magic, unknown type code, sizes the file cannot hold, missing or
            trailing bytes, or a truncated or fake gzip.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as raw:
            is_gzip = path.name.endswith(".gz") or raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream: BufferedIOBase = gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip else raw
            dtype, shape = _read_header(stream, path)
            n_bytes = math.prod(shape) * dtype.itemsize
            header_bytes = 4 + 4 * len(shape)
            # Check the claim against what the file can hold *before* reading the payload.
            if is_gzip and n_bytes > MAX_DEFLATE_RATIO * size:
                raise DataError(
                    path, f"header claims {shape} ({n_bytes} bytes), more than a {size}-byte "
                    "gzip file can hold"
                )
            if not is_gzip and n_bytes != size - header_bytes:
                raise DataError(
                    path, f"header says {shape} ({n_bytes} bytes of data) but the file holds "
                    f"{size - header_bytes} bytes after the header"
                    + (" (trailing bytes)" if n_bytes < size - header_bytes else "")
                )
            payload = _read_payload(stream, n_bytes, path)
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except gzip.BadGzipFile as exc:
        raise DataError(path, f"not a valid gzip file ({exc})") from None
    except EOFError:
        raise DataError(path, "gzip file is truncated (ends before its end marker)") from None
    except zlib.error as exc:
        raise DataError(path, f"corrupt gzip data ({exc})") from None
    values = np.frombuffer(payload, dtype=dtype).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=False)  # no copy for uint8


def _read_header(stream: BufferedIOBase, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """Parse the magic number and the sizes; return the dtype and the shape."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise DataError(path, f"file too short for an IDX header ({len(magic)} bytes)")
    if magic[:2] != b"\x00\x00":
        raise DataError(path, f"wrong magic number {magic.hex()}: an IDX file starts with 0000")
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(path, f"unknown IDX type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise DataError(path, "IDX header declares 0 dimensions")
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(path, f"header declares {ndim} dimensions but the file ends inside it")
    return IDX_DTYPES[code], struct.unpack(f">{ndim}I", sizes)


def _read_payload(stream: BufferedIOBase, n_bytes: int, path: Path) -> bytearray:
    """Read exactly ``n_bytes`` and check nothing follows.

    The buffer grows with the data actually read, so a lying header cannot make it
    allocate more than the file really holds.
    """
    buf = bytearray()
    while len(buf) < n_bytes:
        chunk = stream.read(min(_CHUNK, n_bytes - len(buf)))
        if not chunk:
            raise DataError(
                path, f"missing bytes: header says {n_bytes} bytes of data, file has {len(buf)}"
            )
        buf += chunk
    if stream.read(1):
        raise DataError(path, f"trailing bytes after the {n_bytes} bytes the header describes")
    return buf


def load_idx_images(path: str | Path) -> np.ndarray:
    """Read an IDX image file: unsigned bytes, 3 dimensions (n, rows, cols).

    Returns:
        ndarray of shape (n_images, rows, cols), uint8.
    """
    X = read_idx(path)
    if X.dtype != np.uint8:
        raise DataError(path, f"images must be unsigned bytes (type 0x08), got {X.dtype}")
    if X.ndim != 3:
        raise DataError(path, f"images need 3 dimensions (n, rows, cols), got {X.ndim}: {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0 or X.shape[2] == 0:
        raise DataError(path, f"holds no images (shape {X.shape})")
    return X


def load_idx_labels(path: str | Path, n_classes: int) -> np.ndarray:
    """Read an IDX label file: unsigned bytes, 1 dimension, values below ``n_classes``.

    Returns:
        ndarray of shape (n_labels,), int64.
    """
    y = read_idx(path)
    if y.dtype != np.uint8:
        raise DataError(path, f"labels must be unsigned bytes (type 0x08), got {y.dtype}")
    if y.ndim != 1:
        raise DataError(path, f"labels need 1 dimension, got {y.ndim}: {y.shape}")
    return check_labels(y, path, "labels", n_classes=n_classes)


def load_idx_pair(
    images_path: str | Path, labels_path: str | Path, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Read matching image and label files and check they hold the same count.

    Returns:
        ``(X, y)``: uint8 of shape (n, rows, cols) and int64 of shape (n,).
    """
    X = load_idx_images(images_path)
    y = load_idx_labels(labels_path, n_classes)
    if X.shape[0] != y.shape[0]:
        raise DataError(
            labels_path, f"holds {y.shape[0]} labels but {images_path} holds {X.shape[0]} images"
        )
    return X, y


def find_idx_file(directory: str | Path, split: str, kind: str) -> Path:
    """Find one of the four standard files in a folder, gzipped or not.

    Accepts the usual spellings ``train-images-idx3-ubyte`` and ``train-images.idx3-ubyte``,
    each with or without ``.gz``.

    Args:
        directory: Folder to look in.
        split: ``"train"`` or ``"t10k"``.
        kind: ``"images"`` or ``"labels"``.
    """
    directory = Path(directory)
    idx = "idx3" if kind == "images" else "idx1"
    for stem in (f"{split}-{kind}-{idx}-ubyte", f"{split}-{kind}.{idx}-ubyte"):
        for name in (stem, stem + ".gz"):
            if (directory / name).is_file():
                return directory / name
    raise DataError(directory, f"no {split}-{kind}-{idx}-ubyte[.gz] file in this folder")


def load_idx_dataset(
    directory: str | Path,
    *,
    name: str = "mnist",
    class_names: list[str] | None = None,
) -> Dataset:
    """Load an MNIST-style folder: train and t10k images and labels.

    Args:
        directory: Folder holding the four IDX files.
        name: Dataset name to record.
        class_names: Names of the classes; MNIST's ``"0"`` .. ``"9"`` by default.

    Returns:
        A :class:`Dataset` with uint8 images of shape (n, rows, cols).
    """
    class_names = list(class_names or MNIST_CLASSES)
    parts = {}
    for split in ("train", "t10k"):
        images = find_idx_file(directory, split, "images")
        labels = find_idx_file(directory, split, "labels")
        parts[split] = load_idx_pair(images, labels, len(class_names))
    (X_train, y_train), (X_test, y_test) = parts["train"], parts["t10k"]
    if X_train.shape[1:] != X_test.shape[1:]:
        raise DataError(
            directory,
            f"train images are {X_train.shape[1:]} but test images are {X_test.shape[1:]}",
        )
    return Dataset(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=class_names,
        image_shape=X_train.shape[1:],
        source=str(directory),
    )
