"""Histograms of oriented gradients (HOG) for a whole batch of images at once, in NumPy.

The same numbers as ``skimage.feature.hog(image, orientations, pixels_per_cell,
cells_per_block, block_norm="L2-Hys")`` gives for each image (to float rounding), from a
few array passes over a chunk of images instead of one Python call per image. The steps,
as the lecture's "Features: HOG" slide and Dalal & Triggs describe them:

1. Gradients by central differences, zero on the border rows and columns::

       g_row[r, c] = I[r + 1, c] - I[r - 1, c],    g_col[r, c] = I[r, c + 1] - I[r, c - 1]

   Colour images: per channel, each pixel keeping the channel with the largest ``|g|``.
2. Magnitude ``|g| = sqrt(g_row² + g_col²)`` and unsigned orientation
   ``θ = atan2(g_row, g_col) · 180/π mod 180`` in degrees.
3. Each cell of ``pixels_per_cell`` pixels gets a histogram of ``orientations`` equal bins
   over [0°, 180°): a pixel votes its magnitude into the one bin that holds its θ (no
   interpolation, as in scikit-image), divided by the cell's pixel count. Pixels past the
   last whole cell are ignored.
4. Each block of ``cells_per_block`` cells (stride one cell) is normalized "L2-Hys"::

       v <- v / sqrt(|v|² + ε²);   v <- min(v, 0.2);   v <- v / sqrt(|v|² + ε²),   ε = 1e-5

5. The feature row lists the blocks in the order (block row, block column, cell row,
   cell column, orientation).

Bins are decided exactly as scikit-image decides them: θ comes from the float64
``atan2`` of gradients taken in the image's own float type, and the bin edges are the
float64 values ``180 / orientations * i``; a pixel on an edge belongs to the upper bin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from linclass.features.images import to_gray
from linclass.features.parallel import TASK_PIXELS, n_threads, run_chunks

EPS = 1e-5  # scikit-image's epsilon in the block norms
HYS_CLIP = 0.2  # "Hys": the cap on a normalized block entry before renormalizing
CHUNK_PIXELS = 1 << 16  # pixels per chunk: the chunk's float64 temporaries stay in cache


def float_type(dtype: np.dtype) -> np.dtype:
    """scikit-image's working type: float32 for float16/float32 images, else float64."""
    return np.dtype(np.float32 if np.dtype(dtype) in (np.float16, np.float32) else np.float64)


#: A HOG cell or block size: ``(rows, cols)``, or one number for a square (``2``: 2x2).
Size = int | Sequence[int]


def as_pair(value: Size, name: str) -> tuple[int, int]:
    """``(rows, cols)`` of a HOG cell or block size; one number means a square.

    Raises:
        ValueError: Unless the size is one or two positive integers, naming ``name``.
    """
    values = (value, value) if isinstance(value, int | np.integer) else value
    if isinstance(values, str):  # a string is a sequence too, and "22" is not a size
        values = ()
    try:
        pair = tuple(int(v) for v in values)
    except (TypeError, ValueError):
        pair = ()
    if len(pair) != 2 or min(pair) < 1:
        raise ValueError(f"{name} must be a positive integer or two (rows, cols), got {value!r}")
    return pair[0], pair[1]


def hog_grid(
    image_shape: Sequence[int], pixels_per_cell: Size, cells_per_block: Size
) -> tuple[int, int, int, int]:
    """Cells and blocks that fit an image: ``(n_cells_row, n_cells_col, n_blocks_row,
    n_blocks_col)``, with ``n_cells = size // cell`` and ``n_blocks = n_cells - block + 1``.

    Raises:
        ValueError: If not even one block fits, naming the smallest image that works.
    """
    (c_row, c_col), (b_row, b_col) = (as_pair(pixels_per_cell, "pixels_per_cell"),
                                      as_pair(cells_per_block, "cells_per_block"))
    rows, cols = int(image_shape[0]), int(image_shape[1])
    n_cells_row, n_cells_col = rows // c_row, cols // c_col
    if n_cells_row < b_row or n_cells_col < b_col:
        raise ValueError(
            f"images of {rows}x{cols} pixels are smaller than one HOG block of "
            f"{b_row}x{b_col} cells of {c_row}x{c_col} pixels (at least "
            f"{b_row * c_row}x{b_col * c_col} needed); use a smaller pixels_per_cell"
        )
    return n_cells_row, n_cells_col, n_cells_row - b_row + 1, n_cells_col - b_col + 1


def hog_size(
    image_shape: Sequence[int], orientations: int, pixels_per_cell: Size, cells_per_block: Size,
) -> int:
    """D, the length of one image's HOG: ``n_blocks_row · n_blocks_col · b_row · b_col ·
    orientations`` (see :func:`hog_grid`)."""
    *_, nb_row, nb_col = hog_grid(image_shape, pixels_per_cell, cells_per_block)
    b_row, b_col = as_pair(cells_per_block, "cells_per_block")
    return nb_row * nb_col * b_row * b_col * int(orientations)


def _gradients(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central differences ``(g_row, g_col)``, each of shape (n, H, W), zero on the border.

    Colour images (n, H, W, C): each pixel takes both gradients from the channel with the
    largest ``hypot(g_row, g_col)`` (the first such channel on ties, as ``argmax`` does).
    """
    g_row = np.zeros_like(images)
    g_col = np.zeros_like(images)
    np.subtract(images[:, 2:], images[:, :-2], out=g_row[:, 1:-1])
    np.subtract(images[:, :, 2:], images[:, :, :-2], out=g_col[:, :, 1:-1])
    if images.ndim == 4:
        strongest = np.hypot(g_row, g_col).argmax(axis=-1)[..., None]
        g_row = np.take_along_axis(g_row, strongest, axis=-1)[..., 0]
        g_col = np.take_along_axis(g_col, strongest, axis=-1)[..., 0]
    return g_row, g_col


def _exact_bins(g_row: np.ndarray, g_col: np.ndarray, orientations: int) -> np.ndarray:
    """Bins computed literally as scikit-image computes them (float64 ``atan2``, degrees,
    ``mod 180``, edges ``180 / orientations * i``); index ``orientations`` means "no bin"
    (a θ that rounds to 180.0, which scikit-image's half-open bins leave out)."""
    theta = np.arctan2(g_row.astype(np.float64), g_col.astype(np.float64)) * (180 / np.pi) % 180
    edges = 180.0 / orientations * np.arange(orientations + 1)
    return np.searchsorted(edges, theta, side="right") - 1


def _orientation_bins(g_row: np.ndarray, g_col: np.ndarray, orientations: int) -> np.ndarray:
    """Orientation bin of every pixel, equal to :func:`_exact_bins`, at a fraction of its cost.

    The unsigned angle is ``atan2(|g_row|, ±g_col)`` in [0, π] (the gradient turned into
    the upper half-plane), scaled to bin units ``a = angle · orientations / π``; the bin is
    ``floor(a)``. Only pixels whose ``a`` lies within rounding distance of a bin edge go
    through the exact (slower) route. A pixel with ``g_row = 0`` has θ = 0 or 180 before
    ``mod 180``, so bin 0.

    Args:
        g_row, g_col: Gradients, float ndarrays of equal shape.
        orientations: Number of bins.

    Returns:
        intp ndarray of the gradients' shape, values in [0, orientations].
    """
    near = 64 * orientations * np.finfo(g_row.dtype).eps  # far above atan2's rounding
    a = np.arctan2(np.abs(g_row), g_col * np.copysign(g_row.dtype.type(1), g_row))
    a *= orientations / np.pi
    whole = np.floor(a)
    bins = whole.astype(np.intp)
    whole -= a  # minus the fractional part, in (-1, 0]
    flat = g_row == 0
    bins[flat] = 0
    edge = np.flatnonzero(((whole > -near) | (whole < near - 1)) & ~flat)
    if edge.size:
        bins.flat[edge] = _exact_bins(g_row.flat[edge], g_col.flat[edge], orientations)
    return bins


def _cell_histograms(
    g_row: np.ndarray, g_col: np.ndarray, orientations: int, pixels_per_cell: tuple[int, int],
    n_cells: tuple[int, int],
) -> np.ndarray:
    """Orientation histogram of every cell: float64 (n, n_cells_row, n_cells_col, orientations).

    ``hist[k, i, j, o] = sum(|g| of the cell's pixels with θ in bin o) / (c_row · c_col)``,
    one ``bincount`` over (image, cell, bin) for the whole chunk.
    """
    n = g_row.shape[0]
    (c_row, c_col), (n_row, n_col) = pixels_per_cell, n_cells

    def by_cell(g: np.ndarray) -> np.ndarray:  # (n, n_row, c_row, n_col, c_col)
        return g[:, : n_row * c_row, : n_col * c_col].reshape(n, n_row, c_row, n_col, c_col)

    gr, gc = by_cell(g_row), by_cell(g_col)
    magnitude = np.sqrt(gr * gr + gc * gc)
    slots = orientations + 1  # the extra slot collects pixels that fall in no bin
    cell = (np.arange(n)[:, None] * n_row + np.arange(n_row)) * n_col
    cell = cell[:, :, None, None, None] + np.arange(n_col)[:, None]  # (n, n_row, 1, n_col, 1)
    index = _orientation_bins(gr, gc, orientations)
    index += cell * slots
    hist = np.bincount(index.ravel(), weights=magnitude.ravel(),
                       minlength=n * n_row * n_col * slots)
    hist = hist.reshape(n, n_row, n_col, slots)[..., :orientations]
    return hist / (c_row * c_col)


def _l2_hys(blocks: np.ndarray) -> np.ndarray:
    """L2-Hys in place on axis 0 of ``blocks`` (block entries, n_blocks): normalize, clip
    at 0.2, normalize again. Entries along axis 0 keep each pass a long contiguous loop."""
    for clip in (True, False):
        norm = np.sqrt(np.einsum("ij,ij->j", blocks, blocks) + EPS**2)
        blocks /= norm
        if clip:
            np.minimum(blocks, HYS_CLIP, out=blocks)
    return blocks


def _normalized_blocks(hist: np.ndarray, cells_per_block: tuple[int, int]) -> np.ndarray:
    """Every block of cells, L2-Hys normalized: float64 (n, n_blocks_row * n_blocks_col *
    b_row * b_col * orientations), in scikit-image's order.

    The blocks are gathered entry-major, shape (b_row, b_col, orientations, n, n_blocks_row,
    n_blocks_col), so that the norms run over axis 0; the result is transposed back.
    """
    n, n_row, n_col, orientations = hist.shape
    (b_row, b_col) = cells_per_block
    nb_row, nb_col = n_row - b_row + 1, n_col - b_col + 1
    by_bin = hist.transpose(3, 0, 1, 2)  # (orientations, n, n_row, n_col)
    blocks = np.empty((b_row, b_col, orientations, n, nb_row, nb_col))
    for i in range(b_row):
        for j in range(b_col):
            blocks[i, j] = by_bin[:, :, i : i + nb_row, j : j + nb_col]
    flat = _l2_hys(blocks.reshape(b_row * b_col * orientations, n * nb_row * nb_col))
    return flat.reshape(-1, n, nb_row * nb_col).transpose(1, 2, 0).reshape(n, -1)


def batch_hog(
    images: np.ndarray,
    orientations: int = 9,
    pixels_per_cell: Size = (8, 8),
    cells_per_block: Size = (3, 3),
    *,
    channel_axis: int | None = None,
) -> np.ndarray:
    """HOG of every image, ``skimage.feature.hog(..., block_norm="L2-Hys")`` row by row.

    Args:
        images: ndarray of shape (n, H, W), or (n, H, W, C) with ``channel_axis=-1``; any
            real dtype (floats are used as they are, integers as float64, as in
            scikit-image).
        orientations: Number of orientation bins over [0°, 180°).
        pixels_per_cell: Cell size ``(rows, cols)`` in pixels, or one number (square).
        cells_per_block: Block size ``(rows, cols)`` in cells, or one number (square).
        channel_axis: None for grey images; -1 (or 3) for colour images, channels last.

    Returns:
        ndarray of shape (n, n_blocks_row * n_blocks_col * b_row * b_col * orientations),
        float32 for float16/float32 images, float64 otherwise.

    Raises:
        ValueError: On a bad shape or setting, NaN or infinite pixels, or images too small
            for one block.
    """
    images = np.asarray(images)
    colour = channel_axis is not None
    if colour and channel_axis not in (-1, 3):
        raise ValueError(
            f"channel_axis must be None (grey) or -1 (channels last), got {channel_axis}"
        )
    if images.ndim != (4 if colour else 3):
        raise ValueError(
            f"images must have shape {'(n, H, W, C)' if colour else '(n, H, W)'}"
            f"{' with channel_axis=-1' if colour else ''}, got {images.shape}"
        )
    if int(orientations) != orientations or orientations < 1:
        raise ValueError(f"orientations must be a positive integer, got {orientations!r}")
    orientations = int(orientations)
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        raise ValueError("images must be finite (no NaN or infinity) for HOG")
    ppc = as_pair(pixels_per_cell, "pixels_per_cell")
    cpb = as_pair(cells_per_block, "cells_per_block")
    n_row, n_col, _, _ = hog_grid(images.shape[1:3], ppc, cpb)
    work = float_type(images.dtype)
    out = np.empty((images.shape[0], hog_size(images.shape[1:3], orientations, ppc, cpb)), work)
    step = max(1, CHUNK_PIXELS // int(np.prod(images.shape[1:])))
    for start in range(0, images.shape[0], step):
        chunk = images[start : start + step].astype(work, copy=False)
        hist = _cell_histograms(*_gradients(chunk), orientations, ppc, (n_row, n_col))
        out[start : start + step] = _normalized_blocks(hist, cpb)
    return out


def hog_features(
    images: np.ndarray,
    orientations: int,
    pixels_per_cell: Size,
    cells_per_block: Size,
    *,
    n_jobs: int | None = None,
) -> np.ndarray:
    """HOG of the grey images, as ``skimage.feature.hog`` gives it for each grey image.

    Colour images are turned grey first (:func:`~linclass.features.images.to_gray`), as
    linclass's HOG features always have been; :func:`batch_hog` with ``channel_axis=-1``
    gives scikit-image's colour HOG (strongest channel per pixel) instead.

    Args:
        images: ndarray of shape (n, H, W) or (n, H, W, 3), floats in [0, 1].
        orientations: Number of orientation bins.
        pixels_per_cell: Cell size ``(rows, cols)`` in pixels, or one number (square).
        cells_per_block: Block size ``(rows, cols)`` in cells, or one number (square).
        n_jobs: Threads; None uses every core for big sets and one thread for small ones.

    Returns:
        float32 ndarray of shape (n, n_blocks * prod(cells_per_block) * orientations).
    """
    grey = to_gray(np.asarray(images))
    out = np.empty((grey.shape[0], hog_size(grey.shape[1:3], orientations, pixels_per_cell,
                                            cells_per_block)), np.float32)

    def work(start: int, stop: int) -> None:
        out[start:stop] = batch_hog(grey[start:stop], orientations, pixels_per_cell,
                                    cells_per_block)

    chunk = max(1, TASK_PIXELS // max(1, int(np.prod(grey.shape[1:]))))
    for _ in run_chunks(grey.shape[0], chunk, work, n_threads(n_jobs, grey.size)):
        pass
    return out
