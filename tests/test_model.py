import numpy as np
import pytest
from numpy.testing import assert_allclose

from linclass.model import (
    add_bias_column,
    check_params,
    fold_bias,
    init_params,
    predict,
    predict_binary,
    scores,
    unfold_bias,
)


def test_scores_are_Wx_plus_b_for_each_example():
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(3)}
    X = rng.standard_normal((5, 4))
    S = scores(params, X)
    for i in range(5):
        assert_allclose(S[i], params["W"] @ X[i] + params["b"], rtol=1e-12)


def test_bias_trick_equals_explicit_form():
    rng = np.random.default_rng(1)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(3)}
    X = rng.standard_normal((6, 4))
    W_ext = fold_bias(params)
    X_ext = add_bias_column(X)
    assert W_ext.shape == (3, 5) and X_ext.shape == (6, 5)
    assert_allclose(X_ext @ W_ext.T, scores(params, X), rtol=1e-12)
    back = unfold_bias(W_ext)
    assert_allclose(back["W"], params["W"])
    assert_allclose(back["b"], params["b"])


def test_lecture_example_four_pixels_three_classes():
    # The slide's cat/dog/ship example: W (3, 4), x (4,), b (3,). (The CS231n figure prints
    # 61.95 for ship, which omits its bias of -1.2; 60.75 is Wx + b.)
    W = np.array([[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0.0, 0.25, 0.2, -0.3]])
    b = np.array([1.1, 3.2, -1.2])
    x = np.array([[56, 231, 24, 2]], dtype=float)
    assert_allclose(scores({"W": W, "b": b}, x)[0], [-96.8, 437.9, 60.75], rtol=1e-12)


def test_predict_is_argmax_and_binary_rule_is_score_nonnegative():
    params = {"W": np.eye(3), "b": np.zeros(3)}
    X = np.array([[0.0, 2.0, 1.0], [5.0, 1.0, 1.0]])
    assert predict(params, X).tolist() == [1, 0]
    assert predict_binary(np.array([-0.1, 0.0, 3.0])).tolist() == [0, 1, 1]


def test_init_params_is_small_seeded_and_shaped():
    a = init_params(64, 10, random_state=3)
    b = init_params(64, 10, random_state=3)
    assert a["W"].shape == (10, 64) and a["b"].shape == (10,)
    assert_allclose(a["W"], b["W"])
    assert np.abs(a["W"]).max() < 0.01 and not a["b"].any()


@pytest.mark.parametrize(
    "params, X, match",
    [
        ({"W": np.zeros((3, 4)), "b": np.zeros(3)}, np.zeros((2, 5)), "5 features"),
        ({"W": np.zeros((3, 4)), "b": np.zeros(2)}, np.zeros((2, 4)), "shapes"),
        ({"W": np.zeros((3, 4))}, np.zeros((2, 4)), "keys"),
        ({"W": np.zeros((3, 4)), "b": np.zeros(3)}, np.zeros(4), "2-D"),
    ],
)
def test_bad_shapes_raise_clear_value_error(params, X, match):
    with pytest.raises(ValueError, match=match):
        scores(params, X)


def test_check_params_returns_classes_and_features():
    assert check_params({"W": np.zeros((3, 7)), "b": np.zeros(3)}) == (3, 7)
