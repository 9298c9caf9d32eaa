"""Derivative-free optimizers: random search and random local search.

They need only the loss *value* ``f(params) -> float``, never a gradient, and follow the
CS231n notes ("Optimization: Stochastic Gradient Descent", strategies #1 and #2):

* random search: draw a fresh W, keep it if its loss beats the best so far;
* random local search: perturb the best W, keep the perturbation if the loss goes down.

They share the ``(init, update)`` shape of the gradient optimizers, with ``f`` where the
gradient would be::

    init, update = random_local_search(step_size=0.05)
    state = init(params)
    for _ in range(1000):
        params, state = update(params, f, state)   # state.loss == f(params)

``params`` is overwritten in place with the best candidate so far. The random generator
lives in the state, so the same ``random_state`` gives the same search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

Params = dict[str, np.ndarray]
LossValueFn = Callable[[Params], float]


class SearchOptimizer(NamedTuple):
    """An ``(init, update)`` pair for optimizers that need only loss values.

    Attributes:
        init: ``init(params) -> state``.
        update: ``update(params, f, state) -> (params, state)`` with ``f(params) -> float``;
            params are overwritten in place with the best point found, whose loss is
            ``state.loss``.
    """

    init: Callable[[Params], Any]
    update: Callable[[Params, LossValueFn, Any], tuple[Params, Any]]


class SearchState(NamedTuple):
    """State of random search and random local search.

    Attributes:
        count: Candidates tried so far.
        loss: Loss of the best candidate so far (inf before the first try, as in the notes,
            so that the first candidate is always kept).
        candidate: Preallocated buffer, of the params' shapes, for the next candidate.
        rng: The random generator.
    """

    count: int  # type: ignore[assignment]  # optax's name; it shadows tuple.count()
    loss: float
    candidate: Params
    rng: np.random.Generator


Proposal = Callable[[Params, Params, np.random.Generator], None]


def _search(propose: Proposal, random_state: int | np.random.Generator | None) -> SearchOptimizer:
    """Keep-the-best loop shared by both searches; ``propose(params, candidate, rng)`` fills
    ``candidate`` in place."""

    def init(params: Params) -> SearchState:
        candidate = {name: np.empty_like(p) for name, p in params.items()}
        return SearchState(0, np.inf, candidate, np.random.default_rng(random_state))

    def update(params: Params, f: LossValueFn, state: SearchState) -> tuple[Params, SearchState]:
        propose(params, state.candidate, state.rng)
        loss = float(f(state.candidate))
        best = state.loss
        if loss < best:
            for name, p in params.items():
                np.copyto(p, state.candidate[name])
            best = loss
        return params, state._replace(count=state.count + 1, loss=best)

    return SearchOptimizer(init, update)


def _fill_normal(out: np.ndarray, rng: np.random.Generator, scale: float) -> None:
    """``out <- scale * N(0, 1)`` without allocating (float32 stays float32)."""
    rng.standard_normal(out=out, dtype=out.dtype)
    out *= scale


def random_search(
    search_scale: float = 0.1, random_state: int | np.random.Generator | None = 0
) -> SearchOptimizer:
    """Random search: try ``W, b ~ N(0, search_scale^2)`` independently each step, keep the
    best.

    The starting params are only a template for shapes and dtype: like the notes' loop
    (``bestloss = inf``), the first draw is always kept.

    Args:
        search_scale: Standard deviation of the sampled weights and biases; pick it so that
            the scores ``W x`` are of order 1 on your features.
        random_state: Seed or generator.
    """
    if not search_scale > 0:
        raise ValueError(f"search_scale must be > 0, got {search_scale}")

    def propose(params: Params, candidate: Params, rng: np.random.Generator) -> None:
        for c in candidate.values():
            _fill_normal(c, rng, search_scale)

    return _search(propose, random_state)


def random_local_search(
    step_size: float = 0.05, random_state: int | np.random.Generator | None = 0
) -> SearchOptimizer:
    """Random local search: try ``W + step_size * N(0, 1)`` from the best W, keep it if the
    loss goes down.

    A blindfolded hiker testing a random step with one foot: it follows the landscape
    downhill, but most random directions are not downhill in many dimensions.

    Args:
        step_size: Standard deviation of the perturbation.
        random_state: Seed or generator.
    """
    if not step_size > 0:
        raise ValueError(f"step_size must be > 0, got {step_size}")

    def propose(params: Params, candidate: Params, rng: np.random.Generator) -> None:
        for name, c in candidate.items():
            _fill_normal(c, rng, step_size)
            c += params[name]

    return _search(propose, random_state)
