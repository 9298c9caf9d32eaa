"""A folder of embeddings (linclass.data.embeddings): opened without reading the rows
(memory-mapped .npy or zarr), checked, found by load_dataset, trained by `linclass train`
in process or on Dask (`--workers N`, `--scheduler ADDRESS`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import write_embeddings
from linclass import load_dataset
from linclass.data import DataError, Embeddings, load_embeddings

zarr = pytest.importorskip("zarr")


def _write(folder, dtype=np.float32, kind="npy", n=400, d=8, names=None):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n + 100, d))
    y = np.argmax(X @ rng.normal(size=(3, d)).T, axis=1)
    if dtype == np.uint8:
        X = np.clip(X * 40 + 128, 0, 255)
    parts = {"X_train": X[:n].astype(dtype), "y_train": y[:n], "X_test": X[n:].astype(dtype),
             "y_test": y[n:]}
    write_embeddings(folder, parts, kind, chunk_rows=64)
    if names:
        (folder / "class_names.txt").write_text("\n".join(names) + "\n")
    return parts


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.uint8])
@pytest.mark.parametrize("kind", ["npy", "zarr"])
def test_opens_without_reading(tmp_path, dtype, kind):
    parts = _write(tmp_path / "emb", dtype, kind)
    ds = load_dataset(tmp_path / "emb")
    assert isinstance(ds, Embeddings) and ds.n_features == 8 and ds.n_classes == 3
    assert not isinstance(ds.X_train, np.ndarray) or isinstance(ds.X_train, np.memmap)
    assert np.array_equal(np.asarray(ds.X_train[:5]), parts["X_train"][:5])
    assert ds.y_train.dtype == np.int64 and ds.class_names == ["0", "1", "2"]


def test_class_names_file(tmp_path):
    _write(tmp_path / "emb", names=["cat", "dog", "fox"])
    assert load_embeddings(tmp_path / "emb").class_names == ["cat", "dog", "fox"]
    (tmp_path / "emb" / "class_names.txt").write_text("cat\ndog\n")
    with pytest.raises(DataError, match="label 2 has no name"):
        load_embeddings(tmp_path / "emb")


@pytest.mark.parametrize("key,bad,match", [
    ("X_train", np.zeros((400, 8), np.int32), "float16, float32 or uint8"),
    ("X_test", np.zeros((100, 7), np.float32), "X_test has 7 features"),
    ("y_train", np.zeros(399, np.int64), r"y_train must have shape \(400,\)"),
    ("y_test", np.zeros(100, np.float32), "integer labels"),
    ("X_train", np.zeros((400, 8, 1), np.float32), "must be 2-D"),
])
def test_bad_folders_are_refused(tmp_path, key, bad, match):
    _write(tmp_path / "emb")
    np.save(tmp_path / "emb" / f"{key}.npy", bad)
    with pytest.raises(DataError, match=match):
        load_embeddings(tmp_path / "emb")


def test_missing_file_is_named(tmp_path):
    _write(tmp_path / "emb")
    (tmp_path / "emb" / "y_test.npy").unlink()
    with pytest.raises(DataError, match="missing y_test.npy"):
        load_embeddings(tmp_path / "emb")


@pytest.mark.parametrize("optimizer", ["lbfgs", "sgd"])
@pytest.mark.usefixtures("quick_pictures")  # the run trains; its pictures are not looked at
def test_cli_trains_on_an_embeddings_folder(cli, tmp_path, optimizer):
    _write(tmp_path / "emb", np.float16, "zarr")
    result = cli(["train", "--quiet", "--dataset", str(tmp_path / "emb"), "--optimizer",
                  optimizer, "--epochs", "20", "--out", tmp_path, "--name", "r"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["settings"]["optimizer"] == optimizer and metrics["n_features"] == 8
    assert metrics["test_accuracy"] > 0.85 and (tmp_path / "r" / "model.safetensors").is_file()


def test_cli_refuses_image_options_for_embeddings(cli, tmp_path):
    _write(tmp_path / "emb")
    result = cli(["train", "--quiet", "--dataset", str(tmp_path / "emb"), "--features", "hog",
                  "--out", tmp_path])
    assert result.exit_code == 1 and "not for a folder of embeddings" in result.output


def test_cli_trains_on_a_dask_scheduler(cli, tmp_path):
    """--scheduler ADDRESS: the rows of a memory-mapped .npy become partitions read by the
    workers (an in-process cluster here, to start fast; --workers N starts processes)."""
    distributed = pytest.importorskip("distributed")
    _write(tmp_path / "emb", np.float32, "npy")
    with distributed.LocalCluster(n_workers=1, processes=False,
                                  dashboard_address=None) as cluster:
        result = cli(["train", "--quiet", "--dataset", str(tmp_path / "emb"), "--optimizer",
                      "lbfgs", "--epochs", "30", "--scheduler", cluster.scheduler_address,
                      "--out", tmp_path, "--name", "r"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["dask_workers"] == 1 and metrics["test_accuracy"] > 0.85


def test_cli_refuses_workers_for_images_and_both_options(cli, tmp_path):
    result = cli(["train", "--quiet", "--dataset", "digits", "--workers", "2", "--out", tmp_path])
    assert result.exit_code == 1 and "folder of embeddings" in result.output
    _write(tmp_path / "emb")
    result = cli(["train", "--quiet", "--dataset", str(tmp_path / "emb"), "--workers", "2",
                  "--scheduler", "tcp://nowhere:1", "--out", tmp_path])
    assert result.exit_code == 2 and "not both" in result.output


@pytest.mark.usefixtures("quick_pictures")  # the run trains; its pictures are not looked at
def test_cli_workers_2_trains_on_a_local_cluster_of_two(cli, tmp_path):
    """--workers N starts N worker processes for the run; the run says so and records it."""
    pytest.importorskip("distributed")
    _write(tmp_path / "emb", np.float32, "npy")
    result = cli(["train", "--dataset", str(tmp_path / "emb"), "--workers", "2",
                  "--epochs", "20", "--out", tmp_path, "--name", "r"])
    assert result.exit_code == 0, result.output
    assert "training on 2 Dask workers" in result.stderr
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["dask_workers"] == 2 and metrics["test_accuracy"] > 0.85
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in result.stdout
    assert (tmp_path / "r" / "model.safetensors").is_file()


def test_cli_refuses_no_workers_before_any_run(cli, tmp_path):
    _write(tmp_path / "emb")
    result = cli(["train", "--dataset", str(tmp_path / "emb"), "--workers", "0",
                  "--out", tmp_path / "runs"])
    assert result.exit_code == 2 and "--workers" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def embeddings_run(tmp_path_factory):
    """One linear probe run (npy rows, --val-fraction 0.2), shared by the tests below."""
    from conftest import cli_invoke

    tmp = tmp_path_factory.mktemp("emb-run")
    _write(tmp / "emb", np.float32, "npy", names=["cat", "dog", "fox"])
    result = cli_invoke(["train", "--quiet", "--dataset", tmp / "emb", "--val-fraction", "0.2",
                         "--optimizer", "lbfgs", "--epochs", "20", "--out", tmp, "--name", "r"])
    assert result.exit_code == 0, result.output
    return tmp / "r", tmp / "emb"


def test_cli_embeddings_run_honours_val_fraction(embeddings_run):
    run, _ = embeddings_run
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"]["val_fraction"] == 0.2 and metrics["data"]["kind"] == "embeddings"
    assert metrics["hyperparameters"]["validation_fraction"] == 0.2
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (320, 80, 100)
    assert 0.8 < metrics["val_accuracy"] <= 1


def test_cli_embeddings_run_has_pictures_and_a_report(embeddings_run):
    run, _ = embeddings_run
    for name in ("history.png", "confusion.png", "landscape.png"):
        assert (run / name).read_bytes().startswith(b"\x89PNG"), name
    assert not (run / "templates.png").exists()
    html = (run / "report.html").read_text()
    assert "not drawn: the inputs are embedding vectors, not images" in html
    assert "320 / 80 / 100" in html and "fox" in html


def test_cli_evaluates_an_embeddings_run(cli, embeddings_run, tmp_path):
    run, folder = embeddings_run
    metrics = json.loads((run / "metrics.json").read_text())
    model = run / "model.safetensors"
    for split, n in (("test", 100), ("train", 320), ("val", 80)):
        result = cli(["evaluate", "--model", model, "--split", split, "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["n"] == n and sum(map(sum, report["confusion"])) == n
        assert report["accuracy"] == pytest.approx(metrics[f"{split}_accuracy"])
        assert report["class_names"] == ["cat", "dog", "fox"]
    result = cli(["evaluate", "--model", model, "--dataset", folder, "--plot",
                  tmp_path / "cm.png"])
    assert result.exit_code == 0, result.output
    assert "100 rows" in result.output and (tmp_path / "cm.png").is_file()


def test_cli_evaluate_refuses_images_for_a_probe_and_rows_for_an_image_model(
        cli, embeddings_run, cli_run, one_line_error):
    run, folder = embeddings_run
    one_line_error(cli(["evaluate", "--model", run / "model.safetensors", "--dataset",
                        "digits"]), "trained on a folder of embeddings")
    one_line_error(cli(["evaluate", "--model", cli_run / "model.safetensors", "--dataset",
                        folder]), "a folder of embeddings, not images")


def test_cli_plots_an_embeddings_run(cli, embeddings_run, tmp_path):
    import shutil

    run = tmp_path / "r"
    shutil.copytree(embeddings_run[0], run)
    for name in ("history.png", "confusion.png", "report.html"):
        (run / name).unlink()
    result = cli(["plot", run, "--force"])
    assert result.exit_code == 0, result.output
    assert (run / "history.png").is_file() and (run / "confusion.png").is_file()
    assert "embedding vectors" in (run / "report.html").read_text()


def test_cli_plot_refuses_an_embeddings_run_of_an_older_linclass(cli, embeddings_run, tmp_path,
                                                                 one_line_error):
    import shutil

    run = tmp_path / "old"
    shutil.copytree(embeddings_run[0], run)
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["val_accuracy"], metrics["n_val"]  # what train wrote before --val-fraction
    (run / "metrics.json").write_text(json.dumps(metrics))
    one_line_error(cli(["plot", run, "--force"]), "train it again")
