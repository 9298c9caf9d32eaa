"""Raw images in, same predictions out after a save/load round trip."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from linclass import LinearClassifier
from linclass.data import load_dataset
from linclass.estimators.image import ImageClassifier
from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor
from linclass.io.persist import ModelFileError


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


def test_per_batch_conversion_trains_exactly_like_materialized_features(digits):
    # ImageClassifier keeps raw-pixel images as uint8 and converts one mini-batch at a
    # time; that must be the same training as on a materialized float32 feature matrix.
    pipe = FeaturePipeline().fit(digits.X_train)
    X = pipe.transform(digits.X_train)
    a = LinearClassifier(random_state=0, max_epochs=3).fit(X, digits.y_train)
    b = LinearClassifier(random_state=0, max_epochs=3).fit_transformed(
        digits.X_train, digits.y_train, transform=pipe.transform, n_features=X.shape[1])
    assert a.coef_.dtype == b.coef_.dtype == np.float32
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-5, atol=1e-6)
    assert_array_equal(b.predict(X), a.predict(X))
    assert b.n_features_in_ == 64
