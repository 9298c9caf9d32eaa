"""linclass: linear image classifiers built the way the lecture builds them.

The most used names are re-exported here; everything else lives in its own module
(``linclass.losses``, ``linclass.model``, ``linclass.grad``, ``linclass.optim``, ...).
"""

from linclass.classifier import LinearClassifier
from linclass.data import DataError, Dataset, load_dataset
from linclass.image_classifier import ImageClassifier
from linclass.persist import ModelFileError, load_model, save_model
from linclass.regressor import LinearRegressor
from linclass.training import TrainingDivergedError

__all__ = [
    "DataError",
    "Dataset",
    "ImageClassifier",
    "LinearClassifier",
    "LinearRegressor",
    "ModelFileError",
    "TrainingDivergedError",
    "load_dataset",
    "load_model",
    "save_model",
]
