"""Raw images in, same predictions out after a save/load round trip."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError, SkipTestWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from conftest import sklearn_check
from linclass import LinearClassifier
from linclass.data import load_dataset
from linclass.estimators.image import ImageClassifier
from linclass.features import FeatureExtractor, FeaturePipeline, Preprocessor
from linclass.io.persist import ModelFileError

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")


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
    assert back.data_sha256_ == model.data_sha256_ and len(back.data_sha256_) == 64
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
    # (a materialized matrix would train in standardized coordinates by default: same
    # objective, another path; converted batches train in their own)
    a = LinearClassifier(random_state=0, max_epochs=3, scaling="none").fit(X, digits.y_train)
    b = LinearClassifier(random_state=0, max_epochs=3).fit_transformed(
        digits.X_train, digits.y_train, transform=pipe.transform, n_features=X.shape[1])
    assert a.coef_.dtype == b.coef_.dtype == np.float32
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-5, atol=1e-6)
    assert_array_equal(b.predict(X), a.predict(X))
    assert b.n_features_in_ == 64


# --- scikit-learn conventions ------------------------------------------------------------


@pytest.fixture(scope="module")
def digit_images():
    """scikit-learn's 8x8 digits as uint8 images (0..16 stretched to 0..255), split."""
    d = load_digits()
    images = np.round(d.images * (255 / 16)).astype(np.uint8)
    return train_test_split(images, d.target, test_size=0.25, stratify=d.target,
                            random_state=0)


def test_grid_search_tunes_the_default_parts(digit_images):
    X_train, X_test, y_train, y_test = digit_images
    quick = {"classifier__max_epochs": [10], "classifier__tol": [None],
             "classifier__random_state": [0]}
    search = GridSearchCV(ImageClassifier(), {"classifier__alpha": [1e-4, 1e-2], **quick},
                          cv=3).fit(X_train, y_train)
    assert search.best_params_["classifier__alpha"] in (1e-4, 1e-2)
    assert search.best_estimator_.classifier.alpha == search.best_params_["classifier__alpha"]
    assert search.score(X_test, y_test) > 0.88  # 0.916 here; chance is 0.1
    # The feature pipeline's parameters are searchable the same way.
    search = GridSearchCV(ImageClassifier(), {
        "features__extractor__kinds": [("raw",), ("hog",)],
        "features__extractor__hog_pixels_per_cell": [2], **quick,
    }, cv=3).fit(X_train, y_train)
    best = search.best_estimator_
    assert best.features.extractor.kinds == search.best_params_["features__extractor__kinds"]
    assert search.score(X_test, y_test) > 0.88  # 0.916 here; chance is 0.1


def test_default_parts_are_fresh_and_left_unset():
    model = ImageClassifier()
    params = model.get_params()
    assert params["classifier"] is None and params["features"] is None  # as constructed
    assert params["classifier__alpha"] == LinearClassifier().alpha
    assert params["features__extractor__kinds"] == ("raw",)
    model.set_params(classifier__alpha=0.5)
    assert isinstance(model.classifier, LinearClassifier) and model.classifier.alpha == 0.5
    assert clone(model).classifier.alpha == 0.5
    # No default object is shared: another model still has the default alpha.
    assert ImageClassifier().get_params()["classifier__alpha"] == LinearClassifier().alpha
    given = LinearClassifier(alpha=0.25)
    ImageClassifier(classifier=given).set_params(classifier__alpha=0.125)
    assert given.alpha == 0.125  # a given part is the caller's, set as scikit-learn sets it


@pytest.mark.parametrize("method", ["predict", "decision_function", "predict_proba",
                                    "transform"])
def test_unfitted_model_raises_not_fitted_error(method):
    images = np.zeros((2, 8, 8), np.uint8)
    with pytest.raises(NotFittedError):
        getattr(ImageClassifier(), method)(images)
    with pytest.raises(NotFittedError):
        ImageClassifier().score(images, np.array([0, 1]))


def test_saving_into_a_missing_folder_names_the_folder(digit_images, tmp_path):
    X_train, _, y_train, _ = digit_images
    model = ImageClassifier(classifier=LinearClassifier(max_epochs=1, tol=None))
    model.fit(X_train, y_train)
    path = tmp_path / "missing_dir" / "x.safetensors"
    with pytest.raises(FileNotFoundError, match=r"missing_dir does not exist \(the folder for "):
        model.save(path)


def test_tags_say_images_so_scikit_learn_skips_its_table_checks():
    tags = get_tags(ImageClassifier())
    assert not tags.input_tags.two_d_array and tags.input_tags.three_d_array
    assert tags.transformer_tags.preserves_dtype == ["float32"]
    with pytest.warns(SkipTestWarning, match="requires input"):
        check_estimator(ImageClassifier())


class RowsAsImages(ImageClassifier):
    """ImageClassifier reading each row of a table as a one-pixel-high grey image, so that
    scikit-learn's checks, which feed only tables, run through ImageClassifier's own code.

    Rows are squashed into (0, 1) by a sigmoid (float images must lie in [0, 1]); the
    table itself is checked by ImageClassifier's input validation first.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array, tags.input_tags.three_d_array = True, False
        return tags

    def _validate_images(self, images, *, fitting=False):
        rows = super()._validate_images(images, fitting=fitting)
        if rows.ndim != 2:
            return rows  # refused by the extractor, as ImageClassifier refuses it
        return (1 / (1 + np.exp(-rows)))[:, None, :]


# The checks that cannot pass, with the reason; none is a defect to fix here.
EXPECTED_FAILED_CHECKS = {
    "check_n_features_in": "images have no feature count: an image's shape is checked "
                           "against image_shape instead (ValueError naming both shapes)",
    "check_n_features_in_after_fitting": "images have no feature count: an image's shape "
                                         "is checked against image_shape instead",
    "check_fit2d_predict1d": "a 1-D array is refused with a message asking for images "
                             "(n, H, W), not with the table advice 'Reshape your data'",
    "check_sample_weight_equivalence_on_dense_data": (
        "the objective is that of the repeated rows (tests/test_sample_weight.py), but the "
        "default mini-batch run is not: batches of repeated rows are other batches"),
}


@parametrize_with_checks([RowsAsImages()],
                         expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # default epochs on tiny data
        sklearn_check(estimator, check)
