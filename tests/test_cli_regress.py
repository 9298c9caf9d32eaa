"""``linclass regress`` and the tabular loader: fit on a CSV or .npz, match scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from linclass import LinearRegressor
from linclass.data.errors import DataError
from linclass.data.tabular import load_regression

FULL_BATCH = ["--optimizer", "momentum", "--batch-size", "1000", "--lr", "0.05", "--schedule",
              "constant", "--epochs", "3000", "--tol", "none", "--penalty", "none"]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    X, y = load_diabetes(return_X_y=True)
    root = tmp_path_factory.mktemp("tables")
    np.savez(root / "d.npz", X=X, y=y)
    header = ",".join(["target"] + [f"f{j}" for j in range(10)])  # the target first
    np.savetxt(root / "d.csv", np.column_stack([y, X]), delimiter=",", header=header,
               comments="", fmt="%.17g")
    return root, X, y


def test_csv_and_npz_load_the_same_table(tables):
    root, X, y = tables
    a, b = load_regression(root / "d.npz"), load_regression(root / "d.csv", target="target")
    assert_allclose(a.X, X) and assert_allclose(a.y, y)
    assert_allclose(b.X, X, rtol=1e-15) and assert_allclose(b.y, y, rtol=1e-15)
    assert b.feature_names == [f"f{j}" for j in range(10)] and b.target_name == "target"


@pytest.mark.parametrize("content, match", [
    ("a,b\n1,2\n3,x\n", "line 3"), ("a,b\n1,2\n3\n", "fields"), ("a,b\n", "header row"),
])
def test_bad_csv_files_name_the_problem(tmp_path, content, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=match):
        load_regression(path)


def test_unknown_target_column_lists_the_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(DataError, match="no column named 'z'; columns are a, b"):
        load_regression(path, target="z")
    assert load_regression(path).target_name == "b"


def test_regress_matches_least_squares_in_raw_units(cli, tables, tmp_path):
    root, X, y = tables
    model = tmp_path / "m.safetensors"
    result = cli(["regress", root / "d.npz", "--quiet", "--json", "--test-fraction", "0",
                  "--out", model, *FULL_BATCH])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    sk = LinearRegression().fit(X, y)
    assert metrics["train_r2"] == pytest.approx(sk.score(X, y), abs=1e-6)
    reg = LinearRegressor.load(model)
    assert_allclose(reg.predict(X), sk.predict(X), rtol=1e-3)


def test_regress_options_come_from_the_records(cli, tables):
    root, _, _ = tables
    assert cli(["regress", root / "d.csv", "--quiet", "--margin", "1"]).exit_code == 2
    bad = cli(["regress", root / "d.csv", "--quiet", "--optimizer", "gd", "--momentum", "0.5"])
    assert bad.exit_code == 2 and "--momentum applies to optimizer" in bad.output
    missing = cli(["regress", root / "nope.csv", "--quiet"])
    assert missing.exit_code == 1 and "file not found" in missing.output


def test_regress_shows_no_accuracy(cli, tables):
    """Regression has no accuracy: no "acc 0.000" progress line, the fit's loss instead."""
    root, _, _ = tables
    result = cli(["regress", root / "d.csv", "--epochs", "5"])
    assert result.exit_code == 0, result.output
    assert "acc " not in result.output and "fitted in 5 epochs" in result.stderr


def test_regress_checks_out_before_any_work(cli, tables, tmp_path, monkeypatch, one_line_error):
    from linclass.cli import regress

    def no_work(*args, **kwargs):
        raise AssertionError("the table was loaded before --out was checked")

    monkeypatch.setattr(regress, "load_regression", no_work)
    existing = tmp_path / "m.safetensors"
    existing.write_bytes(b"")
    one_line_error(cli(["regress", tables[0] / "d.csv", "--out", existing]),
                   "already exists; pass --force")
    one_line_error(cli(["regress", tables[0] / "d.csv", "--out", tmp_path / "no" / "m.st"]),
                   "is not a folder")
