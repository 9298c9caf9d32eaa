"""A folder of images, one subfolder per class: ``root/<class name>/<image>.png``.

Only PNG and JPEG files (by suffix, and Pillow must agree on the format) are read; other
files and anything hidden (a name starting with ``.``, e.g. ``.DS_Store`` or ``._x.png``)
are skipped. Images are converted to one colour mode and one size so they stack into a
single uint8 array. Mode conversion is deterministic:

* transparency (RGBA, LA, PA, or a ``tRNS`` palette/colour key) is composited over black;
* 16-bit grey (I;16, I) is rescaled to 8 bits, ``round(v * 255 / 65535)``;
* palette (P), bilevel (1), CMYK and YCbCr go through Pillow's own conversions;
* RGB -> L uses Pillow's ITU-R 601-2 luma, L -> RGB repeats the grey value.

Pillow's global ``Image.MAX_IMAGE_PIXELS`` is left alone; each file is checked against
this loader's own ``max_pixels`` instead, before any pixel is decoded, and the stacked
array against ``max_total_bytes`` before it is allocated (thousands of images that each
pass ``max_pixels`` still add up). JPEGs that are resized are decoded at a reduced scale
(Pillow's ``draft``) when that is still at least the target size.

Class folder names become class names in model files, reports and pictures, so they must
be valid UTF-8; other names are refused when the folder is scanned, before any work.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from linclass.data.dataset import Dataset
from linclass.data.errors import DataError
from linclass.data.labels import check_class_count, check_labels

ColorMode = Literal["L", "RGB"]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FORMATS = ("PNG", "JPEG")
DEFAULT_MAX_PIXELS = 50_000_000  # a 50-megapixel photo; far below what a bomb claims
DEFAULT_MAX_TOTAL_BYTES = 2 * 2**30  # the stacked uint8 images; CIFAR-10 needs 184 MB
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N"}
_SIXTEEN_BIT = {"I", "I;16", "I;16B", "I;16L", "I;16N"}


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def scan_image_folder(root: str | Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """List the classes (sorted subfolder names) and their image files (sorted by name).

    Args:
        root: Folder with one subfolder per class.

    Returns:
        ``(class_names, [(file, label), ...])``.

    Raises:
        DataError: Fewer than 2 classes, or a class folder without images.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "not a folder")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and _visible(p))
    for name in classes:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise DataError(root, f"class folder {ascii(name)} has a name that is not valid "
                            "UTF-8; rename it (class names go into model files and "
                            "reports)") from None
    check_class_count(len(classes), root, "the class folders")
    if len(classes) < 2:
        raise DataError(
            root, f"found {len(classes)} class folder(s) {classes}; need at least 2, "
            "one subfolder of images per class"
        )
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(classes):
        members = sorted(
            p for p in (root / name).iterdir()
            if p.is_file() and _visible(p) and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not members:
            raise DataError(root / name, f"class folder holds no {'/'.join(IMAGE_SUFFIXES)} images")
        files += [(p, label) for p in members]
    return classes, files


def open_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open an image lazily (header only), refusing empty, non-image and oversized files.

    Raises:
        DataError: Zero bytes, not PNG/JPEG, or more than ``max_pixels`` pixels (a
            decompression bomb claims billions from a few bytes).
    """
    if path.stat().st_size == 0:
        raise DataError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path, formats=FORMATS)
    except UnidentifiedImageError:
        raise DataError(path, "not a PNG or JPEG image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataError(path, f"refused as a decompression bomb: {exc}") from None
    except Exception as exc:  # a broken header is a bad file, whatever Pillow calls it
        raise DataError(path, f"cannot read image header ({type(exc).__name__}: {exc})") from None
    width, height = img.size
    if width * height > max_pixels:
        img.close()
        raise DataError(
            path, f"refused as a decompression bomb: {width}x{height} = {width * height} "
            f"pixels exceeds max_pixels={max_pixels}"
        )
    return img


def _is_grey(img: Image.Image) -> bool:
    if img.mode in ("P", "PA"):
        palette = img.getpalette() or []
        triples = zip(palette[0::3], palette[1::3], palette[2::3], strict=False)
        return all(r == g == b for r, g, b in triples)
    return img.mode in _GREY_MODES


def to_array(
    img: Image.Image, color_mode: ColorMode, size: tuple[int, int] | None = None
) -> np.ndarray:
    """Decode and convert one image (see the module docstring for the rules).

    Args:
        img: An opened image.
        color_mode: ``"L"`` (grey) or ``"RGB"``.
        size: ``(height, width)`` to resize to (bilinear, aspect ratio not kept), or None.

    Returns:
        uint8 ndarray of shape (H, W) for ``"L"`` or (H, W, 3) for ``"RGB"``.
    """
    if size is not None and img.format == "JPEG":
        img.draft(color_mode, (size[1], size[0]))  # decode at 1/2, 1/4 or 1/8 scale if enough
    img.load()  # decode now, so a truncated file fails here
    if img.mode in _SIXTEEN_BIT:
        wide = np.clip(np.asarray(img, dtype=np.int64), 0, 65535)
        img = Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    img = img.convert(color_mode)
    if size is not None and img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def read_images(
    files: list[Path],
    *,
    image_size: tuple[int, int] | None = None,
    color_mode: ColorMode | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> np.ndarray:
    """Read image files into one uint8 array.

    A first pass opens every header (cheap) to refuse bad files early, choose the colour
    mode and check sizes; the second decodes into an array allocated once.

    Args:
        files: The image files, in order.
        image_size: ``(height, width)`` for every image; None requires all to be equal.
        color_mode: ``"L"`` or ``"RGB"``; None picks ``"L"`` if every image is grey.
        max_pixels: Largest width x height accepted for one file.
        max_total_bytes: Largest size of the returned array.

    Returns:
        ndarray of shape (n, H, W) or (n, H, W, 3), uint8.

    Raises:
        DataError: A bad file, sizes that differ without ``image_size``, or more than
            ``max_total_bytes`` of images in all.
    """
    if color_mode not in (None, "L", "RGB"):
        raise ValueError(f"color_mode must be 'L', 'RGB' or None, got {color_mode!r}")
    all_grey, first_size = True, None
    for path in files:
        with open_image(path, max_pixels) as img:
            all_grey = all_grey and _is_grey(img)
            if image_size is None and first_size is None:
                first_size = (img.height, img.width)
            elif first_size is not None and (img.height, img.width) != first_size:
                raise DataError(
                    path, f"is {img.height}x{img.width} but {files[0].name} is "
                    f"{first_size[0]}x{first_size[1]}; pass image_size to resize all images"
                )
    mode: ColorMode = color_mode or ("L" if all_grey else "RGB")
    height, width = image_size or first_size or (0, 0)
    shape = (len(files), height, width) + ((3,) if mode == "RGB" else ())
    if (total := int(np.prod(shape, dtype=object))) > max_total_bytes:
        raise DataError(os.path.commonpath(files), f"{len(files)} images of {height}x{width}"
                        f"{'x3' if mode == 'RGB' else ''} take {total / 2**30:.1f} GiB, more "
                        f"than max_total_bytes={max_total_bytes}; pass a smaller image_size")
    X = np.empty(shape, np.uint8)
    for i, path in enumerate(files):
        with open_image(path, max_pixels) as img:
            try:
                X[i] = to_array(img, mode, image_size)
            except Exception as exc:  # truncated data, broken chunks: all mean a bad file
                problem = f"cannot decode image ({type(exc).__name__}: {exc})"
                raise DataError(path, problem) from None
    return X


def _size(image_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
    if h < 1 or w < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    return int(h), int(w)


def load_image_folder(
    root: str | Path,
    *,
    image_size: int | tuple[int, int] | None = None,
    color_mode: ColorMode | None = None,
    test_size: float = 0.25,
    random_state: int | np.random.Generator | None = 0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> Dataset:
    """Load ``root/<class>/<image>`` files, or ``root/{train,test}/<class>/<image>``.

    Without ``train``/``test`` subfolders the images get a stratified, seeded test split.

    Args:
        root: The folder.
        image_size: ``(height, width)`` or one int for squares; None keeps the common size.
        color_mode: ``"L"`` or ``"RGB"``; None picks ``"L"`` if every image is grey.
        test_size: Fraction of each class kept for testing when there is no split.
        random_state: Seed or generator for that split.
        max_pixels: Largest width x height accepted for one file.
        max_total_bytes: Largest size of all images together, uint8.

    Returns:
        A :class:`Dataset` of uint8 images.
    """
    root, size = Path(root), _size(image_size)
    if not root.is_dir():
        raise DataError(root, "not a folder")
    subdirs = {p.name for p in root.iterdir() if p.is_dir() and _visible(p)}
    if subdirs == {"train", "test"}:
        names, train = scan_image_folder(root / "train")
        test_names, test = scan_image_folder(root / "test")
        if test_names != names:
            raise DataError(root / "test", f"classes {test_names} differ from train's {names}")
        X = read_images([p for p, _ in train + test], image_size=size, color_mode=color_mode,
                        max_pixels=max_pixels, max_total_bytes=max_total_bytes)
        y = check_labels(np.array([label for _, label in train + test], np.int64), root,
                         "labels", n_classes=len(names))
        n = len(train)
        return Dataset(root.name, X[:n], y[:n], X[n:], y[n:], names, X.shape[1:], str(root))
    names, files = scan_image_folder(root)
    X = read_images([p for p, _ in files], image_size=size, color_mode=color_mode,
                    max_pixels=max_pixels, max_total_bytes=max_total_bytes)
    y = check_labels(np.array([label for _, label in files], np.int64), root, "labels",
                     n_classes=len(names))
    return Dataset.from_unsplit(root.name, X, y, names, test_size=test_size,
                                random_state=random_state, source=str(root))
