"""CIFAR-10 and CIFAR-100, in the python-pickle and the binary distributions.

The python batches are pickles, and ``pickle.load`` will run whatever code a pickle names.
They are read here with an unpickler that only knows the few NumPy constructors a batch
needs; any other global (``os.system``, ``builtins.open``, ...) is refused before it is
looked up, so a malicious batch raises :class:`DataError` and runs nothing.

Even allowed constructors can amplify a small file into a huge object: an array view with
zero strides over one byte, or a list built from memo references to itself (2**40 leaves
from a few hundred bytes). So before unpickling, the opcodes are walked once to bound the
size of every object the pickle would build (shared references counted each time they
are used); ``numpy.ndarray`` may only name the type of a reconstructed array, never be
called; and every field a loader reads is type-checked before it is converted.

Each image is a row of 3,072 bytes: 1,024 red, then 1,024 green, then 1,024 blue, each a
32x32 row-major plane. Images are returned as uint8 of shape (n, 32, 32, 3).
"""

from __future__ import annotations

import io
import pickle
import pickletools
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np

from linclass.data.dataset import Dataset
from linclass.data.errors import DataError
from linclass.data.labels import check_labels

SIDE, CHANNELS = 32, 3
ROW = SIDE * SIDE * CHANNELS  # 3072 bytes per image
MAX_NAME = 1000  # characters in a class name

# The constructors NumPy's own ndarray pickles call, found through NumPy itself so the
# allow-list follows whatever module path this NumPy version uses.
# (typed Any: typeshed says a __reduce__ value is a str or a tuple of anything).
_RECONSTRUCT: Any = np.ndarray.__reduce__(np.zeros(1))[0]
_FROMBUFFER: Any = np.ndarray.__reduce_ex__(np.zeros(1), 5)[0]


class _NdarrayName:
    """What the global ``numpy.ndarray`` resolves to: a name for :func:`_reconstruct`'s
    subtype argument, never the constructor (which builds views over any buffer, with any
    strides)."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        raise pickle.UnpicklingError("numpy.ndarray may not be called in a CIFAR batch")


_NDARRAY = _NdarrayName()


def _reconstruct(subtype: Any, shape: tuple, dtype: Any) -> np.ndarray:
    # NumPy always pickles an empty (0,) array here and fills it from the BUILD state; a
    # bigger shape could only be an attempt to allocate a huge buffer.
    if subtype is not _NDARRAY or tuple(shape) != (0,):
        raise pickle.UnpicklingError(f"unexpected array reconstruction {subtype}, {shape}")
    return _RECONSTRUCT(np.ndarray, shape, dtype)


def _frombuffer(buffer: Any, dtype: Any, shape: tuple, order: str) -> np.ndarray:
    # Protocol 5's array pickles: the bytes must be exactly the array's, nothing shared.
    if not isinstance(buffer, bytes | bytearray | pickle.PickleBuffer):
        raise pickle.UnpicklingError(f"unexpected array buffer {type(buffer).__name__}")
    return _FROMBUFFER(buffer, _dtype(dtype), shape, order)


def _dtype(spec: Any, *args: Any) -> np.dtype:
    dt = np.dtype(spec, *args)
    if dt.kind not in "biuf" or dt.fields is not None or dt.shape != ():
        raise pickle.UnpicklingError(f"only plain numeric arrays are allowed (no object arrays, "
                                     f"records or sub-arrays), not {dt}")
    return dt


def _encode(text: str, encoding: str = "latin1") -> bytes:
    # Protocol-2 pickles written by Python 3 store bytes as _codecs.encode(str, "latin1").
    if encoding.replace("-", "").lower() != "latin1":
        raise pickle.UnpicklingError(f"unexpected codec {encoding!r}")
    return text.encode("latin1")


_ALLOWED: dict[tuple[str, str], Any] = {
    (_RECONSTRUCT.__module__, "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # pickles from NumPy < 2
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    (_FROMBUFFER.__module__, "_frombuffer"): _frombuffer,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _encode,
}


class _AllowListUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in ``_ALLOWED``."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused to load global {module}.{name}") from None


_MEMO_PUT = {"PUT", "BINPUT", "LONG_BINPUT"}
_MEMO_GET = {"GET", "BINGET", "LONG_BINGET"}
_MUTATORS = {"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"}


def check_expansion(data: bytes, budget: int) -> None:
    """Refuse a pickle that would build an object of more than ``budget`` parts.

    Walks the opcodes once (nothing is built) keeping, for each object, how many parts
    it holds counted as a tree: an object fetched from the memo counts again each time it
    is used, so ``[x, x]`` of a 1,000-part ``x`` has 2,001 parts, and nesting that doubles
    each level is caught after a few levels. Each object's count is a one-item list shared
    by the stack and the memo, so items appended after memoizing (the way lists are
    pickled) count too.

    Raises:
        pickle.UnpicklingError: Too many parts, or opcodes that do not fit together.
    """
    stack: list[list[int] | None] = []  # a count cell per object; None is a MARK
    memo: dict[Any, list[int]] = {}
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name in _MEMO_GET:
                stack.append(memo[arg])  # a KeyError for a bad index: caught below
            elif not op.stack_before and len(op.stack_after) == 1 and op.name != "MARK":
                stack.append([1])  # a number, a string, an empty container, a global
            elif op.name in _MEMO_PUT or op.name == "MEMOIZE":
                memo[len(memo) if arg is None else int(arg)] = _cell(stack[-1])
            elif op.name in ("MARK", "DUP"):
                stack.append(None if op.name == "MARK" else stack[-1])
            else:
                parts, before = 0, op.stack_before
                if pickletools.markobject in before:
                    while (entry := stack.pop()) is not None:
                        parts += entry[0]
                    before = before[: before.index(pickletools.markobject)]
                popped = [_cell(stack.pop()) for _ in before][::-1]
                if op.name in _MUTATORS:  # the first popped object gains the rest
                    target = popped[0]
                    target[0] += parts + sum(cell[0] for cell in popped[1:])
                    stack.append(target)
                elif op.stack_after:
                    stack.append([parts + sum(cell[0] for cell in popped) + 1])
            top = stack[-1] if stack else None
            if top is not None and top[0] > budget:
                raise pickle.UnpicklingError(
                    f"it would build an object of more than {budget} parts from "
                    f"{len(data)} bytes (shared references used over and over)")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise pickle.UnpicklingError(f"malformed opcodes ({type(exc).__name__}: {exc})") from None


def _cell(entry: list[int] | None) -> list[int]:
    if entry is None:
        raise pickle.UnpicklingError("malformed opcodes (a MARK where an object belongs)")
    return entry


def safe_unpickle(path: str | Path) -> dict[str, Any]:
    """Read a CIFAR python batch or meta file without executing pickle code.

    Args:
        path: The pickle file.

    Returns:
        The pickled dict with its keys decoded to ``str``.

    Raises:
        DataError: If the file names any global outside the allow-list, would build more
            objects than its size can honestly hold, is not a valid pickle, or does not
            hold a dict with text keys.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        check_expansion(data, budget=max(10**6, 2 * len(data)))
        obj = _AllowListUnpickler(io.BytesIO(data), encoding="bytes").load()
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except pickle.UnpicklingError as exc:
        raise DataError(path, f"unsafe or invalid pickle: {exc}") from None
    except Exception as exc:  # any failure to parse untrusted bytes means a bad file
        raise DataError(path, f"not a valid CIFAR pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise DataError(path, f"expected a dict, the pickle holds a {type(obj).__name__}")
    if not all(isinstance(k, bytes | str) for k in obj):
        raise DataError(path, "expected a dict with text keys")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _get(batch: dict[str, Any], key: str, path: Path) -> Any:
    if key not in batch:
        raise DataError(path, f"missing key {key!r} (found keys: {sorted(batch)})")
    return batch[key]


def _to_images(data: Any, path: Path) -> np.ndarray:
    """Check a (n, 3072) uint8 block and reshape it to (n, 32, 32, 3)."""
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        got = data.dtype if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(path, f"'data' must be a uint8 array, got {got}")
    if data.ndim != 2 or data.shape[1] != ROW or data.shape[0] == 0:
        raise DataError(path, f"'data' must have shape (n, {ROW}), got {data.shape}")
    planes = data.reshape(-1, CHANNELS, SIDE, SIDE)
    return np.ascontiguousarray(planes.transpose(0, 2, 3, 1))


def _to_labels(labels: Any, n: int, n_classes: int, path: Path, key: str) -> np.ndarray:
    # A flat list of ints or a 1-D array, checked before conversion: np.asarray of nested
    # lists that share their items would expand them.
    flat = isinstance(labels, list) and len(labels) == n and \
        all(type(v) is int for v in labels)
    if not (flat or isinstance(labels, np.ndarray)):
        raise DataError(path, f"{key!r} must be {n} integers in a list or an array")
    y = np.asarray(labels)
    if y.dtype.kind not in "iu" or y.shape != (n,):
        raise DataError(path, f"{key!r} must be {n} integers, got {y.dtype} of shape {y.shape}")
    return check_labels(y, path, repr(key), n_classes=n_classes, n=n)


def _names(meta: dict[str, Any], key: str, n: int, path: Path) -> list[str]:
    names = _get(meta, key, path)
    if not isinstance(names, list) or len(names) != n or \
            not all(isinstance(x, bytes | str) and len(x) <= MAX_NAME for x in names):
        raise DataError(path, f"{key!r} must be a list of {n} names of at most {MAX_NAME} "
                        "characters")
    try:
        return [x.decode("utf-8") if isinstance(x, bytes) else x for x in names]
    except UnicodeDecodeError:
        raise DataError(path, f"{key!r} holds a name that is not UTF-8 text") from None


def read_python_batch(
    path: str | Path, label_key: str, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Read one python batch.

    Args:
        path: A batch file such as ``data_batch_1`` or CIFAR-100's ``train``.
        label_key: ``"labels"`` (CIFAR-10), ``"fine_labels"`` or ``"coarse_labels"``.
        n_classes: Labels must be below this.

    Returns:
        ``(X, y)``: uint8 of shape (n, 32, 32, 3) and int64 of shape (n,).
    """
    path = Path(path)
    batch = safe_unpickle(path)
    data = _get(batch, "data", path)
    if isinstance(data, np.ndarray) and (not data.flags.c_contiguous
                                         or data.nbytes > path.stat().st_size):
        raise DataError(path, f"'data' of {data.nbytes} bytes is not stored in the file's "
                        f"{path.stat().st_size} bytes (a view or an aliasing trick)")
    X = _to_images(data, path)
    return X, _to_labels(_get(batch, label_key, path), X.shape[0], n_classes, path, label_key)


def read_binary_batch(
    path: str | Path, label_bytes: int, label_index: int, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Read one binary batch: records of ``label_bytes`` label bytes then 3,072 pixels.

    Args:
        path: A ``.bin`` file.
        label_bytes: 1 for CIFAR-10, 2 for CIFAR-100 (coarse label, then fine label).
        label_index: Which label byte to use (CIFAR-100: 0 coarse, 1 fine).
        n_classes: Labels must be below this.

    Returns:
        ``(X, y)``: uint8 of shape (n, 32, 32, 3) and int64 of shape (n,).
    """
    path = Path(path)
    record = label_bytes + ROW
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    if raw.size == 0 or raw.size % record:
        raise DataError(
            path, f"size {raw.size} is not a positive multiple of the {record}-byte record"
        )
    rows = raw.reshape(-1, record)
    X = _to_images(rows[:, label_bytes:], path)
    y = _to_labels(rows[:, label_index], rows.shape[0], n_classes, path, "label byte")
    return X, y


def _numbered_batches(directory: Path, suffix: str) -> list[Path]:
    """``data_batch_1..k`` (+ suffix), which must be numbered without gaps."""
    pattern = re.compile(rf"data_batch_(\d+){re.escape(suffix)}")
    found = {int(m[1]): p for p in directory.iterdir() if (m := pattern.fullmatch(p.name))}
    if not found or sorted(found) != list(range(1, len(found) + 1)):
        raise DataError(
            directory,
            f"expected data_batch_1{suffix} .. data_batch_5{suffix} without gaps, "
            f"found numbers {sorted(found)}",
        )
    return [found[k] for k in sorted(found)]


def _locate(directory: str | Path, layouts: dict[str, tuple[str, str]]) -> tuple[Path, str]:
    """Find which distribution is present: ``(folder, format)``.

    Args:
        directory: The folder itself, or a folder holding the extracted distribution.
        layouts: ``format -> (usual subfolder name, file that marks it)``, in preference order.
    """
    directory = Path(directory)
    for fmt, (subfolder, marker) in layouts.items():
        for folder in (directory, directory / subfolder):
            if (folder / marker).is_file():
                return folder, fmt
    wanted = " or ".join(f"{sub}/{marker}" for sub, marker in layouts.values())
    raise DataError(
        directory, f"no {wanted} here; download and extract the dataset from "
        "https://www.cs.toronto.edu/~kriz/cifar.html and pass data_dir=DIR"
    )


def load_cifar10(directory: str | Path) -> Dataset:
    """Load CIFAR-10 from the python batches or, if those are absent, the binary batches.

    Args:
        directory: ``cifar-10-batches-py`` / ``cifar-10-batches-bin`` or a folder holding
            one of them.

    Returns:
        A :class:`Dataset` with uint8 images of shape (n, 32, 32, 3).
    """
    folder, fmt = _locate(
        directory,
        {
            "python": ("cifar-10-batches-py", "batches.meta"),
            "binary": ("cifar-10-batches-bin", "batches.meta.txt"),
        },
    )
    if fmt == "python":
        meta = folder / "batches.meta"
        names = _names(safe_unpickle(meta), "label_names", 10, meta)
        parts = [read_python_batch(p, "labels", 10) for p in _numbered_batches(folder, "")]
        test = read_python_batch(folder / "test_batch", "labels", 10)
    else:
        names = _text_names(folder / "batches.meta.txt", 10)
        parts = [read_binary_batch(p, 1, 0, 10) for p in _numbered_batches(folder, ".bin")]
        test = read_binary_batch(folder / "test_batch.bin", 1, 0, 10)
    return _assemble("cifar10", parts, test, names, folder)


def load_cifar100(
    directory: str | Path, label_mode: Literal["fine", "coarse"] = "fine"
) -> Dataset:
    """Load CIFAR-100 from the python files (``train``, ``test``, ``meta``) or binary ones.

    Args:
        directory: ``cifar-100-python`` / ``cifar-100-binary`` or a folder holding one.
        label_mode: ``"fine"`` for the 100 classes, ``"coarse"`` for the 20 superclasses.

    Returns:
        A :class:`Dataset` with uint8 images of shape (n, 32, 32, 3).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    n = 100 if label_mode == "fine" else 20
    folder, fmt = _locate(
        directory,
        {"python": ("cifar-100-python", "meta"), "binary": ("cifar-100-binary", "train.bin")},
    )
    if fmt == "python":
        key, meta = f"{label_mode}_labels", folder / "meta"
        names = _names(safe_unpickle(meta), f"{label_mode}_label_names", n, meta)
        parts = [read_python_batch(folder / "train", key, n)]
        test = read_python_batch(folder / "test", key, n)
    else:
        names = _text_names(folder / f"{label_mode}_label_names.txt", n)
        index = 1 if label_mode == "fine" else 0  # each record starts coarse, fine
        parts = [read_binary_batch(folder / "train.bin", 2, index, n)]
        test = read_binary_batch(folder / "test.bin", 2, index, n)
    return _assemble("cifar100", parts, test, names, folder)


def _text_names(path: Path, n: int) -> list[str]:
    try:
        lines = [line.strip() for line in path.read_text("utf-8").splitlines()]
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        raise DataError(path, f"cannot read class names ({type(exc).__name__})") from None
    names = [line for line in lines if line]
    if len(names) != n:
        raise DataError(path, f"expected {n} class names, one per line, found {len(names)}")
    return names


def _assemble(
    name: str,
    parts: list[tuple[np.ndarray, np.ndarray]],
    test: tuple[np.ndarray, np.ndarray],
    class_names: list[str],
    folder: Path,
) -> Dataset:
    X_train = np.concatenate([X for X, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    return Dataset(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_test=test[0],
        y_test=test[1],
        class_names=class_names,
        image_shape=(SIDE, SIDE, CHANNELS),
        source=str(folder),
    )
