"""The dataset object every loader returns: images, labels, class names, image shape.

Images stay as they were stored (normally uint8 in 0..255) with their shape kept, e.g.
``(n, 28, 28)`` or ``(n, 32, 32, 3)``. Turning them into float vectors is the job of
:mod:`linclass.features`, batch by batch, so a 60k x 784 dataset never sits in memory as
float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from linclass.data.split import stratified_split

Split = Literal["train", "test"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test images with integer labels and class names.

    Attributes:
        name: Short name, e.g. ``"fashion-mnist"`` or the folder's name.
        X_train: ndarray of shape (n_train, *image_shape), uint8 in 0..255 or float32 in
            [0, 1].
        y_train: ndarray of shape (n_train,), int64 labels in ``0..n_classes - 1``.
        X_test: ndarray of shape (n_test, *image_shape), same dtype as ``X_train``.
        y_test: ndarray of shape (n_test,), int64.
        class_names: Name of each class; label ``k`` means ``class_names[k]``.
        image_shape: ``(H, W)`` for grey images, ``(H, W, 3)`` for colour.
        source: Where the data came from (a path, or a description), for messages.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    image_shape: tuple[int, ...] = field(default=())
    source: str = ""

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in (self.image_shape or self.X_train.shape[1:]))
        object.__setattr__(self, "image_shape", shape)
        object.__setattr__(self, "class_names", [str(c) for c in self.class_names])
        if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
            raise ValueError(f"image_shape must be (H, W) or (H, W, 3), got {shape}")
        if len(self.class_names) < 2:
            raise ValueError(f"a dataset needs at least 2 classes, got {self.class_names}")
        for split in ("train", "test"):
            X, y = self.images(split), self.labels(split)
            if X.dtype != np.uint8 and X.dtype != np.float32:
                raise ValueError(f"X_{split} must be uint8 or float32, got {X.dtype}")
            if X.shape[1:] != shape:
                raise ValueError(f"X_{split} has images of shape {X.shape[1:]}, not {shape}")
            if y.dtype != np.int64 or y.shape != (X.shape[0],):
                raise ValueError(
                    f"y_{split} must be int64 of shape ({X.shape[0]},), "
                    f"got {y.dtype} {y.shape}"
                )
            if y.size and (y.min() < 0 or y.max() >= self.n_classes):
                raise ValueError(f"y_{split} has labels outside 0..{self.n_classes - 1}")

    @classmethod
    def from_unsplit(
        cls,
        name: str,
        X: np.ndarray,
        y: np.ndarray,
        class_names: list[str],
        *,
        test_size: float = 0.25,
        random_state: int | np.random.Generator | None = 0,
        source: str = "",
    ) -> Dataset:
        """Build a dataset from one pool of images with a stratified, seeded test split.

        For data that comes without an official test set (digits, image folders, npz).

        Args:
            name: Dataset name.
            X: ndarray of shape (n_samples, *image_shape).
            y: ndarray of shape (n_samples,), int64 labels.
            class_names: Name of each class.
            test_size: Fraction of each class kept for testing.
            random_state: Seed or generator for the split.
            source: Where the data came from.

        Returns:
            The dataset, with train and test images in their original order.
        """
        train_idx, test_idx = stratified_split(y, test_size, random_state)
        return cls(
            name=name,
            X_train=X[train_idx],
            y_train=y[train_idx],
            X_test=X[test_idx],
            y_test=y[test_idx],
            class_names=class_names,
            image_shape=X.shape[1:],
            source=source,
        )

    @property
    def n_classes(self) -> int:
        """Number of classes C."""
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        """Number of raw pixel values D in one image, ``prod(image_shape)``."""
        return int(np.prod(self.image_shape))

    @property
    def is_color(self) -> bool:
        """True for (H, W, 3) images."""
        return len(self.image_shape) == 3

    def images(self, split: Split) -> np.ndarray:
        """The images of one split, shape (n, *image_shape)."""
        return self._pick(split, self.X_train, self.X_test)

    def labels(self, split: Split) -> np.ndarray:
        """The labels of one split, shape (n,)."""
        return self._pick(split, self.y_train, self.y_test)

    def flat(self, split: Split) -> np.ndarray:
        """The images of one split as rows, shape (n, n_features), a view in the same dtype.

        This is the lecture's "stretch the pixels into a column", without converting to
        float: scaling belongs to :mod:`linclass.features`.
        """
        X = self.images(split)
        return X.reshape(X.shape[0], -1)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={self.X_train.shape} {self.X_train.dtype}, "
            f"test={self.X_test.shape}, classes={self.n_classes}, source={self.source!r})"
        )

    @staticmethod
    def _pick(split: str, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        if split == "train":
            return train
        if split == "test":
            return test
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
