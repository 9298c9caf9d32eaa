"""The lecture's "Features": raw pixels, intensity and hue histograms, HOG, and any
concatenation of them, computed batch by batch from uint8 images.

Every feature is defined on images scaled to [0, 1] (uint8 / 255), the first step of the
lecture's preprocessing; the scaling happens per batch, so the full dataset stays uint8
and the only large float array is the float32 feature matrix itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from linclass.features.progress import Progress, report_progress

KINDS = ("raw", "hist", "gray_hist", "hue_hist", "hog")


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


def _row_histograms(values: np.ndarray, bins: int) -> np.ndarray:
    """Histogram of each row of ``values`` in [0, 1] into ``bins`` equal bins, as fractions.

    One ``bincount`` over (row, bin) pairs does the whole batch; the top edge 1.0 falls in
    the last bin.
    """
    n, per_row = values.shape
    bin_of = np.minimum((values * bins).astype(np.int64), bins - 1)
    bin_of += np.arange(n, dtype=np.int64)[:, None] * bins
    counts = np.bincount(bin_of.ravel(), minlength=n * bins).reshape(n, bins)
    return (counts / per_row).astype(np.float32)


def raw_pixels(images: np.ndarray) -> np.ndarray:
    """The pixels stretched into one row per image: (n, H * W [* 3])."""
    return images.reshape(images.shape[0], -1)


def gray_histogram(images: np.ndarray, bins: int) -> np.ndarray:
    """Fraction of pixels in each of ``bins`` grey levels: (n, bins), rows sum to 1."""
    grey = to_gray(images)
    return _row_histograms(grey.reshape(grey.shape[0], -1), bins)


def hue_histogram(images: np.ndarray, bins: int) -> np.ndarray:
    """Fraction of pixels in each of ``bins`` hues (HSV's H): (n, bins), rows sum to 1.

    Hue ignores brightness and saturation, so it describes colour only (the lecture's
    "Features: Histogram" on colour images). Grey pixels have hue 0.
    """
    if images.ndim != 4:
        raise ValueError("a hue histogram needs colour images of shape (n, H, W, 3)")
    from skimage.color import rgb2hsv

    hue = rgb2hsv(images)[..., 0]
    return _row_histograms(hue.reshape(hue.shape[0], -1), bins)


def hog_features(
    images: np.ndarray,
    orientations: int,
    pixels_per_cell: tuple[int, int],
    cells_per_block: tuple[int, int],
) -> np.ndarray:
    """Histograms of oriented gradients of the grey images, via ``skimage.feature.hog``.

    Returns:
        float32 ndarray of shape (n, n_blocks * prod(cells_per_block) * orientations).
    """
    from skimage.feature import hog

    grey = to_gray(images)
    rows = [
        hog(img, orientations=orientations, pixels_per_cell=pixels_per_cell,
            cells_per_block=cells_per_block, block_norm="L2-Hys", feature_vector=True)
        for img in grey
    ]
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)


def _pair(v: Sequence[int]) -> tuple[int, int]:
    """A ``(rows, cols)`` pair from a tuple or a list (as a JSON file gives it back)."""
    rows, cols = v
    return int(rows), int(cols)


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Map images (n, H, W) or (n, H, W, 3) to float32 feature rows (n, D).

    ``kinds`` are concatenated in the order given: ``"raw"`` pixels, ``"gray_hist"``,
    ``"hue_hist"``, ``"hist"`` (grey histogram for grey images, hue histogram for colour),
    ``"hog"``. The extractor learns nothing from data; ``fit`` only records the image
    shape, so that later inputs are checked against it.

    Args:
        kinds: Feature kinds to concatenate.
        hist_bins: Number of bins of each histogram.
        hog_orientations: Number of HOG orientation bins.
        hog_pixels_per_cell: HOG cell size ``(rows, cols)``.
        hog_cells_per_block: HOG block size in cells ``(rows, cols)``.
        batch_size: Images converted to float at a time (memory, not results).

    Attributes:
        image_shape_: Image shape seen by ``fit``.
        n_features_out_: D, the length of one feature row.
        feature_slices_: ``{kind: slice}`` locating each kind's columns.
    """

    def __init__(
        self,
        kinds: Sequence[str] = ("raw",),
        hist_bins: int = 16,
        hog_orientations: int = 9,
        hog_pixels_per_cell: tuple[int, int] = (4, 4),
        hog_cells_per_block: tuple[int, int] = (2, 2),
        batch_size: int = 1024,
    ) -> None:
        self.kinds = kinds
        self.hist_bins = hist_bins
        self.hog_orientations = hog_orientations
        self.hog_pixels_per_cell = hog_pixels_per_cell
        self.hog_cells_per_block = hog_cells_per_block
        self.batch_size = batch_size

    def _resolved_kinds(self, colour: bool) -> list[str]:
        kinds = [self.kinds] if isinstance(self.kinds, str) else list(self.kinds)
        unknown = [k for k in kinds if k not in KINDS]
        if not kinds or unknown or len(set(kinds)) != len(kinds):
            raise ValueError(f"kinds must be distinct names from {KINDS}, got {self.kinds!r}")
        return [("hue_hist" if colour else "gray_hist") if k == "hist" else k for k in kinds]

    def _one_kind(self, kind: str, batch: np.ndarray) -> np.ndarray:
        if kind == "raw":
            return raw_pixels(batch)
        if kind == "gray_hist":
            return gray_histogram(batch, int(self.hist_bins))
        if kind == "hue_hist":
            return hue_histogram(batch, int(self.hist_bins))
        return hog_features(
            batch, int(self.hog_orientations),
            _pair(self.hog_pixels_per_cell), _pair(self.hog_cells_per_block),
        )

    @staticmethod
    def _check_images(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim not in (3, 4) or (X.ndim == 4 and X.shape[-1] != 3):
            raise ValueError(f"images must have shape (n, H, W) or (n, H, W, 3), got {X.shape}")
        return X

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> FeatureExtractor:
        """Record the image shape and check every kind works on it.

        Args:
            X: ndarray of shape (n_samples, H, W) or (n_samples, H, W, 3).
            y: Ignored.

        Returns:
            self.
        """
        X = self._check_images(X)
        if X.shape[0] == 0:
            raise ValueError("cannot fit on 0 images")
        if int(self.hist_bins) < 1 or int(self.batch_size) < 1:
            raise ValueError("hist_bins and batch_size must be >= 1")
        self.image_shape_ = tuple(int(s) for s in X.shape[1:])
        ppc, cpb = np.array(self.hog_pixels_per_cell), np.array(self.hog_cells_per_block)
        if "hog" in self._resolved_kinds(X.ndim == 4) and np.any(ppc * cpb > self.image_shape_[:2]):
            raise ValueError(
                f"images of {self.image_shape_[:2]} are smaller than one HOG block of "
                f"{tuple(cpb)} cells of {tuple(ppc)} pixels; use a smaller hog_pixels_per_cell"
            )
        sample = to_unit_float(X[:1])
        self.feature_slices_, start = {}, 0
        for kind in self._resolved_kinds(X.ndim == 4):
            width = self._one_kind(kind, sample).shape[1]
            self.feature_slices_[kind] = slice(start, start + width)
            start += width
        self.n_features_out_ = start
        return self

    def transform(
        self, X: np.ndarray, progress: Progress = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Extract features batch by batch.

        Args:
            X: ndarray of shape (n_samples, *image_shape_), uint8 or float in [0, 1].
            progress: Callback ``progress(done, total)``, True/False to force a bar on or
                off, or None for a bar only on a terminal and on big sets.
            out: Optional float32 ndarray of shape (n_samples, n_features_out_) to write
                into (a training loop reuses one buffer for every mini-batch).

        Returns:
            float32 ndarray of shape (n_samples, n_features_out_) (``out`` when given).
        """
        check_is_fitted(self, "n_features_out_")
        X = self._check_images(X)
        if X.shape[1:] != self.image_shape_:
            raise ValueError(
                f"X has images of shape {X.shape[1:]}, but FeatureExtractor is expecting "
                f"{self.image_shape_} as input"
            )
        shape = (X.shape[0], self.n_features_out_)
        if out is None:
            out = np.empty(shape, dtype=np.float32)
        elif out.shape != shape or out.dtype != np.float32:
            raise ValueError(f"out must be float32 of shape {shape}, got {out.dtype} {out.shape}")
        step = int(self.batch_size)
        with report_progress(X.shape[0], progress, "features") as advance:
            for start in range(0, X.shape[0], step):
                batch = to_unit_float(X[start : start + step])
                for kind, cols in self.feature_slices_.items():
                    out[start : start + len(batch), cols] = self._one_kind(kind, batch)
                advance(start + len(batch))
        return out
