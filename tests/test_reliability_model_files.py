"""Loading a model file with the wrong class refuses, naming the right one (issue 29,
item 11): LinearClassifier.load of an ImageClassifier's file would drop its feature
pipeline (5.8 % of the digits predictions changed), LinearRegressor and LinearClassifier
files are each other's wrong class."""

from __future__ import annotations

import numpy as np
import pytest

from linclass import LinearClassifier, LinearRegressor
from linclass.estimators.image import ImageClassifier
from linclass.io.persist import ModelFileError


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from linclass import load_dataset
    from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor

    out = tmp_path_factory.mktemp("models")
    digits = load_dataset("digits")
    X, y = digits.X_train[:300], digits.y_train[:300]
    pipeline = FeaturePipeline(FeatureExtractor(kinds=("raw",)),
                               Preprocessor(center="mean", standardize=True))
    image = ImageClassifier(pipeline, LinearClassifier(max_epochs=2), digits.class_names)
    image.fit(X, y, progress=False)
    rng = np.random.default_rng(0)
    F = rng.normal(size=(60, 3))
    return {
        "image": image.save(out / "image.safetensors"),
        "classifier": LinearClassifier(max_epochs=2).fit(F, (F[:, 0] > 0).astype(int)).save(
            out / "classifier.safetensors"),
        "regressor": LinearRegressor(max_epochs=2).fit(F, F[:, 0]).save(
            out / "regressor.safetensors"),
    }


def test_a_bare_classifier_load_of_an_image_model_refuses_naming_image_classifier(files):
    with pytest.raises(ModelFileError, match=r"ImageClassifier\.load"):
        LinearClassifier.load(files["image"])
    assert ImageClassifier.load(files["image"]).classifier_.n_features_in_ == 64


@pytest.mark.parametrize("cls, kind, right", [
    (LinearRegressor, "classifier", "LinearClassifier.load"),
    (LinearRegressor, "image", "ImageClassifier.load"),
    (LinearClassifier, "regressor", "LinearRegressor.load"),
    (ImageClassifier, "classifier", "LinearClassifier.load"),
])
def test_every_wrong_loader_names_the_right_one(files, cls, kind, right):
    with pytest.raises(ModelFileError, match=right.replace(".", r"\.")):
        cls.load(files[kind])


def test_the_right_loaders_load(files):
    assert LinearClassifier.load(files["classifier"]).n_features_in_ == 3
    assert LinearRegressor.load(files["regressor"]).n_features_in_ == 3
