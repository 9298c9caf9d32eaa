"""The lecture's "Features": raw pixels, intensity and hue histograms, HOG, and any
concatenation of them, computed batch by batch from uint8 images.

Each batch is scaled to [0, 1] (:mod:`linclass.features.images`) and goes through the
kinds asked for (:mod:`~linclass.features.histograms`, :mod:`~linclass.features.hog`);
on big sets the batches run on every core (:mod:`~linclass.features.parallel`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from linclass.features.histograms import gray_histogram, hue_histogram
from linclass.features.hog import Size, as_pair, hog_features, hog_grid
from linclass.features.images import to_unit_float
from linclass.features.parallel import n_threads, run_chunks
from linclass.features.progress import Progress, report_progress

KINDS = ("raw", "hist", "gray_hist", "hue_hist", "hog")


def raw_pixels(images: np.ndarray) -> np.ndarray:
    """The pixels stretched into one row per image: (n, H * W [* 3])."""
    return images.reshape(images.shape[0], -1)


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
        hog_pixels_per_cell: HOG cell size ``(rows, cols)``, or one number for a square
            cell (``2`` is ``(2, 2)``, as the CLI's ``--hog-pixels-per-cell 2``).
        hog_cells_per_block: HOG block size in cells ``(rows, cols)``, or one number for
            a square block.
        batch_size: Images converted to float at a time (memory, not results); on big
            sets the batches run on every core.

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
        hog_pixels_per_cell: Size = (4, 4),
        hog_cells_per_block: Size = (2, 2),
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
        return hog_features(batch, int(self.hog_orientations), self.hog_pixels_per_cell,
                            self.hog_cells_per_block, n_jobs=1)

    def spec_params(self) -> dict[str, Any]:
        """``get_params()`` as JSON: tuples as lists, and the HOG cell and block sizes
        always as ``[rows, cols]``.

        ``2`` and ``(2, 2)`` give the same features, so model files and feature-cache keys
        spell them one way: older readers of a model file expect pairs, and the cache finds
        features computed under either spelling.
        """
        params = self.get_params()
        for key in ("hog_pixels_per_cell", "hog_cells_per_block"):
            params[key] = as_pair(params[key], key)
        return {k: list(v) if isinstance(v, tuple | list) else v for k, v in params.items()}

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
        if "hog" in self._resolved_kinds(X.ndim == 4):
            hog_grid(self.image_shape_[:2], self.hog_pixels_per_cell, self.hog_cells_per_block)
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

        def work(start: int, stop: int) -> None:
            batch = to_unit_float(X[start:stop])
            for kind, cols in self.feature_slices_.items():
                out[start:stop, cols] = self._one_kind(kind, batch)

        threads = n_threads(None, X.size)
        with report_progress(X.shape[0], progress, "features") as advance:
            for done in run_chunks(X.shape[0], int(self.batch_size), work, threads):
                advance(done)
        return out
