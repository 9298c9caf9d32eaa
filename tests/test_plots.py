"""Every picture is drawn, saved as a non-empty PNG, and shows what it claims to show."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from linclass.model import predict
from linclass.objective import objective_value
from linclass.plots import (
    confusion_counts,
    history_to_dict,
    plot_confusion_matrix,
    plot_decision_regions,
    plot_history,
    plot_loss_landscape,
    plot_loss_landscape_2d,
    plot_schedule,
    plot_search_heatmap,
    plot_templates,
    random_direction,
    save_figure,
)

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def assert_png_ok(path: Path, min_bytes: int = 5_000) -> None:
    """The file exists, is not tiny, and is not one flat colour."""
    assert path.exists()
    assert path.stat().st_size > min_bytes
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels[..., :3].std() > 0.02


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def blobs(rng):
    centres = np.array([[-2.0, 2.0], [2.0, 1.0], [0.0, -2.0]])
    y = np.repeat(np.arange(3), 30)
    X = centres[y] + 0.7 * rng.standard_normal((90, 2))
    params = {"W": np.array([[-1.0, 1.0], [1.0, 0.3], [0.0, -1.2]]), "b": np.zeros(3)}
    return params, X, y


@pytest.fixture
def history(rng):
    return {
        "step_loss": list(2.3 * np.exp(-np.arange(200) / 40) + 0.1 * rng.random(200)),
        "epoch_train_acc": list(np.linspace(0.5, 0.95, 10)),
        "epoch_val_acc": list(np.linspace(0.5, 0.9, 10)),
        "epoch_val_loss": list(np.linspace(1.5, 0.4, 10)),
        "lr": list(0.5 * 0.99 ** np.arange(200)),
    }


def _landscape_setup(rng):
    X = rng.standard_normal((60, 16))
    y = rng.integers(0, 4, 60)
    params = {"W": 0.3 * rng.standard_normal((4, 16)), "b": 0.1 * rng.standard_normal(4)}
    f = functools.partial(objective_value, X=X, y=y, loss="softmax", penalty="l2", alpha=1e-3)
    return f, params


def _grid_results():
    return [
        {"learning_rate": lr, "alpha": a, "val_accuracy": np.nan if lr > 5 else 0.5 + lr / 4 - a}
        for lr in (1e-3, 1e-2, 1e-1, 1.0, 10.0)
        for a in (0.0, 1e-4, 1e-3, 1e-2)
    ]


# Each case draws one picture; all are checked the same way below.
PICTURES = {
    "templates_grey": lambda r, **_: plot_templates(r.standard_normal((10, 64)), (8, 8)),
    "templates_grey_shared_scale": lambda r, **_: plot_templates(
        r.standard_normal((10, 64)), (8, 8), FASHION, shared_scale=True),
    "templates_colour": lambda r, **_: plot_templates(r.standard_normal((3, 192)), (8, 8, 3),
                                                      ["cat", "car", "frog"]),
    "templates_channel_first": lambda r, **_: plot_templates(r.standard_normal((3, 192)),
                                                             (3, 8, 8)),
    "history": lambda r, history, **_: plot_history(history),
    "history_plain_list": lambda r, history, **_: plot_history(history["step_loss"]),
    "confusion": lambda r, **_: plot_confusion_matrix(
        r.integers(0, 10, 300), r.integers(0, 10, 300), FASHION),
    "confusion_counts": lambda r, **_: plot_confusion_matrix(
        r.integers(0, 3, 50), r.integers(0, 3, 50), normalize=False),
    "decision_regions": lambda r, blobs, **_: plot_decision_regions(*blobs, ["a", "b", "c"]),
    "decision_regions_pairwise": lambda r, blobs, **_: plot_decision_regions(
        *blobs, pairwise=True),
    "landscape_1d": lambda r, **_: plot_loss_landscape(*_landscape_setup(r), n=15),
    "landscape_2d": lambda r, **_: plot_loss_landscape_2d(*_landscape_setup(r), n=9),
    "search_grid": lambda r, **_: plot_search_heatmap(_grid_results()),
    "search_random": lambda r, **_: plot_search_heatmap(
        [{"learning_rate": 10 ** r.uniform(-3, 0), "alpha": 10 ** r.uniform(-5, -1),
          "val_accuracy": r.random()} for _ in range(20)]),
    "schedule": lambda r, **_: plot_schedule(lambda s: 0.5 * 0.95**s, 100),
}


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_each_picture_is_a_non_empty_png(name, rng, blobs, history, tmp_path):
    drawn = PICTURES[name](rng, blobs=blobs, history=history)
    assert isinstance(drawn, (Axes, Figure))
    path = save_figure(drawn, tmp_path / f"{name}.png")
    assert_png_ok(path)


@pytest.mark.parametrize(
    "draw",
    [
        lambda ax, blobs: plot_decision_regions(*blobs, ax=ax),
        lambda ax, blobs: plot_confusion_matrix(blobs[2], blobs[2], ax=ax),
        lambda ax, blobs: plot_schedule(0.1, 10, ax),
        lambda ax, blobs: plot_search_heatmap(_grid_results(), ax=ax),
    ],
)
def test_pictures_draw_on_the_axes_they_are_given(draw, blobs):
    fig = Figure()
    ax = fig.add_subplot()
    assert draw(ax, blobs) is ax
    assert ax.has_data() or ax.images


def test_no_pyplot_so_pictures_work_headless_and_without_global_state(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from linclass.plots import plot_templates, save_figure\n"
        f"save_figure(plot_templates(np.ones((2, 4)), (2, 2)), {str(tmp_path / 'x.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    env = {"PYTHONPATH": str(Path(__file__).parents[1] / "src"), "MPLBACKEND": "Agg"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


# --- templates ----------------------------------------------------------------------------


def test_templates_refuse_features_that_are_not_pixels(rng):
    W = rng.standard_normal((10, 324))  # e.g. HOG features of a 28x28 image
    with pytest.raises(ValueError, match=r"D=324.*\(28, 28\).*784"):
        plot_templates(W, (28, 28))


def test_templates_show_each_row_with_zero_at_the_centre_of_the_colormap(rng):
    W = rng.standard_normal((3, 6))
    fig = plot_templates(W, (2, 3), ["a", "b", "c"])
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["a", "b", "c"]
    for k, im in enumerate(images):
        np.testing.assert_allclose(im.get_array(), W[k].reshape(2, 3))
        lo, hi = im.get_clim()
        assert lo == -hi


def test_templates_need_one_name_per_class(rng):
    with pytest.raises(ValueError, match="2 class names for 3 classes"):
        plot_templates(rng.standard_normal((3, 4)), (2, 2), ["a", "b"])


# --- curves -------------------------------------------------------------------------------


class _History:
    def to_dict(self):
        return {"step_loss": [3.0, 2.0, 1.0], "epoch_val_acc": [0.5], "unrelated": "x"}


def test_history_adapter_tolerates_missing_keys_and_objects():
    assert set(history_to_dict(_History())) == {"step_loss", "epoch_val_acc"}
    assert set(history_to_dict({"step_loss": [1.0], "lr": []})) == {"step_loss"}
    assert history_to_dict([2.0, 1.0])["step_loss"].tolist() == [2.0, 1.0]
    assert len(plot_history({}).axes) == 1  # nothing recorded: one panel saying so


def test_history_has_one_panel_per_kind_of_curve(history):
    assert len(plot_history(history).axes) == 3  # loss, accuracy, changing lr
    del history["lr"]
    assert len(plot_history(history).axes) == 2
    history["lr"] = [0.1] * 200  # a constant lr says nothing: no panel
    assert len(plot_history(history).axes) == 2


def test_accuracy_axis_neither_exaggerates_small_changes_nor_passes_100():
    fig = plot_history({"step_loss": [1.0, 0.5], "epoch_val_acc": [0.98, 0.9867]})
    bottom, top = fig.axes[1].get_ylim()
    assert top - bottom >= 10 and top <= 100.5


def test_schedule_plots_the_values_the_schedule_returns():
    ax = plot_schedule(lambda s: 1.0 / (1 + s), 5)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    with pytest.raises(ValueError, match="n_steps"):
        plot_schedule(0.1, 0)


# --- confusion matrix ---------------------------------------------------------------------


def test_confusion_counts_and_annotations():
    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 2, 0])
    counts = confusion_counts(y_true, y_pred, 3)
    np.testing.assert_array_equal(counts, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    ax = plot_confusion_matrix(y_true, y_pred, ["a", "b", "c"])
    assert sorted(t.get_text() for t in ax.texts) == ["1", "1", "1", "1", "2"]
    np.testing.assert_allclose(ax.images[0].get_array()[2], [1 / 3, 0, 2 / 3])


def test_confusion_rejects_labels_beyond_the_class_names():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plot_confusion_matrix([0, 2], [0, 1], ["a", "b"])


# --- decision regions ---------------------------------------------------------------------


def test_regions_are_the_argmax_class_and_each_class_has_a_line(blobs):
    params, X, y = blobs
    ax = plot_decision_regions(params, X, y)
    region = np.asarray(ax.images[0].get_array())
    x0, x1, y0, y1 = ax.images[0].get_extent()
    n = region.shape[0]
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    expected = predict(params, np.column_stack([gx.ravel(), gy.ravel()])).reshape(n, n)
    np.testing.assert_array_equal(region, expected)
    assert len(ax.get_lines()) == 3  # one hyperplane w_k . x + b_k = 0 per class
    assert len([t for t in ax.texts if t.arrow_patch is not None]) == 3  # one normal each


def test_regions_need_2d_inputs(blobs):
    params, X, y = blobs
    with pytest.raises(ValueError, match=r"\(n_samples, 2\)"):
        plot_decision_regions(params, np.hstack([X, X]), y)


# --- loss landscape -----------------------------------------------------------------------


def test_random_direction_is_seeded_and_scaled_like_the_weights(rng):
    params = {"W": rng.standard_normal((3, 5)), "b": np.zeros(3)}
    d = random_direction(params, 1)
    assert np.isclose(np.linalg.norm(d["W"]), np.linalg.norm(params["W"]))
    assert not d["b"].any()  # an untrained (zero) bias is not moved
    np.testing.assert_array_equal(d["W"], random_direction(params, 1)["W"])


def test_landscape_slices_pass_through_the_minimum_of_a_bowl():
    centre = {"W": np.ones((2, 2)), "b": np.zeros(2)}

    def bowl(p):
        return float(((p["W"] - 1) ** 2).sum() + (p["b"] ** 2).sum())

    ax = plot_loss_landscape(bowl, centre, n=21)
    ys = ax.lines[0].get_ydata()
    assert np.argmin(ys) == 10 and np.isclose(ys[10], 0)
    ax2 = plot_loss_landscape_2d(bowl, centre, n=7)
    assert ax2.collections  # the filled contours


def test_landscape_rejects_a_direction_of_the_wrong_shape():
    params = {"W": np.ones((2, 2)), "b": np.zeros(2)}
    with pytest.raises(ValueError, match="same keys and shapes"):
        plot_loss_landscape(lambda p: 0.0, params, {"W": np.ones((2, 3)), "b": np.zeros(2)})


# --- search -------------------------------------------------------------------------------


def test_search_marks_the_best_cell_and_shows_diverged_runs():
    ax = plot_search_heatmap(_grid_results())
    grid = np.ma.filled(ax.images[0].get_array(), np.nan)
    assert grid.shape == (4, 5)  # alpha rows x learning-rate columns
    assert np.isnan(grid[:, 4]).all()  # lr = 10 diverged
    (box,) = [p for p in ax.patches if p.get_edgecolor()[:3] == (1.0, 0.0, 0.0)]
    # best: lr = 1, alpha = 0  -> column 3, row 0
    assert box.get_xy() == (2.5, -0.5)
    assert "×" in [t.get_text() for t in ax.texts]


def test_search_lower_is_better_for_losses():
    results = [{"learning_rate": lr, "alpha": 0.1, "val_loss": lr} for lr in (0.1, 1.0)]
    ax = plot_search_heatmap(results, value="val_loss")
    (box,) = ax.patches
    assert box.get_xy() == (-0.5, -0.5)


def test_search_needs_its_keys():
    with pytest.raises(ValueError, match="missing"):
        plot_search_heatmap([{"learning_rate": 1.0}])
    with pytest.raises(ValueError, match="no search results"):
        plot_search_heatmap([])


# --- saving -------------------------------------------------------------------------------


def test_save_figure_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "p.png"
    save_figure(plot_schedule(0.1, 10), path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match=str(path)):
        save_figure(plot_schedule(0.2, 20), path)
    assert path.read_bytes() == before
    save_figure(plot_schedule(0.2, 20), path, force=True)
    assert path.read_bytes() != before
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]  # no temporary files left


def test_save_figure_is_readable_by_others(tmp_path):
    path = save_figure(plot_schedule(0.1, 10), tmp_path / "p.png")
    assert path.stat().st_mode & 0o044 == 0o044


def test_history_adapter_reads_the_fit_loops_history():
    from linclass.training import History

    h = History(step_loss=[2.0, 1.0], epoch=[1], train_loss=[1.0], train_accuracy=[0.5],
                val_loss=[float("nan")], val_accuracy=[float("nan")], learning_rate=[0.1])
    assert set(history_to_dict(h)) == {"step_loss", "epoch_train_loss", "epoch_train_acc", "lr"}
    assert len(plot_history(h).axes) == 2  # loss and accuracy; constant lr has no panel
