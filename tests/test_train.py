"""The one fit loop: every optimizer through it, history, stopping rules, divergence,
mini-batches, transform and partial_fit."""

import functools
from itertools import pairwise

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from linclass.grad import make_value_and_grad
from linclass.model import init_params, predict
from linclass.objective import objective_value
from linclass.optim import OPTIMIZERS, momentum, sgd
from linclass.options import DEFAULT_LEARNING_RATES
from linclass.training import (
    FitResult,
    History,
    TrainingDivergedError,
    evaluate,
    fit,
    gradient_descent,
    partial_fit,
)

OBJECTIVE = dict(loss="softmax", penalty="l2", alpha=1e-3)
VG = make_value_and_grad("analytic", **OBJECTIVE)
VALUE = functools.partial(objective_value, **OBJECTIVE)

#: Settings under which each optimizer gets a fair small budget on the blobs.
SETTINGS = {
    "gd": dict(learning_rate=0.5, max_epochs=30),
    "sgd": dict(learning_rate=0.1, batch_size=8, max_epochs=5),
    "momentum": dict(learning_rate=0.05, batch_size=8, max_epochs=5),
    "nesterov": dict(learning_rate=0.05, batch_size=8, max_epochs=5),
    "random_search": dict(optimizer_kwargs={"search_scale": 1.0}, max_epochs=100),
    "random_local_search": dict(optimizer_kwargs={"step_size": 0.2}, max_epochs=60),
    "genetic": dict(optimizer_kwargs={"population_size": 10}, max_epochs=8),
}


def blobs(n=60, d=5, c=3, seed=0):
    """Three Gaussian blobs: a small convex softmax problem."""
    rng = np.random.default_rng(seed)
    centers = 2.0 * rng.standard_normal((c, d))
    y = np.arange(n) % c
    return centers[y] + rng.standard_normal((n, d)), y


X, Y = blobs()
P0 = init_params(5, 3, random_state=0)


def run(optimizer="sgd", **kw):
    kw.setdefault("progress", False)
    return fit(P0, X, Y, value_and_grad=VG, value=VALUE, optimizer=optimizer, **kw)


# --- every optimizer through the same loop -----------------------------------------------


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizer_decreases_the_loss_on_a_convex_problem(name):
    result = run(name, **SETTINGS[name])
    assert isinstance(result, FitResult) and result.stopped_reason == "max_epochs"
    start = VALUE(P0, X, Y)
    assert result.history.train_loss[-1] < 0.7 * start
    assert VALUE(result.params, X, Y) == pytest.approx(result.history.train_loss[-1])
    assert result.history.train_accuracy[-1] > 0.6


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_same_seed_gives_the_same_result_twice(name):
    a, b = run(name, **SETTINGS[name]), run(name, **SETTINGS[name])
    for k in ("W", "b"):
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert a.history.step_loss == b.history.step_loss


@pytest.mark.parametrize("name", ["sgd", "genetic"])
def test_another_seed_gives_another_run(name):
    a = run(name, **SETTINGS[name], random_state=1)
    b = run(name, **SETTINGS[name], random_state=2)
    assert not np.array_equal(a.params["W"], b.params["W"])


def test_fit_does_not_modify_the_starting_params():
    W0 = P0["W"].copy()
    run("momentum", max_epochs=2)
    np.testing.assert_array_equal(P0["W"], W0)


def test_numerical_gradients_feed_the_same_loop():
    vg_num = make_value_and_grad("numerical", **OBJECTIVE)
    kw = dict(optimizer="gd", learning_rate=0.5, max_epochs=3, progress=False)
    num = fit(P0, X, Y, value_and_grad=vg_num, **kw)
    ana = fit(P0, X, Y, value_and_grad=VG, **kw)
    np.testing.assert_allclose(num.params["W"], ana.params["W"], rtol=1e-6, atol=1e-8)


# --- mini-batches ---------------------------------------------------------------------------


class Spy:
    """value_and_grad that records each batch's row ids (stored in column 0)."""

    def __init__(self):
        self.batches = []

    def __call__(self, params, X, y):
        self.batches.append(X[:, 0].astype(int).tolist())
        return VG(params, X, y)


def test_minibatches_reshuffle_every_epoch_and_keep_the_last_partial_batch():
    Xid = np.column_stack([np.arange(10.0), np.ones(10)])
    y = np.arange(10) % 2
    spy = Spy()
    result = fit(init_params(2, 2), Xid, y, value_and_grad=spy, value=VALUE, batch_size=4,
                 max_epochs=3, progress=False)
    assert [len(b) for b in spy.batches] == [4, 4, 2] * 3
    epochs = [sum(spy.batches[3 * e : 3 * e + 3], []) for e in range(3)]
    assert all(sorted(e) == list(range(10)) for e in epochs)  # every row once per epoch
    assert len({tuple(e) for e in epochs}) == 3  # in a new order each time
    assert result.history.n_samples == [10, 20, 30]
    assert result.history.n_loss_evals == [3, 6, 9]
    assert len(result.history.step_loss) == 9


@pytest.mark.parametrize("batch_size, steps", [(1, 60), (7, 9), (60, 1), (1000, 1), (None, 1)])
def test_any_batch_size(batch_size, steps):
    result = run("sgd", batch_size=batch_size, max_epochs=1)
    assert len(result.history.step_loss) == steps
    assert result.history.n_samples == [60]


def test_gd_and_search_methods_always_use_the_whole_set():
    for name in ("gd", "random_search", "genetic"):
        result = run(name, batch_size=4, max_epochs=2)
        assert result.history.n_samples[-1] % 60 == 0
    assert run("gd", batch_size=4, max_epochs=2).history.n_loss_evals == [1, 2]


def test_transform_lets_uint8_data_train_like_its_float_copy():
    rng = np.random.default_rng(0)
    X8 = rng.integers(0, 256, size=(50, 6), dtype=np.uint8)
    y = (X8[:, 0] > 127).astype(int)
    seen = []

    def to_float(rows):
        seen.append(rows.dtype)
        return rows.astype(np.float32) / 255

    p0 = init_params(6, 2, dtype=np.float32)
    kw = dict(value_and_grad=VG, batch_size=16, max_epochs=3, progress=False)
    raw = fit(p0, X8, y, transform=to_float, **kw)
    ref = fit(p0, X8.astype(np.float32) / 255, y, **kw)
    assert set(seen) == {np.dtype(np.uint8)}
    assert raw.params["W"].dtype == np.float32
    np.testing.assert_allclose(raw.params["W"], ref.params["W"], rtol=1e-6)
    np.testing.assert_allclose(raw.history.train_loss, ref.history.train_loss, rtol=1e-6)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("optimizer,batch_size", [("momentum", 16), ("gd", None)])
@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("fast", [True, False])
def test_raw_pixels_train_with_the_preprocessing_folded_into_w(
    loss, optimizer, batch_size, standardize, fast
):
    """Both paths, folded (fast) and checked on the features (fast=False), train like
    the materialized features."""
    from linclass.features import FeaturePipeline, Preprocessor
    from linclass.training import Foldable, affine_of

    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, size=(90, 6, 5), dtype=np.uint8)
    y = (images[:, 0, 0] > 127).astype(int) + (images[:, 5, 4] > 127)
    pipe = FeaturePipeline(preprocessor=Preprocessor(standardize=standardize)).fit(images)
    assert isinstance(pipe.batch_transform, Foldable)  # so the fast path folds it
    assert affine_of(pipe.batch_transform, images) is not None
    assert affine_of(pipe.batch_transform, images.astype(np.float32)) is None
    vg = make_value_and_grad("analytic", loss=loss, penalty="l2", alpha=1e-3)
    kw = dict(value_and_grad=vg, optimizer=optimizer, learning_rate=0.05, batch_size=batch_size,
              max_epochs=4, progress=False)
    p0 = init_params(30, 3, scale=0.1, random_state=0, dtype=np.float32)
    folded = fit(p0, images, y, transform=pipe.batch_transform, fast=fast, **kw)
    ref = fit(p0, pipe.transform(images), y, **kw)
    assert folded.params["W"].dtype == np.float32
    for k in ("W", "b"):
        scale = np.abs(ref.params[k]).max()
        np.testing.assert_allclose(folded.params[k], ref.params[k], rtol=1e-4, atol=1e-4 * scale)
    np.testing.assert_allclose(folded.history.train_loss, ref.history.train_loss, rtol=1e-4)


def test_folded_divergence_still_raises():
    from linclass.features import FeaturePipeline

    images = np.random.default_rng(5).integers(0, 256, size=(64, 4, 4), dtype=np.uint8)
    y = (images[:, 0, 0] > 127).astype(int)
    pipe = FeaturePipeline().fit(images)
    with pytest.raises(TrainingDivergedError, match="learning_rate"):
        fit(init_params(16, 2, dtype=np.float32), images, y, value_and_grad=VG,
            transform=pipe.batch_transform, learning_rate=1e9, batch_size=8, max_epochs=20,
            progress=False)


def test_full_batch_with_a_transform_goes_chunk_by_chunk_exactly():
    sizes = []  # chunk_rows=7 on 60 rows: 8 full chunks and one of 4

    def identity(rows):
        sizes.append(rows.shape[0])
        return rows

    kw = dict(value_and_grad=VG, optimizer="gd", learning_rate=0.5, max_epochs=2, progress=False)
    chunked = fit(P0, X, Y, transform=identity, chunk_rows=7, **kw)
    whole = fit(P0, X, Y, **kw)
    assert max(sizes) == 7 and 4 in sizes
    np.testing.assert_allclose(chunked.params["W"], whole.params["W"], rtol=1e-12)
    assert evaluate(P0, X, Y, VALUE, identity, chunk_rows=7) == pytest.approx(
        evaluate(P0, X, Y, VALUE))


# --- history ------------------------------------------------------------------------------


def test_history_records_every_epoch_and_exports():
    Xv, yv = blobs(seed=1)
    result = run("sgd", batch_size=16, max_epochs=4, X_val=Xv, y_val=yv)
    h = result.history
    assert isinstance(h, History) and h.epoch == [1, 2, 3, 4] and len(h.step_loss) == 16
    assert all(0 <= a <= 1 for a in h.train_accuracy + h.val_accuracy)
    assert h.learning_rate == [DEFAULT_LEARNING_RATES["sgd"]] * 4
    assert all(t2 >= t1 for t1, t2 in pairwise(h.wall_time))
    records = h.to_records()
    assert len(records) == 4 and "step_loss" not in records[0]
    assert records[2]["epoch"] == 3 and records[2]["val_loss"] == h.val_loss[2]
    assert set(h.to_dict()) == set(records[0]) | {"step_loss"}


def test_eval_every_thins_the_records_and_always_keeps_the_last_epoch():
    h = run("gd", learning_rate=0.5, max_epochs=10, eval_every=4).history
    assert h.epoch == [4, 8, 10] and len(h.step_loss) == 10


def test_no_validation_set_gives_nan_columns():
    h = run("sgd", max_epochs=1).history
    assert np.isnan(h.val_loss[0]) and np.isnan(h.val_accuracy[0])


def test_search_history_has_no_learning_rate_and_counts_generations():
    h = run("genetic", optimizer_kwargs={"population_size": 10, "n_elite": 2}, max_epochs=3).history
    assert np.isnan(h.learning_rate[-1])
    assert h.n_loss_evals == [10 + 8, 10 + 16, 10 + 24]


def test_named_schedule_is_fitted_to_the_run():
    h = run("sgd", learning_rate=0.2, schedule="cosine", batch_size=20, max_epochs=5).history
    assert h.learning_rate[0] < 0.2 and h.learning_rate[-1] < 0.01  # annealed to ~0 at the end


# --- stopping rules -------------------------------------------------------------------------


def overfitting_problem():
    """Few noisy rows, many features, no penalty: validation loss falls, then rises."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal(40)
    Xa = rng.standard_normal((260, 40))
    ya = (Xa @ w + 3.0 * rng.standard_normal(260) > 0).astype(int)
    return Xa[:30], ya[:30], Xa[30:], ya[30:]


@pytest.mark.parametrize("monitor", ["val_loss", "val_accuracy"])
def test_early_stopping_restores_the_best_epoch(monitor):
    Xt, yt, Xv, yv = overfitting_problem()
    snapshots = {}

    def keep(epoch, history, params):
        snapshots[epoch] = {k: v.copy() for k, v in params.items()}

    vg = make_value_and_grad("analytic", loss="softmax", penalty=None)
    result = fit(init_params(40, 2), Xt, yt, value_and_grad=vg, optimizer="gd",
                 learning_rate=0.1, max_epochs=300, X_val=Xv, y_val=yv, early_stopping=True,
                 monitor=monitor, patience=5, callback=keep, progress=False)
    h = result.history
    assert result.stopped_reason == "early_stopping"
    values = np.array(h.val_loss if monitor == "val_loss" else [-a for a in h.val_accuracy])
    assert result.best_epoch == h.epoch[int(np.argmin(values))]
    assert 1 < result.best_epoch < result.n_iter == result.best_epoch + 5
    for k in ("W", "b"):
        np.testing.assert_array_equal(result.params[k], snapshots[result.best_epoch][k])
    _, acc = evaluate(result.params, Xv, yv, vg_value(vg))
    assert acc == h.val_accuracy[result.best_epoch - 1]


def vg_value(vg):
    return lambda p, X, y: vg(p, X, y)[0]


def test_tolerance_stops_a_converged_run():
    result = run("gd", learning_rate=0.5, max_epochs=10_000, tol=1e-4, patience=3)
    assert result.stopped_reason == "converged" and result.n_iter < 10_000
    tail = np.array(result.history.train_loss[-4:])
    assert tail[0] - tail[-1] < 3e-4


def test_callback_can_stop_training():
    result = run("sgd", max_epochs=50, callback=lambda epoch, h, p: epoch == 3)
    assert result.stopped_reason == "callback" and result.n_iter == 3
    assert result.history.epoch[-1] == 3


# --- divergence -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gd", "sgd", "momentum", "nesterov"])
def test_divergence_raises_and_names_the_learning_rate(name):
    with pytest.raises(TrainingDivergedError,
                       match=r"lower learning_rate \(it was 1e\+06\)") as info:
        run(name, learning_rate=1e6, max_epochs=50, batch_size=8)
    assert isinstance(info.value, FloatingPointError)
    assert info.value.learning_rate == 1e6


def test_a_nan_loss_raises_at_once():
    def nan_loss(params, X, y):
        loss, grads = VG(params, X, y)
        return float("nan"), grads

    with pytest.raises(TrainingDivergedError, match=r"loss became nan at epoch 1, step 0"):
        fit(P0, X, Y, value_and_grad=nan_loss, learning_rate=0.3, progress=False)


# --- partial_fit ------------------------------------------------------------------------------


def test_partial_fit_carries_the_optimizer_state_across_calls():
    halves = [(X[:30], Y[:30]), (X[30:], Y[30:])]
    params, state = P0, None
    for Xp, yp in halves:
        params, state, loss, n_steps = partial_fit(params, Xp, yp, value_and_grad=VG,
                                                   optimizer="momentum", learning_rate=0.1,
                                                   state=state)
        assert n_steps == 1 and np.isfinite(loss)
    assert state.count == 2
    # the same two momentum updates by hand
    init, update = momentum(0.1)
    ref = {k: v.copy() for k, v in P0.items()}
    ref_state = init(ref)
    for Xp, yp in halves:
        ref, ref_state = update(ref, VG(ref, Xp, yp)[1], ref_state)
    for k in ("W", "b"):
        np.testing.assert_allclose(params[k], ref[k], rtol=1e-12)
        np.testing.assert_allclose(state.velocity[k], ref_state.velocity[k], rtol=1e-12)


def test_partial_fit_with_minibatches_and_a_built_optimizer():
    out = partial_fit(P0, X, Y, value_and_grad=VG, optimizer=sgd(0.1), batch_size=25)
    assert out.n_steps == 3 and out.state.count == 3
    assert VALUE(out.params, X, Y) < VALUE(P0, X, Y)


def test_fit_state_continues_with_partial_fit():
    result = run("sgd", batch_size=20, max_epochs=2)
    out = partial_fit(result.params, X, Y, value_and_grad=VG, state=result.state, batch_size=20)
    assert out.state.count == 2 * 3 + 3


# --- argument errors and progress ---------------------------------------------------------


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(early_stopping=True), "validation set"),
        (dict(optimizer="random_search", learning_rate=0.1), "takes no learning rate"),
        (dict(optimizer=sgd(0.1), learning_rate=0.1), "already built"),
        (dict(optimizer="adam"), "optimizer='adam' is not one of"),
        (dict(monitor="accuracy"), "monitor"),
        (dict(batch_size=0), "batch_size"),
        (dict(max_epochs=0), "max_epochs"),
        (dict(learning_rate=sgd, schedule="cosine"), "not both"),
    ],
)
def test_bad_arguments_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        run(**kw)


def test_gradient_optimizers_need_a_gradient():
    with pytest.raises(ValueError, match="value_and_grad"):
        fit(P0, X, Y, value=VALUE, optimizer="sgd")


def test_search_methods_need_only_the_loss_value():
    result = fit(P0, X, Y, value=VALUE, optimizer="random_local_search", max_epochs=5,
                 progress=False)
    assert result.n_iter == 5


def test_progress_is_quiet_off_a_terminal_and_shown_on_request(capfd):
    run("sgd", max_epochs=2)  # progress=None: stderr is not a terminal under pytest
    assert capfd.readouterr().err == ""
    run("sgd", max_epochs=2, progress=True)
    assert "epoch" in capfd.readouterr().err


# --- the lecture's convenience and the digits -------------------------------------------------


def test_gradient_descent_is_fit_with_gd():
    steps = []
    params, losses = gradient_descent(VG, P0, X, Y, learning_rate=0.5, n_steps=5,
                                      callback=lambda s, loss, p: steps.append((s, loss)))
    ref = fit(P0, X, Y, value_and_grad=VG, optimizer="gd", learning_rate=0.5, max_epochs=5,
              progress=False)
    np.testing.assert_array_equal(params["W"], ref.params["W"])
    assert losses == ref.history.step_loss == [loss for _, loss in steps]
    assert [s for s, _ in steps] == [0, 1, 2, 3, 4]


def test_default_settings_reach_95_percent_on_digits():
    d = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(
        d.data / 16.0, d.target, test_size=0.25, stratify=d.target, random_state=0
    )
    vg = make_value_and_grad("analytic", loss="softmax", penalty="l2", alpha=1e-4)
    result = fit(init_params(64, 10), X_tr, y_tr, value_and_grad=vg, eval_every=50,
                 progress=False)
    assert np.mean(predict(result.params, X_te) == y_te) >= 0.95
