"""The option records and what every face derives from them (issue: every lecture method
through every face)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split

from linclass import ImageClassifier, LinearClassifier
from linclass.features import FeatureExtractor, FeaturePipeline
from linclass.options import PARAMS, check_choice_params, names


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return train_test_split(d.data / 16.0, d.target, test_size=0.25, stratify=d.target,
                            random_state=0)


# --- the records --------------------------------------------------------------------------


def test_param_check_names_the_face_spelling():
    with pytest.raises(ValueError, match=r"--lr must be in \(0, 1000000000\], got 0"):
        PARAMS["learning_rate"].check(0, "--lr")
    with pytest.raises(ValueError, match="population_size must be an integer"):
        PARAMS["population_size"].check(2.5)
    with pytest.raises(ValueError, match="must be a number"):
        PARAMS["alpha"].check(True)
    with pytest.raises(ValueError, match="must be in"):
        PARAMS["alpha"].check(10**400)  # an int too large for a float is out of range
    assert PARAMS["tol"].check(None) is None and PARAMS["momentum"].check(0.0) == 0.0


def test_owned_parameters_are_refused_where_they_do_not_apply():
    with pytest.raises(ValueError, match="learning_rate applies to optimizer gd, sgd, momentum, "
                       "nesterov, not to optimizer 'genetic'.*population_size"):
        check_choice_params({"learning_rate": 0.1}, {"optimizer": "genetic"})
    with pytest.raises(ValueError, match="--margin applies to loss svm, ova_hinge"):
        check_choice_params({"margin": 2.0}, {"loss": "softmax"}, {"margin": "--margin"})
    check_choice_params({"margin": None, "learning_rate": None}, {"loss": "softmax",
                                                                  "optimizer": "genetic"})


def test_one_definition_of_search_and_full_batch():
    from linclass.optim import FULL_BATCH_OPTIMIZERS

    assert set(names("optimizer", "search")) == {"random_search", "random_local_search",
                                                  "genetic"}
    assert FULL_BATCH_OPTIMIZERS == {"gd", "lbfgs", *names("optimizer", "search")}


# --- the estimator ------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["random_search", "random_local_search", "genetic"])
def test_search_optimizers_fit_from_the_estimator(digits, optimizer):
    """They used to raise "takes no learning rate or schedule" (the estimator always passed
    learning_rate=0.1 and schedule="cosine")."""
    X_tr, X_te, y_tr, y_te = digits
    clf = LinearClassifier(optimizer=optimizer, max_epochs=20, random_state=0).fit(X_tr, y_tr)
    assert clf.n_iter_ == 20 and clf.score(X_te, y_te) > 0.1
    assert "learning_rate" not in clf.settings_ and "gradient" not in clf.settings_


def test_search_optimizer_parameters_reach_the_factory(digits):
    X_tr, _, y_tr, _ = digits
    small = LinearClassifier(optimizer="genetic", population_size=4, n_elite=1, max_epochs=3,
                             random_state=0).fit(X_tr, y_tr)
    # a generation evaluates population_size - n_elite children (and the first population)
    assert small.history_.n_loss_evals[-1] == 4 + 3 * 3
    a = LinearClassifier(optimizer="random_local_search", step_size=1e-9, max_epochs=5,
                         random_state=0).fit(X_tr, y_tr)
    b = LinearClassifier(optimizer="random_local_search", step_size=0.5, max_epochs=5,
                         random_state=0).fit(X_tr, y_tr)
    assert not np.allclose(a.coef_, b.coef_)


def test_a_learning_rate_set_for_a_search_optimizer_is_refused(digits):
    X_tr, _, y_tr, _ = digits
    with pytest.raises(ValueError, match="learning_rate applies to optimizer gd"):
        LinearClassifier(optimizer="genetic", learning_rate=0.1).fit(X_tr, y_tr)
    with pytest.raises(ValueError, match="schedule applies to optimizer"):
        LinearClassifier(optimizer="random_search", schedule="constant").fit(X_tr, y_tr)
    with pytest.raises(ValueError, match="n_elite must be < population_size"):
        LinearClassifier(optimizer="genetic", population_size=3, n_elite=3).fit(X_tr, y_tr)


def test_learning_rate_none_means_the_optimizer_default(digits):
    """It used to be a TypeError from np.isfinite(None)."""
    X_tr, _, y_tr, _ = digits
    clf = LinearClassifier(optimizer="sgd", learning_rate=None, max_epochs=2).fit(X_tr, y_tr)
    # min(the record's default 1.0, 1 / L of these data), recorded
    assert 0 < clf.settings_["learning_rate"] <= 1.0
    with pytest.raises(ValueError, match="learning_rate"):
        LinearClassifier(learning_rate=0).fit(X_tr, y_tr)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("optimizer", ["momentum", "sgd", "nesterov", "gd"])
def test_defaults_fit_the_small_digits(digits, loss, optimizer):
    """Defaults used to underfit: LinearClassifier() scored 0.916 here (10 epochs of
    256-row batches are 60 updates)."""
    X_tr, X_te, y_tr, y_te = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the defaults converge here
        clf = LinearClassifier(loss=loss, optimizer=optimizer, random_state=0).fit(X_tr, y_tr)
    assert clf.score(X_te, y_te) >= 0.95


def test_a_run_that_ends_on_its_budget_while_improving_warns_once(digits):
    X_tr, _, y_tr, _ = digits
    with pytest.warns(ConvergenceWarning, match="budget of 2 epochs") as caught:
        LinearClassifier(optimizer="sgd", max_epochs=2, random_state=0).fit(X_tr, y_tr)
    assert len([w for w in caught if w.category is ConvergenceWarning]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LinearClassifier(optimizer="sgd", max_epochs=2, tol=None, random_state=0).fit(X_tr, y_tr)


# --- ImageClassifier as a scikit-learn estimator ------------------------------------------


@pytest.fixture(scope="module")
def images():
    d = load_digits()
    return (d.images * (255 / 16)).astype(np.uint8), d.target


def test_image_classifier_clones_and_cross_validates(images):
    X, y = images
    model = ImageClassifier(classifier=LinearClassifier(random_state=0))
    copy = clone(model)
    assert copy.get_params()["classifier__random_state"] == 0
    scores = cross_val_score(model, X[:600], y[:600], cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8
    assert not hasattr(model, "classifier_")  # fitting clones; the argument is unchanged


def test_grid_search_over_features_and_classifier(images):
    X, y = images
    model = ImageClassifier(FeaturePipeline(FeatureExtractor(kinds=("hog",))),
                            LinearClassifier(random_state=0))
    grid = GridSearchCV(model, {"features__extractor__hog_pixels_per_cell": [(2, 2), (4, 4)],
                                "classifier__alpha": [1e-4]}, cv=2)
    grid.fit(X[:400], y[:400])
    assert grid.best_params_["features__extractor__hog_pixels_per_cell"] == (2, 2)
    assert grid.best_estimator_.score(X[400:800], y[400:800]) > 0.8


def test_dtype_float32_trains_in_float32_to_float32_precision(digits):
    """The `dtype` record: float64 user arrays train in float32 when asked (half the
    memory traffic), with the same model to float32 precision."""
    X_tr, X_te, y_tr, y_te = digits
    kw = dict(optimizer="sgd", schedule="constant", max_epochs=5, tol=None, random_state=0)
    a = LinearClassifier(**kw).fit(X_tr, y_tr)
    b = LinearClassifier(dtype="float32", **kw).fit(X_tr, y_tr)
    assert a.coef_.dtype == np.float64 and b.coef_.dtype == np.float32
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-3, atol=1e-4)
    assert np.mean(a.predict(X_te) == b.predict(X_te)) >= 0.99
    c = LinearClassifier(dtype="float64", **kw).fit(X_tr.astype(np.float32), y_tr)
    assert c.coef_.dtype == np.float64
    with pytest.raises(ValueError, match="dtype"):
        LinearClassifier(dtype="float16").fit(X_tr, y_tr)
