"""Stacked heads on the torch backend (one product per batch on the device, CPU here) and
on Dask arrays (one pass over the partitions per epoch for every head): each head ends
where its own fit on that backend ends, and where the NumPy heads end."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from conftest import two_worker_cluster
from helpers import search_table
from linclass.estimators.classifier import LinearClassifier
from linclass.estimators.cv import LinearClassifierCV, LinearRegressorCV
from linclass.losses import RECORDS
from linclass.model import init_params
from linclass.objective import Objective
from linclass.training import fit
from linclass.training.heads import Heads, HeadsStep
from linclass.training.sweep import fit_heads


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500] / 16.0, y[:500]


def _rel(a, b):
    """The largest difference of ``a`` and ``b`` relative to the largest entry of ``b``."""
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(b).max())


# --- torch ----------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", sorted(RECORDS))
def test_torch_heads_objective_and_gradient_are_the_numpy_heads(digits, loss):
    """Every loss record (fused kernel or autograd), with masks, row weights, standardized
    coordinates and per-head rates: the device's (J, grads) of a full pass and of a batch
    are the NumPy step's, whose gradients tests/test_sweeps.py holds to each head's fit."""
    torch = pytest.importorskip("torch")
    from linclass.backends.torch_heads import TorchHeadsStep

    X, y = digits
    rng = np.random.default_rng(4)
    H, n = 3, len(y)
    heads = Heads(loss, "elasticnet", np.array([0.0, 1e-3, 1e-1]), np.array([0.1, 1.0, 3.0]),
                  l1_ratio=0.4, mu=X.mean(axis=0),
                  inv_sigma=rng.uniform(0.5, 2.0, (H, 64)), masks=rng.random((H, n)) < 0.6,
                  row_weights=rng.uniform(0.5, 1.5, (H, n)))
    rows_y = heads.stack_rows(y)
    params = {"W": rng.normal(size=(H, 10, 64)) * 0.3, "b": rng.normal(size=(H, 10))}
    here = HeadsStep(heads)
    there = TorchHeadsStep(heads, torch.device("cpu"), torch.float64, chunk_rows=128)
    tp = there.put(params)
    for (J0, g0), (J1, g1) in [(here.full(params, X, rows_y), there.full(tp, X, rows_y)),
                               (here.batch(params, X, rows_y, np.arange(100, 164)),
                                there.batch(tp, X, rows_y, torch.arange(100, 164)))]:
        np.testing.assert_allclose(J1, J0, rtol=1e-12)
        for k in ("W", "b"):
            assert _rel(there.host(g1[k]), g0[k]) < 1e-12


@pytest.mark.parametrize("loss,optimizer", [("softmax", "momentum"), ("svm", "sgd"),
                                            ("crammer_singer", "nesterov")])
def test_torch_heads_end_where_their_own_torch_fits_end(digits, loss, optimizer):
    """Mini-batches in the torch backend's order: each head is its own
    ``fit(backend="torch")`` (crammer_singer: the autograd kernel, no fused one)."""
    pytest.importorskip("torch")
    X, y = digits
    alphas, rates = np.array([1e-4, 1e-2, 1e-1]), np.array([0.01, 0.05, 0.02])
    start = init_params(64, 10, random_state=0)
    kw = dict(optimizer=optimizer, schedule="cosine", batch_size=64, max_epochs=4,
              random_state=3, tol=0.0, patience=10)
    result = fit_heads(start, X, y, Heads(loss, "l2", alphas, rates), backend="torch", **kw)
    assert result.n_passes == 4 + 4 + 1
    for k in range(3):
        own = fit(start, X, y, value_and_grad=Objective(loss, "l2", alphas[k]),
                  learning_rate=rates[k], backend="torch", progress=False, **kw)
        assert _rel(result.params["W"][k], own.params["W"]) < 1e-6
        assert _rel(result.params["b"][k], own.params["b"]) < 1e-6
        np.testing.assert_allclose(result.history["objective"][:, k], own.history.train_loss,
                                   rtol=1e-6)


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_torch_heads_equal_numpy_heads_with_masks_weights_and_coordinates(digits, penalty):
    """Full-batch steps see the same rows on both backends: the torch heads (masks, row
    weights, standardized coordinates, every penalty) equal the NumPy heads."""
    pytest.importorskip("torch")
    X, y = digits
    rng = np.random.default_rng(0)
    H = 3
    masks = rng.random((H, len(y))) < 0.7
    heads = Heads("ova_logistic", penalty, np.array([1e-4, 1e-3, 1e-2]),
                  np.array([0.5, 0.2, 1.0]), l1_ratio=0.3, mu=X.mean(axis=0),
                  inv_sigma=1.0 / (X.std(axis=0)[None] + rng.uniform(0.1, 0.5, (H, 64))),
                  masks=masks, row_weights=rng.uniform(0.5, 1.5, (H, len(y))))
    start = init_params(64, 10, random_state=1)
    kw = dict(optimizer="gd", max_epochs=6, tol=0.0, patience=10)
    here = fit_heads(start, X, y, heads, **kw)
    there = fit_heads(start, X, y, heads, backend="torch", **kw)
    assert _rel(there.params["W"], here.params["W"]) < 1e-9
    np.testing.assert_allclose(there.objective, here.objective, rtol=1e-9)
    np.testing.assert_allclose(there.history["objective"], here.history["objective"],
                               rtol=1e-9)
    np.testing.assert_array_equal(there.held_out, here.held_out)
    assert there.n_passes == here.n_passes


def test_a_diverging_torch_head_is_dropped_and_the_others_train_on(digits):
    pytest.importorskip("torch")
    X, y = digits
    X = X * 16
    start = init_params(64, 10, random_state=0)
    heads = Heads("squared", "l2", np.array([1e-4, 1e-4]), np.array([1e-5, 50.0]))
    kw = dict(optimizer="sgd", batch_size=64, max_epochs=4, random_state=0)
    result = fit_heads(start, X, y, heads, backend="torch", **kw)
    assert result.dropped.tolist() == [False, True]
    assert result.status[1].startswith("diverged:") and "learning rate" in result.status[1]
    assert np.isnan(result.objective[1]) and (result.params["W"][1] == 0).all()
    own = fit(start, X, y, value_and_grad=Objective("squared", "l2", 1e-4),
              learning_rate=1e-5, backend="torch", progress=False, **kw)
    assert _rel(result.params["W"][0], own.params["W"]) < 1e-6


def test_torch_classifier_cv_scores_each_setting_as_its_own_torch_fit(digits):
    """``LinearClassifierCV(backend="torch")``: each head (standardized coordinates, its
    default rate) is ``LinearClassifier(backend="torch")`` on the training part."""
    pytest.importorskip("torch")
    X, y = digits
    X = X * 16
    alphas, rates = [1e-4, 1e-2], [0.01, 0.1]
    common = dict(optimizer="momentum", max_epochs=4, tol=None, random_state=0,
                  backend="torch")
    cv = LinearClassifierCV(alphas=alphas, learning_rates=rates, refit=False,
                            **common).fit(X, y)
    seed = int(np.random.default_rng(0).integers(2**31))
    from sklearn.model_selection import train_test_split

    tr, va = (np.sort(i) for i in train_test_split(np.arange(len(y)), test_size=0.1,
                                                   stratify=y, random_state=seed))
    for i, (a, r) in enumerate([(a, r) for a in alphas for r in rates]):
        own = LinearClassifier(alpha=a, learning_rate=r, **common).fit(X[tr], y[tr])
        assert _rel(cv.sweep_result_.params["W"][i], own.coef_) < 1e-6
        assert cv.cv_results_["mean_test_score"][i] == pytest.approx(own.score(X[va], y[va]))


def test_torch_refusals_that_stay(digits):
    pytest.importorskip("torch")
    X, y = digits
    with pytest.raises(ValueError, match="regularization path runs on rows in memory"):
        LinearClassifierCV(alphas=[1e-3], optimizer="lbfgs", backend="torch").fit(X, y)
    with pytest.raises(ValueError, match="trains classifiers"):
        fit_heads(init_params(64, 1), X, y.astype(float), Heads(
            "squared", "l2", np.array([0.0]), np.array([0.1]), regression=True),
            optimizer="gd", backend="torch", max_epochs=1)
    assert "backend" not in LinearRegressorCV().get_params()  # a regressor runs on NumPy


def test_search_backend_torch_trains_heads_like_its_own_torch_fits(cli, tmp_path):
    """``linclass search --backend torch``: stacked heads on the device give the table of
    one torch fit per setting, in one pass per epoch for all of them."""
    pytest.importorskip("torch")
    tables, passes = {}, {}
    for sweep in ("heads", "processes"):
        result = cli(["search", "--backend", "torch", "--lr", "0.05,0.5", "--alpha",
                      "0,1e-2", "--epochs", "3", "--limit", "400", "--jobs", "1", "--sweep",
                      sweep, "--quiet", "--out", tmp_path, "--name", sweep])
        assert result.exit_code == 0, result.output
        tables[sweep], metrics = search_table(tmp_path / sweep)
        assert metrics["sweep"] == sweep
        passes[sweep] = metrics["passes"]
    assert tables["heads"] == tables["processes"]
    assert passes["heads"] == 3 + 3 + 2 and passes["processes"] == 4 * 3 * 2


# --- Dask -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    with two_worker_cluster() as cluster, distributed.Client(cluster) as c:
        yield c


def _partition_tasks(stream) -> int:
    """Tasks of the heads' partition function in a task stream."""
    return sum("_partition_heads" in str(t["key"]) for t in stream)


@pytest.mark.parametrize("folds", [False, True])
def test_dask_heads_equal_numpy_heads_in_one_pass_per_epoch(client, digits, folds):
    import dask.array as da
    import distributed

    X, y = digits
    rng = np.random.default_rng(2)
    H = 3
    heads = Heads("softmax", "l2", np.array([1e-4, 1e-2, 1e-1]), np.array([0.3, 0.5, 1.0]),
                  masks=rng.random((H, len(y))) < 0.7 if folds else None,
                  row_weights=rng.uniform(0.5, 1.5, (H, len(y))) if folds else None)
    start = init_params(64, 10, random_state=0)
    Xd = da.from_array(X, chunks=(130, 64))  # 4 partitions, the last one short
    # with folds, a tolerance stop that never fires: every epoch measured (one pass more)
    kw = dict(optimizer="gd", max_epochs=5, tol=0.0 if folds else None, patience=10)
    here = fit_heads(start, X, y, heads, **kw)
    with distributed.get_task_stream(client) as stream:
        there = fit_heads(start, Xd, y, heads, **kw)
    assert _rel(there.params["W"], here.params["W"]) < 1e-8
    np.testing.assert_allclose(there.objective, here.objective, rtol=1e-8)
    np.testing.assert_allclose(there.held_out, here.held_out, rtol=1e-12)
    np.testing.assert_allclose(there.history["objective"], here.history["objective"],
                               rtol=1e-8)
    # one pass over the 4 partitions per epoch for all heads (and one to measure each
    # watched epoch), and one to measure them at the end
    passes = 5 + (5 if folds else 0) + 1
    assert there.n_passes == here.n_passes == passes
    assert _partition_tasks(stream.data) == 4 * passes
    assert len({t["worker"] for t in stream.data}) == 2


def test_dask_classifier_cv_equals_the_in_memory_one(client, digits):
    import dask.array as da

    X, y = digits
    Xd = da.from_array(X, chunks=(100, 64))
    common = dict(alphas=[1e-4, 1e-2], learning_rates=[0.2, 1.0], optimizer="gd",
                  max_epochs=6, tol=None, random_state=0, scaling="none")
    for cv in (None, 3):
        here = LinearClassifierCV(cv=cv, **common).fit(X, y)
        there = LinearClassifierCV(cv=cv, **common).fit(Xd, y)
        np.testing.assert_allclose(there.scores_, here.scores_, rtol=1e-12)
        assert (there.alpha_, there.learning_rate_) == (here.alpha_, here.learning_rate_)
        assert _rel(there.coef_, here.coef_) < 1e-8  # the refit, on the workers
        assert there.n_passes_ == here.n_passes_


def test_dask_local_sgd_heads_are_their_own_local_sgd_fits(client, digits):
    """Mini-batch heads on Dask: each epoch one local epoch per partition for all heads
    (one task each), averaged; every head is its own local-SGD fit on the Dask array with
    the same seed, and a diverging head is dropped while the others train on."""
    import dask.array as da
    import distributed

    X, y = digits
    X = X * 16  # raw pixels: the large rate diverges
    Xd, yd = da.from_array(X, chunks=(130, 64)), da.from_array(y, chunks=130)
    alphas, rates = np.array([1e-4, 1e-2, 1e-4]), np.array([1e-3, 3e-3, 50.0])
    start = init_params(64, 10, random_state=0)
    kw = dict(optimizer="momentum", schedule="cosine", batch_size=32, max_epochs=3,
              random_state=4, tol=None)
    with distributed.get_task_stream(client) as stream:
        result = fit_heads(start, Xd, yd, Heads("softmax", "l2", alphas, rates), **kw)
    assert sum("_local_heads_epoch" in str(t["key"]) for t in stream.data) == 4 * 3
    assert result.n_passes == 3 + 1
    assert result.dropped.tolist() == [False, False, True]
    assert result.status[2].startswith("diverged:") and "learning rate" in result.status[2]
    for k in range(2):
        own = fit(start, Xd, yd, value_and_grad=Objective("softmax", "l2", alphas[k]),
                  learning_rate=rates[k], progress=False, **kw)
        assert _rel(result.params["W"][k], own.params["W"]) < 1e-8


def test_dask_sweeps_refuse_the_lbfgs_path_before_any_work(client, digits):
    import dask.array as da
    import distributed

    X, y = digits
    Xd = da.from_array(X, chunks=(100, 64))
    with distributed.get_task_stream(client) as stream:
        with pytest.raises(ValueError, match="optimizer='lbfgs'.*Dask"):
            LinearClassifierCV(alphas=[1e-3], optimizer="lbfgs").fit(Xd, y)
    assert [t for t in stream.data if Xd.name in str(t["key"])] == []


def test_nan_in_a_dask_partition_is_named(client, digits):
    import dask.array as da

    X, y = digits
    X = X.copy()
    X[250, 3] = np.nan
    with pytest.raises(ValueError, match=r"partition 2 \(rows 200:300\) of X.*NaN"):
        fit_heads(init_params(64, 10), da.from_array(X, chunks=(100, 64)), y,
                  Heads("softmax", "l2", np.array([0.0]), np.array([0.1])), optimizer="gd",
                  max_epochs=1)
