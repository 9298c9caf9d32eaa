"""The lecture's colour and intensity histograms, for a whole batch of images at once.

A histogram feature is the fraction of an image's pixels that falls in each of ``bins``
equal bins of a per-pixel value in [0, 1]: grey level, or HSV hue. Every pixel of the batch
is binned in one pass and counted by one ``bincount`` over (image, bin) pairs.
"""

from __future__ import annotations

import numpy as np

from linclass.features.images import to_gray


def row_histograms(values: np.ndarray, bins: int) -> np.ndarray:
    """Histogram of each row of ``values`` in [0, 1] into ``bins`` equal bins, as fractions.

    ``bin(v) = min(floor(v · bins), bins - 1)``, so the top edge 1.0 falls in the last bin.

    Args:
        values: ndarray of shape (n, n_values), in [0, 1].
        bins: Number of bins.

    Returns:
        float32 ndarray of shape (n, bins), each row summing to 1.
    """
    n, per_row = values.shape
    bin_of = np.minimum((values * bins).astype(np.int64), bins - 1)
    bin_of += np.arange(n, dtype=np.int64)[:, None] * bins
    counts = np.bincount(bin_of.ravel(), minlength=n * bins).reshape(n, bins)
    return (counts / per_row).astype(np.float32)


def hue(images: np.ndarray) -> np.ndarray:
    """HSV hue in [0, 1) of every pixel, equal to ``skimage.color.rgb2hsv(images)[..., 0]``.

    With ``v = max(r, g, b)`` and ``δ = v - min(r, g, b)``, the hue in sixths of a turn is
    ``(g - b) / δ`` where red is the largest channel, ``2 + (b - r) / δ`` where green is,
    ``4 + (r - g) / δ`` where blue is (blue, then green, wins a tie, as in scikit-image),
    then ``h = (h / 6) mod 1``; grey pixels (``δ = 0``) get hue 0. Computed in the
    images' float type with the same operations as scikit-image, as whole-array passes
    instead of its boolean-indexed assignments.

    Args:
        images: Float ndarray of shape (..., 3), RGB in [0, 1].

    Returns:
        ndarray of shape ``images.shape[:-1]``, the images' float type.
    """
    if images.shape[-1:] != (3,) or images.dtype.kind != "f":
        raise ValueError(f"hue needs float RGB images of shape (..., 3), got {images.dtype} "
                         f"{images.shape}")
    r, g, b = images[..., 0], images[..., 1], images[..., 2]
    value = np.maximum(np.maximum(r, g), b)
    delta = value - np.minimum(np.minimum(r, g), b)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (g - b) / delta
        h = np.where(g == value, 2.0 + (b - r) / delta, h)
        h = np.where(b == value, 4.0 + (r - g) / delta, h)
        h = (h / 6.0) % 1.0
    h[(delta == 0) | np.isnan(h)] = 0
    return h


def gray_histogram(images: np.ndarray, bins: int) -> np.ndarray:
    """Fraction of pixels in each of ``bins`` grey levels: (n, bins), rows sum to 1.

    Args:
        images: ndarray of shape (n, H, W) or (n, H, W, 3), in [0, 1].
        bins: Number of grey levels.
    """
    grey = to_gray(images)
    return row_histograms(grey.reshape(grey.shape[0], -1), bins)


def hue_histogram(images: np.ndarray, bins: int) -> np.ndarray:
    """Fraction of pixels in each of ``bins`` hues (HSV's H): (n, bins), rows sum to 1.

    Hue ignores brightness and saturation, so it describes colour only (the lecture's
    "Features: Histogram" on colour images). Grey pixels have hue 0.

    Args:
        images: Float ndarray of shape (n, H, W, 3), in [0, 1].
        bins: Number of hues.
    """
    if images.ndim != 4:
        raise ValueError("a hue histogram needs colour images of shape (n, H, W, 3)")
    h = hue(images)
    return row_histograms(h.reshape(h.shape[0], -1), bins)
