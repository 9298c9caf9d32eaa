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
    assert load_image_folder(tmp_path).image_shape == (4, 6, 3)  # one colour image -> RGB


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
    with pytest.raises(DataError, match="zebra.*no .png"):
        load_image_folder(tmp_path)


def test_zero_byte_file(tmp_path):
    make_grey_folder(tmp_path)
    (tmp_path / "dog" / "empty.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty.png: empty file"):
        load_image_folder(tmp_path)


def test_text_named_png(tmp_path):
    make_grey_folder(tmp_path)
    (tmp_path / "dog" / "fake.png").write_text("this is not an image\n")
    with pytest.raises(DataError, match="fake.png: not a PNG or JPEG"):
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
    assert load_image_folder(tmp_path, max_total_bytes=1_080_000).X_train.shape[1:] == \
        (200, 300, 3)
    small = load_image_folder(tmp_path, image_size=10, max_total_bytes=2000)
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
