"""Image folders from the command line (issue 28): every format Pillow reads, --skip-bad,
--color-mode, recorded for evaluate; train learns from a folder of BMP, TIFF and WebP files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SIDE = 12
FORMATS = ((".bmp", "BMP", {}), (".tif", "TIFF", {}), (".webp", "WEBP", {"lossless": True}))


def _picture(label: int, rng: np.random.Generator, mode: str = "L") -> Image.Image:
    """Class 0 a bright vertical bar, class 1 a bright horizontal bar, at a random place,
    on noise: linearly separable, but not by one pixel."""
    pixels = rng.integers(0, 60, (SIDE, SIDE)).astype(np.uint8)
    at = rng.integers(2, SIDE - 3)
    if label == 0:
        pixels[:, at : at + 2] = 230
    else:
        pixels[at : at + 2, :] = 230
    return Image.fromarray(pixels).convert(mode)


def _folder(root: Path, per_class: int = 24, seed: int = 0) -> Path:
    """Two classes, every image in one of BMP, TIFF or WebP, in turn."""
    rng = np.random.default_rng(seed)
    for label, name in enumerate(("horizontal", "vertical")[::-1]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            suffix, fmt, kw = FORMATS[i % len(FORMATS)]
            _picture(label, rng).save(root / name / f"{i:02d}{suffix}", fmt, **kw)
    return root


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def _warnings(result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.startswith("warning:")]


TRAIN = ["train", "--quiet", "--epochs", "30", "--loss", "softmax"]


def test_train_learns_from_a_folder_of_bmp_tiff_and_webp_files(cli, tmp_path):
    folder = _folder(tmp_path / "bars")
    result = cli([*TRAIN, "--dataset", folder, "--out", tmp_path / "runs", "--name", "r"])
    assert result.exit_code == 0, result.output
    metrics = _metrics(tmp_path / "runs" / "r")
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == 48  # none skipped
    assert metrics["image_shape"] == [SIDE, SIDE]  # WebP's RGB of grey pixels: grey
    assert metrics["test_accuracy"] >= 0.9 and metrics["train_accuracy"] >= 0.9  # chance 0.5
    assert metrics["data"]["color_mode"] == "auto" and metrics["data"]["skip_bad"] is False
    # predict reads the same formats, one file or a folder of them
    result = cli(["predict", "--model", tmp_path / "runs" / "r" / "model.safetensors",
                  "--json", folder / "vertical"])
    assert result.exit_code == 0, result.output
    predictions = json.loads(result.stdout)["predictions"]
    assert {Path(p["file"]).suffix for p in predictions} == {".bmp", ".tif", ".webp"}
    assert np.mean([p["class"] == "vertical" for p in predictions]) >= 0.9


def test_a_corrupt_file_stops_train_naming_it_and_skip_bad_trains_on_the_rest(
        cli, tmp_path, one_line_error):
    folder = _folder(tmp_path / "bars", per_class=12)
    (folder / "vertical" / "99.bmp").write_bytes(b"BM not really a bitmap")
    out = tmp_path / "runs"
    one_line_error(cli([*TRAIN, "--dataset", folder, "--out", out]),
                   "99.bmp: cannot read image header", "--skip-bad")
    assert not out.exists() or not any(out.iterdir())  # nothing written
    result = cli([*TRAIN, "--dataset", folder, "--out", out, "--name", "r", "--skip-bad"])
    assert result.exit_code == 0, result.output
    lines = _warnings(result)
    assert len(lines) == 1, result.stderr
    assert "skipped 1 unreadable image file(s) of 25: vertical/99.bmp (cannot read" in lines[0]
    metrics = _metrics(out / "r")
    assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] == 24
    assert metrics["data"]["skip_bad"] is True
    # evaluate reloads the folder as it was trained: the same file skipped, same test split
    result = cli(["evaluate", "--model", out / "r" / "model.safetensors", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == metrics["n_test"]
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"])


def test_predict_skip_bad_leaves_the_unreadable_file_out(cli, tmp_path, one_line_error):
    folder = _folder(tmp_path / "bars", per_class=9)
    out = tmp_path / "runs"
    assert cli([*TRAIN, "--dataset", folder, "--out", out, "--name", "r"]).exit_code == 0
    (folder / "vertical" / "broken.tif").write_bytes(b"II*\0 truncated")
    model = out / "r" / "model.safetensors"
    one_line_error(cli(["predict", "--model", model, folder / "vertical"]),
                   "broken.tif", "--skip-bad")
    result = cli(["predict", "--model", model, "--json", "--skip-bad", folder / "vertical"])
    assert result.exit_code == 0, result.output
    assert len(_warnings(result)) == 1 and "broken.tif" in _warnings(result)[0]
    files = [Path(p["file"]).name for p in json.loads(result.stdout)["predictions"]]
    assert len(files) == 9 and "broken.tif" not in files


def _grey_and_colour(root: Path) -> Path:
    rng = np.random.default_rng(1)
    for label, name in enumerate(("a", "b")):
        (root / name).mkdir(parents=True)
        for i in range(8):
            mode = "RGB" if i % 4 == 0 else "L"
            img = _picture(label, rng, mode)
            if mode == "RGB":  # a colour tint, so this file is not grey in its pixels
                img = Image.merge("RGB", (img.getchannel(0), img.getchannel(1),
                                          Image.new("L", img.size, 90)))
            img.save(root / name / f"{i}.png")
    return root


@pytest.mark.parametrize(("mode", "shape"), [("auto", [SIDE, SIDE, 3]),
                                             ("rgb", [SIDE, SIDE, 3]),
                                             ("gray", [SIDE, SIDE])])
def test_color_mode_on_a_folder_mixing_grey_and_colour(cli, tmp_path, mode, shape):
    folder = _grey_and_colour(tmp_path / "mixed")
    out = tmp_path / "runs"
    result = cli([*TRAIN, "--epochs", "3", "--dataset", folder, "--out", out, "--name", "r",
                  "--color-mode", mode])
    assert result.exit_code == 0, result.output
    metrics = _metrics(out / "r")
    assert metrics["image_shape"] == shape and metrics["data"]["color_mode"] == mode
    lines = _warnings(result)
    if mode == "auto":  # one line, in the CLI's words
        assert len(lines) == 1 and "12 of 16 images are grey" in lines[0], result.stderr
        assert "--color-mode gray" in lines[0] and "color_mode" not in lines[0]
    else:
        assert not any("grey" in ln for ln in lines), lines
    result = cli(["evaluate", "--model", out / "r" / "model.safetensors", "--json"])
    assert result.exit_code == 0, result.output  # reloaded in the mode it was trained in
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(metrics["test_accuracy"])


def test_folder_options_refused_where_they_do_not_apply(cli, tmp_path, one_line_error):
    one_line_error(cli([*TRAIN, "--dataset", "digits", "--out", tmp_path, "--color-mode",
                        "gray"]), "--color-mode", "apply to image folders")
    one_line_error(cli([*TRAIN, "--dataset", "digits", "--out", tmp_path, "--skip-bad"]),
                   "--skip-bad", "apply to image folders")
    result = cli([*TRAIN, "--dataset", "digits", "--out", tmp_path, "--color-mode", "grey"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_every_file_unreadable_is_one_error_even_with_skip_bad(cli, tmp_path, one_line_error):
    for name in ("a", "b"):
        (tmp_path / "bad" / name).mkdir(parents=True)
        (tmp_path / "bad" / name / "x.gif").write_bytes(b"GIF89a")
    one_line_error(cli([*TRAIN, "--dataset", tmp_path / "bad", "--out", tmp_path / "runs",
                        "--skip-bad"]), "none of the 2 image files could be read")


def test_search_takes_the_same_folder_options(cli, tmp_path):
    folder = _grey_and_colour(tmp_path / "mixed")
    (folder / "a" / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n cut")
    out = tmp_path / "runs"
    result = cli(["search", "--quiet", "--dataset", folder, "--out", out, "--name", "s",
                  "--lr", "0.1", "--alpha", "0", "--epochs", "3", "--jobs", "1",
                  "--color-mode", "gray", "--skip-bad"])
    assert result.exit_code == 0, result.output
    lines = _warnings(result)
    assert len(lines) == 1 and "skipped 1 unreadable image file(s) of 17: a/junk.png" in \
        lines[0], result.stderr
    assert list((out / "s").glob("*.safetensors"))
    result = cli(["search", "--quiet", "--dataset", folder, "--out", out, "--lr", "0.1",
                  "--alpha", "0", "--epochs", "3", "--jobs", "1"])
    assert result.exit_code == 1 and "junk.png" in result.stderr and "--skip-bad" in \
        result.stderr
