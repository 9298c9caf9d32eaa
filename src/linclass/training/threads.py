"""How many BLAS threads a loop of small mini-batches uses (one knob, documented)."""

from __future__ import annotations

import contextlib
import functools
from typing import Any


@functools.cache
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController  # a dependency of scikit-learn

    return ThreadpoolController()  # scans the loaded libraries once (~0.3 ms)


#: BLAS threads in a loop of small mini-batches (None: leave BLAS as it is). A documented
#: knob, so a benchmark can compare thread counts without patching the loop.
SMALL_BATCH_BLAS_THREADS: int | None = 1


def one_blas_thread() -> contextlib.AbstractContextManager:
    """BLAS limited to one thread, for a loop of mini-batches of at most ``CHUNK_ROWS``.

    A batch's products are small (256 x 784 x 10: ~100 us on one core), so a second BLAS
    thread saves little on a quiet machine, and on a busy one its spin-waiting workers
    made whole epochs 10-30x slower (``benchmarks/fold_speed.py``). Full-set passes (evaluation,
    ``gd``) keep every thread: their products are big enough to split.
    """
    if SMALL_BATCH_BLAS_THREADS is None:
        return contextlib.nullcontext()
    return _blas_controller().limit(limits=SMALL_BATCH_BLAS_THREADS, user_api="blas")




#: Multiply-adds of one batch product ``batch x n_features x n_classes`` from which a
#: mini-batch loop keeps every BLAS thread: such a product takes milliseconds on one core
#: (256 x 2048 x 1000: ~20 ms), long enough for a second thread to pay and too long for
#: its spin-waits to matter (``benchmarks/scale_probe.py`` measures both).
WIDE_BATCH_MACS = 2**25


def batch_blas_threads(batch_rows: int, n_features: int,
                       n_classes: int) -> contextlib.AbstractContextManager:
    """The BLAS threads of a loop of ``batch_rows``-row mini-batches: one
    (:func:`one_blas_thread`) for a small product, every thread for a wide one
    (:data:`WIDE_BATCH_MACS`)."""
    if batch_rows * n_features * n_classes >= WIDE_BATCH_MACS:
        return contextlib.nullcontext()
    return one_blas_thread()
