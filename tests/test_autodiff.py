"""The autodiff engine: every operation against centered differences, in float64.

Each check reduces an operation's output to a scalar with a random weighting ``R`` (so the
seed gradient is not all ones and every output entry matters), then compares ``backward()``
with :func:`linclass.grad.numerical_gradient` on every input entry.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.testing import assert_allclose

from linclass.grad import numerical_gradient
from linclass.grad.autodiff import Tensor, unbroadcast


def check_op(
    op: Callable[..., Tensor], *inputs: np.ndarray, seed: int = 0, h: float = 1e-6
) -> None:
    """Assert that backward() of ``sum(R * op(*inputs))`` matches centered differences."""
    arrays = {f"x{k}": np.array(a, dtype=np.float64) for k, a in enumerate(inputs)}
    R = np.random.default_rng(seed).standard_normal(op(*map(Tensor, arrays.values())).shape)

    def f(p: dict[str, np.ndarray]) -> float:
        return float((op(*(Tensor(v) for v in p.values())).data * R).sum())

    tensors = [Tensor(a) for a in arrays.values()]
    out = op(*tensors)
    (out * R).sum().backward()
    numeric = numerical_gradient(f, arrays, h=h)
    for t, (name, expected) in zip(tensors, numeric.items(), strict=True):
        assert t.grad.shape == t.shape, name
        assert_allclose(t.grad, expected, rtol=1e-6, atol=1e-8, err_msg=name)


def rand(rng: np.random.Generator, *shape: int, low: float | None = None) -> np.ndarray:
    """Standard normal entries, or uniform in [low, low + 1.5] (away from 0 for log, /)."""
    if low is None:
        return rng.standard_normal(shape)
    return rng.uniform(low, low + 1.5, shape)


def random_shape(rng: np.random.Generator, ndim: int) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, 5, ndim))


SEEDS = [0, 1, 2]

# Broadcasting pairs: same shape, column + row, missing leading axis, scalar-like (), (1,).
BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 1), (1, 4)),
    ((5,), (2, 5)),
    ((2, 5), (5,)),
    ((2, 3, 4), (3, 1)),
    ((), (2, 3)),
    ((2, 3), (1,)),
]

BINARY_OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("name", BINARY_OPS)
@pytest.mark.parametrize(("shape_a", "shape_b"), BROADCAST_SHAPES)
def test_binary_ops_with_broadcasting(name, shape_a, shape_b):
    rng = np.random.default_rng(0)
    low = 0.5 if name == "div" else None  # keep denominators away from 0
    check_op(BINARY_OPS[name], rand(rng, *shape_a), rand(rng, *shape_b, low=low))


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_ops_on_random_shapes(seed):
    rng = np.random.default_rng(seed)
    shape = random_shape(rng, int(rng.integers(1, 4)))
    for name, op in BINARY_OPS.items():
        low = 0.5 if name == "div" else None
        check_op(op, rand(rng, *shape), rand(rng, *shape, low=low), seed=seed)


@pytest.mark.parametrize(
    "op",
    [
        lambda a: a + 2.5,
        lambda a: 2.5 + a,
        lambda a: a - 2.5,
        lambda a: 2.5 - a,
        lambda a: a * -3.0,
        lambda a: -3.0 * a,
        lambda a: a / 4.0,
        lambda a: 4.0 / a,
        lambda a: -a,
        lambda a: a**3,
        lambda a: a**-0.5,
        lambda a: np.full((2, 3), 0.7) * a,  # ndarray on the left defers to the Tensor
        lambda a: np.full((2, 3), 0.7) - a,
    ],
    ids=["add", "radd", "sub", "rsub", "mul", "rmul", "div", "rdiv", "neg", "pow3",
         "pow-half", "array-mul", "array-rsub"],
)
def test_scalar_and_constant_operands(op):
    rng = np.random.default_rng(3)
    check_op(op, rand(rng, 2, 3, low=0.5))


UNARY_OPS = {
    "exp": (lambda a: a.exp(), None),
    "log": (lambda a: a.log(), 0.2),
    "abs": (lambda a: a.abs(), None),
    "builtin-abs": (lambda a: abs(a), None),
    "square": (lambda a: a.square(), None),
    "maximum-0": (lambda a: a.maximum(0.0), None),
    "maximum-0.3": (lambda a: a.maximum(0.3), None),
}


@pytest.mark.parametrize("name", UNARY_OPS)
@pytest.mark.parametrize("seed", SEEDS)
def test_unary_ops_on_random_shapes(name, seed):
    op, low = UNARY_OPS[name]
    rng = np.random.default_rng(seed)
    x = rand(rng, *random_shape(rng, int(rng.integers(1, 4))), low=low)
    if low is None:  # keep |x| and x - 0.3 away from the kinks of abs and maximum
        x = np.where(np.abs(x) < 0.05, 0.5, x)
        x = np.where(np.abs(x - 0.3) < 0.05, -0.5, x)
    check_op(op, x, seed=seed)


def test_maximum_with_array_constant_broadcasts():
    rng = np.random.default_rng(4)
    c = np.array([[-0.5], [0.5]])
    check_op(lambda a: a.maximum(c), np.array([[0.1, -1.0, 1.0], [0.2, 1.2, -0.9]]))
    x = Tensor(rng.standard_normal(3))
    x.maximum(np.zeros((2, 3))).sum().backward()  # x broadcast up to c's shape
    assert_allclose(x.grad, 2.0 * (x.data > 0))


def test_subgradients_at_kinks_are_zero():
    """The analytic SVM and L1 use 0 at the kink; autodiff must use the same convention."""
    x = Tensor(np.array([0.0, 1.0, -1.0]))
    (x.maximum(0.0).sum() + x.abs().sum()).backward()
    assert_allclose(x.grad, [0.0, 2.0, -1.0])


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(reduce, axis, keepdims):
    x = np.random.default_rng(5).standard_normal((3, 4, 2))  # continuous: no ties for max
    check_op(lambda a: getattr(a, reduce)(axis=axis, keepdims=keepdims), x)


def test_max_ties_share_the_gradient():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]))
    x.max(axis=1).sum().backward()
    assert_allclose(x.grad, [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [((3, 4), (4, 2)), ((1, 5), (5, 1)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 3))],
)
def test_matmul(shape_a, shape_b):
    rng = np.random.default_rng(6)
    check_op(lambda a, b: a @ b, rng.standard_normal(shape_a), rng.standard_normal(shape_b))


def test_matmul_with_array_on_the_left():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((5, 3))
    check_op(lambda w: X @ w.T, rng.standard_normal((4, 3)))
    assert isinstance(X @ Tensor(np.ones((3, 2))), Tensor)


def test_matmul_rejects_vectors():
    with pytest.raises(ValueError, match="at least 2 dims"):
        Tensor(np.ones(3)) @ Tensor(np.ones((3, 2)))


def test_gather_of_correct_class_scores():
    rng = np.random.default_rng(8)
    y = np.array([2, 0, 3, 3, 1])
    check_op(lambda s: s[np.arange(5), y], rng.standard_normal((5, 4)))


@pytest.mark.parametrize(
    "index",
    [
        (slice(1, 3),),
        (slice(None), 2),
        (np.array([0, 0, 2]),),  # a repeated row: add.at must sum both uses
        (np.array([1, 1, 0]), np.array([2, 2, 0])),  # a repeated entry
        (Ellipsis, 0),
    ],
    ids=["slice", "column", "repeated-rows", "repeated-entry", "ellipsis"],
)
def test_indexing(index):
    check_op(lambda a: a[index], np.random.default_rng(9).standard_normal((3, 4)))


def test_indexing_with_a_tensor_is_refused():
    with pytest.raises(TypeError, match="not Tensors"):
        Tensor(np.ones(3))[Tensor(np.array([0]))]


@pytest.mark.parametrize(
    "op",
    [
        lambda a: a.reshape(4, 6),
        lambda a: a.reshape((2, 12)),
        lambda a: a.reshape(-1),
        lambda a: a.transpose(),
        lambda a: a.transpose(1, 0, 2),
        lambda a: a.transpose((2, 0, 1)),
        lambda a: a.T,
    ],
    ids=["reshape", "reshape-tuple", "flatten", "transpose", "transpose-axes",
         "transpose-tuple", "T"],
)
def test_shape_ops(op):
    check_op(op, np.random.default_rng(10).standard_normal((2, 3, 4)))


def test_composite_expression_like_a_loss():
    """A chain through every kind of op at once, as the losses use them."""
    rng = np.random.default_rng(11)
    X, y = rng.standard_normal((6, 4)), np.array([0, 2, 1, 1, 0, 2])

    def op(W, b):
        S = X @ W.T + b
        shifted = S - S.max(axis=1, keepdims=True)
        logp = shifted - shifted.exp().sum(axis=1, keepdims=True).log()
        return -logp[np.arange(6), y].mean() + 0.1 * W.square().sum()

    check_op(op, rng.standard_normal((3, 4)), rng.standard_normal(3))


# --- unbroadcast ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grad_shape", "shape"),
    [((3, 4), (3, 4)), ((3, 4), (3, 1)), ((3, 4), (4,)), ((2, 3, 4), (1, 4)), ((2, 3), ())],
)
def test_unbroadcast_sums_stretched_axes(grad_shape, shape):
    g = np.random.default_rng(12).standard_normal(grad_shape)
    out = unbroadcast(g, shape)
    assert out.shape == shape
    assert_allclose(out.sum(), g.sum())


# --- accumulation and backward twice ------------------------------------------------------


def test_tensor_used_twice_in_one_expression_accumulates():
    x = Tensor(np.array([1.5, -2.0]))
    (x * x + x).sum().backward()
    assert_allclose(x.grad, 2 * x.data + 1)


def test_loss_built_twice_from_one_tensor_accumulates():
    rng = np.random.default_rng(13)
    W = Tensor(rng.standard_normal((3, 2)))
    loss1 = W.square().sum()
    loss2 = (W * 3.0).sum()
    loss1.backward()
    loss2.backward()
    assert_allclose(W.grad, 2 * W.data + 3.0)


def test_backward_twice_accumulates_exactly_twice():
    """Intermediate gradients are scratch, reset per call, so nothing is counted 3x or 4x."""
    rng = np.random.default_rng(14)
    W = Tensor(rng.standard_normal((3, 2)))
    hidden = (W * 2.0).exp()  # an intermediate with its own .grad
    loss = (hidden * hidden).sum()
    loss.backward()
    once = W.grad.copy()
    loss.backward()
    assert_allclose(W.grad, 2 * once)
    assert_allclose(hidden.grad, 2 * hidden.data)  # d loss / d hidden, not doubled
    W.zero_grad()
    loss.backward()
    assert_allclose(W.grad, once)


def test_backward_needs_a_scalar_or_a_seed():
    x = Tensor(np.array([1.0, 2.0, 3.0]))
    y = x.square()
    with pytest.raises(ValueError, match="scalar output or a seed"):
        y.backward()
    with pytest.raises(ValueError, match="seed grad has shape"):
        y.backward(np.ones(2))
    y.backward(np.array([1.0, 0.0, -1.0]))  # a vector-Jacobian product
    assert_allclose(x.grad, [2.0, 0.0, -6.0])


def test_backward_on_a_constant_is_an_error():
    c = Tensor(np.ones(2), requires_grad=False)
    with pytest.raises(RuntimeError, match="requires_grad"):
        c.sum().backward()


def test_constants_get_no_gradient():
    X = Tensor(np.ones((2, 3)), requires_grad=False)
    W = Tensor(np.ones((3, 1)))
    (X @ W).sum().backward()
    assert X.grad is None
    assert_allclose(W.grad, [[2.0], [2.0], [2.0]])


def test_long_chain_does_not_hit_the_recursion_limit():
    x = Tensor(np.array(1.0))
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_dtypes():
    x32 = Tensor(np.ones(3, dtype=np.float32))
    assert (x32 * 2.0 + 1).data.dtype == np.float32  # Python numbers do not upcast
    assert Tensor(np.arange(3)).data.dtype == np.float64  # integers become floats
    loss = (x32 * 2.0).sum()
    loss.backward()
    assert x32.grad.dtype == np.float32
