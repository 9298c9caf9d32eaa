"""``ImageClassifier``: raw images in, labels out — features, preprocessing and W together.

A model file written by :meth:`ImageClassifier.save` carries the feature pipeline's spec
and fitted statistics next to W and b, so a loaded model turns raw images into the same
vectors the trained one saw and predicts identically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from linclass.estimators.classifier import LinearClassifier
from linclass.features import FeaturePipeline, array_sha256
from linclass.io.persist import ModelFileError

_FEATURE_PREFIX = "features."


def data_checksum(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of the training images and labels, to tell later which data a model saw."""
    return array_sha256(images, labels)


class ImageClassifier(ClassifierMixin, BaseEstimator):
    """A :class:`~linclass.features.FeaturePipeline` followed by a :class:`LinearClassifier`.

    A scikit-learn estimator over images: ``clone``, ``cross_val_score`` and
    ``GridSearchCV`` work, over its own parameters and its parts' (``classifier__alpha``,
    ``features__extractor__kinds``, ...). As scikit-learn's meta-estimators do, ``fit``
    works on clones of ``features`` and ``classifier`` and keeps the fitted ones in
    ``features_`` and ``classifier_``; the arguments themselves are never changed.

    Args:
        features: Turns images (n, H, W) or (n, H, W, 3) into float32 rows (n, D); raw
            pixels with mean subtraction if None.
        classifier: The linear classifier; defaults if None.
        class_names: Human-readable name of each label, stored in the model file.

    Attributes:
        features_: The fitted feature pipeline.
        classifier_: The fitted linear classifier.
        classes_: ndarray of shape (n_classes,), the labels.
        data_sha256: Checksum of the training images and labels.
    """

    data_sha256: str | None  # None: a model file written without it

    def __init__(
        self,
        features: FeaturePipeline | None = None,
        classifier: LinearClassifier | None = None,
        class_names: list[str] | None = None,
    ) -> None:
        self.features = features
        self.classifier = classifier
        self.class_names = class_names

    def fit(self, images: np.ndarray, y: np.ndarray, *, progress: Any = None,
            validation_data: tuple[np.ndarray, np.ndarray] | None = None) -> ImageClassifier:
        """Fit the pipeline's statistics and then W, b on training images only.

        ``validation_data`` (images, labels) is passed through the fitted pipeline to
        :meth:`LinearClassifier.fit`, which records its curves (and stops on it early).
        """
        images = np.asarray(images)
        self.features_ = FeaturePipeline() if self.features is None else clone(self.features)
        self.classifier_ = (LinearClassifier() if self.classifier is None
                            else clone(self.classifier))
        features, clf = self.features_, self.classifier_
        if features.is_cheap:
            # Pixels are cheap to convert: keep the images as they are (uint8) and let the
            # fit loop convert one mini-batch at a time.
            features.fit(images, progress)
            clf.fit_transformed(
                images, y, transform=features.batch_transform,
                n_features=features.n_features_out, validation_data=validation_data,
            )
        else:
            # HOG and histograms cost far more than a gradient step: extract them once.
            X = features.fit_transform(images, progress)
            if validation_data is not None:
                validation_data = (self.transform(validation_data[0]), validation_data[1])
            clf.fit(X, y, validation_data=validation_data)
        self.classes_ = clf.classes_
        self.data_sha256 = data_checksum(images, np.asarray(y))
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
        """Feature rows (n, D) of images, with the training statistics."""
        check_is_fitted(self, "features_")
        return self.features_.transform(images, progress)

    def decision_function(self, images: np.ndarray) -> np.ndarray:
        """Class scores ``W x + b`` for each image (see LinearClassifier.decision_function)."""
        return self.classifier_.decision_function(self.transform(images))

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted label of each image."""
        return self.classifier_.predict(self.transform(images))

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Softmax probabilities (softmax loss only)."""
        return self.classifier_.predict_proba(self.transform(images))

    def score(self, images: np.ndarray, y: np.ndarray) -> float:
        """Accuracy on ``(images, y)``."""
        return self.classifier_.score(self.transform(images), y)

    @property
    def image_shape(self) -> tuple[int, ...]:
        """Shape of one input image."""
        return tuple(self.features_.extractor.image_shape_)

    def save(self, path: str | os.PathLike, *, force: bool = False,
             extra_meta: dict[str, Any] | None = None) -> Path:
        """Write one safetensors file with W, b, the feature spec and statistics."""
        check_is_fitted(self, "classifier_")
        meta = {
            "input": {"image_shape": list(self.image_shape), "features": self.features_.get_spec()},
            "class_names": self.class_names,
            "data_sha256": self.data_sha256,
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
        model.data_sha256 = meta.get("data_sha256")
        model.meta = meta
        return model
