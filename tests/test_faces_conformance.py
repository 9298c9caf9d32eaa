"""Every lecture method through every face: the estimator and the CLI accept the same
choices, with the same names, and each one trains.

The matrix is every optimizer x loss x penalty through ``LinearClassifier`` (small data,
few epochs) and through the CLI's option plumbing, every optimizer x loss through a real
``linclass train`` run, and every gradient method x loss compared with each other.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from linclass import LinearClassifier
from linclass.cli.common import build_model
from linclass.cli.options import TRAINING
from linclass.options import FAMILIES, PARAMS, names

OPTIMIZERS = names("optimizer")
LOSSES = names("loss")
PENALTIES = names("penalty")


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(120, n_features=4, centers=3, cluster_std=1.0, random_state=0)
    return X / np.abs(X).max(), y


@pytest.mark.parametrize("optimizer,loss,penalty",
                         list(itertools.product(OPTIMIZERS, LOSSES, PENALTIES)))
def test_estimator_matrix(blobs, optimizer, loss, penalty):
    X, y = blobs
    epochs = 30 if optimizer not in names("optimizer", "search") else 60
    clf = LinearClassifier(loss=loss, penalty=penalty, optimizer=optimizer,
                           alpha=1e-3, max_epochs=epochs, tol=None, random_state=0)
    clf.fit(X, y)
    losses = np.array(clf.history_.train_loss)
    if optimizer in names("optimizer", "solver"):  # a solver may stop when its line search can't
        assert 1 <= clf.n_iter_ <= epochs and np.all(np.diff(losses) <= 1e-12)
    else:
        assert clf.n_iter_ == epochs
    assert np.isfinite(losses).all()
    assert np.isfinite(clf.coef_).all() and set(clf.predict(X)) <= {0, 1, 2}
    if optimizer in names("optimizer", "search"):
        # keep-the-best searches never get worse from one epoch to the next
        assert np.all(np.diff(losses) <= 1e-12)
    else:
        assert clf.score(X, y) >= 0.9
    assert clf.settings_["optimizer"] == optimizer and clf.settings_["max_epochs"] == epochs


def _cli_options(**changes):
    """The options dict a command receives, with the CLI's defaults."""
    opts = {n: (None if PARAMS[n].owned else PARAMS[n].default) for n in TRAINING}
    opts.update(changes)
    return opts


@pytest.mark.parametrize("optimizer,loss,penalty",
                         list(itertools.product(OPTIMIZERS, LOSSES, PENALTIES)))
def test_cli_options_build_the_same_estimator(optimizer, loss, penalty):
    options = _cli_options(optimizer=optimizer, loss=loss, penalty=penalty)
    _, clf = build_model(options, "raw", False, seed=3, quiet=True)
    expected = LinearClassifier(optimizer=optimizer, loss=loss, penalty=penalty,
                                random_state=3)
    assert clf.get_params() == {**expected.get_params(), "verbose": False}


@pytest.mark.parametrize("optimizer,loss", list(itertools.product(OPTIMIZERS, LOSSES)))
@pytest.mark.usefixtures("quick_pictures")  # the settings and metrics are checked, not the pictures
def test_cli_train_matrix(cli, tmp_path, optimizer, loss):
    penalty = PENALTIES[(OPTIMIZERS.index(optimizer) + LOSSES.index(loss)) % len(PENALTIES)]
    result = cli(["train", "--quiet", "--dataset", "digits", "--limit", "120", "--epochs", "2",
                  "--optimizer", optimizer, "--loss", loss, "--penalty", penalty,
                  "--out", tmp_path, "--name", "r"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["settings"]["optimizer"] == optimizer
    assert metrics["settings"]["loss"] == loss and metrics["settings"]["penalty"] == penalty
    assert metrics["epochs_run"] == 2 and 0 <= metrics["test_accuracy"] <= 1


@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_methods_train_the_same_model(blobs, loss):
    """Same seed, same constant-rate SGD: analytic and autodiff agree to rounding,
    numerical (centered differences) to its truncation error (all in float64: by default
    the analytic gradient's mini-batch steps run in float32, the others in float64)."""
    X, y = blobs[0][:40], blobs[1][:40]
    coefs = {}
    for method in names("gradient"):
        clf = LinearClassifier(loss=loss, gradient=method, optimizer="sgd", learning_rate=0.1,
                               schedule="constant", batch_size=8, max_epochs=3, tol=None,
                               dtype="float64", random_state=0).fit(X, y)
        coefs[method] = np.concatenate([clf.coef_.ravel(), clf.intercept_])
    np.testing.assert_allclose(coefs["autodiff"], coefs["analytic"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(coefs["numerical"], coefs["analytic"], rtol=1e-4, atol=1e-6)


def test_every_choice_has_a_record_with_words():
    for family, choices in FAMILIES.items():
        for name, c in choices.items():
            assert c.help and c.family == family and c.name == name
            for p in c.params:
                assert p in PARAMS, f"{family} {name} uses {p}, which has no record"
