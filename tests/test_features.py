"""Feature extractors, preprocessing and the saved spec, checked against references
(np.histogram, skimage's hog, scikit-learn's StandardScaler)."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from skimage.feature import hog
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler

from linclass.features import (
    AffineTransform,
    FeatureExtractor,
    FeaturePipeline,
    Preprocessor,
    gray_histogram,
    hue_histogram,
    to_unit_float,
)

RNG = np.random.default_rng(0)
GREY = RNG.integers(0, 256, (7, 16, 16), dtype=np.uint8)
COLOUR = RNG.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)


def test_to_unit_float():
    out = to_unit_float(np.array([[0, 51, 255]], np.uint8))
    assert out.dtype == np.float32
    assert_allclose(out, [[0, 0.2, 1]], rtol=1e-6)
    assert to_unit_float(np.full((1, 2), 0.5)).dtype == np.float32
    for bad in (np.full((1, 2), 1.5), np.full((1, 2), np.nan), np.zeros((1, 2), np.int16)):
        with pytest.raises(ValueError, match="uint8|\\[0, 1\\]"):
            to_unit_float(bad)


def test_raw_pixels_are_scaled_flattened_float32():
    F = FeatureExtractor(kinds=("raw",)).fit_transform(COLOUR)
    assert F.dtype == np.float32 and F.shape == (5, 16 * 16 * 3)
    assert_allclose(F, COLOUR.reshape(5, -1) / 255.0, rtol=1e-6)


def test_gray_histogram_matches_np_histogram():
    F = gray_histogram(to_unit_float(GREY), bins=8)
    for img, row in zip(GREY, F, strict=True):
        ref, _ = np.histogram(img / 255.0, bins=8, range=(0, 1))
        assert_allclose(row, ref / img.size, rtol=1e-6)


def test_hue_histogram_of_pure_colours():
    pure = np.zeros((3, 2, 2, 3), np.uint8)
    for i in range(3):
        pure[i, ..., i] = 255  # red, green, blue: hue 0, 1/3, 2/3
    F = hue_histogram(to_unit_float(pure), bins=6)
    assert F.argmax(axis=1).tolist() == [0, 2, 4]
    assert_allclose(F.sum(axis=1), 1, rtol=1e-6)
    with pytest.raises(ValueError, match="colour"):
        FeatureExtractor(kinds=("hue_hist",)).fit(GREY)


def test_hog_matches_skimage_on_grey():
    F = FeatureExtractor(kinds=("hog",), hog_pixels_per_cell=(4, 4)).fit_transform(GREY)
    ref = hog(GREY[2] / 255.0, orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2))
    assert_allclose(F[2], ref, rtol=1e-5, atol=1e-6)


def test_concatenation_order_slices_and_hist_alias():
    fx = FeatureExtractor(kinds=("hist", "raw", "hog"), hist_bins=10).fit(COLOUR)
    F = fx.transform(COLOUR)
    assert list(fx.feature_slices_) == ["hue_hist", "raw", "hog"]  # "hist" -> hue on colour
    assert_allclose(F[:, fx.feature_slices_["hue_hist"]], hue_histogram(to_unit_float(COLOUR), 10))
    assert F.shape[1] == fx.n_features_out_ == 10 + 768 + fx.feature_slices_["hog"].stop - 778
    grey_fx = FeatureExtractor(kinds=("hist",)).fit(GREY)
    assert list(grey_fx.feature_slices_) == ["gray_hist"]


def test_batching_and_progress_do_not_change_results():
    seen = []
    kinds = ("raw", "gray_hist", "hog")
    small = FeatureExtractor(kinds=kinds, batch_size=3).fit(GREY)
    F = small.transform(GREY, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(3, 7), (6, 7), (7, 7)]
    assert_array_equal(F, FeatureExtractor(kinds=kinds).fit_transform(GREY))
    FeatureExtractor().fit(GREY).transform(GREY, progress=True)  # a bar, even off a TTY


def test_no_float64_copy_of_a_big_dataset():
    X = np.zeros((20_000, 28, 28), np.uint8)
    fx = FeatureExtractor(kinds=("raw",)).fit(X)
    tracemalloc.start()
    F = fx.transform(X)
    Z = Preprocessor(standardize=True).fit(F).transform(F, copy=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert Z is F and F.dtype == np.float32
    assert peak < 1.5 * F.nbytes  # float32 output plus chunks; a float64 copy adds 2x


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kinds": ("raw", "raw")}, "distinct"),
        ({"kinds": ("pixels",)}, "distinct names"),
        ({"kinds": ("hog",), "hog_pixels_per_cell": (16, 16)}, "smaller than one HOG block"),
    ],
)
def test_bad_extractor_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FeatureExtractor(**kwargs).fit(GREY)


def test_transform_checks_image_shape():
    fx = FeatureExtractor().fit(GREY)
    with pytest.raises(ValueError, match="expecting \\(16, 16\\)"):
        fx.transform(GREY[:, :8])
    with pytest.raises(ValueError, match="shape \\(n, H, W\\)"):
        fx.transform(GREY.reshape(7, -1))


def test_preprocessor_mean_image_and_standardize_match_references():
    train = RNG.normal(3, 2, (5000, 6)).astype(np.float32)  # several 1024-row chunks
    train[:, 2] = 7.0  # constant feature: divided by 1, not by 0
    test = RNG.normal(3, 2, (10, 6)).astype(np.float32)
    centred = Preprocessor().fit(train)
    assert_allclose(centred.mean_, train.mean(axis=0, dtype=np.float64), rtol=1e-6)
    assert_allclose(centred.transform(test), test - train.mean(axis=0), rtol=1e-5, atol=1e-5)
    scaled = Preprocessor(standardize=True).fit(train)
    ref = StandardScaler().fit(train.astype(np.float64))
    assert_allclose(scaled.transform(test), ref.transform(test), rtol=1e-4, atol=1e-4)
    assert scaled.transform(test).dtype == np.float32 and scaled.scale_[2] == 1.0
    none = Preprocessor(center="none", standardize=True).fit(train)
    assert_allclose(none.transform(test), test / ref.scale_, rtol=1e-5)


def test_preprocessor_errors():
    pre = Preprocessor().fit(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="X has 5 features, but Preprocessor is expecting 4"):
        pre.transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="NaN"):
        Preprocessor().fit(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="center"):
        Preprocessor(center="median").fit(np.zeros((3, 4)))


def test_pipeline_spec_roundtrip_rebuilds_identical_transform():
    pipe = FeaturePipeline(
        FeatureExtractor(kinds=("hog", "hist"), hist_bins=12, hog_pixels_per_cell=(8, 8)),
        Preprocessor(standardize=True),
    )
    train = pipe.fit_transform(COLOUR)
    spec = json.loads(json.dumps(pipe.get_spec()))  # must survive JSON
    state = {k: np.array(v) for k, v in pipe.get_state().items()}
    assert set(state) == {"preprocessor.mean", "preprocessor.scale"}
    assert all(v.dtype == np.float32 for v in state.values())
    rebuilt = FeaturePipeline.from_spec(spec, state)
    assert_array_equal(rebuilt.transform(COLOUR), pipe.transform(COLOUR))
    assert_allclose(train.mean(axis=0), 0, atol=1e-5)  # fitted on train: centred there
    assert spec["image_shape"] == [16, 16, 3] and spec["n_features"] == rebuilt.n_features_out


def test_one_number_is_a_square_hog_cell_and_block():
    # The CLI's --hog-pixels-per-cell takes one number; Python takes the same.
    square = FeatureExtractor(kinds=("hog",), hog_pixels_per_cell=2, hog_cells_per_block=1)
    pair = FeatureExtractor(kinds=("hog",), hog_pixels_per_cell=(2, 2),
                            hog_cells_per_block=(1, 1))
    assert_array_equal(square.fit(GREY).transform(GREY), pair.fit(GREY).transform(GREY))
    assert square.get_params()["hog_pixels_per_cell"] == 2  # stored as given (scikit-learn)
    # Written as pairs, as ever: model files and cache keys do not depend on the spelling.
    pipe = FeaturePipeline(square).fit(GREY)
    spec = pipe.get_spec()
    assert spec["extractor"]["hog_pixels_per_cell"] == [2, 2]
    assert spec["extractor"]["hog_cells_per_block"] == [1, 1]
    assert spec == FeaturePipeline(pair).fit(GREY).get_spec()
    rebuilt = FeaturePipeline.from_spec(spec, pipe.get_state())
    assert_array_equal(rebuilt.transform(GREY), pipe.transform(GREY))
    with pytest.raises(ValueError, match="pixels_per_cell must be"):
        FeatureExtractor(kinds=("hog",), hog_pixels_per_cell=0).fit(GREY)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda s, a: s.update(format="other/9"), "format"),
        (lambda s, a: s["extractor"].update(colour=True), "keys from"),
        (lambda s, a: s.update(n_features=3), "spec says 3 features"),
        (lambda s, a: a.pop("preprocessor.scale"), "missing 'preprocessor.scale'"),
        (lambda s, a: a.update({"preprocessor.scale": -a["preprocessor.scale"]}), "positive"),
    ],
)
def test_bad_spec_is_refused(edit, match):
    pipe = FeaturePipeline().fit(GREY)
    spec, state = pipe.get_spec(), dict(pipe.get_state())
    edit(spec, state)
    with pytest.raises(ValueError, match=match):
        FeaturePipeline.from_spec(spec, state)


def test_scikit_learn_conventions():
    fx = clone(FeatureExtractor(kinds=("raw", "hog")))
    assert fx.get_params()["kinds"] == ("raw", "hog") and not hasattr(fx, "n_features_out_")
    assert FeatureExtractor().fit(GREY) is not None
    with pytest.raises(Exception, match="not fitted"):
        Preprocessor().transform(np.zeros((2, 2)))


@pytest.mark.parametrize("seed", range(10))
def test_histograms_are_distributions(seed):
    # Random shapes, values and bin counts (hypothesis is not a declared dependency).
    rng = np.random.default_rng(seed)
    n, h, w, bins = rng.integers(1, 5), rng.integers(1, 7), rng.integers(1, 7), rng.integers(1, 33)
    images = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
    F = gray_histogram(to_unit_float(images), int(bins))
    assert F.shape == (n, bins) and (F >= 0).all()
    assert_allclose(F.sum(axis=1), 1, rtol=1e-5)


def test_pipeline_fit_in_batches_equals_fit_on_all_rows():
    from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(2500, 6, 5), dtype=np.uint8)
    batched = FeaturePipeline(FeatureExtractor(batch_size=300),
                              Preprocessor(standardize=True)).fit(images)
    whole = FeaturePipeline(FeatureExtractor(), Preprocessor(standardize=True))
    whole.fit_transform(images)
    np.testing.assert_allclose(batched.preprocessor.mean_, whole.preprocessor.mean_, rtol=1e-6)
    np.testing.assert_allclose(batched.preprocessor.scale_, whole.preprocessor.scale_, rtol=1e-6)
    assert batched.is_cheap and not FeaturePipeline(FeatureExtractor(kinds=("hog",))).is_cheap


@pytest.mark.parametrize("standardize", [False, True])
def test_raw_pipeline_is_affine_and_its_batch_transform_says_so(standardize):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(30, 6, 5), dtype=np.uint8)
    pipe = FeaturePipeline(preprocessor=Preprocessor(standardize=standardize)).fit(images)
    a, c = pipe.affine()
    assert a.dtype == c.dtype == np.float32 and a.shape == c.shape == (30,)
    expected = pipe.transform(images)
    assert_allclose(images.reshape(30, -1) * a + c, expected, rtol=1e-5, atol=1e-5)
    batch = pipe.batch_transform
    assert isinstance(batch, AffineTransform) and batch.dtype == np.uint8
    assert_array_equal(batch(images), expected)
    out = np.empty((30, 30), np.float32)
    assert batch(images, out=out) is out
    assert_array_equal(batch.cast(images), images.reshape(30, -1).astype(np.float32))


def test_histogram_features_are_not_affine():
    images = np.random.default_rng(1).integers(0, 256, size=(8, 8, 8), dtype=np.uint8)
    pipe = FeaturePipeline(FeatureExtractor(kinds=("raw", "hist"))).fit(images)
    assert pipe.affine() is None
    assert pipe.batch_transform == pipe.transform
