"""Adversarial cases for the data loaders on disk: labels, embeddings folders (.npy and
zarr), files that change during a run (issue 29, items 1, 6, 12, 14).

    python tests/adversarial/disk_family.py [CASE ...]
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np
from harness import Case, cli, main, one_line_error, refused

from helpers import write_embeddings


def folder(tmp: Path, kind: str = "npy", n: int = 200, y_dtype: type = np.int64) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n + 50, 6)).astype(np.float32)
    y = ((X[:, 0] > 0).astype(int) + (X[:, 1] > 0)).astype(y_dtype)
    return write_embeddings(tmp / "emb", {"X_train": X[:n], "y_train": y[:n],
                                          "X_test": X[n:], "y_test": y[n:]}, kind)


def load(path: Path):
    from linclass.data import load_embeddings

    return lambda: load_embeddings(path)


def replaced(tmp: Path, key: str, value: np.ndarray, kind: str = "npy") -> Path:
    path = folder(tmp, kind)
    np.save(path / f"{key}.npy", value)
    return path


def labels_with(tmp: Path, key: str, index: int, value: int, dtype: type = np.int64) -> Path:
    path = folder(tmp, y_dtype=dtype)
    y = np.load(path / f"{key}.npy")
    y[index] = value
    np.save(path / f"{key}.npy", y)
    return path


def huge_label(tmp):
    return refused(load(labels_with(tmp, "y_train", 0, 2**40)), "y_train.npy",
                   "label 1099511627776")


def uint64_max_label(tmp):
    path = labels_with(tmp, "y_test", 3, int(np.iinfo(np.uint64).max), np.uint64)
    return refused(load(path), "y_test.npy", "18446744073709551615")


def negative_label(tmp):
    return refused(load(labels_with(tmp, "y_train", 9, -1)), "label -1 at index 9")


def float_labels(tmp):
    return refused(load(replaced(tmp, "y_train", np.zeros(200))), "integer labels")


def bool_labels(tmp):
    return refused(load(replaced(tmp, "y_train", np.zeros(200, bool))), "integer labels")


def labels_2d(tmp):
    return refused(load(replaced(tmp, "y_train", np.zeros((200, 1), np.int64))), "1-D")


def labels_too_few(tmp):
    return refused(load(replaced(tmp, "y_test", np.zeros(49, np.int64))), "shape (50,)")


def label_without_a_name(tmp):
    path = folder(tmp)
    (path / "class_names.txt").write_text("a\nb\n")
    return refused(load(path), "label 2 has no name")


def npz_uint64_with_names(tmp):
    from linclass.data import load_npz

    X = np.zeros((3, 2, 2), np.uint8)
    y = np.array([0, 1, 2**64 - 1], np.uint64)
    np.savez(tmp / "a.npz", X_train=X, y_train=y, X_test=X, y_test=y % 2,
             class_names=np.array(["a", "b"]))
    return refused(lambda: load_npz(tmp / "a.npz"), "a.npz", "18446744073709551615")


def npz_too_many_distinct_labels(tmp):
    from linclass.data import load_npz

    np.savez(tmp / "b.npz", X=np.zeros((100_005, 1, 1), np.uint8), y=np.arange(100_005))
    return refused(lambda: load_npz(tmp / "b.npz"), "b.npz", "100005 classes")


def npz_int64_and_uint64_mix(tmp):
    from linclass.data import load_npz

    X = np.zeros((2, 2, 2), np.uint8)
    np.savez(tmp / "c.npz", X_train=X, y_train=np.array([0, 2**63 + 1], np.uint64),
             X_test=X, y_test=np.array([0, 1], np.int64))
    return refused(lambda: load_npz(tmp / "c.npz"), "64-bit integer")


def idx_label_out_of_range(tmp):
    from linclass.data.idx import load_idx_labels

    (tmp / "l").write_bytes(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + bytes([1, 200, 2]))
    return refused(lambda: load_idx_labels(tmp / "l", 10), "label 200 at index 1")


def cifar_label_out_of_range(tmp):
    from linclass.data.cifar import read_python_batch

    batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}
    (tmp / "b").write_bytes(pickle.dumps(batch, protocol=2))
    return refused(lambda: read_python_batch(tmp / "b", "labels", 10), "label 10 at index 1")


def zarr_deleted_x_chunk(tmp):
    path = folder(tmp, "zarr")
    (path / "X_train.zarr" / "c" / "3" / "0").unlink()
    return refused(load(path), "X_train.zarr", "chunk 'c/3/0' is missing")


def zarr_deleted_y_chunk(tmp):
    path = folder(tmp, "zarr")
    (path / "y_train.zarr" / "c" / "0").unlink()
    return refused(load(path), "y_train.zarr", "chunk 'c/0' is missing")


def zarr_json_claims_more_rows(tmp):
    path = folder(tmp, "zarr")
    meta_file = path / "X_train.zarr" / "zarr.json"
    meta = json.loads(meta_file.read_text())
    meta["shape"][0] *= 2
    meta_file.write_text(json.dumps(meta))
    return refused(load(path), "X_train.zarr", "is missing")


def zarr_intact_opens(tmp):
    path = folder(tmp, "zarr")
    ds = load(path)()
    ok = np.asarray(ds.X_train[:]).shape == (200, 6) and ds.n_classes == 3
    return ok, f"opened, {ds.n_classes} classes"


def zero_training_rows(tmp):
    path = folder(tmp)
    np.save(path / "X_train.npy", np.zeros((0, 6), np.float32))
    np.save(path / "y_train.npy", np.zeros(0, np.int64))
    return refused(load(path), "X_train.npy", "holds no rows")


def empty_test_rows(tmp):
    path = folder(tmp)
    np.save(path / "X_test.npy", np.zeros((0, 6), np.float32))
    np.save(path / "y_test.npy", np.zeros(0, np.int64))
    return refused(load(path), "X_test.npy", "holds no rows")


def nan_in_test_rows_before_fit(tmp):
    path = folder(tmp)
    X = np.load(path / "X_test.npy")
    X[4, 1] = np.nan
    np.save(path / "X_test.npy", X)
    code, out, err = cli(["train", "--quiet", "--dataset", path, "--out", tmp / "runs"])
    return one_line_error(code, out, err, "X_test.npy", "NaN or inf (row 4)")


def truncated_under_a_run(tmp):
    from linclass.data.embeddings import RowSubset

    ds = load(folder(tmp))()
    rows = RowSubset(ds.X_train, np.arange(200))
    with open(Path(ds.source) / "X_train.npy", "r+b") as f:
        f.truncate(512)
    return refused(lambda: rows[150:200], "X_train.npy", "truncated")


def nan_after_the_check(tmp):
    import linclass.training.loop as loop

    path = folder(tmp)
    check = loop.check_data

    def then_nan(X, y, transform, name="X"):
        out = check(X, y, transform, name)
        if name == "X_val":
            rows = np.load(path / "X_train.npy", mmap_mode="r+")
            rows[:] = np.nan
            rows.flush()
        return out

    loop.check_data = then_nan
    code, out, err = cli(["train", "--quiet", "--dataset", path, "--optimizer", "sgd",
                          "--epochs", "2", "--out", tmp / "runs"])
    ok, detail = one_line_error(code, out, err, "X_train.npy", "changed during the run")
    return ok and "--lr" not in err, detail


def x_1d(tmp):
    return refused(load(replaced(tmp, "X_train", np.zeros(200, np.float32))), "2-D")


def x_int32(tmp):
    return refused(load(replaced(tmp, "X_train", np.zeros((200, 6), np.int32))), "float16")


def x_pickled_objects(tmp):
    path = folder(tmp)
    np.save(path / "X_train.npy", np.array([object()] * 4, dtype=object), allow_pickle=True)
    return refused(load(path), "X_train.npy", "not a readable .npy")


def x_truncated_before_load(tmp):
    path = folder(tmp)
    data = (path / "X_train.npy").read_bytes()
    (path / "X_train.npy").write_bytes(data[: len(data) // 2])
    return refused(load(path), "X_train.npy")


def x_test_width_mismatch(tmp):
    return refused(load(replaced(tmp, "X_test", np.zeros((50, 5), np.float32))),
                   "X_test has 5 features")


def cli_huge_label_names_file(tmp):
    path = labels_with(tmp, "y_train", 0, 2**40)
    code, out, err = cli(["train", "--quiet", "--dataset", path, "--out", tmp / "runs"])
    return one_line_error(code, out, err, "y_train.npy", "1099511627776")


CASES: dict[str, Case] = {name: fn for name, fn in globals().items()
                          if callable(fn) and getattr(fn, "__module__", "") == "__main__"
                          and name not in ("folder", "load", "replaced", "labels_with")}

if __name__ == "__main__":
    sys.exit(main("disk", CASES))
