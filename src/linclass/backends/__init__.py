"""Where a fit runs. Each backend is one module, listed once in
:mod:`~linclass.backends.registry` and imported only when a fit uses it:

* :mod:`~linclass.backends.numpy`: NumPy on the CPU, the default (in-place kernels, raw
  pixels folded into W and b, arrays on disk read a window of chunks at a time);
* :mod:`~linclass.backends.torch`: PyTorch on a CPU, a CUDA GPU or Apple's MPS;
* :mod:`~linclass.backends.dask`: Dask arrays, reduced where their partitions live.

Every backend plugs into the one fit loop (:mod:`linclass.training`) through the same two
parts, a *step* and a *batch source* (:mod:`linclass.training.parts`).
"""

from __future__ import annotations

from types import ModuleType

from linclass.backends.registry import BACKENDS, REGISTRY, Entry, load, placed, resolve_backend


def torch_backend() -> ModuleType:
    """:mod:`linclass.backends.torch`, imported on first use.

    Raises:
        ImportError: Saying how to install PyTorch, when it is missing.
    """
    return load("torch")


__all__ = ["BACKENDS", "REGISTRY", "Entry", "load", "placed", "resolve_backend",
           "torch_backend"]
