"""The fast path (loss kernels, ``value_and_grad_into``, the fit loop's buffers) computes
exactly what the checked functions compute, and keeps their errors."""

import functools

import numpy as np
import pytest

from linclass.grad import make_value_and_grad
from linclass.losses import LOSS_KERNELS, softmax_loss, svm_loss
from linclass.model import init_params, predict
from linclass.objective import fast_path, value_and_grad
from linclass.training import CHUNK_ROWS, evaluate, fit

# The `linclass` runs here check options, data and errors, not the pictures: those are
# built but not rendered (conftest.quick_pictures).
pytestmark = pytest.mark.usefixtures("quick_pictures")


def problem(dtype, n=40, d=7, c=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, c, size=n)
    params = init_params(d, c, scale=0.5, random_state=seed, dtype=dtype)
    params["b"] += rng.standard_normal(c).astype(dtype)
    return params, X, y


@pytest.mark.parametrize("loss", sorted(LOSS_KERNELS))
@pytest.mark.parametrize("penalty,alpha", [(None, 0.0), ("l2", 0.0), ("l2", 0.1)])
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_buffered_objective_equals_value_and_grad(loss, penalty, alpha, dtype, rtol):
    params, X, y = problem(dtype)
    ref_value, ref = value_and_grad(params, X.astype(np.float64), y, loss, penalty, alpha)
    fast = fast_path(make_value_and_grad("analytic", loss=loss, penalty=penalty, alpha=alpha))
    grads = {k: np.empty_like(v) for k, v in params.items()}
    S = np.full((X.shape[0], params["W"].shape[0]), np.nan, dtype=dtype)
    value = fast(params, X, y, grads, S)
    assert value == pytest.approx(ref_value, rel=rtol)
    for k in ("W", "b"):
        assert grads[k].dtype == dtype
        np.testing.assert_allclose(grads[k], ref[k], rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("loss_fn", [softmax_loss, svm_loss])
def test_kernels_may_overwrite_the_scores(loss_fn):
    rng = np.random.default_rng(1)
    S, y = rng.standard_normal((9, 5)) * 3, rng.integers(0, 5, size=9)
    value, dS = loss_fn(S, y)
    work = S.copy()
    kernel = LOSS_KERNELS["softmax" if loss_fn is softmax_loss else "svm"]
    assert kernel(work, y, work) == pytest.approx(value, rel=1e-14)
    np.testing.assert_allclose(work, dS, rtol=1e-14)


def test_only_the_analytic_objective_of_a_kernel_loss_has_a_fast_path():
    assert fast_path(make_value_and_grad("analytic", loss="svm")) is not None
    assert fast_path(make_value_and_grad("analytic", loss="ova_hinge")) is None
    assert fast_path(make_value_and_grad("numerical", loss="softmax")) is None
    assert fast_path(lambda p, X, y: value_and_grad(p, X, y)) is None
    assert fast_path(functools.partial(value_and_grad, loss=softmax_loss)) is None
    with pytest.raises(ValueError, match="alpha"):
        fast_path(make_value_and_grad("analytic", alpha=-1.0))


def checked(vg):
    """The same objective, hidden from the fast path (a plain function, not a partial)."""
    return lambda params, X, y: vg(params, X, y)


@pytest.mark.parametrize("loss", sorted(LOSS_KERNELS))
@pytest.mark.parametrize("optimizer,batch_size", [("momentum", 16), ("sgd", 7), ("gd", None)])
def test_fit_fast_path_trains_like_the_checked_path(loss, optimizer, batch_size):
    params, X, y = problem(np.float64, n=60)
    vg = make_value_and_grad("analytic", loss=loss, penalty="l2", alpha=1e-3)
    kw = dict(optimizer=optimizer, learning_rate=0.05, batch_size=batch_size, max_epochs=4,
              progress=False, random_state=3)
    fast = fit(params, X, y, value_and_grad=vg, **kw)
    slow = fit(params, X, y, value_and_grad=checked(vg), **kw)
    for k in ("W", "b"):
        np.testing.assert_allclose(fast.params[k], slow.params[k], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fast.history.step_loss, slow.history.step_loss, rtol=1e-10)


def test_fit_is_reproducible_and_float32_features_train_float32_params():
    params, X, y = problem(np.float64, n=50)
    X32 = X.astype(np.float32)
    vg = make_value_and_grad("analytic", loss="softmax", alpha=1e-3)
    kw = dict(optimizer="momentum", learning_rate=0.05, batch_size=8, max_epochs=3,
              progress=False, random_state=7)
    a = fit(params, X32, y, value_and_grad=vg, **kw)
    b = fit(params, X32, y, value_and_grad=vg, **kw)
    assert a.params["W"].dtype == np.float32 and a.state.velocity["W"].dtype == np.float32
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    ref = fit(params, X, y, value_and_grad=vg, **kw)
    np.testing.assert_allclose(a.params["W"], ref.params["W"], rtol=1e-4, atol=1e-5)


def test_transform_with_out_gets_a_reused_buffer_and_the_same_result():
    rng = np.random.default_rng(0)
    X8 = rng.integers(0, 256, size=(30, 6), dtype=np.uint8)
    y = (X8[:, 0] > 127).astype(np.int64)
    buffers = []

    def with_out(rows, out=None):
        buffers.append(None if out is None else out.base if out.base is not None else out)
        return np.multiply(rows, np.float32(1 / 255), out=out, dtype=np.float32)

    vg = make_value_and_grad("analytic", loss="svm", alpha=1e-3)
    kw = dict(value_and_grad=vg, optimizer="momentum", batch_size=8, max_epochs=2,
              progress=False)
    p0 = init_params(6, 2, dtype=np.float32)
    a = fit(p0, X8, y, transform=with_out, **kw)
    b = fit(p0, X8, y, transform=lambda rows: rows.astype(np.float32) / 255, **kw)
    reused = [buf for buf in buffers if buf is not None]
    # a buffer per slot (the batch; the next batch, gathered on a helper thread where
    # backends.numpy.PREFETCH allows; a full pass's chunk), never a new array a batch
    distinct = {id(buf): buf for buf in reused}
    assert len(reused) > 4 and len(distinct) <= 3, (len(reused), len(distinct))
    np.testing.assert_allclose(a.params["W"], b.params["W"], rtol=1e-5)


def test_fast_path_keeps_the_checked_errors():
    params, X, y = problem(np.float64, n=30)
    vg = make_value_and_grad("analytic", loss="softmax")
    X_nan = X.copy()
    X_nan[17, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(params, X_nan, y, value_and_grad=vg, batch_size=5, max_epochs=1, progress=False)
    with pytest.raises(ValueError, match="labels"):
        fit(params, X, y + 10, value_and_grad=vg, batch_size=5, max_epochs=1, progress=False)


def pixel_problem(dtype, n=50, d=12, c=4, seed=3):
    """uint8-like pixels as floats, and an affine map ``a x + c`` like the raw pipeline's."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, d)).astype(dtype)
    a = (1 / (255 * rng.uniform(0.2, 0.5, d))).astype(dtype)
    c = (-rng.uniform(0.1, 0.6, d) * 255 * a).astype(dtype)
    y = rng.integers(0, 4, size=n)
    params = init_params(d, 4, scale=0.5, random_state=seed, dtype=dtype)
    params["b"] += rng.standard_normal(4).astype(dtype)
    return params, X, y, (a, c)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("alpha", [0.0, 0.1])
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_folded_affine_step_equals_the_step_on_features(loss, alpha, dtype, rtol):
    params, X, y, (a, c) = pixel_problem(dtype)
    features = X * a + c
    fast = fast_path(make_value_and_grad("analytic", loss=loss, penalty="l2", alpha=alpha))
    S = np.empty((X.shape[0], 4), dtype=dtype)
    plain = {k: np.empty_like(v) for k, v in params.items()}
    folded = {k: np.empty_like(v) for k, v in params.items()}
    value = fast(params, features, y, plain, S)
    value_folded = fast(params, X, y, folded, S, affine=(a, c))
    assert value_folded == pytest.approx(value, rel=rtol)
    for k in ("W", "b"):
        assert folded[k].dtype == dtype
        scale = np.abs(plain[k]).max()
        np.testing.assert_allclose(folded[k], plain[k], rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("affine", [False, True])
def test_value_and_predictions_equal_the_checked_objective_and_predict(loss, affine):
    params, X, y, (a, c) = pixel_problem(np.float64)
    fast = fast_path(make_value_and_grad("analytic", loss=loss, penalty="l2", alpha=0.1))
    features = X * a + c
    S = np.full((X.shape[0], 4), np.nan)
    pred = np.full(X.shape[0], -1, dtype=np.intp)
    value = fast.value(params, X if affine else features, y, S, (a, c) if affine else None, pred)
    ref = value_and_grad(params, features, y, loss, "l2", 0.1)[0]
    assert value == pytest.approx(ref, rel=1e-10)
    np.testing.assert_array_equal(pred, predict(params, features))


class ByteFeatures:
    """Like the raw-pixel pipeline's transform: ``a * pixels + c``, foldable."""

    def __init__(self, a, c):
        self.scale, self.shift, self.dtype = a.astype(np.float32), c.astype(np.float32), np.uint8

    def __call__(self, rows, out=None):
        return self.cast(rows) * self.scale + self.shift

    @staticmethod
    def cast(rows, out=None):
        flat = rows.reshape(rows.shape[0], -1)
        return flat.astype(np.float32) if out is None else np.copyto(out, flat) or out


@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("folded", [False, True])
def test_fit_history_from_the_fast_evaluation_equals_the_checked_one(loss, folded):
    """Train and validation loss and accuracy recorded each epoch are the checked ones,
    over several chunks (more rows than CHUNK_ROWS) and with the folded uint8 path."""
    rng = np.random.default_rng(5)
    n, d = 2 * CHUNK_ROWS + 37, 12
    X = rng.integers(0, 256, size=(n + 300, d), dtype=np.uint8)
    y = rng.integers(0, 3, size=n + 300)
    a = np.full(d, 1 / 255.0)
    c = -rng.uniform(0.2, 0.6, d)
    transform = ByteFeatures(a, c) if folded else None
    if not folded:
        X = (X * a + c).astype(np.float32)
    vg = make_value_and_grad("analytic", loss=loss, penalty="l2", alpha=1e-3)
    kw = dict(optimizer="momentum", learning_rate=0.05, batch_size=64, max_epochs=2,
              progress=False, random_state=1, transform=transform,
              X_val=X[n:], y_val=y[n:])
    fast = fit(init_params(d, 3, dtype=np.float32), X[:n], y[:n], value_and_grad=vg, **kw)
    h = fast.history
    for split, rows in (("train", slice(0, n)), ("val", slice(n, None))):
        value = lambda p, X_, y_: vg(p, X_, y_)[0]  # noqa: E731
        ref_loss, ref_acc = evaluate(fast.params, X[rows], y[rows], value, transform)
        assert getattr(h, f"{split}_loss")[-1] == pytest.approx(ref_loss, rel=1e-5)
        assert getattr(h, f"{split}_accuracy")[-1] == ref_acc


def test_fast_evaluation_keeps_the_checked_errors_for_the_validation_set():
    params, X, y = problem(np.float64, n=30)
    vg = make_value_and_grad("analytic", loss="softmax")
    kw = dict(value_and_grad=vg, batch_size=5, max_epochs=1, progress=False)
    X_val = X[:10].copy()
    X_val[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit(params, X, y, X_val=X_val, y_val=y[:10], **kw)
    with pytest.raises(ValueError, match="labels"):
        fit(params, X, y, X_val=X[:10], y_val=y[:10] + 10, **kw)
