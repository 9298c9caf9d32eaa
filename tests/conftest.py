"""Test-session settings shared by every test module."""

import os

import pytest
from threadpoolctl import threadpool_limits

# The test problems are small: multi-threaded BLAS only adds hand-off overhead on them, and
# on a shared 2-core machine it can make a sub-millisecond matmul take tens of
# milliseconds. Benchmarks, not tests, measure threaded speed.
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    with threadpool_limits(limits=1, user_api="blas"):
        yield
