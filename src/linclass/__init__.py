"""linclass: linear image classifiers built the way the lecture builds them.

The most used names are re-exported here; everything else lives in its own module
(``linclass.losses``, ``linclass.model``, ``linclass.grad``, ``linclass.optim``, ...).
They are imported on first use (PEP 562), so ``import linclass`` itself is instant: the
``linclass`` command (:mod:`linclass.console`) installs its signal handling before the
heavy imports, and a Ctrl-C during start-up is one line, not a traceback.
"""

from importlib import import_module

_EXPORTS = {
    "DataError": "linclass.data",
    "Dataset": "linclass.data",
    "ImageClassifier": "linclass.estimators.image",
    "LinearClassifier": "linclass.estimators.classifier",
    "LinearClassifierCV": "linclass.estimators.cv",
    "LinearRegressor": "linclass.estimators.regressor",
    "LinearRegressorCV": "linclass.estimators.cv",
    "ModelFileError": "linclass.io.persist",
    "estimator_path": "linclass.estimators.path",
    "regularization_path": "linclass.training",
    "TrainingDivergedError": "linclass.training",
    "load_dataset": "linclass.data",
    "load_model": "linclass.io.persist",
    "save_model": "linclass.io.persist",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'linclass' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
