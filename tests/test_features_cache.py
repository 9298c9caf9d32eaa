"""The feature cache: computed once, reused only when intact and exactly what was asked
for; corrupt, truncated, foreign or malicious entries are recomputed, never trusted."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from linclass.features import (
    FeatureCache,
    FeatureExtractor,
    FeaturePipeline,
    Preprocessor,
    default_cache,
)

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (60, 16, 16), dtype=np.uint8)


class CountingExtractor(FeatureExtractor):
    """A FeatureExtractor that counts how often it really computes features."""

    calls = 0

    def transform(self, X, progress=None, out=None):
        type(self).calls += 1
        return super().transform(X, progress, out)


@pytest.fixture
def cache(tmp_path):
    CountingExtractor.calls = 0
    return FeatureCache(tmp_path / "cache", min_pixels=0)


def pipeline(cache, standardize=False, **extractor):
    """HOG + histogram features; without a cache, the uncounted reference."""
    params = {"kinds": ("hog", "hist"), "hog_pixels_per_cell": (4, 4), **extractor}
    kind = FeatureExtractor if cache is None else CountingExtractor
    return FeaturePipeline(kind(**params), Preprocessor(standardize=standardize), cache=cache)


def entry_files(cache):
    (key,) = [e.key for e in cache.entries()]
    return cache.entry_folder / f"{key}.npy", cache.entry_folder / f"{key}.json"


def test_second_fit_reuses_the_features_and_gets_the_same_numbers(cache):
    first = pipeline(cache).fit_transform(IMAGES)
    assert CountingExtractor.calls == 1 and len(cache.entries()) == 1
    again = pipeline(cache).fit_transform(IMAGES)
    assert CountingExtractor.calls == 1  # nothing recomputed
    assert_array_equal(again, first)
    assert_array_equal(first, pipeline(None).fit_transform(IMAGES))  # same as no cache
    # The cached matrix is the raw features: in-place preprocessing did not leak into it,
    # so a pipeline that standardizes gets its own correct numbers from the same entry.
    standardized = pipeline(cache, standardize=True).fit_transform(IMAGES)
    assert CountingExtractor.calls == 1
    assert_array_equal(standardized, pipeline(None, standardize=True).fit_transform(IMAGES))


def test_the_key_is_the_images_and_the_spec_but_not_the_batch_size(cache):
    pipeline(cache).fit_transform(IMAGES)
    pipeline(cache, batch_size=7).fit_transform(IMAGES)
    pipeline(cache, hog_pixels_per_cell=4).fit_transform(IMAGES)  # 4 is (4, 4): same features
    assert CountingExtractor.calls == 1
    changed = IMAGES.copy()
    changed[3, 5, 5] ^= 1  # one pixel, one bit
    pipeline(cache).fit_transform(changed)
    pipeline(cache, hist_bins=8).fit_transform(IMAGES)
    pipeline(cache).fit_transform(IMAGES[:59])
    assert CountingExtractor.calls == 4 and len(cache.entries()) == 4
    fitted = pipeline(cache).fit(IMAGES)  # transform of new images uses it too
    assert_array_equal(fitted.transform(changed), pipeline(None).fit(IMAGES).transform(changed))
    assert CountingExtractor.calls == 4


def flip_a_byte(path, offset=-5):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def edit_sidecar(**changes):
    def edit(npy, sidecar):
        meta = json.loads(sidecar.read_text())
        sidecar.write_text(json.dumps({**meta, **changes}))
    return edit


def pickled_object_array(npy, sidecar):
    # A .npy holding pickled objects: must be refused without ever unpickling it.
    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned > /dev/null",))
    np.save(npy, np.array([Boom()], dtype=object), allow_pickle=True)


@pytest.mark.parametrize("damage", [
    lambda npy, sidecar: flip_a_byte(npy),  # one flipped byte in the matrix
    lambda npy, sidecar: npy.write_bytes(npy.read_bytes()[:-100]),  # truncated
    lambda npy, sidecar: npy.write_bytes(npy.read_bytes() + b"\0" * 4),  # too long
    lambda npy, sidecar: npy.unlink(),  # matrix missing
    lambda npy, sidecar: sidecar.write_text("{not json"),
    lambda npy, sidecar: sidecar.write_text("[1, 2]"),
    lambda npy, sidecar: sidecar.write_text(" " * 70_000 + "{}"),  # oversized sidecar
    edit_sidecar(key="0" * 64),  # another entry's sidecar under this name
    edit_sidecar(images_sha256="0" * 64),
    edit_sidecar(spec={"revision": 0}),  # written by an older linclass
    edit_sidecar(shape=[60, 5]),
    edit_sidecar(crc32=12345),
    edit_sidecar(crc32="not a number"),
    pickled_object_array,
])
def test_a_damaged_or_foreign_entry_is_recomputed_never_trusted(cache, damage):
    fresh = pipeline(cache).fit_transform(IMAGES)
    damage(*entry_files(cache))
    again = pipeline(cache).fit_transform(IMAGES)
    assert CountingExtractor.calls == 2  # recomputed
    assert_array_equal(again, fresh)
    pipeline(cache).fit_transform(IMAGES)
    assert CountingExtractor.calls == 2  # and the rewritten entry is good again


def test_a_foreign_matrix_with_its_own_valid_sidecar_is_not_used(cache):
    other = IMAGES[::-1].copy()
    pipeline(cache).fit_transform(IMAGES)
    (key_a,) = [e.key for e in cache.entries()]
    pipeline(cache).fit_transform(other)
    key_b = next(e.key for e in cache.entries() if e.key != key_a)
    for ext in ("npy", "json"):  # entry B's files put where entry A's were
        os.replace(cache.entry_folder / f"{key_b}.{ext}", cache.entry_folder / f"{key_a}.{ext}")
    assert_array_equal(pipeline(cache).fit_transform(IMAGES), pipeline(None).fit_transform(IMAGES))
    assert CountingExtractor.calls == 3


def test_size_cap_removes_the_least_recently_used(cache):
    one = pipeline(cache).fit_transform(IMAGES).copy()
    entry_bytes = cache.entries()[0].nbytes
    cache.max_bytes = 2 * entry_bytes + 1000  # room for two entries, not three
    sets = [IMAGES, IMAGES[::-1].copy(), IMAGES[:, ::-1].copy()]
    for images in sets[1:]:
        pipeline(cache).fit_transform(images)
        for age, e in enumerate(cache.entries()):  # distinct times, not one clock tick
            os.utime(cache.entry_folder / f"{e.key}.json", (1000 + age, 1000 + age))
    assert len(cache.entries()) == 2
    assert sum(e.nbytes for e in cache.entries()) <= cache.max_bytes
    CountingExtractor.calls = 0
    pipeline(cache).fit_transform(sets[2])
    pipeline(cache).fit_transform(sets[1])
    assert CountingExtractor.calls == 0  # the two newest stayed
    assert_array_equal(pipeline(cache).fit_transform(sets[0]), one)  # the oldest went
    assert CountingExtractor.calls == 1


def test_a_hit_makes_an_entry_the_most_recently_used(cache):
    pipeline(cache).fit_transform(IMAGES)
    (entry,) = cache.entries()
    os.utime(cache.entry_folder / f"{entry.key}.json", (1000, 1000))
    pipeline(cache).fit_transform(IMAGES)
    assert cache.entries()[0].last_used > 1000


def test_nothing_is_stored_beyond_the_cap_or_below_the_minimum(tmp_path):
    CountingExtractor.calls = 0
    for cache in (FeatureCache(tmp_path / "a", max_bytes=0, min_pixels=0),
                  FeatureCache(tmp_path / "b", max_bytes=1000, min_pixels=0),
                  FeatureCache(tmp_path / "c", min_pixels=IMAGES.size + 1)):
        pipeline(cache).fit_transform(IMAGES)
        pipeline(cache).fit_transform(IMAGES)
        assert cache.entries() == []
    assert CountingExtractor.calls == 6


def test_raw_pixels_are_never_cached(cache):
    raw = FeaturePipeline(FeatureExtractor(kinds=("raw",)), cache=cache)
    raw.fit_transform(IMAGES)
    assert cache.entries() == [] and not raw.uses_cache
    assert pipeline(cache).uses_cache and not pipeline(None).uses_cache


def test_an_unwritable_cache_warns_and_the_features_still_come(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = FeatureCache(blocker / "cache", min_pixels=0)
    with pytest.warns(UserWarning, match="not written"):
        got = pipeline(cache).fit_transform(IMAGES)
    assert_array_equal(got, pipeline(None).fit_transform(IMAGES))


def test_clear_removes_entries_and_leftovers_but_nothing_else(cache):
    pipeline(cache).fit_transform(IMAGES)
    pipeline(cache).fit_transform(IMAGES[::-1].copy())
    (cache.entry_folder / f".{'a' * 64}.npy.x1y2.tmp").write_bytes(b"\0" * 10)  # a dead write
    keep = [cache.entry_folder / "notes.txt", cache.entry_folder / "b.npy",
            cache.directory / f"{'c' * 64}.json"]  # outside the cache's own folder
    for path in keep:
        path.write_text("mine")
    total = sum(e.nbytes for e in cache.entries())
    assert cache.clear() == (3, total)
    assert sorted(p.name for p in cache.entry_folder.iterdir()) == [
        "CACHEDIR.TAG", "b.npy", "notes.txt"]
    assert keep[2].read_text() == "mine"
    assert cache.clear() == (0, 0)


def test_entries_hold_no_pickle(cache):
    pipeline(cache).fit_transform(IMAGES)
    npy, sidecar = entry_files(cache)
    assert np.load(npy, allow_pickle=False).dtype == np.float32
    meta = json.loads(sidecar.read_text())
    assert meta["format"] == "linclass.feature-cache/1" and meta["shape"][0] == 60


def test_default_cache_location_and_cap(monkeypatch, tmp_path):
    monkeypatch.setenv("LINCLASS_CACHE_DIR", str(tmp_path / "here"))
    monkeypatch.setenv("LINCLASS_CACHE_MAX_MB", "5")
    cache = default_cache()
    assert cache.directory == tmp_path / "here" and cache.max_bytes == 5 << 20
    monkeypatch.delenv("LINCLASS_CACHE_DIR")
    monkeypatch.delenv("LINCLASS_CACHE_MAX_MB")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache().directory == tmp_path / "xdg" / "linclass" / "features"
    assert default_cache().max_bytes == 2048 << 20
    monkeypatch.setenv("LINCLASS_CACHE_MAX_MB", "lots")
    with pytest.raises(ValueError, match="LINCLASS_CACHE_MAX_MB"):
        default_cache()

