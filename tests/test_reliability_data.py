"""Issue 29, the data family: labels no loader can turn into classes, zarr stores with
missing chunks, empty or non-finite splits and files that change during a run are refused
with a message naming the file, never trained on in silence, never a crash."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import write_embeddings
from linclass.data import DataError, load_embeddings, load_npz
from linclass.data.embeddings import RowSubset

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")

MAX_CLASSES = 100_000  # linclass.data.labels.MAX_CLASSES (imported where used, below)


def _folder(path, n=200, d=6, kind="npy", y_dtype=np.int64):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n + 50, d)).astype(np.float32)
    y = (X[:, 0] > 0).astype(y_dtype) + (X[:, 1] > 0).astype(y_dtype)
    parts = {"X_train": X[:n], "y_train": y[:n], "X_test": X[n:], "y_test": y[n:]}
    write_embeddings(path, parts, kind)
    return parts


# --- one label check for every loader ---------------------------------------------------------


def test_one_huge_label_is_refused_without_building_its_classes(tmp_path):
    parts = _folder(tmp_path / "emb")
    y = parts["y_train"].copy()
    y[0] = 2**40
    np.save(tmp_path / "emb" / "y_train.npy", y)
    with pytest.raises(DataError, match=r"y_train.npy: y_train: label 1099511627776 at index "
                                        r"0 is out of range") as info:
        load_embeddings(tmp_path / "emb")
    from linclass.data.labels import MAX_CLASSES as limit

    assert limit == MAX_CLASSES and str(limit) in str(info.value)


def test_a_uint64_label_does_not_wrap_to_minus_one(tmp_path):
    parts = _folder(tmp_path / "emb", y_dtype=np.uint64)
    y = parts["y_test"].copy()
    y[3] = np.iinfo(np.uint64).max
    np.save(tmp_path / "emb" / "y_test.npy", y)
    with pytest.raises(DataError, match=r"y_test: label 18446744073709551615 at index 3"):
        load_embeddings(tmp_path / "emb")


@pytest.mark.parametrize("y, match", [
    (np.array([0, 1, -2]), "label -2 at index 2 is negative"),
    (np.array([0, 1, 2**62], np.int64), "out of range"),
    (np.array([0.0, 1.0]), "integer labels"),
    (np.array([True, False]), "integer labels"),
    (np.zeros((2, 2), np.int64), "1-D"),
])
def test_check_labels_refuses_what_is_not_a_class_index(y, match):
    from linclass.data.labels import check_labels

    with pytest.raises(DataError, match=match):
        check_labels(y, "f.npy", "y")
    assert check_labels(np.array([0, 2, 1], np.uint64), "f", "y").dtype == np.int64


def test_npz_labels_go_through_the_same_check(tmp_path):
    X = np.zeros((4, 2, 2), np.uint8)
    names = np.array(["a", "b"])
    y = np.array([0, 1, 0, np.iinfo(np.uint64).max], np.uint64)
    np.savez(tmp_path / "a.npz", X_train=X, y_train=y, X_test=X, y_test=y[:4] % 2,
             class_names=names)
    with pytest.raises(DataError, match="y_train: label 18446744073709551615 at index 3"):
        load_npz(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", X=np.zeros((MAX_CLASSES + 2, 1, 1), np.uint8),
             y=np.arange(MAX_CLASSES + 2))
    with pytest.raises(DataError, match="distinct label values make 100002 classes"):
        load_npz(tmp_path / "b.npz")
    mixed = np.array([0, 2**63 + 5], np.uint64)  # int64 + uint64 would become float64
    np.savez(tmp_path / "c.npz", X_train=X[:2], y_train=mixed, X_test=X[:2],
             y_test=np.array([0, 1], np.int64))
    with pytest.raises(DataError, match="does not fit in a 64-bit integer"):
        load_npz(tmp_path / "c.npz")


def test_the_cli_names_the_label_file(cli, one_line_error, tmp_path):
    parts = _folder(tmp_path / "emb")
    y = parts["y_train"].copy()
    y[5] = 2**40
    np.save(tmp_path / "emb" / "y_train.npy", y)
    one_line_error(cli(["train", "--quiet", "--dataset", tmp_path / "emb", "--out",
                        tmp_path / "runs"]), "y_train.npy", "label 1099511627776")


# --- zarr stores: every chunk stored, or an error naming the missing one -----------------------


@pytest.mark.parametrize("key", ["X_train", "y_train"])
def test_a_deleted_zarr_chunk_is_an_error_naming_it(tmp_path, key):
    pytest.importorskip("zarr")
    _folder(tmp_path / "emb", kind="zarr")
    chunk = tmp_path / "emb" / f"{key}.zarr" / "c" / "2"
    (chunk / "0" if key == "X_train" else chunk).unlink()
    with pytest.raises(DataError, match=rf"{key}.zarr: chunk 'c/2(/0)?' is missing \(1 of 7"):
        load_embeddings(tmp_path / "emb")


def test_a_zarr_json_claiming_more_rows_than_stored_is_an_error(tmp_path):
    pytest.importorskip("zarr")
    _folder(tmp_path / "emb", kind="zarr")
    meta_file = tmp_path / "emb" / "X_train.zarr" / "zarr.json"
    meta = json.loads(meta_file.read_text())
    meta["shape"][0] = 400  # 200 stored
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"chunk 'c/7/0' is missing \(6 of 13"):
        load_embeddings(tmp_path / "emb")


def test_an_intact_zarr_folder_still_opens(tmp_path):
    pytest.importorskip("zarr")
    parts = _folder(tmp_path / "emb", kind="zarr")
    ds = load_embeddings(tmp_path / "emb")
    assert np.array_equal(np.asarray(ds.X_train[:]), parts["X_train"])


# --- empty and non-finite splits, up front ------------------------------------------------------


def test_zero_training_rows_and_empty_test_rows_are_named(tmp_path):
    _folder(tmp_path / "emb")
    np.save(tmp_path / "emb" / "X_train.npy", np.zeros((0, 6), np.float32))
    np.save(tmp_path / "emb" / "y_train.npy", np.zeros(0, np.int64))
    with pytest.raises(DataError, match="X_train.npy: X_train holds no rows"):
        load_embeddings(tmp_path / "emb")
    _folder(tmp_path / "e2")
    np.save(tmp_path / "e2" / "X_test.npy", np.zeros((0, 6), np.float32))
    np.save(tmp_path / "e2" / "y_test.npy", np.zeros(0, np.int64))
    with pytest.raises(DataError, match="X_test.npy: X_test holds no rows"):
        load_embeddings(tmp_path / "e2")


def test_nan_in_the_test_rows_is_refused_before_the_fit(cli, one_line_error, tmp_path,
                                                       monkeypatch):
    from linclass.estimators.classifier import LinearClassifier

    parts = _folder(tmp_path / "emb")
    X = parts["X_test"].copy()
    X[7, 2] = np.nan
    np.save(tmp_path / "emb" / "X_test.npy", X)
    fits = []
    monkeypatch.setattr(LinearClassifier, "fit", lambda self, *a, **k: fits.append(1))
    one_line_error(cli(["train", "--quiet", "--dataset", tmp_path / "emb", "--out",
                        tmp_path / "runs"]), "X_test.npy", "NaN or inf (row 7)")
    assert fits == []


# --- files that change during a run -------------------------------------------------------------


def test_a_memory_map_truncated_under_a_run_is_an_error_not_sigbus(tmp_path):
    _folder(tmp_path / "emb")
    ds = load_embeddings(tmp_path / "emb")
    rows = RowSubset(ds.X_train, np.arange(0, 200, 2))
    assert rows[:5].shape == (5, 6)
    path = tmp_path / "emb" / "X_train.npy"
    with open(path, "r+b") as f:
        f.truncate(1000)
    with pytest.raises(DataError, match="X_train.npy: was truncated to 1000 bytes"):
        rows[90:100]


def test_nan_written_after_the_check_is_reported_as_changed_data(cli, one_line_error, tmp_path,
                                                                 monkeypatch):
    import linclass.training.loop as loop

    _folder(tmp_path / "emb")
    path = tmp_path / "emb" / "X_train.npy"
    check = loop.check_data

    def check_then_write_nan(X, y, transform, name="X"):
        out = check(X, y, transform, name)
        if name == "X_val":  # another process writes NaN once the rows were checked
            rows = np.load(path, mmap_mode="r+")
            rows[:] = np.nan
            rows.flush()
        return out

    monkeypatch.setattr(loop, "check_data", check_then_write_nan)
    result = cli(["train", "--quiet", "--dataset", tmp_path / "emb", "--optimizer", "sgd",
                  "--epochs", "3", "--out", tmp_path / "runs"])
    one_line_error(result, "X_train.npy", "changed during the run")
    assert "learning rate" not in result.output and "--lr" not in result.output
    from linclass.data.embeddings import check_unchanged

    with pytest.raises(DataError, match="changed during the run"):
        check_unchanged(tmp_path / "emb")


def test_an_embeddings_run_without_a_real_stderr_still_trains(cli, tmp_path, monkeypatch):
    """The SIGBUS report (faulthandler) needs a real stderr; without one (an in-process
    runner outside pytest, a pythonw) the run goes on without the report."""
    import faulthandler
    import io

    def no_fileno(*args, **kwargs):
        raise io.UnsupportedOperation("fileno")

    monkeypatch.setattr(faulthandler, "is_enabled", lambda: False)
    monkeypatch.setattr(faulthandler, "enable", no_fileno)
    _folder(tmp_path / "emb")
    result = cli(["train", "--quiet", "--dataset", tmp_path / "emb", "--epochs", "2",
                  "--out", tmp_path / "runs"])
    assert result.exit_code == 0, result.output
