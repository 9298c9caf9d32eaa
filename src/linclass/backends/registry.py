"""The backends a fit can run on, one line each, and which one a fit means.

A *backend* is one module that makes the two parts the fit loop drives
(:class:`~linclass.training.parts.Parts`): a *step* (``(J, grads)`` and ``J`` of blocks of
stored rows, where the backend keeps the params) and a *batch source* (which rows each
step of an epoch sees). Its module exposes ``make_parts(spec) -> Parts`` and is imported on
first use, so this registry imports no backend, and the training package, which reads the
registry, never imports one either (an import contract in ``pyproject.toml`` holds it).

Adding a backend: write its module, add its :class:`Entry` line to :data:`REGISTRY`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One backend.

    Attributes:
        name: What ``backend=`` says (compute backends) or how the docs name it.
        module: The module with ``make_parts(spec)``, imported on first use.
        devices: Device types it computes on (``"cpu"``, ``"cuda"``, ``"mps"``); empty for
            a backend chosen by where the data lives.
        arrays: Top-level packages of the array types it takes over (``"dask"``): a fit on
            such an array runs here, whatever ``backend=`` says.
        default_for: Device types for which it is the backend when ``backend=None``.
        needs: The pip extra to install when its module's third-party import is missing.
        requires: The third-party package whose absence ``needs`` explains.
        heads: The module with ``make_heads_parts(spec)``, the parts of stacked heads (a
            sweep: :func:`linclass.training.sweep.fit_heads`); None: the training
            package's own NumPy heads.
    """

    name: str
    module: str
    devices: tuple[str, ...] = ()
    arrays: tuple[str, ...] = ()
    default_for: tuple[str, ...] = ()
    needs: str | None = None
    requires: str | None = None
    heads: str | None = None


#: Every backend, by name. ``backend=`` chooses among those with devices.
REGISTRY: dict[str, Entry] = {e.name: e for e in (
    Entry("numpy", "linclass.backends.numpy", devices=("cpu",), default_for=("cpu",)),
    Entry("torch", "linclass.backends.torch", devices=("cpu", "cuda", "mps"),
          default_for=("cuda", "mps"), needs="torch", requires="torch",
          heads="linclass.backends.torch_heads"),
    Entry("dask", "linclass.backends.dask", arrays=("dask",), needs="dask", requires="dask",
          heads="linclass.backends.dask_heads"),
)}

#: The names ``backend=`` accepts.
BACKENDS: tuple[str, ...] = tuple(n for n, e in REGISTRY.items() if e.devices)


def backends_help() -> str:
    """The compute backends in words, for ``--help`` and the docs, e.g. ``"numpy, torch
    (pip install 'linclass[torch]'). Default: numpy on cpu, torch on cuda, mps."``"""
    names = ", ".join(n + (f" (pip install 'linclass[{REGISTRY[n].needs}]')"
                           if REGISTRY[n].needs else "") for n in BACKENDS)
    defaults = "; ".join(f"{n} on {', '.join(REGISTRY[n].default_for)}" for n in BACKENDS
                         if REGISTRY[n].default_for)
    return f"{names}. Default: {defaults}."


def _device_type(device: str) -> str:
    return device.split(":", 1)[0]


def resolve_backend(backend: str | None, device: str = "cpu") -> str:
    """The compute backend a ``(backend, device)`` pair asks for.

    ``backend=None`` means "decide from the device": the entry whose ``default_for`` has
    the device's type (NumPy on ``"cpu"``, PyTorch on ``"cuda"``, ``"cuda:N"``, ``"mps"``).

    Args:
        backend: One of :data:`BACKENDS`, or None.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Returns:
        The backend's name.

    Raises:
        ValueError: For an unknown backend, or a backend that does not run on ``device``.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not one of {', '.join(BACKENDS)}")
    if not isinstance(device, str) or not device:
        raise ValueError(f"device must be a name such as 'cpu', 'cuda', 'cuda:0' or 'mps', "
                         f"got {device!r}")
    kind = _device_type(device)
    if backend is None:
        for name in BACKENDS:
            if kind in REGISTRY[name].default_for:
                return name
        raise ValueError(f"device={device!r} is not one of the device types "
                         f"{', '.join(sorted({d for n in BACKENDS for d in REGISTRY[n].devices}))}")
    if kind not in REGISTRY[backend].devices:
        runs = ", ".join(REGISTRY[backend].devices)
        other = "" if backend != BACKENDS[0] else " (use backend='torch' or leave backend unset)"
        raise ValueError(f"backend={backend!r} runs on the {runs} only, got "
                         f"device={device!r}{other}")
    return backend


def placed(X: Any) -> str | None:
    """The backend that takes over arrays like ``X`` (e.g. ``"dask"``), or None."""
    package = type(X).__module__.split(".")[0]
    for name, entry in REGISTRY.items():
        if package in entry.arrays:
            return name
    return None


def load(name: str, part: str = "module") -> ModuleType:
    """The backend module ``name`` (``part="heads"``: its stacked heads' module), imported
    on first use.

    Raises:
        ImportError: Saying which extra to install, when its third-party package is missing.
    """
    entry = REGISTRY[name]
    module = getattr(entry, part)
    if module is None:
        raise ValueError(f"backend={name!r} has no {part} module")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if entry.requires is None or e.name != entry.requires:
            raise
        raise ImportError(f"backend={name!r} needs {entry.requires}: pip install "
                          f"'linclass[{entry.needs}]'") from e


__all__ = ["BACKENDS", "REGISTRY", "Entry", "backends_help", "load", "placed",
           "resolve_backend"]
