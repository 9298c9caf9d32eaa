"""Training: the one fit loop (:mod:`~linclass.training.loop`), which rows each step sees
(:mod:`~linclass.training.sampler`), how stored rows become features in reused buffers
(:mod:`~linclass.training.workspace`), and the objective of a step on either path
(:mod:`~linclass.training.step`). The run's records live in :mod:`linclass.training.history`.

Beyond memory (imported when used): arrays on disk (:mod:`~linclass.training.arrays`) are
read a chunk at a time, their mini-batches from the chunk-ordered shuffle
(:mod:`~linclass.training.windows`, run by :class:`~linclass.training.stream.
StreamRunner`); optimizers that run their own loop (``lbfgs``,
:mod:`~linclass.training.solve`) over the chunked whole-set objective
(:mod:`~linclass.training.full_pass`); Dask arrays in :mod:`linclass.backends.dask`.
"""

from linclass.training.history import FitResult, History, PartialFitResult, TrainingDivergedError
from linclass.training.loop import (
    MONITORS,
    Runner,
    evaluate,
    fit,
    gradient_descent,
    partial_fit,
)
from linclass.training.sampler import CHUNK_ROWS, BatchSampler, chunk_slices
from linclass.training.step import Step, weighted_sum
from linclass.training.threads import one_blas_thread
from linclass.training.workspace import Foldable, Workspace, affine_of

__all__ = [
    "CHUNK_ROWS",
    "MONITORS",
    "BatchSampler",
    "FitResult",
    "Foldable",
    "History",
    "PartialFitResult",
    "Runner",
    "Step",
    "TrainingDivergedError",
    "Workspace",
    "affine_of",
    "chunk_slices",
    "evaluate",
    "fit",
    "gradient_descent",
    "one_blas_thread",
    "partial_fit",
    "weighted_sum",
]
