"""Sweeps in one pass: stacked heads (``linclass.training.heads``), ``fit_heads`` and the
CV estimators. Each head must end where its own fit ends."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import sklearn_check
from linclass.estimators.classifier import LinearClassifier
from linclass.estimators.cv import LinearClassifierCV, LinearRegressorCV
from linclass.estimators.regressor import LinearRegressor
from linclass.losses import RECORDS
from linclass.model import init_params
from linclass.objective import Objective
from linclass.regularizers import PENALTIES, get_penalty, stacked
from linclass.training import fit
from linclass.training.heads import Heads, HeadsStep
from linclass.training.sweep import fit_heads


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500] / 16.0, y[:500]


def _holdout(y, random_state, fraction=0.1):
    """The rows a CV estimator trains and scores on (its own split, reproduced)."""
    seed = int(np.random.default_rng(random_state).integers(2**31))
    tr, va = train_test_split(np.arange(len(y)), test_size=fraction, stratify=y,
                              random_state=seed)
    return np.sort(tr), np.sort(va)


# --- the pieces ---------------------------------------------------------------------------------


@pytest.mark.parametrize("penalty", sorted(PENALTIES))
def test_stacked_penalty_is_each_heads_own(penalty):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 4, 5))
    alphas = np.array([0.0, 0.1, 2.0])
    values, grads = stacked(penalty, W, alphas, l1_ratio=0.3)
    for h in range(3):
        v, g = get_penalty(penalty, l1_ratio=0.3)(W[h], alphas[h])
        assert values[h] == pytest.approx(v, rel=1e-12, abs=1e-15)
        np.testing.assert_allclose(grads[h], g, rtol=1e-12, atol=1e-15)
    # into a given array (what a training step passes: its buffer, full of old numbers)
    out = np.full_like(W, np.nan)
    values_out, grads_out = stacked(penalty, W, alphas, l1_ratio=0.3, out=out)
    assert grads_out is out
    np.testing.assert_array_equal(out, grads)
    np.testing.assert_allclose(values_out, values, rtol=1e-14)


def _masked_block(rng: np.random.Generator, m: int, H: int = 3, C: int = 4):
    """Scores ``S`` (m, H C) of H heads, labels, and each head's rows (a mask, row 0 in
    every head): one block of a step, as the heads' kernels see it."""
    S = rng.standard_normal((m, H * C)) * 2
    y = rng.integers(0, C, m)
    mask = rng.random((m, H)) < 0.7
    mask[0] = True
    return S, y, mask, H, C


@pytest.mark.parametrize("loss", sorted(RECORDS))
def test_head_sums_give_each_heads_weighted_loss(loss):
    """HeadSums turns every loss's value into one weighted mean per head: the same as the
    loss's own function on that head's columns and rows."""
    S, y, mask, H, C = _masked_block(np.random.default_rng(1), 7)
    weights = mask / mask.sum(axis=0)
    step = HeadsStep(Heads(loss, "none", np.zeros(H), np.ones(H)))
    values = step.values(S, y, weights)
    for h in range(H):
        rows = mask[:, h]
        own = RECORDS[loss].function(S[rows, h * C:(h + 1) * C], y[rows])[0]
        assert values[h] == pytest.approx(own, rel=1e-12)


@pytest.mark.parametrize("loss", sorted(n for n, r in RECORDS.items() if r.kernel is not None))
def test_a_kernels_row_losses_are_each_rows_own_loss(loss):
    """``row_losses`` receives every row's L_i; the kernel's value and gradient are
    unchanged by asking for them."""
    rng = np.random.default_rng(2)
    S = rng.standard_normal((9, 4)) * 3
    y = rng.integers(0, 4, 9)
    w = rng.random(9) + 0.5
    kernel = RECORDS[loss].kernel
    plain_G, G = np.empty_like(S), np.empty_like(S)
    plain = kernel(S.copy(), y, plain_G, sample_weight=w)
    rows = np.full(9, np.nan)
    value = kernel(S.copy(), y, G, sample_weight=w, row_losses=rows)
    assert value == pytest.approx(plain, rel=1e-14)
    np.testing.assert_allclose(G, plain_G, rtol=1e-14)
    for i in range(9):
        assert rows[i] == pytest.approx(RECORDS[loss].function(S[i:i + 1], y[i:i + 1])[0],
                                        rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("loss", sorted(RECORDS))
def test_a_blocks_losses_and_gradients_are_each_heads_own(loss):
    """One block of the step (the loss kernel's row losses, or the value summed per head
    where a loss has no kernel): each head's weighted loss and gradient are those of the
    loss's own function on that head's columns and rows."""
    rng = np.random.default_rng(4)
    S, y, mask, H, C = _masked_block(rng, 8)
    v = rng.random((8, H)) + 0.5
    weights = mask * v / mask.sum(axis=0)
    step = HeadsStep(Heads(loss, "none", np.zeros(H), np.ones(H)))
    G = S.copy()
    losses = step._losses_into(G, y, weights, grad=True)
    np.testing.assert_allclose(step._losses_into(S.copy(), y, weights, grad=False), losses,
                               rtol=1e-13)
    np.testing.assert_allclose(step.values(S, y, weights), losses, rtol=1e-12)
    for h in range(H):
        rows = mask[:, h]
        own, own_G = RECORDS[loss].function(S[rows, h * C:(h + 1) * C], y[rows],
                                            sample_weight=v[rows, h])
        assert losses[h] == pytest.approx(own, rel=1e-12)
        np.testing.assert_allclose(G[rows, h * C:(h + 1) * C], own_G, rtol=1e-12, atol=1e-15)
        assert (G[~rows, h * C:(h + 1) * C] == 0).all()


# --- fit_heads against each head's own fit -----------------------------------------------------


@pytest.mark.parametrize("loss,optimizer", [("softmax", "momentum"), ("svm", "sgd"),
                                            ("ova_logistic", "nesterov"), ("squared", "gd")])
def test_every_head_ends_where_its_own_fit_ends(digits, loss, optimizer):
    X, y = digits
    alphas, rates = np.array([1e-4, 1e-2, 1e-1]), np.array([0.01, 0.05, 0.02])
    start = init_params(64, 10, random_state=0)
    # tol=0 with patience 10: the plateau rule is on (every epoch measured) but never fires
    result = fit_heads(start, X, y, Heads(loss, "l2", alphas, rates), optimizer=optimizer,
                       schedule="cosine", batch_size=64, max_epochs=5, random_state=3,
                       tol=0.0, patience=10)
    assert result.n_groups == 1
    assert result.n_passes == 5 + 5 + 1  # one per epoch, one measure per epoch, the last
    unwatched = fit_heads(start, X, y, Heads(loss, "l2", alphas, rates), optimizer=optimizer,
                          schedule="cosine", batch_size=64, max_epochs=5, random_state=3)
    assert unwatched.n_passes == 5 + 1  # tol=None: measured once, at the end
    np.testing.assert_array_equal(unwatched.params["W"], result.params["W"])
    for k in range(3):
        own = fit(start, X, y, value_and_grad=Objective(loss, "l2", alphas[k]),
                  optimizer=optimizer, learning_rate=rates[k], schedule="cosine",
                  batch_size=64, max_epochs=5, random_state=3, tol=0.0, patience=10,
                  progress=False)
        np.testing.assert_allclose(result.params["W"][k], own.params["W"], rtol=1e-9,
                                   atol=1e-12)
        assert result.objective[k] == pytest.approx(own.history.train_loss[-1], rel=1e-9)
        np.testing.assert_allclose(result.history["objective"][:, k], own.history.train_loss,
                                   rtol=1e-9)


def test_each_head_stops_at_its_own_tolerance(digits):
    X, y = digits
    alphas, rates = np.array([1e-1, 1e-4]), np.array([0.05, 0.05])
    start = init_params(64, 10, random_state=0)
    result = fit_heads(start, X, y, Heads("softmax", "l2", alphas, rates), optimizer="sgd",
                       batch_size=50, max_epochs=60, random_state=0, tol=1e-3, patience=3)
    for k in range(2):
        own = fit(start, X, y, value_and_grad=Objective("softmax", "l2", alphas[k]),
                  optimizer="sgd", learning_rate=rates[k], batch_size=50, max_epochs=60,
                  random_state=0, tol=1e-3, patience=3, progress=False)
        assert result.n_iter[k] == own.n_iter
        assert result.status[k] == own.stopped_reason
        np.testing.assert_allclose(result.params["W"][k], own.params["W"], rtol=1e-9,
                                   atol=1e-12)
    assert result.n_iter[0] < result.n_iter[1]  # the strongly regularized head stops first


def test_a_diverging_head_is_dropped_and_the_others_train_on(digits):
    X, y = digits
    X = X * 16  # raw pixels: a large step diverges
    start = init_params(64, 10, random_state=0)
    rates = np.array([1e-5, 50.0])
    result = fit_heads(start, X, y, Heads("squared", "l2", np.array([1e-4, 1e-4]), rates),
                       optimizer="sgd", batch_size=64, max_epochs=4, random_state=0)
    assert result.status[1].startswith("diverged:") and "learning rate" in result.status[1]
    assert result.dropped.tolist() == [False, True]
    assert np.isnan(result.objective[1]) and (result.params["W"][1] == 0).all()
    own = fit(start, X, y, value_and_grad=Objective("squared", "l2", 1e-4), optimizer="sgd",
              learning_rate=1e-5, batch_size=64, max_epochs=4, random_state=0,
              progress=False)
    np.testing.assert_allclose(result.params["W"][0], own.params["W"], rtol=1e-9, atol=1e-12)
    # the head leaves at the very batch at which its own fit stops diverged: every
    # batch's loss of every head is checked, as the runner checks one fit's
    from linclass.training import TrainingDivergedError

    with pytest.raises(TrainingDivergedError) as own_error:
        fit(start, X, y, value_and_grad=Objective("squared", "l2", 1e-4), optimizer="sgd",
            learning_rate=50.0, batch_size=64, max_epochs=4, random_state=0, progress=False)
    why = result.why[1]
    assert (why.epoch, why.step) == (own_error.value.epoch, own_error.value.step)
    assert why.loss == pytest.approx(own_error.value.loss, rel=1e-9)


def test_every_head_diverging_is_an_error(digits):
    X, y = digits
    from linclass.training import TrainingDivergedError

    with pytest.raises(TrainingDivergedError):
        fit_heads(init_params(64, 10), X * 16, y,
                  Heads("squared", "l2", np.array([0.0, 0.0]), np.array([50.0, 90.0])),
                  optimizer="sgd", batch_size=64, max_epochs=3)


def test_heads_past_the_memory_budget_train_in_groups_with_the_same_result(digits):
    X, y = digits
    start = init_params(64, 10, random_state=0)
    heads = Heads("softmax", "l2", np.array([1e-4, 1e-3, 1e-2]), np.array([0.1, 0.05, 0.2]))
    one = fit_heads(start, X, y, heads, batch_size=32, max_epochs=2, random_state=5)
    split = fit_heads(start, X, y, heads, batch_size=32, max_epochs=2, random_state=5,
                      memory_mb=0.02)
    assert one.n_groups == 1 and split.n_groups == 3
    assert split.n_passes == 3 * one.n_passes
    np.testing.assert_allclose(split.params["W"], one.params["W"], rtol=1e-12)


def test_masked_heads_train_on_their_own_rows_only(digits):
    """Full-batch gd on a head whose mask holds some rows equals gd on those rows."""
    X, y = digits
    start = init_params(64, 10, random_state=0)
    rng = np.random.default_rng(0)
    masks = rng.random((2, len(y))) < 0.6
    heads = Heads("softmax", "l2", np.array([1e-3, 1e-3]), np.array([0.5, 0.5]), masks=masks)
    result = fit_heads(start, X, y, heads, optimizer="gd", max_epochs=5)
    for k in range(2):
        own = fit(start, X[masks[k]], y[masks[k]], value_and_grad=Objective(
            "softmax", "l2", 1e-3), optimizer="gd", learning_rate=0.5, max_epochs=5,
            progress=False)
        np.testing.assert_allclose(result.params["W"][k], own.params["W"], rtol=1e-9,
                                   atol=1e-12)
        held = ~masks[k]
        pred = (X[held] @ own.params["W"].T + own.params["b"]).argmax(axis=1)
        assert result.held_out[k] == pytest.approx(np.mean(pred == y[held]))


def test_heads_on_a_memory_map_match_their_own_fits(digits, tmp_path):
    X, y = digits
    path = tmp_path / "X.npy"
    np.save(path, X.astype(np.float32))
    X_disk = np.load(path, mmap_mode="r")
    start = init_params(64, 10, random_state=0, dtype=np.float32)
    heads = Heads("softmax", "l2", np.array([1e-4, 1e-2]), np.array([0.05, 0.1]))
    result = fit_heads(start, X_disk, y, heads, optimizer="momentum", batch_size=32,
                       max_epochs=2, random_state=1, tol=None)
    assert result.n_passes == 2 + 1  # read once per epoch (running losses) and once at the end
    for k in range(2):
        own = fit(start, X_disk, y, value_and_grad=Objective("softmax", "l2", heads.alphas[k]),
                  optimizer="momentum", learning_rate=heads.rates[k], batch_size=32,
                  max_epochs=2, random_state=1, tol=None, progress=False)
        np.testing.assert_allclose(result.params["W"][k], own.params["W"], rtol=2e-4,
                                   atol=1e-6)


# --- the CV estimators ----------------------------------------------------------------------------


def test_classifier_cv_scores_each_setting_as_its_own_fit_would(digits):
    X, y = digits
    X = X * 16  # unscaled: the heads train in each fit's standardized coordinates
    alphas, rates = [1e-4, 1e-2], [0.01, 0.1]
    # float64 steps on both sides, where every head must be its own fit to rounding
    cv = LinearClassifierCV(alphas=alphas, learning_rates=rates, optimizer="momentum",
                            max_epochs=8, dtype="float64", random_state=0).fit(X, y)
    default = LinearClassifierCV(alphas=alphas, learning_rates=rates, optimizer="momentum",
                                 max_epochs=8, random_state=0).fit(X, y)
    tr, va = _holdout(y, 0)
    for i, (a, r) in enumerate([(a, r) for a in alphas for r in rates]):
        own = LinearClassifier(alpha=a, learning_rate=r, optimizer="momentum", max_epochs=8,
                               dtype="float64", random_state=0).fit(X[tr], y[tr])
        assert cv.cv_results_["mean_test_score"][i] == pytest.approx(own.score(X[va], y[va]))
        head = {k: v[i] for k, v in cv.sweep_result_.params.items()}
        np.testing.assert_allclose(head["W"], own.coef_, rtol=1e-7, atol=1e-10)
        # by default the heads step in float32, as a LinearClassifier's mini-batches do
        # (the dtype policy): the same fit to float32 rounding, coef_ still float64
        own32 = LinearClassifier(alpha=a, learning_rate=r, optimizer="momentum",
                                 max_epochs=8, random_state=0).fit(X[tr], y[tr])
        head32 = default.sweep_result_.params["W"][i]
        assert head32.dtype == np.float32
        assert np.abs(head32 - own32.coef_).max() <= 1e-4 * np.abs(own32.coef_).max()
        assert abs(default.cv_results_["mean_test_score"][i] - own32.score(X[va], y[va])
                   ) <= 2 / len(va)  # a prediction or two may flip at float32 rounding
    assert default.coef_.dtype == np.float64
    best = int(np.argmax(cv.cv_results_["mean_test_score"]))
    assert (cv.alpha_, cv.learning_rate_) == (alphas[best // 2], rates[best % 2])
    refit = LinearClassifier(alpha=cv.alpha_, learning_rate=cv.learning_rate_,
                             optimizer="momentum", max_epochs=8, dtype="float64",
                             random_state=0).fit(X, y)
    np.testing.assert_allclose(cv.coef_, refit.coef_)
    assert cv.scores_.shape == (2, 2, 1)
    assert cv.cv_results_["rank_test_score"][best] == 1


def test_classifier_cv_default_rates_are_each_fits_default(digits):
    X, y = digits
    cv = LinearClassifierCV(alphas=[1e-4, 1e-1], loss="squared", max_epochs=3,
                            random_state=2).fit(X, y)
    tr, _ = _holdout(y, 2)
    for i, a in enumerate([1e-4, 1e-1]):
        own = LinearClassifier(alpha=a, loss="squared", max_epochs=3, random_state=2).fit(
            X[tr], y[tr])
        assert cv.cv_results_["param_learning_rate"][i] == pytest.approx(
            own.settings_["learning_rate"])


def test_classifier_cv_folds_as_heads(digits):
    X, y = digits
    cv = LinearClassifierCV(alphas=[1e-4, 1e-1], cv=3, max_epochs=5, random_state=0,
                            refit=False).fit(X, y)
    assert cv.scores_.shape == (2, 1, 3)
    assert (cv.scores_[0] > 0.85).all()  # every fold head learned
    assert "split2_test_score" in cv.cv_results_
    # without refit the model is the mean of the best setting's fold heads
    i = cv.best_index_
    np.testing.assert_allclose(cv.coef_, cv.sweep_result_.params["W"][3 * i:3 * i + 3].mean(0))
    assert cv.score(X, y) > 0.9


def test_regressor_cv_matches_its_own_fits_and_chooses_like_ridge():
    X, y = make_regression(n_samples=300, n_features=20, n_informative=5, noise=20.0,
                           random_state=0)
    X = X * np.logspace(-2, 2, 20)  # columns on scales four orders of magnitude apart
    y = y * 100 + 5000
    alphas = [1e-4, 1e-2, 1.0]
    # tol=None: the CV's heads stop on each epoch's full objective, a LinearRegressor on
    # the running mean of its batch losses (as SGDRegressor does)
    cv = LinearRegressorCV(alphas=alphas, max_epochs=30, tol=None, random_state=0).fit(X, y)
    seed = int(np.random.default_rng(0).integers(2**31))
    tr, va = train_test_split(np.arange(len(y)), test_size=0.1, random_state=seed)
    tr, va = np.sort(tr), np.sort(va)
    for i, a in enumerate(alphas):
        own = LinearRegressor(alpha=a, max_epochs=30, tol=None, random_state=0).fit(X[tr],
                                                                                      y[tr])
        mse = np.mean((own.predict(X[va]) - y[va]) ** 2)
        assert cv.cv_results_["mean_test_score"][i] == pytest.approx(-mse, rel=1e-9)
    assert cv.score(X, y) > 0.9


@pytest.mark.parametrize("cv_folds", [None, 3])
def test_lbfgs_sweeps_are_a_warm_started_path_scored_like_its_own_fits(digits, cv_folds):
    X, y = digits
    alphas = [1e-1, 1e-3]
    cv = LinearClassifierCV(alphas=alphas, optimizer="lbfgs", tol=1e-6, cv=cv_folds,
                            random_state=0).fit(X, y)
    n_folds = 1 if cv_folds is None else 3
    assert cv.scores_.shape == (2, 1, n_folds) and (cv.scores_ > 0.8).all()
    assert cv.learning_rate_ is None
    if cv_folds is None:
        tr, va = _holdout(y, 0)
        for i, a in enumerate(alphas):
            own = LinearClassifier(alpha=a, optimizer="lbfgs", tol=1e-6, random_state=0).fit(
                X[tr], y[tr])
            assert cv.cv_results_["mean_test_score"][i] == pytest.approx(
                own.score(X[va], y[va]), abs=0.02)  # a path point is the same optimum
    refit = LinearClassifier(alpha=cv.alpha_, optimizer="lbfgs", tol=1e-6,
                             random_state=0).fit(X, y)
    np.testing.assert_allclose(cv.coef_, refit.coef_)


@pytest.mark.parametrize("cv_folds", [None, 3])
def test_weighted_heads_weigh_their_rows_as_their_own_fits(digits, cv_folds):
    """class_weight="balanced" (counted on each head's own rows) and sample_weight: on a
    hold-out every head ends where its own weighted fit on the training part ends; on
    folds, weighting the minority class raises its recall."""
    X, y = digits
    keep = (y != 1) | (np.arange(len(y)) % 5 == 0)  # class 1 a fifth as common
    X, y = X[keep], y[keep]
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    common = dict(alphas=[1e-4, 1e-2], optimizer="momentum", max_epochs=4, tol=None,
                  random_state=0, cv=cv_folds, refit=False, dtype="float64")
    cv = LinearClassifierCV(class_weight="balanced", **common).fit(X, y, sample_weight=sw)
    if cv_folds is None:
        tr, _ = _holdout(y, 0)
        for i, a in enumerate([1e-4, 1e-2]):
            own = LinearClassifier(alpha=a, class_weight="balanced", optimizer="momentum",
                                   max_epochs=4, tol=None, dtype="float64",
                                   random_state=0).fit(
                X[tr], y[tr], sample_weight=sw[tr])
            np.testing.assert_allclose(cv.sweep_result_.params["W"][i], own.coef_,
                                       rtol=1e-7, atol=1e-10)
    else:
        plain = LinearClassifierCV(**common).fit(X, y)
        recall = [float(np.mean(m.predict(X[y == 1]) == 1)) for m in (plain, cv)]
        assert recall[1] >= recall[0]
        assert not np.allclose(plain.coef_, cv.coef_)  # the weights changed the fit


def test_a_weighted_lbfgs_sweep_is_each_weighted_fit(digits):
    X, y = digits
    sw = np.random.default_rng(1).uniform(0.2, 3.0, len(y))
    cv = LinearClassifierCV(alphas=[1e-2, 1e-3], optimizer="lbfgs", tol=1e-7,
                            class_weight={0: 3.0}, random_state=0, refit=False).fit(
        X, y, sample_weight=sw)
    tr, va = _holdout(y, 0)
    for i, a in enumerate([1e-2, 1e-3]):
        own = LinearClassifier(alpha=a, optimizer="lbfgs", tol=1e-7, class_weight={0: 3.0},
                               random_state=0).fit(X[tr], y[tr], sample_weight=sw[tr])
        assert cv.sweep_result_.objective[i] == pytest.approx(own.history_.train_loss[-1],
                                                              rel=1e-6)
        assert cv.cv_results_["mean_test_score"][i] == pytest.approx(own.score(X[va], y[va]),
                                                                     abs=0.01)


def test_cv_refuses_what_a_sweep_cannot_run(digits):
    X, y = digits
    cases = [
        (dict(alphas=[]), "alphas"), (dict(alphas=[-1.0]), "alphas"),
        (dict(alphas=[np.nan]), "alphas"), (dict(learning_rates=[0.0]), "learning_rates"),
        (dict(alphas=[1e-3, 1e-3]), "repeated"),
        (dict(optimizer="genetic"), "gradient optimizers"),
        (dict(gradient="numerical"), "analytic"),
        (dict(early_stopping=True), "early_stopping"),
        (dict(optimizer="lbfgs", learning_rates=[0.1]), "learning_rates"),
        (dict(cv=1), "cv"),
        (dict(learning_rates=[0.1], learning_rate=0.1), "not both"),
        (dict(warm_start=True), "warm_start"),
    ]
    for params, match in cases:
        with pytest.raises(ValueError, match=match):
            LinearClassifierCV(**params).fit(X, y)


def test_cv_estimators_are_scikit_learn_estimators():
    from sklearn.base import clone

    cv = LinearClassifierCV(alphas=[1e-3, 1e-2], loss="svm", cv=3)
    params = cv.get_params()
    assert params["alphas"] == [1e-3, 1e-2] and params["loss"] == "svm" and params["cv"] == 3
    assert clone(cv).get_params() == params
    assert not hasattr(cv, "partial_fit")
    assert "alpha" in LinearRegressorCV().get_params()


def expected_failed_checks(estimator):
    """The scikit-learn checks a sweep fails, with their reasons."""
    out = {}
    # as LinearClassifier's own (tests/test_classifier.py): mini-batch runs draw other
    # batches than the repeated rows would
    out["check_sample_weight_equivalence_on_dense_data"] = "other batches than repeated rows"
    return out


@parametrize_with_checks([LinearClassifierCV(alphas=[1e-4, 1e-2], max_epochs=5),
                          LinearClassifierCV(alphas=[1e-4, 1e-2], optimizer="lbfgs", cv=2),
                          LinearRegressorCV(alphas=[1e-4, 1e-2], max_epochs=5)],
                         expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    sklearn_check(estimator, check)
