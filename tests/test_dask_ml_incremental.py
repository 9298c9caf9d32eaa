"""``dask_ml.wrappers.Incremental(LinearClassifier(...))``: fit on Dask arrays calls
``partial_fit`` once per block, in order. Covered: accuracy on a separable set, predict and
score through the wrapper, coefficients identical to manual partial_fit over the same
blocks (same random_state, ``shuffle_blocks=False``), and the same on a distributed
Client."""

from __future__ import annotations

import numpy as np
import pytest

from linclass import LinearClassifier

da = pytest.importorskip("dask.array")
wrappers = pytest.importorskip("dask_ml.wrappers")


@pytest.fixture(scope="module")
def data(dask_blobs):
    return dask_blobs(2000, 8, 3, 500)


def _clf():
    return LinearClassifier(optimizer="sgd", batch_size=32, random_state=0)


def _manual(X, y):
    clf = _clf()
    for start in range(0, len(y), 500):
        clf.partial_fit(X[start:start + 500], y[start:start + 500], classes=[0, 1, 2])
    return clf


def _incremental(Xd, yd):
    inc = wrappers.Incremental(_clf(), shuffle_blocks=False)
    return inc.fit(Xd, yd, classes=[0, 1, 2])


def test_incremental_fits_block_by_block_like_manual_partial_fit(data):
    X, y, Xd, yd = data
    inc = _incremental(Xd, yd)
    manual = _manual(X, y)
    np.testing.assert_array_equal(inc.estimator_.coef_, manual.coef_)
    assert inc.estimator_.n_iter_ == manual.n_iter_ == 4  # one partial_fit per block


def test_incremental_predicts_and_scores_a_separable_set(data):
    X, y, Xd, yd = data
    inc = _incremental(Xd, yd)
    assert inc.score(Xd, yd) > 0.9
    pred = np.asarray(inc.predict(Xd))
    assert pred.shape == y.shape and np.mean(pred == y) > 0.9


def test_incremental_on_a_distributed_client(data):
    distributed = pytest.importorskip("distributed")
    X, y, Xd, yd = data
    with distributed.Client(n_workers=1, threads_per_worker=1, processes=False,
                            dashboard_address=None):
        inc = _incremental(Xd, yd)
    np.testing.assert_array_equal(inc.estimator_.coef_, _manual(X, y).coef_)
