"""What :func:`~linclass.training.loop.fit` sets up and checks once, before the first step:
the generators from one seed, the optimizer from its record, the inputs (shapes, finite
rows, labels in range), the parameters' dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import numpy as np

from linclass.model import Params
from linclass.objective import unpack_weights
from linclass.optim import LearningRate, Optimizer, SearchOptimizer, build
from linclass.options import choice, names
from linclass.sparsity import issparse
from linclass.training.arrays import is_dask, is_out_of_core
from linclass.training.sampler import CHUNK_ROWS
from linclass.training.step import ValueAndGrad, ValueFn, as_value
from linclass.training.windows import row_blocks
from linclass.training.workspace import Transform


def rngs(random_state: int | np.random.Generator | None) -> tuple[np.random.Generator, ...]:
    """Independent generators for batch order and for the optimizer, from one seed."""
    rng = np.random.default_rng(random_state)
    return tuple(np.random.default_rng(s) for s in rng.integers(2**63, size=2))


def make_optimizer(
    optimizer: str | Optimizer,
    learning_rate: LearningRate | None,
    optimizer_kwargs: Mapping[str, Any] | None,
    rng: np.random.Generator,
    *,
    schedule: str = "constant",
    steps: Callable[[bool], int] | None = None,
) -> tuple[Optimizer, bool]:
    """The optimizer pair (:func:`linclass.optim.build`, for a name), and whether it takes
    full-batch steps.

    ``steps(full_batch)`` gives the run's number of updates, for a named ``schedule``.
    """
    if not isinstance(optimizer, str):
        if learning_rate is not None or optimizer_kwargs or schedule != "constant":
            raise ValueError(
                "optimizer is already built: give the learning rate and options to its factory"
            )
        return optimizer, isinstance(optimizer, SearchOptimizer)
    record = choice("optimizer", optimizer)  # one record says what the optimizer takes
    if record.has("solver"):  # fit() builds these with make_solver
        raise ValueError(f"optimizer {optimizer!r} runs whole fits only, not partial_fit")
    values = dict(optimizer_kwargs or {})
    if "learning_rate" in record.params:
        values.update(learning_rate=learning_rate, schedule=schedule)
    elif learning_rate is not None or schedule != "constant":
        takes = ", ".join(names("optimizer", "gradient"))
        raise ValueError(f"optimizer {optimizer!r} takes no learning rate or schedule "
                         f"(they are for the gradient optimizers: {takes})")
    full_batch = record.has("full_batch")
    total = steps(full_batch) if steps is not None else 1
    return cast(Optimizer, build(optimizer, values, rng, total_steps=total)), full_batch


def check_data(X: np.ndarray, y: np.ndarray, transform: Transform | None, name: str = "X"
                ) -> tuple[np.ndarray, np.ndarray]:
    """Shapes, and finite values for float rows: what the checked objective would check
    every step, checked once (a chunk at a time, so a memory-mapped X is not loaded).
    A Dask array is checked where its partitions live (:mod:`linclass.backends.dask`)."""
    X = np.asarray(X) if not hasattr(X, "dtype") else X
    if issparse(X):  # sparse rows (CSR): their stored values, checked once
        if transform is not None:
            raise ValueError(f"{name} is a sparse matrix: a transform takes dense rows")
        if not np.isfinite(X.data).all():
            raise ValueError(f"{name} contains NaN or inf")
    y = y if is_dask(y) else np.asarray(y)
    if X.ndim < 2 or (transform is None and X.ndim != 2):
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"y must have shape ({X.shape[0]},) to match {name} {X.shape}, got {y.shape}"
        )
    if X.shape[0] == 0:
        raise ValueError(f"cannot train on 0 samples ({name} is empty)")
    if X.dtype.kind == "f" and not is_dask(X) and not issparse(X):
        # on disk: the store's own chunks, each decoded once, the next in the background
        for _, block in row_blocks(X, CHUNK_ROWS if is_out_of_core(X) else 8 * CHUNK_ROWS):
            if not np.isfinite(block).all():
                raise ValueError(f"{name} contains NaN or inf")
    return X, y


def labels_fit(y: np.ndarray, n_classes: int) -> bool:
    """True for integer labels in ``[0, n_classes)`` (what the in-place kernels assume),
    with or without their weights (:func:`linclass.objective.pack_weights`)."""
    y = unpack_weights(y)[0]
    return (np.issubdtype(y.dtype, np.integer) and y.size > 0
            and int(y.min()) >= 0 and int(y.max()) < n_classes)


def check_labels(y: np.ndarray, n_classes: int, name: str = "y") -> None:
    if is_dask(y):  # checked on the workers, partition by partition
        return
    y = unpack_weights(y)[0]
    if np.issubdtype(y.dtype, np.integer) and y.size and not labels_fit(y, n_classes):
        raise ValueError(f"{name}: labels must lie in [0, {n_classes}), got labels from "
                         f"{int(y.min())} to {int(y.max())}")


def copy_params(params: Params) -> Params:
    return {k: np.array(v, copy=True) for k, v in params.items()}


def match_dtype(params: Params, X: np.ndarray, transform: Transform | None) -> Params:
    """float32 features train float32 params: float64 params are cast, so that no step
    mixes precisions (BLAS would then convert every batch to float64)."""
    dtype = X.dtype if transform is None else np.asarray(transform(X[:1])).dtype
    if dtype != np.float32:
        return params
    return {k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in params.items()}


def check_objective(optimizer: Optimizer, value_and_grad: ValueAndGrad | None,
                     value: ValueFn | None) -> tuple[ValueAndGrad | None, ValueFn]:
    if value_and_grad is None and not isinstance(optimizer, SearchOptimizer):
        raise ValueError("gradient optimizers need value_and_grad=")
    if value is None:
        if value_and_grad is None:
            raise ValueError("give value_and_grad= or value=")
        value = getattr(value_and_grad, "value", None) or as_value(value_and_grad)
    return value_and_grad, value


def make_solver(name: str, learning_rate: Any, schedule: str,
                optimizer_kwargs: Mapping[str, Any] | None, early_stopping: bool) -> Any:
    """The solver object of a ``solver`` record (``lbfgs``), its options checked.

    Raises:
        ValueError: A learning rate, a schedule or early stopping (a solver searches its
            own step and stops at its gradient tolerance), or an option it does not take.
    """
    if learning_rate is not None or schedule != "constant":
        raise ValueError(f"optimizer {name!r} takes no learning rate or schedule (it "
                         "searches its own step)")
    if early_stopping:
        raise ValueError(f"early_stopping does not apply to optimizer {name!r}: it stops at "
                         "its gradient tolerance tol")
    return build(name, optimizer_kwargs)  # the record's options (memory), checked
