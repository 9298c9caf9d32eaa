"""One record per choice a user makes, the single source of every face's options.

Each *family* (loss, penalty, optimizer, schedule, gradient method, feature kind) lists its
*choices* (:class:`Choice`), and each choice names the *parameters* (:class:`Param`) it
uses. From these records come:

* the estimators' ``_parameter_constraints`` (scikit-learn style) and their checks of
  which parameter belongs to which choice (:func:`check_choice_params`);
* the CLI's options, help texts, ranges and choices (``linclass.cli.options``);
* the playground's menus, its ``/api/options`` and the page's input limits;
* the wording of the errors.

So an option added here appears in every face, or in none.

A parameter that belongs to some choices only (``margin`` to the hinge losses,
``momentum`` to the momentum optimizers, ``population_size`` to the genetic algorithm)
defaults to ``None``: "this choice's default". Set explicitly with a choice that does not
use it, it is refused with a message that says which choices take it, instead of being
silently ignored.

The optimizers' records (:data:`OPTIMIZERS`, :class:`OptimizerChoice`) also carry their
default learning rate, their automatic budget (:class:`Budget`), the rules their
parameters obey together (:class:`Rule`: genetic's ``n_elite < population_size``) and
where their code is; :func:`linclass.optim.build` builds any of them from them, for every
face.

The loss family is not written here: it is derived from the loss records
(:mod:`linclass.losses.records`, one :class:`~linclass.losses.records.Loss` per loss), as
is :data:`LOSS_CURVATURE`.

This module is part of the core: it imports the standard library and, for the loss
records, :mod:`linclass.losses` (NumPy-level core; it imports nothing from here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from linclass.backends.registry import BACKENDS, backends_help
from linclass.losses.records import DEFAULT_LOSS
from linclass.losses.records import RECORDS as LOSS_RECORDS


@dataclass(frozen=True)
class Param:
    """One parameter: its type, range, default and words.

    Attributes:
        name: The Python name (estimator argument, JSON field); the CLI flag is the same
            with dashes (``--population-size``) unless ``flag`` says otherwise.
        type: ``float``, ``int``, ``bool`` or ``str``.
        default: The value a user gets without setting it (for a choice-owned parameter:
            the value used when it is left ``None``).
        help: One line for ``--help``, docstrings and the playground's tooltips.
        low, high: Range for numbers (None: unbounded on that side).
        low_open, high_open: True when the bound itself is excluded.
        choices: The allowed names for a ``str`` parameter.
        none_ok: ``None`` is a meaningful value (e.g. ``tol=None``: no tolerance stop).
        flag: CLI flag when it differs from the name (``--lr``).
        owned: True when only some choices use it (its estimator default is then None).
    """

    name: str
    type: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    none_ok: bool = False
    flag: str | None = None
    owned: bool = False

    @property
    def cli_flag(self) -> str:
        """The option's long flag, e.g. ``--population-size``."""
        return self.flag or "--" + self.name.replace("_", "-")

    def range_text(self) -> str:
        """The range in words, e.g. ``"> 0"``, ``"in [0, 1)"``, ``"an integer >= 1"``."""
        kind = "an integer " if self.type is int else ""
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"{kind}in {left}{_fmt(lo)}, {_fmt(hi)}{right}"
        if lo is not None:
            return f"{kind}{'>' if self.low_open else '>='} {_fmt(lo)}"
        if hi is not None:
            return f"{kind}{'<' if self.high_open else '<='} {_fmt(hi)}"
        return kind.strip() or "a number"

    def check(self, value: Any, where: str | None = None) -> Any:
        """Return ``value`` if it is allowed, else raise ValueError naming the parameter.

        Args:
            value: The value to check (None is allowed for owned or ``none_ok`` ones).
            where: How the user spells the parameter in their face (``"--lr"``); the
                Python name if None.
        """
        label = where or self.name
        if value is None:
            if self.none_ok or self.owned:
                return value
            raise ValueError(f"{label} must be set, got None")
        if self.type is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise ValueError(
                    f"{label}={value!r} is not one of {', '.join(self.choices or ())}")
            return value
        if self.type is bool:
            if not isinstance(value, bool) and type(value).__name__ != "bool_":
                raise ValueError(f"{label} must be True or False, got {value!r}")
            return value
        is_number = isinstance(value, (int, float)) or hasattr(value, "__float__")
        if isinstance(value, bool) or not is_number or isinstance(value, str):
            raise ValueError(f"{label} must be a number, got {value!r}")
        if self.type is int and float(value) != int(value):
            raise ValueError(f"{label} must be an integer, got {value!r}")
        try:
            x = float(value)
        except OverflowError:
            x = math.inf
        if not math.isfinite(x) or not self.allows(x):
            raise ValueError(f"{label} must be {self.range_text()}, got {value!r}")
        return value

    def allows(self, x: float) -> bool:
        """True when the number ``x`` lies in the range."""
        if self.low is not None and (x < self.low or (self.low_open and x == self.low)):
            return False
        return not (self.high is not None
                    and (x > self.high or (self.high_open and x == self.high)))

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON (the playground's ``/api/options``)."""
        return dict(name=self.name, type=self.type.__name__, default=self.default,
                    help=self.help, low=self.low, high=self.high, low_open=self.low_open,
                    high_open=self.high_open, choices=list(self.choices or []) or None,
                    flag=self.cli_flag, owned=self.owned)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


@dataclass(frozen=True)
class Choice:
    """One choice of a family, e.g. the optimizer ``"genetic"``.

    Attributes:
        family: ``"loss"``, ``"penalty"``, ``"optimizer"``, ``"schedule"``, ``"gradient"``
            or ``"features"``.
        name: What the user types.
        help: One line.
        params: Names of the choice-owned parameters it uses (see :data:`PARAMS`).
        tags: Properties other code asks about: ``"gradient"`` / ``"search"`` (the kind of
            optimizer), ``"full_batch"`` (every step sees the whole training set),
            ``"solver"`` (runs its own iterations, :meth:`linclass.training.runner.Runner.solve`),
            ``"probabilities"`` (the loss gives calibrated probabilities), ``"margin"``,
            ``"lipschitz"`` (its gradient in the scores is bounded, so a large step makes it
            oscillate, never grow geometrically).
            ``"local"`` (a search that steps from the current weights and keeps a step only
            if it beats them, so the current weights' loss is its bar).
        lecture: False for what goes beyond the lecture (marked so in the docs).
    """

    family: str
    name: str
    help: str
    params: tuple[str, ...] = ()
    tags: frozenset[str] = field(default_factory=frozenset)
    lecture: bool = True

    def has(self, tag: str) -> bool:
        """True when the choice carries ``tag``."""
        return tag in self.tags

    def to_json(self) -> dict[str, Any]:
        """The record as plain JSON."""
        return dict(name=self.name, help=self.help, params=list(self.params),
                    tags=sorted(self.tags), lecture=self.lecture)


def _loss_choices() -> dict[str, Choice]:
    """The loss family, from the loss records (:data:`linclass.losses.records.RECORDS`)."""
    return {n: Choice("loss", n, r.help, r.params, r.tags, r.lecture)
            for n, r in LOSS_RECORDS.items()}


def _choices(family: str, *rows: tuple) -> dict[str, Choice]:
    out = {}
    for row in rows:
        name, help_, params, tags, lecture = (*row, (), (), True)[:5]
        out[name] = Choice(family, name, help_, tuple(params), frozenset(tags), lecture)
    return out


# --- the optimizers ---------------------------------------------------------------------------

#: Without ``max_epochs``, a run lasts about this many updates (at least
#: :data:`MIN_AUTO_EPOCHS` epochs, at most :data:`MAX_AUTO_EPOCHS`), so small data gets
#: enough steps and big data is not slowed down: 54,000 Fashion-MNIST rows in batches of
#: 256 reach it in 10 epochs, 1,212 digits in about 400.
UPDATE_BUDGET = 2000
MIN_AUTO_EPOCHS = 10
MAX_AUTO_EPOCHS = 2000


@dataclass(frozen=True)
class Budget:
    """How long a run of one optimizer lasts when ``max_epochs`` is None.

    Attributes:
        updates: About this many updates (gradient optimizers, solvers): the epochs they
            take, clamped to ``[MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS]``.
        epochs: This many epochs (the searches: one candidate, or one generation, each).
    """

    updates: int | None = None
    epochs: int | None = None

    def max_epochs(self, updates_per_epoch: int) -> int:
        """The automatic epoch budget for a run of ``updates_per_epoch`` updates an epoch."""
        if self.epochs is not None:
            return self.epochs
        assert self.updates is not None, "a budget sets updates or epochs"
        per_epoch = max(int(updates_per_epoch), 1)
        return min(max(-(-self.updates // per_epoch), MIN_AUTO_EPOCHS), MAX_AUTO_EPOCHS)

    def to_json(self) -> dict[str, Any]:
        return dict(updates=self.updates, epochs=self.epochs)


#: The comparisons a :class:`Rule` may make.
_RULE_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b}


@dataclass(frozen=True)
class Rule:
    """A rule across two parameters of one choice: ``left op right``, e.g. genetic's
    ``n_elite < population_size``. Every face checks it through :meth:`check` (the
    estimators' fit plan, the CLI through it, the playground's controls), each with its
    own spelling of the two parameters.

    Attributes:
        left, right: Parameter names (keys of :data:`PARAMS`).
        op: ``"<"`` or ``"<="``.
        why: Why it holds, for the docs.
    """

    left: str
    op: str
    right: str
    why: str = ""

    def check(self, values: Mapping[str, Any], spell: Mapping[str, str] | None = None
              ) -> None:
        """Raise ValueError unless the rule holds for ``values`` (None or missing: the
        record's default): ``"n_elite must be < population_size (4), got 4"``.

        Args:
            values: Parameter values by name.
            spell: How the face spells each parameter (``{"n_elite": "--n-elite"}``).
        """
        spell = spell or {}
        a, b = (resolved(n, values.get(n)) for n in (self.left, self.right))
        if not _RULE_OPS[self.op](a, b):
            raise ValueError(f"{spell.get(self.left, self.left)} must be {self.op} "
                             f"{spell.get(self.right, self.right)} ({b}), got {a}")

    def to_json(self) -> dict[str, Any]:
        return dict(left=self.left, op=self.op, right=self.right, why=self.why)


@dataclass(frozen=True)
class OptimizerChoice(Choice):
    """An optimizer's record: a :class:`Choice` of the ``"optimizer"`` family plus what
    every face needs to build and run it (:func:`linclass.optim.build` reads it).

    Attributes:
        factory: Where its code is, ``"module:function"``: an ``(init, update)`` factory
            (of ``learning_rate`` and its record's other parameters, by their record names,
            and ``random_state`` for a search), or a solver's class (of its parameters).
        learning_rate: Its starting rate when ``learning_rate`` is None (None: it takes
            none). Plain SGD and GD take 10x momentum's rate: with mu = 0.9 momentum's
            steady-state step is lr / (1 - mu) = 10 lr, so the two move about as far per
            update.
        budget: Its automatic run length (:class:`Budget`).
        rules: What its parameters must satisfy together (:class:`Rule`).
    """

    factory: str = ""
    learning_rate: float | None = None
    budget: Budget = field(default_factory=lambda: Budget(updates=UPDATE_BUDGET))
    rules: tuple[Rule, ...] = ()

    def check_rules(self, values: Mapping[str, Any],
                    spell: Mapping[str, str] | None = None) -> None:
        """Every rule of the record, on ``values`` spelled as ``spell`` says."""
        for rule in self.rules:
            rule.check(values, spell)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "learning_rate": self.learning_rate,
                "budget": self.budget.to_json(), "rules": [r.to_json() for r in self.rules]}


def _optimizer(name: str, help_: str, params: tuple[str, ...], tags: tuple[str, ...],
               factory: str, **kw: Any) -> OptimizerChoice:
    return OptimizerChoice("optimizer", name, help_, params, frozenset(tags), factory=factory, **kw)


_GRADIENT = "linclass.optim.gradient:"
_SEARCH = "linclass.optim.search:"

#: The optimizers by name (``FAMILIES["optimizer"]``).
OPTIMIZERS: dict[str, OptimizerChoice] = {o.name: o for o in (
    _optimizer("gd", "full-batch gradient descent: W -= lr * dL/dW on the whole training set",
               ("learning_rate", "schedule"), ("gradient", "full_batch"), _GRADIENT + "sgd",
               learning_rate=1.0),
    _optimizer("sgd", "mini-batch stochastic gradient descent",
               ("learning_rate", "schedule", "batch_size"), ("gradient",), _GRADIENT + "sgd",
               learning_rate=1.0),
    _optimizer("momentum", "SGD with momentum: v = mu v - lr g; W += v",
               ("learning_rate", "schedule", "batch_size", "momentum"), ("gradient",),
               _GRADIENT + "momentum", learning_rate=0.1),
    _optimizer("nesterov", "SGD with Nesterov momentum (gradient at the look-ahead point)",
               ("learning_rate", "schedule", "batch_size", "momentum"), ("gradient",),
               _GRADIENT + "nesterov", learning_rate=0.1),
    _optimizer("random_search", "random search: draw W ~ N(0, scale^2), keep the best (one "
               "candidate per epoch)", ("search_scale",), ("search", "full_batch"),
               _SEARCH + "random_search", budget=Budget(epochs=1000)),
    _optimizer("random_local_search", "random local search: try W + step_size * N(0, 1), "
               "keep it if the loss drops (one candidate per epoch)", ("step_size",),
               ("search", "full_batch", "local"), _SEARCH + "random_local_search",
               budget=Budget(epochs=1000)),
    _optimizer("genetic", "genetic algorithm: tournament selection, uniform crossover, "
               "Gaussian mutation, elitism (one generation per epoch)",
               ("population_size", "n_elite", "tournament_size", "crossover_rate",
                "mutation_rate", "mutation_scale"), ("search", "full_batch"),
               "linclass.optim.genetic:genetic", budget=Budget(epochs=100),
               rules=(Rule("n_elite", "<", "population_size",
                           "at least one child is bred each generation"),
                      Rule("tournament_size", "<=", "population_size",
                           "a tournament draws its entrants from the population"))),
    _optimizer("lbfgs", "full-batch L-BFGS (SciPy's L-BFGS-B): quasi-Newton steps with a "
               "line search, no learning rate; max_epochs caps its iterations, tol is its "
               "gradient tolerance max|g| <= tol (beyond the lecture: the linear-probe "
               "solver)", ("memory",), ("full_batch", "solver"),
               "linclass.optim.lbfgs:Lbfgs", lecture=False),
)}


FAMILIES: dict[str, dict[str, Choice]] = {
    "loss": _loss_choices(),
    "penalty": _choices(
        "penalty",
        ("l2", "alpha * sum W^2 (weight decay)"),
        ("l1", "alpha * sum |W| (sparse templates)"),
        ("elasticnet", "alpha * (l1_ratio |W| + (1 - l1_ratio) W^2)", ("l1_ratio",)),
        ("none", "no regularization"),
    ),
    "optimizer": {**OPTIMIZERS},
    "schedule": _choices(
        "schedule",
        ("constant", "lr(t) = lr"),
        ("step", "drop by 10x at each third of the run"),
        ("exponential", "lr exp(-k t), down to lr / 100 at the end"),
        ("inverse_time", "lr / (1 + k t), down to lr / 10 at the end"),
        ("cosine", "cosine annealing from lr to 0 over the run"),
    ),
    "gradient": _choices(
        "gradient",
        ("analytic", "the chain rule written out (fast, exact)"),
        ("numerical", "finite differences, one coordinate at a time (slow; for checking)",
         ("numerical_method", "numerical_h")),
        ("autodiff", "reverse-mode automatic differentiation (linclass.grad.autodiff)"),
    ),
    "features": _choices(
        "features",
        ("raw", "pixels scaled to [0, 1]"),
        ("hist", "grey histogram (and hue histogram for colour images)", ("hist_bins",)),
        ("gray_hist", "grey-level histogram", ("hist_bins",)),
        ("hue_hist", "hue histogram (colour images)", ("hist_bins",)),
        ("hog", "histogram of oriented gradients",
         ("hog_orientations", "hog_pixels_per_cell", "hog_cells_per_block")),
    ),
}


def _p(name: str, type_: type, default: Any, help_: str, **kw: Any) -> Param:
    return Param(name, type_, default, help_, **kw)


def _default_rates() -> str:
    """``"1 for gd and sgd, 0.1 for momentum and nesterov"``, from the records."""
    by_rate: dict[float, list[str]] = {}
    for o in OPTIMIZERS.values():
        if o.learning_rate is not None:
            by_rate.setdefault(o.learning_rate, []).append(o.name)
    return ", ".join(f"{_fmt(r)} for {' and '.join(n)}" for r, n in by_rate.items())


def _family_param(family: str, default: str, help_: str) -> Param:
    return _p(family if family != "gradient" else "gradient", str, default, help_,
              choices=tuple(FAMILIES[family]))


#: Every parameter of the estimators and commands, by name.
PARAMS: dict[str, Param] = {p.name: p for p in (
    _family_param("loss", DEFAULT_LOSS, "Data loss."),
    _family_param("penalty", "l2", "Regularizer (the bias is never penalized)."),
    _p("alpha", float, 1e-4, "Regularization strength.", low=0.0, high=1e6),
    _p("l1_ratio", float, 0.5, "Elastic-net mix: 0 is L2, 1 is L1.", low=0.0, high=1.0,
       owned=True),
    _p("margin", float, 1.0, "Hinge margin (the 1 in max(0, s_j - s_y + 1)).", low=0.0,
       high=1e6, low_open=True, owned=True),
    _family_param("optimizer", "momentum", "Optimizer."),
    _family_param("gradient", "analytic", "How gradients are computed."),
    _p("numerical_method", str, "centered", "Finite-difference formula: centered "
       "(f(w+h) - f(w-h)) / 2h, or forward (one-sided, the lecture's) (f(w+h) - f(w)) / h.",
       choices=("centered", "forward"), owned=True),
    _p("numerical_h", float, 1e-5, "Finite-difference step h (the lecture's is 0.0001).",
       low=0.0, high=1.0, low_open=True, owned=True),
    _p("learning_rate", float, None, f"Initial learning rate (default: {_default_rates()}).",
       low=0.0, high=1e9,
       low_open=True, flag="--lr", owned=True),
    _p("schedule", str, "cosine", "Learning-rate schedule over the run.",
       choices=tuple(FAMILIES["schedule"]), owned=True),
    _p("batch_size", int, 256, "Rows per mini-batch.", low=1,
       high=2**31 - 1, owned=True),
    _p("momentum", float, 0.9, "Momentum mu.", low=0.0, high=1.0,
       high_open=True, owned=True),
    _p("search_scale", float, 0.1, "Standard deviation of random search's candidates.",
       low=0.0, high=1e6, low_open=True, owned=True),
    _p("step_size", float, 0.05, "Standard deviation of random local search's steps.",
       low=0.0, high=1e6, low_open=True, owned=True),
    _p("population_size", int, 50, "Individuals per generation (genetic).", low=2,
       high=100_000, owned=True),
    _p("n_elite", int, 2, "Best individuals kept unchanged each generation (genetic).",
       low=1, high=100_000, owned=True),
    _p("tournament_size", int, 3, "Entrants per selection tournament (genetic).", low=1,
       high=100_000, owned=True),
    _p("crossover_rate", float, 0.9, "Probability that a child mixes two parents (genetic).",
       low=0.0, high=1.0, owned=True),
    _p("mutation_rate", float, 0.1, "Probability that a weight mutates (genetic).",
       low=0.0, high=1.0, owned=True),
    _p("mutation_scale", float, 0.1, "Standard deviation of a mutation (genetic).",
       low=0.0, high=1e6, low_open=True, owned=True),
    _p("memory", int, 10, "Correction pairs (s, y) L-BFGS keeps, SciPy's maxcor: more "
       "approximate the curvature better, at O(memory * n_params) per iteration.", low=1,
       high=1000, flag="--lbfgs-memory", owned=True),
    _p("max_epochs", int, None, "Most passes over the data (default: enough for about "
       f"{UPDATE_BUDGET:,} updates, at least {MIN_AUTO_EPOCHS} and at most "
       f"{MAX_AUTO_EPOCHS:,} epochs).", low=1, high=1_000_000,
       none_ok=True, flag="--epochs"),
    _p("tol", float, 1e-3, "Stop when the training loss improved by less than this for "
       "`patience` epochs (None: never).", low=0.0, high=1e6, none_ok=True),
    _p("patience", int, 20, "Epochs without enough improvement before stopping.", low=1,
       high=1_000_000),
    _p("early_stopping", bool, False, "Stop when the validation loss stops improving; "
       "keep the best epoch."),
    _p("validation_fraction", float, 0.1, "Fraction of the training rows held out for "
       "validation.", low=0.0, high=1.0, low_open=True, high_open=True),
    _p("backend", str, None, f"Where the fit runs: {backends_help()}", choices=BACKENDS,
       none_ok=True),
    _p("device", str, "cpu", "Device of the fit: cpu, cuda, cuda:N or mps (not cpu means "
       "the torch backend)."),
    _p("dtype", str, None, "Float type of the training steps: float32 halves the memory "
       "traffic of float64 data (faster epochs, float32 precision); None: mini-batch steps "
       "with the analytic gradient on the NumPy backend run in float32 on any dense rows "
       "(each batch cast as it is gathered, never the whole array), everything else in "
       "float64 unless the rows are float32.",
       choices=("float32", "float64"), none_ok=True),
    _p("scaling", str, "auto", "Coordinates the optimizer moves in: auto trains an "
       "in-memory feature matrix in standardized coordinates (W and b are rescaled; the "
       "objective, penalty included, is unchanged), so unscaled columns learn as fast as "
       "standardized ones; none steps on W and b as they are (the lecture's plain loop).",
       choices=("auto", "none")),
    _p("class_weight", str, None, "Weights of the classes in the loss: balanced weighs "
       "class k by n_samples / (n_classes * n_k), so every class weighs as much in total "
       "(the estimators also take a dict {label: weight}); None: every row weighs 1.",
       choices=("balanced",), none_ok=True),
    _p("warm_start", bool, False, "fit starts from the coefficients of the previous fit "
       "(same classes and features) instead of a new initialization."),
    _p("random_state", int, None, "Seed of initialization, batch order and splits.",
       low=0, high=2**32 - 1, none_ok=True),
    _p("verbose", bool, False, "Show a progress bar."),
    # Features (ImageClassifier and the CLI's --features).
    _p("hist_bins", int, 16, "Bins of each histogram feature.", low=1, high=4096, owned=True),
    _p("hog_orientations", int, 9, "HOG orientation bins.", low=1, high=360, owned=True),
    _p("hog_pixels_per_cell", int, 4, "HOG cell size in pixels (square cells).", low=1,
       high=1024, owned=True),
    _p("hog_cells_per_block", int, 2, "HOG block size in cells (square blocks).", low=1,
       high=64, owned=True),
)}

#: An upper bound on the curvature of each loss per unit of ``|x|^2`` (the largest
#: eigenvalue of the loss's Hessian in the scores), from its record
#: (:attr:`linclass.losses.records.Loss.curvature`): softmax 1/2, a sigmoid per class 1/4,
#: squared error 2. The hinge losses have none (piecewise linear); 1 sizes their steps like
#: the smooth losses'. A default step is one over the resulting Lipschitz constant
#: (:func:`linclass.estimators.plan.step_size`).
LOSS_CURVATURE: dict[str, float] = {n: r.curvature for n, r in LOSS_RECORDS.items()}

#: The starting learning rate of each gradient optimizer when ``learning_rate`` is None
#: (a view of the records' ``learning_rate``; :class:`OptimizerChoice` says why).
#: The lecture's two plain loops, by their records: mini-batch SGD (the default of
#: :func:`linclass.training.fit` and of the playground's views) and full-batch gradient
#: descent (:func:`linclass.training.gradient_descent`).
PLAIN_SGD = OPTIMIZERS["sgd"].name
FULL_BATCH_GD = OPTIMIZERS["gd"].name

DEFAULT_LEARNING_RATES: dict[str, float] = {
    n: c.learning_rate for n, c in OPTIMIZERS.items() if c.learning_rate is not None}

#: The derivative-free optimizers' automatic epochs (a view of the records' budgets).
SEARCH_AUTO_EPOCHS: dict[str, int] = {
    n: c.budget.epochs for n, c in OPTIMIZERS.items() if c.budget.epochs is not None}


def choice(family: str, name: str) -> Choice:
    """The record of ``name`` in ``family``; ValueError listing the names when unknown."""
    try:
        return FAMILIES[family][name]
    except KeyError:
        raise ValueError(
            f"{family}={name!r} is not one of {', '.join(FAMILIES[family])}") from None


def names(family: str, tag: str | None = None) -> tuple[str, ...]:
    """The choice names of a family, optionally only those with ``tag``."""
    return tuple(n for n, c in FAMILIES[family].items() if tag is None or c.has(tag))


def owners(param: str, family: str) -> tuple[str, ...]:
    """The choices of ``family`` that use the owned parameter ``param``."""
    return tuple(n for n, c in FAMILIES[family].items() if param in c.params)


#: Which family's choice decides whether an owned parameter applies.
OWNER_FAMILY: dict[str, str] = {
    p: fam for fam in ("loss", "penalty", "optimizer", "gradient")
    for c in FAMILIES[fam].values() for p in c.params
}
OWNER_FAMILY.update({p: "features" for c in FAMILIES["features"].values() for p in c.params})


def check_choice_params(
    values: Mapping[str, Any],
    selected: Mapping[str, str | tuple[str, ...]],
    spell: Mapping[str, str] | None = None,
) -> None:
    """Refuse owned parameters set (not None) where the selected choices do not use them.

    Args:
        values: Parameter values by name (e.g. an estimator's ``get_params()``).
        selected: The chosen name per family, e.g. ``{"optimizer": "genetic"}`` (a tuple
            for features, which combine).
        spell: How this face spells each parameter (``{"learning_rate": "--lr"}``).

    Raises:
        ValueError: ``"learning_rate applies to optimizer gd, sgd, momentum, nesterov, not
            to 'genetic' (it takes population_size, ...)"``.
    """
    spell = spell or {}
    for name, value in values.items():
        family = OWNER_FAMILY.get(name)
        if value is None or family is None or family not in selected:
            continue
        chosen = selected[family]
        chosen_t = chosen if isinstance(chosen, tuple) else (chosen,)
        if any(name in FAMILIES[family][c].params for c in chosen_t if c in FAMILIES[family]):
            continue
        label = spell.get(name, name)
        takes = sorted({p for c in chosen_t if c in FAMILIES[family]
                        for p in FAMILIES[family][c].params})
        takes_text = (f" (it takes {', '.join(spell.get(t, t) for t in takes)})" if takes
                      else " (it takes none of these options)")
        shown = "+".join(chosen_t)
        raise ValueError(
            f"{label} applies to {family} {', '.join(owners(name, family))}, "
            f"not to {family} {shown!r}{takes_text}")


def optimizer_record(name: str) -> OptimizerChoice:
    """The record of optimizer ``name`` (:func:`choice`, typed); ValueError when unknown."""
    record = choice("optimizer", name)
    assert isinstance(record, OptimizerChoice)
    return record


#: Every optimizer's own parameters, in the order the records first name them (the
#: estimators' signatures and the training commands list them so).
OPTIMIZER_PARAMS: tuple[str, ...] = tuple(dict.fromkeys(
    p for o in OPTIMIZERS.values() for p in o.params))


def check_optimizer_values(name: str, values: Mapping[str, Any],
                           spell: Mapping[str, str] | None = None) -> None:
    """Refuse what optimizer ``name`` cannot take: an option that is none of the
    optimizers' (``"optimizer 'lbfgs' takes no option(s) ['mu']"``), one of another
    optimizer's (:func:`check_choice_params`), a value out of its record's range, or values
    that break the record's :class:`Rule` s.

    Args:
        name: The optimizer's record name.
        values: Its options by record name; None means "the record's default". A
            ``learning_rate`` may be a schedule (a callable), which is not range-checked.
        spell: How the face spells each parameter, for the messages.
    """
    record = optimizer_record(name)
    spell = spell or {}
    unknown = sorted(k for k in values if OWNER_FAMILY.get(k) != "optimizer")
    if unknown:
        takes = ", ".join(spell.get(p, p) for p in record.params) or "none"
        raise ValueError(f"optimizer {name!r} takes no option(s) {unknown} (it takes "
                         f"{takes})")
    check_choice_params(values, {"optimizer": name}, spell)
    for key, value in values.items():
        if value is not None and not callable(value):
            PARAMS[key].check(value, spell.get(key))
    record.check_rules(values, spell)


def resolved(name: str, value: Any) -> Any:
    """``value``, or the record's default when None (for owned parameters)."""
    return PARAMS[name].default if value is None else value


def to_json() -> dict[str, Any]:
    """All records as plain JSON (``/api/options``, docs)."""
    return {
        "families": {f: {n: c.to_json() for n, c in cs.items()} for f, cs in FAMILIES.items()},
        "params": {n: p.to_json() for n, p in PARAMS.items()},
        "default_learning_rates": dict(DEFAULT_LEARNING_RATES),
    }


__all__ = [
    "FULL_BATCH_GD",
    "PLAIN_SGD",
    "DEFAULT_LEARNING_RATES",
    "FAMILIES",
    "LOSS_CURVATURE",
    "MAX_AUTO_EPOCHS",
    "MIN_AUTO_EPOCHS",
    "OPTIMIZERS",
    "OPTIMIZER_PARAMS",
    "OWNER_FAMILY",
    "PARAMS",
    "SEARCH_AUTO_EPOCHS",
    "UPDATE_BUDGET",
    "Budget",
    "Choice",
    "OptimizerChoice",
    "Param",
    "Rule",
    "check_choice_params",
    "check_optimizer_values",
    "choice",
    "names",
    "optimizer_record",
    "owners",
    "resolved",
    "to_json",
]
