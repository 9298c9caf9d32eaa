"""From images to the vectors a linear classifier scores.

Images (uint8, shape kept) -> :class:`FeatureExtractor` (scale to [0, 1]; raw pixels,
histograms, HOG, each for a whole batch at once) -> :class:`Preprocessor` (mean
subtraction, standardization, fitted on the training split only) -> float32 rows.
:class:`FeaturePipeline` chains the two and saves/rebuilds them through a JSON spec plus
float32 arrays; with a :class:`FeatureCache` it computes the features of an image set
once. The bias trick belongs to
:mod:`linclass.model`.
"""

from importlib import import_module
from typing import TYPE_CHECKING

# Imported on first use (PEP 562): ``linclass cache info`` reads the cache without loading
# scikit-learn, which the extractors need.
if TYPE_CHECKING:
    from linclass.features.affine import AffineTransform
    from linclass.features.cache import FeatureCache, array_sha256, default_cache
    from linclass.features.extract import KINDS, FeatureExtractor, raw_pixels
    from linclass.features.histograms import gray_histogram, hue, hue_histogram
    from linclass.features.hog import batch_hog, hog_features
    from linclass.features.images import to_gray, to_unit_float
    from linclass.features.pipeline import SPEC_FORMAT, FeaturePipeline
    from linclass.features.preprocess import Preprocessor

_WHERE = {
    "AffineTransform": "affine",
    "FeatureCache": "cache", "array_sha256": "cache", "default_cache": "cache",
    "KINDS": "extract", "FeatureExtractor": "extract", "raw_pixels": "extract",
    "gray_histogram": "histograms", "hue": "histograms", "hue_histogram": "histograms",
    "batch_hog": "hog", "hog_features": "hog",
    "to_gray": "images", "to_unit_float": "images",
    "SPEC_FORMAT": "pipeline", "FeaturePipeline": "pipeline",
    "Preprocessor": "preprocess",
}


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module 'linclass.features' has no attribute {name!r}")
    value = getattr(import_module(f"linclass.features.{_WHERE[name]}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "KINDS",
    "SPEC_FORMAT",
    "AffineTransform",
    "FeatureCache",
    "FeatureExtractor",
    "FeaturePipeline",
    "Preprocessor",
    "array_sha256",
    "batch_hog",
    "default_cache",
    "gray_histogram",
    "hog_features",
    "hue",
    "hue_histogram",
    "raw_pixels",
    "to_gray",
    "to_unit_float",
]
