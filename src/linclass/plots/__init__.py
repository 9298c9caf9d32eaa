"""Pictures of a linear classifier, one module per family; all headless and thread-safe.

Every function draws on an Axes (or a Figure for multi-panel pictures) that it is given
or creates with :class:`matplotlib.figure.Figure` directly, never through ``pyplot``, and
returns it; :func:`save_figure` writes it as PNG. Nothing ever calls ``plt.show()``.

- :mod:`~linclass.plots.templates`: the visual viewpoint, rows of W as images.
- :mod:`~linclass.plots.geometry`: the geometric viewpoint, hyperplanes on 2-D data.
- :mod:`~linclass.plots.curves`: loss, accuracy and learning-rate curves.
- :mod:`~linclass.plots.confusion`: the confusion matrix.
- :mod:`~linclass.plots.landscape`: 1-D and 2-D slices of the loss around W.
- :mod:`~linclass.plots.search`: hyper-parameter search heat map.
"""

from linclass.plots.confusion import confusion_counts, plot_confusion_matrix
from linclass.plots.curves import (
    history_to_dict,
    plot_accuracy_curve,
    plot_history,
    plot_loss_curve,
    plot_schedule,
)
from linclass.plots.geometry import plot_decision_regions
from linclass.plots.io import figure_to_png, save_figure
from linclass.plots.landscape import plot_loss_landscape, plot_loss_landscape_2d, random_direction
from linclass.plots.search import plot_search_heatmap
from linclass.plots.templates import plot_templates

__all__ = [
    "confusion_counts",
    "figure_to_png",
    "history_to_dict",
    "plot_accuracy_curve",
    "plot_confusion_matrix",
    "plot_decision_regions",
    "plot_history",
    "plot_loss_curve",
    "plot_loss_landscape",
    "plot_loss_landscape_2d",
    "plot_schedule",
    "plot_search_heatmap",
    "plot_templates",
    "random_direction",
    "save_figure",
]
