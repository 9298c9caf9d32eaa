"""Raw-pixel features as one affine map per feature, so a fit loop can fold it into W.

The raw-pixel pipeline computes ``x' = (x / 255 - mu) / sigma`` for each pixel ``x``:
that is ``x' = a * x + c`` with

    a = 1 / (255 sigma),        c = -mu / sigma.

:class:`AffineTransform` is that pipeline's per-batch transform: calling it gives exactly
the pipeline's features, and its ``scale`` (``a``) and ``shift`` (``c``) let the fit
loop skip the features altogether, training on the pixels cast to float with the map
folded into the parameters (see :mod:`linclass.objective`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class AffineTransform:
    """``transform(images) = a * pixels + c``, with ``a`` and ``c`` exposed.

    Args:
        transform: ``transform(images, out=None) -> float32 (n, D)``, the exact features
            (the pipeline's own ``transform``); used when the transform is called.
        scale: ``a``, ndarray of shape (D,).
        shift: ``c``, ndarray of shape (D,).
        dtype: The image dtype for which ``transform(images) == a * images + c`` holds
            (uint8: other inputs are scaled differently, so a loop must not fold them).

    Attributes:
        scale, shift, dtype: As given (scale and shift float32).
    """

    def __init__(
        self,
        transform: Callable[..., np.ndarray],
        scale: np.ndarray,
        shift: np.ndarray,
        dtype: np.dtype = np.dtype(np.uint8),
    ) -> None:
        self._transform = transform
        self.scale = np.asarray(scale, dtype=np.float32)
        self.shift = np.asarray(shift, dtype=np.float32)
        self.dtype = np.dtype(dtype)

    def __call__(self, images: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The features, float32 of shape (n, D) (into ``out`` when given)."""
        return self._transform(images, out=out)

    @staticmethod
    def cast(images: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The pixels as float rows (n, D), unscaled: what the folded step multiplies.

        ``np.copyto`` into a float32 buffer is one fast SIMD cast; a casting multiply by
        1/255 is about twice as slow, and the fold makes the scaling unnecessary.
        """
        flat = images.reshape(images.shape[0], -1)
        if out is None:
            return flat.astype(np.float32)
        np.copyto(out, flat, casting="unsafe")
        return out
