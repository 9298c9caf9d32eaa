"""Datasets in, one :class:`Dataset` out; one :class:`DataError` for every bad file."""

from linclass.data.dataset import Dataset
from linclass.data.errors import DataError

__all__ = ["DataError", "Dataset"]
