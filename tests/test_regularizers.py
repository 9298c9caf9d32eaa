import numpy as np
import pytest
from numpy.testing import assert_allclose

from linclass.regularizers import elastic_net, get_penalty, l1, l2, no_penalty


def test_values_and_gradients_match_formulas():
    W = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert_allclose(l2(W, 0.1)[0], 0.1 * (1 + 4 + 0.25))
    assert_allclose(l2(W, 0.1)[1], 0.2 * W)
    assert_allclose(l1(W, 0.1)[0], 0.1 * 3.5)
    assert_allclose(l1(W, 0.1)[1], 0.1 * np.sign(W))
    v, g = elastic_net(W, 0.1, l1_ratio=0.25)
    assert_allclose(v, 0.1 * (0.25 * 3.5 + 0.75 * 5.25))
    assert_allclose(g, 0.1 * (0.25 * np.sign(W) + 0.75 * 2 * W))
    assert no_penalty(W, 3.0)[0] == 0.0


@pytest.mark.parametrize("alpha", [-1e-3, np.nan, np.inf])
@pytest.mark.parametrize("name", ["l1", "l2", "elasticnet", "none"])
def test_bad_alpha_is_refused(name, alpha):
    with pytest.raises(ValueError, match="alpha"):
        get_penalty(name)(np.ones((2, 2)), alpha)


def test_bad_names_and_ratios_are_refused():
    with pytest.raises(ValueError, match="unknown penalty"):
        get_penalty("l3")
    with pytest.raises(ValueError, match="l1_ratio"):
        get_penalty("elasticnet", l1_ratio=1.5)


def test_elasticnet_endpoints_are_l1_and_l2():
    W = np.random.default_rng(0).standard_normal((3, 4))
    assert_allclose(get_penalty("elasticnet", l1_ratio=1.0)(W, 0.3)[0], l1(W, 0.3)[0])
    assert_allclose(get_penalty("elasticnet", l1_ratio=0.0)(W, 0.3)[0], l2(W, 0.3)[0])
