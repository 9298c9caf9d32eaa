"""A backend written outside the package, to show what adding one takes: this module (a
``make_parts``) and one registry line (``tests/test_backend_registry.py`` adds it).

It runs the NumPy backend's parts and counts the blocks its step computes.
"""

from __future__ import annotations

from typing import Any

from linclass.backends import numpy as numpy_backend
from linclass.training.parts import Parts, Spec

CALLS = {"batch": 0, "full": 0, "evaluate": 0}


class CountingStep:
    """The NumPy step, counting its calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def put(self, tree: Any) -> Any:
        return self.inner.put(tree)

    def host(self, tree: Any) -> Any:
        return self.inner.host(tree)

    def finite(self, params: Any) -> bool:
        return bool(self.inner.finite(params))

    def batch(self, params: Any, X: Any, y: Any, rows: Any) -> Any:
        CALLS["batch"] += 1
        return self.inner.batch(params, X, y, rows)

    def full(self, params: Any, X: Any, y: Any) -> Any:
        CALLS["full"] += 1
        return self.inner.full(params, X, y)

    def loss(self, params: Any, X: Any, y: Any) -> float:
        return float(self.inner.loss(params, X, y))

    def evaluate(self, params: Any, X: Any, y: Any, **kwargs: Any) -> Any:
        CALLS["evaluate"] += 1
        return self.inner.evaluate(params, X, y, **kwargs)


def make_parts(spec: Spec) -> Parts:
    step, source = numpy_backend.make_parts(spec)
    return Parts(CountingStep(step), source)
