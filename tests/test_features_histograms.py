"""Batch hue and grey histograms against their references: scikit-image's ``rgb2hsv`` hue
(the implementation they replace) and ``np.histogram``."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from numpy.testing import assert_allclose, assert_array_equal
from skimage.color import rgb2hsv

from linclass.features import gray_histogram, hue, hue_histogram, to_gray
from linclass.features.histograms import row_histograms

RNG = np.random.default_rng(0)


def awkward_colours() -> np.ndarray:
    """Random colours plus greys, every kind of tie between channels, and 0/1 corners."""
    c = (RNG.integers(0, 256, (600, 8, 8, 3)).astype(np.float32) / np.float32(255))
    c[:100] = c[:100, ..., :1]  # grey: no hue
    c[100:200, ..., 1] = c[100:200, ..., 0]  # red == green
    c[200:300, ..., 2] = c[200:300, ..., 1]  # green == blue
    c[300:400, ..., 2] = c[300:400, ..., 0]  # red == blue
    c[400:500] = RNG.integers(0, 2, (100, 8, 8, 3))  # corners of the cube
    return c


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hue_is_rgb2hsv_hue_bit_for_bit(dtype):
    images = awkward_colours().astype(dtype)
    got = hue(images)
    assert got.dtype == dtype
    assert_array_equal(got, rgb2hsv(images)[..., 0])


def test_hue_histogram_equals_the_rgb2hsv_histogram_on_photographs():
    photo = skimage.data.astronaut()[:480].reshape(30, 16, 512, 3)  # 30 strips of a photo
    images = photo.astype(np.float32) / np.float32(255)
    reference = row_histograms(rgb2hsv(images)[..., 0].reshape(30, -1), 16)
    assert_array_equal(hue_histogram(images, 16), reference)
    assert_allclose(hue_histogram(images, 16).sum(axis=1), 1, rtol=1e-6)


def test_gray_histogram_matches_np_histogram_on_colour_photographs():
    images = skimage.data.coffee()[:400, :600].reshape(20, 20, 600, 3).astype(np.float32) / 255
    got = gray_histogram(images, 10)
    for grey, row in zip(to_gray(images), got, strict=True):
        ref, _ = np.histogram(grey, bins=10, range=(0, 1))
        assert_allclose(row, ref / grey.size, rtol=1e-6)


def test_hue_refuses_what_is_not_float_rgb():
    for bad in (np.zeros((2, 4, 4)), np.zeros((2, 4, 4, 3), np.uint8)):
        with pytest.raises(ValueError, match="float RGB"):
            hue(bad)
