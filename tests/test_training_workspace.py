"""Workspace and Step: stored rows to features in reused buffers, and the objective of a
block by the fast (in-place) path and the checked path, which must agree."""

import numpy as np
import pytest

from linclass.backends.numpy import NumpyStep as Step
from linclass.grad import make_value_and_grad
from linclass.model import init_params
from linclass.objective import Objective, fast_path, value_and_grad
from linclass.training import BatchSampler, Foldable, Workspace, affine_of, chunk_slices
from linclass.training.workspace import accepts_out


class Cast:
    """A foldable transform as the raw-pixel pipeline's: ``a * x + c``, and ``cast``."""

    dtype = np.dtype(np.uint8)

    def __init__(self, d):
        self.scale = np.full(d, 1 / 255, np.float32)
        self.shift = np.full(d, -0.5, np.float32)

    def __call__(self, rows, out=None):
        return rows.reshape(len(rows), -1) * self.scale + self.shift

    @staticmethod
    def cast(rows, out=None):
        if out is None:
            return rows.reshape(len(rows), -1).astype(np.float32)
        np.copyto(out, rows.reshape(len(rows), -1))
        return out


def data(n=20, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, d), dtype=np.uint8), rng.integers(0, 3, size=n)


def test_the_protocol_says_what_folds():
    X, _ = data()
    t = Cast(6)
    assert isinstance(t, Foldable) and affine_of(t, X) is not None
    assert affine_of(t, X.astype(np.float32)) is None  # other dtypes scale differently
    assert affine_of(lambda rows: rows, X) is None and affine_of(None, X) is None


def test_take_gathers_the_rows_into_reused_buffers():
    X, y = data()
    t = Cast(6)
    work = Workspace(t, (t.scale, t.shift), rows=8)
    rows = np.array([5, 0, 19, 3])
    F, y_b = work.take(X, y, rows)
    np.testing.assert_array_equal(F, X[rows].astype(np.float32))  # cast only: folded
    np.testing.assert_array_equal(y_b, y[rows])
    F2, _ = work.take(X, y, np.array([1, 2]))
    assert np.shares_memory(F, F2) and F2.shape == (2, 6)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_fast_and_checked_blocks_agree(loss):
    X, y = data()
    t = Cast(6)
    params = init_params(6, 3, scale=0.3, random_state=1)
    objective = make_value_and_grad("analytic", loss=loss, alpha=0.01)
    assert isinstance(objective, Objective) and fast_path(objective) is not None
    fast_work = Workspace(t, (t.scale, t.shift), rows=8)
    fast_work.allocate(params, np.float64)
    fast = Step(fast_work, objective, objective.value, fast_path(objective))
    slow = Step(Workspace(t, None, rows=8), objective, objective.value, None)
    rows = np.arange(2, 9)
    (v1, g1), (v2, g2) = fast.batch(params, X, y, rows), slow.batch(params, X, y, rows)
    ref_value, ref = value_and_grad(params, t(X[rows]), y[rows], loss, "l2", 0.01)
    for v, g in ((v1, g1), (v2, g2)):
        assert np.isclose(v, ref_value, rtol=1e-6)
        np.testing.assert_allclose(g["W"], ref["W"], rtol=1e-5, atol=1e-7)
    # the whole set, a chunk of 8 at a time, and the evaluation
    (f1, G1), (f2, G2) = fast.full(params, X, y), slow.full(params, X, y)
    whole, G = value_and_grad(params, t(X), y, loss, "l2", 0.01)
    assert np.isclose(f1, whole) and np.isclose(f2, whole)
    np.testing.assert_allclose(G1["W"], G["W"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(G2["W"], G["W"], rtol=1e-5, atol=1e-7)
    assert fast.evaluate(params, X, y) == pytest.approx(slow.evaluate(params, X, y))
    preds: list = []
    slow.evaluate(params, X, y, predictions=preds)
    assert np.concatenate(preds).shape == (20,)


def test_without_a_transform_the_rows_are_the_features():
    X, y = data()
    Xf = X.astype(np.float64)
    work = Workspace(None, None, rows=4)
    F, _ = work.take(Xf, y, np.array([7, 1]))
    np.testing.assert_array_equal(F, Xf[[7, 1]])
    chunks = list(work.walk(Xf, y))
    assert [c[0].shape[0] for c in chunks] == [4, 4, 4, 4, 4]
    assert np.shares_memory(chunks[0][0], Xf) and sum(c[2] for c in chunks) == pytest.approx(1)


def test_batch_sampler_sees_every_row_once_per_epoch_in_a_new_order():
    s = BatchSampler(10, 4, np.random.default_rng(0))
    first = [b.copy() for b in s.epoch()]
    second = [b.copy() for b in s.epoch()]
    assert [len(b) for b in first] == [4, 4, 2] == [len(b) for b in second]
    assert sorted(np.concatenate(first)) == list(range(10))
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))
    assert [(c.start, c.stop) for c in chunk_slices(5, 2)] == [(0, 2), (2, 4), (4, 5)]


def test_accepts_out():
    assert accepts_out(lambda rows, out=None: rows)
    assert not accepts_out(lambda rows: rows)
    assert not accepts_out(max)  # a builtin without a signature: treated as no out=
