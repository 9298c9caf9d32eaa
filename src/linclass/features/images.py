"""Images as every feature sees them: floats in [0, 1], and their grey version.

Every feature is defined on images scaled to [0, 1] (uint8 / 255), the first step of the
lecture's preprocessing; the scaling happens per batch, so the full dataset stays uint8
and the only large float array is the float32 feature matrix itself.
"""

from __future__ import annotations

import numpy as np


def to_unit_float(images: np.ndarray) -> np.ndarray:
    """Scale images to float32 in [0, 1]: uint8 is divided by 255, floats must be in [0, 1].

    Args:
        images: ndarray of shape (n, H, W) or (n, H, W, 3), uint8 or float.

    Returns:
        float32 ndarray of the same shape.
    """
    if images.dtype == np.uint8:
        return np.multiply(images, np.float32(1.0 / 255.0), dtype=np.float32)
    if images.dtype.kind == "f":
        in_range = np.isfinite(images).all() and images.min() >= 0 and images.max() <= 1
        if images.size and not in_range:
            raise ValueError("float images must be finite and in [0, 1]; uint8 images are scaled")
        return images.astype(np.float32, copy=False)
    raise ValueError(f"images must be uint8 (0..255) or float in [0, 1], got {images.dtype}")


def to_gray(images: np.ndarray) -> np.ndarray:
    """Grey images (n, H, W) from grey or RGB images in [0, 1] (ITU-R 709 luma)."""
    if images.ndim == 3:
        return images
    from skimage.color import rgb2gray

    return rgb2gray(images).astype(np.float32, copy=False)
