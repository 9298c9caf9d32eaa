"""Random search, random local search and the genetic algorithm: loss values only."""

from itertools import pairwise

import numpy as np
import pytest

from linclass.optim import (
    GeneticState,
    SearchState,
    build,
    genetic,
    get_optimizer,
    random_local_search,
    random_search,
)

TARGET = {"W": np.arange(6.0).reshape(2, 3) / 6, "b": np.array([0.5, -0.5])}


def start() -> dict:
    return {"W": np.zeros((2, 3)), "b": np.zeros(2)}


class Recorder:
    """``f(params) = sum (params - TARGET)^2``, a convex bowl; remembers every value."""

    def __init__(self):
        self.values = []

    def __call__(self, params):
        v = float(sum(np.sum((params[k] - TARGET[k]) ** 2) for k in TARGET))
        self.values.append(v)
        return v


def run(optimizer, steps, f=None):
    f = f or Recorder()
    init, update = optimizer
    params = start()
    state = init(params)
    for _ in range(steps):
        params, state = update(params, f, state)
    return params, state, f


def test_random_search_keeps_the_best_draw():
    params, state, f = run(random_search(search_scale=0.5, random_state=0), 50)
    assert isinstance(state, SearchState) and state.count == 50
    assert state.loss == min(f.values)
    assert f(params) == state.loss  # the params are the best draw


def test_first_candidate_is_always_kept_like_the_notes_loop():
    # bestloss = inf: even a draw worse than the starting point is taken.
    init, update = random_search(search_scale=100.0, random_state=0)
    params = {k: v.copy() for k, v in TARGET.items()}  # the optimum itself
    params, state = update(params, Recorder(), init(params))
    assert state.loss > 1.0 and not np.allclose(params["W"], TARGET["W"])


def test_random_local_search_never_goes_uphill_and_descends():
    f = Recorder()
    params, state, _ = run(random_local_search(step_size=0.05, random_state=0), 300, f)
    best_so_far = np.minimum.accumulate(f.values)
    assert state.loss == best_so_far[-1]
    assert state.loss < 0.1 * f(start())


def test_local_search_beats_random_search_on_the_same_budget():
    _, local, _ = run(random_local_search(step_size=0.05, random_state=1), 300)
    _, rand, _ = run(random_search(search_scale=0.5, random_state=1), 300)
    assert local.loss < rand.loss


def test_genetic_descends_with_elitism_and_counts_evaluations():
    P, elite, generations = 20, 2, 15
    f = Recorder()
    params, state, _ = run(genetic(P, n_elite=elite, random_state=0), generations, f)
    assert isinstance(state, GeneticState) and state.count == generations
    # the first update also scores the initial population
    assert len(f.values) == P + generations * (P - elite)
    assert state.loss == pytest.approx(min(f.values))
    assert f(params) == pytest.approx(state.loss)
    assert state.loss < 0.2 * f(start())


def test_genetic_best_loss_never_increases():
    init, update = genetic(10, n_elite=1, random_state=3)
    params, f = start(), Recorder()
    state, best = init(params), []
    for _ in range(20):
        params, state = update(params, f, state)
        best.append(state.loss)
    assert all(b2 <= b1 for b1, b2 in pairwise(best))


@pytest.mark.parametrize("name", ["random_search", "random_local_search", "genetic"])
def test_same_seed_same_search_other_seed_other_search(name):
    a, _, _ = run(get_optimizer(name, random_state=7), 10)
    b, _, _ = run(get_optimizer(name, random_state=7), 10)
    c, _, _ = run(get_optimizer(name, random_state=8), 10)
    np.testing.assert_array_equal(a["W"], b["W"])
    assert not np.array_equal(a["W"], c["W"])


def test_search_keeps_float32():
    init, update = random_local_search(random_state=0)
    params = {"W": np.zeros((2, 3), np.float32), "b": np.zeros(2, np.float32)}
    params, _ = update(params, Recorder(), init(params))
    assert params["W"].dtype == np.float32


@pytest.mark.parametrize(
    "make",
    [
        lambda: random_search(search_scale=0.0),
        lambda: random_local_search(step_size=-1.0),
        lambda: genetic(1),
        lambda: genetic(10, n_elite=0),
        lambda: build("genetic", {"population_size": 10, "n_elite": 10}),
        lambda: build("genetic", {"population_size": 10, "tournament_size": 11}),
        lambda: genetic(10, tournament_size=0),
        lambda: genetic(10, mutation_rate=1.5),
        lambda: genetic(10, mutation_scale=0.0),
    ],
)
def test_bad_search_settings_are_refused(make):
    with pytest.raises(ValueError):
        make()
