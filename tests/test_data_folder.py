"""Image-folder loader: PNG/JPEG per class folder, deterministic modes, bad files refused."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from linclass.data import DataError
from linclass.data.folder import load_image_folder


def save(path: Path, img: Image.Image, fmt: str = "PNG", **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt, **kw)
    return path


def grey(value: int, size=(6, 4)) -> Image.Image:
    return Image.new("L", size, value)  # PIL size is (width, height)


def make_grey_folder(root: Path, per_class: int = 4) -> Path:
    for c, name in enumerate(["cat", "dog", "emu"]):
        for i in range(per_class):
            save(root / name / f"{i}.png", grey(10 * c + i))
    return root


def test_loads_grey_classes_with_split(tmp_path):
    ds = load_image_folder(make_grey_folder(tmp_path), test_size=0.25, random_state=0)
    assert ds.class_names == ["cat", "dog", "emu"]
    assert ds.image_shape == (4, 6) and ds.X_train.dtype == np.uint8
    assert len(ds.y_train) == 9 and np.bincount(ds.y_test).tolist() == [1, 1, 1]
    # Pixel values survive: every image is a constant 10*c + i.
    assert set(ds.X_train[:, 0, 0] // 10) <= {0, 1, 2}
    again = load_image_folder(tmp_path, test_size=0.25, random_state=0)
    np.testing.assert_array_equal(again.X_test, ds.X_test)


def test_presplit_train_test_and_resize_and_jpeg(tmp_path):
    for split in ("train", "test"):
        save(tmp_path / split / "a" / "x.jpg", Image.new("RGB", (40, 30), (200, 10, 10)), "JPEG")
        save(tmp_path / split / "b" / "y.png", Image.new("RGB", (8, 8), (0, 0, 250)))
    ds = load_image_folder(tmp_path, image_size=(16, 12))
    assert ds.X_train.shape == (2, 16, 12, 3) and ds.X_test.shape == (2, 16, 12, 3)
    assert abs(int(ds.X_train[0, 5, 5, 0]) - 200) < 6 and ds.X_train[1, 5, 5, 2] == 250
    grey_ds = load_image_folder(tmp_path, image_size=8, color_mode="L")
    assert grey_ds.image_shape == (8, 8)


def test_sizes_must_agree_without_image_size(tmp_path):
    make_grey_folder(tmp_path)
    save(tmp_path / "dog" / "big.png", grey(0, size=(9, 9)))
    with pytest.raises(DataError, match="big.png.*pass image_size"):
        load_image_folder(tmp_path)


def test_mixed_modes_are_converted_deterministically(tmp_path):
    rgba = Image.new("RGBA", (2, 2), (255, 255, 255, 128))  # half-transparent white
    pal = Image.new("P", (2, 2), 1)
    pal.putpalette([0, 0, 0, 90, 90, 90] + [0] * 762)  # grey palette, index 1 -> 90
    wide = Image.fromarray(np.full((2, 2), 65535 // 2, np.uint16))
    assert wide.mode == "I;16"
    save(tmp_path / "a" / "rgba.png", rgba)
    save(tmp_path / "a" / "pal.png", pal)
    save(tmp_path / "b" / "wide.png", wide)
    save(tmp_path / "b" / "plain.png", grey(7, size=(2, 2)))
    ds = load_image_folder(tmp_path, color_mode="L", test_size=0.5, random_state=1)
    X = np.concatenate([ds.X_train, ds.X_test])
    values = sorted(int(x[0, 0]) for x in X)
    # black-composited white at alpha 128 -> 128; palette grey 90; 16-bit half -> 127; 7.
    assert values == [7, 90, 127, 128]
    first = load_image_folder(tmp_path, color_mode="L", test_size=0.5, random_state=1)
    np.testing.assert_array_equal(first.X_train, ds.X_train)


def test_auto_color_mode(tmp_path):
    make_grey_folder(tmp_path)
    assert load_image_folder(tmp_path).image_shape == (4, 6)  # all grey -> L
    save(tmp_path / "cat" / "red.png", Image.new("RGB", (6, 4), (255, 0, 0)))
    with pytest.warns(UserWarning, match="12 of 13 images are grey"):
        assert load_image_folder(tmp_path).image_shape == (4, 6, 3)  # one colour -> RGB


def test_hidden_and_other_files_are_skipped(tmp_path):
    make_grey_folder(tmp_path)
    (tmp_path / "cat" / ".DS_Store").write_bytes(b"\0\1junk")
    (tmp_path / "cat" / "._0.png").write_bytes(b"AppleDouble junk")
    (tmp_path / "cat" / "notes.txt").write_text("hello")
    save(tmp_path / ".cache" / "x.png", grey(0))  # a hidden folder is not a class
    ds = load_image_folder(tmp_path)
    assert ds.class_names == ["cat", "dog", "emu"] and len(ds.y_train) + len(ds.y_test) == 12


def test_fewer_than_two_classes(tmp_path):
    save(tmp_path / "only" / "a.png", grey(0))
    with pytest.raises(DataError, match="need at least 2"):
        load_image_folder(tmp_path)


def test_empty_class_folder(tmp_path):
    make_grey_folder(tmp_path)
    (tmp_path / "zebra").mkdir()
    with pytest.raises(DataError, match="zebra.*holds no image files"):
        load_image_folder(tmp_path)


def test_zero_byte_file(tmp_path):
    make_grey_folder(tmp_path)
    (tmp_path / "dog" / "empty.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty.png: empty file"):
        load_image_folder(tmp_path)


def test_text_named_png(tmp_path):
    make_grey_folder(tmp_path)
    (tmp_path / "dog" / "fake.png").write_text("this is not an image\n")
    with pytest.raises(DataError, match="fake.png: not an image in a format Pillow reads"):
        load_image_folder(tmp_path)


def test_truncated_jpeg(tmp_path):
    make_grey_folder(tmp_path)
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "JPEG", quality=95)
    (tmp_path / "dog" / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(DataError, match="cut.jpg: cannot decode image.*truncated"):
        load_image_folder(tmp_path, image_size=(8, 8))


def png_with_size(width: int, height: int) -> bytes:
    """A tiny real PNG whose IHDR claims ``width x height`` (a decompression bomb header)."""
    buf = io.BytesIO()
    grey(0, size=(1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize("side", [10_000, 100_000])  # above our limit; above Pillow's too
def test_png_decompression_bomb(tmp_path, side):
    make_grey_folder(tmp_path)
    (tmp_path / "dog" / "bomb.png").write_bytes(png_with_size(side, side))
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(DataError, match="bomb.png: refused as a decompression bomb"):
        load_image_folder(tmp_path)
    assert Image.MAX_IMAGE_PIXELS == before  # no global Pillow state was changed


def test_max_pixels_is_configurable(tmp_path):
    make_grey_folder(tmp_path)
    with pytest.raises(DataError, match="exceeds max_pixels=10"):
        load_image_folder(tmp_path, max_pixels=10)


# --- budgets and names (issue 19, items 3 and 4) -------------------------------------------


def test_a_total_budget_refuses_many_images_that_each_pass_max_pixels(tmp_path):
    # Each image is small enough on its own; together they exceed the budget, which is
    # checked from the headers before the stacked array is allocated.
    for name in ("a", "b"):
        for i in range(3):
            save(tmp_path / name / f"{i}.png", Image.new("RGB", (300, 200)))
    with pytest.raises(DataError, match=r"6 images of 200x300x3 take .* max_total_bytes"):
        load_image_folder(tmp_path, max_total_bytes=1_000_000)
    rgb = load_image_folder(tmp_path, color_mode="rgb", max_total_bytes=1_080_000)
    assert rgb.X_train.shape[1:] == (200, 300, 3)
    small = load_image_folder(tmp_path, image_size=10, color_mode="rgb", max_total_bytes=2000)
    assert small.image_shape == (10, 10, 3)


def test_the_default_budget_refuses_a_folder_of_huge_flat_pngs_before_decoding(tmp_path):
    # 7000 x 7000 PNGs of one colour compress to ~150 kB each and pass max_pixels; 15 of
    # them would be a 2.1 GiB array.
    import time

    png = save(tmp_path / "big.png", Image.new("RGB", (7000, 7000))).read_bytes()
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        for i in range(5):
            (tmp_path / name / f"{i}.png").write_bytes(png)
    start = time.perf_counter()
    with pytest.raises(DataError, match="GiB, more than max_total_bytes"):
        load_image_folder(tmp_path)
    assert time.perf_counter() - start < 5


def test_resized_jpegs_are_decoded_at_a_reduced_scale(tmp_path, monkeypatch):
    save(tmp_path / "a" / "x.jpg", Image.new("RGB", (1600, 1200), (200, 10, 10)), "JPEG")
    save(tmp_path / "b" / "y.jpg", Image.new("RGB", (1600, 1200), (10, 10, 200)), "JPEG")
    decoded = []
    original = Image.Image.convert

    def spy(self, *args, **kwargs):
        decoded.append(self.size)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "convert", spy)
    ds = load_image_folder(tmp_path, image_size=(30, 40), test_size=0.5)
    assert ds.image_shape == (30, 40, 3)
    assert decoded and max(w for w, _ in decoded) <= 200  # 1/8 scale, not 1600 wide


def test_a_class_folder_name_that_is_not_utf8_is_refused_before_any_work(tmp_path):
    import os

    make_grey_folder(tmp_path)
    bad = os.fsdecode(b"caf\xe9")  # Latin-1 bytes: not UTF-8
    try:
        (tmp_path / bad).mkdir()
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses non-UTF-8 names")
    save(tmp_path / bad / "0.png", grey(1))
    with pytest.raises(DataError, match=r"'caf\\udce9' has a name that is not valid UTF-8"):
        load_image_folder(tmp_path)


# --- every format Pillow reads, unreadable files skipped, colour modes, bit depth (issue 28)


def _shape_image(kind: int, mode: str, size: int = 12) -> Image.Image:
    """Class 0: a bright square in the top-left corner; class 1: in the bottom-right."""
    pixels = np.zeros((size, size), np.uint8)
    half = size // 2
    if kind == 0:
        pixels[:half, :half] = 220
    else:
        pixels[half:, half:] = 220
    return Image.fromarray(pixels).convert(mode)


FORMATS = [  # (suffix, Pillow format, mode written, save options): lossless ones
    (".bmp", "BMP", "RGB", {}),
    (".tif", "TIFF", "L", {}),
    (".tiff", "TIFF", "RGB", {"compression": "tiff_deflate"}),
    (".gif", "GIF", "P", {}),
    (".webp", "WEBP", "RGB", {"lossless": True}),
    (".ppm", "PPM", "RGB", {}),
    (".pgm", "PPM", "L", {}),
    (".tga", "TGA", "RGB", {}),
    (".png", "PNG", "L", {}),
]


def test_readable_formats_come_from_pillow_and_leave_out_the_undecodable():
    from PIL import Image as PILImage

    from linclass.data.image_file import NOT_DECODED, readable_formats

    formats = readable_formats()
    for suffix in (".bmp", ".tif", ".tiff", ".gif", ".webp", ".ppm", ".pgm", ".png", ".jpg"):
        assert suffix in formats
    PILImage.init()
    assert set(formats) < set(PILImage.registered_extensions())
    assert not set(formats.values()) & set(NOT_DECODED)  # e.g. .eps (Ghostscript), .h5
    assert ".eps" not in formats and ".h5" not in formats and ".pdf" not in formats


@pytest.mark.parametrize(("suffix", "fmt", "mode", "kw"), FORMATS, ids=[f[0] for f in FORMATS])
def test_each_format_is_read_with_its_pixels(tmp_path, suffix, fmt, mode, kw):
    for kind, name in enumerate(("a", "b")):
        for i in range(2):
            save(tmp_path / name / f"{i}{suffix}", _shape_image(kind, mode), fmt, **kw)
    ds = load_image_folder(tmp_path, color_mode="gray", test_size=0.5)
    X = np.concatenate([ds.X_train, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    assert X.shape == (4, 12, 12)
    for x, label in zip(X, y, strict=True):
        np.testing.assert_array_equal(x, np.asarray(_shape_image(int(label), "L")))


def test_an_explicit_bmp_is_predicted_and_a_folder_does_not_skip_bmps(tmp_path):
    from linclass.cli.predict import image_files

    save(tmp_path / "a" / "x.bmp", grey(3))
    save(tmp_path / "a" / "y.png", grey(4))
    assert [p.name for p in image_files([tmp_path / "a"])] == ["x.bmp", "y.png"]
    assert image_files([tmp_path / "a" / "x.bmp"]) == [tmp_path / "a" / "x.bmp"]


def test_an_animated_gif_gives_its_first_frame_transparency_over_black(tmp_path):
    palette = [0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756
    frames = []
    for index in (1, 2, 3):  # red, then green, then blue frames
        frame = Image.new("P", (4, 4), index)
        frame.putpalette(palette)
        frames.append(frame)
    frames[0].putpixel((0, 0), 0)  # index 0 is the transparent one
    save(tmp_path / "a" / "anim.gif", frames[0], "GIF", save_all=True,
         append_images=frames[1:], transparency=0, duration=50, disposal=2)
    assert Image.open(tmp_path / "a" / "anim.gif").n_frames == 3
    save(tmp_path / "b" / "still.png", Image.new("RGB", (4, 4), (10, 20, 30)))
    ds = load_image_folder(tmp_path, test_size=0.5, random_state=0)
    X = np.concatenate([ds.X_train, ds.X_test])
    anim = X[np.concatenate([ds.y_train, ds.y_test]) == 0][0]
    assert anim.shape == (4, 4, 3)
    assert anim[1, 1].tolist() == [255, 0, 0]  # the first frame's red, not green or blue
    assert anim[0, 0].tolist() == [0, 0, 0]  # the transparent pixel, over black
    grey_ds = load_image_folder(tmp_path, color_mode="gray", test_size=0.5, random_state=0)
    X = np.concatenate([grey_ds.X_train, grey_ds.X_test])
    assert int(X[np.concatenate([grey_ds.y_train, grey_ds.y_test]) == 0][0][1, 1]) == 76


def _corrupt_folder(root: Path) -> Path:
    for c, name in enumerate(("a", "b")):
        for i in range(4):
            save(root / name / f"{i}.bmp", grey(40 + 100 * c))
    (root / "a" / "empty.png").write_bytes(b"")
    (root / "b" / "text.tif").write_text("not a tiff")
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (4, 6), np.uint8)).save(
        buf, "PNG")
    (root / "b" / "cut.png").write_bytes(buf.getvalue()[:-24])  # header fine, pixels cut
    return root


def test_a_corrupt_file_is_an_error_naming_it_by_default(tmp_path):
    _corrupt_folder(tmp_path)
    with pytest.raises(DataError, match=r"empty\.png: empty file.*on_error=\"skip\""):
        load_image_folder(tmp_path)


def test_skip_loads_the_rest_and_warns_once_listing_the_skipped_files(tmp_path):
    from linclass.data.folder import ImageFolderWarning

    _corrupt_folder(tmp_path)
    with pytest.warns(ImageFolderWarning) as caught:
        ds = load_image_folder(tmp_path, on_error="skip", test_size=0.5, random_state=0)
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "skipped 3 unreadable image file(s) of 11" in text and "\n" not in text
    for fragment in ("a/empty.png (empty file", "b/text.tif (not an image",
                     "b/cut.png (cannot decode image"):
        assert fragment in text, text
    X = np.concatenate([ds.X_train, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    assert len(y) == 8 and np.bincount(y).tolist() == [4, 4]
    np.testing.assert_array_equal(X[:, 0, 0], np.where(y == 0, 40, 140))  # labels right


def test_many_skipped_files_are_listed_a_few_then_counted(tmp_path):
    from linclass.data.folder import SKIPPED_LISTED

    make_grey_folder(tmp_path)
    for i in range(12):
        (tmp_path / "dog" / f"bad{i:02d}.png").write_bytes(b"junk")
    with pytest.warns(UserWarning, match=rf"skipped 12 .*; and {12 - SKIPPED_LISTED} more$"):
        load_image_folder(tmp_path, on_error="skip")


def test_skip_still_refuses_a_folder_or_a_class_with_nothing_readable(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="none of the 2 image files could be read"):
        load_image_folder(tmp_path, on_error="skip")
    save(tmp_path / "a" / "y.png", grey(1))
    with pytest.warns(UserWarning), pytest.raises(DataError, match=r"b: no image in this "
                                                  "class folder could be read"):
        load_image_folder(tmp_path, on_error="skip")
    with pytest.raises(ValueError, match='on_error must be "raise" or "skip"'):
        load_image_folder(tmp_path, on_error="ignore")  # type: ignore[arg-type]


def _mixed_grey_and_colour(root: Path) -> Path:
    for i in range(3):
        save(root / "a" / f"g{i}.png", grey(60 + i, size=(5, 5)))
        save(root / "b" / f"c{i}.png", Image.new("RGB", (5, 5), (200, 30 + i, 10)))
    return root


def test_color_modes_on_a_folder_mixing_grey_and_colour(tmp_path):
    import warnings

    from linclass.data.folder import ImageFolderWarning

    _mixed_grey_and_colour(tmp_path)
    with pytest.warns(ImageFolderWarning, match=r"3 of 6 images are grey \(e.g. a/g0.png\) "
                      r"and 3 colour: all are loaded as RGB.*color_mode=\"gray\""):
        auto = load_image_folder(tmp_path, test_size=0.5)
    assert auto.image_shape == (5, 5, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit mode warns of nothing
        rgb = load_image_folder(tmp_path, color_mode="rgb", test_size=0.5)
        gray = load_image_folder(tmp_path, color_mode="gray", test_size=0.5)
    np.testing.assert_array_equal(rgb.X_train, auto.X_train)
    assert gray.image_shape == (5, 5)
    red = np.asarray(Image.new("RGB", (1, 1), (200, 30, 10)).convert("L"))[0, 0]
    assert int(red) in gray.X_train[:, 0, 0].tolist() + gray.X_test[:, 0, 0].tolist()
    assert load_image_folder(tmp_path, color_mode="L").image_shape == (5, 5)  # Pillow's names
    with pytest.raises(ValueError, match='color_mode must be "auto", "gray" or "rgb"'):
        load_image_folder(tmp_path, color_mode="grey")


def test_auto_takes_rgb_files_holding_grey_pixels_as_grey(tmp_path):
    # WebP has no grey mode: a grey picture comes back as RGB with three equal channels.
    for c, name in enumerate(("a", "b")):
        for i in range(2):
            save(tmp_path / name / f"{i}.webp", grey(50 + 100 * c + i).convert("RGB"), "WEBP",
                 lossless=True)
    assert Image.open(tmp_path / "a" / "0.webp").mode == "RGB"
    ds = load_image_folder(tmp_path, test_size=0.5)
    assert ds.image_shape == (4, 6)
    assert sorted(np.concatenate([ds.X_train, ds.X_test])[:, 0, 0].tolist()) == \
        [50, 51, 150, 151]


def _png16(path: Path, values: np.ndarray, bits: int | None) -> Path:
    from PIL import PngImagePlugin

    img = Image.fromarray(values.astype(np.uint16))
    assert img.mode == "I;16"
    info = PngImagePlugin.PngInfo()
    if bits is not None:
        info.add(b"sBIT", bytes([bits]))
    return save(path, img, "PNG", pnginfo=info)


def test_a_12_bit_png_with_sbit_is_scaled_by_4095_not_darkened(tmp_path):
    from linclass.data.image_file import png_significant_bits

    raw = np.array([[0, 1000, 2048, 4095]])
    _png16(tmp_path / "a" / "twelve.png", raw, 12)
    _png16(tmp_path / "b" / "sixteen.png", raw * 16, None)  # no sBIT: full 16-bit range
    assert png_significant_bits(tmp_path / "a" / "twelve.png") == 12
    assert png_significant_bits(tmp_path / "b" / "sixteen.png") is None
    ds = load_image_folder(tmp_path, test_size=0.5, random_state=0)
    X = np.concatenate([ds.X_train, ds.X_test])
    by_label = dict(zip(np.concatenate([ds.y_train, ds.y_test]).tolist(), X, strict=True))
    expected = np.round(raw * 255 / 4095).astype(np.uint8)
    np.testing.assert_array_equal(by_label[0], expected)  # [0, 62, 128, 255]
    np.testing.assert_array_equal(by_label[1], np.round(raw * 16 * 255 / 65535))  # 0..249


def test_sbit_with_values_already_in_the_16_bit_range_keeps_65535(tmp_path):
    from linclass.data.image_file import sixteen_to_eight

    shifted = np.array([0, 1000 << 4, 4095 << 4])  # the PNG spec's left-shifted 12 bits
    np.testing.assert_array_equal(sixteen_to_eight(shifted, 12),
                                  np.round(shifted * 255 / 65535))
    np.testing.assert_array_equal(sixteen_to_eight(np.array([0, 65535]), None), [0, 255])
    _png16(tmp_path / "a" / "x.png", shifted[None, :], 12)
    _png16(tmp_path / "b" / "y.png", shifted[None, :], 12)
    ds = load_image_folder(tmp_path, test_size=0.5)
    assert ds.X_train[0, 0].tolist() == np.round(shifted * 255 / 65535).tolist()


def test_load_dataset_passes_the_folder_options_and_refuses_them_elsewhere(tmp_path):
    from linclass.data import load_dataset

    _mixed_grey_and_colour(tmp_path / "mixed")
    (tmp_path / "mixed" / "a" / "bad.png").write_bytes(b"junk")
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        ds = load_dataset(tmp_path / "mixed", color_mode="gray", on_error="skip")
    assert ds.image_shape == (5, 5) and len(ds.y_train) + len(ds.y_test) == 6
    with pytest.raises(DataError, match="bad.png: not an image"):
        load_dataset(tmp_path / "mixed", color_mode="gray")
    for kw in ({"color_mode": "gray"}, {"on_error": "skip"}):
        with pytest.raises(ValueError, match="color_mode and on_error apply to image folders"):
            load_dataset("digits", **kw)
