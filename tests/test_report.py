"""The run report: one self-contained, escaped HTML page and a Markdown summary."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from linclass.io.report import format_value, per_class_table, write_report
from linclass.plots import plot_confusion_matrix, plot_schedule, save_figure

EVIL = "<script>alert('x')</script>"


@pytest.fixture
def report_args(tmp_path):
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    names = ["cat", "car", EVIL]
    (tmp_path / "run").mkdir()
    inside = save_figure(plot_schedule(0.1, 10), tmp_path / "run" / "schedule.png")
    outside = save_figure(plot_schedule(0.2, 10), tmp_path / "elsewhere.png")
    return dict(
        title=f"Run {EVIL}",
        summary={"dataset": "digits", "loss": "softmax",
                 "hyper-parameters": {"learning_rate": 0.5, "alpha": 1e-4},
                 "test_accuracy": 0.9475, "wall_time": 1.234, EVIL: EVIL},
        tables={"per-class (test)": per_class_table(y_true, y_pred, names)},
        figures={"confusion": plot_confusion_matrix(y_true, y_pred, names).figure,
                 "schedule": inside, "other": outside},
    )


def test_html_is_self_contained_with_every_figure_embedded(tmp_path, report_args):
    html_path, md_path = write_report(tmp_path / "run", **report_args)
    page = html_path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "Content-Security-Policy" in page
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) == 3
    assert all(base64.b64decode(u).startswith(b"\x89PNG") for u in uris)
    for text in ("Test accuracy", "94.75%", "1.23 s", "learning_rate=0.5", "Precision"):
        assert text in page


def test_every_user_string_is_escaped(tmp_path, report_args):
    html_path, md_path = write_report(tmp_path / "run", **report_args)
    page = html_path.read_text(encoding="utf-8")
    assert EVIL not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<title>Run &lt;script&gt;" in page
    assert EVIL not in md_path.read_text(encoding="utf-8")


def test_markdown_links_pngs_that_exist_in_the_run_dir(tmp_path, report_args):
    run = tmp_path / "run"
    _, md_path = write_report(run, **report_args)
    md = md_path.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(links) == ["confusion.png", "other.png", "schedule.png"]
    assert all((run / link).is_file() for link in links)
    assert "| Test accuracy | 94.75% |" in md
    assert "| Class | Precision | Recall | F1 | Support |" in md


def test_refuses_to_overwrite_without_force(tmp_path, report_args):
    run = tmp_path / "run"
    html_path, md_path = write_report(run, **report_args)
    before = sorted(p.name for p in run.iterdir())
    html_path.write_text("old")
    with pytest.raises(FileExistsError, match="report.html"):
        write_report(run, **report_args)
    assert html_path.read_text() == "old"  # nothing was touched
    assert sorted(p.name for p in run.iterdir()) == before
    write_report(run, **report_args, force=True)
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_a_figure_path_must_be_a_png(tmp_path, report_args):
    bogus = tmp_path / "fake.png"
    bogus.write_text("not a png")
    with pytest.raises(ValueError, match="not a PNG"):
        write_report(tmp_path / "run", **{**report_args, "figures": {"x": bogus}})


def test_per_class_table_matches_hand_counts():
    rows = per_class_table(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ["a", "b"])
    assert rows[0] == {"class": "a", "precision": 1.0, "recall": 0.5, "f1": 2 / 3,
                       "support": 2}
    assert rows[1]["precision"] == pytest.approx(2 / 3) and rows[1]["recall"] == 1.0


def test_format_value():
    assert format_value("val_accuracy", 0.5) == "50.00%"
    assert format_value("wall_time", 3.0) == "3.00 s"
    assert format_value("alpha", 1e-4) == "0.0001"
    assert format_value("steps", np.int64(3)) == "3"
    assert format_value("early_stopping", True) == "yes"
    assert format_value("hp", {"lr": 0.5, "steps": 3}) == "lr=0.5, steps=3"
