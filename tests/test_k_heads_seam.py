"""The training core's seams carry K heads at once (the issue on declared seams asks the
Step to; the sweeps issue builds the product on it).

A step over stacked params ``{"W": (K, C, D), "b": (K, C)}`` computes the scores of every
head with one matrix product per batch, returns one loss per head, and gives head k its own
penalty ``alpha_k`` and its own learning rate ``r_k`` by scaling its gradient (exact for the
linear updates sgd, momentum and nesterov: ``v <- mu v - lr (r_k g_k)`` is ``v <- mu v -
(lr r_k) g_k``). The unchanged :class:`~linclass.training.Runner`, batch source and
optimizer then train all heads in one pass, and each head ends where its own fit ends.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from linclass.backends.numpy import MemorySource
from linclass.losses import softmax_loss
from linclass.model import init_params
from linclass.objective import Objective
from linclass.optim import momentum
from linclass.training import Parts, Runner, fit
from linclass.training.parts import InHostMemory, Step
from linclass.training.sampler import BatchSampler
from linclass.training.setup import rngs


class SoftmaxHeads(InHostMemory):
    """K softmax + L2 heads sharing every batch's product (a test double of the sweeps
    issue's step)."""

    def __init__(self, alphas: np.ndarray, rates: np.ndarray) -> None:
        self.alphas, self.rates = alphas, rates
        self.products = 0

    def _block(self, params, F, y):
        W, b = params["W"], params["b"]
        K, C, D = W.shape
        S = F @ W.reshape(K * C, D).T + b.reshape(-1)  # all heads' scores: one product
        self.products += 1
        G = np.empty_like(S)
        losses = np.empty(K)
        for k in range(K):
            part = slice(k * C, (k + 1) * C)
            loss, G[:, part] = softmax_loss(S[:, part], y)
            losses[k] = loss + self.alphas[k] * float(np.sum(W[k] ** 2))
        gW = (G.T @ F).reshape(K, C, D) + 2 * self.alphas[:, None, None] * W
        gb = G.sum(axis=0).reshape(K, C)
        return losses, {"W": gW * self.rates[:, None, None], "b": gb * self.rates[:, None]}

    def batch(self, params, X, y, rows):
        return self._block(params, X[rows], y[rows])

    def full(self, params, X, y):
        return self._block(params, X, y)

    def loss(self, params, X, y):
        return self._block(params, X, y)[0]

    def evaluate(self, params, X, y, *, accuracy=True, predictions=None):
        raise NotImplementedError


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def test_k_heads_train_in_one_pass_and_match_their_own_fits(digits):
    X, y = digits
    alphas = np.array([1e-4, 1e-3, 1e-2, 1e-1])
    rates = np.array([0.02, 0.05, 0.1, 0.2])
    K, C, D = len(alphas), 10, X.shape[1]
    start = init_params(D, C, random_state=0)
    step = SoftmaxHeads(alphas, rates)
    assert isinstance(step, Step)  # it satisfies the declared protocol
    shuffle_rng, _ = rngs(3)  # the batch order fit() draws from random_state=3
    source = MemorySource(X, y, BatchSampler(len(y), 64, shuffle_rng))
    heads = {"W": np.stack([start["W"]] * K), "b": np.stack([start["b"]] * K)}
    optimizer = momentum(learning_rate=1.0, momentum=0.9)
    runner = Runner(Parts(step, source), optimizer, X, y)
    state = optimizer.init(heads)
    epochs = 4
    for epoch in range(1, epochs + 1):
        state = runner.run(heads, state, epoch)
    steps = epochs * -(-len(y) // 64)
    assert step.products == steps  # one product per batch for all K heads
    assert runner.losses[-1].shape == (K,)  # one loss per head
    for k in range(K):
        own = fit(start, X, y, value_and_grad=Objective("softmax", "l2", alphas[k]),
                  optimizer="momentum", learning_rate=rates[k], batch_size=64,
                  max_epochs=epochs, random_state=3, tol=None, progress=False)
        np.testing.assert_allclose(heads["W"][k], own.params["W"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(heads["b"][k], own.params["b"], rtol=1e-9, atol=1e-12)


def test_one_diverging_head_is_seen_per_head(digits):
    """The divergence rule reads a vector of losses head by head."""
    from linclass.training.runner import rose

    assert not rose(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    assert rose(np.array([1.0, np.inf]), np.array([1.0, 1.0]))
    assert rose(np.array([1.0, 500.0]), np.array([1.0, 2.0]))
