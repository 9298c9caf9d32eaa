"""The name -> loader registry, path dispatch, digits, and the real Fashion-MNIST."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from linclass.data import (
    DATASETS,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_DIR,
    DataError,
    Dataset,
    load_dataset,
)
from test_data_cifar import make_cifar10_py
from test_data_idx import make_mnist_dir


def test_registry_names():
    assert set(DATASETS) == {"digits", "mnist", "fashion-mnist", "cifar10", "cifar100"}


def test_digits_is_the_embedded_default():
    ds = load_dataset("digits")
    assert isinstance(ds, Dataset) and ds.image_shape == (8, 8)
    assert ds.X_train.dtype == np.uint8 and ds.X_train.max() == 255  # 0..16 rescaled
    assert len(ds.y_train) + len(ds.y_test) == 1797 and ds.class_names[3] == "3"
    assert abs(len(ds.y_test) / 1797 - 0.25) < 0.01
    assert ds.flat("train").shape == (len(ds.y_train), 64) and ds.n_features == 64
    other = load_dataset("digits", test_size=0.5, random_state=1)
    assert len(other.y_test) > len(ds.y_test)


def test_named_idx_sets_use_data_dir(tmp_path):
    make_mnist_dir(tmp_path, gz=True)
    mnist = load_dataset("mnist", data_dir=tmp_path)
    assert mnist.name == "mnist" and mnist.class_names[0] == "0"
    fashion = load_dataset("fashion_mnist", data_dir=tmp_path)  # alias, and override
    assert fashion.class_names == FASHION_MNIST_CLASSES and fashion.source == str(tmp_path)


def test_data_dir_may_hold_a_subfolder_per_dataset(tmp_path):
    make_mnist_dir(tmp_path / "mnist", gz=False)
    assert load_dataset("mnist", data_dir=tmp_path).X_train.shape == (12, 28, 28)


def test_missing_named_datasets_say_how_to_get_them(tmp_path):
    with pytest.raises(DataError, match="data_dir=DIR"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "nowhere")
    with pytest.raises(DataError, match="cs.toronto.edu"):
        load_dataset("cifar10")


def test_paths_are_dispatched_by_content(tmp_path):
    make_mnist_dir(tmp_path / "idx", gz=True)
    assert load_dataset(tmp_path / "idx").image_shape == (28, 28)
    make_cifar10_py(tmp_path / "cif")
    assert load_dataset(str(tmp_path / "cif")).image_shape == (32, 32, 3)
    np.savez(tmp_path / "a.npz", X=np.zeros((4, 2, 2), np.uint8), y=np.arange(4) % 2)
    assert load_dataset(tmp_path / "a.npz").name == "a"
    for c in ("meta", "zebra"):  # a class folder called "meta" is not CIFAR-100
        for i in range(2):
            (tmp_path / "imgs" / c).mkdir(parents=True, exist_ok=True)
            Image.new("L", (3, 3), i).save(tmp_path / "imgs" / c / f"{i}.png")
    ds = load_dataset(tmp_path / "imgs", image_size=5, color_mode="RGB", test_size=0.5)
    assert ds.image_shape == (5, 5, 3) and ds.class_names == ["meta", "zebra"]


def test_unknown_name_and_misplaced_options(tmp_path):
    with pytest.raises(DataError, match="known names: digits"):
        load_dataset("imagenet")
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(DataError, match=".npz"):
        load_dataset(tmp_path / "x.csv")
    with pytest.raises(ValueError, match="image folders"):
        load_dataset("digits", image_size=8)


@pytest.mark.slow
@pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(),
    reason=f"real Fashion-MNIST absent: `apt-get install dataset-fashion-mnist` puts it in "
    f"{FASHION_MNIST_DIR}",
)
def test_real_fashion_mnist():
    ds = load_dataset("fashion-mnist")
    assert ds.X_train.shape == (60_000, 28, 28) and ds.X_test.shape == (10_000, 28, 28)
    assert ds.X_train.dtype == np.uint8  # 47 MB, not 376 MB of float64
    assert np.bincount(ds.y_train).tolist() == [6_000] * 10
    assert np.bincount(ds.y_test).tolist() == [1_000] * 10
    assert ds.class_names == FASHION_MNIST_CLASSES and ds.class_names[9] == "Ankle boot"
    assert 60 < ds.X_train.mean() < 90  # real pictures: mostly dark background
