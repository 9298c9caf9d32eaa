"""From images to the vectors a linear classifier scores.

Images (uint8, shape kept) -> :class:`FeatureExtractor` (scale to [0, 1]; raw pixels,
histograms, HOG, each for a whole batch at once) -> :class:`Preprocessor` (mean
subtraction, standardization, fitted on the training split only) -> float32 rows.
:class:`FeaturePipeline` chains the two and saves/rebuilds them through a JSON spec plus
float32 arrays; with a :class:`FeatureCache` it computes the features of an image set
once. The bias trick belongs to
:mod:`linclass.model`.
"""

from linclass.features.affine import AffineTransform
from linclass.features.cache import FeatureCache, array_sha256, default_cache
from linclass.features.extract import KINDS, FeatureExtractor, raw_pixels
from linclass.features.histograms import gray_histogram, hue, hue_histogram
from linclass.features.hog import batch_hog, hog_features
from linclass.features.images import to_gray, to_unit_float
from linclass.features.pipeline import SPEC_FORMAT, FeaturePipeline
from linclass.features.preprocess import Preprocessor

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
