"""scikit-learn's bundled 8x8 handwritten digits: the default dataset, no download.

The bundled images hold 17 grey levels, 0..16. They are rescaled here to uint8 0..255
(``round(v * 255 / 16)``, lossless: the 17 levels stay distinct) so that every dataset
follows one convention, uint8 in 0..255, and scaling to [0, 1] is the same division by 255
everywhere instead of a per-dataset maximum.
"""

from __future__ import annotations

import numpy as np

from linclass.data.dataset import Dataset

DIGITS_MAX = 16  # the bundled data's brightest level


def load_digits(
    *,
    test_size: float = 0.25,
    random_state: int | np.random.Generator | None = 0,
) -> Dataset:
    """Load the 1,797 bundled digits with a stratified, seeded train/test split.

    Args:
        test_size: Fraction of each class kept for testing (there is no official split).
        random_state: Seed or generator for the split.

    Returns:
        A :class:`Dataset` with uint8 images of shape (n, 8, 8) in 0..255 and class names
        ``"0"`` .. ``"9"``.
    """
    from sklearn.datasets import load_digits as sk_load_digits  # heavy import, only here

    bunch = sk_load_digits()
    X = np.round(bunch.images * (255.0 / DIGITS_MAX)).astype(np.uint8)
    y = bunch.target.astype(np.int64)
    return Dataset.from_unsplit(
        "digits",
        X,
        y,
        [str(c) for c in bunch.target_names],
        test_size=test_size,
        random_state=random_state,
        source="sklearn.datasets.load_digits",
    )
