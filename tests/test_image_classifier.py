"""Raw images in, same predictions out after a save/load round trip."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from linclass import LinearClassifier
from linclass.data import load_dataset
from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor
from linclass.image_classifier import ImageClassifier
from linclass.persist import ModelFileError


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.mark.parametrize("kinds", [("raw",), ("hog", "hist")])
def test_loaded_model_predicts_raw_images_identically(digits, tmp_path, kinds):
    pipe = FeaturePipeline(FeatureExtractor(kinds=kinds, hog_pixels_per_cell=(2, 2)),
                           Preprocessor(center="mean", standardize=True))
    model = ImageClassifier(pipe, LinearClassifier(random_state=0, max_epochs=5),
                            digits.class_names).fit(digits.X_train, digits.y_train)
    assert model.score(digits.X_test, digits.y_test) > 0.85
    path = model.save(tmp_path / "m.safetensors")
    back = ImageClassifier.load(path)
    assert_array_equal(back.decision_function(digits.X_test),
                       model.decision_function(digits.X_test))
    assert back.class_names == digits.class_names
    assert back.data_sha256 == model.data_sha256 and len(back.data_sha256) == 64
    assert back.image_shape == (8, 8)


def test_feature_vector_model_is_not_an_image_model(digits, tmp_path):
    clf = LinearClassifier(max_epochs=1).fit(digits.flat("train") / 255.0, digits.y_train)
    path = clf.save(tmp_path / "v.safetensors")
    with pytest.raises(ModelFileError, match="feature vectors"):
        ImageClassifier.load(path)
