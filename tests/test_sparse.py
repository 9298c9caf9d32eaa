"""Sparse input (scipy.sparse CSR/CSC) in fit and predict, never densified whole: held to
LogisticRegression on a hashed text set, to the dense fit, and refused where not run."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression

from linclass import LinearClassifier, LinearRegressor
from linclass.objective import objective_value, pack_weights, value_and_grad

TOPICS = {
    "sport": "goal match team player score league coach season win referee stadium",
    "space": "orbit rocket planet star galaxy launch moon telescope astronaut comet",
    "food": "recipe bake oven flavor spice dinner sauce garlic bread cheese soup",
}
FILLER = "the a of and to in is it that with for on was as this very".split()


def sentences(n, seed):
    """Generated sentences: topic words among filler words, labelled by topic."""
    rng = np.random.default_rng(seed)
    names = sorted(TOPICS)
    docs, labels = [], []
    for _ in range(n):
        k = int(rng.integers(len(names)))
        words = list(rng.choice(TOPICS[names[k]].split(), size=4))
        words += list(rng.choice(TOPICS[names[(k + 1) % 3]].split(), size=1))  # noise
        words += list(rng.choice(FILLER, size=6))
        rng.shuffle(words)
        docs.append(" ".join(words))
        labels.append(names[k])
    return docs, np.array(labels)


@pytest.fixture(scope="module")
def text():
    vec = HashingVectorizer(n_features=2**12, alternate_sign=False, norm="l2")
    docs, y = sentences(600, 0)
    test_docs, y_test = sentences(300, 1)
    return vec.transform(docs).tocsr(), y, vec.transform(test_docs).tocsr(), y_test


def test_sparse_lbfgs_matches_logistic_regression(text):
    """The same optimum as LogisticRegression on the same CSR matrix (alpha = 1 / (2 C N),
    the project's mapping for three classes): coefficients to 1e-4 of their scale, the
    same test predictions."""
    X, y, X_test, _ = text
    C = 10.0
    ours = LinearClassifier(optimizer="lbfgs", alpha=1 / (2 * C * X.shape[0]), tol=1e-10,
                            max_epochs=5000).fit(X, y)
    sk = LogisticRegression(C=C, tol=1e-12, max_iter=5000).fit(X, y)
    scale = np.abs(sk.coef_).max()
    np.testing.assert_allclose(ours.coef_ - ours.coef_.mean(axis=0), sk.coef_,
                               atol=1e-4 * scale)
    assert np.array_equal(ours.predict(X_test), sk.predict(X_test))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_sparse_minibatches_learn_like_logistic_regression(text, fmt, optimizer):
    X, y, X_test, y_test = text
    sk = LogisticRegression(C=10.0, max_iter=2000).fit(X, y).score(X_test, y_test)
    clf = LinearClassifier(optimizer=optimizer, random_state=0).fit(X.asformat(fmt), y)
    assert clf.score(X_test.asformat(fmt), y_test) >= sk - 0.02
    assert sk > 0.9


def test_sparse_fit_equals_the_dense_fit(text):
    """gd from the same start: the CSR steps are the dense steps (to rounding)."""
    X, y, _, _ = text
    X, y = X[:200], y[:200]
    kw = dict(optimizer="gd", max_epochs=15, tol=None, random_state=0, loss="svm")
    sparse = LinearClassifier(**kw).fit(X, y)
    dense = LinearClassifier(**kw).fit(X.toarray(), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.decision_function(X), dense.decision_function(X.toarray()),
                               rtol=1e-9, atol=1e-12)


def test_sparse_objective_and_gradient_are_the_dense_ones(text):
    X, y, _, _ = text
    X, y_enc = X[:50], np.searchsorted(np.unique(y), y[:50])
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, X.shape[1])), "b": rng.standard_normal(3)}
    y_w = pack_weights(y_enc, rng.uniform(0.5, 2.0, 50))
    for loss in ("softmax", "ova_logistic"):  # a kernel, and the checked path
        J_s, g_s = value_and_grad(params, X, y_w, loss, "l2", 0.01)
        J_d, g_d = value_and_grad(params, X.toarray(), y_w, loss, "l2", 0.01)
        assert J_s == pytest.approx(J_d, rel=1e-12)
        np.testing.assert_allclose(g_s["W"], g_d["W"], rtol=1e-10, atol=1e-14)
        assert objective_value(params, X, y_w, loss, "l2", 0.01) == pytest.approx(J_d, rel=1e-12)


def test_sparse_regressor_and_sample_weight(text):
    X, _, _, _ = text
    rng = np.random.default_rng(0)
    t = X @ rng.standard_normal(X.shape[1]) + 1.0
    w = rng.integers(1, 3, X.shape[0])
    kw = dict(optimizer="lbfgs", alpha=1e-3, tol=1e-10, max_epochs=3000)
    sparse = LinearRegressor(**kw).fit(X, t, sample_weight=w)
    dense = LinearRegressor(**kw).fit(X.toarray(), t, sample_weight=w)
    np.testing.assert_allclose(sparse.predict(X), dense.predict(X.toarray()), atol=1e-5)


def test_sparse_is_refused_where_it_does_not_run(text):
    X, y, _, _ = text
    with pytest.raises(ValueError, match="sparse"):
        LinearClassifier(gradient="numerical", optimizer="gd", max_epochs=1).fit(X[:20], y[:20])
    with pytest.raises(ValueError, match="sparse"):
        LinearClassifier(gradient="autodiff", optimizer="gd", max_epochs=1).fit(X[:20], y[:20])
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="sparse"):
        LinearClassifier(backend="torch", max_epochs=1).fit(X[:20], y[:20])


def test_sparse_never_densifies_the_whole_matrix(monkeypatch, text):
    """A fit and a prediction on CSR rows never call toarray on more than a batch or a
    chunk of rows (here the whole set is 600 rows, a chunk 8,192: so never, except on
    mini-batches of 256)."""
    X, y, _, _ = text
    calls = []
    original = sp.csr_matrix.toarray

    def spy(self, *args, **kwargs):
        calls.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", spy)
    monkeypatch.setattr(sp.csr_array, "toarray", spy, raising=False)
    LinearClassifier(optimizer="sgd", max_epochs=2, tol=None, random_state=0).fit(X, y).predict(X)
    assert not calls or max(calls) < X.shape[0]
