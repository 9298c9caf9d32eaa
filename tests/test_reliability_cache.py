"""Issue 29, the cache family: a cache never stops a run (read-only, unwritable, off),
reads only plain files of bounded size (no FIFO, symlink, folder or parser bomb is
trusted), removes only what it wrote, and trims and clears in one scan."""

from __future__ import annotations

import errno
import json
import os
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from linclass.features import FeatureCache, FeatureExtractor, FeaturePipeline, default_cache
from linclass.features import cache as cache_module

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")

IMAGES = np.random.default_rng(1).integers(0, 256, (40, 16, 16), dtype=np.uint8)


class Counting(FeatureExtractor):
    calls = 0

    def transform(self, X, progress=None, out=None):
        type(self).calls += 1
        return super().transform(X, progress, out)


def features(cache):
    return FeaturePipeline(Counting(kinds=("hog",), hog_pixels_per_cell=(4, 4)),
                           cache=cache).fit_transform(IMAGES)


@pytest.fixture
def cache(tmp_path):
    Counting.calls = 0
    return FeatureCache(tmp_path / "cache", min_pixels=0)


def the_entry(cache):
    (entry,) = cache.entries()
    return cache.entry_folder / f"{entry.key}.npy", cache.entry_folder / f"{entry.key}.json"


@contextmanager
def read_only(monkeypatch):
    """Every write, touch and removal fails as on a read-only file system."""
    def fail(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    @contextmanager
    def no_write(path, **kwargs):
        fail()
        yield

    with monkeypatch.context() as m:
        m.setattr(cache_module, "atomic_open", no_write)
        m.setattr(cache_module.os, "utime", fail)
        m.setattr(Path, "unlink", fail)
        m.setattr(Path, "mkdir", fail)
        yield


# --- a cache never stops a run ----------------------------------------------------------------


def test_a_read_only_cache_is_read_warned_about_once_and_never_fails(cache, monkeypatch):
    reference = features(cache)  # one good entry
    npy, _ = the_entry(cache)
    with read_only(monkeypatch), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert_array_equal(features(cache), reference)  # a hit: the touch fails, quietly
        assert Counting.calls == 1
        for k in range(3):  # misses whose entries cannot be stored: one warning in all
            FeaturePipeline(Counting(kinds=("hist",), hist_bins=4 + k), cache=cache
                            ).fit_transform(IMAGES)
        data = bytearray(npy.read_bytes())  # a damaged entry that cannot be removed
        data[-3] ^= 0xFF
        npy.write_bytes(bytes(data))
        assert_array_equal(features(cache), reference)
    texts = [str(w.message) for w in caught]
    assert len(texts) == 1 and "not written (Read-only file system)" in texts[0], texts


def test_an_unwritable_cache_with_the_cache_off_is_not_touched(tmp_path, monkeypatch):
    on = FeatureCache(tmp_path / "c", min_pixels=0)
    features(on)
    off = FeatureCache(tmp_path / "c", max_bytes=0, min_pixels=0)
    with read_only(monkeypatch), warnings.catch_warnings():
        warnings.simplefilter("error")  # not even a warning: a cache that is off is off
        features(off)


def test_the_cli_shows_a_cache_warning_once_and_not_with_quiet(cli, tmp_path, monkeypatch):
    @contextmanager
    def no_write(path, **kwargs):
        raise OSError(errno.EACCES, "Permission denied")
        yield

    monkeypatch.setattr(cache_module, "atomic_open", no_write)
    monkeypatch.setattr(cache_module, "MIN_CACHED_PIXELS", 0)
    monkeypatch.setenv("LINCLASS_CACHE_DIR", str(tmp_path / "c"))
    args = ["train", "--dataset", "digits", "--features", "hog", "--epochs", "1",
            "--out", tmp_path]
    loud = cli(args)
    assert loud.exit_code == 0, loud.output
    lines = [ln for ln in loud.stderr.splitlines() if "feature cache" in ln]
    assert lines == [f"warning: feature cache {tmp_path / 'c'} not written (Permission "
                     "denied); the features are computed without it (see linclass cache "
                     "info)"], loud.stderr
    quiet = cli([*args, "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.stderr


@pytest.mark.parametrize("value", ["²", "٣", "1e3", "-1", " ", "5 MB"])
def test_a_bad_cap_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("LINCLASS_CACHE_MAX_MB", value)
    with pytest.raises(ValueError, match="LINCLASS_CACHE_MAX_MB must be a whole number"):
        default_cache()


def test_the_cli_names_a_bad_cap(cli, one_line_error, monkeypatch, tmp_path):
    monkeypatch.setenv("LINCLASS_CACHE_MAX_MB", "²")
    one_line_error(cli(["train", "--features", "hog", "--out", tmp_path]),
                   "LINCLASS_CACHE_MAX_MB", "'²'")


# --- one safe-open: plain files of bounded size only -------------------------------------------


def recomputed_and_rewritten(cache, reference):
    assert_array_equal(features(cache), reference)
    calls = Counting.calls
    assert_array_equal(features(cache), reference)  # and then a hit again
    assert Counting.calls == calls


def test_a_sidecar_of_nested_brackets_is_a_miss_and_is_replaced(cache):
    reference = features(cache)
    _, sidecar = the_entry(cache)
    sidecar.write_text("[" * 60_000)  # under the size bound, too deep for the parser
    recomputed_and_rewritten(cache, reference)
    assert Counting.calls == 2


@pytest.mark.timeout(30)
@pytest.mark.parametrize("which", ["json", "npy"])
def test_a_fifo_in_place_of_an_entry_file_does_not_block(cache, which):
    reference = features(cache)
    npy, sidecar = the_entry(cache)
    target = sidecar if which == "json" else npy
    target.unlink()
    os.mkfifo(target)
    assert_array_equal(features(cache), reference)
    assert Counting.calls == 2


@pytest.mark.timeout(30)
def test_a_sidecar_symlinked_to_dev_zero_is_not_followed(cache):
    reference = features(cache)
    _, sidecar = the_entry(cache)
    sidecar.unlink()
    sidecar.symlink_to("/dev/zero")
    assert_array_equal(features(cache), reference)
    assert Counting.calls == 2


def test_a_folder_named_like_the_matrix_is_a_miss_and_a_warning(cache):
    reference = features(cache)
    npy, sidecar = the_entry(cache)
    npy.unlink()
    npy.mkdir()
    (npy / "mine.txt").write_text("keep")
    with pytest.warns(UserWarning, match="not written"):
        assert_array_equal(features(cache), reference)
    assert (npy / "mine.txt").read_text() == "keep"  # a folder it did not write stays
    assert_array_equal(features(cache), reference)  # and still no error


# --- it removes only what it wrote, in one scan ------------------------------------------------


def test_user_files_named_like_entries_are_never_removed(cli, tmp_path, monkeypatch):
    folder = tmp_path / "c"
    folder.mkdir()
    mine = [folder / f"{os.urandom(32).hex()}.json" for _ in range(5)]
    for path in mine:
        path.write_text('{"my": "data"}')
    monkeypatch.setenv("LINCLASS_CACHE_DIR", str(folder))
    monkeypatch.setenv("LINCLASS_CACHE_MAX_MB", "1")
    monkeypatch.setattr(cache_module, "MIN_CACHED_PIXELS", 0)
    result = cli(["train", "--dataset", "digits", "--features", "hog", "--epochs", "1",
                  "--quiet", "--out", tmp_path / "runs"])
    assert result.exit_code == 0, result.output
    assert cli(["cache", "clear"]).exit_code == 0
    assert all(p.read_text() == '{"my": "data"}' for p in mine)


def test_a_folder_of_that_name_without_the_marker_is_not_the_caches(cache):
    cache.entry_folder.mkdir(parents=True)
    theirs = cache.entry_folder / f"{'d' * 64}.npy"
    theirs.write_bytes(b"theirs")
    with pytest.warns(UserWarning, match="without linclass's CACHEDIR.TAG marker"):
        features(cache)
    assert cache.entries() == [] and cache.clear() == (0, 0)
    assert theirs.read_bytes() == b"theirs"


def test_symlinks_in_the_entry_folder_are_not_counted_or_removed(cache, tmp_path):
    features(cache)
    outside = tmp_path / "precious.json"
    outside.write_text("{}")
    link = cache.entry_folder / f"{'e' * 64}.json"
    link.symlink_to(outside)
    assert len(cache.entries()) == 1 and cache.clear()[0] == 1
    assert link.is_symlink() and outside.read_text() == "{}"


def test_clear_and_trim_are_linear(cache):
    features(cache)  # the folder and its marker
    n = 6000
    for i in range(n):
        key = f"{i:064x}"
        (cache.entry_folder / f"{key}.json").write_text("{}")
        (cache.entry_folder / f"{key}.npy").write_bytes(b"\0" * 100)
    cache.max_bytes = 100 * 1000
    start = time.perf_counter()
    removed = cache.trim()
    assert removed > 4000
    cleared, _ = cache.clear()
    assert cleared == n + 1 - removed
    assert time.perf_counter() - start < 10  # quadratic took 146 s for 6,000 entries
    assert [p.name for p in cache.entry_folder.iterdir()] == ["CACHEDIR.TAG"]


def test_a_sidecar_the_cache_wrote_is_marked(cache):
    features(cache)
    _, sidecar = the_entry(cache)
    assert json.loads(sidecar.read_text())["format"] == "linclass.feature-cache/1"
    assert (cache.entry_folder / "CACHEDIR.TAG").read_text().startswith(
        "Signature: 8a477f597d28d172789f06886806bc55")
