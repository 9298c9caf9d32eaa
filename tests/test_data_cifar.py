"""CIFAR-10/100 loaders on small generated batches in both distributions; malicious
pickles are refused without running anything."""

from __future__ import annotations

import builtins
import pickle
from pathlib import Path

import numpy as np
import pytest

from linclass.data import DataError
from linclass.data.cifar import load_cifar10, load_cifar100, read_python_batch, safe_unpickle

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")

RNG = np.random.default_rng(0)


def images(n: int) -> np.ndarray:
    return RNG.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def rows(X: np.ndarray) -> np.ndarray:
    """CIFAR row layout: all red, then all green, then all blue, row-major planes."""
    return X.transpose(0, 3, 1, 2).reshape(len(X), -1)


def dump(path: Path, obj, protocol: int = 2) -> Path:
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


def make_cifar10_py(root: Path, n: int = 4, n_batches: int = 2, protocol: int = 2):
    root.mkdir(parents=True, exist_ok=True)
    names = [f"class{i}".encode() for i in range(10)]
    dump(root / "batches.meta", {b"label_names": names, b"num_vis": 3072}, protocol)
    kept = []
    for name in [f"data_batch_{i}" for i in range(1, n_batches + 1)] + ["test_batch"]:
        X, y = images(n), [int(v) for v in RNG.integers(0, 10, n)]
        batch = {b"batch_label": b"x", b"data": rows(X), b"labels": y, b"filenames": [b"f"] * n}
        dump(root / name, batch, protocol)
        kept.append((X, y))
    return kept


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_python_roundtrip(tmp_path, protocol):
    kept = make_cifar10_py(tmp_path / "cifar-10-batches-py", protocol=protocol)
    ds = load_cifar10(tmp_path)  # finds the usual subfolder
    assert ds.X_train.shape == (8, 32, 32, 3) and ds.X_train.dtype == np.uint8
    np.testing.assert_array_equal(ds.X_train[:4], kept[0][0])
    np.testing.assert_array_equal(ds.X_test, kept[2][0])
    assert list(ds.y_test) == kept[2][1] and ds.y_test.dtype == np.int64
    assert ds.class_names[0] == "class0" and ds.image_shape == (32, 32, 3)


def test_cifar10_binary(tmp_path):
    root = tmp_path / "cifar-10-batches-bin"
    root.mkdir()
    (root / "batches.meta.txt").write_text("\n".join(f"c{i}" for i in range(10)) + "\n\n")
    X, y = images(3), np.array([0, 9, 4], np.uint8)
    record = np.concatenate([y[:, None], rows(X)], axis=1)
    for name in ("data_batch_1.bin", "test_batch.bin"):
        record.tofile(root / name)
    ds = load_cifar10(root)
    np.testing.assert_array_equal(ds.X_train, X)
    assert list(ds.y_train) == [0, 9, 4] and ds.class_names[9] == "c9"
    (root / "data_batch_1.bin").write_bytes(record.tobytes()[:-1])
    with pytest.raises(DataError, match="multiple of the 3073-byte record"):
        load_cifar10(root)


@pytest.mark.parametrize("mode, n", [("fine", 100), ("coarse", 20)])
def test_cifar100_python_and_binary(tmp_path, mode, n):
    py = tmp_path / "cifar-100-python"
    py.mkdir()
    meta = {b"fine_label_names": [b"f%d" % i for i in range(100)],
            b"coarse_label_names": [b"c%d" % i for i in range(20)]}
    dump(py / "meta", meta)
    X, fine, coarse = images(5), [0, 99, 5, 6, 7], [0, 19, 1, 1, 2]
    for name in ("train", "test"):
        dump(py / name, {b"data": rows(X), b"fine_labels": fine, b"coarse_labels": coarse})
    ds = load_cifar100(tmp_path, label_mode=mode)
    assert ds.n_classes == n and list(ds.y_train) == (fine if mode == "fine" else coarse)

    binary = tmp_path / "bin" / "cifar-100-binary"
    binary.mkdir(parents=True)
    for kind, count in (("fine", 100), ("coarse", 20)):
        (binary / f"{kind}_label_names.txt").write_text("\n".join(map(str, range(count))))
    rec = np.concatenate([np.array([coarse, fine], np.uint8).T, rows(X)], axis=1)
    for name in ("train.bin", "test.bin"):
        rec.tofile(binary / name)
    ds_bin = load_cifar100(tmp_path / "bin", label_mode=mode)
    np.testing.assert_array_equal(ds_bin.X_train, ds.X_train)
    np.testing.assert_array_equal(ds_bin.y_train, ds.y_train)


class Exploit:
    """A pickle payload that would create a file when unpickled by ``pickle.load``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (builtins.open, (str(self.marker), "w"))


@pytest.mark.parametrize("where", ["top", "inside"])
def test_malicious_pickle_runs_nothing(tmp_path, where):
    make_cifar10_py(tmp_path)
    marker = tmp_path / "pwned"
    payload = Exploit(marker)
    if where == "inside":
        payload = {b"data": rows(images(2)), b"labels": [0, 1], b"filenames": [payload, b"x"]}
    dump(tmp_path / "data_batch_1", payload)
    # Sanity: the payload really does create the file with the ordinary unpickler.
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(Exploit(probe))).close()
    assert probe.exists()

    with pytest.raises(DataError, match=r"refused to load global (builtins|io)\.open") as info:
        load_cifar10(tmp_path)
    assert str(tmp_path / "data_batch_1") in str(info.value)
    assert not marker.exists()


def test_os_system_global_is_refused(tmp_path):
    # Hand-written protocol-0 pickle: cos\nsystem\n(S'touch x'\ntR.
    path = tmp_path / "evil"
    path.write_bytes(b"cos\nsystem\n(S'touch " + str(tmp_path / "x").encode() + b"'\ntR.")
    with pytest.raises(DataError, match="refused to load global os.system"):
        safe_unpickle(path)
    assert not (tmp_path / "x").exists()


def test_huge_array_reconstruction_is_refused(tmp_path):
    # _reconstruct with a huge shape would try to allocate it before any data is read.
    rec = np.ndarray.__reduce__(np.zeros(1))[0]

    class Huge:
        def __reduce__(self):
            return (rec, (np.ndarray, (10**12,), b"b"))

    with pytest.raises(DataError, match="unexpected array reconstruction"):
        safe_unpickle(dump(tmp_path / "huge", {b"data": Huge()}))


def test_object_arrays_are_refused(tmp_path):
    obj = np.array([1, "a"], dtype=object)
    with pytest.raises(DataError, match="object arrays"):
        safe_unpickle(dump(tmp_path / "obj", {b"data": obj}))


def test_wrong_keys(tmp_path):
    path = dump(tmp_path / "b", {b"pixels": rows(images(2)), b"labels": [0, 1]})
    with pytest.raises(DataError, match="missing key 'data'"):
        read_python_batch(path, "labels", 10)


@pytest.mark.parametrize(
    "data, labels, match",
    [
        (np.zeros((2, 3000), np.uint8), [0, 1], r"shape \(n, 3072\)"),
        (np.zeros((2, 3072), np.float64), [0, 1], "uint8"),
        (np.zeros((2, 3072), np.uint8), [0, 1, 2], "must be 2 integers"),
        (np.zeros((2, 3072), np.uint8), [0, 10], "label 10 at index 1 is out of range 0..9"),
        (np.zeros((2, 3072), np.uint8), ["a", "b"], "integers"),
    ],
)
def test_wrong_shapes_and_labels(tmp_path, data, labels, match):
    path = dump(tmp_path / "b", {b"data": data, b"labels": labels})
    with pytest.raises(DataError, match=match):
        read_python_batch(path, "labels", 10)


def test_not_a_pickle_and_not_a_dict(tmp_path):
    (tmp_path / "junk").write_bytes(b"\x00garbage")
    with pytest.raises(DataError, match="junk"):
        safe_unpickle(tmp_path / "junk")
    with pytest.raises(DataError, match="expected a dict"):
        safe_unpickle(dump(tmp_path / "list", [1, 2]))


def test_missing_dataset_says_where_to_get_it(tmp_path):
    with pytest.raises(DataError, match="cifar-10-batches-py.*data_dir=DIR"):
        load_cifar10(tmp_path)


def test_batch_numbering_gap(tmp_path):
    make_cifar10_py(tmp_path, n_batches=3)
    (tmp_path / "data_batch_2").unlink()
    with pytest.raises(DataError, match="without gaps"):
        load_cifar10(tmp_path)


# --- allowed globals that amplify memory (issue 19, item 2) -------------------------------


class _Call:
    """Pickles as ``fn(*args)``: how a crafted batch calls an allowed global."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def assert_refused_at_once(path, match):
    """``read_python_batch`` raises DataError within 2 s and 20 MB of traced memory."""
    import time
    import tracemalloc

    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(DataError, match=match):
            read_python_batch(path, "labels", 10)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.perf_counter() - start < 2 and peak < 20 * 2**20


@pytest.mark.timeout(30)
def test_a_zero_stride_array_view_is_refused_at_once(tmp_path):
    rows = 100_000  # 307 MB once materialized, from a file of a few hundred bytes
    view = _Call(np.ndarray, (rows, 3072), "u1", b"\0", 0, (0, 0))
    path = dump(tmp_path / "b", {b"data": view, b"labels": [0, 1]})
    assert_refused_at_once(path, "numpy.ndarray may not be called")


@pytest.mark.timeout(30)
def test_labels_made_of_shared_references_are_refused_at_once(tmp_path):
    labels = [0, 1]
    for _ in range(24):  # 2**25 leaves from ~100 bytes of memo references
        labels = [labels, labels]
    path = dump(tmp_path / "b", {b"data": np.zeros((2, 3072), np.uint8), b"labels": labels})
    assert_refused_at_once(path, "more than .* parts")


@pytest.mark.timeout(30)
def test_a_dict_key_whose_hash_walks_shared_tuples_is_refused(tmp_path):
    # {key: 0} where key = (k, k), k = (k', k'), ... 40 levels: hashing it would visit
    # 2**41 tuples. Written opcode by opcode: building the dict here would hash it too.
    tuples = b"K\x00K\x01\x86q\x01" + b"h\x01h\x01\x86q\x01" * 40
    path = tmp_path / "b"
    path.write_bytes(b"\x80\x02}" + tuples + b"K\x00s.")
    with pytest.raises(DataError, match="parts"):
        read_python_batch(path, "labels", 10)


@pytest.mark.parametrize("labels", [[[0], [1]], [0, 1.5], [True, 0], {0: 1}])
def test_labels_must_be_a_flat_list_of_integers(tmp_path, labels):
    path = dump(tmp_path / "b", {b"data": np.zeros((2, 3072), np.uint8), b"labels": labels})
    with pytest.raises(DataError, match="integers"):
        read_python_batch(path, "labels", 10)


def test_class_names_must_be_short_text(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    make_cifar10_py(root)
    dump(root / "batches.meta", {b"label_names": [[b"x"] * 3] * 10})
    with pytest.raises(DataError, match="names of at most"):
        load_cifar10(root)
