"""IDX loader (MNIST / Fashion-MNIST): real format on small generated files, and every
malformed file the issue lists is refused with a DataError naming the file."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from linclass.data import DataError
from linclass.data.idx import load_idx_dataset, load_idx_images, load_idx_pair, read_idx

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")


def idx_bytes(arr: np.ndarray, code: int = 0x08, ndim: int | None = None) -> bytes:
    """Encode an array as IDX (header from its shape unless ``ndim`` overrides)."""
    shape = arr.shape if ndim is None else arr.shape[:ndim] + (1,) * (ndim - arr.ndim)
    head = bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def make_mnist_dir(root: Path, gz: bool, n_train: int = 12, n_test: int = 5) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for split, n in (("train", n_train), ("t10k", n_test)):
        X = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        write(root / f"{split}-images-idx3-ubyte{suffix}", idx_bytes(X), gz)
        write(root / f"{split}-labels-idx1-ubyte{suffix}", idx_bytes(y), gz)
    return root


@pytest.mark.parametrize("gz", [False, True])
def test_loads_mnist_folder(tmp_path, gz):
    ds = load_idx_dataset(make_mnist_dir(tmp_path, gz))
    assert ds.X_train.shape == (12, 28, 28) and ds.X_train.dtype == np.uint8
    assert ds.X_test.shape == (5, 28, 28)
    assert ds.y_train.dtype == np.int64 and list(ds.y_train[:3]) == [0, 1, 2]
    assert ds.class_names == [str(d) for d in range(10)] and ds.image_shape == (28, 28)


def test_roundtrip_values_and_other_types(tmp_path):
    X = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "a", idx_bytes(X))), X)
    F = np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float32)
    got = read_idx(write(tmp_path / "f", idx_bytes(F, 0x0D)))
    assert got.dtype == np.float32 and got.dtype.isnative
    np.testing.assert_array_equal(got, F)


def test_alternative_spelling_is_found(tmp_path):
    make_mnist_dir(tmp_path, gz=False)
    (tmp_path / "train-images-idx3-ubyte").rename(tmp_path / "train-images.idx3-ubyte")
    assert load_idx_dataset(tmp_path).X_train.shape[0] == 12


def refused(path: Path, match: str, loader=load_idx_images) -> DataError:
    with pytest.raises(DataError, match=match) as info:
        loader(path)
    assert str(path) in str(info.value)
    return info.value


IMAGES = np.zeros((3, 4, 4), np.uint8)


def test_wrong_magic(tmp_path):
    refused(write(tmp_path / "x", b"\x12\x34" + idx_bytes(IMAGES)[2:]), "magic")


def test_unknown_type_code(tmp_path):
    refused(write(tmp_path / "x", idx_bytes(IMAGES, code=0x07)), "unknown IDX type code 0x07")


def test_wrong_number_of_dimensions(tmp_path):
    refused(write(tmp_path / "x", idx_bytes(IMAGES.reshape(3, 16))), "3 dimensions")


def test_wrong_type_for_images(tmp_path):
    refused(write(tmp_path / "x", idx_bytes(IMAGES.astype(np.int32), 0x0C)), "unsigned bytes")


@pytest.mark.parametrize("gz", [False, True])
def test_header_larger_than_file_fails_before_allocating(tmp_path, gz, monkeypatch):
    # Claims 4e9 x 4e9 x 4e9 bytes: allocating that would crash, so the error must come first.
    head = bytes([0, 0, 8, 3]) + struct.pack(">3I", 4_000_000_000, 4_000_000_000, 4_000_000_000)
    path = write(tmp_path / ("x.gz" if gz else "x"), head + b"\0" * 64, gz)
    monkeypatch.setattr(np, "empty", lambda *a, **k: pytest.fail("allocated"))
    refused(path, "header (claims|says)")


@pytest.mark.parametrize("gz", [False, True])
def test_missing_bytes(tmp_path, gz):
    path = write(tmp_path / ("x.gz" if gz else "x"), idx_bytes(IMAGES)[:-5], gz)
    refused(path, "missing bytes|holds 43 bytes")


@pytest.mark.parametrize("gz", [False, True])
def test_trailing_bytes(tmp_path, gz):
    path = write(tmp_path / ("x.gz" if gz else "x"), idx_bytes(IMAGES) + b"extra", gz)
    refused(path, "trailing bytes")


def test_header_cut_short(tmp_path):
    refused(write(tmp_path / "x", bytes([0, 0, 8, 3, 0, 0])), "ends inside")
    refused(write(tmp_path / "y", b"\0\0"), "too short")


def test_count_mismatch(tmp_path):
    images = write(tmp_path / "i", idx_bytes(IMAGES))
    labels = write(tmp_path / "l", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(DataError, match="4 labels but .* 3 images") as info:
        load_idx_pair(images, labels, 10)
    assert info.value.path == str(labels)


def test_label_out_of_range(tmp_path):
    images = write(tmp_path / "i", idx_bytes(IMAGES))
    labels = write(tmp_path / "l", idx_bytes(np.array([1, 10, 2], np.uint8)))
    with pytest.raises(DataError, match="label 10 at index 1 is out of range 0..9"):
        load_idx_pair(images, labels, 10)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(idx_bytes(np.arange(4000, dtype=np.uint8).reshape(10, 20, 20)))
    refused(write(tmp_path / "x.gz", data[: len(data) // 2]), "truncated")


def test_non_gzip_bytes_named_gz(tmp_path):
    # A perfectly valid raw IDX file, but its name promises gzip: refuse, don't guess.
    refused(write(tmp_path / "x.gz", idx_bytes(IMAGES)), "not a valid gzip")


def test_corrupt_gzip_body(tmp_path):
    data = bytearray(gzip.compress(idx_bytes(np.arange(4000, dtype=np.uint8).reshape(10, 20, 20))))
    data[20:40] = b"\xff" * 20
    refused(write(tmp_path / "x.gz", bytes(data)), "gzip")


def test_missing_file_in_folder_names_what_is_needed(tmp_path):
    make_mnist_dir(tmp_path, gz=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_idx_dataset(tmp_path)
