"""Where a fit runs: the NumPy backend (:mod:`linclass.training.step`, the default) or the
PyTorch one (:mod:`linclass.backends.torch`, on a CPU, a CUDA GPU or Apple's MPS); and,
for Dask arrays, :mod:`~linclass.backends.dask` (partitions on any Dask scheduler). Each is
imported only when used.

Both plug into the one fit loop through the same seam, a *step* (``batch``, ``full``,
``loss``, ``evaluate`` of blocks of stored rows) and a *sampler* (the batch order), so
there is one loop and one step implementation per backend. This module only decides which
backend a ``(backend, device)`` pair means; it never imports torch.
"""

from __future__ import annotations

import importlib
from types import ModuleType

BACKENDS = ("numpy", "torch")


def resolve_backend(backend: str | None, device: str = "cpu") -> str:
    """The backend a ``(backend, device)`` pair asks for.

    ``backend=None`` means "decide from the device": NumPy on ``"cpu"``, PyTorch on any
    other device (``"cuda"``, ``"cuda:N"``, ``"mps"``).

    Args:
        backend: ``"numpy"``, ``"torch"`` or None.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Returns:
        ``"numpy"`` or ``"torch"``.

    Raises:
        ValueError: For an unknown backend, or ``backend="numpy"`` with a device other
            than the CPU.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not one of {', '.join(BACKENDS)}")
    if not isinstance(device, str) or not device:
        raise ValueError(f"device must be a name such as 'cpu', 'cuda', 'cuda:0' or 'mps', "
                         f"got {device!r}")
    if backend is None:
        return "numpy" if device == "cpu" else "torch"
    if backend == "numpy" and device != "cpu":
        raise ValueError(f"backend='numpy' runs on the cpu only, got device={device!r} "
                         "(use backend='torch' or leave backend unset)")
    return backend


def torch_backend() -> ModuleType:
    """:mod:`linclass.backends.torch`, imported on first use.

    Raises:
        ImportError: Saying how to install PyTorch, when it is missing.
    """
    try:
        return importlib.import_module("linclass.backends.torch")
    except ModuleNotFoundError as e:
        if e.name != "torch":
            raise
        raise ImportError("backend='torch' needs PyTorch: pip install 'linclass[torch]'") from e


__all__ = ["BACKENDS", "resolve_backend", "torch_backend"]
