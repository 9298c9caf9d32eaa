"""Features then preprocessing as one object, with a JSON spec to save and rebuild it.

A model file must rebuild exactly the pipeline the model was trained on. The pipeline
splits into two plain parts:

* ``get_spec()``: a JSON-serialisable dict of configuration (no arrays), e.g.::

      {"format": "linclass.features/1",
       "extractor": {"kinds": ["hog", "hist"], "hist_bins": 16, "hog_orientations": 9,
                     "hog_pixels_per_cell": [4, 4], "hog_cells_per_block": [2, 2],
                     "batch_size": 1024},
       "preprocessor": {"center": "mean", "standardize": true},
       "image_shape": [28, 28], "n_features": 1312}

* ``get_state()``: the fitted statistics, ``{"preprocessor.mean": float32 (D,),
  "preprocessor.scale": float32 (D,)}``, for a tensor file.

``FeaturePipeline.from_spec(spec, state)`` gives back a fitted pipeline whose
``transform`` is identical, without seeing any training data again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from linclass.features.affine import AffineTransform
from linclass.features.cache import FeatureCache
from linclass.features.extract import FeatureExtractor
from linclass.features.preprocess import Preprocessor
from linclass.features.progress import Progress

SPEC_FORMAT = "linclass.features/1"


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple | list) else v for k, v in params.items()}


def _params(cls: type, given: Any) -> dict[str, Any]:
    """Check a spec section against the class's constructor arguments."""
    allowed = set(cls().get_params())
    if not isinstance(given, dict) or not set(given) <= allowed:
        raise ValueError(f"spec for {cls.__name__} must be a dict with keys from {sorted(allowed)}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}


class FeaturePipeline(BaseEstimator):
    """Images -> :class:`FeatureExtractor` -> :class:`Preprocessor` -> float32 rows.

    Args:
        extractor: The feature extractor; raw pixels if None.
        preprocessor: The preprocessing; mean subtraction if None.
        cache: Where extracted features of big image sets are kept and looked up, so
            that they are computed once (see :mod:`linclass.features.cache`); None
            computes them every time. Raw pixels are never cached (they cost nothing).
            Not part of the spec: a rebuilt pipeline has no cache until one is set.
    """

    def __init__(
        self, extractor: FeatureExtractor | None = None, preprocessor: Preprocessor | None = None,
        cache: FeatureCache | None = None,
    ) -> None:
        self.extractor = extractor if extractor is not None else FeatureExtractor()
        self.preprocessor = preprocessor if preprocessor is not None else Preprocessor()
        self.cache = cache

    @property
    def uses_cache(self) -> bool:
        """True when extraction goes through the feature cache: one is set and the
        features are not raw pixels."""
        return self.cache is not None and not self.is_cheap

    def _extract(self, images: np.ndarray, progress: Progress,
                 out: np.ndarray | None = None) -> np.ndarray:
        """The fitted extractor's features of ``images`` (from the cache when it has them)."""
        if self.cache is None or self.is_cheap:  # i.e. not uses_cache
            return self.extractor.transform(images, progress, out=out)
        features = self.cache.features(self.extractor, images, progress)
        if out is None:
            return features
        np.copyto(out, features)
        return out

    def fit(self, images: np.ndarray, progress: Progress = None) -> FeaturePipeline:
        """Fit on training images only, a batch at a time: the statistics need every row,
        but never all of them at once (with a cache, from the whole cached matrix, computed
        once). Returns self."""
        self.extractor.fit(images)
        if self.uses_cache:
            self.preprocessor.fit(self._extract(images, progress))
            return self
        step = int(self.extractor.batch_size)

        def chunks():
            for start in range(0, len(images), step):
                yield self.extractor.transform(images[start : start + step], progress=False)

        self.preprocessor.fit_chunks(chunks)
        return self

    @property
    def is_cheap(self) -> bool:
        """True when features are just (scaled) pixels, cheap enough to recompute for each
        mini-batch instead of keeping a float32 copy of the whole training set."""
        kinds = self.extractor.kinds
        return tuple([kinds] if isinstance(kinds, str) else kinds) == ("raw",)

    def fit_transform(self, images: np.ndarray, progress: Progress = None) -> np.ndarray:
        """Fit on training images and return their processed features (n, D), float32."""
        self.extractor.fit(images)
        features = self._extract(images, progress)
        return self.preprocessor.fit(features).transform(features, copy=False)

    def transform(
        self, images: np.ndarray, progress: Progress = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Features of new images with the training statistics: (n, D), float32.

        Args:
            images: ndarray of shape (n, *image_shape).
            progress: As in :meth:`FeatureExtractor.transform`.
            out: Optional float32 (n, D) buffer to write into and return.
        """
        features = self._extract(images, progress, out)
        return self.preprocessor.transform(features, copy=False)

    def affine(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(a, c)`` with ``transform(images) = a * pixels + c`` for uint8 images, or None
        when the features are not raw pixels (histograms and HOG are not affine).

        Raw pixels give ``x' = (x / 255 - mean_) / scale_``, so ``a = 1 / (255 scale_)``
        and ``c = -mean_ / scale_`` (computed in float64, returned float32, shape (D,)).
        """
        check_is_fitted(self.preprocessor, "mean_")
        if not self.is_cheap:
            return None
        sigma = self.preprocessor.scale_.astype(np.float64)
        mean = self.preprocessor.mean_.astype(np.float64)
        return (1.0 / (255.0 * sigma)).astype(np.float32), (-mean / sigma).astype(np.float32)

    @property
    def batch_transform(self):
        """The transform a fit loop should apply to each batch: :meth:`transform` itself,
        or for raw pixels an :class:`AffineTransform` with the same output that also
        tells the loop ``(a, c)``, so that it can fold the map into W instead."""
        affine = self.affine()
        if affine is None:
            return self.transform
        return AffineTransform(self.transform, *affine)

    @property
    def n_features_out(self) -> int:
        """D, the length of one output row."""
        return self.extractor.n_features_out_

    def get_spec(self) -> dict[str, Any]:
        """The configuration as a JSON-serialisable dict (see the module docstring)."""
        check_is_fitted(self.preprocessor, "mean_")
        return {
            "format": SPEC_FORMAT,
            "extractor": self.extractor.spec_params(),
            "preprocessor": _jsonable(self.preprocessor.get_params()),
            "image_shape": list(self.extractor.image_shape_),
            "n_features": self.extractor.n_features_out_,
        }

    def get_state(self) -> dict[str, np.ndarray]:
        """The fitted arrays, float32, keyed ``"preprocessor.<name>"``."""
        return {f"preprocessor.{k}": v for k, v in self.preprocessor.get_state().items()}

    @classmethod
    def from_spec(cls, spec: dict[str, Any], state: dict[str, np.ndarray]) -> FeaturePipeline:
        """Rebuild a fitted pipeline from :meth:`get_spec` and :meth:`get_state` output.

        Raises:
            ValueError: Unknown format, unknown keys, or arrays that do not match the spec.
        """
        if not isinstance(spec, dict) or spec.get("format") != SPEC_FORMAT:
            raise ValueError(f"feature spec must have format {SPEC_FORMAT!r}, got {spec!r:.80}")
        extractor = FeatureExtractor(**_params(FeatureExtractor, spec.get("extractor")))
        preprocessor = Preprocessor(**_params(Preprocessor, spec.get("preprocessor")))
        image_shape = tuple(int(s) for s in spec.get("image_shape", ()))
        extractor.fit(np.zeros((1, *image_shape), np.uint8))  # records shape and slices only
        try:
            saved = {"mean": state["preprocessor.mean"], "scale": state["preprocessor.scale"]}
        except KeyError as exc:
            raise ValueError(f"feature state is missing {exc.args[0]!r}") from None
        preprocessor.set_state(saved)
        if not extractor.n_features_out_ == preprocessor.n_features_in_ == spec.get("n_features"):
            raise ValueError(
                f"spec says {spec.get('n_features')} features, extractor gives "
                f"{extractor.n_features_out_}, state holds {preprocessor.n_features_in_}"
            )
        return cls(extractor, preprocessor)
