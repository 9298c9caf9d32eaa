"""The lecture's visual viewpoint: one template per class, the rows of W seen as images.

The score of class k is ``s_k = w_k . x + b_k``, a dot product, i.e. template matching:
an image scores high for class k when it looks like the picture ``w_k``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from linclass.plots._style import class_labels

GREY_CMAP = "RdBu_r"  # red = positive weight, blue = negative, white = 0


def _grid(n: int) -> tuple[int, int]:
    """Rows and columns for n small images: one row up to 6, two rows up to 12."""
    if n <= 6:
        return 1, n
    if n <= 12:
        return 2, math.ceil(n / 2)
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def _as_images(W: np.ndarray, image_shape: Sequence[int]) -> np.ndarray:
    """Reshape the rows of W into images of shape (H, W) or (H, W, 3).

    A channel-first shape ``(3, H, W)`` (as in CIFAR's python batches) is accepted too and
    turned into channel-last for display.

    Raises:
        ValueError: If W's rows do not hold exactly ``prod(image_shape)`` numbers, i.e. the
            features are not raw pixels.
    """
    W = np.asarray(W, dtype=float)
    shape = tuple(int(s) for s in image_shape)
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D (n_classes, n_features), got shape {W.shape}")
    if len(shape) not in (2, 3) or (len(shape) == 3 and 3 not in (shape[0], shape[-1])):
        raise ValueError(f"image_shape must be (H, W), (H, W, 3) or (3, H, W), got {shape}")
    n_pixels = math.prod(shape)
    if W.shape[1] != n_pixels:
        raise ValueError(
            f"cannot show templates: W has D={W.shape[1]} features per class but image_shape "
            f"{shape} has {n_pixels} values; templates are images only when the features are "
            "the raw pixels (not HOG, histograms or other derived features)"
        )
    images = W.reshape((W.shape[0], *shape))
    if len(shape) == 3 and shape[0] == 3 and shape[-1] != 3:
        images = images.transpose(0, 2, 3, 1)
    return images


def plot_templates(
    W: np.ndarray,
    image_shape: Sequence[int],
    class_names: Sequence[str] | None = None,
    *,
    shared_scale: bool = False,
    fig: Figure | None = None,
) -> Figure:
    """Draw each row of W as an image: the class templates of the visual viewpoint.

    Grey images use a diverging colormap centred at 0, so pixels that raise the class score
    (positive weight, red) and pixels that lower it (negative, blue) are both visible. Colour
    images are min-max scaled per template, as in CS231n, because RGB has no "zero colour".

    Args:
        W: ndarray of shape (n_classes, n_features) with ``n_features = prod(image_shape)``.
        image_shape: ``(H, W)`` for grey, ``(H, W, 3)`` or ``(3, H, W)`` for colour.
        class_names: One title per template; defaults to the class indices.
        shared_scale: Grey only. Use one colour scale for all templates (with a colour bar)
            so their strengths can be compared; by default each template uses its own
            ``max |w|`` so that even a weak template shows its shape.
        fig: Figure to draw on; a new one if None.

    Returns:
        The Figure, with one Axes per class.

    Raises:
        ValueError: If ``n_features != prod(image_shape)`` (features are not raw pixels).
    """
    images = _as_images(W, image_shape)
    n_classes = images.shape[0]
    names = class_labels(n_classes, class_names)
    rows, cols = _grid(n_classes)
    if fig is None:
        fig = Figure(figsize=(1.7 * cols + 0.6, 1.9 * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    colour = images.ndim == 4
    vmax_all = float(np.abs(images).max()) or 1.0
    im = None
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k >= n_classes:
            continue
        img = images[k]
        if colour:
            lo, hi = img.min(), img.max()
            ax.imshow((img - lo) / (hi - lo) if hi > lo else np.zeros_like(img))
        else:
            vmax = vmax_all if shared_scale else (float(np.abs(img).max()) or 1.0)
            im = ax.imshow(img, cmap=GREY_CMAP, vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_title(names[k], fontsize=11)
    if colour:
        note = "each template min-max scaled to full colour range"
    elif shared_scale:
        assert im is not None  # n_classes >= 1 grey templates were drawn
        fig.colorbar(im, ax=axes.tolist(), shrink=0.8, label="weight")
        note = "red: positive weight (pixel raises the class score), blue: negative"
    else:
        note = "red: positive weight (pixel raises the class score), blue: negative; " \
               "each template on its own scale"
    fig.suptitle("Class templates (rows of W)", fontsize=13)
    fig.supxlabel(note, fontsize=9, color="0.35")
    return fig
