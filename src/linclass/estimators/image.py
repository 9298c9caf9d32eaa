"""``ImageClassifier``: raw images in, labels out — features, preprocessing and W together.

A model file written by :meth:`ImageClassifier.save` carries the feature pipeline's spec
and fitted statistics next to W and b, so a loaded model turns raw images into the same
vectors the trained one saw and predicts identically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.utils import Tags
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from linclass.estimators.classifier import LinearClassifier
from linclass.features import FeaturePipeline, array_sha256
from linclass.io.persist import ModelFileError

_FEATURE_PREFIX = "features."

#: What each part left to None stands for. Made anew at each use: one default object
#: shared by every ImageClassifier would be changed by ``set_params(classifier__alpha=...)``
#: of any of them.
_DEFAULT_PARTS: dict[str, Callable[[], BaseEstimator]] = {
    "features": FeaturePipeline,
    "classifier": LinearClassifier,
}


def data_checksum(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of the training images and labels, to tell later which data a model saw."""
    return array_sha256(images, labels)


class ImageClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """A :class:`~linclass.features.FeaturePipeline` followed by a :class:`LinearClassifier`.

    A scikit-learn estimator over images: ``clone``, ``cross_val_score`` and
    ``GridSearchCV`` work, over its own parameters and its parts' (``classifier__alpha``,
    ``features__extractor__kinds``, ...), the default parts' included:
    ``GridSearchCV(ImageClassifier(), {"classifier__alpha": [1e-4, 1e-2]})`` searches
    ``LinearClassifier()``'s alpha. As scikit-learn's meta-estimators do, ``fit`` works on
    clones of ``features`` and ``classifier`` and keeps the fitted ones in ``features_``
    and ``classifier_``; the arguments themselves are never changed.

    It is also a transformer: :meth:`transform` gives the float32 feature rows the
    classifier scores, with the statistics ``fit`` learned.

    Args:
        features: Turns images (n, H, W) or (n, H, W, 3) into float32 rows (n, D); None
            is ``FeaturePipeline()``, raw pixels with mean subtraction.
        classifier: The linear classifier; None is ``LinearClassifier()``.
        class_names: Human-readable name of each label, stored in the model file.

    Attributes:
        features_: The fitted feature pipeline.
        classifier_: The fitted linear classifier.
        classes_: ndarray of shape (n_classes,), the labels.
        data_sha256_: Checksum of the training images and labels (None: a model file
            written without it).
    """

    data_sha256_: str | None

    def __init__(
        self,
        features: FeaturePipeline | None = None,
        classifier: LinearClassifier | None = None,
        class_names: list[str] | None = None,
    ) -> None:
        # None, not a default object, as scikit-learn requires of defaults (one object
        # would be shared and changed); get_params and set_params stand in for it.
        self.features = features
        self.classifier = classifier
        self.class_names = class_names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters; with ``deep``, the parts' too, the default parts' included.

        A part left to None shows the parameters of the default it stands for
        (``classifier__alpha`` of ``LinearClassifier()``), so that a search can tune them
        without naming the part; :meth:`set_params` of one of them makes the part explicit.
        """
        params = super().get_params(deep=deep)
        if deep:
            for name, make in _DEFAULT_PARTS.items():
                if params[name] is None:
                    params.update((f"{name}__{key}", value)
                                  for key, value in make().get_params(deep=True).items())
        return params

    def set_params(self, **params: Any) -> ImageClassifier:
        """Set parameters, as scikit-learn's ``set_params``; setting one of a part left to
        None (``classifier__alpha``) first puts a fresh default part in its place."""
        for name, make in _DEFAULT_PARTS.items():
            nested = any(key.startswith(name + "__") for key in params)
            if nested and params.get(name, getattr(self, name)) is None:
                params[name] = make()
        return super().set_params(**params)

    def __sklearn_tags__(self) -> Tags:
        """Images in, so none of scikit-learn's checks on 2-D tables applies; float32 out
        of :meth:`transform`, whatever the images' dtype."""
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True  # (n, H, W); colour images are (n, H, W, 3)
        assert tags.transformer_tags is not None  # TransformerMixin's
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _part(self, name: str) -> Any:
        """An unfitted copy of the part ``name`` for ``fit``: a clone, or a fresh default."""
        part = getattr(self, name)
        return _DEFAULT_PARTS[name]() if part is None else clone(part)

    def _validate_images(self, images: Any, *, fitting: bool = False) -> np.ndarray:
        """``images`` as the array every method works on, checked as scikit-learn checks
        input: dense, numeric, finite, and (to fit on) at least one image; with its
        messages ("Input images contains NaN", "Sparse data was passed ...").

        Their shape and value range are the feature extractor's to check. This is the
        one entry point of input, so that a subclass taking images in another form (one
        flattened row per image, say) overrides only this.
        """
        # ensure_2d=False: 1-D input is refused by the extractor, whose message asks for
        # images (n, H, W), not for scikit-learn's advice to reshape a table.
        return check_array(images, accept_sparse=False, dtype="numeric", ensure_2d=False,
                           allow_nd=True, ensure_min_samples=1 if fitting else 0,
                           estimator=self, input_name="images")

    def fit(self, images: np.ndarray, y: np.ndarray, sample_weight: Any = None, *,
            progress: Any = None, validation_data: tuple[np.ndarray, np.ndarray] | None = None
            ) -> ImageClassifier:
        """Fit the pipeline's statistics and then W, b on training images only.

        ``sample_weight`` (n_images,) weighs each image's loss as
        :meth:`LinearClassifier.fit` does (the pipeline's statistics stay unweighted).

        ``validation_data`` (images, labels) is passed through the fitted pipeline to
        :meth:`LinearClassifier.fit`, which records its curves (and stops on it early).
        """
        images = self._validate_images(images, fitting=True)
        # Checked here for both feature paths: LinearClassifier.fit checks y (a column
        # is ravelled with a DataConversionWarning), but fit_transformed with a transform,
        # which raw pixels take, only accepts a 1-D y.
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None")
        y = column_or_1d(y, warn=True)
        self.features_, self.classifier_ = self._part("features"), self._part("classifier")
        features, clf = self.features_, self.classifier_
        if features.is_cheap:
            # Pixels are cheap to convert: keep the images as they are (uint8) and let the
            # fit loop convert one mini-batch at a time.
            features.fit(images, progress)
            if validation_data is not None:
                validation_data = (self._validate_images(validation_data[0]),
                                   validation_data[1])
            clf.fit_transformed(
                images, y, transform=features.batch_transform,
                n_features=features.n_features_out, validation_data=validation_data,
                sample_weight=sample_weight,
            )
        else:
            # HOG and histograms cost far more than a gradient step: extract them once.
            X = features.fit_transform(images, progress)
            if validation_data is not None:
                validation_data = (self.transform(validation_data[0]), validation_data[1])
            clf.fit(X, y, sample_weight, validation_data=validation_data)
        self.classes_ = clf.classes_
        self.data_sha256_ = data_checksum(images, np.asarray(y))
        return self

    @classmethod
    def from_fitted(cls, features: FeaturePipeline, classifier: LinearClassifier,
                    class_names: list[str] | None = None) -> ImageClassifier:
        """An image classifier made of parts fitted elsewhere (``linclass search`` fits the
        pipeline once and the classifiers in worker processes; a model file holds both)."""
        model = cls(features, classifier, class_names)
        model.features_, model.classifier_ = features, classifier
        model.classes_ = classifier.classes_
        return model

    def transform(self, images: np.ndarray, *, progress: Any = None) -> np.ndarray:
        """Feature rows (n, D) of images, with the training statistics.

        Raises:
            NotFittedError: Before ``fit`` (as every method below, which all start here).
        """
        check_is_fitted(self, ("features_", "classifier_"))
        return self.features_.transform(self._validate_images(images), progress)

    # Each method below transforms first: that checks the model is fitted before
    # classifier_ is looked up (``self.classifier_.predict(self.transform(X))`` would
    # raise AttributeError on an unfitted model, not NotFittedError).

    def decision_function(self, images: np.ndarray) -> np.ndarray:
        """Class scores ``W x + b`` for each image (see LinearClassifier.decision_function)."""
        rows = self.transform(images)
        return self.classifier_.decision_function(rows)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted label of each image."""
        rows = self.transform(images)
        return self.classifier_.predict(rows)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Softmax probabilities (softmax loss only)."""
        rows = self.transform(images)
        return self.classifier_.predict_proba(rows)

    def score(self, images: np.ndarray, y: np.ndarray, sample_weight: Any = None) -> float:
        """Accuracy on ``(images, y)``, weighted by ``sample_weight`` when given."""
        rows = self.transform(images)
        return self.classifier_.score(rows, y, sample_weight=sample_weight)

    @property
    def image_shape(self) -> tuple[int, ...]:
        """Shape of one input image."""
        return tuple(self.features_.extractor.image_shape_)

    def to_onnx(self, path: str | os.PathLike | None = None, *, force: bool = False,
                pixels: str = "uint8") -> Any:
        """This model, preprocessing included, as an ``onnx.ModelProto`` (input ``input``:
        uint8 images (N, H, W[, 3]), or float32 in [0, 1] with ``pixels="float32"``; outputs
        ``scores``, ``label``, ``probabilities``: :mod:`linclass.export.models`), also
        written to ``path`` when given. Raw pixels only: HOG and histograms are refused.
        """
        from linclass.export.models import image_classifier_onnx, save_onnx

        return save_onnx(image_classifier_onnx(self, pixels), path, force=force)

    def save(self, path: str | os.PathLike, *, force: bool = False,
             extra_meta: dict[str, Any] | None = None) -> Path:
        """Write one safetensors file with W, b, the feature spec and statistics."""
        check_is_fitted(self, "classifier_")
        meta = {
            "input": {"image_shape": list(self.image_shape), "features": self.features_.get_spec()},
            "class_names": self.class_names,
            "data_sha256": self.data_sha256_,
            **(extra_meta or {}),
        }
        arrays = {_FEATURE_PREFIX + k: v for k, v in self.features_.get_state().items()}
        return self.classifier_.save(path, force=force, extra_meta=meta, arrays=arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ImageClassifier:
        """Rebuild a saved image classifier; refuses files without an image pipeline."""
        clf, meta, arrays = LinearClassifier.load_with_meta(path)
        spec = (meta.get("input") or {}).get("features")
        if spec is None:
            raise ModelFileError(
                f"{path}: this model takes feature vectors, not images (no feature spec); "
                "load it with LinearClassifier.load"
            )
        state = {k[len(_FEATURE_PREFIX):]: v for k, v in arrays.items()
                 if k.startswith(_FEATURE_PREFIX)}
        try:
            features = FeaturePipeline.from_spec(spec, state)
        except ValueError as e:
            raise ModelFileError(f"{path}: bad feature spec ({e})") from None
        if features.n_features_out != clf.n_features_in_:
            raise ModelFileError(
                f"{path}: features give {features.n_features_out} values but W expects "
                f"{clf.n_features_in_}"
            )
        model = cls.from_fitted(features, clf, meta.get("class_names"))
        model.data_sha256_ = meta.get("data_sha256")
        model.meta = meta
        return model
