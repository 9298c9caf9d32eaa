"""One image file: which formats are read, opening it safely, decoding it to uint8.

Formats are Pillow's own: every file extension Pillow registers
(``Image.registered_extensions()`` after ``Image.init()``) whose format Pillow can also
decode, less the few it only identifies or hands to an outside program
(:data:`NOT_DECODED`). So BMP, TIFF, GIF, WebP, PPM/PGM/PBM, TGA, ICO, JPEG 2000, QOI, ...
are read as well as PNG and JPEG. A multi-frame file (an animated GIF, WebP or APNG, a
multi-page TIFF) gives its first frame.

Decoding is deterministic:

* transparency (RGBA, LA, PA, or a ``tRNS`` palette entry / colour key, e.g. a GIF's
  transparent index) is composited over black;
* palette (P), bilevel (1), CMYK and YCbCr go through Pillow's own conversions, a palette
  through RGBA when it has a transparent entry;
* 16-bit grey (I;16, and I, which Pillow gives 16-bit PGMs) is rescaled to 8 bits,
  ``round(v * 255 / full)``: ``full`` is 65535, or ``2**b - 1`` for a PNG whose ``sBIT``
  chunk says only ``b`` bits are significant and whose values are the raw ``b``-bit counts
  (all at most ``2**b - 1``, not all multiples of ``2**(16 - b)``), as 12-bit cameras and
  scientific tools write them; values that fill the 16-bit range (the PNG specification's
  left-shifted form) keep ``full = 65535``. Pillow itself reads 16-bit colour PNGs as 8-bit
  RGB (the high byte), so ``sBIT`` only matters for grey;
* RGB -> L uses Pillow's ITU-R 601-2 luma, L -> RGB repeats the grey value.

Pillow's global ``Image.MAX_IMAGE_PIXELS`` is left alone; each file is checked against the
caller's own ``max_pixels`` instead, before any pixel is decoded. JPEGs that are resized
are decoded at a reduced scale (Pillow's ``draft``) when that is still at least the target
size.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from linclass.data.errors import DataError

#: Pillow's name of the two colour modes images are decoded to.
PillowMode = Literal["L", "RGB"]

#: Formats Pillow registers extensions for but does not decode by itself: why each is left out.
NOT_DECODED = {
    "BUFR": "a stub: needs a handler installed by the application",
    "GRIB": "a stub: needs a handler installed by the application",
    "HDF5": "a stub: needs a handler installed by the application",
    "WMF": "vector drawings (WMF/EMF), rendered only on Windows",
    "MPEG": "identified, never decoded",
    "EPS": "PostScript, rendered by the Ghostscript program",
    "IPTC": "news metadata, not an image format",
}
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N"}
_SIXTEEN_BIT = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@contextlib.contextmanager
def _warnings_only_if_it_works() -> Iterator[None]:
    """Hold back Pillow's warnings about a file (``Corrupt EXIF data``, say) until the
    work is done: a file that then fails is one error (or one line among the skipped),
    not an error after a warning about the same file."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # a bomb is refused
        yield
    for w in caught:
        warnings.warn(w.message, stacklevel=3)


@functools.cache
def readable_formats() -> dict[str, str]:
    """The file suffixes this loader reads, lower case with the dot, and Pillow's format
    for each: ``{".bmp": "BMP", ".png": "PNG", ...}`` (computed once)."""
    Image.init()  # import every plugin: only then are all extensions registered
    return {suffix: fmt for suffix, fmt in sorted(Image.registered_extensions().items())
            if fmt in Image.OPEN and fmt not in NOT_DECODED}


def is_image_file(path: Path) -> bool:
    """Whether ``path``'s suffix is one of :func:`readable_formats` (case ignored)."""
    return path.suffix.lower() in readable_formats()


def open_image(path: Path, max_pixels: int) -> Image.Image:
    """Open an image lazily (header only), refusing empty, non-image and oversized files.

    Pillow recognises the format by the file's content; any readable format is accepted
    whatever the suffix says (a JPEG saved as ``x.png`` is read as a JPEG).

    Raises:
        DataError: Zero bytes, not an image Pillow decodes, or more than ``max_pixels``
            pixels (a decompression bomb claims billions from a few bytes).
    """
    if path.stat().st_size == 0:
        raise DataError(path, "empty file (0 bytes)")
    try:
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; an error here.
        with _warnings_only_if_it_works():
            img = Image.open(path, formats=sorted(set(readable_formats().values())))
    except UnidentifiedImageError:
        raise DataError(path, "not an image in a format Pillow reads") from None
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


def is_grey_mode(img: Image.Image) -> bool:
    """Whether the header alone says the image is grey (a grey mode or an all-grey
    palette); an RGB file may still hold grey pixels (WebP stores grey as RGB)."""
    if img.mode in ("P", "PA"):
        palette = img.getpalette() or []
        triples = zip(palette[0::3], palette[1::3], palette[2::3], strict=False)
        return all(r == g == b for r, g, b in triples)
    return img.mode in _GREY_MODES


def png_significant_bits(path: Path) -> int | None:
    """The grey sample depth a PNG's ``sBIT`` chunk gives, None without one.

    Pillow decodes PNGs but does not keep ``sBIT``; its :class:`PngImagePlugin.ChunkStream`
    walks the chunks here. ``sBIT`` must come before ``PLTE`` and ``IDAT``, so the walk
    stops at those (a few header bytes read, never the pixels).
    """
    try:
        with open(path, "rb") as fp:
            if fp.read(8) != _PNG_SIGNATURE:
                return None
            stream = PngImagePlugin.ChunkStream(fp)
            while True:
                cid, pos, length = stream.read()
                if cid == b"sBIT":
                    data = fp.read(min(length, 4))
                    return data[0] if data else None
                if cid in (b"PLTE", b"IDAT", b"IEND") or not cid:
                    return None
                fp.seek(pos + length + 4)  # the chunk's data and its CRC
    except (OSError, SyntaxError, ValueError):  # a broken file fails to decode later
        return None


def sixteen_to_eight(values: np.ndarray, bits: int | None = None) -> np.ndarray:
    """Rescale 16-bit grey samples to uint8, ``round(v * 255 / full)``.

    Args:
        values: Integer samples, any shape.
        bits: Significant bits the file declares (PNG ``sBIT``), or None.

    Returns:
        uint8 array of the same shape; ``full`` is ``2**bits - 1`` when the samples are raw
        ``bits``-bit counts (see the module docstring), else 65535.
    """
    wide = np.clip(values.astype(np.int64), 0, 65535)
    full = 65535
    if bits is not None and 1 <= bits < 16 and wide.size:
        top, step = 2**bits - 1, 2 ** (16 - bits)
        if wide.max() <= top and np.any(wide % step):  # raw counts, not left-shifted ones
            full = top
    return ((np.minimum(wide, full) * 255 + full // 2) // full).astype(np.uint8)


@_warnings_only_if_it_works()
def to_array(
    img: Image.Image, mode: PillowMode, size: tuple[int, int] | None = None
) -> np.ndarray:
    """Decode and convert one image's first frame (see the module docstring for the rules).

    Args:
        img: An opened image (:func:`open_image`).
        mode: ``"L"`` (grey) or ``"RGB"``.
        size: ``(height, width)`` to resize to (bilinear, aspect ratio not kept), or None.

    Returns:
        uint8 ndarray of shape (H, W) for ``"L"`` or (H, W, 3) for ``"RGB"``.
    """
    if size is not None and img.format == "JPEG":
        img.draft(mode, (size[1], size[0]))  # decode at 1/2, 1/4 or 1/8 scale if enough
    img.load()  # decode now, so a truncated file fails here
    if img.mode in _SIXTEEN_BIT:
        name = getattr(img, "filename", None)  # set when opened from a path
        bits = png_significant_bits(Path(name)) if (
            img.format == "PNG" and isinstance(name, str) and name) else None
        img = Image.fromarray(sixteen_to_eight(np.asarray(img), bits))
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    img = img.convert(mode)
    if size is not None and img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)
