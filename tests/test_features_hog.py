"""Batch HOG against scikit-image's per-image ``hog``, on real images: digits, Fashion-MNIST
(when installed), and crops of scikit-image's bundled photographs, grey and colour."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from numpy.testing import assert_allclose, assert_array_equal
from skimage.feature import hog
from sklearn.datasets import load_digits

from linclass.data import FASHION_MNIST_DIR, load_dataset
from linclass.features import batch_hog, hog_features, to_gray
from linclass.features.hog import _exact_bins, _orientation_bins, hog_grid, hog_size

TOL = 1e-4  # the bar; the batch agrees to about 1e-7 in practice


def skimage_loop(images, orientations, ppc, cpb, channel_axis=None):
    return np.array([hog(im, orientations=orientations, pixels_per_cell=ppc,
                         cells_per_block=cpb, block_norm="L2-Hys", channel_axis=channel_axis)
                     for im in images])


def crops(image, size, n, seed):
    """``n`` random crops of ``size`` from one photograph, scaled to [0, 1] float32."""
    rng = np.random.default_rng(seed)
    h, w = size
    rows = rng.integers(0, image.shape[0] - h, n)
    cols = rng.integers(0, image.shape[1] - w, n)
    return np.stack([image[r : r + h, c : c + w] for r, c in zip(rows, cols, strict=True)]).astype(
        np.float32) / np.float32(255)


@pytest.fixture(scope="module")
def digits():
    return (load_digits().images / 16.0).astype(np.float32)  # 1797 real 8x8 images in [0, 1]


@pytest.fixture(scope="module")
def fashion():
    if not FASHION_MNIST_DIR.is_dir():
        pytest.skip("Fashion-MNIST is not installed (apt package dataset-fashion-mnist)")
    images = load_dataset("fashion-mnist").X_test[:300]
    return images.astype(np.float32) / np.float32(255)


@pytest.mark.parametrize("orientations, ppc, cpb", [
    (9, (2, 2), (2, 2)), (9, (3, 3), (2, 2)), (8, (2, 4), (1, 2)), (12, (1, 1), (3, 3)),
    (4, (4, 4), (2, 2)), (7, (3, 2), (2, 3)),
])
def test_equals_skimage_on_digits(digits, orientations, ppc, cpb):
    ref = skimage_loop(digits[:400], orientations, ppc, cpb)
    got = batch_hog(digits[:400], orientations, ppc, cpb)
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert_allclose(got, ref, rtol=0, atol=TOL)


@pytest.mark.parametrize("orientations, ppc, cpb", [
    (9, (4, 4), (2, 2)), (9, (3, 3), (3, 3)), (12, (5, 7), (2, 1)), (9, (7, 7), (1, 1)),
    (6, (8, 8), (2, 2)), (39, (4, 4), (2, 2)),  # 180/39*39 < 180: the top sliver has no bin
])
def test_equals_skimage_on_fashion_mnist(fashion, orientations, ppc, cpb):
    ref = skimage_loop(fashion, orientations, ppc, cpb)
    assert_allclose(batch_hog(fashion, orientations, ppc, cpb), ref, rtol=0, atol=TOL)


@pytest.mark.parametrize("size", [(27, 25), (13, 31), (9, 10)])
def test_equals_skimage_on_odd_image_sizes(fashion, size):
    # Crops of real clothing images whose sides are not multiples of the cell size.
    images = np.ascontiguousarray(fashion[:120, : size[0], : size[1]])
    for ppc, cpb in (((4, 4), (2, 2)), ((3, 5), (2, 1))):
        ref = skimage_loop(images, 9, ppc, cpb)
        assert_allclose(batch_hog(images, 9, ppc, cpb), ref, rtol=0, atol=TOL)


@pytest.mark.parametrize("photo, size", [("astronaut", (41, 37)), ("coffee", (32, 32)),
                                         ("chelsea", (29, 50))])
def test_equals_skimage_on_colour_photographs(photo, size):
    images = crops(getattr(skimage.data, photo)(), size, 40, seed=1)
    for orientations, ppc, cpb in ((9, (4, 4), (2, 2)), (11, (5, 3), (3, 2))):
        ref = skimage_loop(images, orientations, ppc, cpb, channel_axis=-1)
        got = batch_hog(images, orientations, ppc, cpb, channel_axis=-1)
        assert_allclose(got, ref, rtol=0, atol=TOL)


def test_equals_skimage_on_grey_photograph_crops():
    images = crops(skimage.data.camera()[..., None], (45, 38), 60, seed=2)[..., 0]
    ref = skimage_loop(images, 9, (6, 5), (2, 2))
    assert_allclose(batch_hog(images, 9, (6, 5), (2, 2)), ref, rtol=0, atol=TOL)


def test_dtypes_follow_skimage(digits):
    for dtype, expected in ((np.float64, np.float64), (np.float16, np.float32),
                            (np.uint8, np.float64)):
        images = (digits[:50] * (255 if dtype == np.uint8 else 1)).astype(dtype)
        got = batch_hog(images, 9, (2, 2), (2, 2))
        assert got.dtype == expected
        assert_allclose(got, skimage_loop(images, 9, (2, 2), (2, 2)), rtol=0, atol=TOL)


@pytest.mark.parametrize("orientations", [1, 2, 4, 7, 8, 9, 12, 39, 78])
def test_orientation_bins_equal_the_literal_formula_at_every_edge(orientations):
    # Gradients whose angle sits exactly on, just below and just above every bin edge,
    # plus the awkward ones: zero, signed zeros, exactly 180 degrees, and a tiny negative
    # angle that rounds to 180 and so falls in no bin.
    rng = np.random.default_rng(orientations)
    edges = np.pi / orientations * np.arange(orientations + 1)
    angles = np.concatenate([edges, np.nextafter(edges, -1), np.nextafter(edges, 4),
                             edges - np.pi, rng.uniform(-np.pi, np.pi, 5000)])
    radius = rng.uniform(0.01, 2, angles.size)
    g_row = np.concatenate([radius * np.sin(angles), [0.0, -0.0, 0.0, -0.0, -1e-300, 0.3]])
    g_col = np.concatenate([radius * np.cos(angles), [0.0, 0.0, -1.0, -1.0, 1.0, 0.0]])
    assert_array_equal(_orientation_bins(g_row, g_col, orientations),
                       _exact_bins(g_row, g_col, orientations))
    assert _exact_bins(np.array([-1e-300]), np.array([1.0]), orientations)[0] == orientations
    g32 = (rng.integers(-255, 256, (2, 20000)) / 255).astype(np.float32)  # uint8 data
    assert_array_equal(_orientation_bins(*g32, orientations), _exact_bins(*g32, orientations))


def test_pixels_on_bin_edges_match_skimage():
    # Images whose gradients point exactly along 0, 45, 90 and 135 degrees (edges for 4 and
    # 8 bins) and every other multiple of 1/255: the exact route must agree with skimage.
    rng = np.random.default_rng(3)
    steps = rng.integers(0, 3, (30, 16, 16)).astype(np.float32) / np.float32(255)
    images = np.cumsum(np.cumsum(steps, axis=1), axis=2) / np.float32(10)
    for orientations in (4, 8, 9):
        ref = skimage_loop(images, orientations, (4, 4), (2, 2))
        assert_allclose(batch_hog(images, orientations, (4, 4), (2, 2)), ref, rtol=0, atol=TOL)


def test_a_pixel_in_no_bin_is_left_out_as_in_skimage():
    # g_row = -1e-300, g_col = 1: θ = -tiny degrees, and -tiny mod 180 rounds to 180.0,
    # which scikit-image's half-open bins [edge_i, edge_i+1) leave out.
    images = np.zeros((2, 8, 8))
    for image, (r, c) in zip(images, ((2, 2), (6, 6)), strict=True):  # a middle cell; the last cell
        image[r - 1, c], image[r, c + 1] = 1e-300, 1.0
    ref = skimage_loop(images, 9, (4, 4), (1, 1))
    assert_allclose(batch_hog(images, 9, (4, 4), (1, 1)), ref, rtol=0, atol=TOL)


def test_hog_features_is_grey_hog_in_float32_on_any_number_of_threads():
    colour = crops(skimage.data.coffee(), (24, 20), 30, seed=4)
    one = hog_features(colour, 9, (4, 4), (2, 2), n_jobs=1)
    assert one.dtype == np.float32 and one.shape == (30, hog_size((24, 20), 9, (4, 4), (2, 2)))
    assert_allclose(one, skimage_loop(to_gray(colour), 9, (4, 4), (2, 2)), rtol=0, atol=TOL)
    assert_array_equal(hog_features(colour, 9, (4, 4), (2, 2), n_jobs=3), one)


def test_empty_batch_and_bad_settings():
    assert batch_hog(np.zeros((0, 8, 8), np.float32), 9, (2, 2), (2, 2)).shape == (0, 324)
    grey = np.zeros((2, 8, 8), np.float32)
    with pytest.raises(ValueError, match=r"smaller than one HOG block.*at least 9x9"):
        batch_hog(grey, 9, (3, 3), (3, 3))
    for kwargs, match in (({"orientations": 0}, "orientations"),
                          ({"orientations": 2.5}, "orientations"),
                          ({"pixels_per_cell": (0, 2)}, "pixels_per_cell"),
                          ({"cells_per_block": (1, 2, 3)}, "cells_per_block")):
        with pytest.raises(ValueError, match=match):
            batch_hog(grey, **{"orientations": 9, "pixels_per_cell": (2, 2),
                               "cells_per_block": (2, 2), **kwargs})
    with pytest.raises(ValueError, match=r"\(n, H, W, C\)"):
        batch_hog(grey, channel_axis=-1)
    with pytest.raises(ValueError, match="channel_axis"):
        batch_hog(grey[..., None], channel_axis=1)
    with pytest.raises(ValueError, match=r"\(n, H, W\)"):
        batch_hog(grey[0])
    with pytest.raises(ValueError, match="finite"):
        batch_hog(np.where(grey == 0, np.nan, grey), 9, (2, 2), (2, 2))
    assert hog_grid((28, 27), (4, 5), (2, 2)) == (7, 5, 6, 4)
