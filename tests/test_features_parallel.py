"""Feature extraction on several threads: the same numbers, every chunk once, in order."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from linclass.features import FeatureExtractor, parallel
from linclass.features.parallel import n_threads, run_chunks


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_run_chunks_does_every_chunk_once_and_reports_in_order(threads):
    done, workers = [], set()

    def work(start, stop):
        done.append((start, stop))
        workers.add(threading.get_ident())

    stops = list(run_chunks(23, 5, work, threads))
    assert stops == [5, 10, 15, 20, 23]
    assert sorted(done) == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 23)]
    if threads == 1:
        assert workers == {threading.get_ident()}  # no pool at all


def test_an_error_in_a_chunk_reaches_the_caller():
    def work(start, stop):
        if start == 10:
            raise RuntimeError("chunk 10 failed")

    with pytest.raises(RuntimeError, match="chunk 10"):
        list(run_chunks(30, 5, work, 2))


def test_thread_count_rules():
    assert n_threads(3, 10) == 3
    assert n_threads(None, 10) == 1
    assert n_threads(None, parallel.PARALLEL_MIN_PIXELS) == parallel.available_cores()
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="n_jobs"):
            n_threads(bad, 10)


def test_threaded_extraction_equals_one_batch(monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (300, 12, 12, 3), dtype=np.uint8)
    extractor = FeatureExtractor(kinds=("raw", "hist", "hog"), hog_pixels_per_cell=(3, 3))
    one_batch = extractor.set_params(batch_size=300).fit_transform(images)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_PIXELS", 0)  # threads even for this small set
    monkeypatch.setattr(parallel, "available_cores", lambda: 3)
    seen = []
    threaded = extractor.set_params(batch_size=16).transform(
        images, progress=lambda done, total: seen.append(done))
    assert_array_equal(threaded, one_batch)
    assert seen == [*range(16, 300, 16), 300]
