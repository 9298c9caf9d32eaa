"""Test-session settings shared by every test module."""

import os

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

# The test problems are small: multi-threaded BLAS only adds hand-off overhead on them, and
# on a shared 2-core machine it can make a sub-millisecond matmul take tens of
# milliseconds. Benchmarks, not tests, measure threaded speed.
os.environ.setdefault("MPLBACKEND", "Agg")
# The same for torch's intra-op threads (OpenMP; also read by the BLAS of the CLI
# subprocesses and Dask workers the tests start): set before torch is first imported. Full
# batch torch "gd" fits keep every thread, and under xdist on a loaded 2-core machine their
# spinning workers made test_torch_backend_learns_like_numpy[*-gd] take 130-270 s each.
os.environ.setdefault("OMP_NUM_THREADS", "1")


#: Modules whose tests share one expensive resource per process, kept on one xdist worker
#: (``--dist loadgroup``): one Dask cluster or one Chromium at a time on the 2-core
#: machine, not one per worker competing for the cores their timeouts assume.
XDIST_GROUPS = {
    "test_backends_dask.py": "dask-cluster",
    "test_backends_dask_failures.py": "dask-cluster",
    "test_dask_ml_incremental.py": "dask-cluster",
    "test_playground_browser.py": "chromium",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        group = XDIST_GROUPS.get(item.path.name)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_terminal_summary(terminalreporter, config):
    """The order's seed at the end of the run, where ``make test``'s ``-q`` hides the
    header pytest-randomly prints it in: a red run says how to replay its order."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(
            f"test order: .venv/bin/python -m pytest --randomly-seed={seed} replays it")


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True, scope="session")
def _feature_cache_in_a_temporary_folder(tmp_path_factory):
    """No test reads or fills the user's feature cache (~/.cache/linclass/features)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LINCLASS_CACHE_DIR", str(tmp_path_factory.mktemp("feature-cache")))
        mp.delenv("LINCLASS_CACHE_MAX_MB", raising=False)
        yield


# --- the command line ---------------------------------------------------------------------
# One small digits run shared by the CLI tests (train once, then evaluate, predict, explain
# and plot it); tests that change files in it copy it first.

CLI_TRAIN_ARGS = ["train", "--dataset", "digits", "--epochs", "3", "--quiet"]


def cli_invoke(args):
    """Run ``linclass ARGS`` in-process and return click's Result."""
    from typer.testing import CliRunner

    from linclass.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def assert_one_line_error(result, *fragments):
    """Exit 1 with exactly one line ``error: ...`` on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not a crash
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory):
    """A finished ``linclass train`` run folder on digits (softmax, 3 epochs)."""
    out = tmp_path_factory.mktemp("cli-runs")
    result = cli_invoke([*CLI_TRAIN_ARGS, "--out", out])
    assert result.exit_code == 0, result.output
    return out / "run-001"


def _one_pixel_png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def quick_pictures(monkeypatch):
    """Pictures are built but not rendered: every ``plot_*`` call of a run still happens
    (the landscape's 51 objective values included) and :func:`linclass.plots.save_figure`
    still writes each file atomically, refusing to overwrite, but the bytes are a 1x1 PNG.

    Rendering (matplotlib's constrained layout and Agg) is ~85% of a small ``linclass
    train`` (2.0 s of CPU against 0.3 s without it); tests about options, data or errors
    use this, tests that look at the pictures (test_cli_train, test_cli_plot, test_plots)
    render them for real.
    """
    import linclass.plots.io as plots_io

    png = _one_pixel_png()

    def figure_to_png(fig_or_ax, *, dpi=plots_io.DPI):
        plots_io.as_figure(fig_or_ax)  # still refuses what is not a picture
        return png

    monkeypatch.setattr(plots_io, "figure_to_png", figure_to_png)


@pytest.fixture(scope="session")
def cli():
    """``cli(args) -> Result``: the linclass command line, in-process."""
    return cli_invoke


@pytest.fixture(scope="session")
def one_line_error():
    """``one_line_error(result, *fragments)``: see :func:`assert_one_line_error`."""
    return assert_one_line_error


@pytest.fixture(scope="session")
def softmax_objective():
    """``make(alpha) -> {"value_and_grad": ..., "value": ...}``: the analytic softmax + L2
    objective as :func:`linclass.training.fit` takes it."""
    import functools

    from linclass.grad import make_value_and_grad
    from linclass.objective import objective_value

    def make(alpha: float = 1e-3) -> dict:
        return dict(value_and_grad=make_value_and_grad("analytic", loss="softmax",
                                                       penalty="l2", alpha=alpha),
                    value=functools.partial(objective_value, loss="softmax", penalty="l2",
                                            alpha=alpha))

    return make


@pytest.fixture(scope="session")
def dask_blobs():
    """``make(n, d, k, chunk) -> (X, y, X_dask, y_dask)``: n Gaussian rows of d features,
    labelled by the argmax of k random linear scores (separable), split into row
    partitions of ``chunk`` rows (needs Dask)."""
    import dask.array as da

    def make(n: int, d: int, k: int, chunk: int) -> tuple:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(n, d))
        y = np.argmax(X @ rng.normal(size=(k, d)).T, axis=1)
        return X, y, da.from_array(X, chunks=(chunk, d)), da.from_array(y, chunks=chunk)

    return make


@pytest.fixture(scope="session")
def obj(softmax_objective):
    """The analytic softmax + L2 objective (alpha 1e-3), as fit() takes it."""
    return softmax_objective()


def two_worker_cluster(**config):
    """A ``distributed.LocalCluster`` of two single-threaded worker processes (under
    nannies, which restart a dead one), started with the Dask ``config`` settings."""
    import dask
    import distributed

    with dask.config.set(config):
        return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                        dashboard_address=None)


def flat_params(result) -> np.ndarray:
    """A fit result's W and b as one vector."""
    return np.concatenate([result.params["W"].ravel(), result.params["b"]])


#: scikit-learn's estimator checks that judge what a fit learned (a score floor, the classes
#: it predicts, what class or sample weights change): they run on the estimator as given.
LEARNING_CHECKS = frozenset({
    "check_classifiers_train", "check_regressors_train", "check_classifiers_classes",
    "check_class_weight_classifiers", "check_class_weight_balanced_classifiers",
    "check_class_weight_balanced_linear_classifier", "check_non_transformer_estimators_n_iter",
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
})

#: The epochs of a fit in the other checks, which check the interface (input formats and
#: dtypes, pickling, invariances under row order or subsets, messages, parameters). None of
#: them depends on how far a fit got, and their 10- to 40-row tables full-batch fit for the
#: fit plan's 1,592 epochs by default (the cosine rate anneals before a plateau may stop):
#: half of the whole suite's time was those epochs, most in the sparse-format checks.
API_CHECK_EPOCHS = 30


def sklearn_check(estimator, check):
    """Run one of scikit-learn's estimator checks (``parametrize_with_checks``) on
    ``estimator``, or for an interface check on a copy capped at :data:`API_CHECK_EPOCHS`."""
    from sklearn.base import clone

    name = getattr(check, "func", check).__name__
    epochs = estimator.get_params().get("max_epochs", "absent")
    if name not in LEARNING_CHECKS and epochs != "absent":
        estimator = clone(estimator).set_params(
            max_epochs=API_CHECK_EPOCHS if epochs is None else min(epochs, API_CHECK_EPOCHS))
    check(estimator)
