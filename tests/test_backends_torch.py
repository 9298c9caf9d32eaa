"""The PyTorch backend against the NumPy one: the same losses and gradients (to float32
precision) for every loss x penalty, the same fit where the batch order is the same, close
accuracy where it is not, the same files; clear errors for what it refuses.

The torch computations run on ``LINCLASS_TEST_DEVICE`` (default ``cpu``; ``cuda`` on a GPU
machine: ``benchmarks/gpu_check.sh``); what is about the CPU alone stays there."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from linclass import LinearClassifier  # noqa: E402
from linclass.backends import resolve_backend  # noqa: E402
from linclass.backends.torch import (  # noqa: E402
    TorchBatchSampler,
    TorchStep,
    resolve_device,
)
from linclass.estimators.image import ImageClassifier  # noqa: E402
from linclass.features import AffineTransform  # noqa: E402
from linclass.objective import Objective  # noqa: E402
from linclass.optim.gradient import momentum  # noqa: E402
from linclass.options import names  # noqa: E402
from linclass.training import evaluate, fit  # noqa: E402

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")

LOSSES, PENALTIES = names("loss"), names("penalty")

#: The device the torch computations run on (``benchmarks/gpu_check.sh`` sets ``cuda``).
DEVICE = os.environ.get("LINCLASS_TEST_DEVICE", "cpu")
DEV = torch.device(DEVICE)


def _objective(loss: str, penalty: str) -> Objective:
    margin = {"margin": 0.7} if loss in names("loss", "margin") else {}
    return Objective(loss, penalty, alpha=0.03, l1_ratio=0.3, **margin)


def _problem(n=37, d=11, c=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, d), dtype=np.uint8)
    params = {"W": rng.normal(size=(c, d)).astype(np.float32) * 0.05,
              "b": rng.normal(size=c).astype(np.float32)}
    return X, rng.integers(0, c, size=n), params


def _pixels(d):
    """Raw-pixel preprocessing ``a x + c`` as the image pipeline folds it."""
    a = np.linspace(0.5, 2.0, d, dtype=np.float32) / 255
    c = np.linspace(-1.0, 0.5, d, dtype=np.float32)
    return AffineTransform(lambda X, out=None: X.reshape(len(X), -1) * a + c, a, c)


@pytest.mark.parametrize("loss,penalty", list(itertools.product(LOSSES, PENALTIES)))
@pytest.mark.parametrize("folded", [False, True])
def test_losses_and_gradients_match_numpy(loss, penalty, folded):
    X8, y, params = _problem()
    transform = _pixels(X8.shape[1])
    F = transform(X8)  # the features, float32
    objective = _objective(loss, penalty)
    ref_loss, ref = objective({k: v.astype(np.float64) for k, v in params.items()},
                              F.astype(np.float64), y)
    step = TorchStep(objective, DEV, torch.float32,
                     transform if folded else None,
                     (transform.scale, transform.shift) if folded else None)
    rows = torch.from_numpy(X8 if folded else F).to(DEV)
    got_loss, got = step.block(step.put(params), rows, torch.from_numpy(y).to(DEV))
    assert float(got_loss) == pytest.approx(ref_loss, rel=2e-6, abs=1e-6)
    for k in ("W", "b"):
        np.testing.assert_allclose(got[k].cpu().numpy(), ref[k], rtol=1e-4, atol=2e-6)


@pytest.mark.parametrize("loss", LOSSES)
def test_evaluation_matches_numpy(loss):
    X8, y, params = _problem(n=300)
    transform = _pixels(X8.shape[1])
    objective = _objective(loss, "elasticnet")
    step = TorchStep(objective, DEV, torch.float32, transform,
                     (transform.scale, transform.shift), chunk_rows=128)
    predictions = []
    got = step.evaluate(step.put(params), X8, y, predictions=predictions)
    ref_pred = []
    ref = evaluate(params, X8, y, objective, transform, predictions=ref_pred)
    assert got[0] == pytest.approx(ref[0], rel=1e-5) and got[1] == ref[1]
    np.testing.assert_array_equal(np.concatenate(predictions), np.concatenate(ref_pred))


@pytest.mark.parametrize("optimizer", ["gd", "momentum"])
def test_full_batch_fit_on_uint8_rows_matches_numpy(optimizer):
    """With the whole set as the batch both backends take the same steps: the same params
    to float32 rounding, from uint8 rows with the preprocessing folded."""
    X8, y, params = _problem(n=200, d=20, c=3, seed=1)
    transform = _pixels(X8.shape[1])
    kw = dict(value_and_grad=Objective("softmax", "l2", alpha=1e-3), optimizer=optimizer,
              learning_rate=0.5, batch_size=None, max_epochs=8, transform=transform,
              progress=False)
    ref = fit(params, X8, y, **kw)
    got = fit(params, X8, y, backend="torch", device=DEVICE, **kw)
    assert isinstance(got.params["W"], np.ndarray) and got.params["W"].dtype == np.float32
    for k in ("W", "b"):
        np.testing.assert_allclose(got.params[k], ref.params[k], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got.history.train_loss, ref.history.train_loss, rtol=1e-5)
    if optimizer == "momentum":  # the state comes back as NumPy arrays too
        assert isinstance(got.state.velocity["W"], np.ndarray)


def test_same_seed_same_fit_on_torch():
    X8, y, _ = _problem(n=300, d=16, c=3, seed=2)
    X = X8 / 255.0
    fits = [LinearClassifier(backend="torch", device=DEVICE, max_epochs=3, tol=None,
                             random_state=s).fit(X, y) for s in (5, 5, 6)]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    np.testing.assert_array_equal(fits[0].intercept_, fits[1].intercept_)
    assert not np.array_equal(fits[0].coef_, fits[2].coef_)


def test_sampler_sees_every_row_once_per_epoch_from_the_seed():
    def orders(seed):
        s = TorchBatchSampler(10, 4, np.random.default_rng(seed), DEV)
        assert s.batches_per_epoch == 3
        return [torch.cat(list(s.epoch())).tolist() for _ in range(2)]

    first = orders(0)
    assert all(sorted(o) == list(range(10)) for o in first) and first[0] != first[1]
    assert orders(0) == first and orders(1) != first


def test_momentum_state_is_a_tensor_on_the_params_device():
    state = momentum().init({"W": torch.ones(2, 3, device=DEV), "b": torch.ones(2, device=DEV)})
    velocity = state.velocity["W"]
    assert isinstance(velocity, torch.Tensor) and velocity.device.type == DEV.type
    assert not velocity.any()


def test_devices_that_are_not_here_are_named_errors():
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="not a device name; available: cpu"):
        resolve_device("tpu-ish")
    with pytest.raises(ValueError, match=r"cuda:99.*not available.*available: cpu"):
        resolve_device("cuda:99")
    X, y = np.eye(4), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="cuda:99"):
        LinearClassifier(device="cuda:99", max_epochs=1).fit(X, y)


def test_backend_follows_the_device():
    assert resolve_backend(None, "cpu") == "numpy"
    assert resolve_backend(None, "cuda:1") == "torch"
    assert resolve_backend("torch", "cpu") == "torch"
    with pytest.raises(ValueError, match="backend='numpy' runs on the cpu only"):
        resolve_backend("numpy", "cuda")
    with pytest.raises(ValueError, match="backend"):
        LinearClassifier(backend="jax").fit(np.eye(4), [0, 1, 0, 1])


@pytest.mark.parametrize("options,word", [({"optimizer": "random_search"}, "search"),
                                          ({"optimizer": "lbfgs"}, "lbfgs.*backend='numpy'"),
                                          ({"gradient": "autodiff"}, "gradient='analytic'")])
def test_what_stays_on_numpy_is_refused_by_name(options, word):
    with pytest.raises(ValueError, match=word):
        LinearClassifier(backend="torch", max_epochs=1, **options).fit(np.eye(4), [0, 1, 0, 1])


def test_model_file_from_torch_loads_and_predicts_the_same(tmp_path):
    X8, y, _ = _problem(n=200, d=16, c=3, seed=3)
    X = X8 / 255.0
    clf = LinearClassifier(backend="torch", device=DEVICE, max_epochs=3, random_state=0).fit(X, y)
    loaded = LinearClassifier.load(clf.save(tmp_path / "m.safetensors"))
    assert loaded.backend == "torch" and isinstance(loaded.coef_, np.ndarray)
    np.testing.assert_array_equal(loaded.coef_, clf.coef_)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_cli_trains_on_torch_cpu(cli, tmp_path):
    result = cli(["train", "--quiet", "--dataset", "digits", "--limit", "200", "--epochs", "2",
                  "--device", "cpu", "--backend", "torch", "--out", tmp_path, "--name", "r"])
    assert result.exit_code == 0, result.output
    model = ImageClassifier.load(tmp_path / "r" / "model.safetensors")
    assert model.classifier_.backend == "torch" and model.classifier_.device == "cpu"


@pytest.fixture(scope="module")
def fashion():
    from linclass import load_dataset
    from linclass.data import DataError

    try:
        ds = load_dataset("fashion-mnist")
    except (DataError, OSError) as e:
        pytest.skip(f"Fashion-MNIST not available: {e}")
    flat = lambda X: X.reshape(len(X), -1).astype(np.float32) / 255  # noqa: E731
    return flat(ds.X_train[:10_000]), ds.y_train[:10_000], flat(ds.X_test), ds.y_test


@pytest.mark.slow
def test_fashion_mnist_accuracy_agrees_with_numpy(fashion):
    X, y, X_test, y_test = fashion
    fitted = {be: LinearClassifier(backend=be, device=DEVICE if be == "torch" else "cpu",
                                   max_epochs=15, tol=None, random_state=0).fit(X, y)
              for be in ("numpy", "torch")}
    acc = {be: clf.score(X_test, y_test) for be, clf in fitted.items()}
    agree = np.mean(fitted["numpy"].predict(X_test) == fitted["torch"].predict(X_test))
    assert acc["numpy"] > 0.78
    assert abs(acc["torch"] - acc["numpy"]) <= 0.005, acc
    assert agree >= 0.97, agree


def test_missing_torch_says_how_to_install(monkeypatch):
    import sys

    from linclass.backends import torch_backend

    monkeypatch.delitem(sys.modules, "linclass.backends.torch", raising=False)
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    with pytest.raises(ImportError, match=r"pip install 'linclass\[torch\]'"):
        torch_backend()


# --- rows on disk (issue 29, item 5) ---------------------------------------------------------


def test_rows_on_disk_are_refused_on_the_cpu_before_any_epoch(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "X.npy", rng.normal(size=(200, 4)).astype(np.float32))
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    y = (np.asarray(X[:, 0]) > 0).astype(np.int64)
    with pytest.raises(ValueError, match="use backend='numpy'.*np.asarray"):
        LinearClassifier(backend="torch", max_epochs=2).fit(X, y)
    # the NumPy backend reads them a chunk at a time; in memory, torch trains
    assert LinearClassifier(max_epochs=2).fit(X, y).score(X, y) > 0.5
    assert LinearClassifier(backend="torch", max_epochs=2).fit(np.array(X), y).score(X, y) > 0.5


def test_rows_go_to_the_device_a_chunk_at_a_time_with_the_same_values():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 5))  # three chunks of 8192 rows
    objective = Objective(loss="softmax", penalty="l2", alpha=0.0)

    def double(rows):
        return 2.0 * np.asarray(rows)

    step = TorchStep(objective, DEV, torch.float32, double, None)
    streamed = step._stream(X)
    assert streamed.dtype == torch.float32 and streamed.shape == (20000, 5)
    assert streamed.device.type == DEV.type
    np.testing.assert_array_equal(streamed.cpu().numpy(), (2.0 * X).astype(np.float32))
    plain = TorchStep(objective, DEV, torch.float32, None, None)
    np.testing.assert_array_equal(plain._stream(X).cpu().numpy(), X)


@pytest.mark.skipif(DEVICE == "cpu", reason="rows on disk stream to a GPU only")
def test_rows_on_disk_stream_to_the_device_and_learn(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 8)).astype(np.float32)
    y = np.argmax(X @ rng.normal(size=(3, 8)).T, axis=1)
    np.save(tmp_path / "X.npy", X)
    stored = np.load(tmp_path / "X.npy", mmap_mode="r")
    kw = dict(max_epochs=5, tol=None, random_state=0)
    on_device = LinearClassifier(backend="torch", device=DEVICE, **kw).fit(stored, y)
    on_cpu = LinearClassifier(**kw).fit(stored, y)
    assert on_device.score(X, y) > 0.9
    assert abs(on_device.score(X, y) - on_cpu.score(X, y)) < 0.03
