"""A folder of images, one subfolder per class: ``root/<class name>/<image>``.

Every format Pillow decodes is read (PNG, JPEG, BMP, TIFF, GIF, WebP, PPM/PGM, ...; the
list and the decoding rules are in :mod:`linclass.data.image_file`; a multi-frame file gives
its first frame). Other files and anything hidden (a name starting with ``.``, e.g.
``.DS_Store`` or ``._x.png``) are left out. Images are converted to one colour mode and
one size so they stack into a single uint8 array.

Colour mode (``color_mode``; the CLI's ``--color-mode``):

* ``"gray"``: every image converted to grey, shape (n, H, W);
* ``"rgb"``: every image converted to RGB, shape (n, H, W, 3);
* ``"auto"`` (the default): grey if every image is grey, in its mode or in its pixels
  (an RGB file whose three channels are equal, as WebP stores grey), else RGB. A folder
  that mixes grey and colour images is loaded as RGB with one warning saying how many of
  each there are: RGB triples the features, which a folder of grey scans with a few
  colour files did not mean. Pillow's names ``"L"`` and ``"RGB"`` are accepted too.

Unreadable files (``on_error``; the CLI's ``--skip-bad``): by default the first one is an
error naming the file. With ``on_error="skip"`` every unreadable file (empty, not an
image, a broken header or truncated pixels, a decompression bomb) is left out, the rest
is loaded, and one warning lists the skipped files (the first few, then a count). A class
left without a readable image, or a folder with none at all, is still an error.

Each file is checked against ``max_pixels`` before any pixel is decoded, and the stacked
array against ``max_total_bytes`` before it is allocated (thousands of images that each
pass ``max_pixels`` still add up).

Class folder names become class names in model files, reports and pictures, so they must
be valid UTF-8; other names are refused when the folder is scanned, before any work.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Literal

import numpy as np

from linclass.data.dataset import Dataset
from linclass.data.errors import DataError
from linclass.data.image_file import PillowMode, is_grey_mode, is_image_file, open_image, to_array
from linclass.data.labels import check_class_count, check_labels

ColorMode = Literal["auto", "gray", "rgb"]
#: The accepted ``color_mode`` values; Pillow's names ``"L"``/``"RGB"`` (and None, for
#: "auto") are taken as aliases.
COLOR_MODES: tuple[ColorMode, ...] = ("auto", "gray", "rgb")
OnError = Literal["raise", "skip"]
ON_ERROR: tuple[OnError, ...] = ("raise", "skip")
DEFAULT_MAX_PIXELS = 50_000_000  # a 50-megapixel photo; far below what a bomb claims
DEFAULT_MAX_TOTAL_BYTES = 2 * 2**30  # the stacked uint8 images; CIFAR-10 needs 184 MB
SKIPPED_LISTED = 5  # files named in the skip warning; the rest are counted
_ALIASES: dict[str | None, ColorMode] = {None: "auto", "L": "gray", "RGB": "rgb"}
_PILLOW: dict[ColorMode, PillowMode] = {"gray": "L", "rgb": "RGB"}


class ImageFolderWarning(UserWarning):
    """Unreadable files were skipped, or grey and colour images were mixed."""


def check_color_mode(color_mode: str | None) -> ColorMode:
    """``color_mode`` as one of :data:`COLOR_MODES` (aliases resolved).

    Raises:
        ValueError: Any other value.
    """
    mode = _ALIASES.get(color_mode, color_mode)
    if mode not in COLOR_MODES:
        raise ValueError(f'color_mode must be "auto", "gray" or "rgb", got {color_mode!r}')
    return mode


def check_on_error(on_error: str) -> OnError:
    """``on_error`` checked: ``"raise"`` or ``"skip"``.

    Raises:
        ValueError: Any other value.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f'on_error must be "raise" or "skip", got {on_error!r}')
    return on_error


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
        members = sorted(p for p in (root / name).iterdir()
                         if p.is_file() and _visible(p) and is_image_file(p))
        if not members:
            raise DataError(root / name, "class folder holds no image files (PNG, JPEG, "
                            "BMP, TIFF, GIF, WebP, PPM, ...: any format Pillow reads)")
        files += [(p, label) for p in members]
    return classes, files


def read_images(
    files: list[Path],
    *,
    image_size: tuple[int, int] | None = None,
    color_mode: ColorMode | str | None = "auto",
    on_error: OnError = "raise",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> tuple[np.ndarray, list[Path]]:
    """Read image files into one uint8 array.

    A first pass opens every header (cheap) to refuse bad files early, choose the colour
    mode and check sizes; the second decodes into an array allocated once.

    Args:
        files: The image files, in order.
        image_size: ``(height, width)`` for every image; None requires all to be equal.
        color_mode: ``"auto"``, ``"gray"`` or ``"rgb"`` (see the module docstring).
        on_error: ``"raise"``: the first unreadable file is an error; ``"skip"``: leave
            unreadable files out, with one :class:`ImageFolderWarning` listing them.
        max_pixels: Largest width x height accepted for one file.
        max_total_bytes: Largest size of the returned array.

    Returns:
        ``(X, kept)``: X of shape (n, H, W) or (n, H, W, 3), uint8, and the n files it
        holds, in order (``files`` less the skipped ones).

    Raises:
        DataError: An unreadable file (unless skipped), every file unreadable, sizes that
            differ without ``image_size``, or more than ``max_total_bytes`` of images.
    """
    mode = check_color_mode(color_mode)
    bad = _Bad(files, check_on_error(on_error))
    kept, all_grey, header_size = _read_headers(files, image_size, max_pixels, bad)
    decode_as: PillowMode = "L" if mode == "gray" or (mode == "auto" and all_grey) else "RGB"
    height, width = image_size or header_size
    shape = (len(kept), height, width) + ((3,) if decode_as == "RGB" else ())
    if (total := int(np.prod(shape, dtype=object))) > max_total_bytes:
        raise DataError(bad.base, f"{len(kept)} images of {height}x{width}"
                        f"{'x3' if decode_as == 'RGB' else ''} take {total / 2**30:.1f} GiB, "
                        f"more than max_total_bytes={max_total_bytes}; pass a smaller "
                        "image_size" + (' or color_mode="gray"' if decode_as == "RGB" else ""))
    X, kept = _decode(kept, np.empty(shape, np.uint8), image_size, max_pixels, bad)
    bad.report()
    if decode_as == "RGB" and mode == "auto":
        X = _grey_if_all_are(X, kept, bad.base)
    return X, kept


class _Bad:
    """The unreadable files of one read: raised at once, or collected and reported."""

    def __init__(self, files: list[Path], on_error: OnError) -> None:
        self.n, self.on_error = len(files), on_error
        self.errors: list[DataError] = []
        self.base = os.path.commonpath([os.fspath(p.parent) for p in files]) if files else ""

    def add(self, err: DataError) -> None:
        if self.on_error == "raise":
            raise DataError(err.path, err.problem + ' (on_error="skip" leaves unreadable '
                            "files out)") from None
        self.errors.append(err)

    def check_some_left(self, n_left: int) -> None:
        if self.n and not n_left:
            raise DataError(self.base, f"none of the {self.n} image files could be read; "
                            f"the first: {self.errors[0]}")

    def report(self) -> None:
        """One warning line: how many were skipped, the first few with their reasons."""
        if not self.errors:
            return
        errors = sorted(self.errors, key=lambda e: e.path)
        listed = "; ".join(f"{os.path.relpath(e.path, self.base or '.')} ({e.problem})"
                           for e in errors[:SKIPPED_LISTED])
        more = f"; and {len(errors) - SKIPPED_LISTED} more" if len(errors) > SKIPPED_LISTED \
            else ""
        warnings.warn(f"{self.base or '.'}: skipped {len(errors)} unreadable image file(s) "
                      f"of {self.n}: {listed}{more}", ImageFolderWarning, stacklevel=3)


def _read_headers(files: list[Path], image_size: tuple[int, int] | None, max_pixels: int,
                  bad: _Bad) -> tuple[list[Path], bool, tuple[int, int]]:
    """The first pass: the readable files, whether all are grey by their headers, and
    their common ``(height, width)`` (checked equal unless ``image_size`` is given)."""
    kept: list[Path] = []
    all_grey, first = True, None
    for path in files:
        try:
            img = open_image(path, max_pixels)
        except DataError as exc:
            bad.add(exc)
            continue
        with img:
            all_grey = all_grey and is_grey_mode(img)
            if image_size is None and first is None:
                first = (path, img.height, img.width)
            elif first is not None and (img.height, img.width) != first[1:]:
                raise DataError(
                    path, f"is {img.height}x{img.width} but {first[0].name} is "
                    f"{first[1]}x{first[2]}; pass image_size to resize all images"
                )
        kept.append(path)
    bad.check_some_left(len(kept))
    return kept, all_grey, (first[1], first[2]) if first else (0, 0)


def _decode(files: list[Path], X: np.ndarray, image_size: tuple[int, int] | None,
            max_pixels: int, bad: _Bad) -> tuple[np.ndarray, list[Path]]:
    """The second pass: decode into ``X`` (its mode is its shape), in order; files that
    fail now (truncated pixels) are dropped and the array shortened."""
    mode: PillowMode = "RGB" if X.ndim == 4 else "L"
    kept: list[Path] = []
    for path in files:
        try:
            with open_image(path, max_pixels) as img:
                X[len(kept)] = to_array(img, mode, image_size)
        except Exception as exc:  # truncated data, broken chunks: all mean a bad file
            bad.add(exc if isinstance(exc, DataError) else DataError(
                path, f"cannot decode image ({type(exc).__name__}: {exc})"))
            continue
        kept.append(path)
    bad.check_some_left(len(kept))
    return (X if len(kept) == len(X) else X[: len(kept)].copy()), kept


def _grey_if_all_are(X: np.ndarray, files: list[Path], base: str) -> np.ndarray:
    """``color_mode="auto"`` on RGB images: grey (n, H, W) if every image's three channels
    are equal; else X as it is, with a warning when some are grey and some colour."""
    grey = np.array([np.array_equal(x[..., 0], x[..., 1]) and
                     np.array_equal(x[..., 1], x[..., 2]) for x in X], bool)
    if grey.all():  # RGB files holding grey pixels (WebP, say): grey after all
        return np.ascontiguousarray(X[..., 0])
    if grey.any():
        n, n_grey = len(X), int(grey.sum())
        example = os.path.relpath(files[int(np.argmax(grey))], base or ".")
        warnings.warn(
            f"{base or '.'}: {n_grey} of {n} images are grey (e.g. {example}) and "
            f"{n - n_grey} colour: all are loaded as RGB, grey repeated in 3 channels; pass "
            'color_mode="gray" to load them as grey, or color_mode="rgb" to load RGB '
            "without this warning", ImageFolderWarning, stacklevel=3)
    return X


def _size(image_size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
    if h < 1 or w < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    return int(h), int(w)


def _labels_of(files: list[tuple[Path, int]], kept: list[Path], names: list[str],
               root: Path) -> np.ndarray:
    """The labels of the kept files; a class whose every file was skipped is an error."""
    label_of = dict(files)
    y = np.array([label_of[p] for p in kept], np.int64)
    counts = np.bincount(y, minlength=len(names))
    for name, count in zip(names, counts, strict=True):
        if count == 0:
            raise DataError(root / name, "no image in this class folder could be read (all "
                            "were skipped as unreadable)")
    return check_labels(y, root, "labels", n_classes=len(names))


def load_image_folder(
    root: str | Path,
    *,
    image_size: int | tuple[int, int] | None = None,
    color_mode: ColorMode | str | None = "auto",
    on_error: OnError = "raise",
    test_size: float = 0.25,
    random_state: int | np.random.Generator | None = 0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> Dataset:
    """Load ``root/<class>/<image>`` files, or ``root/{train,test}/<class>/<image>``.

    Without ``train``/``test`` subfolders the images get a stratified, seeded test split
    (of the files that were read, when some were skipped).

    Args:
        root: The folder.
        image_size: ``(height, width)`` or one int for squares; None keeps the common size.
        color_mode: ``"auto"`` (grey if every image is grey, else RGB), ``"gray"`` or
            ``"rgb"``; see the module docstring.
        on_error: ``"raise"`` (an unreadable file is an error) or ``"skip"`` (left out,
            with one warning listing them).
        test_size: Fraction of each class kept for testing when there is no split.
        random_state: Seed or generator for that split.
        max_pixels: Largest width x height accepted for one file.
        max_total_bytes: Largest size of all images together, uint8.

    Returns:
        A :class:`Dataset` of uint8 images.
    """
    root, size = Path(root), _size(image_size)
    read = functools.partial(read_images, image_size=size, color_mode=check_color_mode(
        color_mode), on_error=check_on_error(on_error), max_pixels=max_pixels,
        max_total_bytes=max_total_bytes)
    if not root.is_dir():
        raise DataError(root, "not a folder")
    subdirs = {p.name for p in root.iterdir() if p.is_dir() and _visible(p)}
    if subdirs == {"train", "test"}:
        names, train = scan_image_folder(root / "train")
        test_names, test = scan_image_folder(root / "test")
        if test_names != names:
            raise DataError(root / "test", f"classes {test_names} differ from train's {names}")
        X, kept = read([p for p, _ in train + test])
        n = sum(1 for p in kept if p.is_relative_to(root / "train"))
        y_train = _labels_of(train, kept[:n], names, root / "train")
        y_test = _labels_of(test, kept[n:], names, root / "test")
        return Dataset(root.name, X[:n], y_train, X[n:], y_test, names, X.shape[1:], str(root))
    names, files = scan_image_folder(root)
    X, kept = read([p for p, _ in files])
    y = _labels_of(files, kept, names, root)
    return Dataset.from_unsplit(root.name, X, y, names, test_size=test_size,
                                random_state=random_state, source=str(root))
