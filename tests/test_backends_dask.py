"""Dask arrays (linclass.backends.dask) on a LocalCluster of two worker processes: lbfgs
and gd take the in-process iterates, both workers compute, local SGD lands within 0.01
accuracy of in-process SGD, and bad partitions are refused with their names."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import flat_params, two_worker_cluster
from linclass import LinearClassifier
from linclass.model import init_params
from linclass.training import fit

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

@pytest.fixture(scope="module")
def client():
    with two_worker_cluster() as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def data(dask_blobs):
    return dask_blobs(4000, 16, 4, 1000)


def test_lbfgs_on_dask_equals_in_process_and_both_workers_work(client, data, obj):
    X, y, Xd, yd = data
    p = init_params(16, 4, random_state=0)
    here = fit(p, X, y, optimizer="lbfgs", max_epochs=15, tol=None, progress=False, **obj)
    with distributed.get_task_stream(client) as stream:
        there = fit(p, Xd, yd, optimizer="lbfgs", max_epochs=15, tol=None, progress=False,
                    **obj)
    scale = np.abs(flat_params(here)).max()
    np.testing.assert_allclose(flat_params(there), flat_params(here), rtol=0, atol=1e-6 * scale)
    assert there.n_iter == here.n_iter == 15
    assert len({task["worker"] for task in stream.data}) == 2


def test_gd_on_dask_equals_in_process(client, data, obj):
    X, y, Xd, yd = data
    p = init_params(16, 4, random_state=0)
    here = fit(p, X, y, optimizer="gd", max_epochs=5, tol=None, progress=False, **obj)
    there = fit(p, Xd, yd, optimizer="gd", max_epochs=5, tol=None, progress=False, **obj)
    np.testing.assert_allclose(flat_params(there), flat_params(here), rtol=1e-5, atol=1e-6)
    assert there.history.train_accuracy == pytest.approx(here.history.train_accuracy)


def test_local_sgd_is_within_a_hundredth_of_sgd(client, data, obj):
    X, y, Xd, yd = data
    p = init_params(16, 4, random_state=0)
    kw = dict(optimizer="momentum", batch_size=64, max_epochs=20, tol=None, progress=False,
              **obj)
    here = fit(p, X, y, **kw)
    there = fit(p, Xd, yd, **kw)
    assert abs(there.history.train_accuracy[-1] - here.history.train_accuracy[-1]) < 0.01
    # the schedule ran its whole course: every partition's updates count (each partition
    # rounds its last batch up, so up to one more update per partition and epoch)
    assert here.state.count <= there.state.count <= here.state.count + 4 * 20


def test_nan_in_one_partition_is_named(client, data, obj):
    X, y, _, yd = data
    X = X.copy()
    X[2500, 1] = np.nan
    Xd = da.from_array(X, chunks=(1000, 16))
    for optimizer in ("lbfgs", "sgd"):
        with pytest.raises(ValueError, match=r"partition 2 \(rows 2000:3000\) of X.*NaN"):
            fit(init_params(16, 4), Xd, yd, optimizer=optimizer, max_epochs=2,
                progress=False, **obj)


def test_mismatched_partitions_are_refused_before_any_work(client, data, obj):
    _, _, Xd, _ = data
    y_other = da.from_array(data[1], chunks=1500)
    X_columns = Xd.rechunk((1000, 8))
    with distributed.get_task_stream(client) as stream:
        with pytest.raises(ValueError, match="same row partitions"):
            fit(init_params(16, 4), Xd, y_other, optimizer="gd", max_epochs=2,
                progress=False, **obj)
        with pytest.raises(ValueError, match="split along rows only"):
            fit(init_params(16, 4), X_columns, data[3], optimizer="gd",
                max_epochs=2, progress=False, **obj)
    # Any work of these fits would start from the chunks of the two arrays made here; the
    # stream may also show tasks of an earlier test ending in the window (the partitions
    # still running when test_nan_in_one_partition_is_named's fit stopped), not ours.
    ours = [t for t in stream.data
            if y_other.name in str(t["key"]) or X_columns.name in str(t["key"])]
    assert ours == []


def test_search_optimizers_are_refused(client, data, obj):
    with pytest.raises(ValueError, match="search optimizers do not run on Dask"):
        fit(init_params(16, 4), data[2], data[3], optimizer="random_search", max_epochs=2,
            progress=False, value=obj["value"])


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_local_schedulers(data, scheduler, obj):
    import dask

    X, y, Xd, yd = data
    p = init_params(16, 4, random_state=0)
    here = fit(p, X, y, optimizer="lbfgs", max_epochs=5, tol=None, progress=False, **obj)
    with dask.config.set(scheduler=scheduler):
        there = fit(p, Xd, yd, optimizer="lbfgs", max_epochs=5, tol=None, progress=False, **obj)
    np.testing.assert_allclose(flat_params(there), flat_params(here), rtol=0, atol=1e-6)


def test_estimator_fits_a_dask_array(client, data):
    X, y, Xd, _ = data
    on_dask = LinearClassifier(optimizer="lbfgs", tol=1e-6, random_state=0).fit(Xd, y)
    here = LinearClassifier(optimizer="lbfgs", tol=1e-6, random_state=0).fit(X, y)
    np.testing.assert_allclose(on_dask.coef_, here.coef_, atol=1e-4 * np.abs(here.coef_).max())
    assert on_dask.score(X, y) > 0.95


def test_local_sgd_is_reproducible_with_two_partitions_per_worker(client, data, obj):
    # each worker holds one copy of the shared optimizer state for its partitions: a
    # partition updating it in place would change where the next one starts
    _, _, Xd, yd = data
    p = init_params(16, 4, random_state=0)
    kw = dict(optimizer="momentum", batch_size=64, max_epochs=3, tol=None, progress=False,
              random_state=0, **obj)
    first, second = fit(p, Xd, yd, **kw), fit(p, Xd, yd, **kw)
    np.testing.assert_array_equal(flat_params(first), flat_params(second))
