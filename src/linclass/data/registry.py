"""One registry from dataset names to loaders, and :func:`load_dataset` on top of it.

The CLI's ``--dataset fashion-mnist --data DIR`` and Python's
``load_dataset("fashion-mnist", data_dir=DIR)`` go through the same table. A name that is
not in the table is taken as a path: a folder (CIFAR, IDX files, or one subfolder of images
per class) or an ``.npz`` file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linclass.data.cifar import load_cifar10, load_cifar100
from linclass.data.dataset import Dataset
from linclass.data.digits import load_digits
from linclass.data.embeddings import Embeddings, is_embeddings_folder, load_embeddings
from linclass.data.errors import DataError
from linclass.data.folder import ColorMode, OnError, load_image_folder
from linclass.data.idx import FASHION_MNIST_CLASSES, MNIST_CLASSES, load_idx_dataset
from linclass.data.npz import load_npz

# Where Debian's dataset-fashion-mnist package installs the four gzipped IDX files
# (checked with `dpkg -L dataset-fashion-mnist`).
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True)
class LoadOptions:
    """The options :func:`load_dataset` passes to every registered loader.

    Attributes:
        image_size: ``(height, width)`` for image folders.
        color_mode: ``"auto"``, ``"gray"`` or ``"rgb"`` for image folders.
        on_error: ``"raise"`` or ``"skip"`` (unreadable files of image folders).
        test_size: Test fraction for data without an official split.
        random_state: Seed for that split.
    """

    image_size: int | tuple[int, int] | None = None
    color_mode: ColorMode | str | None = None
    test_size: float = 0.25
    random_state: int | np.random.Generator | None = 0
    on_error: OnError = "raise"


Loader = Callable[[Path | None, LoadOptions], Dataset]


def _no_image_options(name: str, opts: LoadOptions) -> None:
    if (opts.image_size is not None or opts.color_mode not in (None, "auto")
            or opts.on_error != "raise"):
        raise ValueError(f"image_size, color_mode and on_error apply to image folders, not "
                         f"to {name!r}")


def _digits(data_dir: Path | None, opts: LoadOptions) -> Dataset:
    _no_image_options("digits", opts)
    return load_digits(test_size=opts.test_size, random_state=opts.random_state)


def _idx(name: str, class_names: list[str], default_dir: Path | None, how: str) -> Loader:
    def load(data_dir: Path | None, opts: LoadOptions) -> Dataset:
        _no_image_options(name, opts)
        folder = data_dir or default_dir
        if folder is None or not folder.is_dir():
            raise DataError(folder or name, f"{name} not found; {how}")
        if (folder / name).is_dir():  # --data may point at a folder of datasets
            folder = folder / name
        return load_idx_dataset(folder, name=name, class_names=class_names)

    return load


def _cifar(name: str, loader: Callable[[Path], Dataset]) -> Loader:
    def load(data_dir: Path | None, opts: LoadOptions) -> Dataset:
        _no_image_options(name, opts)
        if data_dir is None:
            raise DataError(
                name, "CIFAR is not bundled: download and extract it from "
                "https://www.cs.toronto.edu/~kriz/cifar.html and pass data_dir=DIR"
            )
        return loader(data_dir)

    return load


DATASETS: dict[str, Loader] = {
    "digits": _digits,
    "mnist": _idx(
        "mnist", MNIST_CLASSES, None,
        "put the four IDX files (train-images-idx3-ubyte.gz, ...) in a folder and pass "
        "data_dir=DIR",
    ),
    "fashion-mnist": _idx(
        "fashion-mnist", FASHION_MNIST_CLASSES, FASHION_MNIST_DIR,
        f"install it with `apt-get install dataset-fashion-mnist` (files go to "
        f"{FASHION_MNIST_DIR}) or put the four IDX files in a folder and pass data_dir=DIR",
    ),
    "cifar10": _cifar("cifar10", load_cifar10),
    "cifar100": _cifar("cifar100", load_cifar100),
}
_ALIASES = {"fashion_mnist": "fashion-mnist", "cifar-10": "cifar10", "cifar-100": "cifar100"}


def _which_cifar(path: Path) -> Callable[[Path], Dataset] | None:
    """The CIFAR loader whose files (or usual subfolder) are in ``path``, if any."""
    if any((path / n).exists() for n in ("batches.meta", "batches.meta.txt",
                                         "cifar-10-batches-py", "cifar-10-batches-bin")):
        return load_cifar10
    if any((path / n).exists() for n in ("train.bin", "cifar-100-python", "cifar-100-binary")):
        return load_cifar100
    if (path / "meta").is_file() and (path / "train").is_file():  # not class folders
        return load_cifar100
    return None


def _from_path(path: Path, opts: LoadOptions) -> Dataset | Embeddings:
    """Pick a loader by what the path holds."""
    if path.is_file():
        if path.suffix.lower() != ".npz":
            raise DataError(path, "a dataset file must be an .npz archive")
        _no_image_options(path.name, opts)
        return load_npz(path, test_size=opts.test_size, random_state=opts.random_state)
    if is_embeddings_folder(path):
        _no_image_options(path.name, opts)
        return load_embeddings(path)
    cifar = _which_cifar(path)
    if cifar is not None:
        _no_image_options(path.name, opts)
        return cifar(path)
    if any(path.glob("train-images*idx3-ubyte*")):
        _no_image_options(path.name, opts)
        return load_idx_dataset(path, name=path.name, class_names=MNIST_CLASSES)
    return load_image_folder(
        path, image_size=opts.image_size, color_mode=opts.color_mode,
        on_error=opts.on_error, test_size=opts.test_size, random_state=opts.random_state,
    )


def load_dataset(
    name_or_path: str | Path,
    data_dir: str | Path | None = None,
    *,
    image_size: int | tuple[int, int] | None = None,
    color_mode: ColorMode | str | None = None,
    test_size: float = 0.25,
    random_state: int | np.random.Generator | None = 0,
    on_error: OnError = "raise",
) -> Dataset | Embeddings:
    """Load a dataset by registered name or by path.

    Args:
        name_or_path: A name in :data:`DATASETS` (``digits``, ``mnist``,
            ``fashion-mnist``, ``cifar10``, ``cifar100``), or a path to a folder or an
            ``.npz`` file. A folder of embeddings (``X_train.npy`` ... or ``.zarr``, see
            :mod:`linclass.data.embeddings`) gives :class:`Embeddings` left on disk.
        data_dir: Folder holding a named dataset's files; overrides the default location
            (Fashion-MNIST: Debian's ``/usr/share/datasets/fashion-mnist``).
        image_size: ``(height, width)`` (or one int) to resize image-folder images to.
        color_mode: ``"auto"`` (None too: grey if every image is grey, else RGB),
            ``"gray"`` or ``"rgb"`` for image folders
            (:func:`~linclass.data.folder.load_image_folder`).
        on_error: ``"skip"`` leaves an image folder's unreadable files out, with one
            warning listing them; ``"raise"`` (the default) makes the first an error.
        test_size: Test fraction for data without an official split (digits, folders,
            npz with only ``X``/``y``); ignored where an official split exists.
        random_state: Seed or generator for that split.

    Returns:
        The :class:`Dataset`.

    Raises:
        DataError: Unknown name, missing files, or a bad file.
    """
    opts = LoadOptions(image_size, color_mode, test_size, random_state, on_error)
    data_dir = Path(data_dir) if data_dir is not None else None
    key = str(name_or_path).lower()
    key = _ALIASES.get(key, key)
    if not isinstance(name_or_path, Path) and key in DATASETS:
        return DATASETS[key](data_dir, opts)
    path = Path(name_or_path)
    if not path.exists():
        raise DataError(
            path, f"no such dataset name or path; known names: {', '.join(DATASETS)}, "
            "or give a folder of class subfolders, a CIFAR/IDX folder or an .npz file"
        )
    return _from_path(path, opts)
