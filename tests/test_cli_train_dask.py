"""``linclass train --dataset FOLDER --workers N / --scheduler ADDRESS``: an embeddings
folder trained on Dask. Covered: --workers 2 trains on a LocalCluster of two workers
(exit 0, model and metrics written, the run says and records that Dask trained it, test
accuracy sensible); --scheduler trains on a cluster the test started; both options together
and --workers 0 are refused as usage errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")


@pytest.fixture
def folder(tmp_path):
    """A separable embeddings folder: 600 training and 200 test float32 rows, 3 classes."""
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 8))
    for part, n in (("train", 600), ("test", 200)):
        X = rng.normal(size=(n, 8)).astype(np.float32)
        np.save(tmp_path / f"X_{part}.npy", X)
        np.save(tmp_path / f"y_{part}.npy", np.argmax(X @ W.T, axis=1).astype(np.int64))
    return tmp_path


def _trained_on_dask(result, out, n_workers):
    assert result.exit_code == 0, result.output
    assert f"training on {n_workers} Dask workers" in result.stderr
    metrics = json.loads((out / "run-001" / "metrics.json").read_text())
    assert metrics["dask_workers"] == n_workers
    assert metrics["test_accuracy"] > 0.9
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in result.stdout
    assert any((out / "run-001").glob("model*"))


def test_workers_2_trains_on_a_local_cluster_of_two(cli, folder, tmp_path):
    out = tmp_path / "runs"
    result = cli(["train", "--dataset", folder, "--workers", 2, "--out", out])
    _trained_on_dask(result, out, 2)


def test_scheduler_trains_on_a_running_cluster(cli, folder, tmp_path):
    out = tmp_path / "runs"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        result = cli(["train", "--dataset", folder, "--scheduler", cluster.scheduler_address,
                      "--out", out])
    _trained_on_dask(result, out, 2)


@pytest.mark.parametrize("args", [["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
                                  ["--workers", "0"]])
def test_both_options_or_no_workers_are_usage_errors(cli, folder, tmp_path, args):
    result = cli(["train", "--dataset", folder, *args, "--out", tmp_path / "runs"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "--workers" in result.output
    assert not (tmp_path / "runs" / "run-001").exists()
