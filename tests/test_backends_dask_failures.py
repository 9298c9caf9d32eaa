"""A Dask worker killed in the middle of a fit (linclass.backends.dask), on clusters of
their own (two worker processes under nannies), not the shared one of
test_backends_dask.py.

The kill is deterministic: the objective, run on a worker, ends its process (``os._exit``)
at the first call whose parameters are no longer the initial ones, i.e. once the fit has
taken a step, and only if it wins the exclusive creation of a marker file, so exactly one
worker dies once. Covered: lbfgs finishes with the in-process coefficients and local SGD
(momentum) with those of a run without the kill, the nanny restarted the dead worker; with
``distributed.scheduler.allowed-failures = 0`` the fit raises ``WorkerLostError`` saying
what to do, chained to Dask's ``KilledWorker``, and the estimator stays unfitted.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import flat_params, two_worker_cluster
from linclass import LinearClassifier
from linclass.model import init_params
from linclass.training import fit

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

from linclass.backends.dask import WorkerLostError  # noqa: E402


def _killing(value_and_grad, marker: Path, initial_W: np.ndarray):
    """``value_and_grad`` that, on a worker, kills its process once (see the docstring)."""

    def killing_value_and_grad(params, X, y):
        try:
            distributed.get_worker()
        except ValueError:  # not on a worker
            return value_and_grad(params, X, y)
        if not np.array_equal(params["W"], initial_W):
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os._exit(1)
        return value_and_grad(params, X, y)

    return killing_value_and_grad


@pytest.fixture
def data(dask_blobs):
    return dask_blobs(2000, 8, 3, 500)


def _workers(client) -> set[str]:
    return set(client.scheduler_info()["workers"])


def _fit_killing_one_worker(client, obj, marker: Path, p, Xd, yd, **kw):
    """``fit`` on the cluster with the objective that kills one worker once; checks that
    it did, and that its nanny brought a new one."""
    before = _workers(client)
    result = fit(p, Xd, yd, **kw, value=obj["value"],
                 value_and_grad=_killing(obj["value_and_grad"], marker, p["W"]))
    client.wait_for_workers(2, timeout=30)
    after = _workers(client)
    assert marker.exists(), "no worker was killed"
    assert len(before & after) == 1 and len(after) == 2  # one died, its nanny restarted it
    return result


def test_lbfgs_survives_a_worker_killed_mid_fit_with_the_in_process_coefficients(
        data, softmax_objective, tmp_path):
    obj = softmax_objective()
    X, y, Xd, yd = data
    p = init_params(8, 3, random_state=0)
    kw = dict(optimizer="lbfgs", max_epochs=10, tol=None, progress=False)
    here = fit(p, X, y, **kw, **obj)
    with two_worker_cluster() as cluster, distributed.Client(cluster) as client:
        there = _fit_killing_one_worker(client, obj, tmp_path / "killed", p, Xd, yd, **kw)
    scale = np.abs(flat_params(here)).max()
    np.testing.assert_allclose(flat_params(there), flat_params(here), rtol=0, atol=1e-6 * scale)
    assert there.n_iter == here.n_iter == 10


def test_local_sgd_survives_a_worker_killed_mid_epoch_unchanged(data, softmax_objective,
                                                                  tmp_path):
    obj = softmax_objective()
    _, _, Xd, yd = data
    p = init_params(8, 3, random_state=0)
    kw = dict(optimizer="momentum", batch_size=64, max_epochs=3, tol=None, progress=False,
              random_state=0)
    disarmed = tmp_path / "disarmed"
    disarmed.touch()  # the same objective, which then kills nothing
    with two_worker_cluster() as cluster, distributed.Client(cluster) as client:
        calm = fit(p, Xd, yd, **kw, value=obj["value"],
                   value_and_grad=_killing(obj["value_and_grad"], disarmed, p["W"]))
        killed = _fit_killing_one_worker(client, obj, tmp_path / "killed", p, Xd, yd, **kw)
    # the lost partition's epoch reran from the same parameters, state and seed
    assert killed.n_iter == calm.n_iter == 3
    np.testing.assert_allclose(flat_params(killed), flat_params(calm), rtol=1e-12, atol=0)


def _die_on_a_worker(block):
    try:
        distributed.get_worker()
    except ValueError:
        return block
    os._exit(1)


def test_when_dask_gives_up_on_a_dead_worker_the_fit_raises_and_fits_nothing(
        data, softmax_objective, tmp_path):
    obj = softmax_objective()
    _, _, Xd, yd = data
    p = init_params(8, 3, random_state=0)
    clf = LinearClassifier(optimizer="lbfgs", max_epochs=10, tol=None, random_state=0)
    with two_worker_cluster(**{"distributed.scheduler.allowed-failures": 0}) as cluster, \
            distributed.Client(cluster) as client:
        with pytest.raises(WorkerLostError, match="allowed-failures") as info:
            fit(p, Xd, yd, optimizer="lbfgs", max_epochs=10, tol=None, progress=False,
                value=obj["value"],
                value_and_grad=_killing(obj["value_and_grad"], tmp_path / "killed", p["W"]))
        assert (tmp_path / "killed").exists(), "no worker was killed"
        assert isinstance(info.value.__cause__, distributed.KilledWorker)
        assert "no partial model" in str(info.value)
        client.wait_for_workers(2, timeout=30)
        # the estimator reads X before the fit loop too, where Dask's own error comes out
        with pytest.raises((WorkerLostError, distributed.KilledWorker)):
            clf.fit(Xd.map_blocks(_die_on_a_worker, dtype=Xd.dtype), yd)
    assert not hasattr(clf, "coef_")
