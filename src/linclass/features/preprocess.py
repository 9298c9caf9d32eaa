"""Preprocessing fitted on the training split only: mean subtraction, standardization.

On raw pixels the mean row is the lecture's "mean image"; subtracting it centres the data
so that the scores of a fresh model are near 0 for every input. Standardizing divides each
feature by its training standard deviation, so features on different scales (pixels next
to histogram fractions next to HOG values) get comparable weight under one L2 penalty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

_CHUNK_ROWS = 1024  # statistics in float64, a chunk at a time: no float64 copy of X


class Preprocessor(TransformerMixin, BaseEstimator):
    """``z = (x - mean) / std``, with either part switchable, fitted on training rows.

    Args:
        center: ``"mean"`` subtracts the training mean of each feature; ``"none"`` does not.
        standardize: Divide each feature by its training standard deviation (a feature
            that is constant in training is divided by 1, as scikit-learn's
            ``StandardScaler`` does).

    Attributes:
        mean_: float32 ndarray of shape (n_features,), zeros when ``center="none"``.
        scale_: float32 ndarray of shape (n_features,), ones unless ``standardize``.
        n_features_in_: Number of features seen by ``fit``.
    """

    def __init__(self, center: Literal["mean", "none"] = "mean", standardize: bool = False) -> None:
        self.center = center
        self.standardize = standardize

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> Preprocessor:
        """Compute the statistics of the training features.

        Args:
            X: ndarray of shape (n_samples, n_features).
            y: Ignored.

        Returns:
            self.
        """
        X = self._check_rows(X)
        return self.fit_chunks(
            lambda: (X[s : s + _CHUNK_ROWS] for s in range(0, len(X), _CHUNK_ROWS)))

    def fit_chunks(self, chunks: Callable[[], Iterable[np.ndarray]]) -> Preprocessor:
        """Compute the statistics from row chunks, never holding all rows at once.

        Two passes (mean, then squared deviations), each summed in float64 a chunk at a
        time, so the result equals :meth:`fit` on the stacked rows.

        Args:
            chunks: Called once per pass; returns an iterable of ndarrays of shape
                (n_chunk_rows, n_features), e.g. features extracted from image batches.

        Returns:
            self.
        """
        if self.center not in ("mean", "none"):
            raise ValueError(f"center must be 'mean' or 'none', got {self.center!r}")
        total: np.ndarray | None = None
        n = 0
        for chunk in chunks():
            chunk = self._check_rows(chunk)
            part = chunk.sum(axis=0, dtype=np.float64)
            total = part if total is None else total + part
            n += chunk.shape[0]
        if total is None or n == 0:
            raise ValueError("cannot fit on 0 samples")
        mean = total / n
        if not np.isfinite(mean).all():
            raise ValueError("Input X contains NaN or infinity.")
        d = mean.shape[0]
        scale = np.ones(d)
        if self.standardize:
            squares = np.zeros(d)
            for chunk in chunks():
                squares += ((chunk - mean) ** 2).sum(axis=0)
            std = np.sqrt(squares / n)
            scale = np.where(std > 1e-12, std, 1.0)
        self.mean_ = (mean if self.center == "mean" else np.zeros(d)).astype(np.float32)
        self.scale_ = scale.astype(np.float32)
        self.n_features_in_ = d
        return self

    def transform(self, X: np.ndarray, copy: bool = True) -> np.ndarray:
        """Apply ``(x - mean_) / scale_``.

        Args:
            X: ndarray of shape (n_samples, n_features_in_).
            copy: If False and X is already float32, overwrite X instead of copying it
                (a 60k-row feature matrix then exists once, not twice).

        Returns:
            float32 ndarray of shape (n_samples, n_features_in_).
        """
        check_is_fitted(self, "mean_")
        X = self._check_rows(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but Preprocessor is expecting "
                f"{self.n_features_in_} features as input"
            )
        out = X.astype(np.float32, copy=copy)
        out -= self.mean_
        out /= self.scale_
        return out

    def get_state(self) -> dict[str, np.ndarray]:
        """The fitted statistics as float32 arrays, ready for a safetensors file."""
        check_is_fitted(self, "mean_")
        return {"mean": self.mean_, "scale": self.scale_}

    def set_state(self, state: dict[str, np.ndarray]) -> Preprocessor:
        """Restore statistics saved by :meth:`get_state` (the inverse, no refitting)."""
        mean = np.asarray(state["mean"], dtype=np.float32)
        scale = np.asarray(state["scale"], dtype=np.float32)
        if mean.ndim != 1 or scale.shape != mean.shape:
            raise ValueError(
                f"mean and scale must be 1-D of equal length, got {mean.shape}, {scale.shape}"
            )
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("mean must be finite and scale finite and positive")
        self.mean_, self.scale_, self.n_features_in_ = mean, scale, mean.shape[0]
        return self

    @staticmethod
    def _check_rows(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"expected rows of shape (n_samples, n_features), got {X.shape}")
        if X.dtype.kind not in "uif":
            raise ValueError(f"features must be numeric, got {X.dtype}")
        return X
