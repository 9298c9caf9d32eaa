"""``LinearClassifierCV`` and ``LinearRegressorCV``: a sweep over regularization strengths
and learning rates that costs about one fit.

In the style of scikit-learn's ``LogisticRegressionCV`` and ``RidgeCV``: give ``alphas``
(and ``learning_rates``), get the best setting on held-out data in ``alpha_`` and
``learning_rate_``, every setting's score in ``scores_`` and ``cv_results_``, and the model
refitted with the best setting on all rows.

Where scikit-learn fits every grid point from scratch, here the settings train **together**
as stacked heads (:mod:`linclass.training.heads`, :func:`linclass.training.sweep.fit_heads`):
each batch is read, cast and multiplied once for all of them, each head follows the rules of
its own fit (start, batch order, learning rate, tolerance stop), and a head that diverges is
dropped with the reason kept in ``cv_results_["status"]``. With ``cv=F`` the folds are heads
too (each head trains on its training folds' rows only): S settings x F folds, still one
pass per epoch. ``optimizer="lbfgs"`` runs a warm-started regularization path instead
(:func:`linclass.estimators.path.estimator_path`, strongest alpha first: the passes
are then L-BFGS iterations, each a pass over the rows).

Every other parameter is the base estimator's, with the same records, defaults and checks.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, NamedTuple

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from linclass.backends.registry import resolve_backend
from linclass.estimators import fitting
from linclass.estimators.classifier import LinearClassifier
from linclass.estimators.plan import make_plan
from linclass.estimators.regressor import LinearRegressor
from linclass.estimators.weights import row_weights
from linclass.model import init_params
from linclass.options import choice, names
from linclass.training.arrays import float_rows, is_dask
from linclass.training.heads import Heads, OnEpoch
from linclass.training.history import TrainingDivergedError
from linclass.training.reparam import column_stats
from linclass.training.sweep import HeadsResult, fit_heads

#: The default grid of regularization strengths (the estimators' default alpha, 1e-4, in
#: the middle).
DEFAULT_ALPHAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2)

#: The CV estimators' own parameters, before the base estimator's.
OWN = {"alphas": DEFAULT_ALPHAS, "learning_rates": None, "cv": None, "refit": True}


def _signature(base: type) -> inspect.Signature:
    """The CV estimator's ``__init__`` signature: its own parameters, then the base's
    (scikit-learn reads parameter names from the signature; ``alpha`` and
    ``learning_rate`` stay, as the grids' fallback when a grid is not given)."""
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v)
               for k, v in OWN.items()]
    init = vars(base)["__init__"]
    params += [p for name, p in inspect.signature(init).parameters.items() if name != "self"]
    return inspect.Signature(params)


def check_grid(values: Any, name: str, *, positive: bool, optional: bool) -> list[Any]:
    """A grid as a list of floats (``[None]`` for an optional grid not given).

    Raises:
        ValueError: Empty, not finite, negative (or zero, when ``positive``), repeated.
    """
    if values is None:
        if optional:
            return [None]
        raise ValueError(f"{name} must be a list of numbers, got None")
    grid = np.atleast_1d(np.asarray(values, dtype=np.float64)) if not isinstance(
        values, str) else None
    if grid is None or grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"{name} must be a non-empty list of numbers, got {values!r}")
    bound = "> 0" if positive else ">= 0"
    bad = ~np.isfinite(grid) | ((grid <= 0) if positive else (grid < 0))
    if bad.any():
        raise ValueError(f"{name} must hold finite numbers {bound}, got {grid[bad].tolist()}")
    if np.unique(grid).size != grid.size:
        raise ValueError(f"{name} holds repeated values: {grid.tolist()}")
    return [float(v) for v in grid]


def heads_refusal(values: dict[str, Any], *, lbfgs: bool = False,
                  dask: bool = False) -> str | None:
    """Why the settings of an estimator with ``values`` cannot train as stacked heads
    (with ``lbfgs``: nor as a regularization path; with ``dask``: on a Dask array), or
    None when they can. Heads train with NumPy, with torch on any device (one product per
    batch there: :mod:`linclass.backends.torch_heads`), and on a Dask array (one pass
    over the partitions per epoch, full batches or local SGD:
    :mod:`linclass.backends.dask_heads`)."""
    record = choice("optimizer", values["optimizer"])
    if record.has("search") or (record.has("solver") and not lbfgs):
        takes = ", ".join(names("optimizer", "gradient")) + (" or lbfgs" if lbfgs else "")
        return (f"optimizer={values['optimizer']!r}: a sweep trains gradient optimizers "
                f"({takes})")
    if values["gradient"] != "analytic":
        return f"gradient={values['gradient']!r}: a sweep's heads use the analytic gradient"
    if values["early_stopping"]:
        return ("early_stopping does not apply to a sweep: each setting is scored on "
                "held-out rows")
    torch = resolve_backend(values.get("backend"), values.get("device", "cpu")) != \
        resolve_backend(None, "cpu")
    if record.has("solver") and (torch or dask):
        where = "a Dask array" if dask else f"backend={values.get('backend')!r}"
        return (f"optimizer={values['optimizer']!r}: a regularization path runs on rows in "
                f"memory with NumPy, not on {where}; there a sweep trains "
                f"{', '.join(names('optimizer', 'gradient'))}")
    if values.get("warm_start"):
        return "warm_start does not apply to a sweep: every setting starts from the same start"
    return None


class Swept(NamedTuple):
    """What :func:`train_settings` returns: the heads' result, and the learning rate each
    setting started at (its own fit's default where none was given)."""

    result: HeadsResult
    rates: list[float | None]


def train_settings(values: dict[str, Any], task: str,
                   settings: list[tuple[float, float | None]], X: Any, y: np.ndarray,
                   n_outputs: int, dtype: np.dtype, *, X_val: Any = None, y_val: Any = None,
                   masks: np.ndarray | None = None, random_state: Any = None,
                   on_epoch: OnEpoch | None = None, sample_weight: np.ndarray | None = None,
                   classes: np.ndarray | None = None) -> Swept:
    """Train every ``(alpha, learning_rate)`` of ``settings`` (times every fold of
    ``masks``) as stacked heads, each by the plan of its own estimator's fit: its default
    learning rate, its standardized coordinates, its start and batch order from
    ``random_state`` (:func:`linclass.estimators.fitting.prepare`, ``run``).

    Args:
        values: The base estimator's ``get_params()``.
        task: ``"classification"`` or ``"regression"``.
        settings: ``(alpha, learning_rate or None)`` pairs.
        X, y: The training rows (labels encoded as ``0..C-1``, or targets).
        n_outputs: C (1 for a regressor).
        dtype: The params' float type.
        X_val, y_val: A validation set every head is scored on.
        masks: ndarray of shape (F, n), bool: each fold's training rows (folds as heads,
            setting-major), or None.
        random_state: The estimator's seed.
        on_epoch: As :func:`~linclass.training.sweep.fit_heads` takes it.
        sample_weight: ndarray of shape (n,), the rows' weights, or None; with the base's
            ``class_weight`` they weigh each head's rows as its own fit on those rows would
            (``"balanced"`` counted on each fold's own rows).
        classes: The labels ``y`` indexes (a ``class_weight`` dict names them).
    """
    n_folds = 1 if masks is None else masks.shape[0]
    targets = y if task == "regression" else None
    n_fit = len(y) if masks is None else int(masks[0].sum())
    prepared, rng, stats = [], None, None
    for a, r in settings:
        plan = make_plan({**values, "alpha": a, "learning_rate": r}, task=task,
                         n_samples=n_fit, in_memory=not is_dask(X))
        if plan.scaling == "standardize" and stats is None:
            stats = column_stats(X)  # one pass for every setting's coordinates
        rng = np.random.default_rng(random_state)  # each fit's own stream
        prepared.append(fitting.prepare(plan, X, targets, rng, stats=stats))
    assert rng is not None
    start = init_params(X.shape[1], n_outputs, random_state=rng, dtype=dtype)
    first = prepared[0]
    reparam = first.reparam
    per_head = [p for p in prepared for _ in range(n_folds)]
    heads = Heads(
        first.plan.objective["loss"], first.plan.objective["penalty"],
        alphas=np.array([p.plan.objective["alpha"] for p in per_head]),
        rates=np.array([p.plan.learning_rate for p in per_head]),
        loss_kwargs={k: v for k, v in first.plan.objective.items() if k == "margin"},
        l1_ratio=first.plan.objective["l1_ratio"],
        mu=None if reparam is None else reparam.mu,
        inv_sigma=None if reparam is None else np.array(
            [_inv_sigma(p.reparam) for p in per_head]),
        out_scale=1.0 if reparam is None else float(reparam.out_scale[0]),
        out_shift=0.0 if reparam is None else float(reparam.out_shift[0]),
        masks=None if masks is None else np.tile(masks, (len(settings), 1)),
        regression=task == "regression")
    plan = first.plan
    tol = plan.tol
    if reparam is not None and tol is not None:
        tol = tol / reparam.loss_scale  # as fitting.run: the history's J is 1/c larger
    heads.row_weights = _head_weights(values.get("class_weight"), sample_weight, y, masks,
                                      len(settings), classes)
    result = fit_heads(start, X, y, heads, optimizer=plan.optimizer, schedule=plan.schedule,
                       optimizer_kwargs=plan.optimizer_kwargs, batch_size=plan.batch_size,
                       max_epochs=plan.max_epochs, tol=tol, patience=plan.patience,
                       random_state=rng, X_val=X_val, y_val=y_val, on_epoch=on_epoch,
                       backend=values.get("backend"), device=values.get("device", "cpu"))
    return Swept(result, [p.plan.learning_rate for p in prepared])


def _head_weights(class_weight: Any, sample_weight: np.ndarray | None, y: np.ndarray,
                  masks: np.ndarray | None, n_settings: int, classes: np.ndarray | None
                  ) -> np.ndarray | None:
    """Each head's row weights (H, n), of mean 1 over its rows, as its own fit on those
    rows makes them (:func:`linclass.estimators.weights.row_weights`,
    :func:`linclass.objective.pack_weights`); None without weights."""
    if class_weight is None and sample_weight is None:
        return None
    n = y.shape[0]
    folds = [np.ones(n, dtype=bool)] if masks is None else list(masks)
    per_fold = []
    for rows in folds:
        idx = np.flatnonzero(rows)
        w = row_weights(len(idx), None if sample_weight is None else sample_weight[idx],
                        class_weight, y[idx] if class_weight is not None else None, classes)
        full = np.zeros(n)
        full[idx] = 1.0 if w is None else w * (len(idx) / float(w.sum()))
        per_fold.append(full)
    return np.array([f for _ in range(n_settings) for f in per_fold])


def _inv_sigma(reparam: Any) -> np.ndarray:
    assert reparam is not None  # every setting standardizes, or none does
    return np.asarray(reparam.inv_sigma)


class _SweepCV:
    """What the two CV estimators share: the grid, the splits, the heads, the choice."""

    _task: str
    _base: type
    alphas: Any
    learning_rates: Any
    cv: Any
    refit: bool
    random_state: Any
    validation_fraction: float
    classes_: np.ndarray  # a classifier's, set by its fit

    def __init__(self, **params: Any) -> None:
        for key, default in OWN.items():
            setattr(self, key, params.pop(key, default))
        super().__init__(**params)  # the base estimator's (next in the MRO)

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags: the heads take dense rows only."""
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.sparse = False
        return tags

    def _base_params(self) -> dict[str, Any]:
        """The base estimator's parameters (what a refit takes)."""
        values = self.get_params()  # type: ignore[attr-defined]
        return {k: v for k, v in values.items() if k not in OWN}

    def _check_sweep(self, dask: bool = False) -> tuple[list[float], list[float | None]]:
        """The grids, and the combinations a sweep cannot run (on a Dask array with
        ``dask``), refused up front."""
        alphas = check_grid(self.alphas, "alphas", positive=False, optional=False)
        rates = check_grid(self.learning_rates, "learning_rates", positive=True,
                           optional=True)
        values = self._base_params()
        refusal = heads_refusal(values, lbfgs=True, dask=dask)
        if refusal is not None:
            raise ValueError(refusal)
        if choice("optimizer", values["optimizer"]).has("solver") and rates != [None]:
            raise ValueError(f"optimizer={values['optimizer']!r} searches its own step: "
                             "learning_rates do not apply")
        if values["penalty"] == "none" and len(alphas) > 1:
            raise ValueError("penalty='none' takes no alpha: give one alpha, or a penalty")
        if self.learning_rates is not None and values.get("learning_rate") is not None:
            raise ValueError("give learning_rates or learning_rate, not both")
        return alphas, rates

    def _splits(self, X: np.ndarray, y: np.ndarray, seed: int) -> Any:
        """``("holdout", train rows, validation rows)`` or ``("folds", masks (F, n))``."""
        cv = self.cv
        n = y.shape[0]
        strat = y if self._task == "classification" else None
        if cv is None:
            fraction = float(self.validation_fraction)
            index = np.arange(n)
            try:
                tr, va = train_test_split(index, test_size=fraction, stratify=strat,
                                          random_state=seed)
            except ValueError:  # a class too small to stratify
                tr, va = train_test_split(index, test_size=fraction, random_state=seed)
            if len(tr) == 0 or len(va) == 0:
                raise ValueError(f"validation_fraction={fraction} leaves no rows to train "
                                 f"or to score on out of {n}")
            return "holdout", np.sort(tr), np.sort(va)
        if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
            if cv < 2:
                raise ValueError(f"cv must be >= 2 folds, or None for a hold-out, got {cv}")
            split: Any = (StratifiedKFold(int(cv), shuffle=True, random_state=seed)
                          if strat is not None and np.bincount(
                              np.unique(strat, return_inverse=True)[1]).min() >= cv
                          else KFold(int(cv), shuffle=True, random_state=seed))
        elif hasattr(cv, "split"):
            split = cv
        else:
            raise ValueError(f"cv must be None, a number of folds or a splitter, got {cv!r}")
        masks = [np.isin(np.arange(n), tr) for tr, _ in split.split(X, strat)]
        return "folds", np.array(masks)

    def _sweep(self, X: np.ndarray, y: np.ndarray, n_outputs: int, dtype: np.dtype,
               sample_weight: np.ndarray | None = None) -> Any:
        """Train every setting (and fold), score each on its held-out rows, choose."""
        alphas, rates = self._check_sweep(dask=is_dask(X))
        values = self._base_params()
        seed = int(np.random.default_rng(self.random_state).integers(2**31))
        kind, *split = self._splits(X, y, seed)
        sw = sample_weight
        if kind == "holdout":
            tr, va = split
            X_fit, y_fit, X_val, y_val, masks = X[tr], y[tr], X[va], y[va], None
            sw = None if sample_weight is None else sample_weight[tr]
            n_folds = 1
        else:
            X_fit, y_fit, X_val, y_val, (masks,) = X, y, None, None, split
            n_folds = masks.shape[0]
        settings = [(a, r) for a in alphas for r in rates]
        if choice("optimizer", values["optimizer"]).has("solver"):
            return self._path(values, alphas, X_fit, y_fit, X_val, y_val, masks, n_outputs,
                              dtype, kind, sw)
        swept = train_settings(values, self._task, settings, X_fit, y_fit, n_outputs, dtype,
                               X_val=X_val, y_val=y_val, masks=masks,
                               random_state=self.random_state, sample_weight=sw,
                               classes=getattr(self, "classes_", None))
        self._record(swept.result, settings, n_folds, kind, swept.rates)
        return swept.result

    def _path(self, values: dict[str, Any], alphas: list[float], X_fit: Any, y_fit: Any,
              X_val: Any, y_val: Any, masks: Any, n_outputs: int, dtype: np.dtype,
              kind: str, sample_weight: np.ndarray | None = None) -> HeadsResult:
        """The lbfgs sweep: a warm-started regularization path per fold
        (:func:`linclass.estimators.path.estimator_path`), scored on the held-out rows."""
        from linclass.estimators.path import estimator_path

        regression = self._task == "regression"
        base = self._base(**values)
        sw = sample_weight
        sets = ([(X_fit, y_fit, X_val, y_val, sw)] if masks is None else
                [(X_fit[m], y_fit[m], X_fit[~m], y_fit[~m], None if sw is None else sw[m])
                 for m in masks])
        F, K = len(sets), len(alphas)
        held, objective, n_iter = np.empty(K * F), np.empty(K * F), np.empty(K * F, int)
        status: list[str] = [""] * (K * F)
        W: list[np.ndarray] = [np.empty(0)] * (K * F)
        b: list[np.ndarray] = [np.empty(0)] * (K * F)
        iterations = 0
        labels = None if regression else self.classes_  # a class_weight dict names them
        for f, (X_a, y_a, X_b, y_b, sw_a) in enumerate(sets):
            if labels is not None:
                y_a, y_b = labels[y_a], labels[y_b]
            path = estimator_path(base, X_a, y_a, alphas, sample_weight=sw_a, classes=labels)
            iterations += path.total_iter
            for i, est in enumerate(path.estimators):
                h = i * F + f  # setting-major, as the heads are
                held[h] = (-float(np.mean((est.predict(X_b) - y_b) ** 2)) if regression
                           else float(est.score(X_b, y_b)))
                objective[h], n_iter[h] = path.objectives[i], path.n_iter[i]
                status[h] = "converged" if path.converged[i] else "max_epochs"
                params = est._params()
                W[h], b[h] = params["W"], params["b"]
        result = HeadsResult({"W": np.array(W), "b": np.array(b)}, objective, held, n_iter,
                             status, n_passes=iterations + K * F)
        self._record(result, [(a, None) for a in alphas], F, kind, [None] * K)
        return result

    def _record(self, result: HeadsResult, settings: list[tuple[float, float | None]],
                n_folds: int, kind: str, used_rates: list[float | None]) -> None:
        """``scores_``, ``cv_results_``, ``alpha_``, ``learning_rate_``, ``best_index_``."""
        n_alphas = len({a for a, _ in settings})
        n_rates = len(settings) // n_alphas
        held = result.held_out.reshape(len(settings), n_folds)
        self.scores_ = held.reshape(n_alphas, n_rates, n_folds)
        mean = held.mean(axis=1)  # a setting that diverged in any fold has NaN
        if not np.isfinite(mean).any():
            reasons = sorted({s for s in result.status if s.startswith("diverged")})
            raise TrainingDivergedError(math.nan, learning_rate=None, epoch=int(
                np.max(result.n_iter)), step=0) if not reasons else ValueError(
                "every setting of the sweep diverged: " + reasons[0])
        order = np.argsort(-np.where(np.isfinite(mean), mean, -np.inf), kind="stable")
        rank = np.empty(len(settings), dtype=int)
        rank[order] = np.arange(1, len(settings) + 1)
        status = [next((s for s in result.status[i * n_folds:(i + 1) * n_folds]
                        if s.startswith("diverged")), "ok") for i in range(len(settings))]
        results: dict[str, Any] = {
            "param_alpha": np.array([a for a, _ in settings]),
            "param_learning_rate": np.array([np.nan if r is None else r for r in used_rates]),
            "mean_test_score": mean, "std_test_score": held.std(axis=1),
            "rank_test_score": rank,
            "n_epochs": result.n_iter.reshape(len(settings), n_folds).max(axis=1),
            "status": np.array(status, dtype=object),
        }
        for f in range(n_folds):
            results[f"split{f}_test_score"] = held[:, f]
        self.cv_results_ = results
        self.best_index_ = int(order[0])
        self.alpha_, rate = settings[self.best_index_]
        self.learning_rate_ = used_rates[self.best_index_]
        self._grid_rate = rate  # what the refit takes (None: its own default)
        self.n_passes_ = int(result.n_passes)
        self.sweep_result_ = result
        self._cv_kind = kind

    def _best_params(self, n_folds: int) -> dict[str, np.ndarray]:
        """The best setting's params without a refit: its head (hold-out), or the mean of
        its folds' heads (as ``LogisticRegressionCV(refit=False)`` averages)."""
        r = self.sweep_result_
        rows = slice(self.best_index_ * n_folds, (self.best_index_ + 1) * n_folds)
        return {k: v[rows].mean(axis=0) for k, v in r.params.items()}


class LinearClassifierCV(_SweepCV, LinearClassifier):
    """:class:`~linclass.estimators.classifier.LinearClassifier` with its regularization
    strength (and learning rate) chosen on held-out rows, every setting trained at once
    (module docstring).

    Args:
        alphas: Regularization strengths to try (default :data:`DEFAULT_ALPHAS`).
        learning_rates: Starting learning rates to try (gradient optimizers); None: the
            fit's own default rate for each alpha.
        cv: None: one hold-out of ``validation_fraction`` of the rows (stratified); an int
            F: F stratified folds, each setting trained on F - 1 of them (folds as heads);
            or a scikit-learn splitter.
        refit: Fit the best setting again on all rows (True), or keep the sweep's model
            (the hold-out head, or the mean of the folds' heads).
        **params: Every parameter of ``LinearClassifier`` (``alpha`` and ``learning_rate``
            are ignored where a grid is given; ``early_stopping`` does not apply).

    Attributes:
        alpha_, learning_rate_: The best setting (``learning_rate_`` the rate it started
            at).
        scores_: ndarray of shape (n_alphas, n_learning_rates, n_folds): held-out accuracy
            of every head (NaN for one that diverged).
        cv_results_: ``param_alpha``, ``param_learning_rate``, ``mean_test_score``,
            ``std_test_score``, ``rank_test_score``, ``split{k}_test_score``, ``n_epochs``
            and ``status`` (``"ok"``, or why a head was dropped), one entry per setting.
        best_index_: The best setting's row of ``cv_results_``.
        n_passes_: Passes over the training data the sweep made (epochs and measuring
            passes of every head at once; the refit's are in ``history_``).
        coef_, intercept_, classes_, n_iter_, history_, settings_: Of the final model.
    """

    _task = "classification"
    _base = LinearClassifier

    def __init__(self, **params: Any) -> None:
        _SweepCV.__init__(self, **params)

    def fit(self, X: Any, y: Any, sample_weight: Any = None, *,
            validation_data: tuple[Any, Any] | None = None) -> LinearClassifierCV:
        """Sweep, choose, refit.

        Args:
            X: array-like of shape (n_samples, n_features), in memory.
            y: array-like of shape (n_samples,), any label type.
            sample_weight: Optional row weights (n_samples,): each head weighs its
                training rows as its own fit would (with ``class_weight``); the held-out
                scores are unweighted accuracies.
            validation_data: Not taken: the sweep holds out its own rows (``cv``).

        Returns:
            self.
        """
        if validation_data is not None:
            raise ValueError("LinearClassifierCV holds out its own rows (cv, "
                             "validation_fraction); validation_data is not taken")
        self._check_hyperparameters()
        dask = is_dask(X)
        if dask:  # trained where its partitions live: refused or checked there, not here
            self._check_sweep(dask=True)
            y = np.asarray(y)
            if y.shape != (X.shape[0],):
                raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
            self.n_features_in_ = int(X.shape[1])
        else:
            X, y = validate_data(self, X, y, dtype=self._dtypes())
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("LinearClassifierCV needs samples of at least 2 classes in the "
                             f"data; got 1 class: {self.classes_[0]!r}")
        y_enc = self._encode(y)
        weights = row_weights(len(y_enc), sample_weight, self.class_weight, y_enc,
                              self.classes_)  # checked before any work
        # a Dask array's rows train as they are, float64 ones in float64 (as the base's);
        # in memory the heads' steps take the base's float type (float32 for mini-batches
        # of dense rows, each batch cast as it is gathered: 16 momentum heads on float64
        # Fashion-MNIST took 3.8-5.1 s in float64, 2.0-2.3 s in float32), coef_ the rows'
        dtype = X.dtype if not dask or X.dtype == np.float64 else np.dtype(np.float32)
        model_dtype = dtype
        if not dask:
            dtype = self._compute_dtype(X)
            model_dtype = self._rows_for(X[:0])[2]
        result = self._sweep(X, y_enc, len(self.classes_), dtype,
                             None if sample_weight is None else np.asarray(sample_weight,
                                                                            np.float64))
        n_folds = self.scores_.shape[2]
        if self.refit:
            best = LinearClassifier(**{**self._base_params(), "alpha": self.alpha_,
                                       "learning_rate": self._grid_rate})
            best.classes_, best.n_features_in_ = self.classes_, self.n_features_in_
            best._fit_encoded(X, y_enc, None, None, n_features=X.shape[1], dtype=dtype,
                              weights=weights, transform=float_rows if dask else None,
                              model_dtype=model_dtype)
            for key in ("coef_", "intercept_", "n_iter_", "history_", "settings_",
                        "_prepared", "_optimizer_state"):
                setattr(self, key, getattr(best, key))
        else:
            self._set_params({k: v.astype(model_dtype, copy=False)
                              for k, v in self._best_params(n_folds).items()})
            self.n_iter_ = int(result.n_iter[self.best_index_ * n_folds])
            self._prepared, self._optimizer_state = None, None
        return self

    @property
    def partial_fit(self) -> Any:
        """A sweep fits whole: no ``partial_fit`` (``hasattr`` is False)."""
        raise AttributeError("LinearClassifierCV has no partial_fit: a sweep fits whole")


class LinearRegressorCV(_SweepCV, LinearRegressor):
    """:class:`~linclass.estimators.regressor.LinearRegressor` with ``alpha`` (and the
    learning rate) chosen on held-out rows, every setting trained at once (module
    docstring; the parameters and attributes of :class:`LinearClassifierCV`, with plain
    folds). ``scores_`` are minus the held-out mean squared error (as ``RidgeCV``'s
    default scoring; on a shared hold-out R^2 ranks the same), ``score`` is R^2."""

    _task = "regression"
    _base = LinearRegressor

    def __init__(self, **params: Any) -> None:
        _SweepCV.__init__(self, **params)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegressorCV:
        """Sweep, choose, refit (see :class:`LinearClassifierCV`)."""
        self._validate_params()
        from linclass.estimators.plan import check as check_plan

        check_plan(self._base_params(), task="regression")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=True)
        y = np.asarray(y, dtype=X.dtype)
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or inf")
        row_weights(len(y), sample_weight)  # checked before any work
        result = self._sweep(X, y, 1, X.dtype, None if sample_weight is None
                             else np.asarray(sample_weight, np.float64))
        n_folds = self.scores_.shape[2]
        if self.refit:
            best = LinearRegressor(**{**self._base_params(), "alpha": self.alpha_,
                                      "learning_rate": self._grid_rate}).fit(
                X, y, sample_weight=sample_weight)
            for key in ("coef_", "intercept_", "n_iter_", "history_", "settings_"):
                setattr(self, key, getattr(best, key))
        else:
            self._set_params(self._best_params(n_folds))
            self.n_iter_ = int(result.n_iter[self.best_index_ * n_folds])
        return self


for _cls in (LinearClassifierCV, LinearRegressorCV):
    vars(_cls)["__init__"].__signature__ = _signature(_cls._base)


__all__ = ["DEFAULT_ALPHAS", "LinearClassifierCV", "LinearRegressorCV", "Swept", "check_grid",
           "heads_refusal",
           "train_settings"]
