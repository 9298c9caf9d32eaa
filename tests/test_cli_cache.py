"""``linclass cache`` and the cache in use: a second ``train`` and every ``search`` trial
reuse the features of the first, and ``cache clear`` makes them be computed again."""

from __future__ import annotations

import json

import pytest

from linclass.features import cache as cache_module
from linclass.features.extract import FeatureExtractor

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")

HOG_TRAIN = ["train", "--dataset", "digits", "--features", "hog+hist", "--epochs", "2",
             "--quiet"]


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """A fresh cache folder that caches even digits, and a count of real extractions."""
    monkeypatch.setenv("LINCLASS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache_module, "MIN_CACHED_PIXELS", 0)
    calls = []
    transform = FeatureExtractor.transform

    def counting(self, X, *args, **kwargs):
        calls.append(len(X))
        return transform(self, X, *args, **kwargs)

    monkeypatch.setattr(FeatureExtractor, "transform", counting)
    return calls


def cached_entries(tmp_path):
    return sorted(p.name for p in (tmp_path / "cache" / "linclass-feature-cache").glob("*.npy"))


def test_a_second_train_reuses_the_features_and_clear_forgets_them(cli, counted, tmp_path):
    first = cli([*HOG_TRAIN, "--out", tmp_path / "runs"])
    assert first.exit_code == 0, first.output
    # Training, validation and test images once each (scoring them reuses the features),
    # and the first 1000 training images that the loss-landscape picture looks at.
    assert sorted(counted) == [136, 450, 1000, 1211]
    assert len(cached_entries(tmp_path)) == 4
    counted.clear()
    second = cli([*HOG_TRAIN, "--out", tmp_path / "runs"])
    assert second.exit_code == 0, second.output
    assert counted == []  # nothing extracted again
    a, b = (json.loads((tmp_path / "runs" / run / "metrics.json").read_text())
            for run in ("run-001", "run-002"))
    assert a["test_accuracy"] == b["test_accuracy"] and a["val_loss"] == b["val_loss"]

    info = cli(["cache", "info"])
    assert info.exit_code == 0 and "entries: 4" in info.output
    cleared = cli(["cache", "clear"])
    assert cleared.exit_code == 0, cleared.output
    assert "removed 4 cached feature matrices" in cleared.output
    assert cached_entries(tmp_path) == []
    assert cli([*HOG_TRAIN, "--out", tmp_path / "runs"]).exit_code == 0
    assert len(counted) == 4  # computed afresh


def test_search_extracts_once_for_all_trials_and_a_second_search_not_at_all(
        cli, counted, tmp_path):
    args = ["search", "--dataset", "digits", "--features", "hog", "--lr", "0.1,1",
            "--alpha", "0,1e-3", "--epochs", "1", "--jobs", "1", "--quiet"]
    assert cli([*args, "--out", tmp_path]).exit_code == 0
    assert len(counted) == 3  # train part, validation part, test images: not once per trial
    counted.clear()
    assert cli([*args, "--out", tmp_path]).exit_code == 0
    assert counted == []


def test_raw_pixels_leave_the_cache_empty(cli, counted, tmp_path):
    assert cli(["train", "--dataset", "digits", "--epochs", "1", "--quiet",
                "--out", tmp_path / "runs"]).exit_code == 0
    assert cached_entries(tmp_path) == []


def test_a_bad_cap_is_a_one_line_error(cli, one_line_error, monkeypatch, tmp_path):
    monkeypatch.setenv("LINCLASS_CACHE_MAX_MB", "-3")
    one_line_error(cli([*HOG_TRAIN, "--out", tmp_path]), "LINCLASS_CACHE_MAX_MB")
    one_line_error(cli(["cache", "clear"]), "LINCLASS_CACHE_MAX_MB")


def test_cache_help_shows_examples(cli):
    result = cli(["cache", "--help"])
    assert result.exit_code == 0 and "linclass cache clear" in result.output
