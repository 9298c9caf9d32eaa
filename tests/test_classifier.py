"""LinearClassifier as a native scikit-learn estimator."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import sklearn_check
from linclass import LinearClassifier
from linclass.io.persist import ModelFileError

# The one place where expected failures of scikit-learn's checks are listed, with reasons.
EXPECTED_FAILED_CHECKS: dict[str, str] = {
    "check_sample_weight_equivalence_on_dense_data": (
        "the objective is exactly that of the repeated rows (tests/test_sample_weight.py: "
        "lbfgs to 1e-8 with tol=None), but a run is not: mini-batches of repeated rows are "
        "other batches (as for SGDClassifier), and the default tol stops L-BFGS at a "
        "relative decrease of 1e-3-level precision, in coordinates standardized by the "
        "unweighted column statistics"),
    "check_sample_weight_equivalence_on_sparse_data": (
        "the objective is exactly that of the repeated rows (tests/test_sample_weight.py: "
        "lbfgs to 1e-8 with tol=None), but a run is not: mini-batches of repeated rows are "
        "other batches (as for SGDClassifier), and the default tol stops L-BFGS at a "
        "relative decrease of 1e-3-level precision, in coordinates standardized by the "
        "unweighted column statistics"),
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(
    [LinearClassifier(), LinearClassifier(loss="svm", optimizer="sgd", learning_rate=0.01),
     # an lbfgs classifier has no partial_fit, so the partial_fit checks skip it (they
     # failed while it had one that always raised)
     LinearClassifier(optimizer="lbfgs")],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    sklearn_check(estimator, check)


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return train_test_split(d.data / 16.0, d.target, test_size=0.25, stratify=d.target,
                            random_state=0)


@pytest.mark.parametrize("loss", ["softmax", "svm", "ova_hinge", "ova_logistic"])
def test_every_loss_trains_well_on_digits(digits, loss):
    X_tr, X_te, y_tr, y_te = digits
    clf = LinearClassifier(loss=loss, batch_size=32, max_epochs=50, tol=None, random_state=0)
    clf.fit(X_tr, y_tr)
    assert clf.score(X_te, y_te) >= 0.95
    assert clf.coef_.shape == (10, 64) and clf.intercept_.shape == (10,)
    assert clf.n_features_in_ == 64 and clf.n_iter_ == 50
    assert len(clf.history_.train_loss) == clf.n_iter_


@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_defaults_train_well_on_real_images(loss):
    from linclass.data import DataError, load_dataset

    try:
        data = load_dataset("fashion-mnist")
    except DataError as e:
        pytest.skip(f"Fashion-MNIST not installed: {e}")
    X_tr = data.flat("train")[:10000] / np.float32(255)
    X_te = data.flat("test")[:5000] / np.float32(255)
    clf = LinearClassifier(loss=loss, random_state=0).fit(X_tr, data.y_train[:10000])
    assert clf.score(X_te, data.y_test[:5000]) >= 0.80


def test_any_label_type_round_trips(digits):
    X_tr, _, y_tr, _ = digits
    for labels in (np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                             "eight", "nine"]), np.arange(-5, 15, 2)):
        y = labels[y_tr]
        pred = LinearClassifier(random_state=0, max_epochs=5).fit(X_tr, y).predict(X_tr)
        assert pred.dtype == y.dtype and set(pred) <= set(labels)
        assert np.mean(pred == y) > 0.9


def test_predict_proba_only_for_softmax(digits):
    X_tr, X_te, y_tr, _ = digits
    clf = LinearClassifier(random_state=0, max_epochs=3).fit(X_tr, y_tr)
    P = clf.predict_proba(X_te)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    assert_array_equal(clf.classes_[P.argmax(axis=1)], clf.predict(X_te))
    assert not hasattr(LinearClassifier(loss="svm"), "predict_proba")


def test_pipeline_gridsearch_and_clone(digits):
    X_tr, X_te, y_tr, y_te = digits
    pipe = make_pipeline(StandardScaler(), LinearClassifier(random_state=0, max_epochs=5))
    grid = GridSearchCV(pipe, {"linearclassifier__alpha": [1e-4, 1e-2]}, cv=2)
    grid.fit(X_tr, y_tr)
    assert grid.score(X_te, y_te) > 0.9
    c = clone(LinearClassifier(alpha=0.3, loss="svm"))
    assert c.alpha == 0.3 and c.loss == "svm" and not hasattr(c, "coef_")


def test_partial_fit_learns_from_pieces(digits):
    X_tr, X_te, y_tr, y_te = digits
    clf = LinearClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X_tr[:10], y_tr[:10])
    for _epoch in range(5):
        for start in range(0, len(y_tr), 200):
            clf.partial_fit(X_tr[start:start + 200], y_tr[start:start + 200],
                            classes=np.arange(10))
    assert clf.score(X_te, y_te) > 0.9


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum", "nesterov"])
@pytest.mark.parametrize("gradient", ["analytic", "autodiff"])
def test_every_gradient_optimizer_and_gradient_method(digits, optimizer, gradient):
    X_tr, X_te, y_tr, y_te = digits
    lr = 0.5 if optimizer in ("gd", "sgd") else 0.05  # momentum multiplies the step ~10x
    epochs = 100 if optimizer == "gd" else 10
    clf = LinearClassifier(optimizer=optimizer, gradient=gradient, learning_rate=lr,
                           max_epochs=epochs, random_state=0).fit(X_tr, y_tr)
    assert clf.score(X_te, y_te) > 0.9


def test_early_stopping_uses_a_validation_split(digits):
    X_tr, _, y_tr, _ = digits
    clf = LinearClassifier(early_stopping=True, patience=2, max_epochs=50,
                           random_state=0).fit(X_tr, y_tr)
    assert not np.isnan(clf.history_.val_accuracy).any()


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(loss="hinge2"), "loss"), (dict(optimizer="adam"), "optimizer"),
     (dict(alpha=-1), "alpha"), (dict(learning_rate=0), "learning_rate"),
     (dict(gradient="symbolic"), "gradient"), (dict(batch_size=0), "batch_size")],
)
def test_bad_hyperparameters_are_named(digits, kwargs, match):
    X_tr, _, y_tr, _ = digits
    with pytest.raises(ValueError, match=match):
        LinearClassifier(**kwargs).fit(X_tr, y_tr)


def test_model_file_round_trip_is_bit_identical(digits, tmp_path):
    X_tr, X_te, y_tr, _ = digits
    labels = np.array(list("abcdefghij"), dtype=object)
    clf = LinearClassifier(loss="svm", random_state=0, max_epochs=3).fit(X_tr, labels[y_tr])
    path = clf.save(tmp_path / "m.safetensors")
    back = LinearClassifier.load(path)
    assert_array_equal(back.decision_function(X_te), clf.decision_function(X_te))
    assert_array_equal(back.predict(X_te), clf.predict(X_te))
    assert back.get_params() == clf.get_params()
    with pytest.raises(FileExistsError):
        clf.save(path)
    clf.save(path, force=True)


def test_load_refuses_a_file_of_another_kind(tmp_path):
    from linclass.io.persist import save_model

    path = tmp_path / "other.safetensors"
    save_model(path, {"W": np.zeros((2, 3)), "b": np.zeros(2)}, {"estimator": "Other"})
    with pytest.raises(ModelFileError, match="not a LinearClassifier"):
        LinearClassifier.load(path)


def test_validation_data_is_recorded_every_epoch_and_used_for_early_stopping(digits):
    X_tr, X_te, y_tr, y_te = digits
    clf = LinearClassifier(max_epochs=3, random_state=0)
    clf.fit(X_tr, y_tr, validation_data=(X_te, y_te))
    assert len(clf.history_.val_accuracy) == 3
    assert clf.history_.val_accuracy[-1] == pytest.approx(clf.score(X_te, y_te))
    stopped = LinearClassifier(max_epochs=50, early_stopping=True, patience=2, batch_size=32,
                               learning_rate=0.5, schedule="constant", random_state=0)
    stopped.fit(X_tr, y_tr, validation_data=(X_te, y_te))
    assert len(stopped.history_.epoch) < 50  # stopped on the given set, not a carved one
    with pytest.raises(ValueError, match="not in the training labels"):
        clf.fit(X_tr, y_tr, validation_data=(X_te, y_te + 100))
