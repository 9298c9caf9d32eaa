"""npz loader: both key layouts, label encodings, and refused archives."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from linclass.data import DataError
from linclass.data.npz import load_npz

RNG = np.random.default_rng(0)


def test_split_keys_with_class_names(tmp_path):
    path = tmp_path / "toy.npz"
    X = RNG.integers(0, 256, (6, 5, 5), dtype=np.uint8)
    np.savez(path, X_train=X, y_train=np.array([0, 1, 2, 0, 1, 2]), X_test=X[:3],
             y_test=np.array([2, 1, 0]), class_names=np.array(["a", "b", "c"]))
    ds = load_npz(path)
    assert ds.name == "toy" and ds.class_names == ["a", "b", "c"]
    np.testing.assert_array_equal(ds.X_train, X)
    assert ds.y_test.tolist() == [2, 1, 0] and ds.y_test.dtype == np.int64


def test_keras_style_lowercase_and_channel_axis(tmp_path):
    path = tmp_path / "k.npz"
    X = RNG.integers(0, 256, (4, 3, 3, 1), dtype=np.uint8)
    np.savez_compressed(path, x_train=X, y_train=np.array([3, 7, 3, 7]), x_test=X,
                        y_test=np.array([7, 7, 3, 3]))
    ds = load_npz(path)
    assert ds.image_shape == (3, 3) and ds.class_names == ["3", "7"]
    assert ds.y_train.tolist() == [0, 1, 0, 1]


def test_pool_with_string_labels_and_float_images(tmp_path):
    path = tmp_path / "p.npz"
    X = RNG.random((20, 4, 4, 3)).astype(np.float64)
    y = np.array(["dog", "cat"] * 10)
    np.savez(path, X=X, y=y)
    ds = load_npz(path, test_size=0.5, random_state=3)
    assert ds.class_names == ["cat", "dog"] and ds.X_train.dtype == np.float32
    assert ds.image_shape == (4, 4, 3) and len(ds.y_train) == len(ds.y_test) == 10


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / "o.npz"
    np.savez(path, X=np.array([object(), 1], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError, match="Python objects"):
        load_npz(path)


def test_header_claiming_more_than_stored(tmp_path):
    # A valid .npy header claiming 10^18 bytes over 8 real ones: refused before np.load
    # would allocate the claimed array.
    header = {"descr": "|u1", "fortran_order": False, "shape": (10**6, 10**6, 10**6)}
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, header)
    path = tmp_path / "h.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("X.npy", out.getvalue() + bytes(8))
    with pytest.raises(DataError, match="'X.npy' header says"):
        load_npz(path)


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"X": np.zeros((4, 2, 2)), "z": np.zeros(4)}, "expected keys"),
        ({"X": np.zeros((4, 2, 2), np.uint8), "y": np.arange(3) % 2}, "4 images but y has 3"),
        ({"X": np.zeros((4, 4), np.uint8), "y": np.arange(4) % 2}, "shape"),
        ({"X": np.full((4, 2, 2), 2.0), "y": np.arange(4) % 2}, r"\[0, 1\]"),
        ({"X": np.full((4, 2, 2), 300), "y": np.arange(4) % 2}, "0..255"),
        ({"X": np.zeros((4, 2, 2), np.uint8), "y": np.zeros(4, int)}, "at least 2 classes"),
        ({"X": np.zeros((4, 2, 2), np.uint8), "y": np.arange(4) % 2,
          "class_names": np.array(["a"])}, "at least 2 class names"),
        ({"X": np.zeros((4, 2, 2), np.uint8), "y": np.arange(4),
          "class_names": np.array(["a", "b"])}, r"0..1"),
        ({"X": np.zeros((4, 2, 2), np.uint8), "y": np.arange(4) * 0.5}, "integers or strings"),
    ],
)
def test_bad_contents(tmp_path, arrays, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=match) as info:
        load_npz(path)
    assert str(path) in str(info.value)


def test_not_a_zip(tmp_path):
    path = tmp_path / "x.npz"
    path.write_text("hello")
    with pytest.raises(DataError, match="not a valid .npz"):
        load_npz(path)
