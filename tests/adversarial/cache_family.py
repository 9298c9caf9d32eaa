"""Adversarial cases for the feature cache (issue 29, items 2, 7, 8, 14): a cache that
cannot be written, hostile files in place of entries, files it did not write, many
entries, bad settings.

    python tests/adversarial/cache_family.py [CASE ...]
"""

from __future__ import annotations

import errno
import os
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from harness import Case, cli, main, refused

IMAGES = np.random.default_rng(2).integers(0, 256, (40, 16, 16), dtype=np.uint8)
CALLS = [0]


def pipeline(cache, kinds=("hog",), bins=16):
    from linclass.features import FeatureExtractor, FeaturePipeline

    class Counting(FeatureExtractor):
        def transform(self, X, progress=None, out=None):
            CALLS[0] += 1
            return super().transform(X, progress, out)

    return FeaturePipeline(Counting(kinds=kinds, hog_pixels_per_cell=(4, 4), hist_bins=bins),
                           cache=cache)


def reference():
    from linclass.features import FeatureExtractor, FeaturePipeline

    return FeaturePipeline(FeatureExtractor(kinds=("hog",), hog_pixels_per_cell=(4, 4))
                           ).fit_transform(IMAGES)


def new_cache(tmp: Path, **kw):
    from linclass.features import FeatureCache

    return FeatureCache(tmp / "cache", min_pixels=0, **kw)


def filled(tmp: Path):
    """A cache holding one good entry, and that entry's two files."""
    cache = new_cache(tmp)
    pipeline(cache).fit_transform(IMAGES)
    (entry,) = cache.entries()
    return cache, cache.entry_folder / f"{entry.key}.npy", cache.entry_folder / f"{entry.key}.json"


def same_and_warnings(cache, runs=1):
    """Features through the cache: (all equal to the reference, warning texts)."""
    want = reference()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ok = all(np.array_equal(pipeline(cache).fit_transform(IMAGES), want)
                 for _ in range(runs))
    return ok, [str(w.message) for w in caught]


@contextmanager
def failing(err: int):
    """Every write, touch and removal of the cache fails with ``err``."""
    import linclass.features.cache as module

    def fail(*args, **kwargs):
        raise OSError(err, os.strerror(err))

    @contextmanager
    def no_write(path, **kwargs):
        fail()
        yield

    saved = module.atomic_open, module.os.utime, Path.unlink, Path.mkdir
    module.atomic_open, module.os.utime, Path.unlink, Path.mkdir = no_write, fail, fail, fail
    try:
        yield
    finally:
        module.atomic_open, module.os.utime, Path.unlink, Path.mkdir = saved


def read_only_hit(tmp):
    cache, _, _ = filled(tmp)
    with failing(errno.EROFS):
        ok, texts = same_and_warnings(cache, 2)
    return ok and texts == [], f"hit, {len(texts)} warnings"


def read_only_misses_warn_once(tmp):
    cache = new_cache(tmp)
    with failing(errno.EROFS):
        ok, texts = same_and_warnings(cache, 3)
    return ok and len(texts) == 1 and "Read-only" in texts[0], "; ".join(texts)[:150]


def permission_denied_warns_once(tmp):
    cache = new_cache(tmp)
    with failing(errno.EACCES):
        ok, texts = same_and_warnings(cache, 3)
    return ok and len(texts) == 1 and "Permission denied" in texts[0], "; ".join(texts)[:150]


def read_only_damaged_entry(tmp):
    cache, npy, _ = filled(tmp)
    data = bytearray(npy.read_bytes())
    data[-2] ^= 0xFF
    npy.write_bytes(bytes(data))
    with failing(errno.EROFS):
        ok, texts = same_and_warnings(cache)
    return ok and len(texts) <= 1, f"recomputed, {len(texts)} warning(s)"


def cap_zero_touches_nothing(tmp):
    filled(tmp)
    off = new_cache(tmp, max_bytes=0)
    with failing(errno.EROFS):
        ok, texts = same_and_warnings(off, 2)
    return ok and texts == [], f"{len(texts)} warnings"


def nested_brackets_sidecar(tmp):
    cache, _, sidecar = filled(tmp)
    sidecar.write_text("[" * 65_000)
    ok, _ = same_and_warnings(cache)
    CALLS[0] = 0
    again, _ = same_and_warnings(cache)
    return ok and again and CALLS[0] == 0, "recomputed, then a hit (entry rewritten)"


def oversized_sidecar(tmp):
    cache, _, sidecar = filled(tmp)
    sidecar.write_text(" " * 200_000 + "{}")
    ok, texts = same_and_warnings(cache)
    return ok and not texts, "recomputed"


def sidecar_not_utf8(tmp):
    cache, _, sidecar = filled(tmp)
    sidecar.write_bytes(b"\xff\xfe{\x00")
    ok, texts = same_and_warnings(cache)
    return ok and not texts, "recomputed"


def sidecar_giant_integer(tmp):
    cache, _, sidecar = filled(tmp)
    sidecar.write_text('{"crc32": ' + "9" * 60_000 + "}")
    ok, texts = same_and_warnings(cache)
    return ok and not texts, "recomputed"


def fifo_sidecar(tmp):
    cache, _, sidecar = filled(tmp)
    sidecar.unlink()
    os.mkfifo(sidecar)
    ok, _ = same_and_warnings(cache)
    return ok, "no block, recomputed"


def fifo_matrix(tmp):
    cache, npy, _ = filled(tmp)
    npy.unlink()
    os.mkfifo(npy)
    ok, _ = same_and_warnings(cache)
    return ok, "no block, recomputed"


def sidecar_symlink_dev_zero(tmp):
    cache, _, sidecar = filled(tmp)
    sidecar.unlink()
    sidecar.symlink_to("/dev/zero")
    ok, _ = same_and_warnings(cache)
    return ok, "not followed, recomputed"


def matrix_symlink_dev_zero(tmp):
    cache, npy, _ = filled(tmp)
    npy.unlink()
    npy.symlink_to("/dev/zero")
    ok, _ = same_and_warnings(cache)
    return ok, "not followed, recomputed"


def folder_named_like_the_matrix(tmp):
    cache, npy, _ = filled(tmp)
    npy.unlink()
    npy.mkdir()
    (npy / "mine").write_text("x")
    ok, texts = same_and_warnings(cache, 2)
    return ok and (npy / "mine").exists() and len(texts) == 1, "; ".join(texts)[:150]


def folder_named_like_the_sidecar(tmp):
    cache, _, sidecar = filled(tmp)
    sidecar.unlink()
    sidecar.mkdir()
    ok, texts = same_and_warnings(cache)
    return ok and sidecar.is_dir(), f"recomputed, {len(texts)} warning(s)"


def user_files_survive_trim_and_clear(tmp):
    cache = new_cache(tmp, max_bytes=1 << 20)
    cache.directory.mkdir()
    mine = [cache.directory / f"{os.urandom(32).hex()}.json" for _ in range(5)]
    for p in mine:
        p.write_text("mine")
    for k in range(6):
        pipeline(cache, kinds=("hist",), bins=4 + k).fit_transform(IMAGES)
    cache.clear()
    kept = sum(p.exists() for p in mine)
    return kept == 5, f"{kept} of 5 user files kept"


def entry_folder_without_marker(tmp):
    cache = new_cache(tmp)
    cache.entry_folder.mkdir(parents=True)
    theirs = cache.entry_folder / f"{'a' * 64}.json"
    theirs.write_text("theirs")
    ok, texts = same_and_warnings(cache)
    cache.clear()
    return ok and theirs.exists() and len(texts) == 1, "; ".join(texts)[:150]


def forged_marker(tmp):
    cache = new_cache(tmp)
    cache.entry_folder.mkdir(parents=True)
    (cache.entry_folder / "CACHEDIR.TAG").write_text("Signature: something else\n")
    theirs = cache.entry_folder / f"{'b' * 64}.npy"
    theirs.write_text("theirs")
    cache.clear()
    return theirs.exists() and cache.entries() == [], "not trusted: nothing removed"


def symlink_in_entry_folder(tmp):
    cache, _, _ = filled(tmp)
    outside = tmp / "precious"
    outside.write_text("keep")
    link = cache.entry_folder / f"{'c' * 64}.json"
    link.symlink_to(outside)
    n = len(cache.entries())
    cache.clear()
    return n == 1 and link.is_symlink() and outside.exists(), f"{n} entry counted"


def entry_folder_is_a_file(tmp):
    cache = new_cache(tmp)
    cache.directory.mkdir()
    cache.entry_folder.write_text("a file")
    ok, texts = same_and_warnings(cache)
    return ok and len(texts) == 1, "; ".join(texts)[:150]


def many_entries(tmp, n=6000):
    cache, _, _ = filled(tmp)
    for i in range(n):
        (cache.entry_folder / f"{i:064x}.json").write_text("{}")
        (cache.entry_folder / f"{i:064x}.npy").write_bytes(b"\0" * 100)
    return cache


def trim_6000_entries(tmp):
    cache = many_entries(tmp)
    cache.max_bytes = 200_000
    start = time.perf_counter()
    removed = cache.trim()
    seconds = time.perf_counter() - start
    left = sum(e.nbytes for e in cache.entries())
    return (seconds < 10 and removed > 3000 and left <= cache.max_bytes,
            f"{removed} removed in {seconds:.2f} s, {left} bytes left of {cache.max_bytes}")


def clear_6000_entries(tmp):
    cache = many_entries(tmp)
    start = time.perf_counter()
    removed, _ = cache.clear()
    seconds = time.perf_counter() - start
    return seconds < 10 and removed == 6001, f"{removed} removed in {seconds:.2f} s"


def cap_superscript_two(tmp):
    from linclass.features import default_cache

    os.environ["LINCLASS_CACHE_MAX_MB"] = "²"
    return refused(default_cache, "LINCLASS_CACHE_MAX_MB", "'²'")


def cap_scientific(tmp):
    from linclass.features import default_cache

    os.environ["LINCLASS_CACHE_MAX_MB"] = "1e3"
    return refused(default_cache, "LINCLASS_CACHE_MAX_MB")


def cli_bad_cap_one_line(tmp):
    from harness import one_line_error

    code, out, err = cli(["train", "--features", "hog", "--out", tmp],
                         env={"LINCLASS_CACHE_MAX_MB": "٣"})
    return one_line_error(code, out, err, "LINCLASS_CACHE_MAX_MB")


def cli_unwritable_cache_quiet(tmp):
    import linclass.features.cache as module

    module.MIN_CACHED_PIXELS = 0
    (tmp / "blocker").write_text("a file, not a folder")
    env = {"LINCLASS_CACHE_DIR": str(tmp / "blocker" / "cache")}
    args = ["train", "--dataset", "digits", "--features", "hog", "--epochs", "1", "--out", tmp]
    code, out, err = cli([*args, "--quiet"], env=env)
    code2, _, err2 = cli(args, env=env)
    lines = [ln for ln in err2.splitlines() if "feature cache" in ln]
    ok = code == 0 and err == "" and code2 == 0 and len(lines) == 1
    return ok, (lines[0] if lines else f"exit {code}/{code2} {err[-100:]!r}")


CASES: dict[str, Case] = {name: fn for name, fn in globals().items()
                          if callable(fn) and getattr(fn, "__module__", "") == "__main__"
                          and name not in ("pipeline", "reference", "new_cache", "filled",
                                           "same_and_warnings", "failing", "many_entries")}

if __name__ == "__main__":
    sys.exit(main("cache", CASES))
