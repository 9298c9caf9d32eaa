"""A genetic algorithm over weight matrices: population-based search on the loss value.

Each individual is one flat parameter vector ``[W.ravel(), b]``; its fitness is its loss
(lower is fitter). One :func:`genetic` update is one generation:

1. elitism: the ``n_elite`` best individuals pass on unchanged;
2. selection: each remaining child gets two parents, each the fittest of
   ``tournament_size`` individuals drawn at random;
3. crossover: with probability ``crossover_rate`` a child takes each gene from either
   parent with equal chance (uniform crossover), otherwise it copies its first parent;
4. mutation: each gene gets ``N(0, mutation_scale^2)`` noise with probability
   ``mutation_rate``.

Like :mod:`linclass.optim.search` it needs only ``f(params) -> float`` and has the same
``(init, update)`` shape; ``params`` is overwritten with the best individual.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from linclass.optim.search import LossValueFn, Params, SearchOptimizer


class GeneticState(NamedTuple):
    """State of the genetic algorithm.

    Attributes:
        count: Generations bred so far.
        loss: Loss of the best individual (inf before the first update).
        population: ndarray of shape (population_size, n_params), one flat vector per row.
        fitness: ndarray of shape (population_size,), each row's loss (NaN: not evaluated).
        rng: The random generator.
    """

    count: int  # type: ignore[assignment]  # optax's name; it shadows tuple.count()
    loss: float
    population: np.ndarray
    fitness: np.ndarray
    rng: np.random.Generator


def _as_params(vector: np.ndarray, like: Params) -> Params:
    """Views of a flat vector shaped like ``like`` (no copy)."""
    out, start = {}, 0
    for name, p in like.items():
        out[name] = vector[start : start + p.size].reshape(p.shape)
        start += p.size
    return out


def _tournament(fitness: np.ndarray, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` winners, each the lowest-loss of ``size`` random entrants."""
    entrants = rng.integers(fitness.shape[0], size=(n, size))
    return entrants[np.arange(n), np.argmin(fitness[entrants], axis=1)]


def genetic(
    population_size: int = 50,
    *,
    n_elite: int = 2,
    tournament_size: int = 3,
    crossover_rate: float = 0.9,
    mutation_rate: float = 0.1,
    mutation_scale: float = 0.1,
    init_scale: float = 0.1,
    random_state: int | np.random.Generator | None = 0,
) -> SearchOptimizer:
    """Genetic algorithm with tournament selection, uniform crossover, Gaussian mutation and
    elitism. One update is one generation and costs ``population_size - n_elite`` loss
    evaluations (the first also evaluates the initial population).

    Args:
        population_size: Individuals per generation, >= 2.
        n_elite: Best individuals copied unchanged into the next generation, >= 1 (so the
            best loss never gets worse) and below ``population_size``, so that children
            are bred: the record's rule (:data:`linclass.options.OPTIMIZERS`), which
            :func:`linclass.optim.build` checks, with ``tournament_size <=
            population_size``.
        tournament_size: Entrants per selection tournament, >= 1 (1 is random selection).
        crossover_rate: Probability that a child mixes two parents, in [0, 1].
        mutation_rate: Probability that a gene mutates, in [0, 1].
        mutation_scale: Standard deviation of a mutation.
        init_scale: The initial population is the starting params plus
            ``N(0, init_scale^2)`` noise (the starting params themselves are one member).
        random_state: Seed or generator.
    """
    if population_size < 2:
        raise ValueError(f"population_size must be >= 2, got {population_size}")
    if n_elite < 1:
        raise ValueError(f"n_elite must be >= 1, got {n_elite}")
    if tournament_size < 1:
        raise ValueError(f"tournament_size must be >= 1, got {tournament_size}")
    for name, rate in (("crossover_rate", crossover_rate), ("mutation_rate", mutation_rate)):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {rate}")
    if not (mutation_scale > 0 and init_scale >= 0):
        raise ValueError("mutation_scale must be > 0 and init_scale >= 0")

    def init(params: Params) -> GeneticState:
        rng = np.random.default_rng(random_state)
        start = np.concatenate([p.ravel() for p in params.values()])
        noise = rng.standard_normal((population_size, start.size)).astype(start.dtype)
        population = start + init_scale * noise
        population[0] = start
        fitness = np.full(population_size, np.nan)
        return GeneticState(0, np.inf, population, fitness, rng)

    def evaluate(rows: np.ndarray, f: LossValueFn, like: Params) -> np.ndarray:
        return np.array([f(_as_params(row, like)) for row in rows])

    def update(params: Params, f: LossValueFn, state: GeneticState) -> tuple[Params, GeneticState]:
        rng, population, fitness = state.rng, state.population, state.fitness
        if np.isnan(fitness).any():  # the first generation has not been scored yet
            fitness = evaluate(population, f, params)
        n_child = population_size - n_elite
        elite = np.argsort(fitness)[:n_elite]
        mother = population[_tournament(fitness, n_child, tournament_size, rng)]
        father = population[_tournament(fitness, n_child, tournament_size, rng)]
        crosses = rng.random(n_child) < crossover_rate
        from_father = (rng.random(mother.shape) < 0.5) & crosses[:, None]
        children = np.where(from_father, father, mother)
        mutates = rng.random(children.shape) < mutation_rate
        children += mutates * (mutation_scale * rng.standard_normal(children.shape)).astype(
            children.dtype
        )
        population = np.concatenate([population[elite], children])
        fitness = np.concatenate([fitness[elite], evaluate(children, f, params)])
        best = int(np.argmin(fitness))
        for name, view in _as_params(population[best], params).items():
            np.copyto(params[name], view)
        return params, GeneticState(state.count + 1, float(fitness[best]), population, fitness, rng)

    return SearchOptimizer(init, update)
