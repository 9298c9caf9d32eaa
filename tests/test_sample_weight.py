"""sample_weight and class_weight: the weighted mean ``sum_i v_i L_i / sum_i v_i + R(W)``
in every loss (gradients checked three ways), every optimizer and every backend, held to
duplicated rows and to scikit-learn."""

import functools

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score, recall_score
from sklearn.preprocessing import StandardScaler

from linclass import LinearClassifier, LinearRegressor
from linclass.grad import gradient_check
from linclass.grad.autodiff_objective import autodiff_value_and_grad
from linclass.losses import RECORDS
from linclass.objective import objective_value, pack_weights, unpack_weights, value_and_grad

CLASSIFICATION_LOSSES = [n for n, r in RECORDS.items() if "labels" in r.targets]


def weighted_problem(loss, seed=0, n=25, d=5, c=4):
    """A float64 point away from the loss's kinks, with weights in [0.2, 3]."""
    record = RECORDS[loss]
    for s in range(seed, seed + 50):
        rng = np.random.default_rng(s)
        X = rng.standard_normal((n, d))
        y = rng.integers(0, c, n)
        W = rng.choice([-1, 1], size=(c, d)) * rng.uniform(0.05, 0.5, size=(c, d))
        params = {"W": W, "b": 0.1 * rng.standard_normal(c)}
        w = rng.uniform(0.2, 3.0, n)
        if record.kinks is None:
            break
        if np.abs(record.kinks(X @ W.T + params["b"], y)).min() > 1e-3:
            break
    return params, X, y, w


@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
@pytest.mark.parametrize("loss", CLASSIFICATION_LOSSES)
def test_weighted_gradients_agree_three_ways(loss, penalty):
    """float64: the analytic chain rule, centered differences and autodiff on the weighted
    objective; the value is the loop reference's weighted mean."""
    params, X, y, w = weighted_problem(loss)
    y_w = pack_weights(y, w)
    J, grads = value_and_grad(params, X, y_w, loss, penalty, alpha=0.05)
    f = functools.partial(objective_value, X=X, y=y_w, loss=loss, penalty=penalty, alpha=0.05)
    assert gradient_check(f, grads, params) < 1e-6
    J_auto, auto = autodiff_value_and_grad(params, X, y_w, loss, penalty, alpha=0.05)
    np.testing.assert_allclose(J_auto, J, rtol=1e-12)
    for k in grads:
        np.testing.assert_allclose(auto[k], grads[k], rtol=1e-10, atol=1e-13)
    S = X @ params["W"].T + params["b"]
    w_mean1 = w * len(w) / w.sum()
    reference = RECORDS[loss].loop(S, y, sample_weight=w_mean1)
    unweighted = objective_value(params, X, y, loss, penalty, alpha=0.05)
    penalty_value = unweighted - RECORDS[loss].loop(S, y)
    np.testing.assert_allclose(J, reference + penalty_value, rtol=1e-10)


def test_weighted_squared_error_gradient_for_regression():
    rng = np.random.default_rng(3)
    X, t = rng.standard_normal((20, 4)), rng.standard_normal(20)
    params = {"W": rng.standard_normal((1, 4)), "b": rng.standard_normal(1)}
    y_w = pack_weights(t, rng.uniform(0.1, 4.0, 20))
    _, grads = value_and_grad(params, X, y_w, "squared", "l2", alpha=0.1)
    f = functools.partial(objective_value, X=X, y=y_w, loss="squared", penalty="l2", alpha=0.1)
    assert gradient_check(f, grads, params) < 1e-7
    _, auto = autodiff_value_and_grad(params, X, y_w, "squared", "l2", alpha=0.1)
    np.testing.assert_allclose(auto["W"], grads["W"], rtol=1e-10)


def test_packed_weights_are_normalized_to_mean_one_and_unpack():
    y = np.array([0, 1, 1, 2])
    packed = pack_weights(y, np.array([2.0, 2.0, 4.0, 0.0]))
    labels, w = unpack_weights(packed)
    np.testing.assert_array_equal(labels, y)
    np.testing.assert_allclose(w, [1.0, 1.0, 2.0, 0.0])
    assert unpack_weights(y)[1] is None and pack_weights(y, None) is y


# --- integer weights are duplicated rows -------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4)) * [1.0, 3.0, 0.5, 2.0] + [0.0, 1.0, -2.0, 0.5]
    y = (X[:, 0] + 0.5 * X[:, 1] - X[:, 2] + rng.standard_normal(60) > 0).astype(int)
    y[::7] = 2
    counts = rng.integers(0, 4, 60)  # zeros too: a weight 0 drops its row
    counts[:3] = 1
    return X, y, counts


@pytest.mark.parametrize("loss", ["softmax", "ova_logistic"])
def test_integer_weights_equal_duplicated_rows_with_lbfgs(small, loss):
    X, y, counts = small
    # tol=None: L-BFGS runs until its line search can gain nothing in float64
    kw = dict(loss=loss, optimizer="lbfgs", alpha=0.1, tol=None, max_epochs=500,
              scaling="none")
    X = StandardScaler().fit_transform(X)
    weighted = LinearClassifier(**kw).fit(X, y, sample_weight=counts)
    dup = LinearClassifier(**kw).fit(np.repeat(X, counts, axis=0), np.repeat(y, counts))
    # Both reach the same minimum through other float sums, and L-BFGS stops where its last
    # line search gains nothing in float64: a few 1e-8 apart (ova_logistic: 1.3e-8 in one
    # fresh-clone run, 1.5e-8 in another, below 1e-8 in most), so 5e-8 (of coefficients of
    # 0.01-0.2) still tells a weighting error, which moves them by 1e-3 and more.
    np.testing.assert_allclose(weighted.coef_, dup.coef_, atol=5e-8)
    np.testing.assert_allclose(weighted.intercept_, dup.intercept_, atol=5e-8)


def test_regressor_integer_weights_equal_duplicated_rows_and_ridge(small):
    X, _, counts = small
    rng = np.random.default_rng(1)
    t = X @ [1.0, -2.0, 0.5, 3.0] + 4.0 + rng.standard_normal(60)
    kw = dict(optimizer="lbfgs", alpha=0.1, tol=None, max_epochs=500, scaling="none")
    weighted = LinearRegressor(**kw).fit(X, t, sample_weight=counts)
    dup = LinearRegressor(**kw).fit(np.repeat(X, counts, axis=0), np.repeat(t, counts))
    # Both reach the same minimum through other float sums, and L-BFGS stops where its last
    # line search gains nothing in float64: a few 1e-8 apart (ova_logistic: 1.3e-8 in one
    # fresh-clone run, 1.5e-8 in another, below 1e-8 in most), so 5e-8 (of coefficients of
    # 0.01-0.2) still tells a weighting error, which moves them by 1e-3 and more.
    np.testing.assert_allclose(weighted.coef_, dup.coef_, atol=5e-8)
    np.testing.assert_allclose(weighted.intercept_, dup.intercept_, atol=5e-8)
    # Ridge(alpha=a) with weights minimizes sum_i v_i r_i^2 + a |w|^2: alpha = a / sum v
    a = 3.0
    ridge = Ridge(alpha=a).fit(X, t, sample_weight=counts)
    ours = LinearRegressor(penalty="l2", alpha=a / counts.sum(), optimizer="lbfgs", tol=None,
                           max_epochs=500).fit(X, t, sample_weight=counts)
    np.testing.assert_allclose(ours.coef_, ridge.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, ridge.intercept_, rtol=1e-6)


def test_partial_fit_weights_equal_duplicated_rows(small):
    """One full-batch gd step of partial_fit: the weighted mean is the duplicated mean."""
    X, y, counts = small
    kw = dict(optimizer="gd", scaling="none", learning_rate=0.1, random_state=0)
    weighted = LinearClassifier(**kw).partial_fit(X, y, classes=[0, 1, 2], sample_weight=counts)
    dup = LinearClassifier(**kw).partial_fit(np.repeat(X, counts, axis=0), np.repeat(y, counts),
                                             classes=[0, 1, 2])
    np.testing.assert_allclose(weighted.coef_, dup.coef_, atol=1e-12)


# --- class_weight="balanced" is scikit-learn's ----------------------------------------------


@pytest.fixture(scope="module")
def imbalanced():
    rng = np.random.default_rng(2)
    sizes = (300, 60, 20)
    centers = np.array([[0.0, 0.0, 0.0], [1.2, 0.8, 0.0], [0.5, -1.0, 1.0]])
    X = np.concatenate([rng.standard_normal((m, 3)) + c
                        for m, c in zip(sizes, centers, strict=True)])
    y = np.repeat(np.arange(3), sizes)
    return StandardScaler().fit_transform(X), y


def test_balanced_matches_logistic_regression(imbalanced):
    """alpha = 1 / (2 C sum_i v_i), and sum_i v_i = N for 'balanced' (module docstring of
    linclass.estimators.weights): the project's mapping for three classes."""
    X, y = imbalanced
    C = 0.5
    ours = LinearClassifier(optimizer="lbfgs", alpha=1 / (2 * C * len(y)), tol=1e-10,
                            max_epochs=10_000, scaling="none", class_weight="balanced").fit(X, y)
    sk = LogisticRegression(C=C, tol=1e-12, max_iter=10_000, class_weight="balanced").fit(X, y)
    W = ours.coef_ - ours.coef_.mean(axis=0)  # the softmax is shift-invariant
    np.testing.assert_allclose(W, sk.coef_, rtol=1e-5, atol=1e-6)
    b = ours.intercept_ - ours.intercept_.mean()
    np.testing.assert_allclose(b, sk.intercept_ - sk.intercept_.mean(), rtol=1e-5, atol=1e-6)


def test_class_weight_dict_equals_the_same_sample_weights(imbalanced):
    X, y = imbalanced
    kw = dict(optimizer="lbfgs", alpha=1e-2, tol=None, max_epochs=500, scaling="none")
    by_class = LinearClassifier(class_weight={0: 1.0, 2: 5.0}, **kw).fit(X, y)
    by_row = LinearClassifier(**kw).fit(X, y, sample_weight=np.where(y == 2, 5.0, 1.0))
    np.testing.assert_allclose(by_class.coef_, by_row.coef_, atol=1e-8)


def _minority_recall(clf, X, y):
    return recall_score(y, clf.predict(X), labels=[2], average="macro")


@pytest.fixture(scope="module")
def hard_imbalanced():
    """Two overlapping classes, 5% of rows in the minority: unweighted fits miss most of it."""
    rng = np.random.default_rng(5)
    n0, n1 = 950, 50
    X = np.concatenate([rng.standard_normal((n0, 4)), rng.standard_normal((n1, 4)) + 1.0])
    y = np.repeat([0, 2], [n0, n1])
    order = rng.permutation(len(y))
    return X[order], y[order]


def _weighted_objective(clf, X, y):
    """The balanced objective of a fit (what class_weight='balanced' minimizes)."""
    y_enc = np.searchsorted([0, 2], y)
    w = len(y) / (2 * np.bincount(y_enc)[y_enc])
    return objective_value({"W": clf.coef_, "b": clf.intercept_}, X, pack_weights(y_enc, w),
                           "softmax", "l2", alpha=clf.alpha)


@pytest.mark.parametrize("where", ["memory", "memmap", "torch", "dask"])
@pytest.mark.parametrize("optimizer", ["momentum", "sgd"])
def test_balanced_weights_learn_on_every_backend(hard_imbalanced, tmp_path, where, optimizer):
    """Learning: with 'balanced' the mini-batch optimizers reach the weighted optimum (its
    objective within 2e-3 of L-BFGS's) and the minority recall rises well above the
    unweighted fit's, in memory, from a memory map, on torch and on Dask."""
    X, y = hard_imbalanced
    exact = LinearClassifier(optimizer="lbfgs", alpha=1e-3, tol=1e-10, max_epochs=2000,
                             class_weight="balanced").fit(X, y)
    kw = dict(optimizer=optimizer, alpha=1e-3, batch_size=32, max_epochs=40, tol=None,
              random_state=0)
    data = X
    if where == "memmap":
        np.save(tmp_path / "X.npy", X)
        data = np.load(tmp_path / "X.npy", mmap_mode="r")
    elif where == "torch":
        pytest.importorskip("torch")
        kw["backend"] = "torch"
    elif where == "dask":
        da = pytest.importorskip("dask.array")
        data = da.from_array(X, chunks=250)
    plain = LinearClassifier(**kw).fit(data, y)
    balanced = LinearClassifier(class_weight="balanced", **kw).fit(data, y)
    gap = _weighted_objective(balanced, X, y) - _weighted_objective(exact, X, y)
    assert -1e-9 < gap < 2e-3
    assert _weighted_objective(plain, X, y) - _weighted_objective(exact, X, y) > 5 * gap
    assert _minority_recall(balanced, X, y) > _minority_recall(plain, X, y) + 0.3


def test_sample_weight_follows_rows_on_disk_and_dask(small, tmp_path):
    """gd on rows on disk and on Dask: the weighted full pass is the in-memory one."""
    da = pytest.importorskip("dask.array")
    X, y, counts = small
    kw = dict(optimizer="gd", scaling="none", learning_rate=0.1, max_epochs=30, tol=None,
              random_state=0)
    mem = LinearClassifier(**kw).fit(X, y, sample_weight=counts)
    np.save(tmp_path / "X.npy", X)
    disk = LinearClassifier(**kw).fit(np.load(tmp_path / "X.npy", mmap_mode="r"), y,
                                      sample_weight=counts)
    cluster = LinearClassifier(**kw).fit(da.from_array(X, chunks=17), y, sample_weight=counts)
    np.testing.assert_allclose(disk.coef_, mem.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cluster.coef_, mem.coef_, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", ["svm", "softmax", "crammer_singer"])
def test_torch_weighted_steps_match_numpy(small, loss):
    """Full-batch gd takes the same weighted steps on torch (autograd on the record's
    value) as on NumPy (the in-place kernels)."""
    pytest.importorskip("torch")
    X, y, counts = small
    kw = dict(optimizer="gd", scaling="none", learning_rate=0.05, max_epochs=20, tol=None,
              random_state=0, loss=loss, dtype="float64")
    ours = LinearClassifier(backend="torch", **kw).fit(X, y, sample_weight=counts)
    numpy = LinearClassifier(**kw).fit(X, y, sample_weight=counts)
    np.testing.assert_allclose(ours.coef_, numpy.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.history_.train_accuracy, numpy.history_.train_accuracy)


# --- score and bad weights ---------------------------------------------------------------


def test_score_is_sklearns_weighted_accuracy_and_r2(small):
    X, y, counts = small
    w = counts + 0.5
    clf = LinearClassifier(optimizer="lbfgs", max_epochs=50).fit(X, y)
    assert clf.score(X, y, sample_weight=w) == pytest.approx(
        accuracy_score(y, clf.predict(X), sample_weight=w))
    t = X @ [1.0, 2.0, 0.0, -1.0] + np.random.default_rng(0).standard_normal(60)
    reg = LinearRegressor(optimizer="lbfgs", max_epochs=50).fit(X, t)
    assert reg.score(X, t, sample_weight=w) == pytest.approx(
        r2_score(t, reg.predict(X), sample_weight=w))


BAD_WEIGHTS = [
    (lambda n: -np.ones(n), "sample_weight"),
    (lambda n: np.full(n, np.nan), "sample_weight"),
    (lambda n: np.ones(n + 1), "sample_weight"),
    (lambda n: np.zeros(n), "sample_weight"),
]


@pytest.mark.parametrize("make, match", BAD_WEIGHTS)
def test_bad_weights_are_refused_naming_sample_weight(small, make, match):
    X, y, _ = small
    t = X[:, 0].copy()
    with pytest.raises(ValueError, match=match):
        LinearClassifier(max_epochs=1).fit(X, y, sample_weight=make(len(y)))
    with pytest.raises(ValueError, match=match):
        LinearRegressor(max_epochs=1).fit(X, t, sample_weight=make(len(y)))
    with pytest.raises(ValueError, match=match):
        LinearClassifier(max_epochs=1).partial_fit(X, y, classes=[0, 1, 2],
                                                   sample_weight=make(len(y)))
    with pytest.raises(ValueError, match=match):
        pack_weights(y, make(len(y)))


def test_class_weight_errors(small):
    X, y, _ = small
    with pytest.raises(ValueError, match="class_weight names labels \\[7\\]"):
        LinearClassifier(class_weight={7: 2.0}, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        LinearClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="class_weight"):
        LinearClassifier(class_weight="uniform").fit(X, y)


def test_class_weight_dict_survives_a_model_file(small, tmp_path):
    X, y, _ = small
    clf = LinearClassifier(class_weight={0: 1.0, 2: 3.0}, optimizer="lbfgs",
                           max_epochs=20).fit(X, y)
    loaded = LinearClassifier.load(clf.save(tmp_path / "m.safetensors"))
    assert loaded.class_weight == {0: 1.0, 2: 3.0}
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_cli_train_takes_class_weight_balanced(cli, tmp_path):
    """The CLI's face: --class-weight balanced reaches the estimator (its model file
    records it); another value is a usage error naming the choices."""
    from linclass.io.persist import load_model

    result = cli(["train", "--dataset", "digits", "--epochs", "2", "--quiet",
                  "--class-weight", "balanced", "--out", tmp_path])
    assert result.exit_code == 0, result.output
    (model,) = tmp_path.glob("run-001/*.safetensors")
    meta = load_model(model)[1]
    assert "balanced" in str(meta)
    bad = cli(["train", "--quiet", "--class-weight", "uniform", "--out", tmp_path])
    assert bad.exit_code == 2 and "balanced" in bad.output
