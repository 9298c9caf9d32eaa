"""Which of linclass's optimizers the playground offers, and when a run has diverged.

The optimizers themselves are :mod:`linclass.optim`'s; the playground offers the gradient
ones (the derivative-free searches take a loss function instead of a gradient, and have no
learning rate to play with).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linclass.model import Params
from linclass.optim import GradientOptimizer, get_optimizer

OPTIMIZERS = ("sgd", "momentum", "nesterov")

# Beyond this size a weight is treated as diverged, long before it overflows: the
# hyperplanes and templates are meaningless by then, and the page should say so.
DIVERGENCE_LIMIT = 1e6


def make_optimizer(name: str, learning_rate: float) -> GradientOptimizer:
    """``(init, update)`` from :func:`linclass.optim.get_optimizer` for one of
    :data:`OPTIMIZERS`; ``update`` changes the params it is given in place."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {list(OPTIMIZERS)}")
    return get_optimizer(name, learning_rate=learning_rate)


def tentative_step(
    optimizer: GradientOptimizer, params: Params, grads: Params, state: Any
) -> tuple[Params, Any]:
    """One update applied to a copy, so the caller can still refuse it if it diverged.

    Returns:
        ``(new_params, new_state)``; ``params`` is left as it was. The optimizer state may
        have changed in place, so after refusing a step, start the optimizer again.
    """
    candidate = {k: v.copy() for k, v in params.items()}
    return optimizer.update(candidate, grads, state)


def is_diverged(loss: float, params: Params) -> bool:
    """True when the loss or any weight is non-finite or beyond :data:`DIVERGENCE_LIMIT`."""
    if not np.isfinite(loss) or abs(loss) > DIVERGENCE_LIMIT:
        return True
    return any(not np.all(np.abs(v) <= DIVERGENCE_LIMIT) for v in params.values())


class GuardedSteps:
    """What both playground sessions do with an update: take it, or refuse it when it
    diverges and say so.

    A session using it has ``_optimizer``, ``_opt_state``, ``params``, ``config`` (with a
    ``learning_rate``), ``n_steps``, ``diverged`` and ``message``.
    """

    #: What the user can do after a refused step (the page's own words).
    RECOVERY = "Lower it, or start over."

    def _guarded_update(self, loss: float, grads: Params) -> bool:
        """Apply one update unless it diverges; then keep the last finite weights,
        restart the optimizer from rest, set the message and return False."""
        new_params, new_state = tentative_step(self._optimizer, self.params, grads,
                                               self._opt_state)
        if is_diverged(loss, new_params):
            self._opt_state = self._optimizer.init(self.params)
            self.diverged = True
            self.message = (
                f"Diverged at step {self.n_steps}: learning rate "
                f"{self.config.learning_rate:g} is too large for this loss; the weights were "
                f"kept at their last finite values. {self.RECOVERY}")
            return False
        self.params, self._opt_state = new_params, new_state
        self.n_steps += 1
        return True
