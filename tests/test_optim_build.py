"""One optimizer record, one builder (issue 24): ``linclass.optim.build`` is what the
estimators' fits, the fit loop and the playground build their optimizers with; the
records' rules refuse in every face in its own words; lbfgs's ``memory`` reaches every face
that offers lbfgs."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from starlette.testclient import TestClient

from linclass import LinearClassifier, LinearRegressor
from linclass.cli.options import FLAGS, TRAINING
from linclass.estimators.plan import make_plan
from linclass.optim import (
    OPTIMIZERS,
    MomentumState,
    SGDState,
    build,
    chain,
    descend,
    factory,
    scale_by_schedule,
    trace,
)
from linclass.options import (
    DEFAULT_LEARNING_RATES,
    OPTIMIZER_PARAMS,
    PARAMS,
    SEARCH_AUTO_EPOCHS,
    UPDATE_BUDGET,
    names,
    optimizer_record,
)
from linclass.training import setup
from linclass.web import config as web_config
from linclass.web import create_app
from linclass.web import optimizers as web_optimizers

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")

GRADIENT = names("optimizer", "gradient")
SEARCHES = names("optimizer", "search")


def params_and_grads(seed: int = 0) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    params = {"W": rng.standard_normal((3, 5)), "b": rng.standard_normal(3)}
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    return params, grads


def steps(opt, n: int = 3) -> dict:
    params, grads = params_and_grads()
    state = opt.init(params)
    for _ in range(n):
        params, state = opt.update(params, grads, state)
    return params


def tries(opt, n: int = 3) -> dict:
    params, _ = params_and_grads()
    state = opt.init(params)
    for _ in range(n):
        params, state = opt.update(params, lambda p: float(np.sum(p["W"] ** 2)), state)
    return params


# --- the records -------------------------------------------------------------------------------


def test_every_record_names_its_code_and_its_budget():
    for name in names("optimizer"):
        record = optimizer_record(name)
        assert callable(factory(name)), name
        assert (record.budget.updates is None) != (record.budget.epochs is None), name
        takes_rate = "learning_rate" in record.params
        assert (record.learning_rate is not None) == takes_rate, name
    # the old tables are views of the records, not a second source
    assert DEFAULT_LEARNING_RATES == {n: optimizer_record(n).learning_rate for n in GRADIENT}
    assert SEARCH_AUTO_EPOCHS == {n: optimizer_record(n).budget.epochs for n in SEARCHES}
    assert optimizer_record("sgd").budget.updates == UPDATE_BUDGET
    assert set(OPTIMIZERS) == set(names("optimizer")) - set(names("optimizer", "solver"))


def test_factories_take_the_record_names():
    """No translation table between the records and the factories (FACTORY_NAMES is gone)."""
    import linclass.estimators.plan as plan

    assert not hasattr(plan, "FACTORY_NAMES")
    for name, make in OPTIMIZERS.items():
        own = set(optimizer_record(name).params) - {"schedule", "batch_size"}
        assert own <= set(inspect.signature(make).parameters), name


def test_the_records_params_are_every_faces():
    assert set(OPTIMIZER_PARAMS) <= set(TRAINING)
    assert set(OPTIMIZER_PARAMS) <= set(inspect.signature(LinearClassifier).parameters)
    assert set(OPTIMIZER_PARAMS) <= set(inspect.signature(LinearRegressor).parameters)


# --- the pieces --------------------------------------------------------------------------------


def test_sgd_momentum_and_nesterov_are_compositions_of_the_same_pieces():
    rate = scale_by_schedule(0.1)
    for name, rule, state in (("sgd", descend(), SGDState),
                              ("momentum", trace(0.9), MomentumState),
                              ("nesterov", trace(0.9, nesterov=True), MomentumState)):
        kwargs = {} if name == "sgd" else {"momentum": 0.9}
        composed = steps(chain(rate, rule, state))
        named = steps(OPTIMIZERS[name](0.1, **kwargs))
        for k in composed:
            np.testing.assert_array_equal(composed[k], named[k])


def test_chain_refuses_a_state_without_the_rules_buffers():
    with pytest.raises(TypeError, match="velocity"):
        chain(scale_by_schedule(0.1), trace(0.9), SGDState)


def test_a_rate_per_head_broadcasts_against_stacked_params():
    """The seam for K heads: a schedule may give an array of rates, one per head."""
    rates = np.array([0.1, 0.2])[:, None, None]
    opt = chain(scale_by_schedule(lambda t: rates), trace(0.5), MomentumState)
    W = np.ones((2, 3, 4))
    state = opt.init({"W": W})
    opt.update({"W": W}, {"W": np.ones((2, 3, 4))}, state)
    np.testing.assert_allclose(W[0], 0.9)
    np.testing.assert_allclose(W[1], 0.8)


# --- one builder -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GRADIENT)
def test_estimator_loop_and_playground_build_the_same_gradient_optimizer(name):
    own = optimizer_record(name).params
    values = {"learning_rate": 0.05, **({"momentum": 0.7} if "momentum" in own else {})}
    rng = np.random.default_rng(0)
    # the estimator's plan, as fit hands it to the loop
    clf = LinearClassifier(optimizer=name, schedule="constant", **values)
    plan = make_plan(clf.get_params(), task="classification", n_samples=100)
    from_plan, _ = setup.make_optimizer(plan.optimizer, plan.learning_rate,
                                        plan.optimizer_kwargs, rng, schedule=plan.schedule)
    # training.fit(optimizer=name, learning_rate=..., optimizer_kwargs=...)
    rest = {k: v for k, v in values.items() if k != "learning_rate"}
    from_loop, _ = setup.make_optimizer(name, 0.05, rest, rng)
    # the playground's controls
    view = web_config.ViewControls(losses=("softmax",), optimizers=(name,))
    controls = web_config.updated(view, view.initial(), {"optimizer": name, **values})
    from_web = web_optimizers.make_optimizer(controls)
    direct = build(name, {**values, "schedule": "constant"})
    expected = steps(direct)
    for opt in (from_plan, from_loop, from_web):
        got = steps(opt)
        for k in expected:
            np.testing.assert_array_equal(got[k], expected[k])


@pytest.mark.parametrize("name", SEARCHES)
def test_playground_and_build_seed_a_search_alike(name):
    view = web_config.ViewControls(losses=("softmax",), optimizers=(name,))
    controls = web_config.updated(view, view.initial(), {"optimizer": name})
    own = {k: controls[k] for k in optimizer_record(name).params}
    a = tries(web_optimizers.make_optimizer(controls, seed=3))
    b = tries(build(name, own, 3))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_every_face_calls_the_one_builder(monkeypatch):
    calls = []

    def spy(name, values=None, rng=None, **kw):
        calls.append((name, dict(values or {})))
        return build(name, values, rng, **kw)

    monkeypatch.setattr(setup, "build", spy)
    monkeypatch.setattr(web_optimizers, "build", spy)
    X = np.random.default_rng(0).standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    LinearClassifier(optimizer="nesterov", momentum=0.8, max_epochs=1).fit(X, y)
    assert calls[-1][0] == "nesterov" and calls[-1][1]["momentum"] == 0.8
    LinearRegressor(optimizer="sgd", max_epochs=1).fit(X, X[:, 0])
    assert calls[-1][0] == "sgd"
    client = TestClient(create_app())
    sid = client.post("/api/2d", json={"preset": "lecture"}).json()["session"]
    r = client.post(f"/api/2d/{sid}/config", json={"optimizer": "momentum", "momentum": 0.6})
    assert r.status_code == 200, r.text
    assert calls[-1] == ("momentum", {"learning_rate": r.json()["config"]["learning_rate"],
                                      "batch_size": r.json()["config"]["batch_size"],
                                      "momentum": 0.6, "schedule": "constant"})


def test_build_applies_the_default_rate_and_the_schedule_over_the_run():
    init, update = build("sgd", {}, total_steps=10)  # cosine, the record's schedule
    params, grads = params_and_grads()
    state = init(params)
    assert state.learning_rate == optimizer_record("sgd").learning_rate
    for _ in range(10):
        params, state = update(params, grads, state)
    assert state.learning_rate == pytest.approx(optimizer_record("sgd").learning_rate * 0.5 * (
        1 + np.cos(np.pi * 9 / 10)))
    with pytest.raises(ValueError, match="give total_steps"):
        build("sgd", {"schedule": "cosine"})


@pytest.mark.parametrize("values, match", [
    ({"mu": 0.9}, r"takes no option\(s\) \['mu'\]"),
    ({"population_size": 5}, "population_size applies to optimizer genetic, not to "
                             "optimizer 'momentum'"),
    ({"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
    ({"learning_rate": 0.0}, "learning_rate must be"),
])
def test_build_raises_the_records_errors(values, match):
    with pytest.raises(ValueError, match=match):
        build("momentum", values)


def test_build_makes_a_solver_object_and_refuses_an_unknown_name():
    from linclass.optim.lbfgs import Lbfgs

    assert build("lbfgs", {"memory": 5}) == Lbfgs(memory=5)
    assert build("lbfgs", {}) == Lbfgs(memory=PARAMS["memory"].default)
    with pytest.raises(ValueError, match="memory must be"):
        build("lbfgs", {"memory": 0})
    with pytest.raises(ValueError, match="optimizer='adam' is not one of gd, sgd"):
        build("adam", {})


# --- the rules, in every face ------------------------------------------------------------------


RULE_CASES = [
    ({"population_size": 4, "n_elite": 4}, "n_elite must be < population_size (4), got 4",
     "--n-elite must be < --population-size (4), got 4"),
    ({"population_size": 4, "tournament_size": 5},
     "tournament_size must be <= population_size (4), got 5",
     "--tournament-size must be <= --population-size (4), got 5"),
]


@pytest.mark.parametrize("values, python, flags", RULE_CASES)
def test_the_genetic_rules_refuse_in_every_face(cli, tmp_path, values, python, flags):
    X = np.random.default_rng(0).standard_normal((20, 2))
    with pytest.raises(ValueError) as e:  # the estimator
        LinearClassifier(optimizer="genetic", **values).fit(X, (X[:, 0] > 0).astype(int))
    assert python in str(e.value)
    with pytest.raises(ValueError) as e:  # the builder, in a face's words
        build("genetic", values, spell=FLAGS)
    assert flags in str(e.value)
    args = [a for k, v in values.items() for a in (FLAGS[k], str(v))]  # the CLI
    result = cli(["train", "--quiet", "--dataset", "digits", "--limit", "100", "--epochs", "1",
                  "--out", tmp_path, "--optimizer", "genetic", *args])
    assert result.exit_code == 2 and flags in " ".join(result.output.split()), result.output
    client = TestClient(create_app())  # the playground
    sid = client.post("/api/2d", json={"preset": "lecture"}).json()["session"]
    r = client.post(f"/api/2d/{sid}/config", json=values)
    assert r.status_code == 422 and python in r.json()["error"]


# --- lbfgs's memory, in every face -------------------------------------------------------------


def test_lbfgs_memory_reaches_the_solver(monkeypatch):
    import linclass.optim.lbfgs as lbfgs

    seen = []
    real = lbfgs.minimize_lbfgs

    def spy(*args, **kwargs):
        seen.append(kwargs.get("memory"))
        return real(*args, **kwargs)

    monkeypatch.setattr(lbfgs, "minimize_lbfgs", spy)
    X = np.random.default_rng(0).standard_normal((60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = LinearClassifier(optimizer="lbfgs", memory=3, max_epochs=5).fit(X, y)
    assert seen[-1] == 3 and clf.settings_["memory"] == 3
    LinearRegressor(optimizer="lbfgs", memory=4, max_epochs=5).fit(X, X[:, 0])
    assert seen[-1] == 4
    LinearClassifier(optimizer="lbfgs", max_epochs=5).fit(X, y)
    assert seen[-1] == PARAMS["memory"].default


def test_lbfgs_memory_is_refused_elsewhere_and_out_of_range():
    X = np.random.default_rng(0).standard_normal((20, 2))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match="memory applies to optimizer lbfgs, not to "
                                         "optimizer 'sgd'"):
        LinearClassifier(optimizer="sgd", memory=5).fit(X, y)
    with pytest.raises(ValueError, match="memory"):
        LinearClassifier(optimizer="lbfgs", memory=0).fit(X, y)


def test_lbfgs_memory_on_the_command_line(cli, tmp_path):
    assert "--lbfgs-memory" in " ".join(cli(["train", "--help"]).output.split())
    result = cli(["train", "--quiet", "--dataset", "digits", "--limit", "200", "--epochs", "3",
                  "--out", tmp_path, "--name", "l", "--optimizer", "lbfgs",
                  "--lbfgs-memory", "4"])
    assert result.exit_code == 0, result.output
    import json

    assert json.loads((tmp_path / "l" / "metrics.json").read_text())["settings"]["memory"] == 4
    result = cli(["train", "--quiet", "--dataset", "digits", "--limit", "200", "--epochs", "1",
                  "--out", tmp_path, "--optimizer", "sgd", "--lbfgs-memory", "4"])
    assert result.exit_code == 2
    assert "--lbfgs-memory applies to optimizer lbfgs" in " ".join(result.output.split())
    result = cli(["train", "--quiet", "--dataset", "digits", "--limit", "200", "--epochs", "1",
                  "--out", tmp_path, "--optimizer", "lbfgs", "--lbfgs-memory", "0"])
    assert result.exit_code == 2 and "--lbfgs-memory" in result.output


def test_the_playground_offers_no_solver_so_no_memory_field():
    """lbfgs runs whole fits, not steps: the playground does not offer it, nor its option."""
    assert "lbfgs" not in web_config.STEPPED_OPTIMIZERS
    assert "memory" not in web_config.FIELDS
    client = TestClient(create_app())
    options = client.get("/api/options").json()
    assert options["params"]["memory"]["flag"] == "--lbfgs-memory"  # the record is there
    assert all("lbfgs" not in v["optimizers"] for v in options["views"].values())


def test_a_new_rule_is_one_piece_composed_with_the_same_rate():
    """What adding an optimizer takes in optim/: its rule. An RMSProp-like rule with one
    buffer, and a rule with two (the generic path of chain)."""
    from typing import NamedTuple

    class CacheState(NamedTuple):
        count: int
        learning_rate: float
        cache: dict

    class TwoState(NamedTuple):
        count: int
        learning_rate: float
        m: dict
        v: dict

    def rms_step(params, grads, rate, cache, decay=0.9, eps=1e-8):
        for k, p in params.items():
            c, g = cache[k], grads[k]
            c *= decay
            c += (1.0 - decay) * g * g
            p -= rate * g / (c ** 0.5 + eps)

    def two_step(params, grads, rate, m, v):
        for k, p in params.items():
            g = grads[k]
            m[k] += g
            v[k] += g * g
            p -= rate * m[k] / (v[k] ** 0.5 + 1.0)

    from linclass.optim import UpdateRule

    rms = chain(scale_by_schedule(0.01), UpdateRule(("cache",), rms_step), CacheState)
    two = chain(scale_by_schedule(0.01), UpdateRule(("m", "v"), two_step), TwoState)
    params, grads = params_and_grads()
    expected = {k: v - 0.01 * grads[k] / ((0.1 * grads[k] ** 2) ** 0.5 + 1e-8)
                for k, v in params.items()}
    got = rms.update(params, grads, rms.init(params))[0]
    for k in expected:
        np.testing.assert_allclose(got[k], expected[k])
    params, grads = params_and_grads()
    new, state = two.update(params, grads, two.init(params))
    assert state.count == 1 and np.array_equal(state.m["W"], grads["W"])
