"""End to end: the lecture's full-batch gradient descent on the bundled digits."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from linclass.grad import make_value_and_grad
from linclass.model import init_params, predict
from linclass.training import gradient_descent


@pytest.fixture(scope="module")
def digits_split():
    d = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(
        d.data / 16.0, d.target, test_size=0.25, stratify=d.target, random_state=0
    )
    mean = X_tr.mean(axis=0)  # fitted on the training split only
    return X_tr - mean, X_te - mean, y_tr, y_te


@pytest.mark.parametrize("loss, lr", [("softmax", 0.5), ("svm", 0.1)])
def test_full_batch_gd_reaches_95_percent_on_digits(digits_split, loss, lr):
    X_tr, X_te, y_tr, y_te = digits_split
    vg = make_value_and_grad("analytic", loss=loss, penalty="l2", alpha=1e-4)
    params, losses = gradient_descent(
        vg, init_params(64, 10, random_state=0), X_tr, y_tr, learning_rate=lr, n_steps=300
    )
    assert losses[-1] < losses[0] / 5
    assert np.mean(predict(params, X_te) == y_te) >= 0.95


def test_divergence_names_the_learning_rate(digits_split):
    X_tr, _, y_tr, _ = digits_split
    vg = make_value_and_grad("analytic", loss="softmax", penalty="l2", alpha=1.0)
    with pytest.raises(FloatingPointError, match=r"lower learning_rate \(it was 1e\+06\)"):
        gradient_descent(vg, init_params(64, 10), X_tr, y_tr, learning_rate=1e6, n_steps=50)
