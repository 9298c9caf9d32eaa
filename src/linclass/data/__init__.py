"""Datasets in, one :class:`Dataset` out; one :class:`DataError` for every bad file.

``load_dataset("fashion-mnist")`` (or ``"digits"``, ``"mnist"``, ``"cifar10"``,
``"cifar100"``, or a path) returns train and test images, kept as uint8 with their shape,
int64 labels and class names. Feature extraction lives in :mod:`linclass.features`.
"""

from linclass.data.cifar import load_cifar10, load_cifar100, safe_unpickle
from linclass.data.dataset import Dataset
from linclass.data.digits import load_digits
from linclass.data.embeddings import Embeddings, load_embeddings
from linclass.data.errors import DataError
from linclass.data.folder import load_image_folder
from linclass.data.idx import FASHION_MNIST_CLASSES, MNIST_CLASSES, load_idx_dataset, read_idx
from linclass.data.npz import load_npz
from linclass.data.registry import DATASETS, FASHION_MNIST_DIR, LoadOptions, load_dataset
from linclass.data.split import stratified_split, train_val_split

__all__ = [
    "DATASETS",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "MNIST_CLASSES",
    "DataError",
    "Dataset",
    "Embeddings",
    "LoadOptions",
    "load_cifar10",
    "load_cifar100",
    "load_dataset",
    "load_digits",
    "load_embeddings",
    "load_idx_dataset",
    "load_image_folder",
    "load_npz",
    "read_idx",
    "safe_unpickle",
    "stratified_split",
    "train_val_split",
]
