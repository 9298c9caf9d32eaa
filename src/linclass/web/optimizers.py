"""The playground's optimizers, built from a view's controls, and when a run has diverged.

The optimizers themselves are :mod:`linclass.optim`'s, every one the records list: the
gradient ones take ``update(params, grads, state)``, the derivative-free searches
``update(params, f, state)`` with ``f(params) -> loss`` and have no learning rate. Which
is which comes from the records' ``"search"`` tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np

from linclass.model import Params
from linclass.objective import Objective
from linclass.optim import Optimizer, build
from linclass.options import choice
from linclass.training import Runner, Spec, TrainingDivergedError, make_parts
from linclass.training.parts import backend_for
from linclass.web.config import SEARCH_OPTIMIZERS, STEPPED_OPTIMIZERS, loss_kwargs

OPTIMIZERS = STEPPED_OPTIMIZERS

# Beyond this size a weight is treated as diverged, long before it overflows: the
# hyperplanes and templates are meaningless by then, and the page should say so.
DIVERGENCE_LIMIT = 1e6


def make_optimizer(config: Mapping[str, Any], seed: int = 0) -> Optimizer:
    """``(init, update)`` for ``config["optimizer"]`` from :func:`linclass.optim.build`,
    with the options its record owns (a search never sees the learning rate).

    ``update`` changes the params it is given in place. Searches are seeded with
    ``seed``. A playground run has no fixed length, so its schedule is constant.
    """
    name = config["optimizer"]
    owned = choice("optimizer", name).params
    values = {k: config[k] for k in owned if k in config}
    if "schedule" in owned:
        values["schedule"] = "constant"
    return cast(Optimizer, build(name, values, seed))  # the playground offers no solver


def is_diverged(loss: float, params: Params) -> bool:
    """True when the loss or any weight is non-finite or beyond :data:`DIVERGENCE_LIMIT`."""
    if not np.isfinite(loss) or abs(loss) > DIVERGENCE_LIMIT:
        return True
    return any(not np.all(np.abs(v) <= DIVERGENCE_LIMIT) for v in params.values())


def tried(optimizer_name: str, state: Any, like: Params, limit: int) -> list[Params]:
    """What a search looked at in its last update, as params shaped like ``like``.

    Random (local) search: its one candidate; genetic: up to ``limit`` individuals of the
    population. Gradient optimizers try nothing: an empty list.
    """
    if optimizer_name not in SEARCH_OPTIMIZERS or state is None:
        return []
    if hasattr(state, "population"):
        rows = state.population[:limit]
    else:
        rows = [np.concatenate([state.candidate[k].ravel() for k in like])]
    out = []
    for row in rows:
        start, p = 0, {}
        for k, v in like.items():
            p[k] = np.asarray(row[start:start + v.size]).reshape(v.shape)
            start += v.size
        out.append(p)
    return out


class GuardedSteps:
    """What both playground sessions do with an update: take it, or refuse it when it
    diverges and say so.

    A session using it sets the attributes declared below.
    """

    params: Params
    config: dict[str, Any]  # the controls
    seed: int
    n_steps: int
    diverged: bool
    message: str | None
    _optimizer: Optimizer
    _opt_state: Any
    #: The first step's loss since the last start: the rise is measured from it.
    start_loss: float | None = None

    #: What the user can do after a refused step (the page's own words).
    RECOVERY = "Lower it, or start over."

    @property
    def searching(self) -> bool:
        """True when the chosen optimizer is a derivative-free search."""
        return self.config["optimizer"] in SEARCH_OPTIMIZERS

    def _start_optimizer(self, config: Mapping[str, Any]) -> None:
        """Build the optimizer for ``config`` (raising before any change when it cannot be
        built), then adopt ``config`` and start from rest: momentum built up on the old
        settings would carry the weights somewhere else."""
        optimizer = make_optimizer(config, self.seed)
        self.config = dict(config)
        self._optimizer = optimizer
        self._opt_state = optimizer.init(self.params)
        self.diverged, self.message = False, None

    def _runner(self, X: np.ndarray, y: np.ndarray) -> Runner:
        """The fit loop's runner over ``(X, y)`` (what a search scores; gradient batches
        may be other rows): the same step and update as :func:`linclass.training.fit`."""
        c = self.config
        objective = Objective(c["loss"], c["penalty"], c["alpha"], **loss_kwargs(c))
        spec = Spec(X, y, objective, objective.value, None, None, None, True, self.params)
        runner = Runner(make_parts(spec, backend_for(X, None, "cpu")), self._optimizer, X, y)
        # the rise is measured from the first step since the session began
        runner.start_loss = None if self.n_steps == 0 else self.start_loss
        return runner

    def _guarded_step(self, runner: Runner, X: np.ndarray | None = None,
                      y: np.ndarray | None = None, rows: np.ndarray | None = None) -> bool:
        """One update through the fit loop's :meth:`Runner.update` (a search's candidate,
        or a gradient step on the batch ``rows`` of ``(X, y)``), applied to a copy; when
        it diverges (the fit's own rule, or weights beyond :data:`DIVERGENCE_LIMIT`) keep
        the last finite weights, restart the optimizer from rest, set the message and
        return False."""
        if self.searching:
            self._seed_local_search(runner)
        candidate = {k: v.copy() for k, v in self.params.items()}
        error: TrainingDivergedError | None = None
        try:
            state = runner.update(candidate, self._opt_state, X, y, rows)
        except TrainingDivergedError as e:
            error = e
        self.start_loss = runner.start_loss
        if error is None and not is_diverged(runner.losses[-1], candidate):
            self.params, self._opt_state = candidate, state
            self.n_steps += 1
            return True
        self._opt_state = self._optimizer.init(self.params)
        self.diverged = True
        if error is None:  # finite and not risen, but the weights ran away
            error = TrainingDivergedError(float(runner.losses[-1]), learning_rate=float(
                self.config["learning_rate"]), epoch=1, step=self.n_steps)
        # The fit's own message (the same rule and words as fit's), in the page's terms.
        self.message = (f"{error.describe({'learning_rate': 'the learning rate'})}. The "
                        f"weights were kept at their last finite values. {self.RECOVERY}")
        return False

    def _seed_local_search(self, runner: Runner) -> None:
        """Random local search keeps a step only if it beats the *current* weights, so
        their loss is the best so far before its first try."""
        state = self._opt_state
        if choice("optimizer", self.config["optimizer"]).has("local") and \
                not np.isfinite(state.loss):
            self._opt_state = state._replace(loss=float(runner.full_loss(self.params)))
