"""Training: the one fit loop (:mod:`~linclass.training.loop`) and its runner
(:mod:`~linclass.training.runner`), driven over the two seams every backend implements
(:mod:`~linclass.training.parts`: a *step* and a *batch source*, made by the backend the
registry :mod:`linclass.backends.registry` names). Which rows each step sees
(:mod:`~linclass.training.sampler`, :mod:`~linclass.training.windows` for arrays on disk),
how stored rows become features in reused buffers (:mod:`~linclass.training.workspace`),
standardized coordinates (:mod:`~linclass.training.reparam`), the warm-started
regularization path (:mod:`~linclass.training.path`). The run's records live in
:mod:`linclass.training.history`.

This package imports no backend module (an import contract holds it).
"""

from linclass.training.history import FitResult, History, PartialFitResult, TrainingDivergedError
from linclass.training.loop import MONITORS, evaluate, fit, gradient_descent, partial_fit
from linclass.training.parts import BatchSource, Parts, Spec, make_parts
from linclass.training.path import PathResult, regularization_path
from linclass.training.runner import RISE_LIMIT, Runner
from linclass.training.sampler import CHUNK_ROWS, BatchSampler, chunk_slices
from linclass.training.step import Step, weighted_sum
from linclass.training.threads import one_blas_thread
from linclass.training.workspace import Foldable, Workspace, affine_of

__all__ = [
    "CHUNK_ROWS",
    "MONITORS",
    "RISE_LIMIT",
    "BatchSampler",
    "BatchSource",
    "FitResult",
    "Foldable",
    "History",
    "PartialFitResult",
    "Parts",
    "PathResult",
    "Runner",
    "Spec",
    "Step",
    "TrainingDivergedError",
    "Workspace",
    "affine_of",
    "chunk_slices",
    "evaluate",
    "fit",
    "gradient_descent",
    "make_parts",
    "one_blas_thread",
    "partial_fit",
    "regularization_path",
    "weighted_sum",
]
