"""Backends register: a new one is one module and one registry line, and every face that
runs a fit reaches it (the loop, the estimator) without a change to ``linclass.training``."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from linclass.backends import registry
from linclass.backends.registry import Entry, backends_help, resolve_backend
from linclass.model import init_params
from linclass.objective import Objective
from linclass.options import PARAMS
from linclass.training import fit


@pytest.fixture()
def toy(monkeypatch):
    """The one registry line of a backend that lives in ``tests/toy_backend.py``."""
    import toy_backend

    entry = Entry("toy", "toy_backend", devices=("cpu",))
    monkeypatch.setitem(registry.REGISTRY, "toy", entry)
    monkeypatch.setattr(registry, "BACKENDS", (*registry.BACKENDS, "toy"))
    for key in toy_backend.CALLS:
        toy_backend.CALLS[key] = 0
    return toy_backend


def test_a_registered_backend_runs_the_fit_loop(toy):
    X, y = load_digits(return_X_y=True)
    X = X[:400] / 16.0
    y = y[:400]
    kw = dict(value_and_grad=Objective("softmax", "l2", 1e-3), optimizer="momentum",
              learning_rate=0.1, batch_size=50, max_epochs=3, tol=None, progress=False)
    via_toy = fit(init_params(64, 10), X, y, backend="toy", **kw)
    via_numpy = fit(init_params(64, 10), X, y, backend="numpy", **kw)
    assert toy.CALLS["batch"] == 3 * 8 and toy.CALLS["evaluate"] == 3
    np.testing.assert_array_equal(via_toy.params["W"], via_numpy.params["W"])


def test_the_registry_decides_every_backend_question():
    assert resolve_backend(None, "cpu") == "numpy"
    assert resolve_backend(None, "cuda:1") == "torch"
    assert resolve_backend("torch", "mps") == "torch"
    with pytest.raises(ValueError, match="backend='numpy' runs on the cpu only"):
        resolve_backend("numpy", "cuda")
    with pytest.raises(ValueError, match="backend='jax' is not one of numpy, torch"):
        resolve_backend("jax", "cpu")
    # the estimators' and the CLI's backend option is the registry's
    assert PARAMS["backend"].choices == registry.BACKENDS
    assert "pip install 'linclass[torch]'" in backends_help()


def test_a_missing_library_names_its_extra(monkeypatch):
    entry = Entry("ghost", "linclass_ghost_backend_that_is_not_here", devices=("cpu",),
                  needs="ghost", requires="linclass_ghost_backend_that_is_not_here")
    monkeypatch.setitem(registry.REGISTRY, "ghost", entry)
    with pytest.raises(ImportError, match=r"pip install 'linclass\[ghost\]'"):
        registry.load("ghost")
