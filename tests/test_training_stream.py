"""Training on arrays that stay on disk (linclass.training.arrays, sampler, stream): a
memory map or a zarr array trains like the same rows in memory (exactly for full-batch
methods, in distribution for SGD), is never converted whole, and the chunk-ordered
shuffle visits every row once per epoch."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import stream_problem
from linclass import LinearClassifier
from linclass.backends.numpy import WindowSource
from linclass.model import init_params
from linclass.training import fit
from linclass.training.arrays import chunk_rows, float_rows, is_out_of_core
from linclass.training.windows import chunk_windows

zarr = pytest.importorskip("zarr")

@pytest.fixture(scope="module")
def data():
    return stream_problem()


@pytest.fixture(scope="module")
def stores(data, tmp_path_factory):
    X, y = data
    folder = tmp_path_factory.mktemp("stores")
    np.save(folder / "X.npy", X)
    z = zarr.create_array(store=str(folder / "X.zarr"), shape=X.shape, chunks=(250, 16),
                          dtype="float32")
    z[:] = X
    return {"memmap": np.load(folder / "X.npy", mmap_mode="r"),
            "zarr": zarr.open_array(str(folder / "X.zarr"), mode="r")}


class _CountingRows:
    """An out-of-core array that records every slice read and refuses whole conversion."""

    def __init__(self, X, chunks):
        self.X, self.shape, self.dtype, self.chunks, self.reads = X, X.shape, X.dtype, chunks, []
        self.ndim = X.ndim

    def __getitem__(self, key):
        assert isinstance(key, slice), f"read {key!r}: rows must be read as slices"
        self.reads.append(key.indices(self.shape[0])[:2])
        return self.X[key]

    def __len__(self):
        return self.shape[0]

    def __array__(self, *args, **kwargs):
        raise AssertionError("converted whole")


def test_what_counts_as_out_of_core(stores, data):
    assert is_out_of_core(stores["memmap"]) and is_out_of_core(stores["zarr"])
    assert not is_out_of_core(data[0]) and not is_out_of_core([[1.0]])
    assert chunk_rows(stores["zarr"]) == 250
    assert chunk_rows(stores["memmap"]) == 16 * 2**20 // (16 * 4)


def test_float_rows_casts_what_is_not_float():
    assert float_rows(np.ones((2, 3), np.uint8)).dtype == np.float32
    assert float_rows(np.ones((2, 3), np.float16)).dtype == np.float32
    X = np.ones((2, 3), np.float64)
    assert float_rows(X) is X
    out = np.zeros((5, 3), np.float32)
    assert float_rows(np.full((2, 3), 7, np.uint8), out=out).base is out and out[:2].sum() == 42


def test_chunk_windows_visit_every_row_once_in_a_new_order():
    rng = np.random.default_rng(0)
    epochs = [list(chunk_windows(1030, 100, 3, rng)) for _ in range(2)]
    for windows in epochs:
        rows = np.concatenate([np.arange(a, b) for w in windows for a, b in w])
        assert np.array_equal(np.sort(rows), np.arange(1030))
        assert all(len(w) <= 3 for w in windows) and len(windows) == 4
    assert epochs[0] != epochs[1]
    with pytest.raises(ValueError, match="window must be >= 1"):
        next(chunk_windows(10, 5, 0, rng))


@pytest.mark.parametrize("store", ["memmap", "zarr"])
@pytest.mark.parametrize("optimizer", ["gd", "lbfgs"])
def test_full_batch_on_disk_equals_in_memory_exactly(data, stores, store, optimizer, obj):
    X, y = data
    p = init_params(16, 4, random_state=0)
    a = fit(p, X, y, optimizer=optimizer, max_epochs=8, tol=None, progress=False, **obj)
    b = fit(p, stores[store], y, optimizer=optimizer, max_epochs=8, tol=None, progress=False,
            **obj)
    np.testing.assert_allclose(b.params["W"], a.params["W"], rtol=1e-5, atol=1e-6)
    assert b.history.train_accuracy == pytest.approx(a.history.train_accuracy)


def test_sgd_on_disk_matches_in_memory_in_distribution(data, stores, obj):
    """Different batch order, same kind of result: final accuracies within 0.02 over seeds."""
    X, y = data
    p = init_params(16, 4, random_state=0)
    kw = dict(optimizer="sgd", learning_rate=0.5, batch_size=32, max_epochs=4, tol=None,
              progress=False, **obj)
    mem = [fit(p, X, y, random_state=s, **kw).history.train_accuracy[-1] for s in range(3)]
    disk = [fit(p, stores["zarr"], y, random_state=s, **kw).history.train_accuracy[-1]
            for s in range(3)]
    assert abs(np.mean(mem) - np.mean(disk)) < 0.02 and min(disk) > 0.9


def test_rows_are_read_as_chunk_slices_never_whole(data, obj):
    X, y = data
    rows = _CountingRows(X.astype(np.float16), chunks=(200, 16))
    result = fit(init_params(16, 4, random_state=0), rows, y, optimizer="momentum",
                 learning_rate=0.05, batch_size=64, max_epochs=2, tol=None, progress=False,
                 **obj)
    assert result.params["W"].dtype == np.float32 and result.history.train_accuracy[-1] > 0.8
    sizes = {b - a for a, b in rows.reads}
    assert max(sizes) <= 2048  # evaluation chunks and window chunks only


def test_window_bytes_bound_the_buffer(data, obj):
    X, y = data
    rows = _CountingRows(X, chunks=(100, 16))
    stepper = WindowSource(rows, y, 32, np.random.default_rng(0),
                           window_bytes=100 * 16 * 4 * 5)
    assert stepper.window == 3  # 5 chunks' bytes, less the 2 a chunk's decode holds
    X_w, y_w = stepper.reader.read([(0, 100), (500, 600), (2900, 3000)], 1)
    assert X_w.shape == (300, 16) and np.array_equal(y_w[100:200], y[500:600])
    assert np.array_equal(X_w[200:], X[2900:3000])
    assert stepper.reader.buffers[1].shape == (300, 16) and stepper.reader.buffers[0] is None


def test_estimator_streams_a_memory_map(data, stores):
    X, y = data
    # Rows on disk train in their own coordinates (scaling applies to in-memory arrays), so
    # the in-memory twin is told the same, and both take the same step.
    kw = dict(optimizer="gd", max_epochs=5, tol=None, random_state=0, learning_rate=0.5)
    on_disk = LinearClassifier(**kw).fit(stores["memmap"], y)
    in_memory = LinearClassifier(**kw, scaling="none").fit(X, y)
    assert on_disk.settings_["scaling"] == "none"
    np.testing.assert_allclose(on_disk.coef_, in_memory.coef_, rtol=1e-5, atol=1e-6)
    assert on_disk.n_features_in_ == 16 and on_disk.score(X, y) > 0.8


def test_nan_on_disk_is_reported(data, tmp_path, obj):
    X, y = data
    X = X.copy()
    X[1234, 3] = np.nan
    np.save(tmp_path / "X.npy", X)
    with pytest.raises(ValueError, match="NaN"):
        fit(init_params(16, 4), np.load(tmp_path / "X.npy", mmap_mode="r"), y, optimizer="gd",
            max_epochs=2, progress=False, **obj)
