"""Writing pictures to disk: atomic, no silent overwrite, no global pyplot state.

Every picture function in :mod:`linclass.plots` draws on a
:class:`matplotlib.figure.Figure` created directly (never ``pyplot``), so nothing here needs
a display, and two threads never share a "current figure".
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from linclass.io.fileio import atomic_write_bytes

DPI = 110  # sharp on a projector, small enough to embed a dozen in one HTML page


def as_figure(fig_or_ax: Figure | Axes) -> Figure:
    """The Figure that owns ``fig_or_ax`` (picture functions return Axes or Figures)."""
    if isinstance(fig_or_ax, Figure):
        return fig_or_ax
    if isinstance(fig_or_ax, Axes):
        fig = fig_or_ax.get_figure(root=True)
        if fig is None:
            raise ValueError("the Axes belongs to no Figure")
        return fig
    raise TypeError(f"expected a matplotlib Figure or Axes, got {type(fig_or_ax).__name__}")


def figure_to_png(fig_or_ax: Figure | Axes, *, dpi: int = DPI) -> bytes:
    """Render a Figure (or the Figure of an Axes) to PNG bytes with the Agg backend."""
    buf = io.BytesIO()
    as_figure(fig_or_ax).savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def save_figure(
    fig: Figure | Axes, path: str | os.PathLike, *, force: bool = False, dpi: int = DPI
) -> Path:
    """Save a picture as PNG, atomically; refuse to overwrite unless ``force``.

    Args:
        fig: The Figure, or any Axes on it, as returned by the ``plot_*`` functions.
        path: Destination ``.png`` file.
        force: Replace an existing file.
        dpi: Resolution.

    Returns:
        The destination as a Path.

    Raises:
        FileExistsError: If ``path`` exists and ``force`` is False.
    """
    path = Path(path)
    if path.exists() and not force:  # check before rendering: rendering can take a while
        raise FileExistsError(f"{path} already exists; pass force=True to overwrite it")
    return atomic_write_bytes(path, figure_to_png(fig, dpi=dpi), force=force)
