"""Adversarial cases for text tables and ``linclass regress`` (issue 29, item 10).

    python tests/adversarial/csv_family.py [CASE ...]
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path

import numpy as np
from harness import Case, cli, main, one_line_error, refused


def data(n=40, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ np.arange(1.0, d + 1) + 0.01 * rng.normal(size=n)


def text(header, X, y):
    return header + "\n" + "\n".join(",".join(f"{v:.17g}" for v in (*x, t))
                                     for x, t in zip(X, y, strict=True)) + "\n"


def write(tmp: Path, content: str | bytes, name="t.csv") -> Path:
    path = tmp / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def load(path, target=None):
    from linclass.data.tabular import load_regression

    return lambda: load_regression(path, target)


def with_cell(tmp, row, col, value, header="a,b,y"):
    X, y = data()
    lines = text(header, X, y).splitlines()
    cells = lines[row].split(",")
    cells[col] = value
    lines[row] = ",".join(cells)
    return write(tmp, "\n".join(lines) + "\n")


def duplicate_headers(tmp):
    X, y = data(d=3)
    return refused(load(write(tmp, text("x,x,x,y", X, y))), "column 'x' appears 3 times")


def two_rows_at_plus_minus_1e308(tmp):
    X, y = data()
    X[0, 0], X[1, 0] = 1e308, -1e308
    return refused(load(write(tmp, text("a,b,y", X, y))), "t.csv", "column 'a', line 2",
                   "too large")


def single_1e308_names_the_file(tmp):
    path = with_cell(tmp, 5, 1, "1e308")  # the 6th line of the file
    code, out, err = cli(["regress", path, "--quiet"])
    return one_line_error(code, out, err, str(path), "column 'b', line 6")


def huge_target(tmp):
    return refused(load(with_cell(tmp, 3, 2, "-1e300")), "column 'y', line 4")


def nan_value(tmp):
    return refused(load(with_cell(tmp, 2, 0, "nan")), "column 'a', line 3", "not finite")


def inf_value(tmp):
    return refused(load(with_cell(tmp, 9, 1, "-inf")), "line 10", "not finite")


def bom_with_target_first(tmp):
    X, y = data()
    path = write(tmp, "\ufeff" + text("t,a,b", np.column_stack([y, X[:, 0]]), X[:, 1]))
    got = load(path, "t")()
    return got.target_name == "t" and got.feature_names == ["a", "b"], str(got.feature_names)


def bom_not_in_feature_names(tmp):
    X, y = data()
    got = load(write(tmp, "\ufeff" + text("a,b,y", X, y)))()
    return got.feature_names == ["a", "b"], str(got.feature_names)


def two_data_rows(tmp):
    X, y = data(n=2)
    path = write(tmp, text("a,b,y", X, y))
    code, out, err = cli(["regress", path, "--quiet"])
    return one_line_error(code, out, err, "2 rows are too few")


def one_test_row(tmp):
    X, y = data(n=6)
    path = write(tmp, text("a,b,y", X, y))
    code, out, err = cli(["regress", path, "--quiet", "--test-fraction", "0.1"])
    return one_line_error(code, out, err, "to test", "R^2 needs at least 2")


def header_only(tmp):
    return refused(load(write(tmp, "a,b,y\n")), "at least one data row")


def empty_file(tmp):
    return refused(load(write(tmp, "")), "header row")


def ragged_row(tmp):
    return refused(load(write(tmp, "a,b,y\n1,2,3\n4,5\n")), "line 3 has 2 fields")


def not_a_number(tmp):
    return refused(load(write(tmp, "a,b,y\n1,2,3\n4,five,6\n")), "line 3")


def unknown_target(tmp):
    return refused(load(write(tmp, "a,b\n1,2\n3,4\n"), "z"), "columns are a, b")


def latin1_bytes(tmp):
    return refused(load(write(tmp, "caf\xe9,y\n1,2\n3,4\n".encode("latin-1"))),
                   "not a readable CSV")


def target_only_column(tmp):
    return refused(load(write(tmp, "y\n1\n2\n3\n")), "2-D")


def two_empty_names(tmp):
    return refused(load(write(tmp, ",,y\n1,2,3\n4,5,6\n")), "appears 2 times")


def spaces_and_quotes(tmp):
    got = load(write(tmp, 'a,b,y\n"1.5", 2 ,3\n"4",5,6\n7,8,9.5\n'))()
    return np.array_equal(got.X[:, 0], [1.5, 4, 7]), str(got.X.tolist())


def crlf_line_ends(tmp):
    got = load(write(tmp, "a,b,y\r\n1,2,3\r\n4,5,6\r\n"))()
    return got.X.shape == (2, 2) and got.feature_names == ["a", "b"], str(got.X.shape)


def nul_byte(tmp):
    return refused(load(write(tmp, "a,b,y\n1,2,3\n4,\x00,6\n")), "t.csv")


def boundary_1e150_accepted(tmp):
    got = load(with_cell(tmp, 2, 0, "1e150"))()
    return float(got.X[1, 0]) == 1e150, "accepted"


def npz_huge_value(tmp):
    X, y = data()
    X[4, 1] = 1e308
    np.savez(tmp / "t.npz", X=X, y=y)
    return refused(load(tmp / "t.npz"), "t.npz", "row 4", "too large")


def big_table_bounded_memory(tmp):
    X, y = data(n=300_000, d=9)
    path = write(tmp, text(",".join(f"f{j}" for j in range(9)) + ",y", X, y))
    tracemalloc.start()
    got = load(path)()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    final = got.X.nbytes + got.y.nbytes
    ok = peak < 2.5 * final + 8 * 2**20 and np.allclose(got.X, X)
    return ok, (f"{path.stat().st_size / 2**20:.0f} MB file: peak {peak / 2**20:.0f} MB "
                f"for {final / 2**20:.0f} MB of floats")


def column_stats_of_huge_column(tmp):
    from linclass.training.reparam import column_stats

    X, _ = data(n=300, d=3)
    X[0, 2], X[1, 2] = 1e308, -1e308
    mu, std = column_stats(X)
    ok = bool(np.all(np.isfinite(mu)) and np.all(np.isfinite(std)) and std[2] > 1e306)
    return ok, f"std {std.tolist()}"


def regress_recovers_the_line(tmp):
    X, y = data(n=400, d=3)
    path = write(tmp, text("a,b,c,y", X, y))
    code, out, err = cli(["regress", path, "--quiet", "--json"])
    r2 = json.loads(out).get("test_r2", 0) if code == 0 else 0
    return code == 0 and r2 > 0.99, f"exit {code}, test R^2 {r2:.4f}"


CASES: dict[str, Case] = {name: fn for name, fn in globals().items()
                          if callable(fn) and getattr(fn, "__module__", "") == "__main__"
                          and name not in ("data", "text", "write", "load", "with_cell")}

if __name__ == "__main__":
    sys.exit(main("csv", CASES))
