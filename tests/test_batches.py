"""Workspace: a batch's features and objective in buffers made once."""

import numpy as np

from linclass.batches import Workspace, accepts_out
from linclass.grad import make_value_and_grad
from linclass.model import init_params
from linclass.objective import fast_path, value_and_grad


class Cast:
    """A foldable transform as the raw-pixel pipeline's: ``a * x + c``, and ``cast``."""

    def __init__(self, d):
        self.scale = np.full(d, 1 / 255, np.float32)
        self.shift = np.full(d, -0.5, np.float32)

    def __call__(self, rows, out=None):
        return rows.reshape(len(rows), -1) * self.scale + self.shift

    @staticmethod
    def cast(rows, out=None):
        np.copyto(out, rows.reshape(len(rows), -1))
        return out


def data(n=20, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, d), dtype=np.uint8), rng.integers(0, 3, size=n)


def test_take_gathers_the_rows_into_reused_buffers():
    X, y = data()
    t = Cast(6)
    work = Workspace(X, y, t, (t.scale, t.shift), rows=8)
    rows = np.array([5, 0, 19, 3])
    F, y_b = work.take(rows)
    np.testing.assert_array_equal(F, X[rows].astype(np.float32))  # cast only: folded
    np.testing.assert_array_equal(y_b, y[rows])
    F2, _ = work.take(np.array([1, 2]))
    assert np.shares_memory(F, F2) and F2.shape == (2, 6)


def test_value_and_grad_in_the_buffers_equals_the_checked_objective():
    X, y = data()
    t = Cast(6)
    work = Workspace(X, y, t, (t.scale, t.shift), rows=8)
    params = init_params(6, 3, scale=0.3, random_state=1)
    work.allocate(params, np.float64)
    fast = fast_path(make_value_and_grad("analytic", loss="svm", alpha=0.01))
    rows = np.arange(2, 9)
    F, y_b = work.take(rows)
    value = work.value_and_grad(fast, params, F, y_b)
    ref_value, ref = value_and_grad(params, t(X[rows]), y[rows], "svm", "l2", 0.01)
    assert np.isclose(value, ref_value, rtol=1e-6)
    np.testing.assert_allclose(work.grads["W"], ref["W"], rtol=1e-5, atol=1e-7)


def test_without_a_transform_the_rows_are_the_features():
    X, y = data()
    Xf = X.astype(np.float64)
    work = Workspace(Xf, y, None, None, rows=4)
    F, _ = work.take(np.array([7, 1]))
    np.testing.assert_array_equal(F, Xf[[7, 1]])


def test_accepts_out():
    assert accepts_out(lambda rows, out=None: rows)
    assert not accepts_out(lambda rows: rows)
    assert not accepts_out(max)  # a builtin without a signature: treated as no out=
