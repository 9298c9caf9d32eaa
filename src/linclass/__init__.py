"""linclass: linear image classifiers built the way the lecture builds them."""

from linclass.classifier import LinearClassifier
from linclass.persist import ModelFileError, load_model, save_model

__all__ = ["LinearClassifier", "ModelFileError", "load_model", "save_model"]
