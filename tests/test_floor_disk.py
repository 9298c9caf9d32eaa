"""Out of core at in-memory speed (linclass.training.windows): the next window and the next
chunk of a full pass are read in a background thread, the fit is bit-identical with and
without reading ahead, every store chunk is decoded once per pass, memory stays within the
documented bound whatever the chunk size, and float16 rows are cast a batch at a time,
never upcast whole."""

from __future__ import annotations

import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from helpers import stream_problem
from linclass import LinearClassifier
from linclass.backends.numpy import WindowSource
from linclass.model import init_params
from linclass.training import fit
from linclass.training import windows as windows_module
from linclass.training.windows import WindowReader, read_ahead, row_blocks

zarr = pytest.importorskip("zarr")


class _Rows:
    """An out-of-core array that records each slice read, and the thread reading it."""

    def __init__(self, X, chunks):
        self.X, self.shape, self.dtype, self.chunks, self.ndim = X, X.shape, X.dtype, chunks, 2
        self.reads: list[tuple[int, int, str]] = []

    def __getitem__(self, key):
        assert isinstance(key, slice), f"read {key!r}: rows must be read as slices"
        a, b = key.indices(self.shape[0])[:2]
        self.reads.append((a, b, threading.current_thread().name))
        return self.X[key]

    def __len__(self):
        return self.shape[0]

    def __array__(self, *args, **kwargs):
        raise AssertionError("converted whole")


@pytest.fixture(scope="module")
def data():
    return stream_problem()


def _fit(X, y, obj, prefetch, **kw):
    windows_module.PREFETCH = prefetch
    try:
        return fit(init_params(16, 4, random_state=0), X, y, optimizer="momentum",
                   learning_rate=0.05, batch_size=32, max_epochs=3, tol=None, progress=False,
                   random_state=7, **obj, **kw)
    finally:
        windows_module.PREFETCH = True


@pytest.mark.parametrize("store", ["zarr", "memmap"])
def test_reading_ahead_gives_the_same_fit_bit_for_bit(data, obj, tmp_path, monkeypatch, store):
    X, y = data
    if store == "zarr":
        z = zarr.create_array(store=str(tmp_path / "X.zarr"), shape=X.shape, chunks=(100, 16),
                              dtype="float32")
        z[:] = X
        stored = zarr.open_array(str(tmp_path / "X.zarr"), mode="r")
    else:
        np.save(tmp_path / "X.npy", X)
        stored = np.load(tmp_path / "X.npy", mmap_mode="r")
    monkeypatch.setattr(windows_module, "WINDOW_BYTES", 300 * 16 * 4)  # 10 windows an epoch
    ahead, inline = _fit(stored, y, obj, True), _fit(stored, y, obj, False)
    assert np.array_equal(ahead.params["W"], inline.params["W"])
    assert np.array_equal(ahead.params["b"], inline.params["b"])
    assert ahead.history.step_loss == inline.history.step_loss
    assert ahead.history.train_accuracy == inline.history.train_accuracy
    assert ahead.history.train_accuracy[-1] > 0.9  # and it learned


def test_the_next_window_is_read_in_the_background(data, obj, monkeypatch):
    X, y = data
    monkeypatch.setattr(windows_module, "WINDOW_BYTES", 300 * 16 * 4)
    rows = _Rows(X, chunks=(100, 16))
    _fit(rows, y, obj, True)
    readers = {name for a, b, name in rows.reads if b - a > 1}  # (one row shows the dtype)
    assert readers and all(name.startswith("linclass-read") for name in readers)
    rows = _Rows(X, chunks=(100, 16))
    _fit(rows, y, obj, False)
    assert {name for a, b, name in rows.reads if b - a > 1} == {threading.main_thread().name}


def test_windows_alternate_between_two_buffers(data):
    X, y = data
    reader = WindowReader(_Rows(X, chunks=(100, 16)), y, window_bytes=700 * 16 * 4)
    seen = []
    for X_w, y_w in reader.epoch(np.random.default_rng(0)):
        seen.append(X_w.base if X_w.base is not None else X_w)
        assert X_w.dtype == np.float32 and X_w.shape[0] == y_w.shape[0] <= 500
    assert len(seen) == 6 and seen[0] is seen[2] is seen[4] and seen[1] is seen[3]
    assert seen[0] is not seen[1]


def test_a_read_error_reaches_the_caller_and_an_early_stop_waits_for_the_read():
    running = []

    def job(i):
        def run():
            running.append(i)
            if i == 2:
                raise OSError("chunk 2 is unreadable")
            return i
        return run

    with pytest.raises(OSError, match="chunk 2"):
        list(read_ahead([job(i) for i in range(5)], prefetch=True))
    running.clear()
    it = read_ahead([job(i) for i in range(2)] + [job(3)], prefetch=True)
    assert next(it) == 0
    it.close()  # the read of job 1 under way is waited for, none after it starts
    assert running == [0, 1]


@pytest.mark.parametrize("chunk, rows", [(500, 128), (100, 250), (3000, 2048)])
def test_a_full_pass_decodes_each_store_chunk_once(data, chunk, rows):
    X, _ = data
    stored = _Rows(X, chunks=(chunk, 16))
    blocks = list(row_blocks(stored, rows))
    got = np.concatenate([b for _, b in blocks])
    assert np.array_equal(got, X)
    assert [s.start for s, _ in blocks] == sorted(s.start for s, _ in blocks)
    assert all(b.shape[0] == s.stop - s.start <= rows for s, b in blocks)
    starts = [a for a, _, _ in stored.reads]
    assert len(starts) == len(set(starts))  # no chunk read twice
    assert all(a % chunk == 0 and (b % chunk == 0 or b == X.shape[0])
               for a, b, _ in stored.reads)


def _peak_of_fit(X, y, **kw):
    """The peak of allocations during a fit on ``X``, after a warm-up fit on its first
    rows (so that first imports and caches are not counted)."""
    fit = LinearClassifier(optimizer="momentum", batch_size=256, max_epochs=1, tol=None,
                           random_state=0, **kw).fit
    fit(np.asarray(X[:2000]), y[:2000])
    tracemalloc.start()
    try:
        fit(X, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("chunk", [512, 8000])
def test_memory_stays_within_two_windows_and_two_chunks(tmp_path, monkeypatch, chunk):
    """The bound of the windows module docstring, for small and for large store chunks:
    a 51 MB store trains in a fraction of it."""
    rng = np.random.default_rng(1)
    n, d = 200_000, 64
    y = rng.integers(4, size=n)
    z = zarr.create_array(store=str(tmp_path / "X.zarr"), shape=(n, d), chunks=(chunk, d),
                          dtype="float32")
    for a in range(0, n, 50_000):
        z[a : a + 50_000] = rng.normal(size=(50_000, d)).astype(np.float32) + y[a : a + 50_000,
                                                                                None]
    window = 2**20
    monkeypatch.setattr(windows_module, "WINDOW_BYTES", window)
    stored = zarr.open_array(str(tmp_path / "X.zarr"), mode="r")
    chunk_bytes = chunk * d * 4
    labels = 6 * n * 8  # the labels' copies (encoded, unique classes), the epoch's order
    bound = 2 * max(window, chunk_bytes) + 3 * chunk_bytes + labels
    peak = _peak_of_fit(stored, y)
    assert peak < bound, (peak, bound)
    assert bound < n * d * 4 / 2  # the bound says something: far below the whole set


def test_float16_rows_are_cast_a_batch_at_a_time_never_whole(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    n, d = 200_000, 32
    y = rng.integers(4, size=n)
    X16 = (rng.normal(size=(n, d)) + y[:, None]).astype(np.float16)
    np.save(tmp_path / "X.npy", X16)
    stored = np.load(tmp_path / "X.npy", mmap_mode="r")
    monkeypatch.setattr(windows_module, "WINDOW_BYTES", 2**20)
    source = WindowSource(stored, y, 256, np.random.default_rng(0))
    X_w, _ = next(source.reader.epoch(np.random.default_rng(0)))
    assert X_w.dtype == np.float16  # windows hold the stored dtype
    peak = _peak_of_fit(stored, y)
    assert peak < n * d * 4 / 4, peak  # a float32 copy of the set would be 25.6 MB
    model = LinearClassifier(optimizer="momentum", batch_size=256, max_epochs=1, tol=None,
                             random_state=0).fit(stored, y)
    assert model.coef_.dtype == np.float32 and model.score(X16[:5000], y[:5000]) > 0.7


def _mapped_rss_kb(path) -> int:
    """Resident kB of this process's mappings of ``path`` (``/proc/self/smaps``)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5:  # a mapping's header line
            inside = line.endswith(str(path))
        elif inside and line.startswith("Rss:"):
            total += int(head[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux's smaps")
def test_a_memory_map_read_for_an_epoch_leaves_no_pages_mapped(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40_000, 64)).astype(np.float32)  # 10 MB
    np.save(tmp_path / "X.npy", X)
    stored = np.load(tmp_path / "X.npy", mmap_mode="r")
    reader = WindowReader(stored, np.zeros(40_000, np.int64), window_bytes=2**20)
    got = []
    for X_w, _ in reader.epoch(np.random.default_rng(0)):
        got.append(float(X_w.sum(dtype=np.float64)))
    assert sum(got) == pytest.approx(float(X.sum(dtype=np.float64)), rel=1e-6)
    assert _mapped_rss_kb(tmp_path / "X.npy") < 1024  # below one window, not the 10 MB
    blocks = sum(float(b.sum(dtype=np.float64)) for _, b in row_blocks(stored, 2048))
    assert blocks == pytest.approx(sum(got), rel=1e-6)
    assert _mapped_rss_kb(tmp_path / "X.npy") < 1024
    copy = np.load(tmp_path / "X.npy", mmap_mode="c")  # copy-on-write: left alone
    copy[0, 0] = 7.0
    reader = WindowReader(copy, np.zeros(40_000, np.int64), window_bytes=2**20)
    assert reader.read([(0, 10)])[0][0, 0] == 7.0 and copy[0, 0] == 7.0
