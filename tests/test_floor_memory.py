"""The in-memory defaults' path at the machine's floor (issue 26): the dtype policy, batches
cast as they are gathered (never the whole array), the gather thread, and evaluation off
the hot path."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from sklearn.datasets import load_digits

import linclass.backends.numpy as numpy_backend
from linclass import LinearClassifier
from linclass.estimators.plan import MINIBATCH_DTYPE, compute_dtype
from linclass.grad import make_value_and_grad
from linclass.model import init_params
from linclass.objective import objective_value
from linclass.training import evaluate, fit
from linclass.training.reparam import column_stats
from linclass.training.workspace import Workspace

NUMPY = "numpy"


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y  # float64 in [0, 1], as a user's X / 255 is


# --- the dtype policy -------------------------------------------------------------------------


@pytest.mark.parametrize("values,rows,dense,expected", [
    ({"optimizer": "momentum"}, np.float64, True, MINIBATCH_DTYPE),
    ({"optimizer": "sgd"}, np.uint8, True, MINIBATCH_DTYPE),
    ({"optimizer": "momentum"}, np.float32, True, np.float32),
    ({"optimizer": "momentum", "dtype": "float64"}, np.float64, True, np.float64),
    ({"optimizer": "lbfgs"}, np.float64, True, np.float64),
    ({"optimizer": "gd"}, np.float64, True, np.float64),
    ({"optimizer": "random_search"}, np.float64, True, np.float64),
    ({"optimizer": "momentum", "gradient": "numerical"}, np.float64, True, np.float64),
    ({"optimizer": "momentum"}, np.float64, False, np.float64),
])
def test_the_dtype_policy(values, rows, dense, expected):
    got = compute_dtype({"dtype": None, **values}, np.dtype(rows), dense=dense,
                        backend=NUMPY, numpy_backend=NUMPY)
    assert got == np.dtype(expected)
    other = compute_dtype({"dtype": None, **values}, np.dtype(rows), dense=dense,
                          backend="torch", numpy_backend=NUMPY)
    assert other == (np.float32 if rows == np.float32 or "dtype" in values and
                     values["dtype"] == "float32" else np.float64)


def test_float32_training_stays_within_float32_precision_of_float64(digits):
    X, y = digits
    kw = dict(random_state=0, max_epochs=20)
    f32 = LinearClassifier(**kw).fit(X, y)  # the default: float32 steps on float64 rows
    f64 = LinearClassifier(dtype="float64", **kw).fit(X, y)
    assert f32._optimizer_state.velocity["W"].dtype == np.float32
    assert f64._optimizer_state.velocity["W"].dtype == np.float64
    assert f32.coef_.dtype == np.float64  # coef_ keeps the rows' float type
    scale = np.abs(f64.coef_).max()
    # 20 epochs x 8 steps of float32 rounding (2**-24 ~ 6e-8 each) stay below 1e-4 of |W|
    assert np.abs(f32.coef_ - f64.coef_).max() <= 1e-4 * scale
    assert np.abs(f32.intercept_ - f64.intercept_).max() <= 1e-4 * scale
    assert np.mean(f32.predict(X) == f64.predict(X)) >= 0.999
    J = lambda m: objective_value({"W": m.coef_, "b": m.intercept_}, X,  # noqa: E731
                                  np.searchsorted(m.classes_, y), "softmax", "l2", m.alpha)
    assert J(f32) == pytest.approx(J(f64), rel=1e-5)


def test_uint8_rows_train_like_their_float_copy(digits):
    X, y = digits
    raw = (X * 16).astype(np.uint8)
    kw = dict(random_state=0, max_epochs=5)
    a = LinearClassifier(**kw).fit(raw, y)
    b = LinearClassifier(**kw).fit(raw.astype(np.float64), y)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-7)
    assert a.coef_.dtype == np.float64


def test_the_default_fit_copies_no_whole_array():
    rng = np.random.default_rng(0)
    X = rng.random((40_000, 64))  # 20 MB of float64
    y = rng.integers(0, 5, X.shape[0])
    for rows in (X, (X * 255).astype(np.uint8)):
        tracemalloc.start()
        LinearClassifier(random_state=0, max_epochs=2).fit(rows, y)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        # a float copy of the rows would be >= 10 MB (float32) or 20 MB (float64)
        assert peak < 0.3 * X.nbytes, (rows.dtype, peak)


def test_column_stats_by_chunks_are_the_whole_arrays():
    X = np.random.default_rng(1).normal(3.0, 2.0, (5000, 7))
    for rows in (None, 1, 333):
        mu, std = column_stats(X, chunk_rows=rows)
        np.testing.assert_allclose(mu, X.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(std, X.std(axis=0), rtol=1e-10)


# --- the workspace's cast and the gather thread ------------------------------------------------


def test_the_workspace_casts_blocks_into_its_dtype():
    X = np.random.default_rng(2).random((100, 6))
    y = np.arange(100) % 3
    work = Workspace(None, None, 32, np.float32)
    rows = np.array([5, 1, 99, 40])
    F, y_b = work.take(X, y, rows)
    assert F.dtype == np.float32
    np.testing.assert_array_equal(F, X[rows].astype(np.float32))
    np.testing.assert_array_equal(y_b, y[rows])
    chunks = [F_c.copy() for F_c, _, _ in work.walk(X, y)]
    np.testing.assert_array_equal(np.concatenate(chunks), X.astype(np.float32))
    assert Workspace(None, None, 32, None).take(X, y, rows)[0].dtype == np.float64
    sparse = csr_matrix(X)
    assert Workspace(None, None, 32, np.float32).take(sparse, y, rows)[0].dtype == np.float64


def test_the_gather_thread_changes_no_number(digits, monkeypatch):
    X, y = digits
    vg = make_value_and_grad("analytic", loss="softmax", penalty="l2", alpha=1e-4)
    start = init_params(64, 10, dtype=np.float32)
    threads: set[str] = set()

    def transform(rows, out=None):  # records where the batches are converted
        threads.add(threading.current_thread().name)
        out = np.empty(rows.shape, np.float32) if out is None else out
        np.copyto(out, rows)
        return out

    kw = dict(value_and_grad=vg, optimizer="momentum", learning_rate=0.1, batch_size=64,
              max_epochs=3, progress=False, random_state=0, transform=transform)
    results = {}
    monkeypatch.setattr(numpy_backend, "PREFETCH_MIN_BYTES", 0)  # digits' batches are small
    for ahead in (False, True):
        monkeypatch.setattr(numpy_backend, "PREFETCH", ahead)
        threads.clear()
        results[ahead] = fit(start, X, y, **kw)
        seen = {name.split("_")[0] for name in threads}
        assert ("linclass-gather" in seen) == ahead
    for k in ("W", "b"):
        np.testing.assert_array_equal(results[True].params[k], results[False].params[k])
    assert results[True].history.step_loss == results[False].history.step_loss


def test_small_batches_are_gathered_in_the_loop(digits, monkeypatch):
    # A hand-off to the thread costs more than gathering a 64 x 64 batch (2.5x slower
    # epochs on digits): below PREFETCH_MIN_BYTES no thread is started.
    X, y = digits
    monkeypatch.setattr(numpy_backend, "PREFETCH", True)
    threads: set[str] = set()

    def transform(rows, out=None):
        threads.add(threading.current_thread().name.split("_")[0])
        return rows.astype(np.float32)

    vg = make_value_and_grad("analytic", loss="softmax")
    for floor, ahead in ((64 * 64 * 4 + 1, False), (64 * 64 * 4, True)):
        monkeypatch.setattr(numpy_backend, "PREFETCH_MIN_BYTES", floor)
        threads.clear()
        fit(init_params(64, 10, dtype=np.float32), X, y, value_and_grad=vg, batch_size=64,
            max_epochs=1, progress=False, transform=transform)
        assert ("linclass-gather" in threads) == ahead, (floor, threads)


def test_a_failing_gather_raises_in_the_loop(digits, monkeypatch):
    X, y = digits
    monkeypatch.setattr(numpy_backend, "PREFETCH", True)
    monkeypatch.setattr(numpy_backend, "PREFETCH_MIN_BYTES", 0)
    calls = []

    def transform(rows, out=None):
        calls.append(len(rows))
        if len(calls) > 3:
            raise ValueError("bad rows")
        return rows.astype(np.float32)

    vg = make_value_and_grad("analytic", loss="softmax")
    with pytest.raises(ValueError, match="bad rows"):
        fit(init_params(64, 10, dtype=np.float32), X, y, value_and_grad=vg, batch_size=64,
            max_epochs=2, progress=False, transform=transform)


# --- evaluation off the hot path ------------------------------------------------------------


def test_a_minibatch_history_reads_the_running_mean(digits):
    X, y = digits
    vg = make_value_and_grad("analytic", loss="softmax", penalty="l2", alpha=1e-4)
    kw = dict(value_and_grad=vg, optimizer="sgd", learning_rate=0.1, batch_size=100,
              max_epochs=6, progress=False, random_state=0)
    start = init_params(64, 10)
    every = fit(start, X, y, **kw)  # the default: a full pass every row, as before
    h = every.history
    np.testing.assert_array_equal(h.train_loss, h.full_train_loss)
    assert np.isfinite(h.train_accuracy).all()
    lazy = fit(start, X, y, full_eval_every=None, **kw)
    g = lazy.history
    for k in ("W", "b"):  # measuring less changes no step
        np.testing.assert_array_equal(lazy.params[k], every.params[k])
    per_epoch = -(-len(y) // 100)
    means = [np.mean(g.step_loss[i * per_epoch:(i + 1) * per_epoch]) for i in range(6)]
    np.testing.assert_allclose(g.train_loss, means, rtol=1e-12)
    assert np.isnan(g.full_train_loss[:-1]).all() and np.isnan(g.train_accuracy[:-1]).all()
    loss, acc = evaluate(lazy.params, X, y, vg)
    assert g.full_train_loss[-1] == pytest.approx(loss, rel=1e-12)
    assert g.train_accuracy[-1] == pytest.approx(acc)
    assert g.eval_time[-1] > 0 and len(g.eval_time) == 6
    third = fit(start, X, y, full_eval_every=3, **kw).history
    assert np.isfinite(third.full_train_loss).tolist() == [False, False, True] * 2


def test_the_estimators_measure_the_training_set_at_the_end(digits):
    X, y = digits
    clf = LinearClassifier(random_state=0, max_epochs=4, tol=None).fit(X, y)
    h = clf.history_
    assert np.isfinite(h.train_loss).all()
    assert np.isnan(h.train_accuracy[:-1]).all()
    assert h.train_accuracy[-1] == pytest.approx(clf.score(X, y))
    gd = LinearClassifier(optimizer="gd", random_state=0, max_epochs=4, tol=None).fit(X, y)
    # a full-batch step's loss is the objective where the last epoch ended: no pass needed
    assert np.isnan(gd.history_.train_accuracy[:-1]).all()
    assert gd.history_.train_accuracy[-1] == pytest.approx(gd.score(X, y))
    assert gd.history_.train_loss == gd.history_.step_loss


def test_a_full_batch_row_is_the_objective_one_epoch_behind(digits):
    # gd's rows without a pass carry the step's own loss: J where the previous epoch
    # ended, equal to the previous row of a run that measures every epoch.
    X, y = digits
    vg = make_value_and_grad("analytic", loss="softmax", penalty="l2", alpha=1e-3)
    kw = dict(value_and_grad=vg, optimizer="gd", learning_rate=0.5, max_epochs=6,
              progress=False, random_state=0)
    every = fit(init_params(64, 10), X, y, full_eval_every=1, **kw).history
    lagged = fit(init_params(64, 10), X, y, full_eval_every=None, **kw).history
    np.testing.assert_allclose(lagged.train_loss[1:], every.train_loss[:-1], rtol=1e-12)
    assert lagged.full_train_loss[-1] == pytest.approx(every.train_loss[-1], rel=1e-12)
    assert lagged.train_accuracy[-1] == every.train_accuracy[-1]
    assert lagged.n_loss_evals == every.n_loss_evals  # the passes are not counted either way


def test_full_eval_every_is_checked(digits):
    X, y = digits
    with pytest.raises(ValueError, match="full_eval_every"):
        fit(init_params(64, 10), X, y, value_and_grad=make_value_and_grad("analytic"),
            full_eval_every=0, progress=False)
